//! Assignments: person P holds 三包 role R on unit U.

use diesel::prelude::*;
use serde::Deserialize;

use super::{check_role_id, Assignment};
use crate::audit::{self, WriteContext};
use crate::db::schema::assignments;
use crate::db::DbConnection;
use crate::error::{AppError, FieldError};
use crate::pagination::{Page, PageRequest};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAssignmentForm {
    pub person_id: String,
    pub unit_id: String,
    pub role: String,
    /// Absent: primary when nobody else holds the role on the unit.
    pub is_primary: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignmentPatch {
    pub is_primary: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignmentFilter {
    pub person_id: Option<String>,
    pub unit_id: Option<String>,
    pub role: Option<String>,
    /// Absent means active only.
    pub active: Option<bool>,
    /// Set from the caller's roles, never from the query: only these units (`None`: all).
    #[serde(skip)]
    pub within: Option<Vec<String>>,
}

pub fn get(conn: &mut DbConnection, id: &str) -> Result<Assignment, AppError> {
    assignments::table
        .find(id)
        .select(Assignment::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("包保关系", id))
}

pub fn list(
    conn: &mut DbConnection,
    filter: &AssignmentFilter,
    page: &PageRequest,
) -> Result<Page<Assignment>, AppError> {
    let query = || {
        let mut q = assignments::table.into_boxed();
        if let Some(v) = &filter.person_id {
            q = q.filter(assignments::person_id.eq(v.clone()));
        }
        if let Some(v) = &filter.unit_id {
            q = q.filter(assignments::unit_id.eq(v.clone()));
        }
        if let Some(v) = &filter.role {
            q = q.filter(assignments::role.eq(v.clone()));
        }
        if let Some(w) = &filter.within {
            q = q.filter(assignments::unit_id.eq_any(w.clone()));
        }
        q.filter(assignments::active.eq(filter.active.unwrap_or(true)))
    };
    let total = query().count().get_result(conn)?;
    let items = query()
        .order((
            assignments::unit_id.asc(),
            assignments::role.asc(),
            assignments::is_primary.desc(),
            assignments::id.asc(),
        ))
        .limit(page.limit())
        .offset(page.offset())
        .select(Assignment::as_select())
        .load(conn)?;
    Ok(page.page(items, total))
}

fn holders(
    conn: &mut DbConnection,
    unit_id: &str,
    role: &str,
) -> Result<Vec<Assignment>, AppError> {
    Ok(assignments::table
        .filter(assignments::unit_id.eq(unit_id))
        .filter(assignments::role.eq(role))
        .filter(assignments::active.eq(true))
        .order(assignments::id.asc())
        .select(Assignment::as_select())
        .load(conn)?)
}

fn write(
    conn: &mut DbConnection,
    ctx: &WriteContext,
    action: &str,
    before: Option<&Assignment>,
    after: &Assignment,
) -> Result<(), AppError> {
    match before {
        None => {
            diesel::insert_into(assignments::table)
                .values(after)
                .execute(conn)?;
        }
        Some(_) => {
            diesel::update(assignments::table.find(&after.id))
                .set(after)
                .execute(conn)?;
        }
    }
    audit::record(
        conn,
        ctx,
        action,
        "assignment",
        &after.id,
        before,
        Some(after),
    )
}

/// Makes `keep` the only primary holder of its role on its unit.
fn demote_others(
    conn: &mut DbConnection,
    ctx: &WriteContext,
    keep: &Assignment,
) -> Result<(), AppError> {
    for other in holders(conn, &keep.unit_id, &keep.role)? {
        if other.id != keep.id && other.is_primary {
            let after = Assignment {
                is_primary: false,
                updated_at: ctx.at,
                ..other.clone()
            };
            write(conn, ctx, "update", Some(&other), &after)?;
        }
    }
    Ok(())
}

/// Gives a role to a person on a unit. An ended assignment of the same triple comes back to
/// life instead of being duplicated, so its history stays in one place.
pub fn assign(
    conn: &mut DbConnection,
    ctx: &WriteContext,
    person: &super::Person,
    unit: &super::Unit,
    role: &str,
    is_primary: Option<bool>,
) -> Result<Assignment, AppError> {
    let existing = assignments::table
        .filter(assignments::person_id.eq(&person.id))
        .filter(assignments::unit_id.eq(&unit.id))
        .filter(assignments::role.eq(role))
        .select(Assignment::as_select())
        .first(conn)
        .optional()?;
    if existing.as_ref().is_some_and(|a| a.active) {
        return Err(AppError::conflict(
            "duplicate_assignment",
            format!(
                "{} 已经是 \"{}\" 的 {}",
                person.name,
                unit.name,
                super::role_title(role).unwrap_or(role)
            ),
        ));
    }
    let primary = match is_primary {
        Some(p) => p,
        None => holders(conn, &unit.id, role)?.is_empty(),
    };
    let after = match &existing {
        Some(old) => Assignment {
            is_primary: primary,
            active: true,
            updated_at: ctx.at,
            ..old.clone()
        },
        None => Assignment {
            id: super::new_id(),
            person_id: person.id.clone(),
            unit_id: unit.id.clone(),
            role: role.to_owned(),
            is_primary: primary,
            active: true,
            created_at: ctx.at,
            updated_at: ctx.at,
        },
    };
    if primary {
        demote_others(conn, ctx, &after)?;
    }
    write(
        conn,
        ctx,
        if existing.is_some() {
            "reactivate"
        } else {
            "create"
        },
        existing.as_ref(),
        &after,
    )?;
    Ok(after)
}

pub fn create(
    conn: &mut DbConnection,
    ctx: &WriteContext,
    form: NewAssignmentForm,
) -> Result<Assignment, AppError> {
    let role = form.role.trim().to_owned();
    check_role_id(&role).map_err(|m| AppError::validation(vec![FieldError::new("role", m)]))?;
    conn.transaction(|conn| {
        let missing = |field: &str, what: &str, id: &str| {
            AppError::validation(vec![FieldError::new(field, format!("{what} {id} 不存在"))])
        };
        let person = super::people::get(conn, &form.person_id)
            .map_err(|_| missing("person_id", "人员", &form.person_id))?;
        let unit = super::units::get(conn, &form.unit_id)
            .map_err(|_| missing("unit_id", "单元", &form.unit_id))?;
        if !person.active {
            return Err(AppError::validation(vec![FieldError::new(
                "person_id",
                format!("人员 \"{}\" 已停用", person.name),
            )]));
        }
        if !unit.active {
            return Err(AppError::validation(vec![FieldError::new(
                "unit_id",
                format!("单元 \"{}\" 已停用", unit.name),
            )]));
        }
        assign(conn, ctx, &person, &unit, &role, form.is_primary)
    })
}

pub fn update(
    conn: &mut DbConnection,
    ctx: &WriteContext,
    id: &str,
    patch: AssignmentPatch,
) -> Result<Assignment, AppError> {
    conn.transaction(|conn| {
        let before = get(conn, id)?;
        if !before.active {
            return Err(AppError::conflict("inactive", "该包保关系已结束, 不能修改"));
        }
        let Some(primary) = patch.is_primary.filter(|p| *p != before.is_primary) else {
            return Ok(before);
        };
        let after = Assignment {
            is_primary: primary,
            updated_at: ctx.at,
            ..before.clone()
        };
        if primary {
            demote_others(conn, ctx, &after)?;
        }
        write(conn, ctx, "update", Some(&before), &after)?;
        if !primary {
            promote_successor(conn, ctx, &after.unit_id, &after.role)?;
        }
        Ok(after)
    })
}

/// When the primary holder goes, the longest-standing remaining holder becomes primary, so a
/// role with holders always has exactly one primary.
fn promote_successor(
    conn: &mut DbConnection,
    ctx: &WriteContext,
    unit_id: &str,
    role: &str,
) -> Result<(), AppError> {
    let remaining = holders(conn, unit_id, role)?;
    if remaining.iter().any(|a| a.is_primary) {
        return Ok(());
    }
    if let Some(next) = remaining.into_iter().next() {
        let after = Assignment {
            is_primary: true,
            updated_at: ctx.at,
            ..next.clone()
        };
        write(conn, ctx, "update", Some(&next), &after)?;
    }
    Ok(())
}

/// Ends an assignment (no hard delete) and hands the primary flag on.
pub(crate) fn end(
    conn: &mut DbConnection,
    ctx: &WriteContext,
    before: Assignment,
) -> Result<Assignment, AppError> {
    let after = Assignment {
        active: false,
        is_primary: false,
        updated_at: ctx.at,
        ..before.clone()
    };
    write(conn, ctx, "deactivate", Some(&before), &after)?;
    if before.is_primary {
        promote_successor(conn, ctx, &before.unit_id, &before.role)?;
    }
    Ok(after)
}

pub fn deactivate(
    conn: &mut DbConnection,
    ctx: &WriteContext,
    id: &str,
) -> Result<Assignment, AppError> {
    conn.transaction(|conn| {
        let before = get(conn, id)?;
        if !before.active {
            return Ok(before);
        }
        end(conn, ctx, before)
    })
}
