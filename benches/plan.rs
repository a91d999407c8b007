//! Timing of `huanjie check` and the planner on a generated county: 1 county, townships of 30
//! villages each, 4 groups per village. Run with `cargo bench --bench plan`.
//!
//! Plain `std::time::Instant` and medians, no benchmark framework: the question is only whether
//! a county plans in milliseconds and whether time per task stays flat as the county grows.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use huanjie::org::Level;
use huanjie::plan::{plan, PlanInput, PlanUnit};
use huanjie::workflow::Workflow;

const WORKFLOW: &str = "workflows/village-committee.yaml";
const VILLAGES_PER_TOWNSHIP: usize = 30;
const GROUPS_PER_VILLAGE: usize = 4;

/// A county with `villages` villages. The planner groups units by level and does not walk the
/// tree, so every unit of the county goes into one call, as a campaign over the county would.
fn county(villages: usize) -> Vec<PlanUnit> {
    let unit = |id: String, parent: Option<&str>, level: Level| PlanUnit {
        name: id.clone(),
        id,
        parent_id: parent.map(str::to_owned),
        level,
    };
    let mut units = vec![unit("county".into(), None, Level::County)];
    let townships = villages.div_ceil(VILLAGES_PER_TOWNSHIP);
    for t in 0..townships {
        let township = format!("t{t}");
        units.push(unit(township.clone(), Some("county"), Level::Township));
        let in_this = VILLAGES_PER_TOWNSHIP.min(villages - t * VILLAGES_PER_TOWNSHIP);
        for v in 0..in_this {
            let village = format!("{township}-v{v}");
            units.push(unit(village.clone(), Some(&township), Level::Village));
            for g in 0..GROUPS_PER_VILLAGE {
                units.push(unit(
                    format!("{village}-g{g}"),
                    Some(&village),
                    Level::Group,
                ));
            }
        }
    }
    units
}

/// Runs `f` until there are enough samples for a stable median (at least 15 runs and half a
/// second, at most 500 runs) and returns the median and the last result.
fn measure<T>(mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut last = black_box(f()); // warm-up: caches, allocator
    let mut samples = Vec::new();
    let started = Instant::now();
    while samples.len() < 500
        && (samples.len() < 15 || started.elapsed() < Duration::from_millis(500))
    {
        let t = Instant::now();
        last = black_box(f());
        samples.push(t.elapsed());
    }
    samples.sort();
    (samples[samples.len() / 2], last)
}

fn plan_county(workflow: &Workflow, units: &[PlanUnit]) -> usize {
    let anchors = BTreeMap::from([(
        "election_day".to_owned(),
        NaiveDate::from_ymd_opt(2026, 12, 20).expect("valid date"),
    )]);
    let params = BTreeMap::new();
    plan(&PlanInput {
        workflow,
        anchors: &anchors,
        params: &params,
        units,
        tz: chrono_tz::Asia::Shanghai,
    })
    .expect("the shipped workflow plans")
    .len()
}

fn show(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(WORKFLOW);
    let bytes = std::fs::read(&path).expect("the shipped workflow");
    let load = || huanjie::workflow::load(WORKFLOW, &bytes).expect("the shipped workflow passes");
    let (load_time, workflow) = measure(load);
    println!("{WORKFLOW}: {} bytes", bytes.len());
    println!("(a) load + validate                {:>12}", show(load_time));

    let units = county(300);
    let (plan_time, tasks) = measure(|| plan_county(&workflow, &units));
    println!(
        "(b) plan, 300 villages ({} units)  {:>12}  {tasks} tasks",
        units.len(),
        show(plan_time)
    );

    println!("(c) linearity");
    println!(
        "{:>9} {:>7} {:>9} {:>12} {:>9}",
        "villages", "units", "tasks", "median", "ns/task"
    );
    for villages in [30, 100, 300, 1000, 3000] {
        let units = county(villages);
        let (time, tasks) = measure(|| plan_county(&workflow, &units));
        println!(
            "{villages:>9} {:>7} {tasks:>9} {:>12} {:>9.0}",
            units.len(),
            show(time),
            time.as_nanos() as f64 / tasks as f64
        );
    }
}
