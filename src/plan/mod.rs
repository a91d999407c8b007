//! The planner: a pure function from (workflow, anchors, params, unit tree, time zone) to the
//! task list with its `opens` and `due` instants. No database, no clock.
//!
//! Deadlines are day-granular unless written in hours (DESIGN §3.1): `election_day - 20d` is
//! the end of that local day (23:59:59), and an `opens` on a day is its start (00:00). Hour
//! offsets count from the start of the anchor day. Local times are resolved in the campaign's
//! time zone and stored in UTC; a local time that a DST change skips moves to the next valid
//! instant, and an ambiguous one takes the earlier.

pub mod timetable;

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::org::Level;
use crate::workflow::deadline::{self, DeadlineExpr, Reference, Unit as OffsetUnit};
use crate::workflow::model::{Step, Workflow};

/// A recurring step never yields more tasks than this per unit, whatever its schedule.
pub const MAX_OCCURRENCES: usize = 400;

#[derive(Debug, Clone)]
pub struct PlanUnit {
    pub id: String,
    pub parent_id: Option<String>,
    pub level: Level,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Deadline {
    /// Known now.
    At { at: DateTime<Utc> },
    /// Known once the referenced step is done (`vote.done + 10d`).
    Pending { after: String },
}

#[derive(Debug, Clone, Serialize)]
pub struct PlannedTask {
    pub stage: String,
    pub step: String,
    pub unit_id: String,
    /// 0 for a one-off step; 1, 2, … for the occurrences of a recurring one.
    pub occurrence: u32,
    pub owner_role: String,
    pub opens: Option<DateTime<Utc>>,
    pub due: Deadline,
    pub statutory: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PlanError(pub String);

pub struct PlanInput<'a> {
    pub workflow: &'a Workflow,
    pub anchors: &'a BTreeMap<String, NaiveDate>,
    pub params: &'a BTreeMap<String, i64>,
    pub units: &'a [PlanUnit],
    pub tz: Tz,
}

/// The start of a local day as a UTC instant, across DST gaps.
pub fn start_of_day(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    local_instant(tz, date.and_time(NaiveTime::MIN))
}

/// The last second of a local day as a UTC instant.
pub fn end_of_day(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    let last = NaiveTime::from_hms_opt(23, 59, 59).expect("valid time");
    local_instant(tz, date.and_time(last))
}

fn local_instant(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let mut probe = local;
    // A skipped local time (spring forward) lies at most a few hours before a valid one.
    for _ in 0..6 {
        if let Some(t) = tz.from_local_datetime(&probe).earliest() {
            return t.with_timezone(&Utc);
        }
        probe += Duration::minutes(30);
    }
    Utc.from_utc_datetime(&local)
}

/// Whether the expression is an "end of day" or an hour-precise instant.
fn is_day_granular(expr: &DeadlineExpr) -> bool {
    expr.offset
        .as_ref()
        .is_none_or(|o| !matches!(o.unit, OffsetUnit::Hours))
}

/// When a step was done, as seen from the unit being planned; `None` while it is not.
pub type DoneLookup<'a> = &'a dyn Fn(&str) -> Option<DateTime<Utc>>;

struct Planner<'a> {
    input: &'a PlanInput<'a>,
    steps: HashMap<&'a str, &'a Step>,
    params: BTreeMap<String, i64>,
    /// The input's anchors with the overrides of one unit subtree applied.
    anchors: BTreeMap<String, NaiveDate>,
    done: Option<DoneLookup<'a>>,
}

/// What an expression evaluates to before the day-end rule is applied.
enum Point {
    Date(NaiveDate),
    Instant(DateTime<Utc>),
}

impl<'a> Planner<'a> {
    fn param(&self, name: &str) -> Option<i64> {
        self.params.get(name).copied()
    }

    fn eval(&self, expr: &DeadlineExpr, depth: usize) -> Result<Option<Point>, PlanError> {
        if depth > 64 {
            return Err(PlanError("截止时间引用层次过深".into()));
        }
        let hours = expr.offset_hours(|p| self.param(p)).map_err(PlanError)?;
        let base = match &expr.reference {
            Reference::Anchor(a) => {
                let date = self
                    .anchors
                    .get(a)
                    .ok_or_else(|| PlanError(format!("缺少锚定日期 {a} 的值")))?;
                Point::Date(*date)
            }
            Reference::Due(s) => {
                let step = self
                    .steps
                    .get(s.as_str())
                    .ok_or_else(|| PlanError(format!("步骤 {s} 不存在")))?;
                let Some(due) = &step.due else {
                    return Ok(None);
                };
                match self.eval(&parse(&due.value)?, depth + 1)? {
                    Some(p) => p,
                    None => return Ok(None),
                }
            }
            Reference::Done(s) => match self.done.and_then(|done| done(s)) {
                // `vote.done + 10d` counts days from the local day the vote was done.
                Some(t) if is_day_granular(expr) => {
                    Point::Date(t.with_timezone(&self.input.tz).date_naive())
                }
                Some(t) => Point::Instant(t),
                None => return Ok(None),
            },
        };
        Ok(Some(match (base, is_day_granular(expr)) {
            (Point::Date(d), true) => Point::Date(d + Duration::days(hours / 24)),
            (Point::Date(d), false) => {
                Point::Instant(start_of_day(self.input.tz, d) + Duration::hours(hours))
            }
            (Point::Instant(t), _) => Point::Instant(t + Duration::hours(hours)),
        }))
    }

    fn due(&self, expr: &DeadlineExpr) -> Result<Deadline, PlanError> {
        Ok(match self.eval(expr, 0)? {
            Some(Point::Date(d)) => Deadline::At {
                at: end_of_day(self.input.tz, d),
            },
            Some(Point::Instant(t)) => Deadline::At { at: t },
            None => Deadline::Pending {
                after: expr.step_ref().unwrap_or_default().to_owned(),
            },
        })
    }

    fn opens(&self, expr: &DeadlineExpr) -> Result<Option<DateTime<Utc>>, PlanError> {
        Ok(match self.eval(expr, 0)? {
            Some(Point::Date(d)) => Some(start_of_day(self.input.tz, d)),
            Some(Point::Instant(t)) => Some(t),
            None => None,
        })
    }
}

fn parse(text: &str) -> Result<DeadlineExpr, PlanError> {
    deadline::parse(text).map_err(|e| PlanError(format!("\"{text}\": {e}")))
}

/// Checks campaign parameters against the workflow's bounds and fills in defaults.
pub fn resolve_params(
    workflow: &Workflow,
    given: &BTreeMap<String, i64>,
) -> Result<BTreeMap<String, i64>, PlanError> {
    let mut out = BTreeMap::new();
    for name in given.keys() {
        if !workflow.params.contains_key(name) {
            let known: Vec<&str> = workflow.params.keys().map(String::as_str).collect();
            return Err(PlanError(format!(
                "工作流没有参数 \"{name}\"; 可用的参数: {}",
                known.join(", ")
            )));
        }
    }
    for (name, def) in &workflow.params {
        let value = given.get(name).copied().unwrap_or(def.value.default);
        if def.value.min.is_some_and(|m| value < m) || def.value.max.is_some_and(|m| value > m) {
            return Err(PlanError(format!(
                "参数 {name} ({}) = {value} 超出允许范围 [{}, {}]",
                def.value.title,
                def.value.min.map_or("-∞".into(), |m| m.to_string()),
                def.value.max.map_or("+∞".into(), |m| m.to_string())
            )));
        }
        out.insert(name.clone(), value);
    }
    Ok(out)
}

/// Anchor dates that differ for one unit and everything below it (one village votes a week
/// later): unit id → anchor → date.
pub type UnitAnchors = BTreeMap<String, BTreeMap<String, NaiveDate>>;

/// Plans every task of the workflow over the units. Tasks come out in stage, step and unit
/// order, occurrences in time order.
pub fn plan(input: &PlanInput<'_>) -> Result<Vec<PlannedTask>, PlanError> {
    plan_with_overrides(input, &UnitAnchors::new())
}

/// For each unit, the nearest unit at or above it that overrides anchors, if any.
fn override_holders<'a>(units: &'a [PlanUnit], overrides: &UnitAnchors) -> Vec<Option<&'a str>> {
    let parents: HashMap<&str, Option<&str>> = units
        .iter()
        .map(|u| (u.id.as_str(), u.parent_id.as_deref()))
        .collect();
    units
        .iter()
        .map(|u| {
            let mut at = Some(u.id.as_str());
            // Bounded by the tree depth; the guard only protects against a malformed cycle.
            for _ in 0..64 {
                let id = at?;
                if overrides.contains_key(id) {
                    return Some(id);
                }
                at = parents.get(id).copied().flatten();
            }
            None
        })
        .collect()
}

/// [`plan`] with per-unit anchor overrides.
pub fn plan_with_overrides(
    input: &PlanInput<'_>,
    overrides: &UnitAnchors,
) -> Result<Vec<PlannedTask>, PlanError> {
    let workflow = input.workflow;
    for anchor in workflow.anchors.keys() {
        if !input.anchors.contains_key(anchor) {
            let title = &workflow.anchors[anchor].value.title;
            return Err(PlanError(format!("缺少锚定日期 {anchor} ({title})")));
        }
    }
    for (unit, dates) in overrides {
        for anchor in dates.keys() {
            if !workflow.anchors.contains_key(anchor) {
                return Err(PlanError(format!(
                    "单元 {unit} 的锚定日期 \"{anchor}\" 不是本工作流的锚定日期"
                )));
            }
        }
    }
    let params = resolve_params(workflow, input.params)?;
    let steps: HashMap<&str, &Step> = workflow.steps().map(|s| (s.id.value.as_str(), s)).collect();
    // One planner per distinct set of anchors: the campaign's, and each override's.
    let holders = override_holders(input.units, overrides);
    let mut group_of: HashMap<Option<&str>, usize> = HashMap::new();
    let mut planners = Vec::new();
    let unit_group: Vec<usize> = holders
        .iter()
        .map(|holder| {
            *group_of.entry(*holder).or_insert_with(|| {
                let mut anchors = input.anchors.clone();
                if let Some(h) = holder {
                    anchors.extend(overrides[*h].iter().map(|(k, v)| (k.clone(), *v)));
                }
                planners.push(Planner {
                    input,
                    steps: steps.clone(),
                    params: params.clone(),
                    anchors,
                    done: None,
                });
                planners.len() - 1
            })
        })
        .collect();
    let mut by_level: BTreeMap<Level, Vec<(&PlanUnit, usize)>> = BTreeMap::new();
    for (u, group) in input.units.iter().zip(&unit_group) {
        by_level.entry(u.level).or_default().push((u, *group));
    }
    let mut tasks = Vec::new();
    for stage in &workflow.stages {
        for step in &stage.steps {
            let scope = Level::parse(&step.scope.value).map_err(PlanError)?;
            let units = by_level.get(&scope).map(Vec::as_slice).unwrap_or(&[]);
            if units.is_empty() {
                continue;
            }
            let template = |unit: &PlanUnit,
                            occurrence: u32,
                            opens: Option<DateTime<Utc>>,
                            due: Deadline| PlannedTask {
                stage: stage.id.value.clone(),
                step: step.id.value.clone(),
                unit_id: unit.id.clone(),
                occurrence,
                owner_role: step.owner.value.clone(),
                opens,
                due,
                statutory: step.statutory.is_some(),
            };
            // Each group's dates for this step, computed once and shared by its units.
            let mut dates: HashMap<usize, StepDates> = HashMap::new();
            for (unit, group) in units {
                if !dates.contains_key(group) {
                    dates.insert(*group, step_dates(&planners[*group], step)?);
                }
                match &dates[group] {
                    StepDates::Recurring { opens, occurrences } => {
                        for (i, at) in occurrences.iter().enumerate() {
                            tasks.push(template(
                                unit,
                                i as u32 + 1,
                                *opens,
                                Deadline::At { at: *at },
                            ));
                        }
                    }
                    StepDates::Once { opens, due } => {
                        tasks.push(template(unit, 0, *opens, due.clone()))
                    }
                }
            }
        }
    }
    Ok(tasks)
}

enum StepDates {
    Once {
        opens: Option<DateTime<Utc>>,
        due: Deadline,
    },
    Recurring {
        opens: Option<DateTime<Utc>>,
        occurrences: Vec<DateTime<Utc>>,
    },
}

fn step_dates(planner: &Planner<'_>, step: &Step) -> Result<StepDates, PlanError> {
    let opens = match &step.opens {
        Some(o) => planner.opens(&parse(&o.value)?)?,
        None => None,
    };
    Ok(match (&step.every, &step.due) {
        (Some(every), _) => StepDates::Recurring {
            opens,
            occurrences: recurrences(planner, step, &every.value)?,
        },
        (None, Some(due)) => StepDates::Once {
            opens,
            due: planner.due(&parse(&due.value)?)?,
        },
        (None, None) => {
            return Err(PlanError(format!(
                "步骤 {} 既没有 due 也没有 every",
                step.id.value
            )))
        }
    })
}

/// The deadline of one step in one unit once some of the steps it refers to are done: the
/// dynamic deadlines (`vote.done + 10d`) of DESIGN §3.1. `Ok(None)` for the opens of a step
/// without `opens`; `Deadline::Pending` while a referenced step is still not done.
pub fn dynamic_dates(
    input: &PlanInput<'_>,
    step_id: &str,
    done: DoneLookup<'_>,
) -> Result<(Option<DateTime<Utc>>, Deadline), PlanError> {
    let workflow = input.workflow;
    let steps: HashMap<&str, &Step> = workflow.steps().map(|s| (s.id.value.as_str(), s)).collect();
    let step = *steps
        .get(step_id)
        .ok_or_else(|| PlanError(format!("步骤 {step_id} 不存在")))?;
    let planner = Planner {
        input,
        steps,
        params: resolve_params(workflow, input.params)?,
        anchors: input.anchors.clone(),
        done: Some(done),
    };
    let opens = match &step.opens {
        Some(o) => planner.opens(&parse(&o.value)?)?,
        None => None,
    };
    let due = match &step.due {
        Some(d) => planner.due(&parse(&d.value)?)?,
        None => return Err(PlanError(format!("步骤 {step_id} 没有 due"))),
    };
    Ok((opens, due))
}

/// The occurrences of a recurring step between its `from` and `until`, in the campaign's zone.
fn recurrences(
    planner: &Planner<'_>,
    step: &Step,
    every: &str,
) -> Result<Vec<DateTime<Utc>>, PlanError> {
    let schedule = cron::Schedule::from_str(every)
        .map_err(|e| PlanError(format!("every \"{every}\": {e}")))?;
    let bound = |v: &Option<serde_saphyr::Spanned<String>>,
                 what: &str|
     -> Result<Option<DateTime<Utc>>, PlanError> {
        let Some(v) = v else {
            return Err(PlanError(format!("周期步骤 {} 缺少 {what}", step.id.value)));
        };
        let expr = parse(&v.value)?;
        Ok(match planner.eval(&expr, 0)? {
            Some(Point::Date(d)) if what == "from" => Some(start_of_day(planner.input.tz, d)),
            Some(Point::Date(d)) => Some(end_of_day(planner.input.tz, d)),
            Some(Point::Instant(t)) => Some(t),
            None => None,
        })
    };
    let (Some(from), Some(until)) = (bound(&step.from, "from")?, bound(&step.until, "until")?)
    else {
        return Ok(Vec::new());
    };
    let tz = planner.input.tz;
    // One second before `from`, so an occurrence exactly at `from` counts.
    let start = (from - Duration::seconds(1)).with_timezone(&tz);
    Ok(schedule
        .after(&start)
        .map(|t| t.with_timezone(&Utc))
        .take_while(|t| *t <= until)
        .take(MAX_OCCURRENCES)
        .collect())
}

/// Chinese weekday names for timetables.
pub fn weekday_zh(date: NaiveDate) -> &'static str {
    ["一", "二", "三", "四", "五", "六", "日"][date.weekday().num_days_from_monday() as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workflow(text: &str) -> Workflow {
        crate::workflow::load("t.yaml", text.as_bytes()).unwrap_or_else(|e| panic!("{e:?}"))
    }

    const HEAD: &str = "id: t\nversion: \"1\"\ntitle: t\nanchors: { election_day: { title: 选举日 } }\nparams: { days: { title: d, default: 5, min: 3, max: 7 } }\nroles: { cadre: { title: 包村干部, level: village }, chief: { title: 乡镇领导, level: township } }\n";

    fn units() -> Vec<PlanUnit> {
        let u = |id: &str, parent: Option<&str>, level| PlanUnit {
            id: id.into(),
            parent_id: parent.map(Into::into),
            level,
            name: id.into(),
        };
        vec![
            u("t", None, Level::Township),
            u("v1", Some("t"), Level::Village),
            u("v2", Some("t"), Level::Village),
        ]
    }

    fn run(text: &str, params: &[(&str, i64)], tz: Tz, day: NaiveDate) -> Vec<PlannedTask> {
        let wf = workflow(text);
        let anchors = BTreeMap::from([("election_day".to_owned(), day)]);
        let params = params.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        plan(&PlanInput {
            workflow: &wf,
            anchors: &anchors,
            params: &params,
            units: &units(),
            tz,
        })
        .unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn day_deadlines_end_the_local_day_and_follow_params() {
        let text = format!("{HEAD}stages:\n  - id: s\n    title: s\n    steps:\n      - {{ id: list, title: l, scope: village, owner: cadre, due: election_day - 20d }}\n      - {{ id: cands, title: c, scope: village, owner: cadre, due: \"election_day - ${{days}}d\" }}\n      - {{ id: vote, title: v, scope: village, owner: cadre, opens: election_day, due: election_day + 12h }}\n      - {{ id: hand, title: h, scope: village, owner: cadre, due: vote.done + 10d }}\n");
        let tasks = run(
            &text,
            &[("days", 3)],
            chrono_tz::Asia::Shanghai,
            date(2026, 12, 20),
        );
        assert_eq!(tasks.len(), 8, "four steps in two villages");
        let at = |step: &str| tasks.iter().find(|t| t.step == step).unwrap().due.clone();
        // 2026-11-30 23:59:59 in Shanghai is 15:59:59 UTC.
        assert_eq!(
            at("list"),
            Deadline::At {
                at: Utc.with_ymd_and_hms(2026, 11, 30, 15, 59, 59).unwrap()
            }
        );
        assert_eq!(
            at("cands"),
            Deadline::At {
                at: Utc.with_ymd_and_hms(2026, 12, 17, 15, 59, 59).unwrap()
            }
        );
        assert_eq!(
            at("vote"),
            Deadline::At {
                at: Utc.with_ymd_and_hms(2026, 12, 20, 4, 0, 0).unwrap()
            }
        );
        assert_eq!(
            at("hand"),
            Deadline::Pending {
                after: "vote".into()
            }
        );
        let vote = tasks.iter().find(|t| t.step == "vote").unwrap();
        assert_eq!(
            vote.opens,
            Some(Utc.with_ymd_and_hms(2026, 12, 19, 16, 0, 0).unwrap())
        );
    }

    #[test]
    fn params_out_of_bounds_are_refused() {
        let text = format!("{HEAD}stages:\n  - id: s\n    title: s\n    steps:\n      - {{ id: a, title: a, scope: village, owner: cadre, due: election_day }}\n");
        let wf = workflow(&text);
        let anchors = BTreeMap::from([("election_day".to_owned(), date(2026, 12, 20))]);
        for (k, v) in [("days", 9), ("nope", 1)] {
            let params = BTreeMap::from([(k.to_owned(), v)]);
            assert!(plan(&PlanInput {
                workflow: &wf,
                anchors: &anchors,
                params: &params,
                units: &units(),
                tz: chrono_tz::UTC
            })
            .is_err());
        }
        let err = plan(&PlanInput {
            workflow: &wf,
            anchors: &BTreeMap::new(),
            params: &BTreeMap::new(),
            units: &units(),
            tz: chrono_tz::UTC,
        })
        .unwrap_err();
        assert!(err.0.contains("election_day"), "{err}");
    }

    fn at(d: &Deadline) -> DateTime<Utc> {
        match d {
            Deadline::At { at } => *at,
            Deadline::Pending { after } => panic!("pending on {after}"),
        }
    }

    #[test]
    fn an_anchor_override_moves_one_unit_and_what_is_below_it() {
        let text = format!("{HEAD}stages:\n  - id: s\n    title: s\n    steps:\n      - {{ id: a, title: a, scope: village, owner: cadre, due: election_day - 1d }}\n      - {{ id: t, title: t, scope: township, owner: chief, due: election_day }}\n");
        let wf = workflow(&text);
        let anchors = BTreeMap::from([("election_day".to_owned(), date(2026, 12, 20))]);
        let overrides = UnitAnchors::from([(
            "v2".to_owned(),
            BTreeMap::from([("election_day".to_owned(), date(2026, 12, 27))]),
        )]);
        let input = PlanInput {
            workflow: &wf,
            anchors: &anchors,
            params: &BTreeMap::new(),
            units: &units(),
            tz: chrono_tz::UTC,
        };
        let tasks = plan_with_overrides(&input, &overrides).unwrap();
        let due = |step: &str, unit: &str| {
            at(&tasks
                .iter()
                .find(|t| t.step == step && t.unit_id == unit)
                .unwrap()
                .due)
            .date_naive()
        };
        assert_eq!(due("a", "v1"), date(2026, 12, 19));
        assert_eq!(due("a", "v2"), date(2026, 12, 26));
        assert_eq!(
            due("t", "t"),
            date(2026, 12, 20),
            "the township keeps the campaign's day"
        );
        let bad = UnitAnchors::from([(
            "v2".to_owned(),
            BTreeMap::from([("polling_day".to_owned(), date(2026, 12, 27))]),
        )]);
        assert!(plan_with_overrides(&input, &bad)
            .unwrap_err()
            .0
            .contains("polling_day"));
    }

    #[test]
    fn dynamic_deadlines_count_from_the_local_day_a_step_was_done() {
        let text = format!("{HEAD}stages:\n  - id: s\n    title: s\n    steps:\n      - {{ id: vote, title: v, scope: village, owner: cadre, due: election_day }}\n      - {{ id: handover, title: h, scope: village, owner: cadre, needs: [vote], due: vote.done + 10d }}\n      - {{ id: report, title: r, scope: village, owner: cadre, needs: [vote], due: vote.done + 6h }}\n");
        let wf = workflow(&text);
        let anchors = BTreeMap::from([("election_day".to_owned(), date(2026, 12, 20))]);
        let input = PlanInput {
            workflow: &wf,
            anchors: &anchors,
            params: &BTreeMap::new(),
            units: &units(),
            tz: chrono_tz::Asia::Shanghai,
        };
        let (_, due) = dynamic_dates(&input, "handover", &|_| None).unwrap();
        assert_eq!(
            due,
            Deadline::Pending {
                after: "vote".into()
            }
        );
        // Done at 23:30 local on 20 December (15:30 UTC): ten days later ends 30 December, local.
        let done = Utc.with_ymd_and_hms(2026, 12, 20, 15, 30, 0).unwrap();
        let lookup = |s: &str| (s == "vote").then_some(done);
        let (_, due) = dynamic_dates(&input, "handover", &lookup).unwrap();
        assert_eq!(
            at(&due),
            Utc.with_ymd_and_hms(2026, 12, 30, 15, 59, 59).unwrap()
        );
        let (_, due) = dynamic_dates(&input, "report", &lookup).unwrap();
        assert_eq!(at(&due), done + Duration::hours(6));
    }

    #[test]
    fn recurring_steps_expand_in_local_time_across_dst() {
        // Europe/Berlin leaves summer time on 2026-10-25; a Friday 17:00 report stays 17:00 local.
        let text = format!("{HEAD}stages:\n  - id: s\n    title: s\n    steps:\n      - {{ id: report, title: r, scope: village, owner: cadre, every: \"0 0 17 * * Fri\", from: election_day - 21d, until: election_day - 1d }}\n");
        let tasks = run(&text, &[], chrono_tz::Europe::Berlin, date(2026, 11, 7));
        let v1: Vec<_> = tasks.iter().filter(|t| t.unit_id == "v1").collect();
        assert_eq!(v1.len(), 3, "Fridays 23 and 30 October, 6 November");
        let hours: Vec<u32> = v1
            .iter()
            .map(|t| match t.due {
                Deadline::At { at } => {
                    chrono::Timelike::hour(&at.with_timezone(&chrono_tz::Europe::Berlin))
                }
                _ => 99,
            })
            .collect();
        assert_eq!(hours, [17, 17, 17]);
        let utc: Vec<u32> = v1
            .iter()
            .map(|t| {
                if let Deadline::At { at } = t.due {
                    chrono::Timelike::hour(&at)
                } else {
                    99
                }
            })
            .collect();
        assert_eq!(
            utc,
            [15, 16, 16],
            "the UTC hour moves when the clocks change"
        );
        assert_eq!(
            v1.iter().map(|t| t.occurrence).collect::<Vec<_>>(),
            [1, 2, 3]
        );
    }

    #[test]
    fn a_local_time_skipped_by_dst_moves_forward() {
        // 2026-03-29 02:00 does not exist in Berlin.
        let t = local_instant(
            chrono_tz::Europe::Berlin,
            date(2026, 3, 29).and_hms_opt(2, 0, 0).unwrap(),
        );
        // The next valid local time is 03:00 CEST, which is 01:00 UTC.
        assert_eq!(t, Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap());
    }
}
