//! Login backoff. Failed logins are counted per user name and per client address; past a free
//! allowance each further failure locks the key for twice as long as the one before, up to a
//! cap. Counting per name stops guessing one account from many addresses; counting per
//! address stops trying many accounts from one. Counts live in the database so every replica
//! and a restart see them.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::login_throttle;
use crate::db::DbConnection;
use crate::error::AppError;

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Failures allowed before the first lock.
    pub free: i64,
    pub first_lock_secs: i64,
    pub max_lock_secs: i64,
    /// A key with no failure for this long starts again from zero.
    pub forget_after_secs: i64,
}

pub const PER_USER: Policy = Policy {
    free: 5,
    first_lock_secs: 30,
    max_lock_secs: 15 * 60,
    forget_after_secs: 24 * 3600,
};

pub const PER_ADDRESS: Policy = Policy {
    free: 20,
    first_lock_secs: 30,
    max_lock_secs: 15 * 60,
    forget_after_secs: 24 * 3600,
};

/// How long a key is locked after its `failures`-th failure.
pub fn lock_after(policy: &Policy, failures: i64) -> Option<Duration> {
    let over = failures - policy.free;
    if over <= 0 {
        return None;
    }
    let secs = policy
        .first_lock_secs
        .saturating_mul(1i64 << (over - 1).min(30))
        .min(policy.max_lock_secs);
    Some(Duration::seconds(secs))
}

pub fn user_key(username: &str) -> String {
    format!("user:{}", username.trim().to_lowercase())
}

pub fn address_key(address: &str) -> String {
    format!("addr:{address}")
}

/// Refuses with 429 while any of the keys is locked.
pub fn check(conn: &mut DbConnection, keys: &[String], now: NaiveDateTime) -> Result<(), AppError> {
    let locked: Vec<Option<NaiveDateTime>> = login_throttle::table
        .filter(login_throttle::throttle_key.eq_any(keys))
        .select(login_throttle::locked_until)
        .load(conn)?;
    let wait = locked
        .into_iter()
        .flatten()
        .filter(|until| *until > now)
        .map(|until| (until - now).num_seconds().max(1))
        .max();
    match wait {
        Some(secs) => Err(AppError::too_many_attempts(secs as u64)),
        None => Ok(()),
    }
}

pub fn record_failure(
    conn: &mut DbConnection,
    key: &str,
    policy: &Policy,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    conn.transaction(|conn| {
        crate::db::begin_write(conn)?;
        let previous: Option<(i64, NaiveDateTime)> = login_throttle::table
            .find(key)
            .select((login_throttle::failures, login_throttle::updated_at))
            .first(conn)
            .optional()?;
        let failures = match previous {
            Some((n, at)) if (now - at).num_seconds() < policy.forget_after_secs => n + 1,
            _ => 1,
        };
        let locked_until = lock_after(policy, failures).map(|d| now + d);
        if previous.is_some() {
            diesel::update(login_throttle::table.find(key))
                .set((
                    login_throttle::failures.eq(failures),
                    login_throttle::locked_until.eq(locked_until),
                    login_throttle::updated_at.eq(now),
                ))
                .execute(conn)?;
        } else {
            diesel::insert_into(login_throttle::table)
                .values((
                    login_throttle::throttle_key.eq(key),
                    login_throttle::failures.eq(failures),
                    login_throttle::locked_until.eq(locked_until),
                    login_throttle::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
        Ok(())
    })
}

pub fn clear(conn: &mut DbConnection, key: &str) -> Result<(), AppError> {
    diesel::delete(login_throttle::table.find(key)).execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_after_the_allowance_and_stops_at_the_cap() {
        let secs = |n| lock_after(&PER_USER, n).map(|d| d.num_seconds());
        assert_eq!(secs(5), None);
        assert_eq!(secs(6), Some(30));
        assert_eq!(secs(7), Some(60));
        assert_eq!(secs(8), Some(120));
        assert_eq!(secs(10), Some(480));
        assert_eq!(secs(11), Some(900));
        assert_eq!(secs(500), Some(900));
        assert_eq!(lock_after(&PER_ADDRESS, 20), None);
    }
}
