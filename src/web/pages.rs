//! Server-rendered pages (handlebars, strict mode, HTML-escaped). For now the one page a user
//! reaches without an account: the password reset link.

use std::sync::OnceLock;

use actix_web::{web, HttpResponse};
use handlebars::Handlebars;
use serde::Deserialize;
use serde_json::json;

use super::account::{redeem_reset, ResetForm};
use super::AppState;
use crate::auth::{reset, users};
use crate::error::AppError;

fn registry() -> &'static Handlebars<'static> {
    static REGISTRY: OnceLock<Handlebars<'static>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut hb = Handlebars::new();
        hb.set_strict_mode(true);
        for (name, source) in [
            ("layout", include_str!("../../templates/pages/layout.hbs")),
            (
                "password_reset",
                include_str!("../../templates/pages/password_reset.hbs"),
            ),
        ] {
            hb.register_template_string(name, source)
                .expect("built-in page templates parse");
        }
        hb
    })
}

fn render(
    status: actix_web::http::StatusCode,
    name: &str,
    data: serde_json::Value,
) -> HttpResponse {
    match registry().render(name, &data) {
        Ok(html) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(html),
        Err(e) => {
            tracing::error!(template = name, error = %e, "page failed to render");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("页面生成失败")
        }
    }
}

#[derive(Deserialize)]
pub(super) struct TokenQuery {
    #[serde(default)]
    token: String,
}

pub(super) async fn reset_form(
    state: web::Data<AppState>,
    q: web::Query<TokenQuery>,
) -> HttpResponse {
    let now = state.clock.now_naive();
    let token = q.into_inner().token;
    let probe = token.clone();
    let user = state
        .db(move |conn| {
            let user_id = reset::check(conn, &probe, now)?;
            users::get(conn, &user_id)
        })
        .await;
    use actix_web::http::StatusCode;
    match user {
        Ok(user) => render(
            StatusCode::OK,
            "password_reset",
            json!({ "done": false, "valid": true, "error": null, "username": user.username, "token": token }),
        ),
        Err(e) => render(
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
            "password_reset",
            json!({ "done": false, "valid": false, "error": e.message, "username": null, "token": null }),
        ),
    }
}

#[derive(Deserialize)]
pub(super) struct ResetPageForm {
    token: String,
    password: String,
    confirm: String,
}

/// The reset link is itself the secret, so the form needs no session or CSRF token: a page
/// elsewhere cannot post it without knowing the link.
pub(super) async fn reset_submit(
    state: web::Data<AppState>,
    form: web::Form<ResetPageForm>,
) -> HttpResponse {
    use actix_web::http::StatusCode;
    let form = form.into_inner();
    let again = |status: StatusCode, error: String, token: String| {
        render(
            status,
            "password_reset",
            json!({ "done": false, "valid": true, "error": error, "username": "", "token": token }),
        )
    };
    if form.password != form.confirm {
        return again(
            StatusCode::UNPROCESSABLE_ENTITY,
            "两次输入的密码不一致".into(),
            form.token,
        );
    }
    let token = form.token.clone();
    match redeem_reset(
        &state,
        ResetForm {
            token: form.token,
            password: form.password,
        },
    )
    .await
    {
        Ok(()) => render(
            StatusCode::OK,
            "password_reset",
            json!({ "done": true, "valid": false, "error": null, "username": null, "token": null }),
        ),
        Err(e) if e.code == "invalid_reset_link" => render(
            StatusCode::BAD_REQUEST,
            "password_reset",
            json!({ "done": false, "valid": false, "error": e.message, "username": null, "token": null }),
        ),
        Err(e) => again(
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
            error_text(&e),
            token,
        ),
    }
}

fn error_text(e: &AppError) -> String {
    e.details
        .as_ref()
        .and_then(|d| d.as_array())
        .and_then(|a| a.first())
        .and_then(|f| f["message"].as_str())
        .map(str::to_owned)
        .unwrap_or_else(|| e.message.clone())
}
