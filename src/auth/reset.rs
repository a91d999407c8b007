//! Password reset links: an admin issues one for a user and hands it over (or, once mail is
//! delivered, it is mailed). Each is single-use, expires, and replaces any earlier unused one.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use super::secret;
use crate::audit::{self, WriteContext};
use crate::db::schema::password_resets;
use crate::db::DbConnection;
use crate::error::AppError;

pub const VALID_FOR: Duration = Duration::hours(24);

#[derive(Debug, Serialize)]
pub struct IssuedLink {
    pub user_id: String,
    pub url: String,
    #[serde(serialize_with = "crate::clock::serialize_utc")]
    pub expires_at: NaiveDateTime,
}

pub fn issue(
    conn: &mut DbConnection,
    ctx: &WriteContext,
    user_id: &str,
    public_url: &str,
) -> Result<IssuedLink, AppError> {
    let token = secret::new_token();
    let expires_at = ctx.at + VALID_FOR;
    conn.transaction(|conn| {
        crate::db::begin_write(conn)?;
        super::users::get(conn, user_id)?;
        // An older link that was never used stops working: only the newest one counts.
        diesel::update(
            password_resets::table
                .filter(password_resets::user_id.eq(user_id))
                .filter(password_resets::used_at.is_null()),
        )
        .set(password_resets::expires_at.eq(ctx.at))
        .execute(conn)?;
        diesel::insert_into(password_resets::table)
            .values((
                password_resets::token_hash.eq(secret::token_hash(&token)),
                password_resets::user_id.eq(user_id),
                password_resets::created_by.eq(&ctx.actor),
                password_resets::created_at.eq(ctx.at),
                password_resets::expires_at.eq(expires_at),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            ctx,
            "user.reset_link_issued",
            "user",
            user_id,
            None::<&()>,
            Some(&serde_json::json!({ "expires_at": expires_at.and_utc().to_rfc3339() })),
        )?;
        Ok::<_, AppError>(())
    })?;
    Ok(IssuedLink {
        user_id: user_id.to_owned(),
        url: format!("{public_url}/password-reset?token={token}"),
        expires_at,
    })
}

fn invalid() -> AppError {
    AppError::bad_request(
        "invalid_reset_link",
        "重置链接无效、已使用或已过期; 请向管理员重新申请",
    )
}

/// Whose link this is, if it can still be used.
pub fn check(conn: &mut DbConnection, token: &str, now: NaiveDateTime) -> Result<String, AppError> {
    password_resets::table
        .find(secret::token_hash(token))
        .filter(password_resets::used_at.is_null())
        .filter(password_resets::expires_at.gt(now))
        .select(password_resets::user_id)
        .first(conn)
        .optional()?
        .ok_or_else(invalid)
}

/// Uses the link: sets the (already hashed) password and ends every session of the user.
pub fn redeem(
    conn: &mut DbConnection,
    ctx: &WriteContext,
    token: &str,
    password_hash: &str,
) -> Result<String, AppError> {
    conn.transaction(|conn| {
        crate::db::begin_write(conn)?;
        let user_id = check(conn, token, ctx.at)?;
        // Marking it used in the same guarded statement makes two racing uses yield one.
        let used = diesel::update(password_resets::table.find(secret::token_hash(token)))
            .filter(password_resets::used_at.is_null())
            .set(password_resets::used_at.eq(ctx.at))
            .execute(conn)?;
        if used != 1 {
            return Err(invalid());
        }
        super::users::set_password(conn, ctx, &user_id, password_hash, None)?;
        Ok(user_id)
    })
}
