//! Stored workflow versions over the HTTP API: stored by id, version and content hash; a changed
//! file under an unchanged version is refused.

mod common;

use actix_web::test::TestRequest;
use common::TestApp;

const VILLAGE: &str = include_str!("../workflows/village-committee.yaml");

async fn upload(app: &TestApp, text: &str) -> (u16, serde_json::Value) {
    app.call(
        TestRequest::post()
            .uri("/api/v1/workflows")
            .insert_header(("content-type", "application/yaml"))
            .set_payload(text.to_owned()),
    )
    .await
}

fn version_of(text: &str) -> String {
    let line = text.lines().find(|l| l.starts_with("version:")).unwrap();
    line.split('"').nth(1).unwrap().to_owned()
}

#[actix_rt::test]
async fn a_workflow_is_stored_once_by_id_version_and_hash() {
    let app = TestApp::new();
    let version = version_of(VILLAGE);
    let (status, body) = upload(&app, VILLAGE).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["outcome"], "stored");
    assert_eq!(body["workflow"]["id"], "village-committee");
    assert_eq!(body["workflow"]["version"], version.as_str());
    let hash = body["workflow"]["content_hash"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(hash.len(), 64);

    // The same file again changes nothing.
    let (status, body) = upload(&app, VILLAGE).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "unchanged");
    assert_eq!(app.count("workflows"), 1);

    let (status, body) = app
        .get(&format!(
            "/api/v1/workflows/village-committee/versions/{version}"
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["source"], VILLAGE);
    assert_eq!(body["content_hash"], hash.as_str());
}

#[actix_rt::test]
async fn a_changed_file_under_the_same_version_is_refused() {
    let app = TestApp::new();
    let version = version_of(VILLAGE);
    assert_eq!(upload(&app, VILLAGE).await.0, 201);
    let changed = VILLAGE.replace("election_day - 20d", "election_day - 21d");
    assert_ne!(changed, VILLAGE);
    let (status, body) = upload(&app, &changed).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "workflow_version_changed");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("village-committee"), "{message}");
    assert!(message.contains("version"), "{message}");
    // The stored rules are untouched.
    let (_, stored) = app
        .get(&format!(
            "/api/v1/workflows/village-committee/versions/{version}"
        ))
        .await;
    assert_eq!(stored["source"], VILLAGE);

    // Bumping the version stores a second version beside the first.
    let bumped = changed.replacen(&format!("version: \"{version}\""), "version: \"2099.1\"", 1);
    let (status, body) = upload(&app, &bumped).await;
    assert_eq!(status, 201, "{body}");
    let (_, list) = app.get("/api/v1/workflows").await;
    let versions: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions.len(), 2);
    assert!(versions.contains(&"2099.1") && versions.contains(&version.as_str()));
}

#[actix_rt::test]
async fn an_invalid_workflow_is_refused_with_every_problem() {
    let app = TestApp::new();
    let broken = VILLAGE
        .replace("owner: cadre", "owner: cadr")
        .replace("needs: [audit]", "needs: [audti]");
    let (status, body) = upload(&app, &broken).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "workflow_invalid");
    let details = body["details"].as_array().unwrap();
    assert!(details.len() >= 2, "{body}");
    let all = body["details"].to_string();
    assert!(all.contains("是不是 \\\"cadre\\\""), "{all}");
    assert_eq!(app.count("workflows"), 0);

    let (status, body) = upload(&app, "id: [unterminated").await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = app
        .call(
            TestRequest::post()
                .uri("/api/v1/workflows")
                .set_payload(vec![b'#'; 2 * 1024 * 1024]),
        )
        .await;
    assert_eq!(status, 413);
}

#[actix_rt::test]
async fn a_stored_version_prints_its_timetable() {
    let app = TestApp::new();
    let version = version_of(VILLAGE);
    upload(&app, VILLAGE).await;
    let (status, body) = app
        .get(&format!(
            "/api/v1/workflows/village-committee/versions/{version}/timetable?election_day=2026-12-20"
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let rows = body["items"].as_array().unwrap();
    assert!(rows.len() > 20);
    let (status, _) = app
        .get("/api/v1/workflows/village-committee/versions/0.0/timetable?election_day=2026-12-20")
        .await;
    assert_eq!(status, 404);
}
