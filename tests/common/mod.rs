//! Test harness: a fresh app on a fresh database per test, on SQLite always and on PostgreSQL
//! when `TEST_DATABASE_URL` points at a server (CI sets it).
#![allow(dead_code)]

use std::sync::Arc;

use actix_web::test;
use chrono::{TimeZone, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::Value;

use huanjie::clock::{Clock, FixedClock};
use huanjie::config::{Config, Overrides};
use huanjie::db::{self, DatabaseUrl, DbConnection};
use huanjie::web::{app, AppState};

/// A database that lives as long as the test.
pub enum TestDb {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    /// Creates an empty database and returns it with its URL.
    pub fn create() -> (TestDb, DatabaseUrl) {
        match std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            Some(admin_url) => {
                let name = format!("huanjie_test_{}", uuid::Uuid::now_v7().simple());
                let mut admin = PgConnection::establish(&admin_url)
                    .expect("TEST_DATABASE_URL must reach a PostgreSQL server");
                admin
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create test database");
                let base = admin_url
                    .rsplit_once('/')
                    .map(|(b, _)| b)
                    .unwrap_or(&admin_url);
                let url = DatabaseUrl::Postgres(format!("{base}/{name}"));
                (TestDb::Postgres { admin_url, name }, url)
            }
            None => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = DatabaseUrl::Sqlite(dir.path().join("huanjie.db"));
                (TestDb::Sqlite(dir), url)
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { admin_url, name } = self {
            if let Ok(mut admin) = PgConnection::establish(admin_url) {
                let _ =
                    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

pub struct TestApp {
    pub state: AppState,
    pub clock: FixedClock,
    pub url: DatabaseUrl,
    /// Bearer token of the admin `office`, which `get`/`post`/`call` act as.
    pub admin_token: String,
    // Dropped last, after the pool in `state`.
    _db: TestDb,
}

/// The event log without the test's own account setup, for "nothing was written" checks.
pub const NOT_ACCOUNT_EVENTS: &str = "events WHERE entity_type NOT IN ('user', 'api_token')";

pub fn start_time() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 1, 1, 0, 0).unwrap()
}

impl TestApp {
    pub fn new() -> TestApp {
        let (db_guard, url) = TestDb::create();
        let pool = db::connect(&url, 4).expect("connect and migrate");
        let config = Config::load_from(
            None,
            Vec::new(),
            &Overrides {
                database_url: Some(url.to_string()),
                ..Default::default()
            },
        )
        .expect("default config");
        let clock = FixedClock::new(start_time());
        let state = AppState::new(pool, Arc::new(clock.clone()), config);
        let mut app = TestApp {
            state,
            clock,
            url,
            admin_token: String::new(),
            _db: db_guard,
        };
        app.admin_token = app.user_with_token("office", &[("admin", None)], None);
        app
    }

    /// Creates a user with roles straight in the database and returns a bearer token for them.
    pub fn user_with_token(
        &self,
        username: &str,
        roles: &[(&str, Option<&str>)],
        person_id: Option<&str>,
    ) -> String {
        let id = self.user(username, roles, person_id, None);
        let mut conn = self.conn();
        let ctx = huanjie::audit::WriteContext::new("test", self.clock.now_naive());
        huanjie::auth::tokens::create(
            &mut conn,
            &ctx,
            &id,
            huanjie::auth::tokens::NewTokenForm {
                name: "test".into(),
                expires_in_days: None,
            },
        )
        .expect("token")
        .secret
    }

    /// Creates a user (with a password, if given) and returns its id.
    pub fn user(
        &self,
        username: &str,
        roles: &[(&str, Option<&str>)],
        person_id: Option<&str>,
        password: Option<&str>,
    ) -> String {
        let mut conn = self.conn();
        let ctx = huanjie::audit::WriteContext::new("test", self.clock.now_naive());
        let form = huanjie::auth::users::NewUserForm {
            username: username.into(),
            person_id: person_id.map(str::to_owned),
            password: None,
            roles: roles
                .iter()
                .map(|(role, unit)| huanjie::auth::users::GrantForm {
                    role: role.to_string(),
                    unit_id: unit.map(str::to_owned),
                })
                .collect(),
        };
        let hash = password.map(|p| huanjie::auth::secret::hash_password(p).unwrap());
        huanjie::auth::users::create(&mut conn, &ctx, form, hash)
            .expect("user")
            .user
            .id
    }

    /// Sends a request exactly as given (no credentials added); returns status, headers, body.
    pub async fn raw(
        &self,
        req: test::TestRequest,
    ) -> (u16, actix_web::http::header::HeaderMap, Value) {
        let app = test::init_service(app(self.state.clone())).await;
        let resp = test::call_service(&app, req.to_request()).await;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = test::read_body(resp).await;
        let value = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()))
        };
        (status, headers, value)
    }

    /// Sends a request with a bearer token (`None`: no credentials at all).
    pub async fn call_as(&self, token: Option<&str>, req: test::TestRequest) -> (u16, Value) {
        let req = match token {
            Some(t) => req.insert_header(("authorization", format!("Bearer {t}"))),
            None => req,
        };
        let (status, _, body) = self.raw(req).await;
        (status, body)
    }

    pub async fn get_as(&self, token: &str, path: &str) -> (u16, Value) {
        self.call_as(Some(token), test::TestRequest::get().uri(&encode_uri(path)))
            .await
    }

    pub async fn post_as(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        self.call_as(
            Some(token),
            test::TestRequest::post()
                .uri(&encode_uri(path))
                .set_json(body),
        )
        .await
    }

    pub fn conn(&self) -> db::PooledConnection {
        self.state.pool.get().expect("connection")
    }

    /// Sends a request as the admin `office`.
    pub async fn call(&self, req: test::TestRequest) -> (u16, Value) {
        let token = self.admin_token.clone();
        self.call_as(Some(&token), req).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call(test::TestRequest::get().uri(&encode_uri(path)))
            .await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(test::TestRequest::post().uri(path).set_json(body))
            .await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(test::TestRequest::patch().uri(path).set_json(body))
            .await
    }

    /// Uploads a file to the import endpoint as a browser form would.
    pub async fn upload(&self, query: &str, file_name: &str, bytes: &[u8]) -> (u16, Value) {
        let boundary = "huanjieTestBoundary7MA4YWxk";
        let mut body = Vec::new();
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let req = test::TestRequest::post()
            .uri(&encode_uri(&format!("/api/v1/imports{query}")))
            .insert_header((
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            ))
            .set_payload(body);
        self.call(req).await
    }

    /// Counts rows of a table, to show that a refused request wrote nothing.
    pub fn count(&self, table: &str) -> i64 {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = self.conn();
        let conn: &mut DbConnection = &mut conn;
        diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
            .get_result::<N>(conn)
            .expect("count")
            .n
    }
}

/// Percent-encodes the non-ASCII bytes of a URI, as a browser does with Chinese names.
pub fn encode_uri(path: &str) -> String {
    path.bytes()
        .map(|b| {
            if b.is_ascii() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture")
}

/// Creates a unit over the API and returns its id.
pub async fn unit(app: &TestApp, parent: Option<&str>, level: &str, name: &str) -> String {
    let (status, body) = app
        .post(
            "/api/v1/units",
            serde_json::json!({ "parent_id": parent, "level": level, "name": name }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

pub async fn person(app: &TestApp, name: &str) -> String {
    let (status, body) = app
        .post("/api/v1/people", serde_json::json!({ "name": name }))
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// The 17-village sample township with the village-committee workflow stored, ready for a
/// campaign.
pub struct Township {
    pub id: String,
    /// Unit name → id, for villages (unique names in the sample).
    pub villages: std::collections::BTreeMap<String, String>,
}

pub async fn hewan_township(app: &TestApp) -> Township {
    let (status, body) = app
        .upload(
            "?township=河湾乡",
            "hewan.csv",
            &fixture("hewan-17-villages.csv"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .call(
            test::TestRequest::post()
                .uri("/api/v1/workflows")
                .set_payload(include_str!("../../workflows/village-committee.yaml")),
        )
        .await;
    assert!(status == 201 || status == 200, "{body}");
    let (_, towns) = app.get("/api/v1/units?level=township").await;
    let id = towns["items"][0]["id"].as_str().unwrap().to_owned();
    let (_, villages) = app.get("/api/v1/units?level=village&per_page=100").await;
    let villages = villages["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap().to_owned(),
                v["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    Township { id, villages }
}

/// Starts the village-committee campaign for election day 2026-12-20 and returns its id.
pub async fn start_campaign(app: &TestApp, township: &Township, extra: Value) -> (String, Value) {
    let mut form = serde_json::json!({
        "workflow_id": "village-committee",
        "root_unit_id": township.id,
        "anchors": { "election_day": "2026-12-20" },
    });
    if let (Some(form), Some(extra)) = (form.as_object_mut(), extra.as_object()) {
        form.extend(extra.clone());
    }
    let (status, body) = app.post("/api/v1/campaigns", form).await;
    assert_eq!(status, 201, "{body}");
    (body["campaign"]["id"].as_str().unwrap().to_owned(), body)
}

/// The one task of a step in a unit.
pub async fn task_of(app: &TestApp, campaign: &str, step: &str, unit: &str) -> Value {
    let (status, body) = app
        .get(&format!(
            "/api/v1/tasks?campaign_id={campaign}&step_id={step}&unit_id={unit}&per_page=500"
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let items: Vec<&Value> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["unit_id"] == unit)
        .collect();
    assert_eq!(items.len(), 1, "one {step} task in {unit}: {body}");
    items[0].clone()
}
