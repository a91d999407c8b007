//! Account work from the command line and at first start, where units and people are named
//! as the office knows them ("第一选区", "岑伟") rather than by id.

use diesel::prelude::*;

use super::users::GrantForm;
use crate::db::schema::{people, units};
use crate::db::DbConnection;
use crate::error::AppError;

fn one(found: Vec<String>, what: &str, text: &str) -> Result<String, AppError> {
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(AppError::bad_request(
            "not_found",
            format!("没有名为或编号为 \"{text}\" 的{what}"),
        )),
        _ => Err(AppError::bad_request(
            "ambiguous",
            format!("有多个名为 \"{text}\" 的{what}, 请用编号"),
        )),
    }
}

/// An active unit by id or by a name that only one active unit has.
pub fn find_unit(conn: &mut DbConnection, text: &str) -> Result<String, AppError> {
    let text = text.trim();
    let found = units::table
        .filter(units::id.eq(text).or(units::name.eq(text)))
        .filter(units::active.eq(true))
        .select(units::id)
        .load(conn)?;
    one(found, "单元", text)
}

/// An active person by id or by a name that only one active person has.
pub fn find_person(conn: &mut DbConnection, text: &str) -> Result<String, AppError> {
    let text = text.trim();
    let found = people::table
        .filter(people::id.eq(text).or(people::name.eq(text)))
        .filter(people::active.eq(true))
        .select(people::id)
        .load(conn)?;
    one(found, "人员", text)
}

/// `admin`, `cadre`, or `ROLE:UNIT` such as `leader:第一选区`.
pub fn parse_grant(conn: &mut DbConnection, spec: &str) -> Result<GrantForm, AppError> {
    let (role, unit) = match spec.split_once(':') {
        Some((r, u)) => (r.trim(), Some(find_unit(conn, u)?)),
        None => (spec.trim(), None),
    };
    super::Role::parse(role).map_err(|m| AppError::bad_request("invalid_role", m))?;
    Ok(GrantForm {
        role: role.to_owned(),
        unit_id: unit,
    })
}
