//! The task lifecycle of DESIGN §2 and §4: tick-off with evidence, reopen, skip, cancel,
//! reassign and comments. Completing a task unblocks what waits on it, fixes the dynamic
//! deadlines that count from it and evaluates the step's checks, all in one transaction.
//!
//! Every write names the revision it saw or is guarded by the status it expects, so of two
//! concurrent tick-offs one wins and the other gets a 409 with the current state.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::{get, Task, ACTIVE, BLOCKED, CANCELLED, DONE, OPEN, SKIPPED};
use crate::audit::{self, NewEvent, WriteContext};
use crate::campaign::catalog::WorkflowCache;
use crate::campaign::{find_step, Runtime};
use crate::db::schema::{people, task_comments, tasks};
use crate::db::DbConnection;
use crate::error::{AppError, FieldError};
use crate::org::Level;
use crate::plan::{self, Deadline};
use crate::workflow::checks::{self, Evidence, Finding};
use crate::workflow::deadline::{self, Reference};
use crate::workflow::evidence::{self as evidence_spec, FieldSpec, RecordSpec};
use crate::workflow::Workflow;

/// A completion time this far before now counts as backdated and needs a note; phones' clocks
/// and slow networks make a few minutes normal.
const BACKDATE_TOLERANCE_MINUTES: i64 = 10;
/// A completion time may not lie in the future beyond clock drift.
const FUTURE_TOLERANCE_MINUTES: i64 = 5;
const MAX_NOTE_CHARS: usize = 2000;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompleteForm {
    #[serde(default)]
    pub evidence: Map<String, Value>,
    /// When the work was actually done; absent means now.
    pub completed_at: Option<DateTime<Utc>>,
    pub note: Option<String>,
    /// The revision the caller saw; a later change makes this tick-off a conflict.
    pub revision: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonForm {
    pub reason: String,
    pub revision: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReassignForm {
    pub owner_id: String,
    pub reason: Option<String>,
    pub revision: Option<i64>,
}

/// All active tasks of one person, or of one unit subtree, go to another person.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkReassignForm {
    pub to_person_id: String,
    pub from_person_id: Option<String>,
    pub unit_id: Option<String>,
    pub campaign_id: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Outcome {
    pub task: Task,
    /// Checks that failed or could not be decided; they never stop the save.
    pub findings: Vec<Finding>,
    /// Tasks that this change unblocked or blocked again.
    pub unblocked: Vec<String>,
    pub reblocked: Vec<String>,
    /// Tasks whose dynamic deadline this change fixed or cleared.
    pub deadlines_changed: Vec<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = task_comments)]
pub struct Comment {
    pub id: String,
    pub task_id: String,
    pub author: String,
    pub body: String,
    #[serde(serialize_with = "crate::clock::serialize_utc")]
    pub created_at: NaiveDateTime,
}

fn conflict(code: &'static str, message: String, current: &Task) -> AppError {
    AppError::conflict(code, message).with_details(json!({ "current": current }))
}

fn field(field: &str, message: impl Into<String>) -> AppError {
    AppError::validation(vec![FieldError::new(field, message)])
}

fn check_revision(task: &Task, revision: Option<i64>) -> Result<(), AppError> {
    match revision {
        Some(r) if r != task.revision => Err(conflict(
            "task_changed",
            format!(
                "任务已被他人修改 (您看到的是第 {r} 版, 当前为第 {} 版), 请刷新后再操作",
                task.revision
            ),
            task,
        )),
        _ => Ok(()),
    }
}

fn clean_note(note: Option<String>) -> Result<Option<String>, AppError> {
    let note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if note
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS)
    {
        return Err(field("note", format!("说明不能超过 {MAX_NOTE_CHARS} 字")));
    }
    Ok(note)
}

/// Writes `changes` to a task only if it is still at the revision and status that was read.
/// Zero rows means someone else got there first: the caller gets the current state.
fn guarded_update<F>(conn: &mut DbConnection, seen: &Task, apply: F) -> Result<Task, AppError>
where
    F: FnOnce(&mut Task),
{
    let mut next = seen.clone();
    apply(&mut next);
    next.revision = seen.revision + 1;
    let changed = diesel::update(
        tasks::table
            .filter(tasks::id.eq(&seen.id))
            .filter(tasks::revision.eq(seen.revision))
            .filter(tasks::status.eq(&seen.status)),
    )
    .set((
        tasks::status.eq(&next.status),
        tasks::owner_id.eq(&next.owner_id),
        tasks::opens_at.eq(next.opens_at),
        tasks::due_at.eq(next.due_at),
        tasks::due_after.eq(&next.due_after),
        tasks::evidence_json.eq(&next.evidence_json),
        tasks::findings_json.eq(&next.findings_json),
        tasks::note.eq(&next.note),
        tasks::status_reason.eq(&next.status_reason),
        tasks::completed_at.eq(next.completed_at),
        tasks::completed_by.eq(&next.completed_by),
        tasks::revision.eq(next.revision),
        tasks::updated_at.eq(next.updated_at),
    ))
    .execute(conn)?;
    if changed == 0 {
        let current = get(conn, &seen.id)?;
        return Err(conflict(
            "task_changed",
            format!(
                "任务刚被他人修改 (当前状态: {}), 请刷新后再操作",
                status_zh(&current.status)
            ),
            &current,
        ));
    }
    Ok(next)
}

pub fn status_zh(status: &str) -> &'static str {
    match status {
        BLOCKED => "等待前置步骤",
        OPEN => "待办",
        DONE => "已完成",
        SKIPPED => "不适用",
        CANCELLED => "已取消",
        _ => "未知",
    }
}

/// The record spec of a task: its step's, or the ad-hoc task's own.
fn record_spec(rt: Option<&Runtime>, task: &Task) -> RecordSpec {
    if let (Some(rt), Some(step)) = (rt, task.step_id.as_deref()) {
        if let Some((_, step)) = rt.step(step) {
            return step
                .record
                .iter()
                .map(|(k, v)| (k.clone(), FieldSpec::from(&v.value)))
                .collect();
        }
    }
    task.record_json
        .as_deref()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default()
}

fn runtime_for(
    conn: &mut DbConnection,
    cache: &WorkflowCache,
    task: &Task,
) -> Result<Option<Runtime>, AppError> {
    match (&task.campaign_id, &task.step_id) {
        (Some(c), Some(_)) => Ok(Some(Runtime::load(conn, cache, c)?)),
        _ => Ok(None),
    }
}

fn step_scope(workflow: &Workflow, step: &str) -> Option<Level> {
    find_step(workflow, step).and_then(|(_, s)| Level::parse(&s.scope.value).ok())
}

/// Tasks of the campaign for the given steps in the given units.
fn tasks_of(
    conn: &mut DbConnection,
    campaign_id: &str,
    steps: &[&str],
    units: &[&str],
) -> Result<Vec<Task>, AppError> {
    let mut out = Vec::new();
    for chunk in units.chunks(500) {
        out.extend(
            tasks::table
                .filter(tasks::campaign_id.eq(campaign_id))
                .filter(tasks::step_id.eq_any(steps))
                .filter(tasks::unit_id.eq_any(chunk))
                .select(Task::as_select())
                .load(conn)?,
        );
    }
    Ok(out)
}

/// Steps a task of `step` waits on that are not yet resolved in the related units.
fn unmet_needs(
    conn: &mut DbConnection,
    rt: &Runtime,
    step: &str,
    unit: usize,
) -> Result<Vec<String>, AppError> {
    let Some((_, def)) = rt.step(step) else {
        return Ok(Vec::new());
    };
    let mut unmet = Vec::new();
    for need in &def.needs {
        let Some(level) = step_scope(&rt.workflow, &need.value) else {
            continue;
        };
        let units: Vec<&str> = rt
            .tree
            .related(unit, level)
            .into_iter()
            .map(|u| rt.tree.id(u))
            .collect();
        let waiting = tasks_of(conn, &rt.campaign.id, &[need.value.as_str()], &units)?
            .iter()
            .any(|t| !super::RESOLVED.contains(&t.status.as_str()));
        if waiting {
            unmet.push(need.value.clone());
        }
    }
    Ok(unmet)
}

/// Steps whose `due` or `opens` counts from `done` of the given step, directly or through a
/// `.due` reference.
fn steps_counting_from(workflow: &Workflow, done_step: &str) -> Vec<String> {
    fn refs(workflow: &Workflow, step: &str, depth: usize, out: &mut BTreeSet<String>) {
        let Some((_, def)) = find_step(workflow, step) else {
            return;
        };
        if depth > 16 {
            return;
        }
        for expr in [&def.due, &def.opens].into_iter().flatten() {
            if let Ok(parsed) = deadline::parse(&expr.value) {
                match &parsed.reference {
                    Reference::Done(s) => {
                        out.insert(s.clone());
                    }
                    Reference::Due(s) => refs(workflow, s, depth + 1, out),
                    Reference::Anchor(_) => {}
                }
            }
        }
    }
    workflow
        .steps()
        .filter(|s| {
            let mut found = BTreeSet::new();
            refs(workflow, &s.id.value, 0, &mut found);
            found.contains(done_step)
        })
        .map(|s| s.id.value.clone())
        .collect()
}

/// Recomputes the dynamic deadlines of active tasks of `steps` in the units related to `unit`.
fn refresh_dynamic_deadlines(
    conn: &mut DbConnection,
    rt: &Runtime,
    ctx: &WriteContext,
    steps: &[String],
    unit: usize,
    events: &mut Vec<NewEvent>,
) -> Result<Vec<String>, AppError> {
    let mut changed = Vec::new();
    let mut done_by_unit: HashMap<usize, HashMap<String, Option<DateTime<Utc>>>> = HashMap::new();
    let anchors = rt.campaign.anchors();
    let params = rt.campaign.params();
    for task in related_tasks(conn, rt, steps, unit)? {
        let Some(step) = task.step_id.clone() else {
            continue;
        };
        if !task.is_active() {
            continue;
        }
        let Some(task_unit) = rt.tree.find(&task.unit_id) else {
            continue;
        };
        let done = match done_by_unit.entry(task_unit) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(done_times(conn, rt, task_unit)?)
            }
        };
        let lookup = |s: &str| done.get(s).copied().flatten();
        let mut unit_anchors = anchors.clone();
        for a in rt.tree.chain(task_unit).iter().rev() {
            if let Some(o) = rt.campaign.unit_anchors().get(rt.tree.id(*a)) {
                unit_anchors.extend(o.clone());
            }
        }
        let input = rt.plan_input(&unit_anchors, &params, &[]);
        let (opens, due) = plan::dynamic_dates(&input, &step, &lookup)
            .map_err(|e| AppError::internal(e.to_string()))?;
        let (due_at, due_after) = match due {
            Deadline::At { at } => (Some(at.naive_utc()), None),
            Deadline::Pending { after } => (None, Some(after)),
        };
        let opens_at = opens.map(|t| t.naive_utc());
        if (due_at, &due_after, opens_at) == (task.due_at, &task.due_after, task.opens_at) {
            continue;
        }
        let updated = guarded_update(conn, &task, |t| {
            t.due_at = due_at;
            t.due_after = due_after.clone();
            t.opens_at = opens_at;
            t.updated_at = ctx.at;
        })?;
        events.push(NewEvent::new(
            ctx,
            "task.deadline_changed",
            "task",
            &task.id,
            Some(&json!({"due_at": task.due_at, "opens_at": task.opens_at})),
            Some(&json!({"due_at": updated.due_at, "opens_at": updated.opens_at})),
        ));
        changed.push(task.id);
    }
    Ok(changed)
}

/// When each step was done as seen from a unit: the same unit, the nearest above, or the last
/// of those below; `None` while any of them is still to do.
fn done_times(
    conn: &mut DbConnection,
    rt: &Runtime,
    unit: usize,
) -> Result<HashMap<String, Option<DateTime<Utc>>>, AppError> {
    // Every unit a step of any scope can relate to: the chain above and the subtree below.
    let mut near = rt.tree.chain(unit);
    near.extend(rt.tree.subtree(unit).into_iter().skip(1));
    let ids: Vec<&str> = near.iter().map(|u| rt.tree.id(*u)).collect();
    let mut rows: Vec<(Option<String>, String, String, Option<NaiveDateTime>)> = Vec::new();
    for chunk in ids.chunks(500) {
        rows.extend(
            tasks::table
                .filter(tasks::campaign_id.eq(&rt.campaign.id))
                .filter(tasks::unit_id.eq_any(chunk))
                .select((
                    tasks::step_id,
                    tasks::unit_id,
                    tasks::status,
                    tasks::completed_at,
                ))
                .load::<(Option<String>, String, String, Option<NaiveDateTime>)>(conn)?,
        );
    }
    let mut out = HashMap::new();
    for step in rt.workflow.steps() {
        let Ok(level) = Level::parse(&step.scope.value) else {
            continue;
        };
        let related: BTreeSet<&str> = rt
            .tree
            .related(unit, level)
            .into_iter()
            .map(|u| rt.tree.id(u))
            .collect();
        if related.is_empty() {
            continue;
        }
        let found = rows.iter().filter(|(s, u, _, _)| {
            s.as_deref() == Some(step.id.value.as_str()) && related.contains(u.as_str())
        });
        let mut pending = false;
        let mut last = None;
        for (_, _, status, completed_at) in found {
            pending |= ACTIVE.contains(&status.as_str());
            if status == DONE {
                last = last.max(*completed_at);
            }
        }
        let value = if pending {
            None
        } else {
            last.map(|t| t.and_utc())
        };
        out.insert(step.id.value.clone(), value);
    }
    Ok(out)
}

/// The recorded evidence of a unit as checks see it: each step's fields from the nearest unit
/// at or above this one that recorded them.
fn unit_evidence(conn: &mut DbConnection, rt: &Runtime, unit: usize) -> Result<Evidence, AppError> {
    let chain = rt.tree.chain(unit);
    let ids: Vec<&str> = chain.iter().map(|u| rt.tree.id(*u)).collect();
    let rows: Vec<(Option<String>, String, Option<String>)> = tasks::table
        .filter(tasks::campaign_id.eq(&rt.campaign.id))
        .filter(tasks::unit_id.eq_any(&ids))
        .filter(tasks::status.eq(DONE))
        .select((tasks::step_id, tasks::unit_id, tasks::evidence_json))
        .load(conn)?;
    let depth: HashMap<&str, usize> = ids.iter().enumerate().map(|(i, u)| (*u, i)).collect();
    let mut best: HashMap<String, (usize, Map<String, Value>)> = HashMap::new();
    for (step, unit_id, evidence) in rows {
        let (Some(step), Some(evidence)) = (step, evidence) else {
            continue;
        };
        let d = depth.get(unit_id.as_str()).copied().unwrap_or(usize::MAX);
        let fields: Map<String, Value> = serde_json::from_str(&evidence).unwrap_or_default();
        if best.get(&step).is_none_or(|(bd, _)| d < *bd) {
            best.insert(step, (d, fields));
        }
    }
    Ok(best.into_iter().map(|(k, (_, v))| (k, v)).collect())
}

/// The tasks of each given step in the units related to `unit` at that step's scope: the
/// tasks a change in `unit` can touch.
fn related_tasks(
    conn: &mut DbConnection,
    rt: &Runtime,
    steps: &[String],
    unit: usize,
) -> Result<Vec<Task>, AppError> {
    let mut out = Vec::new();
    for step in steps {
        let Some(level) = step_scope(&rt.workflow, step) else {
            continue;
        };
        let ids: Vec<&str> = rt
            .tree
            .related(unit, level)
            .into_iter()
            .map(|u| rt.tree.id(u))
            .collect();
        out.extend(tasks_of(conn, &rt.campaign.id, &[step.as_str()], &ids)?);
    }
    Ok(out)
}

/// Opens the blocked tasks that waited only on this one.
fn release_dependants(
    conn: &mut DbConnection,
    rt: &Runtime,
    ctx: &WriteContext,
    step: &str,
    unit: usize,
    events: &mut Vec<NewEvent>,
) -> Result<Vec<String>, AppError> {
    let mut released = Vec::new();
    for task in related_tasks(conn, rt, &dependants_of(&rt.workflow, step), unit)? {
        let (Some(dependant), Some(task_unit)) = (&task.step_id, rt.tree.find(&task.unit_id))
        else {
            continue;
        };
        if task.status != BLOCKED || !unmet_needs(conn, rt, dependant, task_unit)?.is_empty() {
            continue;
        }
        guarded_update(conn, &task, |t| {
            t.status = OPEN.to_owned();
            t.updated_at = ctx.at;
        })?;
        events.push(NewEvent::new(
            ctx,
            "task.unblocked",
            "task",
            &task.id,
            Some(&json!({"status": BLOCKED})),
            Some(&json!({"status": OPEN, "because": step})),
        ));
        released.push(task.id);
    }
    Ok(released)
}

/// Blocks again the dependants that had not been started, when a task they needed reopens.
fn reblock_dependants(
    conn: &mut DbConnection,
    rt: &Runtime,
    ctx: &WriteContext,
    step: &str,
    unit: usize,
    events: &mut Vec<NewEvent>,
) -> Result<Vec<String>, AppError> {
    let mut out = Vec::new();
    for task in related_tasks(conn, rt, &dependants_of(&rt.workflow, step), unit)? {
        if task.status != OPEN || task.evidence_json.is_some() {
            continue;
        }
        guarded_update(conn, &task, |t| {
            t.status = BLOCKED.to_owned();
            t.updated_at = ctx.at;
        })?;
        events.push(NewEvent::new(
            ctx,
            "task.blocked",
            "task",
            &task.id,
            Some(&json!({"status": OPEN})),
            Some(&json!({"status": BLOCKED, "because": step})),
        ));
        out.push(task.id);
    }
    Ok(out)
}

fn dependants_of(workflow: &Workflow, step: &str) -> Vec<String> {
    workflow
        .steps()
        .filter(|s| s.needs.iter().any(|n| n.value == step))
        .map(|s| s.id.value.clone())
        .collect()
}

/// Task ids unblocked, blocked again, and with a changed deadline.
type Propagation = (Vec<String>, Vec<String>, Vec<String>);

/// What follows from a task becoming resolved (done, skipped, cancelled) or active again.
fn propagate(
    conn: &mut DbConnection,
    rt: Option<&Runtime>,
    ctx: &WriteContext,
    task: &Task,
    resolved: bool,
    events: &mut Vec<NewEvent>,
) -> Result<Propagation, AppError> {
    let (Some(rt), Some(step)) = (rt, task.step_id.as_deref()) else {
        return Ok(Default::default());
    };
    let Some(unit) = rt.tree.find(&task.unit_id) else {
        return Ok(Default::default());
    };
    let (unblocked, reblocked) = if resolved {
        (
            release_dependants(conn, rt, ctx, step, unit, events)?,
            Vec::new(),
        )
    } else {
        (
            Vec::new(),
            reblock_dependants(conn, rt, ctx, step, unit, events)?,
        )
    };
    let dynamic = steps_counting_from(&rt.workflow, step);
    let deadlines = refresh_dynamic_deadlines(conn, rt, ctx, &dynamic, unit, events)?;
    Ok((unblocked, reblocked, deadlines))
}

/// Ticks a task off with its evidence (DESIGN §4).
pub fn complete(
    conn: &mut DbConnection,
    cache: &WorkflowCache,
    ctx: &WriteContext,
    id: &str,
    form: CompleteForm,
) -> Result<Outcome, AppError> {
    conn.transaction(|conn| {
        crate::db::begin_write(conn)?;
        let task = get(conn, id)?;
        let rt = runtime_for(conn, cache, &task)?;
        check_revision(&task, form.revision)?;
        match task.status.as_str() {
            OPEN => {}
            BLOCKED => {
                let unmet = match (&rt, &task.step_id) {
                    (Some(rt), Some(step)) => {
                        let unit = rt.tree.require(&task.unit_id)?;
                        unmet_needs(conn, rt, step, unit)?
                    }
                    _ => Vec::new(),
                };
                let titles: Vec<String> = unmet
                    .iter()
                    .map(|s| {
                        rt.as_ref()
                            .and_then(|rt| rt.step(s))
                            .map_or(s.clone(), |(_, d)| d.title.clone())
                    })
                    .collect();
                return Err(conflict(
                    "task_blocked",
                    format!("前置步骤尚未完成: {}", titles.join("、")),
                    &task,
                )
                .with_details(json!({ "current": task, "waiting_for": unmet })));
            }
            other => {
                return Err(conflict(
                    "task_not_open",
                    format!(
                        "任务{}, 不能再次完成; 如需修改请先重新打开",
                        status_zh(other)
                    ),
                    &task,
                ))
            }
        }
        let now = ctx.at;
        let completed_at = form.completed_at.map_or(now, |t| t.naive_utc());
        let note = clean_note(form.note)?;
        if completed_at > now + Duration::minutes(FUTURE_TOLERANCE_MINUTES) {
            return Err(field("completed_at", "完成时间不能晚于现在"));
        }
        if completed_at < now - Duration::minutes(BACKDATE_TOLERANCE_MINUTES) && note.is_none() {
            return Err(field("note", "补记以前完成的工作, 请在说明中写明原因"));
        }
        if let Some(opens) = task.opens_at {
            if completed_at < opens {
                let tz = rt
                    .as_ref()
                    .map_or(chrono_tz::Asia::Shanghai, |r| r.campaign.tz());
                return Err(field(
                    "completed_at",
                    format!(
                        "此步骤最早于 {} 才能完成",
                        opens.and_utc().with_timezone(&tz).format("%Y-%m-%d %H:%M")
                    ),
                ));
            }
        }
        let spec = record_spec(rt.as_ref(), &task);
        let evidence =
            evidence_spec::validate(&spec, &form.evidence).map_err(AppError::validation)?;

        let findings = match (&rt, &task.step_id) {
            (Some(rt), Some(step)) => {
                let unit = rt.tree.require(&task.unit_id)?;
                let mut all = unit_evidence(conn, rt, unit)?;
                all.insert(step.clone(), evidence.clone());
                let defs = rt
                    .step(step)
                    .map(|(_, s)| s.checks.as_slice())
                    .unwrap_or(&[]);
                checks::findings(
                    defs.iter().map(|c| {
                        (
                            c.value.expr.as_str(),
                            c.value.message.as_str(),
                            c.value.compiled.as_ref(),
                        )
                    }),
                    &all,
                )
            }
            _ => Vec::new(),
        };
        let done = guarded_update(conn, &task, |t| {
            t.status = DONE.to_owned();
            t.evidence_json = Some(Value::Object(evidence.clone()).to_string());
            t.findings_json = Some(serde_json::to_string(&findings).unwrap_or_default());
            t.note = note.clone();
            t.status_reason = None;
            t.completed_at = Some(completed_at);
            t.completed_by = Some(ctx.actor.clone());
            t.updated_at = now;
        })?;
        let mut events = vec![NewEvent::new(
            ctx,
            "task.completed",
            "task",
            &task.id,
            Some(&task),
            Some(&done),
        )];
        let (unblocked, reblocked, deadlines_changed) =
            propagate(conn, rt.as_ref(), ctx, &done, true, &mut events)?;
        audit::record_all(conn, &events)?;
        Ok(Outcome {
            task: done,
            findings,
            unblocked,
            reblocked,
            deadlines_changed,
        })
    })
}

fn required_reason(reason: &str) -> Result<String, AppError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(field("reason", "请写明原因"));
    }
    if reason.chars().count() > MAX_NOTE_CHARS {
        return Err(field("reason", format!("原因不能超过 {MAX_NOTE_CHARS} 字")));
    }
    Ok(reason.to_owned())
}

/// Reopens a done (or skipped) task. Its evidence stays for the next tick-off; dependants that
/// have not started wait again, and deadlines counted from it are unknown again.
pub fn reopen(
    conn: &mut DbConnection,
    cache: &WorkflowCache,
    ctx: &WriteContext,
    id: &str,
    form: ReasonForm,
) -> Result<Outcome, AppError> {
    let reason = required_reason(&form.reason)?;
    conn.transaction(|conn| {
        crate::db::begin_write(conn)?;
        let task = get(conn, id)?;
        check_revision(&task, form.revision)?;
        if !matches!(task.status.as_str(), DONE | SKIPPED) {
            return Err(conflict(
                "task_not_done",
                format!("任务{}, 无需重新打开", status_zh(&task.status)),
                &task,
            ));
        }
        let rt = runtime_for(conn, cache, &task)?;
        let unmet = match (&rt, &task.step_id) {
            (Some(rt), Some(step)) => unmet_needs(conn, rt, step, rt.tree.require(&task.unit_id)?)?,
            _ => Vec::new(),
        };
        let reopened = guarded_update(conn, &task, |t| {
            t.status = if unmet.is_empty() { OPEN } else { BLOCKED }.to_owned();
            t.status_reason = Some(reason.clone());
            t.completed_at = None;
            t.completed_by = None;
            t.findings_json = None;
            t.updated_at = ctx.at;
        })?;
        let mut events = vec![NewEvent::new(
            ctx,
            "task.reopened",
            "task",
            &task.id,
            Some(&task),
            Some(&reopened),
        )];
        let (unblocked, reblocked, deadlines_changed) =
            propagate(conn, rt.as_ref(), ctx, &reopened, false, &mut events)?;
        audit::record_all(conn, &events)?;
        Ok(Outcome {
            task: reopened,
            findings: Vec::new(),
            unblocked,
            reblocked,
            deadlines_changed,
        })
    })
}

/// Marks an active task not applicable (`skipped`) or withdrawn (`cancelled`). Either lets the
/// tasks that wait on it go ahead.
pub fn close_without_doing(
    conn: &mut DbConnection,
    cache: &WorkflowCache,
    ctx: &WriteContext,
    id: &str,
    status: &'static str,
    form: ReasonForm,
) -> Result<Outcome, AppError> {
    debug_assert!(status == SKIPPED || status == CANCELLED);
    let reason = required_reason(&form.reason)?;
    conn.transaction(|conn| {
        crate::db::begin_write(conn)?;
        let task = get(conn, id)?;
        check_revision(&task, form.revision)?;
        if !task.is_active() {
            return Err(conflict(
                "task_not_open",
                format!(
                    "任务{}, 不能再标记为{}",
                    status_zh(&task.status),
                    status_zh(status)
                ),
                &task,
            ));
        }
        let rt = runtime_for(conn, cache, &task)?;
        let closed = guarded_update(conn, &task, |t| {
            t.status = status.to_owned();
            t.status_reason = Some(reason.clone());
            t.updated_at = ctx.at;
        })?;
        let action = if status == SKIPPED {
            "task.skipped"
        } else {
            "task.cancelled"
        };
        let mut events = vec![NewEvent::new(
            ctx,
            action,
            "task",
            &task.id,
            Some(&task),
            Some(&closed),
        )];
        let (unblocked, reblocked, deadlines_changed) =
            propagate(conn, rt.as_ref(), ctx, &closed, true, &mut events)?;
        audit::record_all(conn, &events)?;
        Ok(Outcome {
            task: closed,
            findings: Vec::new(),
            unblocked,
            reblocked,
            deadlines_changed,
        })
    })
}

fn require_active_person(
    conn: &mut DbConnection,
    id: &str,
    field_name: &str,
) -> Result<(), AppError> {
    let active: Option<bool> = people::table
        .find(id)
        .select(people::active)
        .first(conn)
        .optional()?;
    match active {
        Some(true) => Ok(()),
        Some(false) => Err(field(field_name, "此人已停用")),
        None => Err(field(field_name, format!("人员 {id} 不存在"))),
    }
}

/// Gives one active task to another person.
pub fn reassign(
    conn: &mut DbConnection,
    ctx: &WriteContext,
    id: &str,
    form: ReassignForm,
) -> Result<Task, AppError> {
    conn.transaction(|conn| {
        crate::db::begin_write(conn)?;
        let task = get(conn, id)?;
        check_revision(&task, form.revision)?;
        require_active_person(conn, &form.owner_id, "owner_id")?;
        if !task.is_active() {
            return Err(conflict(
                "task_not_open",
                format!("任务{}, 不能转交", status_zh(&task.status)),
                &task,
            ));
        }
        let moved = guarded_update(conn, &task, |t| {
            t.owner_id = Some(form.owner_id.clone());
            t.updated_at = ctx.at;
        })?;
        audit::record(
            conn,
            ctx,
            "task.reassigned",
            "task",
            &task.id,
            Some(&json!({"owner_id": task.owner_id})),
            Some(&json!({"owner_id": moved.owner_id, "reason": form.reason})),
        )?;
        Ok(moved)
    })
}

#[derive(Debug, Serialize)]
pub struct BulkReassignReport {
    pub moved: usize,
    pub batch_id: String,
}

/// "All of 李四's open tasks go to 赵六": every active task of one person, or of one unit
/// subtree, or both, moves in one transaction with one event per task in one batch.
pub fn bulk_reassign(
    conn: &mut DbConnection,
    ctx: &WriteContext,
    form: BulkReassignForm,
) -> Result<BulkReassignReport, AppError> {
    if form.from_person_id.is_none() && form.unit_id.is_none() {
        return Err(field("from_person_id", "请指定原负责人或单元范围"));
    }
    let batch_id = uuid::Uuid::now_v7().to_string();
    let ctx = ctx.clone().in_batch(batch_id.clone());
    conn.transaction(|conn| {
        crate::db::begin_write(conn)?;
        require_active_person(conn, &form.to_person_id, "to_person_id")?;
        let units = match &form.unit_id {
            Some(u) => {
                let tree = crate::campaign::tree::UnitTree::load(conn)?;
                let root = tree.require(u)?;
                Some(
                    tree.subtree(root)
                        .into_iter()
                        .map(|i| tree.id(i).to_owned())
                        .collect::<Vec<_>>(),
                )
            }
            None => None,
        };
        let mut query = tasks::table
            .filter(tasks::status.eq_any(ACTIVE))
            .into_boxed();
        if let Some(from) = &form.from_person_id {
            query = query.filter(tasks::owner_id.eq(from.clone()));
        }
        if let Some(c) = &form.campaign_id {
            query = query.filter(tasks::campaign_id.eq(c.clone()));
        }
        let mut found: Vec<Task> = query.select(Task::as_select()).load(conn)?;
        if let Some(units) = &units {
            let set: BTreeSet<&str> = units.iter().map(String::as_str).collect();
            found.retain(|t| set.contains(t.unit_id.as_str()));
        }
        let mut events = Vec::new();
        for task in &found {
            if task.owner_id.as_deref() == Some(form.to_person_id.as_str()) {
                continue;
            }
            guarded_update(conn, task, |t| {
                t.owner_id = Some(form.to_person_id.clone());
                t.updated_at = ctx.at;
            })?;
            events.push(NewEvent::new(
                &ctx,
                "task.reassigned",
                "task",
                &task.id,
                Some(&json!({"owner_id": task.owner_id})),
                Some(&json!({"owner_id": form.to_person_id, "reason": form.reason})),
            ));
        }
        audit::record_all(conn, &events)?;
        Ok(BulkReassignReport {
            moved: events.len(),
            batch_id: batch_id.clone(),
        })
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommentForm {
    pub body: String,
}

pub fn comment(
    conn: &mut DbConnection,
    ctx: &WriteContext,
    task_id: &str,
    form: CommentForm,
) -> Result<Comment, AppError> {
    let body = form.body.trim();
    if body.is_empty() {
        return Err(field("body", "评论不能为空"));
    }
    if body.chars().count() > MAX_NOTE_CHARS {
        return Err(field("body", format!("评论不能超过 {MAX_NOTE_CHARS} 字")));
    }
    conn.transaction(|conn| {
        crate::db::begin_write(conn)?;
        get(conn, task_id)?;
        let row = Comment {
            id: uuid::Uuid::now_v7().to_string(),
            task_id: task_id.to_owned(),
            author: ctx.actor.clone(),
            body: body.to_owned(),
            created_at: ctx.at,
        };
        diesel::insert_into(task_comments::table)
            .values(&row)
            .execute(conn)?;
        audit::record(
            conn,
            ctx,
            "task.commented",
            "task",
            task_id,
            None::<&()>,
            Some(&row),
        )?;
        Ok(row)
    })
}

pub fn comments(conn: &mut DbConnection, task_id: &str) -> Result<Vec<Comment>, AppError> {
    get(conn, task_id)?;
    Ok(task_comments::table
        .filter(task_comments::task_id.eq(task_id))
        .order(task_comments::created_at.asc())
        .select(Comment::as_select())
        .load(conn)?)
}
