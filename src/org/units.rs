//! Units: the organisation tree, on the database.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::{clean_name, clean_optional, double_option, tree, Assignment, Level, Person, Unit};
use crate::audit::{self, WriteContext};
use crate::db::schema::{assignments, people, units};
use crate::db::DbConnection;
use crate::error::{AppError, FieldError};
use crate::pagination::{Page, PageRequest};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUnitForm {
    pub parent_id: Option<String>,
    pub level: String,
    pub name: String,
    pub kind: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitPatch {
    pub name: Option<String>,
    pub level: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub kind: Option<Option<String>>,
    /// `null` moves the unit to the top; absent leaves it where it is.
    #[serde(default, deserialize_with = "double_option")]
    pub parent_id: Option<Option<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitFilter {
    pub parent_id: Option<String>,
    /// `true` lists only the tops of trees.
    pub root: Option<bool>,
    pub level: Option<String>,
    /// Substring of the name.
    pub name: Option<String>,
    /// Absent means active only.
    pub active: Option<bool>,
    /// Set from the caller's roles, never from the query: only these units (`None`: all).
    #[serde(skip)]
    pub within: Option<Vec<String>>,
}

pub fn get(conn: &mut DbConnection, id: &str) -> Result<Unit, AppError> {
    units::table
        .find(id)
        .select(Unit::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("单元", id))
}

pub fn list(
    conn: &mut DbConnection,
    filter: &UnitFilter,
    page: &PageRequest,
) -> Result<Page<Unit>, AppError> {
    if let Some(level) = &filter.level {
        Level::parse(level).map_err(|m| AppError::validation(vec![FieldError::new("level", m)]))?;
    }
    let query = || {
        let mut q = units::table.into_boxed();
        if let Some(p) = &filter.parent_id {
            q = q.filter(units::parent_id.eq(p.clone()));
        }
        if filter.root == Some(true) {
            q = q.filter(units::parent_id.is_null());
        }
        if let Some(l) = &filter.level {
            q = q.filter(units::level.eq(l.clone()));
        }
        if let Some(n) = &filter.name {
            q = q.filter(
                units::name
                    .like(format!("%{}%", escape_like(n)))
                    .escape('\\'),
            );
        }
        if let Some(w) = &filter.within {
            q = q.filter(units::id.eq_any(w.clone()));
        }
        q.filter(units::active.eq(filter.active.unwrap_or(true)))
    };
    let total = query().count().get_result(conn)?;
    let items = query()
        .order((units::name.asc(), units::id.asc()))
        .limit(page.limit())
        .offset(page.offset())
        .select(Unit::as_select())
        .load(conn)?;
    Ok(page.page(items, total))
}

pub fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// The unit and its ancestors, nearest first.
pub fn chain(conn: &mut DbConnection, id: &str) -> Result<Vec<Unit>, AppError> {
    let mut out = vec![get(conn, id)?];
    // The tree is at most five levels deep; the guard only protects against corrupt data.
    while let Some(parent) = out.last().and_then(|u| u.parent_id.clone()) {
        if out.len() > Level::ALL.len() + 1 || out.iter().any(|u| u.id == parent) {
            return Err(AppError::internal(format!(
                "unit tree above {id} is corrupt"
            )));
        }
        out.push(get(conn, &parent)?);
    }
    Ok(out)
}

fn sibling_named(
    conn: &mut DbConnection,
    parent_id: Option<&str>,
    name: &str,
) -> Result<Option<Unit>, AppError> {
    let q = units::table.filter(units::name.eq(name)).into_boxed();
    let q = match parent_id {
        Some(p) => q.filter(units::parent_id.eq(p.to_owned())),
        None => q.filter(units::parent_id.is_null()),
    };
    Ok(q.select(Unit::as_select()).first(conn).optional()?)
}

fn duplicate_name(name: &str) -> AppError {
    AppError::conflict(
        "duplicate_name",
        format!("同一上级单元下已有名为 \"{name}\" 的单元"),
    )
}

fn active_parent(conn: &mut DbConnection, parent_id: &str) -> Result<Unit, AppError> {
    let parent = units::table
        .find(parent_id)
        .select(Unit::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            AppError::validation(vec![FieldError::new(
                "parent_id",
                format!("上级单元 {parent_id} 不存在"),
            )])
        })?;
    if !parent.active {
        return Err(AppError::validation(vec![FieldError::new(
            "parent_id",
            format!("上级单元 \"{}\" 已停用", parent.name),
        )]));
    }
    Ok(parent)
}

pub fn create(
    conn: &mut DbConnection,
    ctx: &WriteContext,
    form: NewUnitForm,
) -> Result<Unit, AppError> {
    let mut errors = Vec::new();
    let name = clean_name("name", &form.name, &mut errors);
    let level = Level::parse(form.level.trim())
        .map_err(|m| errors.push(FieldError::new("level", m)))
        .ok();
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    let level = level.expect("no errors means the level parsed");
    conn.transaction(|conn| {
        let parent = match &form.parent_id {
            Some(pid) => Some(active_parent(conn, pid)?),
            None => None,
        };
        tree::check_placement(level, parent.as_ref().map(Unit::level))
            .map_err(|m| AppError::validation(vec![FieldError::new("parent_id", m)]))?;
        if sibling_named(conn, form.parent_id.as_deref(), &name)?.is_some() {
            return Err(duplicate_name(&name));
        }
        let unit = Unit {
            id: super::new_id(),
            parent_id: form.parent_id.clone(),
            level: level.as_str().to_owned(),
            kind: clean_optional(form.kind.clone()),
            name,
            active: true,
            created_at: ctx.at,
            updated_at: ctx.at,
        };
        insert(conn, ctx, &unit)?;
        Ok(unit)
    })
}

/// Inserts a validated unit and records it.
pub(crate) fn insert(
    conn: &mut DbConnection,
    ctx: &WriteContext,
    unit: &Unit,
) -> Result<(), AppError> {
    diesel::insert_into(units::table)
        .values(unit)
        .execute(conn)?;
    audit::record(
        conn,
        ctx,
        "create",
        "unit",
        &unit.id,
        None::<&Unit>,
        Some(unit),
    )
}

pub fn update(
    conn: &mut DbConnection,
    ctx: &WriteContext,
    id: &str,
    patch: UnitPatch,
) -> Result<Unit, AppError> {
    conn.transaction(|conn| {
        let before = get(conn, id)?;
        if !before.active {
            return Err(AppError::conflict(
                "inactive",
                format!("单元 \"{}\" 已停用, 不能修改", before.name),
            ));
        }
        let mut errors = Vec::new();
        let mut after = before.clone();
        if let Some(name) = &patch.name {
            after.name = clean_name("name", name, &mut errors);
        }
        if let Some(level) = &patch.level {
            match Level::parse(level.trim()) {
                Ok(l) => after.level = l.as_str().to_owned(),
                Err(m) => errors.push(FieldError::new("level", m)),
            }
        }
        if let Some(kind) = patch.kind.clone() {
            after.kind = clean_optional(kind);
        }
        if !errors.is_empty() {
            return Err(AppError::validation(errors));
        }
        if let Some(parent_id) = patch.parent_id.clone() {
            after.parent_id = parent_id;
        }

        let parent = match &after.parent_id {
            Some(pid) if after.parent_id != before.parent_id => {
                // A move under oneself or a descendant would cut the subtree off the tree.
                let ancestors = chain(conn, pid)?;
                if ancestors.iter().any(|u| u.id == before.id) {
                    return Err(AppError::conflict(
                        "cycle",
                        format!("不能把 \"{}\" 移到它自己或它的下级单元之下", before.name),
                    ));
                }
                Some(active_parent(conn, pid)?)
            }
            Some(pid) => Some(get(conn, pid)?),
            None => None,
        };
        tree::check_placement(after.level(), parent.as_ref().map(Unit::level))
            .map_err(|m| AppError::validation(vec![FieldError::new("parent_id", m)]))?;
        if after.level != before.level {
            let children: Vec<Unit> = units::table
                .filter(units::parent_id.eq(&before.id))
                .filter(units::active.eq(true))
                .select(Unit::as_select())
                .load(conn)?;
            if let Some(child) = children
                .iter()
                .find(|c| !c.level().may_have_parent(after.level()))
            {
                return Err(AppError::validation(vec![FieldError::new(
                    "level",
                    format!(
                        "下级单元 \"{}\" 是{}级, 本单元不能改为{}级",
                        child.name,
                        child.level().title(),
                        after.level().title()
                    ),
                )]));
            }
        }
        if (after.name != before.name || after.parent_id != before.parent_id)
            && sibling_named(conn, after.parent_id.as_deref(), &after.name)?
                .is_some_and(|u| u.id != before.id)
        {
            return Err(duplicate_name(&after.name));
        }
        if after == before {
            return Ok(before);
        }
        after.updated_at = ctx.at;
        diesel::update(units::table.find(id))
            .set(&after)
            .execute(conn)?;
        audit::record(conn, ctx, "update", "unit", id, Some(&before), Some(&after))?;
        Ok(after)
    })
}

/// Deactivates a unit and ends its assignments. A unit with active children stays: the office
/// must first decide what happens to them.
pub fn deactivate(conn: &mut DbConnection, ctx: &WriteContext, id: &str) -> Result<Unit, AppError> {
    conn.transaction(|conn| {
        let before = get(conn, id)?;
        if !before.active {
            return Ok(before);
        }
        let children: i64 = units::table
            .filter(units::parent_id.eq(id))
            .filter(units::active.eq(true))
            .count()
            .get_result(conn)?;
        if children > 0 {
            return Err(AppError::conflict(
                "has_active_children",
                format!(
                    "单元 \"{}\" 下还有 {children} 个在用的下级单元, 请先停用或移走它们",
                    before.name
                ),
            ));
        }
        let held: Vec<Assignment> = assignments::table
            .filter(assignments::unit_id.eq(id))
            .filter(assignments::active.eq(true))
            .select(Assignment::as_select())
            .load(conn)?;
        for a in held {
            super::assignments::end(conn, ctx, a)?;
        }
        let mut after = before.clone();
        after.active = false;
        after.updated_at = ctx.at;
        diesel::update(units::table.find(id))
            .set(&after)
            .execute(conn)?;
        audit::record(
            conn,
            ctx,
            "deactivate",
            "unit",
            id,
            Some(&before),
            Some(&after),
        )?;
        Ok(after)
    })
}

/// The answer to "who holds role R for unit U".
#[derive(Debug, Serialize)]
pub struct Resolution {
    pub role: String,
    pub unit_id: String,
    /// The unit where the holders were found: U itself or its nearest ancestor with holders.
    pub resolved_at: Option<Unit>,
    pub holders: Vec<ResolvedHolder>,
}

#[derive(Debug, Serialize)]
pub struct ResolvedHolder {
    pub assignment_id: String,
    pub is_primary: bool,
    pub person: Person,
}

impl tree::Holder for ResolvedHolder {
    fn is_primary(&self) -> bool {
        self.is_primary
    }
    fn sort_key(&self) -> &str {
        &self.assignment_id
    }
}

/// Resolves a role for a unit by the 三包 rule ([`tree::nearest_holders`]).
pub fn resolve_role(
    conn: &mut DbConnection,
    unit_id: &str,
    role: &str,
) -> Result<Resolution, AppError> {
    let chain = chain(conn, unit_id)?;
    let ids: Vec<String> = chain.iter().map(|u| u.id.clone()).collect();
    let rows: Vec<(Assignment, Person)> = assignments::table
        .inner_join(people::table)
        .filter(assignments::unit_id.eq_any(&ids))
        .filter(assignments::role.eq(role))
        .filter(assignments::active.eq(true))
        .filter(people::active.eq(true))
        .select((Assignment::as_select(), Person::as_select()))
        .load(conn)?;
    let holders: Vec<(String, ResolvedHolder)> = rows
        .into_iter()
        .map(|(a, p)| {
            (
                a.unit_id.clone(),
                ResolvedHolder {
                    assignment_id: a.id,
                    is_primary: a.is_primary,
                    person: p,
                },
            )
        })
        .collect();
    let found = tree::nearest_holders(&ids, &holders).map(|(depth, hs)| {
        (
            depth,
            hs.iter()
                .map(|h| h.assignment_id.clone())
                .collect::<Vec<_>>(),
        )
    });
    let (resolved_at, order) = match found {
        Some((depth, order)) => (Some(chain[depth].clone()), order),
        None => (None, Vec::new()),
    };
    let mut by_id: std::collections::HashMap<String, ResolvedHolder> = holders
        .into_iter()
        .map(|(_, h)| (h.assignment_id.clone(), h))
        .collect();
    Ok(Resolution {
        role: role.to_owned(),
        unit_id: unit_id.to_owned(),
        resolved_at,
        holders: order.iter().filter_map(|id| by_id.remove(id)).collect(),
    })
}
