//! Units, people and assignments over the HTTP API, on the configured backend.

mod common;

use common::{person, unit, TestApp, NOT_ACCOUNT_EVENTS};
use serde_json::json;

#[actix_rt::test]
async fn health_check_reports_the_backend() {
    let app = TestApp::new();
    let (status, body) = app.get("/healthz").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], app.url.backend_name());
}

#[actix_rt::test]
async fn unit_tree_create_list_get_update() {
    let app = TestApp::new();
    let town = unit(&app, None, "township", "八渡镇").await;
    let d1 = unit(&app, Some(&town), "district", "第一选区").await;
    let d2 = unit(&app, Some(&town), "district", "第二选区").await;
    for name in ["大禾村", "纳桑村", "石桥社区"] {
        unit(&app, Some(&d1), "village", name).await;
    }
    unit(&app, Some(&d2), "village", "坡脚村").await;

    let (status, page) = app.get(&format!("/api/v1/units?parent_id={d1}")).await;
    assert_eq!(status, 200);
    assert_eq!(page["total"], 3);
    let (_, page) = app
        .get("/api/v1/units?level=village&per_page=2&page=2")
        .await;
    assert_eq!(page["total"], 4);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let (_, page) = app.get("/api/v1/units?name=社区").await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["name"], "石桥社区");

    let (status, got) = app.get(&format!("/api/v1/units/{d2}")).await;
    assert_eq!(status, 200);
    assert_eq!(got["parent_id"], town);
    assert!(got["created_at"].as_str().unwrap().ends_with('Z'));

    let (status, renamed) = app
        .patch(
            &format!("/api/v1/units/{d2}"),
            json!({ "name": "第二片区", "kind": "片区" }),
        )
        .await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(renamed["name"], "第二片区");
    assert_eq!(renamed["kind"], "片区");

    let (status, missing) = app.get("/api/v1/units/no-such-id").await;
    assert_eq!(status, 404);
    assert_eq!(missing["code"], "not_found");
}

#[actix_rt::test]
async fn tree_rules_are_enforced() {
    let app = TestApp::new();
    let town = unit(&app, None, "township", "河湾乡").await;
    let district = unit(&app, Some(&town), "district", "第一选区").await;
    let village = unit(&app, Some(&district), "village", "大禾村").await;
    let group = unit(&app, Some(&village), "group", "一组").await;
    let before = app.count("units");

    // A parent on a wrong level.
    let (status, body) = app
        .post(
            "/api/v1/units",
            json!({ "parent_id": village, "level": "district", "name": "错选区" }),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["details"][0]["field"], "parent_id");
    // A village cannot stand alone.
    let (status, _) = app
        .post(
            "/api/v1/units",
            json!({ "level": "village", "name": "孤村" }),
        )
        .await;
    assert_eq!(status, 422);
    // Unknown level.
    let (status, body) = app
        .post(
            "/api/v1/units",
            json!({ "parent_id": town, "level": "province", "name": "x" }),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["details"][0]["field"], "level");
    // Two units of one name under one parent.
    let (status, body) = app
        .post(
            "/api/v1/units",
            json!({ "parent_id": district, "level": "village", "name": "大禾村" }),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(body["code"], "duplicate_name");
    // Two roots of one name (NULL parents do not collide in a plain unique index).
    let (status, _) = app
        .post(
            "/api/v1/units",
            json!({ "level": "township", "name": "河湾乡" }),
        )
        .await;
    assert_eq!(status, 409);
    // A move under its own descendant.
    let (status, body) = app
        .patch(
            &format!("/api/v1/units/{district}"),
            json!({ "parent_id": group }),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "cycle");
    // A move under itself.
    let (status, _) = app
        .patch(
            &format!("/api/v1/units/{village}"),
            json!({ "parent_id": village }),
        )
        .await;
    assert_eq!(status, 409);
    // A level change that would put the village below its own group's level.
    let (status, body) = app
        .patch(
            &format!("/api/v1/units/{village}"),
            json!({ "level": "group" }),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    // A rename onto a sibling's name.
    let second = unit(&app, Some(&district), "village", "纳桑村").await;
    let (status, _) = app
        .patch(
            &format!("/api/v1/units/{second}"),
            json!({ "name": "大禾村" }),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(app.count("units"), before + 1);

    // A legal move: the village goes straight under the township.
    let (status, moved) = app
        .patch(
            &format!("/api/v1/units/{second}"),
            json!({ "parent_id": town }),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["parent_id"], town);
}

#[actix_rt::test]
async fn deactivation_keeps_the_unit_and_ends_its_roles() {
    let app = TestApp::new();
    let town = unit(&app, None, "township", "河湾乡").await;
    let district = unit(&app, Some(&town), "district", "第一选区").await;
    let village = unit(&app, Some(&district), "village", "大禾村").await;
    let cadre = person(&app, "王强").await;
    let (status, _) = app
        .post(
            "/api/v1/assignments",
            json!({ "person_id": cadre, "unit_id": village, "role": "cadre" }),
        )
        .await;
    assert_eq!(status, 201);

    let (status, body) = app
        .post(&format!("/api/v1/units/{district}/deactivate"), json!({}))
        .await;
    assert_eq!(status, 409);
    assert_eq!(body["code"], "has_active_children");

    let (status, body) = app
        .post(&format!("/api/v1/units/{village}/deactivate"), json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["active"], false);
    let (_, page) = app
        .get(&format!("/api/v1/units?parent_id={district}"))
        .await;
    assert_eq!(page["total"], 0);
    let (_, page) = app
        .get(&format!("/api/v1/units?parent_id={district}&active=false"))
        .await;
    assert_eq!(page["total"], 1);
    let (_, page) = app
        .get(&format!("/api/v1/assignments?unit_id={village}"))
        .await;
    assert_eq!(page["total"], 0);
    let (_, page) = app
        .get(&format!(
            "/api/v1/assignments?unit_id={village}&active=false"
        ))
        .await;
    assert_eq!(page["total"], 1);
    let (status, _) = app
        .patch(
            &format!("/api/v1/units/{village}"),
            json!({ "name": "新名" }),
        )
        .await;
    assert_eq!(status, 409);
}

#[actix_rt::test]
async fn malformed_requests_get_json_errors_and_change_nothing() {
    let app = TestApp::new();
    let town = unit(&app, None, "township", "河湾乡").await;
    let before = app.count("units");
    let raw = |body: &'static str| {
        actix_web::test::TestRequest::post()
            .uri("/api/v1/units")
            .insert_header(("content-type", "application/json"))
            .set_payload(body)
    };
    let (status, body) = app.call(raw("{\"level\": \"district\", \"name\": ")).await;
    assert_eq!(status, 400);
    assert_eq!(body["code"], "invalid_json");
    assert!(body["message"].as_str().unwrap().contains("JSON"));

    let (status, body) = app
        .post(
            "/api/v1/units",
            json!({ "parent_id": town, "level": "district", "name": "一", "colour": "red" }),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["code"], "invalid_field");
    assert!(body["message"].as_str().unwrap().contains("colour"));

    let (status, body) = app
        .post(
            "/api/v1/units",
            json!({ "parent_id": town, "level": "district", "name": 7 }),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["code"], "invalid_field");

    let (status, body) = app
        .call(
            actix_web::test::TestRequest::post()
                .uri("/api/v1/units")
                .set_payload("level=district"),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["code"], "unsupported_media_type");

    let big = format!(
        "{{\"level\":\"district\",\"name\":\"{}\"}}",
        "x".repeat(huanjie::web::JSON_LIMIT)
    );
    let (status, body) = app
        .call(
            actix_web::test::TestRequest::post()
                .uri("/api/v1/units")
                .insert_header(("content-type", "application/json"))
                .set_payload(big),
        )
        .await;
    assert_eq!(status, 413);
    assert_eq!(body["code"], "payload_too_large");

    let (status, body) = app.get("/api/v1/units?levle=village").await;
    assert_eq!(status, 400);
    assert_eq!(body["code"], "invalid_query");
    let (status, _) = app.get("/api/v1/units?per_page=100000").await;
    assert_eq!(status, 422);
    let (status, body) = app.get("/api/v1/nothing-here").await;
    assert_eq!(status, 404);
    assert_eq!(body["code"], "not_found");

    let (status, body) = app
        .post(
            "/api/v1/units",
            json!({ "parent_id": town, "level": "district", "name": "   " }),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["details"][0]["field"], "name");
    assert_eq!(app.count("units"), before);
}

#[actix_rt::test]
async fn people_contacts_are_validated() {
    let app = TestApp::new();
    let (status, body) = app
        .post(
            "/api/v1/people",
            json!({ "name": "张伟", "phone": "1380000", "email": "zhangwei@" }),
        )
        .await;
    assert_eq!(status, 422);
    let fields: Vec<&str> = body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["phone", "email"]);
    assert_eq!(app.count("people"), 0);

    let (status, created) = app.post("/api/v1/people", json!({ "name": " 张伟 ", "phone": "138 0000 0001", "email": "ZhangWei@Badu.gov.cn", "title": "副镇长" })).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["name"], "张伟");
    assert_eq!(created["phone"], "13800000001");
    assert_eq!(created["email"], "ZhangWei@badu.gov.cn");
    let id = created["id"].as_str().unwrap();

    let (status, body) = app
        .patch(
            &format!("/api/v1/people/{id}"),
            json!({ "phone": "not a phone" }),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["details"][0]["field"], "phone");
    let (status, updated) = app
        .patch(&format!("/api/v1/people/{id}"), json!({ "email": null }))
        .await;
    assert_eq!(status, 200);
    assert_eq!(updated["email"], serde_json::Value::Null);
    assert_eq!(updated["phone"], "13800000001");

    let (_, found) = app.get("/api/v1/people?phone=13800000001").await;
    assert_eq!(found["total"], 1);
    let (_, found) = app.get("/api/v1/people?name=伟").await;
    assert_eq!(found["total"], 1);
}

#[actix_rt::test]
async fn assignments_keep_exactly_one_primary() {
    let app = TestApp::new();
    let town = unit(&app, None, "township", "河湾乡").await;
    let district = unit(&app, Some(&town), "district", "第一选区").await;
    let (a, b) = (person(&app, "张伟").await, person(&app, "李娜").await);
    let (_, first) = app
        .post(
            "/api/v1/assignments",
            json!({ "person_id": a, "unit_id": district, "role": "leader" }),
        )
        .await;
    assert_eq!(first["is_primary"], true);
    let (_, second) = app
        .post(
            "/api/v1/assignments",
            json!({ "person_id": b, "unit_id": district, "role": "leader" }),
        )
        .await;
    assert_eq!(second["is_primary"], false);
    let (status, body) = app
        .post(
            "/api/v1/assignments",
            json!({ "person_id": b, "unit_id": district, "role": "leader" }),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(body["code"], "duplicate_assignment");
    let (status, body) = app
        .post(
            "/api/v1/assignments",
            json!({ "person_id": b, "unit_id": district, "role": "包片领导" }),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = app
        .post(
            "/api/v1/assignments",
            json!({ "person_id": "nobody", "unit_id": district, "role": "leader" }),
        )
        .await;
    assert_eq!(status, 422);

    let second_id = second["id"].as_str().unwrap();
    let (status, _) = app
        .patch(
            &format!("/api/v1/assignments/{second_id}"),
            json!({ "is_primary": true }),
        )
        .await;
    assert_eq!(status, 200);
    let (_, res) = app
        .get(&format!("/api/v1/units/{district}/resolve?role=leader"))
        .await;
    assert_eq!(res["holders"][0]["person"]["name"], "李娜");
    assert_eq!(res["holders"][1]["person"]["name"], "张伟");
    assert_eq!(res["holders"][1]["is_primary"], false);

    // When the primary goes, the other holder takes over.
    app.post(
        &format!("/api/v1/assignments/{second_id}/deactivate"),
        json!({}),
    )
    .await;
    let (_, res) = app
        .get(&format!("/api/v1/units/{district}/resolve?role=leader"))
        .await;
    assert_eq!(res["holders"].as_array().unwrap().len(), 1);
    assert_eq!(res["holders"][0]["person"]["name"], "张伟");
    assert_eq!(res["holders"][0]["is_primary"], true);
}

#[actix_rt::test]
async fn deactivating_a_person_keeps_their_history() {
    let app = TestApp::new();
    let town = unit(&app, None, "township", "河湾乡").await;
    let district = unit(&app, Some(&town), "district", "第一选区").await;
    let village = unit(&app, Some(&district), "village", "大禾村").await;
    let wang = person(&app, "王强").await;
    let (_, assignment) = app
        .post(
            "/api/v1/assignments",
            json!({ "person_id": wang, "unit_id": village, "role": "cadre" }),
        )
        .await;
    app.patch(
        &format!("/api/v1/people/{wang}"),
        json!({ "phone": "13900000009" }),
    )
    .await;

    app.clock.advance(chrono::Duration::days(3));
    let (status, gone) = app
        .post(&format!("/api/v1/people/{wang}/deactivate"), json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(gone["active"], false);

    // Still readable, with their ended assignment and every event.
    let (status, still) = app.get(&format!("/api/v1/people/{wang}")).await;
    assert_eq!(status, 200);
    assert_eq!(still["phone"], "13900000009");
    let (_, ended) = app
        .get(&format!(
            "/api/v1/assignments?person_id={wang}&active=false"
        ))
        .await;
    assert_eq!(ended["total"], 1);
    assert_eq!(ended["items"][0]["id"], assignment["id"]);
    let (_, history) = app.get(&format!("/api/v1/people/{wang}/history")).await;
    let actions: Vec<(String, String)> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["entity_type"].as_str().unwrap().to_owned(),
                e["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let pairs: Vec<(&str, &str)> = actions
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("person", "create"),
            ("assignment", "create"),
            ("person", "update"),
            ("assignment", "deactivate"),
            ("person", "deactivate")
        ]
    );
    let update = &history["items"][2];
    assert_eq!(update["before"]["phone"], serde_json::Value::Null);
    assert_eq!(update["after"]["phone"], "13900000009");
    assert_eq!(update["actor"], "user:office");
    let last = history["items"].as_array().unwrap().last().unwrap();
    assert_eq!(last["at"], "2026-10-04T01:00:00.000Z");

    // Nobody resolves to a deactivated person any more.
    let (_, res) = app
        .get(&format!("/api/v1/units/{village}/resolve?role=cadre"))
        .await;
    assert_eq!(res["holders"].as_array().unwrap().len(), 0);
    assert_eq!(res["resolved_at"], serde_json::Value::Null);
    let (status, _) = app
        .post(
            "/api/v1/assignments",
            json!({ "person_id": wang, "unit_id": village, "role": "cadre" }),
        )
        .await;
    assert_eq!(status, 422);
}

#[actix_rt::test]
async fn every_write_is_in_the_event_log_and_the_log_cannot_be_rewritten() {
    let app = TestApp::new();
    let town = unit(&app, None, "township", "河湾乡").await;
    app.patch(&format!("/api/v1/units/{town}"), json!({ "kind": "乡" }))
        .await;
    let (_, page) = app
        .get(&format!("/api/v1/events?entity_type=unit&entity_id={town}"))
        .await;
    assert_eq!(page["total"], 2);
    assert_eq!(page["items"][1]["before"]["kind"], serde_json::Value::Null);
    assert_eq!(page["items"][1]["after"]["kind"], "乡");

    use diesel::connection::SimpleConnection;
    let mut conn = app.conn();
    assert!(conn
        .batch_execute("UPDATE events SET actor = 'someone else'")
        .is_err());
    assert!(conn.batch_execute("DELETE FROM events").is_err());
    drop(conn);
    assert_eq!(app.count(NOT_ACCOUNT_EVENTS), 2);
}
