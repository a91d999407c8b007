//! The organisation as a declarative YAML file, for offices that keep their setup beside the
//! workflows. `huanjie export org` writes it; importing what was exported changes nothing.
//!
//! ```yaml
//! people:
//!   - { name: 张伟, phone: "13800000001", email: zhangwei@example.cn }
//! units:
//!   - name: 八渡镇
//!     level: township
//!     roles: { chief: [段毅] }
//!     children:
//!       - name: 第一选区
//!         level: district
//!         roles: { leader: [张伟, 李娜] }     # the first is the primary holder
//!         children:
//!           - { name: 大禾村, level: village, kind: 村, roles: { cadre: [王强] } }
//! ```
//!
//! A role named anywhere in the file is the file's to say on every unit it lists: a listed unit
//! without that role ends its holders. People are referred to by name, or by `id` where two
//! share a name.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::{Location, OrgPlan, PlannedPerson, PlannedUnit, Problem};
use crate::db::schema::{assignments, people, units};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::org::contact::{parse_email, parse_phone};
use crate::org::{check_role_id, tree, Assignment, Level, Person, Unit};

/// Bound on an organisation file; a county with every group is far below it.
pub const MAX_FILE_BYTES: usize = 8 * 1024 * 1024;

#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OrgFile {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub people: Vec<PersonEntry>,
    pub units: Vec<UnitEntry>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PersonEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UnitEntry {
    pub name: String,
    pub level: Level,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub roles: BTreeMap<String, Vec<String>>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub children: Vec<UnitEntry>,
}

/// `roles:` with nothing under it, as left behind after deleting its last entry, means empty.
fn null_as_empty<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}

fn at(path: &str) -> Location {
    Location {
        path: Some(path.to_owned()),
        ..Default::default()
    }
}

/// Parses and checks an organisation file into a plan.
pub fn read(text: &str) -> Result<OrgPlan, Vec<Problem>> {
    if text.len() > MAX_FILE_BYTES {
        return Err(vec![Problem::general(format!(
            "文件超过 {} MB",
            MAX_FILE_BYTES / 1024 / 1024
        ))]);
    }
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let file: OrgFile = serde_saphyr::from_str(text)
        .map_err(|e| vec![Problem::general(format!("YAML 格式错误: {e}"))])?;
    to_plan(&file)
}

pub fn to_plan(file: &OrgFile) -> Result<OrgPlan, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut people = Vec::new();
    let mut refs: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, p) in file.people.iter().enumerate() {
        let path = format!("people[{i}]");
        let name = p.name.trim();
        if name.is_empty() {
            problems.push(Problem::new(at(&path), "name 不能为空"));
        }
        let phone = p
            .phone
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .and_then(|v| {
                parse_phone(v)
                    .map_err(|m| problems.push(Problem::new(at(&format!("{path}.phone")), m)))
                    .ok()
            });
        let email = p
            .email
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .and_then(|v| {
                parse_email(v)
                    .map_err(|m| problems.push(Problem::new(at(&format!("{path}.email")), m)))
                    .ok()
            });
        refs.entry(name).or_default().push(i);
        if let Some(id) = &p.id {
            refs.entry(id.as_str()).or_default().push(i);
        }
        people.push(PlannedPerson {
            id: p.id.clone(),
            name: name.to_owned(),
            phone,
            email,
            title: p
                .title
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            at: at(&path),
        });
    }
    let declared: BTreeSet<&str> = collect_roles(&file.units);
    for role in &declared {
        if let Err(m) = check_role_id(role) {
            problems.push(Problem::general(m));
        }
    }
    let mut roots = Vec::new();
    for (i, u) in file.units.iter().enumerate() {
        let path = format!("units[{i}]");
        if let Err(m) = tree::check_placement(u.level, None) {
            problems.push(Problem::new(at(&path), m));
        }
        roots.push(unit(
            u,
            &path,
            &declared,
            &refs,
            &file.people,
            &mut problems,
        ));
    }
    if problems.is_empty() {
        Ok(OrgPlan {
            roots,
            people,
            warnings: Vec::new(),
        })
    } else {
        Err(problems)
    }
}

fn collect_roles(units: &[UnitEntry]) -> BTreeSet<&str> {
    let mut out = BTreeSet::new();
    for u in units {
        out.extend(u.roles.keys().map(String::as_str));
        out.extend(collect_roles(&u.children));
    }
    out
}

fn unit(
    u: &UnitEntry,
    path: &str,
    declared: &BTreeSet<&str>,
    refs: &HashMap<&str, Vec<usize>>,
    people: &[PersonEntry],
    problems: &mut Vec<Problem>,
) -> PlannedUnit {
    let name = u.name.trim().to_owned();
    if name.is_empty() {
        problems.push(Problem::new(at(path), "name 不能为空"));
    }
    let mut roles = BTreeMap::new();
    for role in declared {
        let mut holders = Vec::new();
        for (j, r) in u
            .roles
            .get(*role)
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            let rpath = format!("{path}.roles.{role}[{j}]");
            match refs.get(r.trim()).map(Vec::as_slice) {
                Some([one]) if !holders.contains(one) => holders.push(*one),
                Some([_]) => problems.push(Problem::new(at(&rpath), format!("\"{r}\" 重复列出"))),
                Some(many) if many.len() > 1 => problems.push(Problem::new(
                    at(&rpath),
                    format!(
                        "people 中有 {} 位名为 \"{r}\" 的人员, 请给他们加上 id 并用 id 引用",
                        many.len()
                    ),
                )),
                _ => problems.push(Problem::new(
                    at(&rpath),
                    format!("\"{r}\" 不在 people 列表中{}", suggest(r, people)),
                )),
            }
        }
        roles.insert((*role).to_owned(), holders);
    }
    let mut seen = BTreeSet::new();
    let mut children = Vec::new();
    for (i, c) in u.children.iter().enumerate() {
        let cpath = format!("{path}.children[{i}]");
        if let Err(m) = tree::check_placement(c.level, Some(u.level)) {
            problems.push(Problem::new(at(&cpath), m));
        }
        if !seen.insert(c.name.trim()) {
            problems.push(Problem::new(
                at(&cpath),
                format!("\"{}\" 下已有名为 \"{}\" 的单元", name, c.name.trim()),
            ));
        }
        children.push(unit(c, &cpath, declared, refs, people, problems));
    }
    PlannedUnit {
        name,
        level: u.level,
        kind: u
            .kind
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        roles,
        children,
        at: at(path),
    }
}

fn suggest(name: &str, people: &[PersonEntry]) -> String {
    // One differing character is the usual typo in a Chinese name.
    let close = people.iter().find(|p| {
        let (a, b): (Vec<char>, Vec<char>) = (p.name.chars().collect(), name.chars().collect());
        a.len() == b.len() && a.iter().zip(&b).filter(|(x, y)| x != y).count() == 1
    });
    close
        .map(|p| format!(", 是不是 \"{}\"?", p.name))
        .unwrap_or_default()
}

/// The stored organisation as a file: every active tree with its active holders.
pub fn export(conn: &mut DbConnection) -> Result<OrgFile, AppError> {
    let all_units: Vec<Unit> = units::table
        .filter(units::active.eq(true))
        .order((units::created_at.asc(), units::id.asc()))
        .select(Unit::as_select())
        .load(conn)?;
    let held: Vec<(Assignment, Person)> = assignments::table
        .inner_join(people::table)
        .filter(assignments::active.eq(true))
        .filter(people::active.eq(true))
        .order((assignments::is_primary.desc(), assignments::id.asc()))
        .select((Assignment::as_select(), Person::as_select()))
        .load(conn)?;

    let mut holders: Vec<&Person> = held.iter().map(|(_, p)| p).collect();
    holders.sort_by(|a, b| (&a.name, &a.phone, &a.id).cmp(&(&b.name, &b.phone, &b.id)));
    holders.dedup_by(|a, b| a.id == b.id);
    let mut name_count: HashMap<&str, usize> = HashMap::new();
    for p in &holders {
        *name_count.entry(p.name.as_str()).or_default() += 1;
    }
    // People sharing a name are told apart by their stored id.
    let reference = |p: &Person| {
        if name_count[p.name.as_str()] > 1 {
            p.id.clone()
        } else {
            p.name.clone()
        }
    };
    let people_out = holders
        .iter()
        .map(|p| PersonEntry {
            id: (name_count[p.name.as_str()] > 1).then(|| p.id.clone()),
            name: p.name.clone(),
            phone: p.phone.clone(),
            email: p.email.clone(),
            title: p.title.clone(),
        })
        .collect();

    let mut roles: HashMap<&str, BTreeMap<String, Vec<String>>> = HashMap::new();
    for (a, p) in &held {
        roles
            .entry(a.unit_id.as_str())
            .or_default()
            .entry(a.role.clone())
            .or_default()
            .push(reference(p));
    }
    let mut children: HashMap<Option<&str>, Vec<&Unit>> = HashMap::new();
    for u in &all_units {
        children.entry(u.parent_id.as_deref()).or_default().push(u);
    }
    fn entry(
        u: &Unit,
        children: &HashMap<Option<&str>, Vec<&Unit>>,
        roles: &HashMap<&str, BTreeMap<String, Vec<String>>>,
    ) -> UnitEntry {
        UnitEntry {
            name: u.name.clone(),
            level: u.level(),
            kind: u.kind.clone(),
            roles: roles.get(u.id.as_str()).cloned().unwrap_or_default(),
            children: children
                .get(&Some(u.id.as_str()))
                .map(|cs| cs.iter().map(|c| entry(c, children, roles)).collect())
                .unwrap_or_default(),
        }
    }
    let roots = children
        .get(&None)
        .map(|rs| rs.iter().map(|r| entry(r, &children, &roles)).collect())
        .unwrap_or_default();
    Ok(OrgFile {
        people: people_out,
        units: roots,
    })
}

pub fn to_yaml(file: &OrgFile) -> Result<String, AppError> {
    let body =
        serde_saphyr::to_string(file).map_err(|e| AppError::internal(format!("yaml: {e}")))?;
    Ok(format!(
        "# huanjie 组织与三包责任 (huanjie export org)\n{body}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "people:\n  - { name: 张伟, phone: '13800000001' }\n  - { name: 王强 }\nunits:\n  - name: 八渡镇\n    level: township\n    children:\n      - name: 第一选区\n        level: district\n        roles: { leader: [张伟] }\n        children:\n          - { name: 大禾村, level: village, kind: 村, roles: { cadre: [王强] } }\n";

    #[test]
    fn reads_a_tree_with_roles() {
        let plan = read(SAMPLE).unwrap();
        let district = &plan.roots[0].children[0];
        assert_eq!(district.roles["leader"], vec![0]);
        // A role declared anywhere is spoken for on every listed unit.
        assert_eq!(district.roles["cadre"], Vec::<usize>::new());
        assert_eq!(district.children[0].roles["cadre"], vec![1]);
    }

    #[test]
    fn reports_bad_references_levels_and_fields() {
        let bad = SAMPLE
            .replace("cadre: [王强]", "cadre: [王墙]")
            .replace("level: village", "level: county");
        let problems = read(&bad).unwrap_err();
        let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert!(
            text.iter()
                .any(|t| t.contains("\"王墙\" 不在 people 列表中, 是不是 \"王强\"?")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.contains("units[0].children[0].children[0]")),
            "{text:?}"
        );
        let unknown = read("units:\n  - { name: x, level: township, colour: red }\n").unwrap_err();
        assert!(unknown[0].message.contains("colour"), "{unknown:?}");
    }

    #[test]
    fn hostile_yaml_is_refused_without_panic() {
        let bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
        assert!(read(bomb).is_err());
        let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        assert!(read(&deep).is_err());
    }
}
