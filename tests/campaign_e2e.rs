//! A whole village-committee campaign for the 17-village sample township, from the audit to the
//! handover, on a controlled clock: every cadre ticks off each task on its due day, except one
//! village that publishes its candidate list two days late (a violation), and the county moves
//! election day by a week while the campaign runs.

mod common;

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate, TimeZone};
use chrono_tz::Asia::Shanghai;
use common::{hewan_township, start_campaign, TestApp};
use serde_json::{json, Value};

/// Evidence a careful cadre records for each step; the numbers satisfy every check.
fn evidence(step: &str, today: NaiveDate) -> Value {
    let day = today.to_string();
    match step {
        "audit" => json!({"published_on": day, "problems_found": 0}),
        "township_setup" => json!({"district_count": 4}),
        "work_plan" => json!({"issued_on": day}),
        "election_committee" => json!({"members": 5, "published_on": day}),
        "announce" => json!({"published_on": day, "seats": 5}),
        "group_registration" => json!({"registered": 150}),
        "voter_list" => json!({"registered_voters": 600, "published_on": day}),
        "voter_list_objections" => json!({"objections_received": 1, "objections_upheld": 1}),
        "nominate" => json!({"nominees": 9}),
        "qualify" => {
            json!({"primary_held": true, "committee_members_nominated": 0, "committee_members_withdrawn": 0})
        }
        "candidates" => json!({"published_on": day, "candidates": 7, "women_candidates": 2}),
        "withdrawal" => json!({"withdrawals": 0}),
        "replacement_list" => json!({"published_on": day}),
        "polling_notice" => json!({"published_on": day, "polling_places": 2}),
        "proxy" => json!({"proxies": 10, "max_per_proxy": 2}),
        "vote" => {
            json!({"ballots_cast": 520, "elected": 5, "lowest_winner_votes": 300, "women_elected": 1, "secret_booth": true, "announced_on_spot": true})
        }
        "results_filed" => json!({"filed_on": day}),
        "handover" => {
            json!({"seal_handed_over": true, "accounts_handed_over": true, "archives_handed_over": true})
        }
        "representatives" => json!({"representatives_total": 30, "women_representatives": 10}),
        "archive" => json!({"archived_on": day, "retention_years": 3}),
        "results_summary" | "summary" => json!({"reported_on": day}),
        _ => json!({}),
    }
}

#[actix_rt::test]
async fn a_village_committee_campaign_from_audit_to_handover() {
    let app = TestApp::new();
    app.clock.set(
        Shanghai
            .with_ymd_and_hms(2026, 10, 1, 9, 0, 0)
            .unwrap()
            .to_utc(),
    );
    let town = hewan_township(&app).await;
    // The township's 第一责任人, missing from the sample table, is appointed first.
    let chief = common::person(&app, "乡党委书记").await;
    let (status, body) = app
        .post(
            "/api/v1/assignments",
            json!({"person_id": chief, "unit_id": town.id, "role": "chief"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (campaign, report) = start_campaign(&app, &town, json!({})).await;
    assert_eq!(report["unassigned"], json!([]));
    let late_village = town.villages["河湾村"].clone();

    let mut day = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
    let last = NaiveDate::from_ymd_opt(2027, 2, 20).unwrap();
    let mut completed = 0;
    let mut late_candidates_done = false;
    while day <= last {
        app.clock.set(
            Shanghai
                .from_local_datetime(&day.and_hms_opt(9, 0, 0).unwrap())
                .unwrap()
                .to_utc(),
        );
        if day == NaiveDate::from_ymd_opt(2026, 12, 1).unwrap() {
            let (status, body) = app
                .post(
                    &format!("/api/v1/campaigns/{campaign}/anchors"),
                    json!({"anchor": "election_day", "date": "2026-12-27", "reason": "县里统一调整选举日"}),
                )
                .await;
            assert_eq!(status, 200, "{body}");
            assert!(body["tasks_changed"].as_i64().unwrap() > 17 * 10, "{body}");
        }
        // Completing one task can open another due the same day: go round until nothing is left.
        loop {
            let (status, page) = app
                .get(&format!(
                    "/api/v1/tasks?campaign_id={campaign}&status=open&due_before={day}&per_page=500"
                ))
                .await;
            assert_eq!(status, 200, "{page}");
            let mut acted = false;
            for task in page["items"].as_array().unwrap() {
                let id = task["id"].as_str().unwrap();
                let step = task["step_id"].as_str().unwrap();
                if step == "candidates" && task["unit_id"] == late_village.as_str() {
                    let due = task["due_at"].as_str().unwrap();
                    let due_day = chrono::DateTime::parse_from_rfc3339(due)
                        .unwrap()
                        .with_timezone(&Shanghai)
                        .date_naive();
                    if day < due_day + Duration::days(2) {
                        continue; // 河湾村 publishes its candidate list two days late
                    }
                    late_candidates_done = true;
                }
                let (status, body) = if step == "runoff" {
                    app.post(
                        &format!("/api/v1/tasks/{id}/skip"),
                        json!({"reason": "当选人数已满, 无需另行选举"}),
                    )
                    .await
                } else {
                    app.post(
                        &format!("/api/v1/tasks/{id}/complete"),
                        json!({"evidence": evidence(step, day)}),
                    )
                    .await
                };
                assert_eq!(status, 200, "{step} on {day}: {body}");
                let failed: Vec<&Value> = body["findings"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|f| f["outcome"] == "failed")
                    .collect();
                assert!(failed.is_empty(), "{step} on {day}: {failed:?}");
                completed += 1;
                acted = true;
            }
            if !acted {
                break;
            }
        }
        day += Duration::days(1);
    }
    assert!(late_candidates_done);
    assert!(completed > 17 * 30, "{completed} tasks ticked off");

    // Nothing is left: every task of every unit is done or (the runoffs) not applicable.
    let (_, progress) = app
        .get(&format!("/api/v1/campaigns/{campaign}/progress"))
        .await;
    let counts = &progress["counts"];
    assert_eq!(counts["open"], 0, "{counts}");
    assert_eq!(counts["blocked"], 0, "{counts}");
    assert_eq!(counts["overdue"], 0, "{counts}");
    assert_eq!(counts["skipped"], 17);
    let steps: BTreeMap<String, Value> = progress["stages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["steps"].as_array().unwrap().clone())
        .map(|s| (s["id"].as_str().unwrap().to_owned(), s))
        .collect();
    assert_eq!(
        steps["handover"]["summary"],
        "17个村中完成新老村委会工作移交的村17个"
    );
    assert_eq!(steps["audit"]["units_done"], 17);

    // The one violation: 河湾村's late candidate list, with its legal basis.
    let (_, violations) = app
        .get(&format!("/api/v1/campaigns/{campaign}/violations"))
        .await;
    let items = violations["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{violations}");
    assert_eq!(items[0]["step_id"], "candidates");
    assert_eq!(items[0]["unit_name"], "河湾村");
    assert_eq!(items[0]["kind"], "late");
    assert_eq!(
        items[0]["days_late"], 1,
        "done at 09:00 two days after the due day ended at 23:59"
    );
    assert!(items[0]["basis"].as_str().unwrap().contains("选举办法"));
    assert_eq!(counts["violations"], 1);

    // The vote followed the moved election day; the handover counted from the vote.
    let vote = common::task_of(&app, &campaign, "vote", &late_village).await;
    assert_eq!(vote["completed_at"], "2026-12-27T01:00:00.000Z");
    let handover = common::task_of(&app, &campaign, "handover", &late_village).await;
    assert_eq!(handover["due_at"], "2027-01-06T15:59:59.000Z");
    assert_eq!(handover["late"], false);
    let (_, events) = app
        .get(&format!(
            "/api/v1/events?entity_type=campaign&entity_id={campaign}"
        ))
        .await;
    let actions: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["campaign.started", "campaign.anchor_moved"]);
    let (_, notices) = app.get("/api/v1/tasks?per_page=1").await;
    assert!(notices["total"].as_i64().unwrap() > 0);
    assert!(
        app.count("notifications") >= 17,
        "a change notice per affected owner"
    );
}
