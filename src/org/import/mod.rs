//! Import of the 三包 responsibility table, from a spreadsheet (XLSX/CSV) or a YAML file.
//!
//! Every source is first read into an [`OrgPlan`], the desired organisation, by pure code that
//! reports problems by row and column. The plan is then compared with the database into a
//! [`ChangeSet`]: that comparison is the preview. Committing applies the change set in one
//! transaction, so an import is all or nothing, and a second import of the same file finds
//! nothing to change.
//!
//! What a source speaks for: the units it lists (units it does not list are left alone), and on
//! each listed unit the roles it declares. A declared role with nobody in it ends the existing
//! holders, because the table is the office's record of who answers for what.

pub mod table;
pub mod yaml;

use std::collections::{BTreeMap, HashMap, HashSet};

use diesel::prelude::*;
use serde::Serialize;

use super::{role_title, Assignment, Level, Person, Unit};
use crate::audit::{self, NewEvent, WriteContext};
use crate::db::schema::{assignments, people, units};
use crate::db::DbConnection;
use crate::error::AppError;

/// Where in the source a problem is. Spreadsheet rows and columns are as Excel shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Location {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// A path inside a YAML file, such as `units[0].children[2]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if let Some(r) = self.row {
            parts.push(format!("第{r}行"));
        }
        match (&self.column, &self.header) {
            (Some(c), Some(h)) => parts.push(format!("{c}列({h})")),
            (Some(c), None) => parts.push(format!("{c}列")),
            _ => {}
        }
        if let Some(p) = &self.path {
            parts.push(p.clone());
        }
        f.write_str(&parts.join(" "))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    #[serde(flatten)]
    pub at: Location,
    pub message: String,
}

impl Problem {
    pub fn new(at: Location, message: impl Into<String>) -> Self {
        Problem {
            at,
            message: message.into(),
        }
    }

    pub fn general(message: impl Into<String>) -> Self {
        Problem {
            at: Location::default(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = self.at.to_string();
        if at.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{at}: {}", self.message)
        }
    }
}

/// The error of an import that cannot go ahead: every problem found, not only the first.
pub fn rejected(problems: Vec<Problem>) -> AppError {
    let message = match problems.as_slice() {
        [one] => format!("导入失败: {one}"),
        _ => format!("导入失败: 发现 {} 处问题, 未写入任何数据", problems.len()),
    };
    AppError::bad_request("import_invalid", message)
        .with_details(serde_json::to_value(&problems).unwrap_or_default())
}

/// The desired organisation read from a source.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrgPlan {
    pub roots: Vec<PlannedUnit>,
    pub people: Vec<PlannedPerson>,
    /// Things the reader skipped or guessed, shown with the preview.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlannedUnit {
    pub name: String,
    pub level: Level,
    pub kind: Option<String>,
    /// Role id → indexes into [`OrgPlan::people`], primary first. A key with an empty list
    /// means "nobody holds this role here".
    pub roles: BTreeMap<String, Vec<usize>>,
    pub children: Vec<PlannedUnit>,
    pub at: Location,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlannedPerson {
    /// The stored id, when the source names it (exported YAML does for people sharing a name).
    pub id: Option<String>,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub title: Option<String>,
    pub at: Location,
}

/// What an import would do, with the rows to write.
#[derive(Debug, Default)]
pub struct ChangeSet {
    pub new_units: Vec<Unit>,
    pub changed_units: Vec<(Unit, Unit)>,
    pub new_people: Vec<Person>,
    pub changed_people: Vec<(Person, Person)>,
    pub new_assignments: Vec<Assignment>,
    pub changed_assignments: Vec<(Assignment, Assignment)>,
    /// Human-readable lines, in the order the changes happen.
    pub changes: Vec<ChangeLine>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ChangeLine {
    /// create_unit, update_unit, create_person, update_person, assign, update_assignment, unassign
    pub op: &'static str,
    pub text: String,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, Default)]
pub struct Summary {
    pub units_created: usize,
    pub units_changed: usize,
    pub people_created: usize,
    pub people_changed: usize,
    pub assignments_created: usize,
    pub assignments_changed: usize,
    pub assignments_ended: usize,
}

impl Summary {
    pub fn is_empty(&self) -> bool {
        *self == Summary::default()
    }
}

/// The answer to a preview or a commit.
#[derive(Debug, Serialize)]
pub struct ImportReport {
    pub committed: bool,
    pub batch_id: Option<String>,
    pub summary: Summary,
    pub changes: Vec<ChangeLine>,
    pub warnings: Vec<String>,
}

impl ChangeSet {
    pub fn summary(&self) -> Summary {
        let ended = self
            .changed_assignments
            .iter()
            .filter(|(b, a)| b.active && !a.active)
            .count();
        Summary {
            units_created: self.new_units.len(),
            units_changed: self.changed_units.len(),
            people_created: self.new_people.len(),
            people_changed: self.changed_people.len(),
            assignments_created: self.new_assignments.len(),
            assignments_changed: self.changed_assignments.len() - ended,
            assignments_ended: ended,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.summary().is_empty()
    }
}

/// The stored organisation an import is compared with.
#[derive(Debug, Default)]
pub struct Current {
    pub units: Vec<Unit>,
    pub people: Vec<Person>,
    pub assignments: Vec<Assignment>,
}

/// Loads what a plan can touch: all units (the tree is small next to tasks), the people who
/// share a name with someone in the plan or are named by id, and the assignments on units.
pub fn load_current(conn: &mut DbConnection, plan: &OrgPlan) -> Result<Current, AppError> {
    let units: Vec<Unit> = units::table.select(Unit::as_select()).load(conn)?;
    let names: Vec<String> = plan
        .people
        .iter()
        .map(|p| p.name.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    // People named by id, and everyone holding a role now, so that a preview can say whose
    // role ends.
    let assignments: Vec<Assignment> = assignments::table
        .select(Assignment::as_select())
        .load(conn)?;
    let mut ids: Vec<String> = plan.people.iter().filter_map(|p| p.id.clone()).collect();
    ids.extend(
        assignments
            .iter()
            .filter(|a| a.active)
            .map(|a| a.person_id.clone()),
    );
    ids.sort();
    ids.dedup();
    let mut found: Vec<Person> = Vec::new();
    for chunk in names.chunks(500) {
        found.extend(
            people::table
                .filter(people::name.eq_any(chunk))
                .select(Person::as_select())
                .load(conn)?,
        );
    }
    for chunk in ids.chunks(500) {
        found.extend(
            people::table
                .filter(people::id.eq_any(chunk))
                .select(Person::as_select())
                .load(conn)?,
        );
    }
    let mut seen = HashSet::new();
    found.retain(|p| seen.insert(p.id.clone()));
    Ok(Current {
        units,
        people: found,
        assignments,
    })
}

/// Compares a plan with the stored organisation. Pure: ids for new rows are made here so that
/// the change set can be applied as it stands.
pub fn diff(
    plan: &OrgPlan,
    current: &Current,
    ctx: &WriteContext,
) -> Result<ChangeSet, Vec<Problem>> {
    let mut cs = ChangeSet {
        warnings: plan.warnings.clone(),
        ..Default::default()
    };
    let mut problems = Vec::new();

    // People first: units only need their ids.
    let person_ids = match_people(plan, current, ctx, &mut cs, &mut problems);

    let mut children: HashMap<Option<&str>, Vec<&Unit>> = HashMap::new();
    for u in &current.units {
        children.entry(u.parent_id.as_deref()).or_default().push(u);
    }
    let person_names: HashMap<String, String> = current
        .people
        .iter()
        .chain(cs.new_people.iter())
        .map(|p| (p.id.clone(), p.name.clone()))
        .collect();
    let mut walker = UnitWalker {
        current,
        children,
        person_ids: &person_ids,
        person_names,
        ctx,
        cs: &mut cs,
        problems: &mut problems,
    };
    for root in &plan.roots {
        let existing = walker.find_root(root);
        walker.visit(root, None, existing, &root.name);
    }
    if problems.is_empty() {
        Ok(cs)
    } else {
        Err(problems)
    }
}

fn match_people(
    plan: &OrgPlan,
    current: &Current,
    ctx: &WriteContext,
    cs: &mut ChangeSet,
    problems: &mut Vec<Problem>,
) -> Vec<String> {
    let mut by_name: HashMap<&str, Vec<&Person>> = HashMap::new();
    for p in &current.people {
        by_name.entry(p.name.as_str()).or_default().push(p);
    }
    let mut claimed: HashMap<String, usize> = HashMap::new();
    let mut ids = Vec::with_capacity(plan.people.len());
    for (index, planned) in plan.people.iter().enumerate() {
        let matched: Option<&Person> = if let Some(id) = &planned.id {
            current.people.iter().find(|p| &p.id == id)
        } else {
            let same_name = by_name
                .get(planned.name.as_str())
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let by_phone = planned
                .phone
                .as_ref()
                .and_then(|ph| same_name.iter().find(|p| p.phone.as_ref() == Some(ph)));
            let by_email = planned
                .email
                .as_ref()
                .and_then(|em| same_name.iter().find(|p| p.email.as_ref() == Some(em)));
            let active: Vec<&&Person> = same_name.iter().filter(|p| p.active).collect();
            match (by_phone.or(by_email), active.as_slice()) {
                (Some(p), _) => Some(*p),
                (None, [only]) => Some(**only),
                (None, []) => None,
                (None, _) => {
                    problems.push(Problem::new(
                        planned.at.clone(),
                        format!(
                            "系统中有 {} 位同名的\"{}\", 请填写电话或邮箱以区分",
                            active.len(),
                            planned.name
                        ),
                    ));
                    None
                }
            }
        };
        let id = match matched {
            Some(existing) => {
                if let Some(previous) = claimed.insert(existing.id.clone(), index) {
                    problems.push(Problem::new(
                        planned.at.clone(),
                        format!(
                            "\"{}\" 与 \"{}\" 对应到系统中的同一人员, 请填写电话以区分",
                            planned.name, plan.people[previous].name
                        ),
                    ));
                }
                let mut after = existing.clone();
                after.name = planned.name.clone();
                after.active = true;
                if planned.phone.is_some() {
                    after.phone = planned.phone.clone();
                }
                if planned.email.is_some() {
                    after.email = planned.email.clone();
                }
                if planned.title.is_some() {
                    after.title = planned.title.clone();
                }
                if &after != existing {
                    let mut what = Vec::new();
                    if after.phone != existing.phone {
                        what.push(format!(
                            "电话 {} → {}",
                            existing.phone.as_deref().unwrap_or("无"),
                            after.phone.as_deref().unwrap_or("无")
                        ));
                    }
                    if after.email != existing.email {
                        what.push(format!(
                            "邮箱 {} → {}",
                            existing.email.as_deref().unwrap_or("无"),
                            after.email.as_deref().unwrap_or("无")
                        ));
                    }
                    if after.title != existing.title {
                        what.push(format!(
                            "职务 {} → {}",
                            existing.title.as_deref().unwrap_or("无"),
                            after.title.as_deref().unwrap_or("无")
                        ));
                    }
                    if after.active != existing.active {
                        what.push("重新启用".into());
                    }
                    after.updated_at = ctx.at;
                    cs.changes.push(ChangeLine {
                        op: "update_person",
                        text: format!("修改人员 {}: {}", after.name, what.join(", ")),
                    });
                    cs.changed_people.push((existing.clone(), after));
                }
                existing.id.clone()
            }
            None if planned.id.is_some() => {
                problems.push(Problem::new(
                    planned.at.clone(),
                    format!(
                        "人员 id {} 在系统中不存在",
                        planned.id.as_deref().unwrap_or_default()
                    ),
                ));
                String::new()
            }
            None => {
                let person = Person {
                    id: super::new_id(),
                    name: planned.name.clone(),
                    phone: planned.phone.clone(),
                    email: planned.email.clone(),
                    title: planned.title.clone(),
                    active: true,
                    created_at: ctx.at,
                    updated_at: ctx.at,
                };
                let contact: Vec<&str> = [person.phone.as_deref(), person.email.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect();
                cs.changes.push(ChangeLine {
                    op: "create_person",
                    text: if contact.is_empty() {
                        format!("新增人员 {}", person.name)
                    } else {
                        format!("新增人员 {} ({})", person.name, contact.join(", "))
                    },
                });
                let id = person.id.clone();
                cs.new_people.push(person);
                id
            }
        };
        ids.push(id);
    }
    ids
}

struct UnitWalker<'a> {
    current: &'a Current,
    children: HashMap<Option<&'a str>, Vec<&'a Unit>>,
    person_ids: &'a [String],
    person_names: HashMap<String, String>,
    ctx: &'a WriteContext,
    cs: &'a mut ChangeSet,
    problems: &'a mut Vec<Problem>,
}

impl<'a> UnitWalker<'a> {
    /// A township is found by name wherever it hangs (it may sit under a county); other tops
    /// of trees are matched among the roots.
    fn find_root(&mut self, root: &PlannedUnit) -> Option<&'a Unit> {
        let candidates: Vec<&Unit> = if root.level == Level::Township {
            self.current
                .units
                .iter()
                .filter(|u| u.name == root.name && u.level == "township")
                .collect()
        } else {
            self.children
                .get(&None)
                .map(|v| v.iter().copied().filter(|u| u.name == root.name).collect())
                .unwrap_or_default()
        };
        let active: Vec<&Unit> = candidates.iter().copied().filter(|u| u.active).collect();
        match (active.as_slice(), candidates.as_slice()) {
            ([one], _) => Some(one),
            ([], [one]) => Some(one),
            ([], []) => None,
            _ => {
                self.problems.push(Problem::new(
                    root.at.clone(),
                    format!(
                        "系统中有多个名为\"{}\"的单元, 无法确定导入到哪一个",
                        root.name
                    ),
                ));
                None
            }
        }
    }

    fn visit(
        &mut self,
        planned: &PlannedUnit,
        parent_id: Option<&str>,
        existing: Option<&'a Unit>,
        path: &str,
    ) {
        let ctx = self.ctx;
        let unit_id = match existing {
            Some(old) => {
                if old.level != planned.level.as_str() {
                    self.problems.push(Problem::new(
                        planned.at.clone(),
                        format!(
                            "系统中的\"{}\"是{}级, 此处为{}级",
                            path,
                            old.level().title(),
                            planned.level.title()
                        ),
                    ));
                }
                let mut after = old.clone();
                after.active = true;
                if planned.kind.is_some() {
                    after.kind = planned.kind.clone();
                }
                if &after != old {
                    after.updated_at = ctx.at;
                    let what = if !old.active {
                        "重新启用".to_owned()
                    } else {
                        format!("类别改为 {}", after.kind.as_deref().unwrap_or("无"))
                    };
                    self.cs.changes.push(ChangeLine {
                        op: "update_unit",
                        text: format!("修改单元 {path}: {what}"),
                    });
                    self.cs.changed_units.push((old.clone(), after));
                }
                old.id.clone()
            }
            None => {
                let unit = Unit {
                    id: super::new_id(),
                    parent_id: parent_id.map(str::to_owned),
                    level: planned.level.as_str().to_owned(),
                    kind: planned.kind.clone(),
                    name: planned.name.clone(),
                    active: true,
                    created_at: ctx.at,
                    updated_at: ctx.at,
                };
                self.cs.changes.push(ChangeLine {
                    op: "create_unit",
                    text: format!("新增{} {path}", planned.level.title()),
                });
                let id = unit.id.clone();
                self.cs.new_units.push(unit);
                id
            }
        };
        if let Some(existing) = existing {
            if let Some(parent) = parent_id {
                if existing.parent_id.as_deref() != Some(parent) {
                    self.problems.push(Problem::new(
                        planned.at.clone(),
                        format!("\"{path}\" 在系统中属于另一个上级单元"),
                    ));
                }
            }
        }
        self.assignments(planned, &unit_id, existing.is_some(), path);

        let stored_children: Vec<&'a Unit> = existing
            .and_then(|e| self.children.get(&Some(e.id.as_str())).cloned())
            .unwrap_or_default();
        for child in &planned.children {
            let found = stored_children
                .iter()
                .copied()
                .find(|u| u.name == child.name);
            self.visit(
                child,
                Some(&unit_id),
                found,
                &format!("{path}/{}", child.name),
            );
        }
    }

    fn assignments(&mut self, planned: &PlannedUnit, unit_id: &str, unit_exists: bool, path: &str) {
        let ctx = self.ctx;
        for (role, holders) in &planned.roles {
            let title = role_title(role).unwrap_or(role);
            let stored: Vec<&Assignment> = if unit_exists {
                self.current
                    .assignments
                    .iter()
                    .filter(|a| a.unit_id == unit_id && &a.role == role)
                    .collect()
            } else {
                Vec::new()
            };
            let wanted: Vec<&str> = holders
                .iter()
                .map(|&i| self.person_ids[i].as_str())
                .collect();
            for (position, person_id) in wanted.iter().enumerate() {
                let primary = position == 0;
                let name = self
                    .person_names
                    .get(*person_id)
                    .map(String::as_str)
                    .unwrap_or("?");
                match stored.iter().find(|a| a.person_id == *person_id) {
                    Some(old) if old.active && old.is_primary == primary => {}
                    Some(old) => {
                        let after = Assignment {
                            active: true,
                            is_primary: primary,
                            updated_at: ctx.at,
                            ..(*old).clone()
                        };
                        let what = if !old.active {
                            "重新任命"
                        } else if primary {
                            "改为主要负责人"
                        } else {
                            "改为协助负责人"
                        };
                        self.cs.changes.push(ChangeLine {
                            op: "update_assignment",
                            text: format!("{path} {title} {name}: {what}"),
                        });
                        self.cs.changed_assignments.push(((*old).clone(), after));
                    }
                    None => {
                        self.cs.changes.push(ChangeLine {
                            op: "assign",
                            text: format!(
                                "{path} {title}: {name}{}",
                                if primary && wanted.len() > 1 {
                                    " (主要)"
                                } else {
                                    ""
                                }
                            ),
                        });
                        self.cs.new_assignments.push(Assignment {
                            id: super::new_id(),
                            person_id: (*person_id).to_owned(),
                            unit_id: unit_id.to_owned(),
                            role: role.clone(),
                            is_primary: primary,
                            active: true,
                            created_at: ctx.at,
                            updated_at: ctx.at,
                        });
                    }
                }
            }
            for old in stored
                .iter()
                .filter(|a| a.active && !wanted.contains(&a.person_id.as_str()))
            {
                let name = self
                    .person_names
                    .get(&old.person_id)
                    .map(String::as_str)
                    .unwrap_or("(已不在表中的人员)");
                self.cs.changes.push(ChangeLine {
                    op: "unassign",
                    text: format!("{path} {title}: 不再由 {name} 负责"),
                });
                let after = Assignment {
                    active: false,
                    is_primary: false,
                    updated_at: ctx.at,
                    ..(*old).clone()
                };
                self.cs.changed_assignments.push(((*old).clone(), after));
            }
        }
    }
}

/// Writes a change set in one transaction, with an event per row and one for the import.
pub fn apply(
    conn: &mut DbConnection,
    ctx: &WriteContext,
    source: &str,
    cs: &ChangeSet,
) -> Result<(), AppError> {
    if cs.is_empty() {
        return Ok(());
    }
    let batch_id = ctx.batch_id.clone().unwrap_or_default();
    conn.transaction(|conn| {
        let mut events = Vec::new();
        // Parents come before children in new_units, so foreign keys hold row by row.
        crate::db::insert_all!(conn, units::table, &cs.new_units);
        for u in &cs.new_units {
            events.push(NewEvent::new(
                ctx,
                "create",
                "unit",
                &u.id,
                None::<&Unit>,
                Some(u),
            ));
        }
        for (before, after) in &cs.changed_units {
            diesel::update(units::table.find(&before.id))
                .set(after)
                .execute(conn)?;
            events.push(NewEvent::new(
                ctx,
                "update",
                "unit",
                &before.id,
                Some(before),
                Some(after),
            ));
        }
        crate::db::insert_all!(conn, people::table, &cs.new_people);
        for p in &cs.new_people {
            events.push(NewEvent::new(
                ctx,
                "create",
                "person",
                &p.id,
                None::<&Person>,
                Some(p),
            ));
        }
        for (before, after) in &cs.changed_people {
            diesel::update(people::table.find(&before.id))
                .set(after)
                .execute(conn)?;
            events.push(NewEvent::new(
                ctx,
                "update",
                "person",
                &before.id,
                Some(before),
                Some(after),
            ));
        }
        for (before, after) in &cs.changed_assignments {
            diesel::update(assignments::table.find(&before.id))
                .set(after)
                .execute(conn)?;
            let action = if before.active && !after.active {
                "deactivate"
            } else {
                "update"
            };
            events.push(NewEvent::new(
                ctx,
                action,
                "assignment",
                &before.id,
                Some(before),
                Some(after),
            ));
        }
        crate::db::insert_all!(conn, assignments::table, &cs.new_assignments);
        for a in &cs.new_assignments {
            events.push(NewEvent::new(
                ctx,
                "create",
                "assignment",
                &a.id,
                None::<&Assignment>,
                Some(a),
            ));
        }
        #[derive(Serialize)]
        struct ImportRecord<'a> {
            source: &'a str,
            summary: Summary,
        }
        events.push(NewEvent::new(
            ctx,
            "import",
            "import",
            &batch_id,
            None::<&()>,
            Some(&ImportRecord {
                source,
                summary: cs.summary(),
            }),
        ));
        audit::record_all(conn, &events)
    })
}

/// Preview (`commit == false`) or commit of a plan.
pub fn run(
    conn: &mut DbConnection,
    ctx: &WriteContext,
    source: &str,
    plan: &OrgPlan,
    commit: bool,
) -> Result<ImportReport, AppError> {
    let batch_id = super::new_id();
    let ctx = ctx.clone().in_batch(batch_id.clone());
    // Reading and writing in one transaction keeps the preview that was checked the one that
    // is written, even if someone edits the organisation meanwhile.
    conn.transaction(|conn| {
        let current = load_current(conn, plan)?;
        let cs = diff(plan, &current, &ctx).map_err(rejected)?;
        let committed = commit && !cs.is_empty();
        if commit {
            apply(conn, &ctx, source, &cs)?;
        }
        Ok(ImportReport {
            committed,
            batch_id: committed.then_some(batch_id),
            summary: cs.summary(),
            changes: cs.changes,
            warnings: cs.warnings,
        })
    })
}

/// The formats an organisation can be imported from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    Xlsx,
    Csv,
    Yaml,
}

impl SourceFormat {
    /// XLSX is known by its bytes; YAML and CSV, both text, by the file name.
    pub fn detect(bytes: &[u8], file_name: Option<&str>) -> SourceFormat {
        let lower = file_name.unwrap_or_default().to_ascii_lowercase();
        if table::is_xlsx(bytes) {
            SourceFormat::Xlsx
        } else if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            SourceFormat::Yaml
        } else {
            SourceFormat::Csv
        }
    }
}

/// Reads an uploaded or local file into a plan. Spreadsheets need the township they describe.
pub fn read_source(
    bytes: &[u8],
    file_name: Option<&str>,
    township: Option<&str>,
    sheet: Option<&str>,
) -> Result<OrgPlan, AppError> {
    let plan = match SourceFormat::detect(bytes, file_name) {
        SourceFormat::Yaml => {
            let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
                .map_err(|e| {
                    rejected(vec![Problem::general(format!(
                        "YAML 文件不是 UTF-8 编码: 第 {} 字节处",
                        e.valid_up_to()
                    ))])
                })?;
            yaml::read(text)
        }
        SourceFormat::Xlsx | SourceFormat::Csv => {
            let township = township
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    AppError::validation(vec![crate::error::FieldError::new(
                        "township",
                        "导入三包表格时必须指定乡镇名称",
                    )])
                })?;
            table::read(bytes, township, sheet)
        }
    };
    plan.map_err(rejected)
}
