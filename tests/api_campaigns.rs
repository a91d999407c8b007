//! Campaigns and tasks over the HTTP API, on the configured backend: start with 三包 owners,
//! the lifecycle rules, anchor moves, progress, ad-hoc tasks and concurrent tick-offs.

mod common;

use chrono::{TimeZone, Utc};
use common::{hewan_township, start_campaign, task_of, TestApp};
use serde_json::{json, Value};

fn at(y: i32, m: u32, d: u32, h: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
}

async fn complete(app: &TestApp, task: &Value, body: Value) -> (u16, Value) {
    app.post(
        &format!("/api/v1/tasks/{}/complete", task["id"].as_str().unwrap()),
        body,
    )
    .await
}

async fn person_named(app: &TestApp, name: &str) -> String {
    let (_, body) = app.get(&format!("/api/v1/people?name={name}")).await;
    body["items"][0]["id"].as_str().unwrap().to_owned()
}

#[actix_rt::test]
async fn starting_a_campaign_creates_every_task_with_its_owner() {
    let app = TestApp::new();
    let town = hewan_township(&app).await;
    let (campaign, report) = start_campaign(&app, &town, json!({})).await;

    // One bulk start: the task count equals the plan over the township's units.
    let tasks = app.count("tasks");
    assert_eq!(report["tasks_created"], tasks);
    let (_, groups) = app.get("/api/v1/units?level=group&per_page=1").await;
    let groups = groups["total"].as_i64().unwrap();
    let (_, one_village) = app
        .get(&format!(
            "/api/v1/tasks?campaign_id={campaign}&unit_id={}&per_page=1",
            town.villages["河湾村"]
        ))
        .await;
    assert!(one_village["total"].as_i64().unwrap() > 30);
    assert!(tasks > 17 * 25 + groups, "{tasks} tasks");

    // 三定: the village's audit belongs to its 包村干部, a group's registration to its 包组村干部.
    let audit = task_of(&app, &campaign, "audit", &town.villages["河湾村"]).await;
    assert_eq!(audit["owner_id"], person_named(&app, "岑伟").await);
    assert_eq!(audit["status"], "open");
    assert_eq!(
        audit["due_at"], "2026-11-05T15:59:59.000Z",
        "D-45, end of the local day"
    );
    let review = task_of(&app, &campaign, "review", &town.villages["河湾村"]).await;
    assert_eq!(review["status"], "blocked", "waits for the audit");
    let handover = task_of(&app, &campaign, "handover", &town.villages["河湾村"]).await;
    assert_eq!(handover["due_at"], Value::Null);
    assert_eq!(handover["due_after"], "vote");

    // The sample table names no 第一责任人: township steps are reported and kept unassigned.
    let unassigned = report["unassigned"].as_array().unwrap();
    assert!(!unassigned.is_empty());
    assert!(
        unassigned.iter().all(|u| u["role"] == "chief"),
        "{unassigned:?}"
    );
    assert!(unassigned.iter().any(|u| u["step_id"] == "township_setup"));
    let (_, listed) = app
        .get(&format!(
            "/api/v1/tasks?campaign_id={campaign}&unassigned=true&per_page=1"
        ))
        .await;
    assert_eq!(listed["total"], unassigned.len());
    assert_eq!(app.count("notifications"), 1, "one notice to the admins");
    let (_, events) = app
        .get(&format!(
            "/api/v1/events?entity_type=campaign&entity_id={campaign}"
        ))
        .await;
    assert_eq!(events["total"], 1, "one event for the whole start");
}

#[actix_rt::test]
async fn bad_starts_are_refused_and_write_nothing() {
    let app = TestApp::new();
    let town = hewan_township(&app).await;
    let base = json!({
        "workflow_id": "village-committee",
        "root_unit_id": town.id,
        "anchors": { "election_day": "2026-12-20" },
    });
    let with = |patch: Value| {
        let mut f = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            f[k] = v.clone();
        }
        f
    };
    let cases = [
        (with(json!({"workflow_id": "no-such"})), 404),
        (with(json!({"workflow_version": "0.0"})), 404),
        (with(json!({"anchors": {}})), 422),
        (
            with(json!({"anchors": {"election_day": "2026-13-01"}})),
            400,
        ),
        (with(json!({"params": {"handover_days": 30}})), 422),
        (with(json!({"params": {"no_such": 1}})), 422),
        (with(json!({"root_unit_id": "nope"})), 422),
        (with(json!({"timezone": "Mars/Base"})), 422),
        (
            with(json!({"unit_anchors": {"nope": {"election_day": "2026-12-27"}}})),
            422,
        ),
        (with(json!({"colour": "red"})), 400),
    ];
    for (form, expected) in cases {
        let (status, body) = app.post("/api/v1/campaigns", form.clone()).await;
        assert_eq!(status, expected, "{form} → {body}");
        assert!(body["message"].is_string(), "{body}");
    }
    assert_eq!(app.count("campaigns"), 0);
    assert_eq!(app.count("tasks"), 0);
}

#[actix_rt::test]
async fn tick_off_validates_evidence_and_opens_what_waited() {
    let app = TestApp::new();
    let town = hewan_township(&app).await;
    let (campaign, _) = start_campaign(&app, &town, json!({})).await;
    let village = &town.villages["河湾村"];
    let audit = task_of(&app, &campaign, "audit", village).await;

    // Evidence is checked field by field, in Chinese, and nothing is saved.
    let (status, body) = complete(
        &app,
        &audit,
        json!({"evidence": {"problems_found": -1, "publishd_on": "x"}}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let fields: Vec<&str> = body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "evidence.publishd_on",
            "evidence.problems_found",
            "evidence.published_on"
        ]
    );
    assert!(
        body["details"]
            .to_string()
            .contains("请填写审计结果公布日期"),
        "{body}"
    );
    assert_eq!(
        task_of(&app, &campaign, "audit", village).await["status"],
        "open"
    );

    // A blocked task cannot be ticked off; the answer says what it waits for.
    let review = task_of(&app, &campaign, "review", village).await;
    let (status, body) = complete(&app, &review, json!({})).await;
    assert_eq!(status, 409);
    assert_eq!(body["code"], "task_blocked");
    assert_eq!(body["details"]["waiting_for"], json!(["audit"]));

    // Backdating needs a note; the future is refused.
    let (status, body) = complete(
        &app,
        &audit,
        json!({"evidence": {"published_on": "2026-09-28"}, "completed_at": "2026-09-28T02:00:00Z"}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["details"][0]["field"], "note");
    let (status, _) = complete(
        &app,
        &audit,
        json!({"evidence": {"published_on": "2026-10-01"}, "completed_at": "2026-10-03T02:00:00Z"}),
    )
    .await;
    assert_eq!(status, 422);

    let (status, body) = complete(
        &app,
        &audit,
        json!({"evidence": {"published_on": "2026-09-28", "problems_found": "2"}, "completed_at": "2026-09-28T02:00:00Z", "note": "审计报告9月已张榜, 补记"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["task"]["status"], "done");
    assert_eq!(body["task"]["evidence"]["problems_found"], 2);
    assert_eq!(body["task"]["completed_at"], "2026-09-28T02:00:00.000Z");
    let review = task_of(&app, &campaign, "review", village).await;
    assert_eq!(review["status"], "open");
    assert!(
        body["unblocked"]
            .as_array()
            .unwrap()
            .contains(&review["id"]),
        "{body}"
    );
    // Other villages still wait for their own audit.
    assert_eq!(
        task_of(&app, &campaign, "review", &town.villages["柳树村"]).await["status"],
        "blocked"
    );

    // Done is done: a second tick-off is a conflict with the current state.
    let (status, body) = complete(
        &app,
        &audit,
        json!({"evidence": {"published_on": "2026-09-28"}}),
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(body["code"], "task_not_open");
    assert_eq!(body["details"]["current"]["status"], "done");

    // A village step that needs a township step waits for the township's task.
    let review = task_of(&app, &campaign, "review", village).await;
    let (status, body) = complete(&app, &review, json!({})).await;
    assert_eq!(status, 200, "{body}");
    let committee = task_of(&app, &campaign, "election_committee", village).await;
    assert_eq!(committee["status"], "blocked");
    let (status, body) = complete(&app, &committee, json!({})).await;
    assert_eq!(status, 409);
    assert_eq!(body["details"]["waiting_for"], json!(["work_plan"]));
    for step in ["township_setup", "work_plan"] {
        let t = task_of(&app, &campaign, step, &town.id).await;
        let evidence = if step == "township_setup" {
            json!({"district_count": 4})
        } else {
            json!({"issued_on": "2026-10-01"})
        };
        let (status, body) = complete(&app, &t, json!({ "evidence": evidence })).await;
        assert_eq!(status, 200, "{step}: {body}");
    }
    assert_eq!(
        task_of(&app, &campaign, "election_committee", village).await["status"],
        "open",
        "the township's work plan opened the village's step"
    );
    assert_eq!(
        task_of(
            &app,
            &campaign,
            "election_committee",
            &town.villages["柳树村"]
        )
        .await["status"],
        "blocked",
        "a village whose own review is not done still waits"
    );
}

#[actix_rt::test]
async fn a_unit_subtree_changes_hands_and_lists_filter_by_due_date() {
    let app = TestApp::new();
    let town = hewan_township(&app).await;
    let (campaign, _) = start_campaign(&app, &town, json!({})).await;
    let village = &town.villages["柳树村"];
    let newcomer = common::person(&app, "新任包村干部").await;
    let (_, before) = app
        .get(&format!(
            "/api/v1/tasks?campaign_id={campaign}&unit_id={village}&status=open,blocked&per_page=1"
        ))
        .await;
    let (status, body) = app
        .post(
            "/api/v1/tasks/reassign",
            json!({"unit_id": village, "to_person_id": newcomer, "reason": "岑伟调离"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["moved"], before["total"]);
    let (_, mine) = app
        .get(&format!("/api/v1/tasks?owner_id={newcomer}&per_page=1"))
        .await;
    assert_eq!(mine["total"], before["total"]);
    let (_, events) = app
        .get(&format!(
            "/api/v1/events?batch_id={}&per_page=1",
            body["batch_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        events["total"], before["total"],
        "one event per task, in one batch"
    );
    let (status, _) = app
        .post("/api/v1/tasks/reassign", json!({"to_person_id": newcomer}))
        .await;
    assert_eq!(status, 422, "a bulk move names whose tasks move");

    // Due-date filters count local days: D-45 is 5 November, ending 23:59:59 local.
    let (_, on_day) = app
        .get(&format!("/api/v1/tasks?campaign_id={campaign}&step_id=audit&due_after=2026-11-05&due_before=2026-11-05&per_page=1"))
        .await;
    assert_eq!(on_day["total"], 17);
    let (_, after) = app
        .get(&format!(
            "/api/v1/tasks?campaign_id={campaign}&step_id=audit&due_after=2026-11-06&per_page=1"
        ))
        .await;
    assert_eq!(after["total"], 0);
    let (status, body) = app.get("/api/v1/tasks?status=finished").await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = app.get("/api/v1/tasks?colour=red").await;
    assert_eq!(status, 400);
}

#[actix_rt::test]
async fn a_step_needing_a_narrower_scope_waits_for_every_group() {
    let app = TestApp::new();
    let town = hewan_township(&app).await;
    let (campaign, _) = start_campaign(&app, &town, json!({})).await;
    let village = &town.villages["河湾村"];
    let (_, groups) = app.get(&format!("/api/v1/units?parent_id={village}")).await;
    let groups: Vec<String> = groups["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(groups.len() >= 2);
    // Clear the way to group registration by skipping the steps before it.
    for step in ["audit", "review", "election_committee", "announce"] {
        let t = task_of(&app, &campaign, step, village).await;
        let (status, body) = app
            .post(
                &format!("/api/v1/tasks/{}/skip", t["id"].as_str().unwrap()),
                json!({"reason": "测试"}),
            )
            .await;
        assert_eq!(status, 200, "{step}: {body}");
    }
    // election_committee also needs the township's work plan, which nobody has done yet…
    // …but it was skipped, and a skipped step lets its dependants go ahead.
    for (i, g) in groups.iter().enumerate() {
        let voter_list = task_of(&app, &campaign, "voter_list", village).await;
        assert_eq!(voter_list["status"], "blocked", "before group {i}");
        let t = task_of(&app, &campaign, "group_registration", g).await;
        assert_eq!(t["status"], "open");
        let (status, body) = complete(&app, &t, json!({"evidence": {"registered": 120}})).await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(
        task_of(&app, &campaign, "voter_list", village).await["status"],
        "open"
    );
    let (status, body) = app
        .post(
            &format!("/api/v1/tasks/{}/skip", groups[0]),
            json!({"reason": "不是任务"}),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    let t = task_of(&app, &campaign, "nominate", village).await;
    let (status, body) = app
        .post(
            &format!("/api/v1/tasks/{}/skip", t["id"].as_str().unwrap()),
            json!({"reason": " "}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
}

#[actix_rt::test]
async fn dynamic_deadlines_checks_reopen_and_the_opens_gate() {
    let app = TestApp::new();
    let town = hewan_township(&app).await;
    let (campaign, _) = start_campaign(&app, &town, json!({})).await;
    let village = &town.villages["柳树村"];
    for step in [
        "audit",
        "review",
        "election_committee",
        "announce",
        "group_registration",
        "nominate",
        "qualify",
        "candidates",
        "polling_notice",
    ] {
        let (_, list) = app.get(&format!("/api/v1/tasks?campaign_id={campaign}&step_id={step}&unit_id={village}&per_page=500")).await;
        for t in list["items"].as_array().unwrap() {
            app.post(
                &format!("/api/v1/tasks/{}/skip", t["id"].as_str().unwrap()),
                json!({"reason": "测试"}),
            )
            .await;
        }
    }
    let voter_list = task_of(&app, &campaign, "voter_list", village).await;
    app.clock.set(at(2026, 11, 28, 3));
    let (status, body) = complete(
        &app,
        &voter_list,
        json!({"evidence": {"registered_voters": 800, "published_on": "2026-11-28"}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // voter_list.done + 8d: the end of the local day eight days after it was done.
    let objections = task_of(&app, &campaign, "voter_list_objections", village).await;
    assert_eq!(objections["due_at"], "2026-12-06T15:59:59.000Z");
    assert!(body["deadlines_changed"]
        .as_array()
        .unwrap()
        .contains(&objections["id"]));

    // The vote opens on election day.
    let vote = task_of(&app, &campaign, "vote", village).await;
    assert_eq!(vote["status"], "open");
    let evidence = json!({"ballots_cast": 390, "elected": 5, "lowest_winner_votes": 200, "women_elected": 0, "secret_booth": true, "announced_on_spot": true});
    let (status, body) = complete(&app, &vote, json!({"evidence": evidence})).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["message"].as_str().unwrap().contains("最早"), "{body}");

    // Checks run against the unit's evidence; failures are findings, the evidence is kept.
    app.clock.set(at(2026, 12, 20, 8));
    let (status, body) = complete(&app, &vote, json!({"evidence": evidence})).await;
    assert_eq!(status, 200, "{body}");
    let messages: Vec<&str> = body["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(messages.iter().any(|m| m.contains("半数")), "{messages:?}");
    assert!(messages.iter().any(|m| m.contains("妇女")), "{messages:?}");
    assert_eq!(
        body["task"]["findings"].as_array().unwrap().len(),
        messages.len()
    );
    let handover = task_of(&app, &campaign, "handover", village).await;
    assert_eq!(
        handover["due_at"], "2026-12-30T15:59:59.000Z",
        "vote.done + 10d"
    );
    assert_eq!(handover["status"], "open");

    // Reopening needs a reason; it blocks what had not started and forgets the dynamic dates.
    let (status, _) = app
        .post(
            &format!("/api/v1/tasks/{}/reopen", vote["id"].as_str().unwrap()),
            json!({"reason": "  "}),
        )
        .await;
    assert_eq!(status, 422);
    let (status, body) = app
        .post(
            &format!("/api/v1/tasks/{}/reopen", vote["id"].as_str().unwrap()),
            json!({"reason": "计票有误, 重新核对"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["task"]["status"], "open");
    assert_eq!(
        body["task"]["evidence"]["ballots_cast"], 390,
        "the evidence stays for the next tick-off"
    );
    let handover = task_of(&app, &campaign, "handover", village).await;
    assert_eq!(handover["status"], "blocked");
    assert_eq!(handover["due_at"], Value::Null);

    let fixed = json!({"ballots_cast": 500, "elected": 5, "lowest_winner_votes": 300, "women_elected": 1, "secret_booth": true, "announced_on_spot": true});
    let (status, body) = complete(
        &app,
        &vote,
        json!({"evidence": fixed, "revision": body["task"]["revision"]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // Only the seat check stays undecided: the announcement step was skipped in this test.
    let outcomes: Vec<&str> = body["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["undecided"], "{body}");

    // The history tells the whole story, and comments sit beside it.
    let (status, _) = app
        .post(
            &format!("/api/v1/tasks/{}/comments", vote["id"].as_str().unwrap()),
            json!({"body": "已与选举委员会核对"}),
        )
        .await;
    assert_eq!(status, 201);
    let (_, history) = app
        .get(&format!(
            "/api/v1/tasks/{}/history",
            vote["id"].as_str().unwrap()
        ))
        .await;
    let actions: Vec<&str> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "campaign.started",
            "task.unblocked",
            "task.completed",
            "task.reopened",
            "task.completed",
            "task.commented"
        ]
    );
    assert_eq!(history["comments"][0]["body"], "已与选举委员会核对");
}

#[actix_rt::test]
async fn a_stale_revision_or_a_concurrent_tick_off_gets_a_conflict() {
    let app = TestApp::new();
    let town = hewan_township(&app).await;
    let (campaign, _) = start_campaign(&app, &town, json!({})).await;
    let audit = task_of(&app, &campaign, "audit", &town.villages["河湾村"]).await;
    let revision = audit["revision"].as_i64().unwrap();
    let (status, _) = app
        .post(
            &format!("/api/v1/tasks/{}/comments", audit["id"].as_str().unwrap()),
            json!({"body": "x"}),
        )
        .await;
    assert_eq!(status, 201);
    let reassigned = app
        .post(
            &format!("/api/v1/tasks/{}/reassign", audit["id"].as_str().unwrap()),
            json!({"owner_id": person_named(&app, "马丹").await}),
        )
        .await;
    assert_eq!(reassigned.0, 200);
    let (status, body) = complete(
        &app,
        &audit,
        json!({"evidence": {"published_on": "2026-10-01"}, "revision": revision}),
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(body["code"], "task_changed");
    assert_eq!(body["details"]["current"]["revision"], revision + 1);

    // Two tick-offs of one task at the same moment, on two connections: one wins.
    let other = task_of(&app, &campaign, "audit", &town.villages["柳树村"]).await;
    let id = other["id"].as_str().unwrap().to_owned();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let handles: Vec<_> = (0..2)
        .map(|n| {
            let state = app.state.clone();
            let barrier = barrier.clone();
            let id = id.clone();
            std::thread::spawn(move || {
                let mut conn = state.pool.get().unwrap();
                let ctx = huanjie::audit::WriteContext::new("test", state.clock.now_naive());
                let form = huanjie::task::lifecycle::CompleteForm {
                    evidence: json!({"published_on": "2026-10-01", "problems_found": n})
                        .as_object()
                        .unwrap()
                        .clone(),
                    ..Default::default()
                };
                barrier.wait();
                huanjie::task::lifecycle::complete(&mut conn, &state.workflows, &ctx, &id, form)
                    .map(|o| o.task.revision)
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let wins = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(wins, 1, "{results:?}");
    let loser = results.into_iter().find_map(Result::err).unwrap();
    assert_eq!(loser.status(), 409, "{loser:?}");
    let (_, events) = app
        .get(&format!("/api/v1/events?entity_type=task&entity_id={id}"))
        .await;
    assert_eq!(events["total"], 1, "one completion recorded");
}

#[actix_rt::test]
async fn moving_election_day_moves_every_open_static_deadline_once() {
    let app = TestApp::new();
    let town = hewan_township(&app).await;
    let (campaign, _) = start_campaign(&app, &town, json!({})).await;
    let hewan = &town.villages["河湾村"];
    let audit = task_of(&app, &campaign, "audit", hewan).await;
    let (status, _) = complete(
        &app,
        &audit,
        json!({"evidence": {"published_on": "2026-10-01"}}),
    )
    .await;
    assert_eq!(status, 200);
    let notices_before = app.count("notifications");

    let (status, body) = app
        .post(
            &format!("/api/v1/campaigns/{campaign}/anchors"),
            json!({"anchor": "election_day", "date": "2026-12-27", "reason": "县里统一推迟一周"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["old_date"], "2026-12-20");
    assert!(body["tasks_changed"].as_i64().unwrap() > 17 * 20);
    // Done tasks keep their dates; open ones move by a week; dynamic ones stay unknown.
    let audit = task_of(&app, &campaign, "audit", hewan).await;
    assert_eq!(audit["due_at"], "2026-11-05T15:59:59.000Z");
    let other_audit = task_of(&app, &campaign, "audit", &town.villages["柳树村"]).await;
    assert_eq!(other_audit["due_at"], "2026-11-12T15:59:59.000Z");
    let voter_list = task_of(&app, &campaign, "voter_list", hewan).await;
    assert_eq!(voter_list["due_at"], "2026-12-07T15:59:59.000Z");
    assert_eq!(
        task_of(&app, &campaign, "handover", hewan).await["due_at"],
        Value::Null
    );
    // One event; one notice per affected owner, listing old and new dates.
    let (_, events) = app
        .get(&format!(
            "/api/v1/events?entity_type=campaign&entity_id={campaign}"
        ))
        .await;
    assert_eq!(events["total"], 2);
    let owners = body["owners_notified"].as_i64().unwrap();
    assert!(owners >= 17, "{owners}");
    assert_eq!(app.count("notifications") - notices_before, owners);

    // One village votes a week later still: only its subtree moves.
    let late = &town.villages["柳树村"];
    let (status, body) = app
        .post(
            &format!("/api/v1/campaigns/{campaign}/anchors"),
            json!({"anchor": "election_day", "date": "2027-01-03", "unit_id": late}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["old_date"], "2026-12-27");
    assert!(body["changes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["unit_id"] == *late || c["unit_id"] != *hewan));
    assert_eq!(
        task_of(&app, &campaign, "voter_list", late).await["due_at"],
        "2026-12-14T15:59:59.000Z"
    );
    assert_eq!(
        task_of(&app, &campaign, "voter_list", hewan).await["due_at"],
        "2026-12-07T15:59:59.000Z"
    );

    let (status, body) = app
        .post(
            &format!("/api/v1/campaigns/{campaign}/anchors"),
            json!({"anchor": "electon_day", "date": "2027-01-03"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
}

#[actix_rt::test]
async fn progress_speaks_the_townships_language() {
    let app = TestApp::new();
    let town = hewan_township(&app).await;
    let (campaign, _) = start_campaign(&app, &town, json!({})).await;
    let names: Vec<String> = town.villages.keys().take(15).cloned().collect();
    for name in &names {
        let t = task_of(&app, &campaign, "audit", &town.villages[name]).await;
        let (status, _) = complete(
            &app,
            &t,
            json!({"evidence": {"published_on": "2026-10-01"}}),
        )
        .await;
        assert_eq!(status, 200);
    }
    let (status, body) = app
        .get(&format!("/api/v1/campaigns/{campaign}/progress"))
        .await;
    assert_eq!(status, 200, "{body}");
    let audit = body["stages"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "audit")
        .unwrap()
        .clone();
    assert_eq!(
        audit["summary"],
        "17个村中完成村级财务届期审计并张榜公布的村15个"
    );
    assert_eq!(audit["counts"]["done"], 15);
    assert_eq!(
        body["children"].as_array().unwrap().len(),
        4,
        "the 4 districts"
    );

    // After the audit deadline, the two missing audits are overdue for their 包村干部.
    app.clock.set(at(2026, 11, 6, 2));
    let (_, overdue) = app
        .get(&format!("/api/v1/campaigns/{campaign}/overdue"))
        .await;
    let audit_late: Vec<&Value> = overdue["items"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["tasks"].as_array().unwrap())
        .filter(|t| t["step_id"] == "audit")
        .collect();
    assert_eq!(audit_late.len(), 2);
    let unassigned = overdue["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["person_id"].is_null())
        .unwrap();
    assert!(unassigned["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["step_id"] == "township_setup"));
    let (_, tasks) = app
        .get(&format!(
            "/api/v1/tasks?campaign_id={campaign}&overdue=true&step_id=audit"
        ))
        .await;
    assert_eq!(tasks["total"], 2);
    assert!(tasks["items"][0]["overdue"].as_bool().unwrap());

    // The forward plan lists what is due next, by local date.
    let (_, upcoming) = app
        .get(&format!("/api/v1/campaigns/{campaign}/upcoming?days=14"))
        .await;
    let first = &upcoming["items"][0];
    // The township's Friday briefing, at 17:00 local that day.
    assert_eq!(first["date"], "2026-11-06");
    assert_eq!(first["weekday"], "五");
    assert_eq!(first["items"][0]["step_id"], "township_briefing");
    let (status, _) = app
        .get(&format!("/api/v1/campaigns/{campaign}/upcoming?days=0"))
        .await;
    assert_eq!(status, 422);
    let (status, _) = app
        .get(&format!(
            "/api/v1/campaigns/{campaign}/progress?unit_id=nope"
        ))
        .await;
    assert_eq!(status, 404);
}

#[actix_rt::test]
async fn ad_hoc_tasks_fan_out_and_follow_the_same_lifecycle() {
    let app = TestApp::new();
    let town = hewan_township(&app).await;
    let (status, body) = app
        .post(
            "/api/v1/tasks",
            json!({
                "title": "报送本村登记选民数",
                "due": "2026-10-09",
                "unit_id": town.id,
                "scope": "village",
                "owner_role": "cadre",
                "record": {"voters": {"type": "integer", "title": "登记选民数", "required": true, "min": 1}},
            }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["tasks_created"], 17);
    assert_eq!(body["unassigned"], json!([]));
    let (_, list) = app.get("/api/v1/tasks?kind=adhoc&per_page=100").await;
    assert_eq!(list["total"], 17);
    let t = list["items"][0].clone();
    assert_eq!(t["due_at"], "2026-10-09T15:59:59.000Z");
    let (status, body) = complete(&app, &t, json!({"evidence": {"voters": 0}})).await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = complete(&app, &t, json!({"evidence": {"voters": 812}})).await;
    assert_eq!(status, 200, "{body}");

    // Bulk reassignment: all of one person's open ad-hoc tasks go to another.
    let from = list["items"][1]["owner_id"].as_str().unwrap().to_owned();
    let to = person_named(&app, "马丹").await;
    let (status, body) = app
        .post(
            "/api/v1/tasks/reassign",
            json!({"from_person_id": from, "to_person_id": to}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["moved"].as_i64().unwrap() >= 1);
    let (_, mine) = app
        .get(&format!(
            "/api/v1/tasks?owner_id={from}&status=open,blocked"
        ))
        .await;
    assert_eq!(mine["total"], 0);

    for bad in [
        json!({"title": "x", "due": "2026-10-09", "unit_id": town.id}),
        json!({"title": "x", "due": "2020-01-01", "unit_id": town.id, "owner_role": "cadre"}),
        json!({"title": "", "due": "2026-10-09", "unit_id": town.id, "owner_role": "cadre"}),
        json!({"title": "x", "due": "2026-10-09", "unit_id": "nope", "owner_role": "cadre"}),
        json!({"title": "x", "due": "2026-10-09", "unit_id": town.id, "owner_role": "cadre", "record": {"a": {"type": "colour", "title": "t"}}}),
    ] {
        let (status, body) = app.post("/api/v1/tasks", bad.clone()).await;
        assert!(status == 422 || status == 400, "{bad} → {status} {body}");
    }
    assert_eq!(app.count("tasks"), 17);
}
