//! User accounts and their role grants. A user is usually linked to a person of the 三包 table,
//! which is how "my tasks" and a cadre's villages are found.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::{Grant, Role};
use crate::audit::{self, WriteContext};
use crate::db::schema::{people, sessions, units, user_roles, users};
use crate::db::DbConnection;
use crate::error::{AppError, FieldError};

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = users)]
pub struct User {
    pub id: String,
    pub username: String,
    pub person_id: Option<String>,
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub active: bool,
    #[serde(serialize_with = "crate::clock::serialize_utc")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::clock::serialize_utc")]
    pub updated_at: NaiveDateTime,
    #[serde(serialize_with = "crate::clock::serialize_utc_opt")]
    pub password_changed_at: Option<NaiveDateTime>,
}

/// A user as shown: never the password hash, always the roles.
#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    #[serde(flatten)]
    pub user: User,
    pub has_password: bool,
    pub person_name: Option<String>,
    pub roles: Vec<Grant>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantForm {
    pub role: String,
    pub unit_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUserForm {
    pub username: String,
    pub person_id: Option<String>,
    /// Optional: without one the user logs in after an admin hands over a reset link.
    pub password: Option<String>,
    #[serde(default)]
    pub roles: Vec<GrantForm>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolesForm {
    pub roles: Vec<GrantForm>,
}

pub fn check_username(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    let n = name.chars().count();
    let problem = if !(2..=64).contains(&n) {
        Some("用户名应为 2 到 64 个字符")
    } else if name
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '/' || c == '\\' || c == ':')
    {
        Some("用户名不能含空格、控制字符或 / \\ :")
    } else {
        None
    };
    match problem {
        Some(m) => Err(AppError::validation(vec![FieldError::new("username", m)])),
        None => Ok(name.to_owned()),
    }
}

pub fn get(conn: &mut DbConnection, id: &str) -> Result<User, AppError> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("用户", id))
}

pub fn find_by_username(conn: &mut DbConnection, username: &str) -> Result<Option<User>, AppError> {
    Ok(users::table
        .filter(users::username.eq(username.trim()))
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

pub fn grants(conn: &mut DbConnection, user_id: &str) -> Result<Vec<Grant>, AppError> {
    Ok(grants_of(conn, &[user_id.to_owned()])?
        .remove(user_id)
        .unwrap_or_default())
}

/// The grants of many users in one query, by user id.
fn grants_of(
    conn: &mut DbConnection,
    user_ids: &[String],
) -> Result<HashMap<String, Vec<Grant>>, AppError> {
    let rows: Vec<(String, String, Option<String>, Option<String>)> = user_roles::table
        .left_join(units::table.on(units::id.nullable().eq(user_roles::unit_id)))
        .filter(user_roles::user_id.eq_any(user_ids))
        .order((user_roles::role.asc(), units::name.asc()))
        .select((
            user_roles::user_id,
            user_roles::role,
            user_roles::unit_id,
            units::name.nullable(),
        ))
        .load(conn)?;
    let mut out: HashMap<String, Vec<Grant>> = HashMap::new();
    for (user_id, role, unit_id, unit_name) in rows {
        if let Ok(role) = Role::parse(&role) {
            out.entry(user_id).or_default().push(Grant {
                role,
                unit_id,
                unit_name,
            });
        }
    }
    Ok(out)
}

/// Views of many users with three queries in all, whatever their number.
fn views(conn: &mut DbConnection, all: Vec<User>) -> Result<Vec<UserView>, AppError> {
    let ids: Vec<String> = all.iter().map(|u| u.id.clone()).collect();
    let mut grants = grants_of(conn, &ids)?;
    let person_ids: Vec<String> = all.iter().filter_map(|u| u.person_id.clone()).collect();
    let names: HashMap<String, String> = people::table
        .filter(people::id.eq_any(&person_ids))
        .select((people::id, people::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    Ok(all
        .into_iter()
        .map(|user| UserView {
            has_password: user.password_hash.is_some(),
            person_name: user.person_id.as_ref().and_then(|p| names.get(p).cloned()),
            roles: grants.remove(&user.id).unwrap_or_default(),
            user,
        })
        .collect())
}

pub fn view(conn: &mut DbConnection, user: User) -> Result<UserView, AppError> {
    let mut one = views(conn, vec![user])?;
    one.pop()
        .ok_or_else(|| AppError::internal("a user view went missing"))
}

pub fn load_view(conn: &mut DbConnection, id: &str) -> Result<UserView, AppError> {
    let user = get(conn, id)?;
    view(conn, user)
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<UserView>, AppError> {
    let all: Vec<User> = users::table
        .order(users::username.asc())
        .select(User::as_select())
        .load(conn)?;
    views(conn, all)
}

pub fn admin_exists(conn: &mut DbConnection) -> Result<bool, AppError> {
    let n: i64 = user_roles::table
        .inner_join(users::table)
        .filter(user_roles::role.eq(Role::Admin.as_str()))
        .filter(users::active.eq(true))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Checks the grants against the unit table: admin takes no unit, leader and observer need one,
/// a cadre may have one (or rely on the units their person holds 三包 roles on).
fn check_grants(
    conn: &mut DbConnection,
    forms: &[GrantForm],
) -> Result<Vec<(Role, Option<String>)>, AppError> {
    let mut errors = Vec::new();
    let mut out: Vec<(Role, Option<String>)> = Vec::new();
    for (i, g) in forms.iter().enumerate() {
        let field = format!("roles[{i}]");
        let role = match Role::parse(&g.role) {
            Ok(r) => r,
            Err(m) => {
                errors.push(FieldError::new(format!("{field}.role"), m));
                continue;
            }
        };
        let unit = g
            .unit_id
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty());
        match (role, unit) {
            (Role::Admin, Some(_)) => errors.push(FieldError::new(
                format!("{field}.unit_id"),
                "管理员管理全部单位, 不指定单元",
            )),
            (Role::Leader | Role::Observer, None) => errors.push(FieldError::new(
                format!("{field}.unit_id"),
                format!("{}需要指定负责的单元", role.title()),
            )),
            (_, Some(u)) => {
                let exists: i64 = units::table
                    .filter(units::id.eq(u))
                    .filter(units::active.eq(true))
                    .count()
                    .get_result(conn)?;
                if exists == 0 {
                    errors.push(FieldError::new(
                        format!("{field}.unit_id"),
                        format!("单元 {u} 不存在或已停用"),
                    ));
                }
            }
            _ => {}
        }
        let entry = (role, unit.map(str::to_owned));
        if !out.contains(&entry) {
            out.push(entry);
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(AppError::validation(errors))
    }
}

fn replace_grants(
    conn: &mut DbConnection,
    ctx: &WriteContext,
    user_id: &str,
    grants: &[(Role, Option<String>)],
) -> Result<(), AppError> {
    diesel::delete(user_roles::table.filter(user_roles::user_id.eq(user_id))).execute(conn)?;
    for (role, unit) in grants {
        diesel::insert_into(user_roles::table)
            .values((
                user_roles::id.eq(uuid::Uuid::now_v7().to_string()),
                user_roles::user_id.eq(user_id),
                user_roles::role.eq(role.as_str()),
                user_roles::unit_id.eq(unit.clone()),
                user_roles::created_at.eq(ctx.at),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Creates a user. The password, if any, arrives hashed: hashing is slow and happens before a
/// connection is taken.
pub fn create(
    conn: &mut DbConnection,
    ctx: &WriteContext,
    form: NewUserForm,
    password_hash: Option<String>,
) -> Result<UserView, AppError> {
    let username = check_username(&form.username)?;
    conn.transaction(|conn| {
        crate::db::begin_write(conn)?;
        let grants = check_grants(conn, &form.roles)?;
        if find_by_username(conn, &username)?.is_some() {
            return Err(AppError::conflict(
                "duplicate",
                format!("用户名 {username} 已被使用"),
            ));
        }
        if let Some(p) = &form.person_id {
            crate::org::people::get(conn, p).map_err(|_| {
                AppError::validation(vec![FieldError::new(
                    "person_id",
                    format!("人员 {p} 不存在"),
                )])
            })?;
            let taken: i64 = users::table
                .filter(users::person_id.eq(p))
                .count()
                .get_result(conn)?;
            if taken > 0 {
                return Err(AppError::conflict("duplicate", "这个人员已经有账号了"));
            }
        }
        let id = uuid::Uuid::now_v7().to_string();
        diesel::insert_into(users::table)
            .values((
                users::id.eq(&id),
                users::username.eq(&username),
                users::person_id.eq(&form.person_id),
                users::password_hash.eq(&password_hash),
                users::active.eq(true),
                users::created_at.eq(ctx.at),
                users::updated_at.eq(ctx.at),
                users::password_changed_at.eq(password_hash.as_ref().map(|_| ctx.at)),
            ))
            .execute(conn)?;
        replace_grants(conn, ctx, &id, &grants)?;
        let created = load_view(conn, &id)?;
        audit::record(
            conn,
            ctx,
            "user.created",
            "user",
            &id,
            None::<&()>,
            Some(&created),
        )?;
        Ok(created)
    })
}

pub fn set_roles(
    conn: &mut DbConnection,
    ctx: &WriteContext,
    user_id: &str,
    form: RolesForm,
) -> Result<UserView, AppError> {
    conn.transaction(|conn| {
        crate::db::begin_write(conn)?;
        let before = load_view(conn, user_id)?;
        let grants = check_grants(conn, &form.roles)?;
        replace_grants(conn, ctx, user_id, &grants)?;
        refuse_losing_the_last_admin(conn)?;
        let after = load_view(conn, user_id)?;
        audit::record(
            conn,
            ctx,
            "user.roles_changed",
            "user",
            user_id,
            Some(&before.roles),
            Some(&after.roles),
        )?;
        Ok(after)
    })
}

fn refuse_losing_the_last_admin(conn: &mut DbConnection) -> Result<(), AppError> {
    if admin_exists(conn)? {
        Ok(())
    } else {
        Err(AppError::conflict(
            "last_admin",
            "这是最后一个启用的管理员; 请先为另一个用户授予管理员角色",
        ))
    }
}

pub fn set_active(
    conn: &mut DbConnection,
    ctx: &WriteContext,
    user_id: &str,
    active: bool,
) -> Result<UserView, AppError> {
    conn.transaction(|conn| {
        crate::db::begin_write(conn)?;
        let before = get(conn, user_id)?;
        diesel::update(users::table.find(user_id))
            .set((users::active.eq(active), users::updated_at.eq(ctx.at)))
            .execute(conn)?;
        if !active {
            refuse_losing_the_last_admin(conn)?;
            super::sessions::revoke_all(conn, user_id, None, ctx.at)?;
        }
        let after = load_view(conn, user_id)?;
        let action = if active {
            "user.activated"
        } else {
            "user.deactivated"
        };
        audit::record(
            conn,
            ctx,
            action,
            "user",
            user_id,
            Some(&before),
            Some(&after.user),
        )?;
        Ok(after)
    })
}

/// Sets a new password (already hashed) and ends the user's other sessions: whoever knew the
/// old password must not stay logged in. `keep_session` is the caller's own session, if any.
pub fn set_password(
    conn: &mut DbConnection,
    ctx: &WriteContext,
    user_id: &str,
    password_hash: &str,
    keep_session: Option<&str>,
) -> Result<usize, AppError> {
    diesel::update(users::table.find(user_id))
        .set((
            users::password_hash.eq(password_hash),
            users::password_changed_at.eq(ctx.at),
            users::updated_at.eq(ctx.at),
        ))
        .execute(conn)?;
    let ended = super::sessions::revoke_all(conn, user_id, keep_session, ctx.at)?;
    audit::record(
        conn,
        ctx,
        "user.password_changed",
        "user",
        user_id,
        None::<&()>,
        Some(&serde_json::json!({ "sessions_ended": ended })),
    )?;
    Ok(ended)
}

/// Active sessions of a user, for tests and the admin's view.
pub fn session_count(
    conn: &mut DbConnection,
    user_id: &str,
    now: NaiveDateTime,
) -> Result<i64, AppError> {
    Ok(sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .count()
        .get_result(conn)?)
}
