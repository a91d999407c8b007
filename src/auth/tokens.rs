//! Bearer API tokens for scripts and the phone app. The secret is shown once, at creation; the
//! table keeps its hash.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::secret;
use crate::audit::{self, WriteContext};
use crate::db::schema::{api_tokens, users};
use crate::db::DbConnection;
use crate::error::{AppError, FieldError};

const TOUCH_EVERY: Duration = Duration::minutes(5);

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = api_tokens)]
pub struct ApiToken {
    pub id: String,
    pub user_id: String,
    pub name: String,
    #[serde(serialize_with = "crate::clock::serialize_utc")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::clock::serialize_utc_opt")]
    pub expires_at: Option<NaiveDateTime>,
    #[serde(serialize_with = "crate::clock::serialize_utc_opt")]
    pub last_used_at: Option<NaiveDateTime>,
    #[serde(serialize_with = "crate::clock::serialize_utc_opt")]
    pub revoked_at: Option<NaiveDateTime>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTokenForm {
    pub name: String,
    /// Days until it stops working; absent: until revoked.
    pub expires_in_days: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub token: ApiToken,
    /// Shown once; only its hash is kept.
    pub secret: String,
}

pub fn create(
    conn: &mut DbConnection,
    ctx: &WriteContext,
    user_id: &str,
    form: NewTokenForm,
) -> Result<CreatedToken, AppError> {
    let name = form.name.trim().to_owned();
    let mut errors = Vec::new();
    if name.is_empty() || name.chars().count() > 100 {
        errors.push(FieldError::new(
            "name",
            "请填写令牌名称 (最多 100 个字符), 例如 \"手机\"",
        ));
    }
    if let Some(d) = form.expires_in_days {
        if !(1..=3660).contains(&d) {
            errors.push(FieldError::new(
                "expires_in_days",
                "应为 1 到 3660 之间的天数",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    let secret = secret::new_api_token();
    let id = uuid::Uuid::now_v7().to_string();
    conn.transaction(|conn| {
        diesel::insert_into(api_tokens::table)
            .values((
                api_tokens::id.eq(&id),
                api_tokens::user_id.eq(user_id),
                api_tokens::name.eq(&name),
                api_tokens::token_hash.eq(secret::token_hash(&secret)),
                api_tokens::created_at.eq(ctx.at),
                api_tokens::expires_at.eq(form.expires_in_days.map(|d| ctx.at + Duration::days(d))),
            ))
            .execute(conn)?;
        let token = get(conn, &id)?;
        audit::record(
            conn,
            ctx,
            "token.created",
            "api_token",
            &id,
            None::<&()>,
            Some(&token),
        )?;
        Ok(CreatedToken { token, secret })
    })
}

pub fn get(conn: &mut DbConnection, id: &str) -> Result<ApiToken, AppError> {
    api_tokens::table
        .find(id)
        .select(ApiToken::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("令牌", id))
}

pub fn list(conn: &mut DbConnection, user_id: &str) -> Result<Vec<ApiToken>, AppError> {
    Ok(api_tokens::table
        .filter(api_tokens::user_id.eq(user_id))
        .order(api_tokens::created_at.desc())
        .select(ApiToken::as_select())
        .load(conn)?)
}

pub fn revoke(
    conn: &mut DbConnection,
    ctx: &WriteContext,
    token: &ApiToken,
) -> Result<ApiToken, AppError> {
    conn.transaction(|conn| {
        diesel::update(api_tokens::table.find(&token.id))
            .filter(api_tokens::revoked_at.is_null())
            .set(api_tokens::revoked_at.eq(ctx.at))
            .execute(conn)?;
        let after = get(conn, &token.id)?;
        audit::record(
            conn,
            ctx,
            "token.revoked",
            "api_token",
            &token.id,
            Some(token),
            Some(&after),
        )?;
        Ok(after)
    })
}

/// The (user, token id) of a live token held by an active user.
pub fn lookup(
    conn: &mut DbConnection,
    secret: &str,
    now: NaiveDateTime,
) -> Result<Option<(String, String)>, AppError> {
    let row: Option<(String, String, Option<NaiveDateTime>)> = api_tokens::table
        .inner_join(users::table)
        .filter(api_tokens::token_hash.eq(secret::token_hash(secret)))
        .filter(api_tokens::revoked_at.is_null())
        .filter(
            api_tokens::expires_at
                .is_null()
                .or(api_tokens::expires_at.gt(now)),
        )
        .filter(users::active.eq(true))
        .select((
            api_tokens::user_id,
            api_tokens::id,
            api_tokens::last_used_at,
        ))
        .first(conn)
        .optional()?;
    let Some((user_id, id, last_used)) = row else {
        return Ok(None);
    };
    if last_used.is_none_or(|t| now - t > TOUCH_EVERY) {
        diesel::update(api_tokens::table.find(&id))
            .set(api_tokens::last_used_at.eq(now))
            .execute(conn)?;
    }
    Ok(Some((user_id, id)))
}
