//! The day-by-day timetable (工作日程) a township prints: one row per step (and occurrence),
//! with its date, weekday, distance from election day and legal basis.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::Serialize;

use super::{plan, weekday_zh, Deadline, PlanError, PlanInput, PlanUnit};
use crate::org::Level;
use crate::workflow::Workflow;

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub stage: String,
    pub step: String,
    pub step_id: String,
    pub owner: String,
    /// Local date of the deadline; `None` while it waits on another step.
    pub due: Option<NaiveDate>,
    pub weekday: Option<&'static str>,
    /// `D-20`, `D`, `D+3`; or `vote 完成后` for a pending deadline.
    pub relative: String,
    pub statutory: bool,
    pub basis: String,
}

/// Plans the workflow for one unit of each level and lays the steps out as a timetable.
pub fn timetable(
    workflow: &Workflow,
    anchor: &str,
    day: NaiveDate,
    params: &BTreeMap<String, i64>,
    tz: Tz,
) -> Result<Vec<Row>, PlanError> {
    let mut anchors = BTreeMap::new();
    for name in workflow.anchors.keys() {
        anchors.insert(name.clone(), day);
    }
    if !anchors.contains_key(anchor) {
        return Err(PlanError(format!("工作流没有锚定日期 {anchor}")));
    }
    let units: Vec<PlanUnit> = Level::ALL
        .iter()
        .enumerate()
        .map(|(i, level)| PlanUnit {
            id: level.as_str().to_owned(),
            parent_id: (i > 0).then(|| Level::ALL[i - 1].as_str().to_owned()),
            level: *level,
            name: level.title().to_owned(),
        })
        .collect();
    let tasks = plan(&PlanInput {
        workflow,
        anchors: &anchors,
        params,
        units: &units,
        tz,
    })?;
    let steps: BTreeMap<&str, (&str, &crate::workflow::model::Step)> = workflow
        .stages
        .iter()
        .flat_map(|s| {
            s.steps
                .iter()
                .map(move |st| (st.id.value.as_str(), (s.title.as_str(), st)))
        })
        .collect();
    Ok(tasks
        .iter()
        .filter_map(|t| {
            let (stage, step) = steps.get(t.step.as_str())?;
            let owner = workflow
                .roles
                .get(&step.owner.value)
                .map_or(step.owner.value.clone(), |r| r.value.title.clone());
            let basis = match (&step.statutory, &step.basis) {
                (Some(s), _) => format!("{}: {}", s.basis, s.rule),
                (None, Some(b)) => b.clone(),
                (None, None) => String::new(),
            };
            let (due, relative) = match &t.due {
                Deadline::At { at } => {
                    let local = at.with_timezone(&tz).date_naive();
                    let diff = (local - day).num_days();
                    let rel = match diff {
                        0 => "D".to_owned(),
                        d if d < 0 => format!("D{d}"),
                        d => format!("D+{d}"),
                    };
                    (Some(local), rel)
                }
                Deadline::Pending { after } => {
                    let expr = step.due.as_ref().map_or(String::new(), |d| d.value.clone());
                    (None, format!("{after} 完成后 ({expr})"))
                }
            };
            let title = if t.occurrence > 0 {
                format!("{} (第{}次)", step.title, t.occurrence)
            } else {
                step.title.clone()
            };
            Some(Row {
                stage: (*stage).to_owned(),
                step: title,
                step_id: t.step.clone(),
                owner,
                due,
                weekday: due.map(weekday_zh),
                relative,
                statutory: t.statutory,
                basis,
            })
        })
        .collect())
}

pub fn to_table(rows: &[Row]) -> String {
    let mut out = String::new();
    let mut stage = "";
    for r in rows {
        if r.stage != stage {
            stage = &r.stage;
            out.push_str(&format!("\n【{stage}】\n"));
        }
        let date = r.due.map_or("待定      ".to_owned(), |d| {
            d.format("%Y-%m-%d").to_string()
        });
        let weekday = r.weekday.map_or("  ".to_owned(), |w| format!("周{w}"));
        let mark = if r.statutory { "★" } else { " " };
        out.push_str(&format!(
            "{date} {weekday} {:<6} {mark} {} [{}]",
            r.relative, r.step, r.owner
        ));
        if !r.basis.is_empty() {
            out.push_str(&format!("  依据: {}", r.basis));
        }
        out.push('\n');
    }
    out.push_str("\n★ 法定时限\n");
    out
}

pub fn to_csv(rows: &[Row]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "阶段",
        "步骤",
        "步骤标识",
        "责任人",
        "截止日期",
        "星期",
        "距选举日",
        "法定",
        "依据",
    ]);
    for r in rows {
        let _ = w.write_record([
            r.stage.as_str(),
            r.step.as_str(),
            r.step_id.as_str(),
            r.owner.as_str(),
            &r.due.map(|d| d.to_string()).unwrap_or_default(),
            &r.weekday.map(|w| format!("周{w}")).unwrap_or_default(),
            r.relative.as_str(),
            if r.statutory { "是" } else { "" },
            r.basis.as_str(),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}
