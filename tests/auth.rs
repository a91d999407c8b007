//! Authentication and the defences: passwords, sessions, CSRF, tokens, backoff, reset links,
//! the first admin, headers and limits. Each refusal also shows that nothing changed.

mod common;

use actix_web::http::header::HeaderMap;
use actix_web::test::TestRequest;
use chrono::Duration;
use serde_json::{json, Value};

use common::{hewan_township, TestApp, NOT_ACCOUNT_EVENTS};

const PASSWORD: &str = "青山村换届2026";

/// A browser: the session cookie and CSRF token it got at login.
struct Browser {
    cookie: String,
    csrf: String,
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("huanjie_session="))
        .map(str::to_owned)
}

async fn login(app: &TestApp, username: &str, password: &str) -> (u16, HeaderMap, Value) {
    app.raw(
        TestRequest::post()
            .uri("/api/v1/login")
            .set_json(json!({ "username": username, "password": password })),
    )
    .await
}

async fn browser(app: &TestApp, username: &str) -> Browser {
    let (status, headers, body) = login(app, username, PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    let set = session_cookie(&headers).expect("a session cookie");
    Browser {
        cookie: set.split(';').next().unwrap().to_owned(),
        csrf: body["csrf_token"].as_str().unwrap().to_owned(),
    }
}

impl Browser {
    fn get(&self, path: &str) -> TestRequest {
        TestRequest::get()
            .uri(path)
            .insert_header(("cookie", self.cookie.clone()))
    }

    fn post(&self, path: &str, body: Value) -> TestRequest {
        TestRequest::post()
            .uri(path)
            .insert_header(("cookie", self.cookie.clone()))
            .insert_header(("x-csrf-token", self.csrf.clone()))
            .set_json(body)
    }
}

#[actix_rt::test]
async fn login_sets_a_protected_cookie_and_logout_ends_the_session() {
    let app = TestApp::new();
    app.user("zhangsan", &[("admin", None)], None, Some(PASSWORD));

    let (status, headers, body) = login(&app, "zhangsan", PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["username"], "zhangsan");
    assert!(body["user"].get("password_hash").is_none(), "{body}");
    let set = session_cookie(&headers).unwrap();
    for flag in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(set.contains(flag), "{flag} missing: {set}");
    }
    // The cookie holds neither the user id nor the stored hash: it is encrypted.
    let value = set
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("huanjie_session=");
    let user_id = body["user"]["id"].as_str().unwrap();
    assert!(!value.contains(user_id));

    let b = browser(&app, "zhangsan").await;
    let (status, me) = app.call_as(None, b.get("/api/v1/me")).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["user"]["roles"][0]["role"], "admin");
    assert_eq!(me["csrf_token"], b.csrf.as_str());

    let (status, headers, _) = app.raw(b.post("/api/v1/logout", json!({}))).await;
    assert_eq!(status, 204);
    assert!(session_cookie(&headers).unwrap().contains("Max-Age=0"));
    let (status, body) = app.call_as(None, b.get("/api/v1/me")).await;
    assert_eq!(status, 401, "the old cookie is dead after logout: {body}");
    assert_eq!(body["code"], "unauthorized");
}

#[actix_rt::test]
async fn wrong_passwords_unknown_users_and_disabled_accounts_get_the_same_answer() {
    let app = TestApp::new();
    let id = app.user("zhangsan", &[("admin", None)], None, Some(PASSWORD));
    app.user("lisi", &[("admin", None)], None, None);
    for (user, password) in [
        ("zhangsan", "青山村换届2025"),
        ("nobody", PASSWORD),
        ("lisi", PASSWORD),
        ("zhangsan", ""),
    ] {
        let (status, headers, body) = login(&app, user, password).await;
        assert_eq!(status, 401, "{user}: {body}");
        assert_eq!(body["code"], "login_failed");
        assert_eq!(body["message"], "用户名或密码不正确");
        assert!(session_cookie(&headers).is_none());
    }
    let (status, _) = app
        .post(&format!("/api/v1/users/{id}/deactivate"), json!({}))
        .await;
    assert_eq!(status, 200);
    let (status, _, _) = login(&app, "zhangsan", PASSWORD).await;
    assert_eq!(status, 401, "a disabled account cannot log in");
    assert_eq!(app.count("sessions"), 0);
}

#[actix_rt::test]
async fn repeated_failures_back_off_and_a_success_resets_the_count() {
    let app = TestApp::new();
    app.user("zhangsan", &[("admin", None)], None, Some(PASSWORD));
    for _ in 0..5 {
        let (status, _, _) = login(&app, "zhangsan", "wrong password").await;
        assert_eq!(status, 401);
    }
    // The sixth failure locks the name for 30 seconds; even the right password waits.
    let (status, _, _) = login(&app, "zhangsan", "wrong password").await;
    assert_eq!(status, 401);
    let (status, headers, body) = login(&app, "zhangsan", PASSWORD).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["code"], "too_many_attempts");
    assert_eq!(headers.get("retry-after").unwrap(), "30");
    assert_eq!(app.count("sessions"), 0);

    app.clock.advance(Duration::seconds(31));
    let (status, _, _) = login(&app, "zhangsan", "wrong password").await;
    assert_eq!(status, 401);
    let (status, headers, _) = login(&app, "zhangsan", PASSWORD).await;
    assert_eq!(status, 429, "the next lock is twice as long");
    assert_eq!(headers.get("retry-after").unwrap(), "60");

    app.clock.advance(Duration::seconds(61));
    let (status, _, _) = login(&app, "zhangsan", PASSWORD).await;
    assert_eq!(status, 200);
    let (status, _, _) = login(&app, "zhangsan", "wrong password").await;
    assert_eq!(status, 401, "counting starts again after a success");
    let (status, _, _) = login(&app, "zhangsan", PASSWORD).await;
    assert_eq!(status, 200);
}

#[actix_rt::test]
async fn sessions_expire_when_idle_and_forged_cookies_are_refused() {
    let app = TestApp::new();
    app.user("zhangsan", &[("admin", None)], None, Some(PASSWORD));
    let b = browser(&app, "zhangsan").await;

    app.clock.advance(Duration::days(6));
    let (status, _) = app.call_as(None, b.get("/api/v1/me")).await;
    assert_eq!(status, 200, "used within a week, the session lives on");
    app.clock.advance(Duration::days(6));
    let (status, _) = app.call_as(None, b.get("/api/v1/me")).await;
    assert_eq!(status, 200);
    app.clock.advance(Duration::days(8));
    let (status, body) = app.call_as(None, b.get("/api/v1/me")).await;
    assert_eq!(status, 401, "idle for eight days: {body}");

    let fresh = browser(&app, "zhangsan").await;
    let value = fresh.cookie.trim_start_matches("huanjie_session=");
    let mut flipped = value.as_bytes().to_vec();
    flipped[10] = if flipped[10] == b'A' { b'B' } else { b'A' };
    for cookie in [
        format!("huanjie_session={}", String::from_utf8(flipped).unwrap()),
        "huanjie_session=not-even-base64".to_owned(),
        // A bare session token, as if someone had read the table: it is not a valid cookie.
        format!("huanjie_session={}", huanjie::auth::secret::new_token()),
    ] {
        let (status, body) = app
            .call_as(
                None,
                TestRequest::get()
                    .uri("/api/v1/tasks")
                    .insert_header(("cookie", cookie.clone())),
            )
            .await;
        assert_eq!(status, 401, "{cookie}: {body}");
    }
}

#[actix_rt::test]
async fn a_session_write_without_its_csrf_token_is_refused_and_changes_nothing() {
    let app = TestApp::new();
    app.user("zhangsan", &[("admin", None)], None, Some(PASSWORD));
    let b = browser(&app, "zhangsan").await;
    let other = browser(&app, "zhangsan").await;
    let units = app.count("units");
    let events = app.count(NOT_ACCOUNT_EVENTS);
    let form = json!({ "level": "township", "name": "河湾乡" });

    let bare = TestRequest::post()
        .uri("/api/v1/units")
        .insert_header(("cookie", b.cookie.clone()))
        .set_json(form.clone());
    let (status, body) = app.call_as(None, bare).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "csrf_failed");

    // Another session's token does not fit this session.
    let mismatched = TestRequest::post()
        .uri("/api/v1/units")
        .insert_header(("cookie", b.cookie.clone()))
        .insert_header(("x-csrf-token", other.csrf.clone()))
        .set_json(form.clone());
    let (status, _) = app.call_as(None, mismatched).await;
    assert_eq!(status, 403);

    // A form post (what another site could make a browser send) is refused the same way.
    let form_post = TestRequest::post()
        .uri("/api/v1/logout")
        .insert_header(("cookie", b.cookie.clone()))
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .set_payload("x=1");
    let (status, _) = app.call_as(None, form_post).await;
    assert_eq!(status, 403);
    assert_eq!(
        (app.count("units"), app.count(NOT_ACCOUNT_EVENTS)),
        (units, events)
    );

    let (status, body) = app.call_as(None, b.post("/api/v1/units", form)).await;
    assert_eq!(status, 201, "{body}");
    // The audit log names the user, not "api".
    let (_, events) = app.get("/api/v1/events?entity_type=unit").await;
    assert_eq!(events["items"][0]["actor"], "user:zhangsan");
    let (status, _) = app.call_as(None, b.get("/api/v1/me")).await;
    assert_eq!(status, 200, "reads need no CSRF token");
}

#[actix_rt::test]
async fn api_tokens_are_hashed_at_rest_and_stop_working_when_revoked() {
    let app = TestApp::new();
    let (status, created) = app
        .post(
            "/api/v1/me/tokens",
            json!({ "name": "报表脚本", "expires_in_days": 30 }),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("hj_"));

    // Nothing in the table is the secret itself.
    {
        use diesel::prelude::*;
        use huanjie::db::schema::api_tokens;
        let mut conn = app.conn();
        let conn: &mut huanjie::db::DbConnection = &mut conn;
        let stored: Vec<String> = api_tokens::table
            .select(api_tokens::token_hash)
            .load(conn)
            .unwrap();
        assert!(stored
            .iter()
            .all(|h| h.len() == 64 && !secret.contains(h.as_str())));
        assert!(!stored.contains(&secret));
    }

    let (status, me) = app.get_as(&secret, "/api/v1/me").await;
    assert_eq!(status, 200);
    assert_eq!(me["user"]["username"], "office");
    assert_eq!(me["csrf_token"], Value::Null, "a token needs no CSRF token");
    let (status, _) = app
        .post_as(
            &secret,
            "/api/v1/units",
            json!({ "level": "township", "name": "河湾乡" }),
        )
        .await;
    assert_eq!(status, 201, "token writes need no CSRF token");

    let (_, list) = app.get("/api/v1/me/tokens").await;
    assert!(list["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t.get("secret").is_none()));

    let id = created["id"].as_str().unwrap();
    let (status, _) = app
        .post(&format!("/api/v1/tokens/{id}/revoke"), json!({}))
        .await;
    assert_eq!(status, 200);
    let (status, body) = app.get_as(&secret, "/api/v1/me").await;
    assert_eq!(status, 401, "{body}");

    // Expiry, forgery and malformed headers.
    let (_, short) = app
        .post(
            "/api/v1/me/tokens",
            json!({ "name": "一天", "expires_in_days": 1 }),
        )
        .await;
    let short = short["secret"].as_str().unwrap().to_owned();
    assert_eq!(app.get_as(&short, "/api/v1/me").await.0, 200);
    app.clock.advance(Duration::days(2));
    assert_eq!(app.get_as(&short, "/api/v1/me").await.0, 401);
    assert_eq!(app.get_as("hj_forged", "/api/v1/me").await.0, 401);
    let (status, body) = app
        .call_as(
            None,
            TestRequest::get()
                .uri("/api/v1/me")
                .insert_header(("authorization", "Basic b2ZmaWNlOng=")),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));

    // Nobody revokes somebody else's token, and nobody learns it exists.
    let cadre = app.user_with_token("lisi", &[("cadre", None)], None);
    let (_, theirs) = app
        .post_as(&cadre, "/api/v1/me/tokens", json!({ "name": "手机" }))
        .await;
    let (_, mine) = app.post("/api/v1/me/tokens", json!({ "name": "x" })).await;
    let (status, _) = app
        .post_as(
            &cadre,
            &format!("/api/v1/tokens/{}/revoke", mine["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        app.get_as(mine["secret"].as_str().unwrap(), "/api/v1/me")
            .await
            .0,
        200
    );
    let (status, _) = app
        .post(
            &format!("/api/v1/tokens/{}/revoke", theirs["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "an admin may revoke anyone's token");
}

#[actix_rt::test]
async fn changing_a_password_ends_the_other_sessions() {
    let app = TestApp::new();
    app.user("zhangsan", &[("admin", None)], None, Some(PASSWORD));
    let phone = browser(&app, "zhangsan").await;
    let laptop = browser(&app, "zhangsan").await;

    let (status, body) = app
        .call_as(
            None,
            laptop.post(
                "/api/v1/me/password",
                json!({ "current_password": "wrong", "new_password": "新密码新密码123" }),
            ),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["details"][0]["field"], "current_password");
    let (status, body) = app
        .call_as(
            None,
            laptop.post(
                "/api/v1/me/password",
                json!({ "current_password": PASSWORD, "new_password": "short" }),
            ),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        app.call_as(None, phone.get("/api/v1/me")).await.0,
        200,
        "nothing changed yet"
    );

    let (status, body) = app
        .call_as(
            None,
            laptop.post(
                "/api/v1/me/password",
                json!({ "current_password": PASSWORD, "new_password": "新密码新密码123" }),
            ),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sessions_ended"], 1);
    assert_eq!(app.call_as(None, phone.get("/api/v1/me")).await.0, 401);
    assert_eq!(
        app.call_as(None, laptop.get("/api/v1/me")).await.0,
        200,
        "this one stays"
    );
    assert_eq!(login(&app, "zhangsan", PASSWORD).await.0, 401);
    assert_eq!(login(&app, "zhangsan", "新密码新密码123").await.0, 200);
}

#[actix_rt::test]
async fn a_reset_link_works_once_before_it_expires_and_ends_every_session() {
    let app = TestApp::new();
    let id = app.user("zhangsan", &[("cadre", None)], None, Some(PASSWORD));
    let b = browser(&app, "zhangsan").await;

    let cadre = app.user_with_token("lisi", &[("cadre", None)], None);
    let (status, _) = app
        .post_as(&cadre, &format!("/api/v1/users/{id}/reset-link"), json!({}))
        .await;
    assert_eq!(status, 403, "only an admin issues reset links");

    let (status, link) = app
        .post(&format!("/api/v1/users/{id}/reset-link"), json!({}))
        .await;
    assert_eq!(status, 201, "{link}");
    let url = link["url"].as_str().unwrap();
    assert!(url.starts_with(&format!(
        "{}/password-reset?token=",
        app.state.config.public_url
    )));
    let token = url.rsplit_once("token=").unwrap().1.to_owned();
    let path = url
        .trim_start_matches(&app.state.config.public_url)
        .to_owned();

    // The page a user opens from the link: a form with the user's name, no JavaScript needed.
    let (status, headers, page) = app.raw(TestRequest::get().uri(&path)).await;
    assert_eq!(status, 200);
    let page = page.as_str().unwrap().to_owned();
    assert!(
        page.contains("zhangsan") && page.contains("<form method=\"post\""),
        "{page}"
    );
    assert_eq!(headers.get("referrer-policy").unwrap(), "no-referrer");

    let (status, _, page) = app
        .raw(TestRequest::post().uri("/password-reset").set_form([
            ("token", token.as_str()),
            ("password", "新密码新密码123"),
            ("confirm", "不一样的密码"),
        ]))
        .await;
    assert_eq!(status, 422);
    assert!(page.as_str().unwrap().contains("两次输入的密码不一致"));
    assert_eq!(
        login(&app, "zhangsan", PASSWORD).await.0,
        200,
        "nothing changed yet"
    );
    let b2 = browser(&app, "zhangsan").await;

    let (status, _, page) = app
        .raw(TestRequest::post().uri("/password-reset").set_form([
            ("token", token.as_str()),
            ("password", "新密码新密码123"),
            ("confirm", "新密码新密码123"),
        ]))
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.as_str().unwrap().contains("密码已重置"));
    for s in [&b, &b2] {
        assert_eq!(
            app.call_as(None, s.get("/api/v1/me")).await.0,
            401,
            "every session ends"
        );
    }
    assert_eq!(login(&app, "zhangsan", "新密码新密码123").await.0, 200);

    // Used once: the second use fails, over the API as well.
    let (status, body) = app
        .call_as(
            None,
            TestRequest::post()
                .uri("/api/v1/password-reset")
                .set_json(json!({ "token": token, "password": "又一个新密码123" })),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_reset_link"))
    );

    // A newer link replaces an older one, and a link expires after a day.
    let (_, first) = app
        .post(&format!("/api/v1/users/{id}/reset-link"), json!({}))
        .await;
    let (_, second) = app
        .post(&format!("/api/v1/users/{id}/reset-link"), json!({}))
        .await;
    let token_of = |v: &Value| {
        v["url"]
            .as_str()
            .unwrap()
            .rsplit_once("token=")
            .unwrap()
            .1
            .to_owned()
    };
    let reset = |token: String| {
        TestRequest::post()
            .uri("/api/v1/password-reset")
            .set_json(json!({ "token": token, "password": "又一个新密码123" }))
    };
    assert_eq!(app.call_as(None, reset(token_of(&first))).await.0, 400);
    app.clock.advance(Duration::hours(25));
    assert_eq!(app.call_as(None, reset(token_of(&second))).await.0, 400);
    let (status, _, page) = app
        .raw(TestRequest::get().uri(&format!("/password-reset?token={}", token_of(&second))))
        .await;
    assert_eq!(status, 400);
    assert!(page.as_str().unwrap().contains("已过期"));
    assert_eq!(
        login(&app, "zhangsan", "新密码新密码123").await.0,
        200,
        "still the last password"
    );
}

#[actix_rt::test]
async fn the_setup_token_creates_the_first_admin_once() {
    let app = TestApp::new();
    let form = |token: &str| {
        TestRequest::post()
            .uri("/api/v1/setup")
            .set_json(json!({ "setup_token": token, "username": "chief", "password": PASSWORD }))
    };
    let (status, _) = app.call_as(None, form("anything")).await;
    assert_eq!(status, 403, "no token armed: setup is closed");

    let token = app.state.arm_setup_token();
    let (status, body) = app.call_as(None, form("wrong")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("setup_refused"))
    );
    // An admin already exists (the test's `office`), so even the right token is refused.
    let (status, _) = app.call_as(None, form(&token)).await;
    assert_eq!(status, 403);
    assert_eq!(login(&app, "chief", PASSWORD).await.0, 401);

    // On a deployment with no admin, the token creates one, once.
    let fresh = TestApp::new();
    {
        use diesel::prelude::*;
        let mut conn = fresh.conn();
        let conn: &mut huanjie::db::DbConnection = &mut conn;
        diesel::delete(huanjie::db::schema::user_roles::table)
            .execute(conn)
            .unwrap();
    }
    let token = fresh.state.arm_setup_token();
    let (status, body) = fresh.call_as(None, form(&token)).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["roles"][0]["role"], "admin");
    assert_eq!(fresh.call_as(None, form(&token)).await.0, 403, "once");
    assert_eq!(login(&fresh, "chief", PASSWORD).await.0, 200);
}

#[actix_rt::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::new();
    for req in [
        TestRequest::get().uri("/healthz"),
        TestRequest::get().uri("/api/v1/tasks"),
        TestRequest::get().uri("/nowhere"),
    ] {
        let (_, headers, _) = app.raw(req).await;
        let csp = headers
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap();
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'self'"));
        assert_eq!(headers.get("x-frame-options").unwrap(), "DENY");
        assert_eq!(headers.get("x-content-type-options").unwrap(), "nosniff");
        assert_eq!(headers.get("cache-control").unwrap(), "no-store");
    }
}

#[actix_rt::test]
async fn oversized_bodies_and_paths_in_file_names_are_refused() {
    let app = TestApp::new();
    let big = "乡".repeat(200_000);
    let (status, body) = app
        .post("/api/v1/units", json!({ "level": "township", "name": big }))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("payload_too_large"))
    );
    let (status, _) = app
        .call(
            TestRequest::post()
                .uri("/api/v1/workflows")
                .set_payload(vec![b'#'; 2 * 1024 * 1024]),
        )
        .await;
    assert_eq!(status, 413);
    let (status, _, _) = app
        .raw(
            TestRequest::post()
                .uri("/password-reset")
                .insert_header(("content-type", "application/x-www-form-urlencoded"))
                .set_payload(format!(
                    "token={}&password=x&confirm=x",
                    "a".repeat(64 * 1024)
                )),
        )
        .await;
    assert_eq!(status, 413);

    let table = common::fixture("hewan-17-villages.csv");
    for name in [
        "../../etc/passwd.csv",
        "..\\hewan.csv",
        "sub/hewan.csv",
        "/etc/hewan.csv",
    ] {
        let (status, body) = app.upload("?township=河湾乡", name, &table).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("invalid_file_name")),
            "{name}"
        );
    }
    assert_eq!(app.count("units"), 0);
    let (status, _) = app.upload("?township=河湾乡", "三包表.csv", &table).await;
    assert_eq!(status, 200);
}

#[actix_rt::test]
async fn accounts_are_the_office_s_and_the_last_admin_stays() {
    let app = TestApp::new();
    let town = hewan_township(&app).await;
    let (status, body) = app
        .post(
            "/api/v1/users",
            json!({ "username": "hanjiaxing", "password": PASSWORD, "roles": [{ "role": "leader", "unit_id": town.id }] }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert!(body.get("password_hash").is_none());
    assert_eq!(body["has_password"], true);
    let leader_id = body["id"].as_str().unwrap().to_owned();

    for (form, field) in [
        (json!({ "username": "a b", "roles": [] }), "username"),
        (
            json!({ "username": "ok", "roles": [{ "role": "leader" }] }),
            "roles[0].unit_id",
        ),
        (
            json!({ "username": "ok", "roles": [{ "role": "admin", "unit_id": town.id }] }),
            "roles[0].unit_id",
        ),
        (
            json!({ "username": "ok", "roles": [{ "role": "boss" }] }),
            "roles[0].role",
        ),
        (
            json!({ "username": "ok", "password": "short", "roles": [] }),
            "password",
        ),
    ] {
        let (status, body) = app.post("/api/v1/users", form.clone()).await;
        assert_eq!(status, 422, "{form}: {body}");
        assert_eq!(body["details"][0]["field"], field, "{body}");
    }
    let (status, _) = app
        .post(
            "/api/v1/users",
            json!({ "username": "hanjiaxing", "roles": [] }),
        )
        .await;
    assert_eq!(status, 409);

    let leader = browser(&app, "hanjiaxing").await;
    let (status, _) = app
        .call_as(
            None,
            leader.post("/api/v1/users", json!({ "username": "x", "roles": [] })),
        )
        .await;
    assert_eq!(status, 403);

    // The office cannot lock itself out.
    let (_, me) = app.get("/api/v1/me").await;
    let office = me["user"]["id"].as_str().unwrap();
    let (status, body) = app
        .post(&format!("/api/v1/users/{office}/deactivate"), json!({}))
        .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("last_admin")));
    let (status, _) = app
        .call(
            TestRequest::put()
                .uri(&format!("/api/v1/users/{office}/roles"))
                .set_json(json!({ "roles": [] })),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(app.get("/api/v1/me").await.0, 200);

    // Deactivating a user ends their sessions at once.
    let (status, _) = app
        .post(&format!("/api/v1/users/{leader_id}/deactivate"), json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(app.call_as(None, leader.get("/api/v1/me")).await.0, 401);
}
