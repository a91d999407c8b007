//! Each shipped workflow's timetable for a fixed election day, compared with a reviewed copy in
//! `tests/snapshots/`. After an intended change, regenerate with `UPDATE_SNAPSHOTS=1 cargo test`
//! and review the diff.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;

#[test]
fn timetables_match_their_snapshots() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let day = NaiveDate::from_ymd_opt(2026, 12, 20).unwrap();
    let mut checked = 0;
    for entry in std::fs::read_dir(root.join("workflows")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "yaml") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let workflow = huanjie::workflow::load(&path.display().to_string(), &bytes)
            .unwrap_or_else(|e| panic!("{e:?}"));
        let rows = huanjie::plan::timetable::timetable(
            &workflow,
            "election_day",
            day,
            &BTreeMap::new(),
            chrono_tz::Asia::Shanghai,
        )
        .unwrap();
        let actual = huanjie::plan::timetable::to_csv(&rows);
        let snapshot = root
            .join("tests/snapshots")
            .join(format!("plan-{}.csv", workflow.id.value));
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::create_dir_all(snapshot.parent().unwrap()).unwrap();
            std::fs::write(&snapshot, &actual).unwrap();
        }
        let expected = std::fs::read_to_string(&snapshot).unwrap_or_else(|_| {
            panic!(
                "{} is missing: run UPDATE_SNAPSHOTS=1 cargo test",
                snapshot.display()
            )
        });
        assert_eq!(
            actual,
            expected,
            "{} changed; review and regenerate with UPDATE_SNAPSHOTS=1",
            snapshot.display()
        );
        // Every statutory row cites a basis.
        assert!(rows
            .iter()
            .filter(|r| r.statutory)
            .all(|r| !r.basis.is_empty()));
        checked += 1;
    }
    assert_eq!(checked, 4, "the four workflows of DESIGN §3.3");
}
