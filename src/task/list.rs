//! Task lists with filters, and a task's full history.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::{get, Task, TaskView, ACTIVE};
use crate::audit::{self, Event};
use crate::campaign::tree::UnitTree;
use crate::db::schema::tasks;
use crate::db::DbConnection;
use crate::error::{AppError, FieldError};
use crate::pagination::{Page, PageRequest};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskFilter {
    pub campaign_id: Option<String>,
    /// The responsible person ("my tasks" once accounts exist).
    pub owner_id: Option<String>,
    /// `true`: only tasks nobody is responsible for.
    pub unassigned: Option<bool>,
    /// The unit and everything below it.
    pub unit_id: Option<String>,
    pub step_id: Option<String>,
    pub kind: Option<String>,
    /// One status, or several separated by commas.
    pub status: Option<String>,
    /// `true`: open or blocked and past due.
    pub overdue: Option<bool>,
    /// Due on or before this local day (campaign time zone of the server).
    pub due_before: Option<NaiveDate>,
    pub due_after: Option<NaiveDate>,
    /// Set from the caller's roles, never from the query: only tasks in these units …
    #[serde(skip)]
    pub within: Option<Vec<String>>,
    /// … or owned by this person.
    #[serde(skip)]
    pub or_owner: Option<String>,
}

const STATUSES: [&str; 5] = [
    super::BLOCKED,
    super::OPEN,
    super::DONE,
    super::SKIPPED,
    super::CANCELLED,
];

pub fn list(
    conn: &mut DbConnection,
    filter: &TaskFilter,
    page: &PageRequest,
    now: NaiveDateTime,
    tz: chrono_tz::Tz,
) -> Result<Page<TaskView>, AppError> {
    let statuses: Option<Vec<String>> = match &filter.status {
        Some(s) => {
            let list: Vec<String> = s.split(',').map(|x| x.trim().to_owned()).collect();
            if let Some(bad) = list.iter().find(|x| !STATUSES.contains(&x.as_str())) {
                return Err(AppError::validation(vec![FieldError::new(
                    "status",
                    format!("未知状态 \"{bad}\", 应为 {}", STATUSES.join(", ")),
                )]));
            }
            Some(list)
        }
        None => None,
    };
    let units: Option<Vec<String>> = match &filter.unit_id {
        Some(u) => {
            let tree = UnitTree::load(conn)?;
            let root = tree.require(u)?;
            Some(
                tree.subtree(root)
                    .into_iter()
                    .map(|i| tree.id(i).to_owned())
                    .collect(),
            )
        }
        None => None,
    };
    let end_of = |d: NaiveDate| crate::plan::end_of_day(tz, d).naive_utc();
    let start_of = |d: NaiveDate| crate::plan::start_of_day(tz, d).naive_utc();
    let query = || {
        let mut q = tasks::table.into_boxed();
        if let Some(v) = &filter.campaign_id {
            q = q.filter(tasks::campaign_id.eq(v.clone()));
        }
        if let Some(v) = &filter.owner_id {
            q = q.filter(tasks::owner_id.eq(v.clone()));
        }
        if filter.unassigned == Some(true) {
            q = q.filter(tasks::owner_id.is_null());
        }
        if let Some(v) = &filter.step_id {
            q = q.filter(tasks::step_id.eq(v.clone()));
        }
        if let Some(v) = &filter.kind {
            q = q.filter(tasks::kind.eq(v.clone()));
        }
        if let Some(v) = &statuses {
            q = q.filter(tasks::status.eq_any(v.clone()));
        }
        if let Some(v) = &units {
            q = q.filter(tasks::unit_id.eq_any(v.clone()));
        }
        if let Some(w) = &filter.within {
            q = match &filter.or_owner {
                Some(me) => q.filter(
                    tasks::unit_id
                        .eq_any(w.clone())
                        .or(tasks::owner_id.eq(me.clone())),
                ),
                None => q.filter(tasks::unit_id.eq_any(w.clone())),
            };
        }
        match filter.overdue {
            Some(true) => {
                q = q
                    .filter(tasks::status.eq_any(ACTIVE))
                    .filter(tasks::due_at.lt(now));
            }
            Some(false) => {
                q = q.filter(
                    tasks::status
                        .ne_all(ACTIVE)
                        .or(tasks::due_at.is_null())
                        .or(tasks::due_at.ge(now)),
                );
            }
            None => {}
        }
        if let Some(d) = filter.due_before {
            q = q.filter(tasks::due_at.le(end_of(d)));
        }
        if let Some(d) = filter.due_after {
            q = q.filter(tasks::due_at.ge(start_of(d)));
        }
        q
    };
    let total: i64 = query().count().get_result(conn)?;
    let items: Vec<Task> = query()
        // Known deadlines first, soonest first; unknown (dynamic) ones after.
        .order((
            tasks::due_at.is_null().asc(),
            tasks::due_at.asc(),
            tasks::id.asc(),
        ))
        .limit(page.limit())
        .offset(page.offset())
        .select(Task::as_select())
        .load(conn)?;
    Ok(page.page(
        items.into_iter().map(|t| TaskView::new(t, now)).collect(),
        total,
    ))
}

#[derive(Debug, Serialize)]
pub struct History {
    pub task: TaskView,
    pub events: Vec<Event>,
    pub comments: Vec<super::lifecycle::Comment>,
}

/// Everything that happened to a task: its events (including the campaign start that created
/// it) and its comments.
pub fn history(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> Result<History, AppError> {
    let task = get(conn, id)?;
    let mut events = Vec::new();
    if let Some(c) = &task.campaign_id {
        events.extend(
            audit::for_entities(conn, "campaign", std::slice::from_ref(c))?
                .into_iter()
                .filter(|e| e.action == "campaign.started"),
        );
    }
    events.extend(audit::for_entities(
        conn,
        "task",
        std::slice::from_ref(&task.id),
    )?);
    events.sort_by_key(|e| e.id);
    let comments = super::lifecycle::comments(conn, id)?;
    Ok(History {
        task: TaskView::new(task, now),
        events,
        comments,
    })
}
