//! Ad-hoc tasks (临时交办任务): "the county asks every village for its voter count by Friday".
//! One form fans out to every unit of a level in a subtree, or goes to one person, and the
//! tasks then follow the same lifecycle as workflow steps.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Task, KIND_ADHOC};
use crate::audit::{self, WriteContext};
use crate::campaign::tree::UnitTree;
use crate::campaign::OwnerResolver;
use crate::db::schema::{campaigns, people};
use crate::db::DbConnection;
use crate::error::{AppError, FieldError};
use crate::org::Level;
use crate::workflow::evidence::RecordSpec;

/// A due given as a day means the end of that local day, as in workflow files.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(untagged)]
pub enum DueInput {
    Day(NaiveDate),
    Instant(DateTime<Utc>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdhocForm {
    pub title: String,
    pub due: DueInput,
    /// The unit the task is for; with `scope`, the top of the subtree it fans out over.
    pub unit_id: String,
    /// Fan out to every unit of this level under `unit_id`.
    pub scope: Option<Level>,
    /// The 三包 role that answers for it in each unit …
    pub owner_role: Option<String>,
    /// … or one named person.
    pub owner_id: Option<String>,
    #[serde(default)]
    pub record: RecordSpec,
    pub campaign_id: Option<String>,
    #[serde(default)]
    pub statutory: bool,
}

#[derive(Debug, Serialize)]
pub struct AdhocReport {
    pub tasks_created: usize,
    pub task_ids: Vec<String>,
    /// Units where nobody holds the role; the task exists, unassigned.
    pub unassigned: Vec<String>,
    pub batch_id: String,
}

fn invalid(field: &str, message: impl Into<String>) -> AppError {
    AppError::validation(vec![FieldError::new(field, message)])
}

pub fn create(
    conn: &mut DbConnection,
    ctx: &WriteContext,
    tz: chrono_tz::Tz,
    form: AdhocForm,
) -> Result<AdhocReport, AppError> {
    let title = form.title.trim().to_owned();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(invalid("title", "标题应为 1 到 200 字"));
    }
    let due_at = match form.due {
        DueInput::Day(d) => crate::plan::end_of_day(tz, d),
        DueInput::Instant(t) => t,
    }
    .naive_utc();
    if due_at < ctx.at {
        return Err(invalid("due", "截止时间已经过去"));
    }
    if form.owner_id.is_none() == form.owner_role.is_none() {
        return Err(invalid(
            "owner_id",
            "请指定负责人 (owner_id) 或三包角色 (owner_role) 之一",
        ));
    }
    if let Some(role) = &form.owner_role {
        crate::org::check_role_id(role).map_err(|m| invalid("owner_role", m))?;
    }
    for (name, spec) in &form.record {
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || name.is_empty() {
            return Err(invalid(
                &format!("record.{name}"),
                "字段名只能用字母、数字和下划线",
            ));
        }
        if matches!((spec.min, spec.max), (Some(a), Some(b)) if a > b) {
            return Err(invalid(&format!("record.{name}"), "min 大于 max"));
        }
    }
    let batch_id = uuid::Uuid::now_v7().to_string();
    let ctx = ctx.clone().in_batch(batch_id.clone());
    conn.transaction(|conn| {
        crate::db::begin_write(conn)?;
        if let Some(c) = &form.campaign_id {
            let exists: i64 = campaigns::table.find(c).count().get_result(conn)?;
            if exists == 0 {
                return Err(invalid("campaign_id", format!("选举 {c} 不存在")));
            }
        }
        if let Some(p) = &form.owner_id {
            let active: Option<bool> = people::table
                .find(p)
                .select(people::active)
                .first(conn)
                .optional()?;
            if active != Some(true) {
                return Err(invalid("owner_id", format!("人员 {p} 不存在或已停用")));
            }
        }
        let tree = UnitTree::load(conn)?;
        let top = tree
            .find(&form.unit_id)
            .filter(|i| tree.node(*i).active)
            .ok_or_else(|| invalid("unit_id", format!("单元 {} 不存在或已停用", form.unit_id)))?;
        let units: Vec<usize> = match form.scope {
            Some(level) => tree.related(top, level),
            None => vec![top],
        };
        if units.is_empty() {
            return Err(invalid("scope", "此单元下没有该层级的单元"));
        }
        let mut resolver = match &form.owner_role {
            Some(role) => Some(OwnerResolver::load(conn, &[role.as_str()])?),
            None => None,
        };
        let record_json = (!form.record.is_empty())
            .then(|| serde_json::to_string(&form.record).unwrap_or_default());
        let rows: Vec<Task> = units
            .iter()
            .map(|u| {
                let owner_id = match (&form.owner_id, &mut resolver, &form.owner_role) {
                    (Some(p), _, _) => Some(p.clone()),
                    (None, Some(r), Some(role)) => r.owner(&tree, *u, role),
                    _ => None,
                };
                Task {
                    campaign_id: form.campaign_id.clone(),
                    owner_role: form.owner_role.clone(),
                    owner_id,
                    due_at: Some(due_at),
                    statutory: form.statutory,
                    record_json: record_json.clone(),
                    ..Task::fresh(&ctx, KIND_ADHOC, tree.id(*u), &title)
                }
            })
            .collect();
        crate::db::insert_all!(conn, crate::db::schema::tasks::table, &rows);
        let unassigned: Vec<String> = rows
            .iter()
            .filter(|t| t.owner_id.is_none())
            .map(|t| t.unit_id.clone())
            .collect();
        let events: Vec<audit::NewEvent> = rows
            .iter()
            .map(|t| {
                audit::NewEvent::new(&ctx, "task.created", "task", &t.id, None::<&()>, Some(t))
            })
            .collect();
        audit::record_all(conn, &events)?;
        if !unassigned.is_empty() {
            crate::campaign::queue_unassigned_for_admins(
                conn,
                &ctx,
                form.campaign_id.as_deref(),
                format!(
                    "临时任务「{title}」有 {} 个单元没有负责人",
                    unassigned.len()
                ),
                json!({ "title": title, "units": unassigned }),
            )?;
        }
        Ok(AdhocReport {
            tasks_created: rows.len(),
            task_ids: rows.iter().map(|t| t.id.clone()).collect(),
            unassigned,
            batch_id: batch_id.clone(),
        })
    })
}
