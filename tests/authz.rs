//! Authorisation, table-driven: every API route × every role × a target inside and outside the
//! caller's units, with the status each must get; then the lists, counts and dashboards, which
//! must show nothing outside the caller's units.
//!
//! The township is the 17-village sample. "In" is 河湾村 of 第一选区, "out" is 双河村 of 第二选区.
//! The roles: an observer and a leader of 第一选区, the cadre 岑伟 (包村干部 of 河湾村 and
//! 杨庄村, found through his 三包 assignments), a user with no role, nobody at all, and the office.
//!
//! Allowed writes use bodies that pass authorisation and then fail validation or a state check
//! (422, 409), so one database serves the whole table; the few that succeed come last.

mod common;

use std::collections::BTreeMap;

use actix_web::test::TestRequest;
use serde_json::{json, Value};

use common::{hewan_township, start_campaign, task_of, TestApp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    Anonymous,
    NoRole,
    Observer,
    Cadre,
    Leader,
    Admin,
}

const EVERYONE: [Who; 6] = [
    Who::Anonymous,
    Who::NoRole,
    Who::Observer,
    Who::Cadre,
    Who::Leader,
    Who::Admin,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    In,
    Out,
}

/// Who may do what; `ok` is the status an allowed caller gets with the case's body.
#[derive(Debug, Clone, Copy)]
enum Rule {
    /// Any signed-in user.
    AnyUser(u16),
    /// The office only; nothing in the URL names a unit.
    Admin(u16),
    /// Read a thing that lives in a unit: anyone whose units include it.
    ScopedRead(u16),
    /// Change a thing that lives in a unit: the office; others who can see it get 403.
    ScopedAdmin(u16),
    /// Tick off, reopen, comment: cadres and leaders of the unit, and the office.
    Work(u16),
    /// Reassign, skip, cancel: leaders of the unit, and the office.
    Manage(u16),
    /// A unit named in the body: leaders of it, and the office; 403 for everyone else.
    ManageBody(u16),
    /// The campaign is over the whole township: visible to every role below it.
    CampaignRead(u16),
    CampaignAdmin(u16),
}

fn expected(rule: Rule, who: Who, target: Target) -> u16 {
    use Who::*;
    let inside = target == Target::In;
    if who == Anonymous {
        return 401;
    }
    match rule {
        Rule::AnyUser(ok) => ok,
        Rule::Admin(ok) => {
            if who == Admin {
                ok
            } else {
                403
            }
        }
        Rule::ScopedRead(ok) => match who {
            Admin => ok,
            NoRole => 404,
            _ => {
                if inside {
                    ok
                } else {
                    404
                }
            }
        },
        Rule::ScopedAdmin(ok) => match who {
            Admin => ok,
            NoRole => 404,
            _ => {
                if inside {
                    403
                } else {
                    404
                }
            }
        },
        Rule::Work(ok) => match who {
            Admin => ok,
            NoRole => 404,
            Observer => {
                if inside {
                    403
                } else {
                    404
                }
            }
            _ => {
                if inside {
                    ok
                } else {
                    404
                }
            }
        },
        Rule::Manage(ok) => match who {
            Admin => ok,
            NoRole => 404,
            Leader => {
                if inside {
                    ok
                } else {
                    404
                }
            }
            _ => {
                if inside {
                    403
                } else {
                    404
                }
            }
        },
        Rule::ManageBody(ok) => match who {
            Admin => ok,
            Leader if inside => ok,
            _ => 403,
        },
        Rule::CampaignRead(ok) => {
            if who == NoRole {
                404
            } else {
                ok
            }
        }
        Rule::CampaignAdmin(ok) => match who {
            Admin => ok,
            NoRole => 404,
            _ => 403,
        },
    }
}

struct Case {
    method: &'static str,
    path: &'static str,
    body: Option<Value>,
    rule: Rule,
}

fn case(method: &'static str, path: &'static str, body: Option<Value>, rule: Rule) -> Case {
    Case {
        method,
        path,
        body,
        rule,
    }
}

/// Ids a case may name: `{unit}`, `{person}`, `{assignment}`, `{task}`, `{done_task}` differ
/// between inside and outside; the rest are shared.
struct World {
    app: TestApp,
    tokens: BTreeMap<Who, String>,
    inside: BTreeMap<&'static str, String>,
    outside: BTreeMap<&'static str, String>,
    shared: BTreeMap<&'static str, String>,
}

impl World {
    fn fill(&self, text: &str, target: Target) -> String {
        let scoped = match target {
            Target::In => &self.inside,
            Target::Out => &self.outside,
        };
        let mut out = text.to_owned();
        for (k, v) in scoped.iter().chain(self.shared.iter()) {
            out = out.replace(&format!("{{{k}}}"), v);
        }
        out
    }

    fn is_scoped(&self, case: &Case) -> bool {
        let text = format!("{}{}", case.path, case.body.clone().unwrap_or_default());
        self.inside
            .keys()
            .any(|k| text.contains(&format!("{{{k}}}")))
    }

    async fn send(&self, who: Who, case: &Case, target: Target) -> (u16, Value) {
        let path = common::encode_uri(&self.fill(case.path, target));
        let mut req = match case.method {
            "GET" => TestRequest::get(),
            "POST" => TestRequest::post(),
            "PATCH" => TestRequest::patch(),
            "PUT" => TestRequest::put(),
            m => panic!("method {m}"),
        }
        .uri(&path);
        if let Some(body) = &case.body {
            match body {
                Value::String(raw) => req = req.set_payload(self.fill(raw, target)),
                _ => {
                    let filled: Value =
                        serde_json::from_str(&self.fill(&body.to_string(), target)).unwrap();
                    req = req.set_json(filled);
                }
            }
        }
        self.app
            .call_as(self.tokens.get(&who).map(String::as_str), req)
            .await
    }
}

async fn id_of(app: &TestApp, path: &str) -> String {
    let (status, body) = app.get(path).await;
    assert_eq!(status, 200, "{path}: {body}");
    assert_eq!(
        body["items"].as_array().map(Vec::len),
        Some(1),
        "{path}: {body}"
    );
    body["items"][0]["id"].as_str().unwrap().to_owned()
}

async fn world() -> World {
    let app = TestApp::new();
    let town = hewan_township(&app).await;
    let (campaign, _) = start_campaign(&app, &town, json!({})).await;
    let district_1 = id_of(&app, "/api/v1/units?name=第一选区").await;
    let cenwei = id_of(&app, "/api/v1/people?name=岑伟").await;

    let mut tokens = BTreeMap::new();
    tokens.insert(Who::NoRole, app.user_with_token("norole", &[], None));
    tokens.insert(
        Who::Observer,
        app.user_with_token("observer", &[("observer", Some(&district_1))], None),
    );
    tokens.insert(
        Who::Cadre,
        app.user_with_token("cenwei", &[("cadre", None)], Some(&cenwei)),
    );
    tokens.insert(
        Who::Leader,
        app.user_with_token("leader", &[("leader", Some(&district_1))], None),
    );
    tokens.insert(Who::Admin, app.admin_token.clone());
    let spare = app.user("spare", &[("cadre", None)], None, None);

    let mut sides = Vec::new();
    for (village, cadre, group_cadre) in
        [("河湾村", "岑伟", "孟红梅"), ("双河村", "韩慧敏", "叶鹏")]
    {
        let unit = town.villages[village].clone();
        let person = id_of(&app, &format!("/api/v1/people?name={cadre}")).await;
        let group_person = id_of(&app, &format!("/api/v1/people?name={group_cadre}")).await;
        let assignment = id_of(
            &app,
            &format!("/api/v1/assignments?person_id={person}&unit_id={unit}"),
        )
        .await;
        let task = task_of(&app, &campaign, "audit", &unit).await;
        let mut side = BTreeMap::new();
        side.insert("unit", unit);
        side.insert("person", person);
        side.insert("group_person", group_person);
        side.insert("assignment", assignment);
        side.insert("task", task["id"].as_str().unwrap().to_owned());
        sides.push(side);
    }
    let outside = sides.pop().unwrap();
    let inside = sides.pop().unwrap();
    let shared = BTreeMap::from([
        ("campaign", campaign),
        ("township", town.id.clone()),
        ("spare_user", spare),
        ("cenwei", cenwei),
    ]);
    World {
        app,
        tokens,
        inside,
        outside,
        shared,
    }
}

fn cases() -> Vec<Case> {
    use Rule::*;
    let j = |v: Value| Some(v);
    vec![
        // Who am I, and my own tokens.
        case("GET", "/api/v1/me", None, AnyUser(200)),
        case("GET", "/api/v1/me/tokens", None, AnyUser(200)),
        case(
            "POST",
            "/api/v1/me/tokens",
            j(json!({ "name": "" })),
            AnyUser(422),
        ),
        case(
            "POST",
            "/api/v1/me/password",
            j(json!({ "current_password": "x", "new_password": "y" })),
            AnyUser(422),
        ),
        // Units.
        case("GET", "/api/v1/units", None, AnyUser(200)),
        case(
            "POST",
            "/api/v1/units",
            j(json!({ "level": "planet", "name": "x" })),
            Admin(422),
        ),
        case("GET", "/api/v1/units/{unit}", None, ScopedRead(200)),
        case(
            "GET",
            "/api/v1/units/{unit}/resolve?role=cadre",
            None,
            ScopedRead(200),
        ),
        case(
            "PATCH",
            "/api/v1/units/{unit}",
            j(json!({ "name": "" })),
            ScopedAdmin(422),
        ),
        case(
            "POST",
            "/api/v1/units/{unit}/deactivate",
            None,
            ScopedAdmin(409),
        ),
        // People.
        case("GET", "/api/v1/people", None, AnyUser(200)),
        case(
            "POST",
            "/api/v1/people",
            j(json!({ "name": "" })),
            Admin(422),
        ),
        case("GET", "/api/v1/people/{person}", None, ScopedRead(200)),
        case(
            "PATCH",
            "/api/v1/people/{person}",
            j(json!({ "phone": "12" })),
            ScopedAdmin(422),
        ),
        case(
            "GET",
            "/api/v1/people/{person}/history",
            None,
            ScopedAdmin(200),
        ),
        // Assignments.
        case("GET", "/api/v1/assignments", None, AnyUser(200)),
        case(
            "POST",
            "/api/v1/assignments",
            j(json!({ "person_id": "{person}", "unit_id": "{unit}", "role": "bad role" })),
            Admin(422),
        ),
        case(
            "GET",
            "/api/v1/assignments/{assignment}",
            None,
            ScopedRead(200),
        ),
        case(
            "PATCH",
            "/api/v1/assignments/{assignment}",
            j(json!({ "is_primary": true })),
            ScopedAdmin(200),
        ),
        // Imports, export, the event log.
        case("GET", "/api/v1/org/export", None, Admin(200)),
        case("GET", "/api/v1/events", None, Admin(200)),
        // Workflows.
        case("GET", "/api/v1/workflows", None, AnyUser(200)),
        case(
            "GET",
            "/api/v1/workflows/village-committee/versions/2026.1",
            None,
            AnyUser(200),
        ),
        case(
            "GET",
            "/api/v1/workflows/village-committee/versions/2026.1/timetable?election_day=2026-12-20",
            None,
            AnyUser(200),
        ),
        case("POST", "/api/v1/workflows", j(json!("id: [")), Admin(422)),
        // Campaigns and dashboards.
        case("GET", "/api/v1/campaigns", None, AnyUser(200)),
        case(
            "POST",
            "/api/v1/campaigns",
            j(json!({ "workflow_id": "nope", "root_unit_id": "{township}", "anchors": {} })),
            Admin(404),
        ),
        case(
            "GET",
            "/api/v1/campaigns/{campaign}",
            None,
            CampaignRead(200),
        ),
        case(
            "POST",
            "/api/v1/campaigns/{campaign}/anchors",
            j(json!({ "anchor": "nope", "date": "2026-12-20" })),
            CampaignAdmin(422),
        ),
        case(
            "GET",
            "/api/v1/campaigns/{campaign}/progress?unit_id={unit}",
            None,
            ScopedRead(200),
        ),
        case(
            "GET",
            "/api/v1/campaigns/{campaign}/overdue?unit_id={unit}",
            None,
            ScopedRead(200),
        ),
        case(
            "GET",
            "/api/v1/campaigns/{campaign}/violations?unit_id={unit}",
            None,
            ScopedRead(200),
        ),
        case(
            "GET",
            "/api/v1/campaigns/{campaign}/upcoming?unit_id={unit}",
            None,
            ScopedRead(200),
        ),
        // Tasks.
        case("GET", "/api/v1/tasks", None, AnyUser(200)),
        case("GET", "/api/v1/tasks/{task}", None, ScopedRead(200)),
        case("GET", "/api/v1/tasks/{task}/history", None, ScopedRead(200)),
        case(
            "GET",
            "/api/v1/tasks/{task}/comments",
            None,
            ScopedRead(200),
        ),
        case(
            "POST",
            "/api/v1/tasks/{task}/complete",
            j(json!({ "evidence": { "problems_found": "many" } })),
            Work(422),
        ),
        case(
            "POST",
            "/api/v1/tasks/{task}/reopen",
            j(json!({ "reason": "录入错误" })),
            Work(409),
        ),
        case(
            "POST",
            "/api/v1/tasks/{task}/comments",
            j(json!({ "body": "" })),
            Work(422),
        ),
        case(
            "POST",
            "/api/v1/tasks/{task}/skip",
            j(json!({ "reason": "" })),
            Manage(422),
        ),
        case(
            "POST",
            "/api/v1/tasks/{task}/cancel",
            j(json!({ "reason": "" })),
            Manage(422),
        ),
        case(
            "POST",
            "/api/v1/tasks/{task}/reassign",
            j(json!({ "owner_id": "{cenwei}", "revision": 999 })),
            Manage(409),
        ),
        case(
            "POST",
            "/api/v1/tasks",
            j(json!({ "title": "", "due": "2026-12-01", "unit_id": "{unit}" })),
            ManageBody(422),
        ),
        case(
            "POST",
            "/api/v1/tasks/reassign",
            j(
                json!({ "to_person_id": "{cenwei}", "from_person_id": "{group_person}", "unit_id": "{unit}" }),
            ),
            ManageBody(200),
        ),
        // Accounts.
        case("GET", "/api/v1/users", None, Admin(200)),
        case(
            "POST",
            "/api/v1/users",
            j(json!({ "username": "a b" })),
            Admin(422),
        ),
        case("GET", "/api/v1/users/{spare_user}", None, Admin(200)),
        case(
            "PUT",
            "/api/v1/users/{spare_user}/roles",
            j(json!({ "roles": [{ "role": "cadre" }] })),
            Admin(200),
        ),
        case(
            "POST",
            "/api/v1/users/{spare_user}/reset-link",
            None,
            Admin(201),
        ),
        case(
            "POST",
            "/api/v1/users/{spare_user}/deactivate",
            None,
            Admin(200),
        ),
        case(
            "POST",
            "/api/v1/users/{spare_user}/activate",
            None,
            Admin(200),
        ),
        // Writes that succeed, last: they change the organisation.
        case(
            "POST",
            "/api/v1/people/{group_person}/deactivate",
            None,
            ScopedAdmin(200),
        ),
        case(
            "POST",
            "/api/v1/assignments/{assignment}/deactivate",
            None,
            ScopedAdmin(200),
        ),
    ]
}

#[actix_rt::test]
async fn every_route_for_every_role_inside_and_outside_their_units() {
    let w = world().await;
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in cases() {
        let targets: &[Target] = if w.is_scoped(&case) {
            &[Target::In, Target::Out]
        } else {
            &[Target::In]
        };
        for &target in targets {
            for who in EVERYONE {
                let events_before = w.app.count("events");
                let (status, body) = w.send(who, &case, target).await;
                let want = expected(case.rule, who, target);
                // Every write is logged, so an unchanged log shows a refusal changed nothing.
                if matches!(status, 401 | 403 | 404) {
                    assert_eq!(
                        w.app.count("events"),
                        events_before,
                        "{} {} {who:?} {target:?} was refused but wrote",
                        case.method,
                        case.path
                    );
                }
                checked += 1;
                if status != want {
                    failures.push(format!(
                        "{} {} {who:?} {target:?}: got {status}, want {want}: {body}",
                        case.method, case.path
                    ));
                }
                if (400..500).contains(&status) {
                    assert!(
                        body["code"].is_string(),
                        "every refusal is JSON with a code: {body}"
                    );
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 400, "{checked}");
}

fn ids(body: &Value, key: &str) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i[key].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[actix_rt::test]
async fn lists_counts_and_dashboards_show_nothing_outside_the_callers_units() {
    let w = world().await;
    let app = &w.app;
    let admin = &w.tokens[&Who::Admin];
    let district_1 = id_of(app, "/api/v1/units?name=第一选区").await;
    let (_, all_units) = app.get_as(admin, "/api/v1/units?per_page=500").await;
    let total_units = all_units["total"].as_i64().unwrap();

    // Units.
    let (_, seen) = app
        .get_as(&w.tokens[&Who::Leader], "/api/v1/units?per_page=500")
        .await;
    let seen_ids = ids(&seen, "id");
    assert_eq!(
        seen["total"].as_i64().unwrap() as usize,
        seen_ids.len(),
        "the count is the scoped count"
    );
    assert!(seen_ids.contains(&w.inside["unit"]) && seen_ids.contains(&district_1));
    assert!(!seen_ids.contains(&w.outside["unit"]) && !seen_ids.contains(&w.shared["township"]));
    assert!((seen_ids.len() as i64) < total_units);
    let (_, cadre_units) = app
        .get_as(&w.tokens[&Who::Cadre], "/api/v1/units?level=village")
        .await;
    let mut names: Vec<String> = ids(&cadre_units, "name");
    names.sort();
    assert_eq!(
        names,
        ["杨庄村", "河湾村"],
        "the cadre's villages come from his 三包 roles"
    );
    let (_, none) = app.get_as(&w.tokens[&Who::NoRole], "/api/v1/units").await;
    assert_eq!(none["total"], 0);

    // People and assignments.
    for who in [Who::Observer, Who::Leader, Who::Cadre] {
        let (_, people) = app
            .get_as(&w.tokens[&who], "/api/v1/people?per_page=500")
            .await;
        let people = ids(&people, "id");
        assert!(people.contains(&w.inside["person"]), "{who:?}");
        assert!(!people.contains(&w.outside["person"]), "{who:?}");
        let (_, assignments) = app
            .get_as(&w.tokens[&who], "/api/v1/assignments?per_page=500")
            .await;
        let units = ids(&assignments, "unit_id");
        assert!(
            units.contains(&w.inside["unit"]) && !units.contains(&w.outside["unit"]),
            "{who:?}"
        );
        // Asking for an outside unit by filter finds nothing rather than everything.
        let (status, body) = app
            .get_as(
                &w.tokens[&who],
                &format!("/api/v1/assignments?unit_id={}", w.outside["unit"]),
            )
            .await;
        assert_eq!((status, body["total"].as_i64()), (200, Some(0)), "{who:?}");
    }
    let (_, people) = app.get_as(&w.tokens[&Who::NoRole], "/api/v1/people").await;
    assert_eq!(people["total"], 0);

    // Tasks: the leader's list is exactly the office's list of 第一选区.
    let campaign = &w.shared["campaign"];
    let (_, theirs) = app
        .get_as(&w.tokens[&Who::Leader], "/api/v1/tasks?per_page=1")
        .await;
    let (_, office) = app
        .get_as(
            admin,
            &format!("/api/v1/tasks?per_page=1&unit_id={district_1}"),
        )
        .await;
    assert_eq!(theirs["total"], office["total"]);
    assert!(theirs["total"].as_i64().unwrap() > 0);
    let (_, outside) = app
        .get_as(
            &w.tokens[&Who::Leader],
            &format!("/api/v1/tasks?unit_id={}", w.outside["unit"]),
        )
        .await;
    assert_eq!(outside["total"], 0);
    let (_, cadre_tasks) = app
        .get_as(&w.tokens[&Who::Cadre], "/api/v1/tasks?per_page=500")
        .await;
    let cadre_task_units = ids(&cadre_tasks, "unit_id");
    assert!(cadre_task_units.contains(&w.inside["unit"]));
    assert!(
        !cadre_task_units.contains(&w.outside["unit"])
            && !cadre_task_units.contains(&w.shared["township"])
    );
    let (_, none) = app.get_as(&w.tokens[&Who::NoRole], "/api/v1/tasks").await;
    assert_eq!(none["total"], 0);

    // Campaigns: the no-role user sees none; the others see the township's.
    let (_, none) = app
        .get_as(&w.tokens[&Who::NoRole], "/api/v1/campaigns")
        .await;
    assert_eq!(none["items"].as_array().unwrap().len(), 0);
    let (_, listed) = app
        .get_as(&w.tokens[&Who::Observer], "/api/v1/campaigns")
        .await;
    assert_eq!(ids(&listed, "id"), [campaign.as_str()]);

    // Dashboards default to the caller's own part of the campaign.
    let (status, mine) = app
        .get_as(
            &w.tokens[&Who::Leader],
            &format!("/api/v1/campaigns/{campaign}/progress"),
        )
        .await;
    assert_eq!(status, 200, "{mine}");
    let (_, office) = app
        .get_as(
            admin,
            &format!("/api/v1/campaigns/{campaign}/progress?unit_id={district_1}"),
        )
        .await;
    assert_eq!(mine["counts"], office["counts"]);
    let (_, whole) = app
        .get_as(admin, &format!("/api/v1/campaigns/{campaign}/progress"))
        .await;
    assert!(whole["counts"]["total"].as_i64() > mine["counts"]["total"].as_i64());
    let (status, body) = app
        .get_as(
            &w.tokens[&Who::Cadre],
            &format!("/api/v1/campaigns/{campaign}/progress"),
        )
        .await;
    assert_eq!(
        status, 422,
        "two villages: the cadre must choose one: {body}"
    );
    assert_eq!(body["details"][0]["field"], "unit_id");
    let (_, overdue) = app
        .get_as(
            &w.tokens[&Who::Leader],
            &format!("/api/v1/campaigns/{campaign}/overdue"),
        )
        .await;
    let text = overdue.to_string();
    assert!(!text.contains(&w.outside["unit"]) && !text.contains(&w.outside["person"]));
}

#[actix_rt::test]
async fn a_task_reassigned_to_someone_stays_theirs_to_see_and_do() {
    let w = world().await;
    let app = &w.app;
    // 岑伟 is given a task in 双河村, outside his villages.
    let task = &w.outside["task"];
    let (status, t) = app.get(&format!("/api/v1/tasks/{task}")).await;
    assert_eq!(status, 200);
    let (status, body) = app
        .post(
            &format!("/api/v1/tasks/{task}/reassign"),
            json!({ "owner_id": w.shared["cenwei"], "revision": t["revision"] }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let cadre = &w.tokens[&Who::Cadre];
    let (status, _) = app.get_as(cadre, &format!("/api/v1/tasks/{task}")).await;
    assert_eq!(status, 200);
    let (_, mine) = app
        .get_as(
            cadre,
            &format!("/api/v1/tasks?unit_id={}", w.outside["unit"]),
        )
        .await;
    assert_eq!(ids(&mine, "id"), [task.as_str()]);
    let (status, body) = app
        .post_as(
            cadre,
            &format!("/api/v1/tasks/{task}/comments"),
            json!({ "body": "已联系村委会" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    // But the village itself stays out of reach.
    let (status, _) = app
        .get_as(cadre, &format!("/api/v1/units/{}", w.outside["unit"]))
        .await;
    assert_eq!(status, 404);
    // The leader of 第一选区 cannot hand 双河村's task to anyone, nor give 岑伟 someone else's.
    let (status, _) = app
        .post_as(
            &w.tokens[&Who::Leader],
            &format!("/api/v1/tasks/{}/reassign", w.inside["task"]),
            json!({ "owner_id": w.outside["person"] }),
        )
        .await;
    assert_eq!(
        status, 403,
        "a person outside the leader's units is refused in the body"
    );
}
