//! Campaigns (一次换届选举): a stored workflow applied to a subtree of units, with anchor dates,
//! per-unit overrides and parameters. Starting one creates every static task in one bulk
//! transaction; moving an anchor moves every open static deadline in another.

pub mod anchors;
pub mod catalog;
pub mod progress;
pub mod tree;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit::{self, WriteContext};
use crate::db::schema::{assignments, campaigns, notifications, people};
use crate::db::DbConnection;
use crate::error::{AppError, FieldError};
use crate::plan::{self, Deadline, PlanInput, PlannedTask, UnitAnchors};
use crate::task::{self, Task};
use crate::workflow::model::{Stage, Step};
use crate::workflow::Workflow;
use catalog::WorkflowCache;
use tree::UnitTree;

pub const ACTIVE: &str = "active";

/// Task rows built and inserted per slice when a campaign starts.
const START_SLICE: usize = 5_000;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Serialize)]
#[diesel(table_name = campaigns)]
pub struct Campaign {
    pub id: String,
    pub title: String,
    pub workflow_id: String,
    pub workflow_version: String,
    pub root_unit_id: String,
    pub timezone: String,
    #[serde(rename = "anchors", serialize_with = "raw_json")]
    pub anchors_json: String,
    #[serde(rename = "unit_anchors", serialize_with = "raw_json")]
    pub unit_anchors_json: String,
    #[serde(rename = "params", serialize_with = "raw_json")]
    pub params_json: String,
    pub status: String,
    #[serde(serialize_with = "crate::clock::serialize_utc")]
    pub created_at: NaiveDateTime,
    pub created_by: String,
    #[serde(serialize_with = "crate::clock::serialize_utc")]
    pub updated_at: NaiveDateTime,
}

fn raw_json<S: serde::Serializer>(v: &str, s: S) -> Result<S::Ok, S::Error> {
    serde_json::from_str::<serde_json::Value>(v)
        .unwrap_or(serde_json::Value::Null)
        .serialize(s)
}

impl Campaign {
    pub fn anchors(&self) -> BTreeMap<String, NaiveDate> {
        serde_json::from_str(&self.anchors_json).unwrap_or_default()
    }

    pub fn unit_anchors(&self) -> UnitAnchors {
        serde_json::from_str(&self.unit_anchors_json).unwrap_or_default()
    }

    pub fn params(&self) -> BTreeMap<String, i64> {
        serde_json::from_str(&self.params_json).unwrap_or_default()
    }

    pub fn tz(&self) -> Tz {
        self.timezone.parse().unwrap_or(chrono_tz::Asia::Shanghai)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartForm {
    pub title: Option<String>,
    pub workflow_id: String,
    /// Absent: the latest stored version.
    pub workflow_version: Option<String>,
    pub root_unit_id: String,
    pub anchors: BTreeMap<String, NaiveDate>,
    /// Unit id → anchor → date, for units that vote on another day.
    #[serde(default)]
    pub unit_anchors: UnitAnchors,
    #[serde(default)]
    pub params: BTreeMap<String, i64>,
    /// IANA zone; absent: the server's.
    pub timezone: Option<String>,
}

/// A task that no one holds the owner role for, in its unit or any unit above it.
#[derive(Debug, Clone, Serialize)]
pub struct Unassigned {
    pub task_id: String,
    pub step_id: String,
    pub unit_id: String,
    pub unit_name: String,
    pub role: String,
}

#[derive(Debug, Serialize)]
pub struct StartReport {
    pub campaign: Campaign,
    pub tasks_created: usize,
    pub blocked: usize,
    pub unassigned: Vec<Unassigned>,
}

/// Everything an operation on a running campaign needs: its row, its exact rules and the tree.
pub struct Runtime {
    pub campaign: Campaign,
    pub workflow: Arc<Workflow>,
    pub tree: UnitTree,
    pub root: usize,
}

impl Runtime {
    pub fn load(
        conn: &mut DbConnection,
        cache: &WorkflowCache,
        campaign_id: &str,
    ) -> Result<Runtime, AppError> {
        let campaign = get(conn, campaign_id)?;
        let stored = catalog::get(conn, &campaign.workflow_id, &campaign.workflow_version)?;
        let workflow = catalog::parsed(cache, &stored)?;
        let tree = UnitTree::load(conn)?;
        let root = tree.require(&campaign.root_unit_id)?;
        Ok(Runtime {
            campaign,
            workflow,
            tree,
            root,
        })
    }

    pub fn step(&self, id: &str) -> Option<(&Stage, &Step)> {
        find_step(&self.workflow, id)
    }

    pub fn plan_input<'a>(
        &'a self,
        anchors: &'a BTreeMap<String, NaiveDate>,
        params: &'a BTreeMap<String, i64>,
        units: &'a [plan::PlanUnit],
    ) -> PlanInput<'a> {
        PlanInput {
            workflow: &self.workflow,
            anchors,
            params,
            units,
            tz: self.campaign.tz(),
        }
    }
}

pub fn find_step<'a>(workflow: &'a Workflow, id: &str) -> Option<(&'a Stage, &'a Step)> {
    workflow
        .stages
        .iter()
        .flat_map(|stage| stage.steps.iter().map(move |step| (stage, step)))
        .find(|(_, step)| step.id.value == id)
}

pub fn get(conn: &mut DbConnection, id: &str) -> Result<Campaign, AppError> {
    campaigns::table
        .find(id)
        .select(Campaign::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("选举", id))
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<Campaign>, AppError> {
    Ok(campaigns::table
        .order(campaigns::created_at.desc())
        .select(Campaign::as_select())
        .load(conn)?)
}

/// Finds the owner of each (unit, role) by the 三包 rule, memoised: a township has a few
/// hundred units but tens of thousands of tasks.
pub struct OwnerResolver {
    /// unit id → role → holders (person id, primary), primary first.
    holders: HashMap<String, HashMap<String, Vec<String>>>,
    /// unit → role → owner; looked up by `&str` so a hit allocates nothing.
    memo: HashMap<usize, HashMap<String, Option<String>>>,
}

impl OwnerResolver {
    pub fn load(conn: &mut DbConnection, roles: &[&str]) -> Result<OwnerResolver, AppError> {
        let rows: Vec<(String, String, String, bool)> = assignments::table
            .inner_join(people::table)
            .filter(assignments::active.eq(true))
            .filter(people::active.eq(true))
            .filter(assignments::role.eq_any(roles))
            .order((
                assignments::is_primary.desc(),
                people::name.asc(),
                people::id.asc(),
            ))
            .select((
                assignments::unit_id,
                assignments::role,
                assignments::person_id,
                assignments::is_primary,
            ))
            .load(conn)?;
        let mut holders: HashMap<String, HashMap<String, Vec<String>>> = HashMap::new();
        for (unit, role, person, _) in rows {
            holders
                .entry(unit)
                .or_default()
                .entry(role)
                .or_default()
                .push(person);
        }
        Ok(OwnerResolver {
            holders,
            memo: HashMap::new(),
        })
    }

    /// The primary holder of `role` on the unit or its nearest ancestor that has one.
    pub fn owner(&mut self, tree: &UnitTree, unit: usize, role: &str) -> Option<String> {
        if let Some(found) = self.memo.get(&unit).and_then(|roles| roles.get(role)) {
            return found.clone();
        }
        let found = tree.chain(unit).into_iter().find_map(|u| {
            self.holders
                .get(tree.id(u))
                .and_then(|roles| roles.get(role))
                .and_then(|people| people.first().cloned())
        });
        self.memo
            .entry(unit)
            .or_default()
            .insert(role.to_owned(), found.clone());
        found
    }
}

fn invalid(field: &str, message: impl Into<String>) -> AppError {
    AppError::validation(vec![FieldError::new(field, message)])
}

/// Starts a campaign: plans every static task and stores it, with its owner, in one
/// transaction. Tasks whose role nobody holds are created unassigned, reported, and queued
/// for the admins.
pub fn start(
    conn: &mut DbConnection,
    cache: &WorkflowCache,
    ctx: &WriteContext,
    default_tz: Tz,
    form: StartForm,
) -> Result<StartReport, AppError> {
    let stored = match &form.workflow_version {
        Some(v) => catalog::get(conn, &form.workflow_id, v)?,
        None => catalog::latest(conn, &form.workflow_id)?,
    };
    let workflow = catalog::parsed(cache, &stored)?;
    let tz: Tz = match &form.timezone {
        Some(name) => name
            .parse()
            .map_err(|_| invalid("timezone", format!("未知时区 \"{name}\"")))?,
        None => default_tz,
    };
    let tree = UnitTree::load(conn)?;
    let root = tree
        .find(&form.root_unit_id)
        .filter(|i| tree.node(*i).active)
        .ok_or_else(|| {
            invalid(
                "root_unit_id",
                format!("单元 {} 不存在或已停用", form.root_unit_id),
            )
        })?;
    for unit in form.unit_anchors.keys() {
        match tree.find(unit) {
            Some(i) if tree.is_within(i, root) => {}
            _ => {
                return Err(invalid(
                    &format!("unit_anchors.{unit}"),
                    "不是本次选举范围内的单元",
                ))
            }
        }
    }
    let members = tree.subtree(root);
    let units = tree.plan_units(&members);
    let input = PlanInput {
        workflow: &workflow,
        anchors: &form.anchors,
        params: &form.params,
        units: &units,
        tz,
    };
    let params = plan::resolve_params(&workflow, &form.params)
        .map_err(|e| invalid("params", e.to_string()))?;
    let planned = plan::plan_with_overrides(&input, &form.unit_anchors)
        .map_err(|e| invalid("anchors", e.to_string()))?;

    let title = form
        .title
        .clone()
        .unwrap_or_else(|| format!("{} {}", tree.node(root).name, workflow.title));
    let campaign = Campaign {
        id: uuid::Uuid::now_v7().to_string(),
        title,
        workflow_id: stored.id.clone(),
        workflow_version: stored.version.clone(),
        root_unit_id: form.root_unit_id.clone(),
        timezone: tz.name().to_owned(),
        anchors_json: serde_json::to_string(&form.anchors).unwrap_or_default(),
        unit_anchors_json: serde_json::to_string(&form.unit_anchors).unwrap_or_default(),
        params_json: serde_json::to_string(&params).unwrap_or_default(),
        status: ACTIVE.to_owned(),
        created_at: ctx.at,
        created_by: ctx.actor.clone(),
        updated_at: ctx.at,
    };

    let roles: Vec<&str> = workflow.roles.keys().map(String::as_str).collect();
    conn.transaction(|conn| {
        crate::db::begin_write(conn)?;
        let mut owners = OwnerResolver::load(conn, &roles)?;
        diesel::insert_into(campaigns::table)
            .values(&campaign)
            .execute(conn)?;
        // Rows are built and written a slice at a time, so a province-wide start never holds
        // a million task rows in memory at once.
        let mut created = 0;
        let mut blocked = 0;
        let mut unassigned = Vec::new();
        for slice in planned.chunks(START_SLICE) {
            let rows = task_rows(&workflow, &tree, &campaign, ctx, slice, &mut owners);
            created += rows.len();
            blocked += rows.iter().filter(|t| t.status == task::BLOCKED).count();
            crate::db::insert_all!(conn, crate::db::schema::tasks::table, &rows);
            unassigned.extend(rows.iter().filter(|t| t.owner_id.is_none()).map(|t| {
                let unit = tree.require(&t.unit_id).map(|i| tree.node(i).name.clone());
                Unassigned {
                    task_id: t.id.clone(),
                    step_id: t.step_id.clone().unwrap_or_default(),
                    unit_id: t.unit_id.clone(),
                    unit_name: unit.unwrap_or_default(),
                    role: t.owner_role.clone().unwrap_or_default(),
                }
            }));
        }
        audit::record(
            conn,
            ctx,
            "campaign.started",
            "campaign",
            &campaign.id,
            None::<&()>,
            Some(&json!({
                "campaign": &campaign,
                "tasks_created": created,
                "unassigned": unassigned.len(),
            })),
        )?;
        if !unassigned.is_empty() {
            queue_unassigned_for_admins(
                conn,
                ctx,
                Some(&campaign.id),
                format!("{}: {} 项任务没有负责人", campaign.title, unassigned.len()),
                json!({ "campaign_id": campaign.id, "tasks": unassigned }),
            )?;
        }
        Ok(StartReport {
            tasks_created: created,
            blocked,
            unassigned,
            campaign: campaign.clone(),
        })
    })
}

/// Builds the task rows of a plan. A task waits (`blocked`) when a step it needs has a task in
/// a related unit; a need with no task anywhere near (a skipped level) does not hold it back.
pub(crate) fn task_rows(
    workflow: &Workflow,
    tree: &UnitTree,
    campaign: &Campaign,
    ctx: &WriteContext,
    planned: &[PlannedTask],
    owners: &mut OwnerResolver,
) -> Vec<Task> {
    let scopes: HashMap<&str, crate::org::Level> = workflow
        .steps()
        .filter_map(|s| {
            crate::org::Level::parse(&s.scope.value)
                .ok()
                .map(|l| (s.id.value.as_str(), l))
        })
        .collect();
    let steps: HashMap<&str, &Step> = workflow.steps().map(|s| (s.id.value.as_str(), s)).collect();
    let campaign_root = tree.find(&campaign.root_unit_id);
    planned
        .iter()
        .filter_map(|p| {
            let unit = tree.find(&p.unit_id)?;
            let step = *steps.get(p.step.as_str())?;
            // Every unit of a step's scope in the campaign has a task of it, so a need holds a
            // task back exactly when a related unit exists inside the campaign.
            let waits = step.needs.iter().any(|need| {
                scopes.get(need.value.as_str()).is_some_and(|level| {
                    tree.related(unit, *level)
                        .into_iter()
                        .any(|u| campaign_root.is_some_and(|r| tree.is_within(u, r)))
                })
            });
            let (due_at, due_after) = match &p.due {
                Deadline::At { at } => (Some(at.naive_utc()), None),
                Deadline::Pending { after } => (None, Some(after.clone())),
            };
            Some(Task {
                campaign_id: Some(campaign.id.clone()),
                stage_id: Some(p.stage.clone()),
                step_id: Some(p.step.clone()),
                occurrence: i64::from(p.occurrence),
                owner_role: Some(p.owner_role.clone()),
                owner_id: owners.owner(tree, unit, &p.owner_role),
                status: if waits { task::BLOCKED } else { task::OPEN }.to_owned(),
                opens_at: p.opens.map(|t| t.naive_utc()),
                due_at,
                due_after,
                statutory: p.statutory,
                ..Task::fresh(ctx, task::KIND_STEP, &p.unit_id, &step.title)
            })
        })
        .collect()
}

#[derive(Debug, Insertable)]
#[diesel(table_name = notifications)]
pub struct NewNotification {
    pub id: String,
    pub kind: String,
    pub recipient_id: Option<String>,
    pub campaign_id: Option<String>,
    pub task_id: Option<String>,
    pub subject: String,
    pub payload_json: String,
    pub status: String,
    pub attempts: i64,
    pub created_at: NaiveDateTime,
}

impl NewNotification {
    pub fn new(
        ctx: &WriteContext,
        kind: &str,
        recipient_id: Option<String>,
        campaign_id: Option<&str>,
        subject: String,
        payload: serde_json::Value,
    ) -> NewNotification {
        NewNotification {
            id: uuid::Uuid::now_v7().to_string(),
            kind: kind.to_owned(),
            recipient_id,
            campaign_id: campaign_id.map(str::to_owned),
            task_id: None,
            subject,
            payload_json: payload.to_string(),
            status: "pending".to_owned(),
            attempts: 0,
            created_at: ctx.at,
        }
    }
}

/// Tasks nobody is responsible for go to the admins as one message (no recipient: the mailer
/// sends it to every admin).
pub(crate) fn queue_unassigned_for_admins(
    conn: &mut DbConnection,
    ctx: &WriteContext,
    campaign_id: Option<&str>,
    subject: String,
    payload: serde_json::Value,
) -> Result<(), AppError> {
    let note = NewNotification::new(ctx, "unassigned", None, campaign_id, subject, payload);
    diesel::insert_into(notifications::table)
        .values(&note)
        .execute(conn)?;
    Ok(())
}
