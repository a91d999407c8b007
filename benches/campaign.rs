//! Campaign start and progress on a generated county, on SQLite.
//!
//!     cargo bench --bench campaign                       # 300 villages × 4 groups
//!     cargo bench --bench campaign -- --villages 30000   # the province-scale start
//!
//! Each measurement that reports memory runs in a child process of this binary, so its peak
//! resident size (VmHWM) belongs to that operation alone and not to the setup.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use huanjie::audit::WriteContext;
use huanjie::campaign::{self, catalog, StartForm};
use huanjie::db::schema::{assignments, people, tasks, units};
use huanjie::db::{self, DatabaseUrl, DbConnection};

const VILLAGES_PER_TOWNSHIP: usize = 100;
const GROUPS_PER_VILLAGE: usize = 4;

fn now() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 10, 1)
        .unwrap()
        .and_hms_opt(1, 0, 0)
        .unwrap()
}

fn open(path: &Path) -> db::Pool {
    db::connect(&DatabaseUrl::Sqlite(path.to_owned()), 2).expect("database")
}

/// Multi-row inserts in chunks under SQLite's parameter limit.
macro_rules! insert {
    ($conn:expr, $table:expr, $rows:expr) => {{
        let DbConnection::Sqlite(c) = &mut *$conn else {
            panic!("the benchmark runs on SQLite")
        };
        for chunk in $rows.chunks(500) {
            diesel::insert_into($table)
                .values(chunk)
                .execute(c)
                .expect("insert");
        }
    }};
}

#[derive(Insertable)]
#[diesel(table_name = units)]
struct U {
    id: String,
    parent_id: Option<String>,
    level: &'static str,
    kind: Option<&'static str>,
    name: String,
    active: bool,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = people)]
struct P {
    id: String,
    name: String,
    phone: Option<String>,
    email: Option<String>,
    title: Option<String>,
    active: bool,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = assignments)]
struct A {
    id: String,
    person_id: String,
    unit_id: String,
    role: &'static str,
    is_primary: bool,
    active: bool,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// A county of `villages` villages in townships of 100, each village with 4 groups, and the
/// 三包 table filled: a 第一责任人 per township, a 包村干部 and a 村"两委"负责人 per village, a
/// 包组村干部 per group. Returns the county's id.
fn generate(conn: &mut DbConnection, villages: usize) -> String {
    let t = now();
    let id = |kind: &str, n: usize| format!("{kind}-{n:07}");
    let mut us = vec![U {
        id: "county".into(),
        parent_id: None,
        level: "county",
        kind: None,
        name: "测试县".into(),
        active: true,
        created_at: t,
        updated_at: t,
    }];
    let mut ps = Vec::new();
    let mut asg = Vec::new();
    let holder = |unit: &str, role: &'static str, ps: &mut Vec<P>, asg: &mut Vec<A>| {
        let n = ps.len();
        ps.push(P {
            id: id("p", n),
            name: format!("干部{n}"),
            phone: None,
            email: Some(format!("p{n}@example.cn")),
            title: None,
            active: true,
            created_at: t,
            updated_at: t,
        });
        asg.push(A {
            id: id("a", n),
            person_id: id("p", n),
            unit_id: unit.to_owned(),
            role,
            is_primary: true,
            active: true,
            created_at: t,
            updated_at: t,
        });
    };
    for v in 0..villages {
        let town = v / VILLAGES_PER_TOWNSHIP;
        if v % VILLAGES_PER_TOWNSHIP == 0 {
            us.push(U {
                id: id("t", town),
                parent_id: Some("county".into()),
                level: "township",
                kind: None,
                name: format!("第{town}乡"),
                active: true,
                created_at: t,
                updated_at: t,
            });
            holder(&id("t", town), "chief", &mut ps, &mut asg);
        }
        us.push(U {
            id: id("v", v),
            parent_id: Some(id("t", town)),
            level: "village",
            kind: Some("村"),
            name: format!("第{v}村"),
            active: true,
            created_at: t,
            updated_at: t,
        });
        holder(&id("v", v), "cadre", &mut ps, &mut asg);
        holder(&id("v", v), "village", &mut ps, &mut asg);
        for g in 0..GROUPS_PER_VILLAGE {
            let gid = id("g", v * GROUPS_PER_VILLAGE + g);
            us.push(U {
                id: gid.clone(),
                parent_id: Some(id("v", v)),
                level: "group",
                kind: None,
                name: format!("{}组", g + 1),
                active: true,
                created_at: t,
                updated_at: t,
            });
            holder(&gid, "group", &mut ps, &mut asg);
        }
    }
    conn.transaction(|conn| {
        insert!(conn, units::table, &us);
        insert!(conn, people::table, &ps);
        insert!(conn, assignments::table, &asg);
        let ctx = WriteContext::new("bench", t);
        let source = include_str!("../workflows/village-committee.yaml");
        catalog::store(conn, &ctx, "village-committee.yaml", source.as_bytes()).expect("store");
        Ok::<_, diesel::result::Error>(())
    })
    .expect("setup");
    "county".into()
}

fn start(conn: &mut DbConnection) -> campaign::StartReport {
    let form = StartForm {
        title: None,
        workflow_id: "village-committee".into(),
        workflow_version: None,
        root_unit_id: "county".into(),
        anchors: [(
            "election_day".to_owned(),
            NaiveDate::from_ymd_opt(2026, 12, 20).unwrap(),
        )]
        .into(),
        unit_anchors: Default::default(),
        params: Default::default(),
        timezone: None,
    };
    let ctx = WriteContext::new("bench", now());
    campaign::start(
        conn,
        &Default::default(),
        &ctx,
        chrono_tz::Asia::Shanghai,
        form,
    )
    .expect("start")
}

/// The same number of rows as a start, as plain multi-row INSERTs of ready-made task rows.
fn baseline_insert(conn: &mut DbConnection, rows: usize) {
    let t = now();
    conn.transaction(|conn| {
        let mut n = 0;
        while n < rows {
            let batch: Vec<huanjie::task::Task> = (n..(n + 5_000).min(rows))
                .map(|i| huanjie::task::Task {
                    id: format!("{:036}", i),
                    campaign_id: None,
                    kind: "adhoc".into(),
                    stage_id: Some("prepare".into()),
                    step_id: Some(format!("s{}", i % 40)),
                    unit_id: "county".into(),
                    occurrence: i as i64,
                    title: "村级财务届期审计并张榜公布".into(),
                    owner_role: Some("cadre".into()),
                    owner_id: Some("p-0000000".into()),
                    status: "open".into(),
                    opens_at: None,
                    due_at: Some(t),
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
                    created_at: t,
                    created_by: "bench".into(),
                    updated_at: t,
                })
                .collect();
            insert!(conn, tasks::table, &batch);
            n += batch.len();
        }
        Ok::<_, diesel::result::Error>(())
    })
    .expect("baseline");
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Runs one phase in a child process and returns its output line.
fn child(phase: &str, db: &Path, extra: &[String]) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--phase", phase, "--db", db.to_str().unwrap()])
        .args(extra)
        .output()
        .expect("run phase");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(phase) = arg(&args, "--phase") {
        let db = PathBuf::from(arg(&args, "--db").unwrap());
        let pool = open(&db);
        let mut conn = pool.get().unwrap();
        let started = Instant::now();
        match phase.as_str() {
            "start" => {
                let report = start(&mut conn);
                println!(
                    "{} {:.3} {:.0}",
                    report.tasks_created,
                    started.elapsed().as_secs_f64(),
                    peak_rss_mib()
                );
            }
            "baseline" => {
                let rows: usize = arg(&args, "--rows").unwrap().parse().unwrap();
                baseline_insert(&mut conn, rows);
                println!(
                    "{rows} {:.3} {:.0}",
                    started.elapsed().as_secs_f64(),
                    peak_rss_mib()
                );
            }
            other => panic!("unknown phase {other}"),
        }
        return;
    }

    let villages: usize =
        arg(&args, "--villages").map_or(300, |v| v.parse().expect("--villages N"));
    let dir = tempfile::tempdir().unwrap();
    let setup = dir.path().join("setup.db");
    {
        let pool = open(&setup);
        let mut conn = pool.get().unwrap();
        let t = Instant::now();
        generate(&mut conn, villages);
        println!(
            "county: {villages} villages × {GROUPS_PER_VILLAGE} groups, generated in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(match &mut *conn {
                DbConnection::Sqlite(c) => c,
                DbConnection::Postgres(_) => unreachable!(),
            })
            .unwrap();
    }
    let copy = |name: &str| {
        let path = dir.path().join(name);
        std::fs::copy(&setup, &path).unwrap();
        path
    };

    // Start, in its own process, three times on fresh copies; the median counts.
    let mut runs = Vec::new();
    for i in 0..3 {
        let line = child("start", &copy(&format!("start{i}.db")), &[]);
        let f: Vec<f64> = line.split(' ').map(|x| x.parse().unwrap()).collect();
        runs.push((f[0] as usize, f[1], f[2]));
    }
    runs.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (tasks_created, start_s, start_mib) = runs[1];
    println!(
        "campaign start: {tasks_created} tasks in {start_s:.3} s (median of 3; runs {:.3} / {:.3} / {:.3} s), peak RSS {start_mib:.0} MiB",
        runs[0].1, runs[1].1, runs[2].1
    );
    let line = child(
        "baseline",
        &copy("baseline.db"),
        &["--rows".into(), tasks_created.to_string()],
    );
    let f: Vec<f64> = line.split(' ').map(|x| x.parse().unwrap()).collect();
    println!(
        "plain bulk INSERT of {} task rows: {:.3} s, peak RSS {:.0} MiB → start / INSERT = {:.2}×",
        f[0],
        f[1],
        f[2],
        start_s / f[1]
    );

    // Progress on the started campaign: median of 21 calls.
    let db = dir.path().join("start1.db");
    let pool = open(&db);
    let mut conn = pool.get().unwrap();
    let id = campaign::list(&mut conn).unwrap()[0].id.clone();
    let cache = catalog::WorkflowCache::default();
    let mut times = Vec::new();
    for _ in 0..21 {
        let t = Instant::now();
        let p = campaign::progress::progress(&mut conn, &cache, &id, None, now()).unwrap();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(p.counts.total, tasks_created);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "progress of the whole campaign: median {:.1} ms (min {:.1}, max {:.1}) over 21 calls",
        times[10], times[0], times[20]
    );
}
