//! Progress of a campaign as leaders read it: per step and stage, per unit below the one asked
//! about, in the seeds' own words ("17个村中完成财务审计的村15个"), overdue by responsible person
//! (the 三包 accountability view), statutory violations, and the deadlines ahead.
//!
//! One query loads the slim rows of the subtree; the roll-ups are counted in memory, so the cost
//! is one pass over the tasks and never a query per unit.

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use super::catalog::WorkflowCache;
use super::Runtime;
use crate::db::schema::{people, tasks};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::org::Level;
use crate::task::{BLOCKED, CANCELLED, DONE, OPEN, SKIPPED};

#[derive(Debug, Clone, Queryable)]
struct Row {
    id: String,
    step_id: Option<String>,
    unit_id: String,
    title: String,
    owner_id: Option<String>,
    status: String,
    due_at: Option<NaiveDateTime>,
    completed_at: Option<NaiveDateTime>,
    statutory: bool,
}

impl Row {
    fn active(&self) -> bool {
        self.status == OPEN || self.status == BLOCKED
    }
    fn overdue(&self, now: NaiveDateTime) -> bool {
        self.active() && self.due_at.is_some_and(|d| now > d)
    }
    fn late(&self) -> bool {
        self.status == DONE
            && matches!((self.completed_at, self.due_at), (Some(c), Some(d)) if c > d)
    }
}

#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct Counts {
    pub total: usize,
    pub done: usize,
    pub open: usize,
    pub blocked: usize,
    pub skipped: usize,
    pub cancelled: usize,
    /// Open or blocked past due.
    pub overdue: usize,
    /// Done after due.
    pub late: usize,
    /// Statutory deadlines missed (late or overdue).
    pub violations: usize,
}

impl Counts {
    fn add(&mut self, row: &Row, now: NaiveDateTime) {
        self.total += 1;
        match row.status.as_str() {
            DONE => self.done += 1,
            OPEN => self.open += 1,
            BLOCKED => self.blocked += 1,
            SKIPPED => self.skipped += 1,
            CANCELLED => self.cancelled += 1,
            _ => {}
        }
        let overdue = row.overdue(now);
        let late = row.late();
        self.overdue += usize::from(overdue);
        self.late += usize::from(late);
        self.violations += usize::from(row.statutory && (overdue || late));
    }

    fn merge(&mut self, other: &Counts) {
        self.total += other.total;
        self.done += other.done;
        self.open += other.open;
        self.blocked += other.blocked;
        self.skipped += other.skipped;
        self.cancelled += other.cancelled;
        self.overdue += other.overdue;
        self.late += other.late;
        self.violations += other.violations;
    }
}

#[derive(Debug, Serialize)]
pub struct StepProgress {
    pub id: String,
    pub title: String,
    pub scope: String,
    pub statutory: bool,
    /// Units of the step's scope; a recurring step counts each unit once it has no open report.
    pub units: usize,
    pub units_done: usize,
    pub counts: Counts,
    /// "17个村中完成财务审计的村15个"
    pub summary: String,
}

#[derive(Debug, Serialize)]
pub struct StageProgress {
    pub id: String,
    pub title: String,
    pub counts: Counts,
    pub steps: Vec<StepProgress>,
}

#[derive(Debug, Serialize)]
pub struct UnitProgress {
    pub unit_id: String,
    pub name: String,
    pub level: Level,
    pub counts: Counts,
    /// Done or not applicable, out of all tasks, in percent.
    pub percent_done: u32,
}

#[derive(Debug, Serialize)]
pub struct Progress {
    pub campaign_id: String,
    pub unit_id: String,
    pub unit_name: String,
    pub counts: Counts,
    pub stages: Vec<StageProgress>,
    /// The units directly below, each with its subtree's counts.
    pub children: Vec<UnitProgress>,
    /// Ad-hoc tasks attached to the campaign.
    pub adhoc: Counts,
}

fn load_rows(
    conn: &mut DbConnection,
    rt: &Runtime,
    unit: Option<&str>,
) -> Result<(usize, Vec<Row>), AppError> {
    let top = match unit {
        Some(u) => {
            let i = rt.tree.require(u)?;
            if !rt.tree.is_within(i, rt.root) {
                return Err(AppError::bad_request(
                    "unit_outside_campaign",
                    "此单元不在本次选举范围内",
                ));
            }
            i
        }
        None => rt.root,
    };
    let rows: Vec<Row> = tasks::table
        .filter(tasks::campaign_id.eq(&rt.campaign.id))
        .select((
            tasks::id,
            tasks::step_id,
            tasks::unit_id,
            tasks::title,
            tasks::owner_id,
            tasks::status,
            tasks::due_at,
            tasks::completed_at,
            tasks::statutory,
        ))
        .load(conn)?;
    if top == rt.root {
        return Ok((top, rows));
    }
    let inside: std::collections::HashSet<&str> = rt
        .tree
        .subtree(top)
        .into_iter()
        .map(|i| rt.tree.id(i))
        .collect();
    let rows = rows
        .into_iter()
        .filter(|r| inside.contains(r.unit_id.as_str()))
        .collect();
    Ok((top, rows))
}

/// The word a summary uses for units of a level: the units' own kind when they agree (村, 社区).
fn unit_word(rt: &Runtime, level: Level, units: &[usize]) -> String {
    let mut kinds = units
        .iter()
        .filter_map(|u| rt.tree.node(*u).kind.as_deref());
    if let Some(first) = kinds.next() {
        if kinds.all(|k| k == first) {
            return first.to_owned();
        }
    }
    match level {
        Level::County => "县",
        Level::Township => "乡镇",
        Level::District => "选区",
        Level::Village => "村",
        Level::Group => "村民小组",
    }
    .to_owned()
}

pub fn progress(
    conn: &mut DbConnection,
    cache: &WorkflowCache,
    campaign_id: &str,
    unit: Option<&str>,
    now: NaiveDateTime,
) -> Result<Progress, AppError> {
    let rt = Runtime::load(conn, cache, campaign_id)?;
    let (top, rows) = load_rows(conn, &rt, unit)?;
    let subtree = rt.tree.subtree(top);

    let mut by_step: HashMap<&str, Vec<&Row>> = HashMap::new();
    let mut adhoc = Counts::default();
    let mut total = Counts::default();
    for r in &rows {
        total.add(r, now);
        match r.step_id.as_deref() {
            Some(s) => by_step.entry(s).or_default().push(r),
            None => adhoc.add(r, now),
        }
    }

    let mut stages = Vec::new();
    for stage in &rt.workflow.stages {
        let mut stage_counts = Counts::default();
        let mut steps = Vec::new();
        for step in &stage.steps {
            let level = Level::parse(&step.scope.value).unwrap_or(Level::Village);
            let scope_units: Vec<usize> = subtree
                .iter()
                .copied()
                .filter(|u| rt.tree.node(*u).level == level)
                .collect();
            let mut counts = Counts::default();
            let mut unfinished: HashMap<&str, bool> = HashMap::new();
            for r in by_step.get(step.id.value.as_str()).into_iter().flatten() {
                counts.add(r, now);
                let pending = r.active();
                *unfinished.entry(r.unit_id.as_str()).or_default() |= pending;
            }
            let units_done = unfinished.values().filter(|pending| !**pending).count();
            let word = unit_word(&rt, level, &scope_units);
            let summary = format!(
                "{}个{word}中完成{}的{word}{}个",
                scope_units.len(),
                step.title,
                units_done
            );
            stage_counts.merge(&counts);
            steps.push(StepProgress {
                id: step.id.value.clone(),
                title: step.title.clone(),
                scope: level.as_str().to_owned(),
                statutory: step.statutory.is_some(),
                units: scope_units.len(),
                units_done,
                counts,
                summary,
            });
        }
        stages.push(StageProgress {
            id: stage.id.value.clone(),
            title: stage.title.clone(),
            counts: stage_counts,
            steps,
        });
    }

    // Each task counts for the child of `top` whose subtree holds it.
    let mut child_of: HashMap<&str, usize> = HashMap::new();
    let mut children: Vec<UnitProgress> = Vec::new();
    for (n, child) in rt
        .tree
        .subtree(top)
        .into_iter()
        .filter(|c| rt.tree.node(*c).parent == Some(top))
        .enumerate()
    {
        for d in rt.tree.subtree(child) {
            child_of.insert(rt.tree.id(d), n);
        }
        let node = rt.tree.node(child);
        children.push(UnitProgress {
            unit_id: node.id.clone(),
            name: node.name.clone(),
            level: node.level,
            counts: Counts::default(),
            percent_done: 0,
        });
    }
    for r in &rows {
        if let Some(n) = child_of.get(r.unit_id.as_str()) {
            children[*n].counts.add(r, now);
        }
    }
    for c in &mut children {
        let finished = c.counts.done + c.counts.skipped + c.counts.cancelled;
        c.percent_done = (finished * 100).checked_div(c.counts.total).unwrap_or(0) as u32;
    }

    Ok(Progress {
        campaign_id: campaign_id.to_owned(),
        unit_id: rt.tree.id(top).to_owned(),
        unit_name: rt.tree.node(top).name.clone(),
        counts: total,
        stages,
        children,
        adhoc,
    })
}

#[derive(Debug, Serialize)]
pub struct TaskLine {
    pub task_id: String,
    pub title: String,
    pub step_id: Option<String>,
    pub unit_id: String,
    pub unit_name: String,
    #[serde(serialize_with = "opt_utc")]
    pub due_at: Option<NaiveDateTime>,
    #[serde(serialize_with = "opt_utc")]
    pub completed_at: Option<NaiveDateTime>,
    /// Whole days past due (or done after due).
    pub days_late: i64,
    pub statutory: bool,
}

fn opt_utc<S: serde::Serializer>(t: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => crate::clock::serialize_utc(t, s),
        None => s.serialize_none(),
    }
}

fn line(rt: &Runtime, r: &Row, now: NaiveDateTime) -> TaskLine {
    let until = r.completed_at.unwrap_or(now);
    TaskLine {
        task_id: r.id.clone(),
        title: r.title.clone(),
        step_id: r.step_id.clone(),
        unit_id: r.unit_id.clone(),
        unit_name: rt
            .tree
            .find(&r.unit_id)
            .map_or_else(String::new, |i| rt.tree.node(i).name.clone()),
        due_at: r.due_at,
        completed_at: r.completed_at,
        days_late: r
            .due_at
            .map_or(0, |d| (until - d).num_seconds().max(0) / 86_400),
        statutory: r.statutory,
    }
}

#[derive(Debug, Serialize)]
pub struct PersonOverdue {
    /// `None`: tasks nobody is responsible for.
    pub person_id: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub overdue: usize,
    pub tasks: Vec<TaskLine>,
}

/// Overdue tasks grouped by the person who answers for them, most overdue first.
pub fn overdue_by_person(
    conn: &mut DbConnection,
    cache: &WorkflowCache,
    campaign_id: &str,
    unit: Option<&str>,
    now: NaiveDateTime,
) -> Result<Vec<PersonOverdue>, AppError> {
    let rt = Runtime::load(conn, cache, campaign_id)?;
    let (_, rows) = load_rows(conn, &rt, unit)?;
    let mut groups: BTreeMap<Option<String>, Vec<&Row>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.overdue(now)) {
        groups.entry(r.owner_id.clone()).or_default().push(r);
    }
    let ids: Vec<String> = groups.keys().flatten().cloned().collect();
    let people: HashMap<String, (String, Option<String>)> = people::table
        .filter(people::id.eq_any(&ids))
        .select((people::id, people::name, people::phone))
        .load::<(String, String, Option<String>)>(conn)?
        .into_iter()
        .map(|(id, name, phone)| (id, (name, phone)))
        .collect();
    let mut out: Vec<PersonOverdue> = groups
        .into_iter()
        .map(|(person, list)| {
            let known = person.as_ref().and_then(|p| people.get(p));
            let mut tasks: Vec<TaskLine> = list.iter().map(|r| line(&rt, r, now)).collect();
            tasks.sort_by_key(|t| t.due_at);
            PersonOverdue {
                name: known.map(|k| k.0.clone()),
                phone: known.and_then(|k| k.1.clone()),
                person_id: person,
                overdue: tasks.len(),
                tasks,
            }
        })
        .collect();
    out.sort_by(|a, b| b.overdue.cmp(&a.overdue).then_with(|| a.name.cmp(&b.name)));
    Ok(out)
}

#[derive(Debug, Serialize)]
pub struct Violation {
    #[serde(flatten)]
    pub task: TaskLine,
    /// `late`: done after the statutory deadline; `overdue`: still not done past it.
    pub kind: &'static str,
    pub basis: Option<String>,
    pub rule: Option<String>,
}

/// Statutory deadlines missed: done late, or still open past due. Never silently accepted.
pub fn violations(
    conn: &mut DbConnection,
    cache: &WorkflowCache,
    campaign_id: &str,
    unit: Option<&str>,
    now: NaiveDateTime,
) -> Result<Vec<Violation>, AppError> {
    let rt = Runtime::load(conn, cache, campaign_id)?;
    let (_, rows) = load_rows(conn, &rt, unit)?;
    let mut out: Vec<Violation> = rows
        .iter()
        .filter(|r| r.statutory && (r.late() || r.overdue(now)))
        .map(|r| {
            let statutory = r
                .step_id
                .as_deref()
                .and_then(|s| rt.step(s))
                .and_then(|(_, s)| s.statutory.as_ref());
            Violation {
                kind: if r.late() { "late" } else { "overdue" },
                basis: statutory.map(|s| s.basis.clone()),
                rule: statutory.map(|s| s.rule.clone()),
                task: line(&rt, r, now),
            }
        })
        .collect();
    out.sort_by(|a, b| (a.task.due_at, &a.task.unit_name).cmp(&(b.task.due_at, &b.task.unit_name)));
    Ok(out)
}

#[derive(Debug, Serialize)]
pub struct UpcomingStep {
    pub step_id: Option<String>,
    pub title: String,
    pub statutory: bool,
    /// Units still to do it.
    pub pending: usize,
    pub unit_names: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct UpcomingDay {
    pub date: NaiveDate,
    pub weekday: &'static str,
    pub items: Vec<UpcomingStep>,
}

/// Every deadline still ahead, by local date: the forward plan a township prints.
pub fn upcoming(
    conn: &mut DbConnection,
    cache: &WorkflowCache,
    campaign_id: &str,
    unit: Option<&str>,
    now: NaiveDateTime,
    days: i64,
) -> Result<Vec<UpcomingDay>, AppError> {
    let rt = Runtime::load(conn, cache, campaign_id)?;
    let (_, rows) = load_rows(conn, &rt, unit)?;
    let tz = rt.campaign.tz();
    let horizon = now + chrono::Duration::days(days);
    // date → (step, title) → (statutory, units still to do it)
    type Day = BTreeMap<(Option<String>, String), (bool, Vec<String>)>;
    let mut by_day: BTreeMap<NaiveDate, Day> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.active()) {
        let Some(due) = r.due_at.filter(|d| *d >= now && *d <= horizon) else {
            continue;
        };
        let date = due.and_utc().with_timezone(&tz).date_naive();
        let entry = by_day
            .entry(date)
            .or_default()
            .entry((r.step_id.clone(), r.title.clone()))
            .or_insert((r.statutory, Vec::new()));
        entry.1.push(
            rt.tree
                .find(&r.unit_id)
                .map_or_else(String::new, |i| rt.tree.node(i).name.clone()),
        );
    }
    Ok(by_day
        .into_iter()
        .map(|(date, items)| UpcomingDay {
            date,
            weekday: crate::plan::weekday_zh(date),
            items: items
                .into_iter()
                .map(|((step_id, title), (statutory, mut names))| {
                    names.sort();
                    UpcomingStep {
                        step_id,
                        title,
                        statutory,
                        pending: names.len(),
                        unit_names: names,
                    }
                })
                .collect(),
        })
        .collect())
}
