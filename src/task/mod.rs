//! Tasks: the 三定 of one step in one unit (fixed person, time and content), and ad-hoc tasks
//! (临时交办任务) that live outside any workflow but follow the same lifecycle.

pub mod adhoc;
pub mod lifecycle;
pub mod list;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::db::schema::tasks;
use crate::db::DbConnection;
use crate::error::AppError;

pub const BLOCKED: &str = "blocked";
pub const OPEN: &str = "open";
pub const DONE: &str = "done";
pub const SKIPPED: &str = "skipped";
pub const CANCELLED: &str = "cancelled";

/// Statuses that still ask something of the owner.
pub const ACTIVE: [&str; 2] = [BLOCKED, OPEN];
/// Statuses that satisfy a `needs` gate: done, or declared not applicable.
pub const RESOLVED: [&str; 3] = [DONE, SKIPPED, CANCELLED];

pub const KIND_STEP: &str = "step";
pub const KIND_ADHOC: &str = "adhoc";

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = tasks)]
pub struct Task {
    pub id: String,
    pub campaign_id: Option<String>,
    pub kind: String,
    pub stage_id: Option<String>,
    pub step_id: Option<String>,
    pub unit_id: String,
    pub occurrence: i64,
    pub title: String,
    pub owner_role: Option<String>,
    pub owner_id: Option<String>,
    pub status: String,
    #[serde(serialize_with = "crate::clock::serialize_utc_opt")]
    pub opens_at: Option<NaiveDateTime>,
    #[serde(serialize_with = "crate::clock::serialize_utc_opt")]
    pub due_at: Option<NaiveDateTime>,
    /// While `due_at` is unknown: the step whose completion fixes it.
    pub due_after: Option<String>,
    pub statutory: bool,
    #[serde(rename = "record", serialize_with = "as_json")]
    pub record_json: Option<String>,
    #[serde(rename = "evidence", serialize_with = "as_json")]
    pub evidence_json: Option<String>,
    #[serde(rename = "findings", serialize_with = "as_json")]
    pub findings_json: Option<String>,
    pub note: Option<String>,
    /// Why it was skipped, cancelled or reopened.
    pub status_reason: Option<String>,
    #[serde(serialize_with = "crate::clock::serialize_utc_opt")]
    pub completed_at: Option<NaiveDateTime>,
    pub completed_by: Option<String>,
    /// Bumped by every change; a write that names an older revision is refused.
    pub revision: i64,
    #[serde(serialize_with = "crate::clock::serialize_utc")]
    pub created_at: NaiveDateTime,
    pub created_by: String,
    #[serde(serialize_with = "crate::clock::serialize_utc")]
    pub updated_at: NaiveDateTime,
}

fn as_json<S: serde::Serializer>(v: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    let value: Value = v
        .as_deref()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(Value::Null);
    value.serialize(s)
}

impl Task {
    /// A new task row: open, nothing recorded, at revision 1. Callers set what differs with
    /// struct update syntax.
    pub fn fresh(ctx: &crate::audit::WriteContext, kind: &str, unit_id: &str, title: &str) -> Task {
        Task {
            id: uuid::Uuid::now_v7().to_string(),
            campaign_id: None,
            kind: kind.to_owned(),
            stage_id: None,
            step_id: None,
            unit_id: unit_id.to_owned(),
            occurrence: 0,
            title: title.to_owned(),
            owner_role: None,
            owner_id: None,
            status: OPEN.to_owned(),
            opens_at: None,
            due_at: None,
            due_after: None,
            statutory: false,
            record_json: None,
            evidence_json: None,
            findings_json: None,
            note: None,
            status_reason: None,
            completed_at: None,
            completed_by: None,
            revision: 1,
            created_at: ctx.at,
            created_by: ctx.actor.clone(),
            updated_at: ctx.at,
        }
    }

    pub fn is_active(&self) -> bool {
        ACTIVE.contains(&self.status.as_str())
    }

    /// Open past its due: derived, never stored (DESIGN §2).
    pub fn is_overdue(&self, now: NaiveDateTime) -> bool {
        self.is_active() && self.due_at.is_some_and(|due| now > due)
    }

    /// Done after its due.
    pub fn is_late(&self) -> bool {
        self.status == DONE
            && matches!((self.completed_at, self.due_at), (Some(c), Some(d)) if c > d)
    }

    /// A statutory deadline missed: done late, or still open past it.
    pub fn is_violation(&self, now: NaiveDateTime) -> bool {
        self.statutory && (self.is_late() || self.is_overdue(now))
    }

    pub fn evidence(&self) -> serde_json::Map<String, Value> {
        self.evidence_json
            .as_deref()
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default()
    }
}

/// A task as the API shows it: the stored row plus what is derived from it at `now`.
#[derive(Debug, Serialize)]
pub struct TaskView {
    #[serde(flatten)]
    pub task: Task,
    pub overdue: bool,
    pub late: bool,
    pub violation: bool,
}

impl TaskView {
    pub fn new(task: Task, now: NaiveDateTime) -> TaskView {
        TaskView {
            overdue: task.is_overdue(now),
            late: task.is_late(),
            violation: task.is_violation(now),
            task,
        }
    }
}

pub fn get(conn: &mut DbConnection, id: &str) -> Result<Task, AppError> {
    tasks::table
        .find(id)
        .select(Task::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("任务", id))
}

pub fn naive(t: DateTime<Utc>) -> NaiveDateTime {
    t.naive_utc()
}
