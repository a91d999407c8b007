//! Browser sessions, kept server-side so logout, a password change and a deactivation end them
//! at once. The cookie carries a random token (encrypted with the configured key); the table
//! keeps only its hash.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::secret;
use crate::db::schema::sessions;
use crate::db::DbConnection;
use crate::error::AppError;

/// A session nobody used for this long has ended.
pub const IDLE: Duration = Duration::days(7);
/// No session lives longer than this, used or not.
pub const ABSOLUTE: Duration = Duration::days(30);
/// `last_seen_at` is written at most this often, so reads do not turn into writes.
const TOUCH_EVERY: Duration = Duration::minutes(5);

/// Starts a session; returns the token for the cookie.
pub fn create(
    conn: &mut DbConnection,
    user_id: &str,
    now: NaiveDateTime,
) -> Result<String, AppError> {
    let token = secret::new_token();
    diesel::insert_into(sessions::table)
        .values((
            sessions::token_hash.eq(secret::token_hash(&token)),
            sessions::user_id.eq(user_id),
            sessions::created_at.eq(now),
            sessions::last_seen_at.eq(now),
            sessions::expires_at.eq(now + ABSOLUTE),
        ))
        .execute(conn)?;
    Ok(token)
}

/// The user of a live session, by the token's hash.
pub fn lookup(
    conn: &mut DbConnection,
    token_hash: &str,
    now: NaiveDateTime,
) -> Result<Option<String>, AppError> {
    let row: Option<(String, NaiveDateTime)> = sessions::table
        .find(token_hash)
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .filter(sessions::last_seen_at.gt(now - IDLE))
        .select((sessions::user_id, sessions::last_seen_at))
        .first(conn)
        .optional()?;
    let Some((user_id, last_seen)) = row else {
        return Ok(None);
    };
    if now - last_seen > TOUCH_EVERY {
        diesel::update(sessions::table.find(token_hash))
            .set(sessions::last_seen_at.eq(now))
            .execute(conn)?;
    }
    Ok(Some(user_id))
}

pub fn revoke(
    conn: &mut DbConnection,
    token_hash: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::update(sessions::table.find(token_hash))
        .filter(sessions::revoked_at.is_null())
        .set(sessions::revoked_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// Ends every live session of a user except `keep` (a token hash); returns how many ended.
pub fn revoke_all(
    conn: &mut DbConnection,
    user_id: &str,
    keep: Option<&str>,
    now: NaiveDateTime,
) -> Result<usize, AppError> {
    let mut q = diesel::update(sessions::table)
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .into_boxed();
    if let Some(k) = keep {
        q = q.filter(sessions::token_hash.ne(k.to_owned()));
    }
    Ok(q.set(sessions::revoked_at.eq(now)).execute(conn)?)
}
