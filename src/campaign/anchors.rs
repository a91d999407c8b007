//! Moving an anchor (the county moves election day, which happens): every open static deadline
//! follows in one transaction, with one event and one change notice per affected owner.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::catalog::WorkflowCache;
use super::{NewNotification, OwnerResolver, Runtime};
use crate::audit::{self, WriteContext};
use crate::db::schema::{campaigns, notifications, tasks};
use crate::db::DbConnection;
use crate::error::{AppError, FieldError};
use crate::plan::{self, Deadline};
use crate::task::{self, Task};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoveAnchorForm {
    pub anchor: String,
    pub date: NaiveDate,
    /// Only this unit and what is below it; absent: the whole campaign.
    pub unit_id: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeadlineChange {
    pub task_id: String,
    pub step_id: String,
    pub title: String,
    pub unit_id: String,
    pub owner_id: Option<String>,
    #[serde(serialize_with = "opt_utc")]
    pub old_due: Option<NaiveDateTime>,
    #[serde(serialize_with = "opt_utc")]
    pub new_due: Option<NaiveDateTime>,
}

fn opt_utc<S: serde::Serializer>(t: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => crate::clock::serialize_utc(t, s),
        None => s.serialize_none(),
    }
}

#[derive(Debug, Serialize)]
pub struct MoveReport {
    pub anchor: String,
    pub old_date: Option<NaiveDate>,
    pub new_date: NaiveDate,
    pub unit_id: Option<String>,
    pub tasks_changed: usize,
    pub tasks_added: usize,
    pub tasks_cancelled: usize,
    pub owners_notified: usize,
    pub changes: Vec<DeadlineChange>,
}

fn invalid(field: &str, message: impl Into<String>) -> AppError {
    AppError::validation(vec![FieldError::new(field, message)])
}

pub fn move_anchor(
    conn: &mut DbConnection,
    cache: &WorkflowCache,
    ctx: &WriteContext,
    campaign_id: &str,
    form: MoveAnchorForm,
) -> Result<MoveReport, AppError> {
    conn.transaction(|conn| {
        crate::db::begin_write(conn)?;
        let rt = Runtime::load(conn, cache, campaign_id)?;
        if !rt.workflow.anchors.contains_key(&form.anchor) {
            let known: Vec<&str> = rt.workflow.anchors.keys().map(String::as_str).collect();
            return Err(invalid(
                "anchor",
                format!(
                    "工作流没有锚定日期 \"{}\"; 可用: {}",
                    form.anchor,
                    known.join(", ")
                ),
            ));
        }
        let mut anchors = rt.campaign.anchors();
        let mut unit_anchors = rt.campaign.unit_anchors();
        let old_date = match &form.unit_id {
            None => anchors.insert(form.anchor.clone(), form.date),
            Some(unit) => {
                let i = rt
                    .tree
                    .find(unit)
                    .filter(|i| rt.tree.is_within(*i, rt.root))
                    .ok_or_else(|| invalid("unit_id", "不是本次选举范围内的单元"))?;
                // The date the unit had: its nearest override, or the campaign's.
                let before = rt
                    .tree
                    .chain(i)
                    .iter()
                    .find_map(|a| {
                        unit_anchors
                            .get(rt.tree.id(*a))
                            .and_then(|m| m.get(&form.anchor))
                    })
                    .or_else(|| anchors.get(&form.anchor))
                    .copied();
                unit_anchors
                    .entry(unit.clone())
                    .or_default()
                    .insert(form.anchor.clone(), form.date);
                before
            }
        };
        let members = rt.tree.subtree(rt.root);
        let units = rt.tree.plan_units(&members);
        let params = rt.campaign.params();
        let input = rt.plan_input(&anchors, &params, &units);
        let planned = plan::plan_with_overrides(&input, &unit_anchors)
            .map_err(|e| invalid("date", e.to_string()))?;

        let existing: Vec<Task> = tasks::table
            .filter(tasks::campaign_id.eq(campaign_id))
            .filter(tasks::kind.eq(task::KIND_STEP))
            .select(Task::as_select())
            .load(conn)?;
        let key = |step: &str, unit: &str, occ: i64| (step.to_owned(), unit.to_owned(), occ);
        let planned_by_key: HashMap<_, _> = planned
            .iter()
            .map(|p| (key(&p.step, &p.unit_id, i64::from(p.occurrence)), p))
            .collect();
        let existing_keys: HashSet<_> = existing
            .iter()
            .filter_map(|t| Some(key(t.step_id.as_deref()?, &t.unit_id, t.occurrence)))
            .collect();

        let mut changes = Vec::new();
        let mut cancelled = 0;
        for t in existing.iter().filter(|t| t.is_active()) {
            let Some(step) = t.step_id.as_deref() else {
                continue;
            };
            match planned_by_key.get(&key(step, &t.unit_id, t.occurrence)) {
                Some(p) => {
                    // Deadlines that count from a done step are not the anchor's to move.
                    let Deadline::At { at } = p.due else { continue };
                    let new_due = Some(at.naive_utc());
                    let new_opens = p.opens.map(|o| o.naive_utc());
                    if new_due == t.due_at && new_opens == t.opens_at {
                        continue;
                    }
                    let changed = diesel::update(same_revision(t))
                        .set((
                            tasks::due_at.eq(new_due),
                            tasks::opens_at.eq(new_opens),
                            tasks::revision.eq(t.revision + 1),
                            tasks::updated_at.eq(ctx.at),
                        ))
                        .execute(conn)?;
                    refuse_lost_race(changed)?;
                    changes.push(DeadlineChange {
                        task_id: t.id.clone(),
                        step_id: step.to_owned(),
                        title: t.title.clone(),
                        unit_id: t.unit_id.clone(),
                        owner_id: t.owner_id.clone(),
                        old_due: t.due_at,
                        new_due,
                    });
                }
                None if t.occurrence > 0 => {
                    // A report date that no longer falls inside the campaign's window.
                    let changed = diesel::update(same_revision(t))
                        .set((
                            tasks::status.eq(task::CANCELLED),
                            tasks::status_reason.eq(format!("{} 变更后不再需要", form.anchor)),
                            tasks::revision.eq(t.revision + 1),
                            tasks::updated_at.eq(ctx.at),
                        ))
                        .execute(conn)?;
                    refuse_lost_race(changed)?;
                    cancelled += 1;
                }
                None => {}
            }
        }
        // New occurrences of recurring steps that the moved window now holds.
        let new_planned: Vec<_> = planned
            .iter()
            .filter(|p| !existing_keys.contains(&key(&p.step, &p.unit_id, i64::from(p.occurrence))))
            .cloned()
            .collect();
        let added = if new_planned.is_empty() {
            0
        } else {
            let roles: Vec<&str> = rt.workflow.roles.keys().map(String::as_str).collect();
            let mut owners = OwnerResolver::load(conn, &roles)?;
            let rows = super::task_rows(
                &rt.workflow,
                &rt.tree,
                &rt.campaign,
                ctx,
                &new_planned,
                &mut owners,
            );
            crate::db::insert_all!(conn, tasks::table, &rows);
            rows.len()
        };

        diesel::update(campaigns::table.find(campaign_id))
            .set((
                campaigns::anchors_json.eq(serde_json::to_string(&anchors).unwrap_or_default()),
                campaigns::unit_anchors_json
                    .eq(serde_json::to_string(&unit_anchors).unwrap_or_default()),
                campaigns::updated_at.eq(ctx.at),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            ctx,
            "campaign.anchor_moved",
            "campaign",
            campaign_id,
            Some(&json!({ "anchor": form.anchor, "date": old_date, "unit_id": form.unit_id })),
            Some(&json!({
                "anchor": form.anchor,
                "date": form.date,
                "unit_id": form.unit_id,
                "reason": form.reason,
                "tasks_changed": changes.len(),
                "tasks_added": added,
                "tasks_cancelled": cancelled,
            })),
        )?;
        let owners_notified = notify_owners(conn, ctx, &rt, &form, old_date, &changes)?;
        Ok(MoveReport {
            anchor: form.anchor.clone(),
            old_date,
            new_date: form.date,
            unit_id: form.unit_id.clone(),
            tasks_changed: changes.len(),
            tasks_added: added,
            tasks_cancelled: cancelled,
            owners_notified,
            changes,
        })
    })
}

/// The task row, only while it is still at the revision that was read.
fn same_revision(
    t: &Task,
) -> diesel::dsl::Filter<
    diesel::dsl::Filter<tasks::table, diesel::dsl::Eq<tasks::id, String>>,
    diesel::dsl::Eq<tasks::revision, i64>,
> {
    tasks::table
        .filter(tasks::id.eq(t.id.clone()))
        .filter(tasks::revision.eq(t.revision))
}

fn refuse_lost_race(changed: usize) -> Result<(), AppError> {
    if changed == 0 {
        return Err(AppError::conflict(
            "task_changed",
            "调整期间有任务被他人修改, 请重试",
        ));
    }
    Ok(())
}

/// One notice per owner, listing each of their tasks with the old and the new date.
fn notify_owners(
    conn: &mut DbConnection,
    ctx: &WriteContext,
    rt: &Runtime,
    form: &MoveAnchorForm,
    old_date: Option<NaiveDate>,
    changes: &[DeadlineChange],
) -> Result<usize, AppError> {
    let mut by_owner: BTreeMap<&str, Vec<&DeadlineChange>> = BTreeMap::new();
    for c in changes {
        if let Some(owner) = c.owner_id.as_deref() {
            by_owner.entry(owner).or_default().push(c);
        }
    }
    let title = rt
        .workflow
        .anchors
        .get(&form.anchor)
        .map_or(form.anchor.clone(), |a| a.value.title.clone());
    let rows: Vec<NewNotification> = by_owner
        .iter()
        .map(|(owner, list)| {
            NewNotification::new(
                ctx,
                "deadline_change",
                Some((*owner).to_owned()),
                Some(&rt.campaign.id),
                format!(
                    "{}: {}调整为 {}, 您的 {} 项任务截止时间随之变更",
                    rt.campaign.title,
                    title,
                    form.date,
                    list.len()
                ),
                json!({
                    "anchor": form.anchor,
                    "old_date": old_date,
                    "new_date": form.date,
                    "tasks": list,
                }),
            )
        })
        .collect();
    crate::db::insert_all!(conn, notifications::table, &rows);
    Ok(rows.len())
}
