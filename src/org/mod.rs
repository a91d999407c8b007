//! The organisation: the unit tree, people, and who answers for what (三包 assignments).

pub mod assignments;
pub mod contact;
pub mod import;
pub mod people;
pub mod tree;
pub mod units;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Deserializer, Serialize};

use crate::db::schema::{assignments as assignments_t, people as people_t, units as units_t};
use crate::error::FieldError;

pub use tree::Level;

#[derive(
    Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset, Serialize,
)]
#[diesel(table_name = units_t, treat_none_as_null = true)]
pub struct Unit {
    pub id: String,
    pub parent_id: Option<String>,
    pub level: String,
    pub kind: Option<String>,
    pub name: String,
    pub active: bool,
    #[serde(serialize_with = "crate::clock::serialize_utc")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::clock::serialize_utc")]
    pub updated_at: NaiveDateTime,
}

impl Unit {
    /// The stored level; rows are only ever written through [`Level::as_str`].
    pub fn level(&self) -> Level {
        Level::parse(&self.level).unwrap_or(Level::Group)
    }
}

#[derive(
    Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset, Serialize,
)]
#[diesel(table_name = people_t, treat_none_as_null = true)]
pub struct Person {
    pub id: String,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub title: Option<String>,
    pub active: bool,
    #[serde(serialize_with = "crate::clock::serialize_utc")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::clock::serialize_utc")]
    pub updated_at: NaiveDateTime,
}

#[derive(
    Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset, Serialize,
)]
#[diesel(table_name = assignments_t, treat_none_as_null = true)]
pub struct Assignment {
    pub id: String,
    pub person_id: String,
    pub unit_id: String,
    pub role: String,
    pub is_primary: bool,
    pub active: bool,
    #[serde(serialize_with = "crate::clock::serialize_utc")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::clock::serialize_utc")]
    pub updated_at: NaiveDateTime,
}

/// A fresh, time-ordered id; time order keeps inserts in index order.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The 三包 roles that the spreadsheet import knows by their Chinese column names. Workflow
/// files may name other roles; assignments accept any role id.
pub const KNOWN_ROLES: &[(&str, &str, Level)] = &[
    ("chief", "第一责任人", Level::Township),
    ("leader", "包片领导", Level::District),
    ("cadre", "包村干部", Level::Village),
    ("village", "村干部", Level::Village),
    ("group", "包组村干部", Level::Group),
];

pub fn role_title(role: &str) -> Option<&'static str> {
    KNOWN_ROLES
        .iter()
        .find(|(id, _, _)| *id == role)
        .map(|(_, t, _)| *t)
}

/// Role ids are identifiers, because workflow files refer to them.
pub fn check_role_id(role: &str) -> Result<(), String> {
    let mut chars = role.chars();
    let ok = matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && role.len() <= 40;
    if ok {
        Ok(())
    } else {
        Err(format!(
            "角色标识 \"{role}\" 应由小写字母、数字和下划线组成, 以字母开头, 例如 cadre"
        ))
    }
}

/// Trims a display name and checks it is usable.
pub fn clean_name(field: &str, raw: &str, errors: &mut Vec<FieldError>) -> String {
    let name = raw.trim().to_owned();
    if name.is_empty() {
        errors.push(FieldError::new(field, "不能为空"));
    } else if name.chars().count() > 100 {
        errors.push(FieldError::new(field, "不能超过 100 个字"));
    } else if name.chars().any(char::is_control) {
        errors.push(FieldError::new(field, "不能含有控制字符"));
    }
    name
}

/// Trims an optional text field; blank means absent.
pub fn clean_optional(raw: Option<String>) -> Option<String> {
    raw.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// Distinguishes "field absent" (outer `None`) from "field set to null" (`Some(None)`) in a
/// PATCH body.
pub fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
