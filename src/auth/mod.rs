//! Accounts and access (DESIGN §6).
//!
//! - A **user** logs in with a password (browser session) or a bearer token (scripts, the phone
//!   app), and is usually linked to a person of the 三包 table.
//! - A user holds **roles**, each scoped to a unit: `admin` (the election office, everything),
//!   `leader` (a subtree: reads, ticks, reassigns), `cadre` (the units they hold roles on:
//!   reads and ticks) and `observer` (a subtree, read-only).
//! - [`access::Access`] turns the roles into unit sets once per request, and every handler asks
//!   it before it reads or writes. Nothing here knows HTTP.

pub mod access;
pub mod provision;
pub mod reset;
pub mod secret;
pub mod sessions;
pub mod throttle;
pub mod tokens;
pub mod users;

use diesel::prelude::*;
use serde::Serialize;

use crate::db::DbConnection;
use crate::error::AppError;
pub use access::Access;
pub use users::User;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Leader,
    Cadre,
    Observer,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Leader, Role::Cadre, Role::Observer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Leader => "leader",
            Role::Cadre => "cadre",
            Role::Observer => "observer",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Role::Admin => "管理员",
            Role::Leader => "领导",
            Role::Cadre => "干部",
            Role::Observer => "观察员",
        }
    }

    pub fn parse(s: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim())
            .ok_or_else(|| format!("未知角色 \"{s}\", 应为 admin, leader, cadre 或 observer"))
    }
}

/// One role of a user, on a unit (none for admin, optional for a cadre).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grant {
    pub role: Role,
    pub unit_id: Option<String>,
    pub unit_name: Option<String>,
}

impl Grant {
    /// `leader:第一选区`, or the bare role: the form the command line reads and prints.
    pub fn label(&self) -> String {
        match &self.unit_name {
            Some(unit) => format!("{}:{unit}", self.role.as_str()),
            None => self.role.as_str().to_owned(),
        }
    }
}

/// How a request proved who it is.
#[derive(Debug, Clone)]
pub enum Via {
    /// A browser session; the hash identifies it for logout and password changes.
    Session {
        token_hash: String,
    },
    Token {
        id: String,
    },
}

/// An authenticated user with their roles, as loaded for one request.
#[derive(Debug, Clone)]
pub struct Identity {
    pub user: User,
    pub grants: Vec<Grant>,
    pub via: Via,
}

impl Identity {
    /// Loads an active user and their roles; `None` if the account is gone or disabled.
    pub fn load(
        conn: &mut DbConnection,
        user_id: &str,
        via: Via,
    ) -> Result<Option<Identity>, AppError> {
        let user: Option<User> = crate::db::schema::users::table
            .find(user_id)
            .filter(crate::db::schema::users::active.eq(true))
            .select(User::as_select())
            .first(conn)
            .optional()?;
        let Some(user) = user else {
            return Ok(None);
        };
        let grants = users::grants(conn, &user.id)?;
        Ok(Some(Identity { user, grants, via }))
    }

    /// The name written into the audit log for this user's writes.
    pub fn actor(&self) -> String {
        format!("user:{}", self.user.username)
    }

    pub fn is_admin(&self) -> bool {
        self.grants.iter().any(|g| g.role == Role::Admin)
    }

    /// For work that needs no unit scope, only the admin role: decided without the database.
    pub fn require_admin(&self) -> Result<(), AppError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(access::admin_required())
        }
    }

    pub fn session_hash(&self) -> Option<&str> {
        match &self.via {
            Via::Session { token_hash } => Some(token_hash),
            Via::Token { .. } => None,
        }
    }
}
