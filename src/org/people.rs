//! People: everyone who may hold a 三包 role.

use diesel::prelude::*;
use serde::Deserialize;

use super::contact::{parse_email, parse_phone};
use super::{clean_name, clean_optional, double_option, Assignment, Person};
use crate::audit::{self, Event, WriteContext};
use crate::db::schema::{assignments, people};
use crate::db::DbConnection;
use crate::error::{AppError, FieldError};
use crate::pagination::{Page, PageRequest};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPersonForm {
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub title: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonPatch {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub title: Option<Option<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonFilter {
    /// Substring of the name.
    pub name: Option<String>,
    pub phone: Option<String>,
    /// People holding any active role on this unit.
    pub unit_id: Option<String>,
    /// Absent means active only.
    pub active: Option<bool>,
    /// Set from the caller's roles: only people holding an active role on these units …
    #[serde(skip)]
    pub within: Option<Vec<String>>,
    /// … and the caller's own person.
    #[serde(skip)]
    pub or_person: Option<String>,
}

/// Validates optional contact fields; blank means absent.
pub fn clean_contact(
    phone: Option<String>,
    email: Option<String>,
    errors: &mut Vec<FieldError>,
) -> (Option<String>, Option<String>) {
    let phone = clean_optional(phone).and_then(|p| {
        parse_phone(&p)
            .map_err(|m| errors.push(FieldError::new("phone", m)))
            .ok()
    });
    let email = clean_optional(email).and_then(|e| {
        parse_email(&e)
            .map_err(|m| errors.push(FieldError::new("email", m)))
            .ok()
    });
    (phone, email)
}

pub fn get(conn: &mut DbConnection, id: &str) -> Result<Person, AppError> {
    people::table
        .find(id)
        .select(Person::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("人员", id))
}

/// A person is visible to whoever may read a unit they hold a role on, and to themselves.
/// Answers 404 otherwise, so ids outside the caller's scope reveal nothing.
pub fn require_visible(
    conn: &mut DbConnection,
    access: &crate::auth::Access,
    id: &str,
) -> Result<(), AppError> {
    if access.is_admin() || access.person_id.as_deref() == Some(id) {
        return Ok(());
    }
    let units: Vec<String> = assignments::table
        .filter(assignments::person_id.eq(id))
        .filter(assignments::active.eq(true))
        .select(assignments::unit_id)
        .load(conn)?;
    if units.iter().any(|u| access.can_read_unit(u)) {
        Ok(())
    } else {
        Err(AppError::not_found("人员", id))
    }
}

pub fn list(
    conn: &mut DbConnection,
    filter: &PersonFilter,
    page: &PageRequest,
) -> Result<Page<Person>, AppError> {
    let phone = match &filter.phone {
        Some(p) => Some(
            parse_phone(p).map_err(|m| AppError::validation(vec![FieldError::new("phone", m)]))?,
        ),
        None => None,
    };
    let query = || {
        let mut q = people::table.into_boxed();
        if let Some(n) = &filter.name {
            q = q.filter(
                people::name
                    .like(format!("%{}%", super::units::escape_like(n)))
                    .escape('\\'),
            );
        }
        if let Some(p) = &phone {
            q = q.filter(people::phone.eq(p.clone()));
        }
        if let Some(u) = &filter.unit_id {
            let holders = assignments::table
                .filter(assignments::unit_id.eq(u.clone()))
                .filter(assignments::active.eq(true))
                .select(assignments::person_id);
            q = q.filter(people::id.eq_any(holders));
        }
        if let Some(w) = &filter.within {
            let holders = assignments::table
                .filter(assignments::unit_id.eq_any(w.clone()))
                .filter(assignments::active.eq(true))
                .select(assignments::person_id);
            q = match &filter.or_person {
                Some(me) => q.filter(people::id.eq_any(holders).or(people::id.eq(me.clone()))),
                None => q.filter(people::id.eq_any(holders)),
            };
        }
        q.filter(people::active.eq(filter.active.unwrap_or(true)))
    };
    let total = query().count().get_result(conn)?;
    let items = query()
        .order((people::name.asc(), people::id.asc()))
        .limit(page.limit())
        .offset(page.offset())
        .select(Person::as_select())
        .load(conn)?;
    Ok(page.page(items, total))
}

pub fn create(
    conn: &mut DbConnection,
    ctx: &WriteContext,
    form: NewPersonForm,
) -> Result<Person, AppError> {
    let mut errors = Vec::new();
    let name = clean_name("name", &form.name, &mut errors);
    let (phone, email) = clean_contact(form.phone, form.email, &mut errors);
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    let person = Person {
        id: super::new_id(),
        name,
        phone,
        email,
        title: clean_optional(form.title),
        active: true,
        created_at: ctx.at,
        updated_at: ctx.at,
    };
    conn.transaction(|conn| {
        insert(conn, ctx, &person)?;
        Ok(person)
    })
}

pub(crate) fn insert(
    conn: &mut DbConnection,
    ctx: &WriteContext,
    person: &Person,
) -> Result<(), AppError> {
    diesel::insert_into(people::table)
        .values(person)
        .execute(conn)?;
    audit::record(
        conn,
        ctx,
        "create",
        "person",
        &person.id,
        None::<&Person>,
        Some(person),
    )
}

/// Writes changed fields of a person and records the change; used by the API and the import.
pub(crate) fn save(
    conn: &mut DbConnection,
    ctx: &WriteContext,
    before: &Person,
    mut after: Person,
) -> Result<Person, AppError> {
    if &after == before {
        return Ok(after);
    }
    after.updated_at = ctx.at;
    diesel::update(people::table.find(&before.id))
        .set(&after)
        .execute(conn)?;
    audit::record(
        conn,
        ctx,
        "update",
        "person",
        &before.id,
        Some(before),
        Some(&after),
    )?;
    Ok(after)
}

pub fn update(
    conn: &mut DbConnection,
    ctx: &WriteContext,
    id: &str,
    patch: PersonPatch,
) -> Result<Person, AppError> {
    conn.transaction(|conn| {
        let before = get(conn, id)?;
        if !before.active {
            return Err(AppError::conflict(
                "inactive",
                format!("人员 \"{}\" 已停用, 不能修改", before.name),
            ));
        }
        let mut errors = Vec::new();
        let mut after = before.clone();
        if let Some(name) = &patch.name {
            after.name = clean_name("name", name, &mut errors);
        }
        let (phone, email) = clean_contact(
            patch.phone.clone().flatten(),
            patch.email.clone().flatten(),
            &mut errors,
        );
        if patch.phone.is_some() {
            after.phone = phone;
        }
        if patch.email.is_some() {
            after.email = email;
        }
        if let Some(title) = patch.title.clone() {
            after.title = clean_optional(title);
        }
        if !errors.is_empty() {
            return Err(AppError::validation(errors));
        }
        save(conn, ctx, &before, after)
    })
}

/// Deactivates a person and ends their assignments. Nothing is deleted: the person, their
/// ended assignments and every event stay readable.
pub fn deactivate(
    conn: &mut DbConnection,
    ctx: &WriteContext,
    id: &str,
) -> Result<Person, AppError> {
    conn.transaction(|conn| {
        let before = get(conn, id)?;
        if !before.active {
            return Ok(before);
        }
        let held: Vec<Assignment> = assignments::table
            .filter(assignments::person_id.eq(id))
            .filter(assignments::active.eq(true))
            .select(Assignment::as_select())
            .load(conn)?;
        for a in held {
            super::assignments::end(conn, ctx, a)?;
        }
        let mut after = before.clone();
        after.active = false;
        after.updated_at = ctx.at;
        diesel::update(people::table.find(id))
            .set(&after)
            .execute(conn)?;
        audit::record(
            conn,
            ctx,
            "deactivate",
            "person",
            id,
            Some(&before),
            Some(&after),
        )?;
        Ok(after)
    })
}

/// Everything that happened to a person and to their assignments, oldest first.
pub fn history(conn: &mut DbConnection, id: &str) -> Result<Vec<Event>, AppError> {
    get(conn, id)?;
    let assignment_ids: Vec<String> = assignments::table
        .filter(assignments::person_id.eq(id))
        .select(assignments::id)
        .load(conn)?;
    let mut events = audit::for_entities(conn, "person", &[id.to_owned()])?;
    events.extend(audit::for_entities(conn, "assignment", &assignment_ids)?);
    events.sort_by_key(|e| e.id);
    Ok(events)
}
