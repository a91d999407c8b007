//! Logging in and out, one's own account and tokens, the first admin, and password resets.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::{AppState, Caller};
use crate::auth::{reset, secret, sessions, throttle, tokens, users, Role};
use crate::error::{AppError, FieldError};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/login", web::post().to(login))
        .route("/logout", web::post().to(logout))
        .route("/me", web::get().to(me))
        .route("/me/password", web::post().to(change_password))
        .route("/me/tokens", web::get().to(list_tokens))
        .route("/me/tokens", web::post().to(create_token))
        .route("/tokens/{id}/revoke", web::post().to(revoke_token))
        .route("/setup", web::post().to(setup))
        .route("/password-reset", web::post().to(reset_password));
}

pub fn pages(cfg: &mut web::ServiceConfig) {
    cfg.route("/password-reset", web::get().to(super::pages::reset_form))
        .route(
            "/password-reset",
            web::post().to(super::pages::reset_submit),
        );
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginForm {
    username: String,
    password: String,
}

fn client_address(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Checks a password against the throttle and the stored hash; the hash runs on a blocking
/// thread with no connection held. Returns the user on success.
pub(super) async fn authenticate(
    state: &AppState,
    address: String,
    username: String,
    password: String,
) -> Result<users::User, AppError> {
    let now = state.clock.now_naive();
    let user_key = throttle::user_key(&username);
    let address_key = throttle::address_key(&address);
    let keys = vec![user_key.clone(), address_key.clone()];
    let user = state
        .db(move |conn| {
            throttle::check(conn, &keys, now)?;
            users::find_by_username(conn, &username)
        })
        .await?
        .filter(|u| u.active);
    let stored = user.as_ref().and_then(|u| u.password_hash.clone());
    let verified = web::block(move || secret::verify_password(&password, stored.as_deref()))
        .await
        .map_err(|e| AppError::internal(format!("password check: {e}")))?;
    match user {
        Some(user) if verified => {
            state
                .db(move |conn| throttle::clear(conn, &user_key))
                .await?;
            Ok(user)
        }
        _ => {
            tracing::warn!(%address, "failed login");
            state
                .db(move |conn| {
                    throttle::record_failure(conn, &user_key, &throttle::PER_USER, now)?;
                    throttle::record_failure(conn, &address_key, &throttle::PER_ADDRESS, now)
                })
                .await?;
            Err(AppError::new(
                crate::error::ErrorKind::Unauthorized,
                "login_failed",
                "用户名或密码不正确",
            ))
        }
    }
}

async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Json<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let user = authenticate(&state, client_address(&req), form.username, form.password).await?;
    let now = state.clock.now_naive();
    let (token, view) = state
        .db(move |conn| {
            let token = sessions::create(conn, &user.id, now)?;
            Ok((token, users::view(conn, user)?))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .cookie(state.keys.session_cookie(&token))
        .json(json!({ "user": view, "csrf_token": state.keys.csrf_token(&token) })))
}

async fn logout(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, AppError> {
    let now = state.clock.now_naive();
    if let Some(hash) = caller.session_hash().map(str::to_owned) {
        state
            .db(move |conn| sessions::revoke(conn, &hash, now))
            .await?;
    }
    Ok(HttpResponse::NoContent()
        .cookie(state.keys.removal_cookie())
        .finish())
}

async fn me(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
) -> Result<HttpResponse, AppError> {
    let user = caller.user.clone();
    let view = state.db(move |conn| users::view(conn, user)).await?;
    let csrf = match caller.session_hash() {
        Some(_) => state
            .keys
            .session_token(&req)?
            .map(|t| state.keys.csrf_token(&t)),
        None => None,
    };
    Ok(HttpResponse::Ok().json(json!({ "user": view, "csrf_token": csrf })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordForm {
    current_password: String,
    new_password: String,
}

/// Changes one's own password; every other session of the user ends.
async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    form: web::Json<PasswordForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    secret::check_new_password(&caller.user.username, &form.new_password)?;
    // The current password is checked like a login, throttle included.
    authenticate(
        &state,
        client_address(&req),
        caller.user.username.clone(),
        form.current_password,
    )
    .await
    .map_err(|e| match e.code {
        "login_failed" => {
            AppError::validation(vec![FieldError::new("current_password", "当前密码不正确")])
        }
        _ => e,
    })?;
    let hash = hash_off_thread(form.new_password).await?;
    let ctx = state.write_context(&caller);
    let keep = caller.session_hash().map(str::to_owned);
    let user_id = caller.user.id.clone();
    let ended = state
        .db(move |conn| users::set_password(conn, &ctx, &user_id, &hash, keep.as_deref()))
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "sessions_ended": ended })))
}

pub(super) async fn hash_off_thread(password: String) -> Result<String, AppError> {
    web::block(move || secret::hash_password(&password))
        .await
        .map_err(|e| AppError::internal(format!("password hash: {e}")))?
}

async fn list_tokens(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, AppError> {
    let user_id = caller.user.id.clone();
    let items = state.db(move |conn| tokens::list(conn, &user_id)).await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

async fn create_token(
    state: web::Data<AppState>,
    caller: Caller,
    form: web::Json<tokens::NewTokenForm>,
) -> Result<HttpResponse, AppError> {
    let ctx = state.write_context(&caller);
    let user_id = caller.user.id.clone();
    let created = state
        .db(move |conn| tokens::create(conn, &ctx, &user_id, form.into_inner()))
        .await?;
    Ok(HttpResponse::Created().json(created))
}

/// Revokes one of one's own tokens; an admin may revoke anybody's.
async fn revoke_token(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let ctx = state.write_context(&caller);
    let revoked = state
        .db_as(&caller, move |conn, access| {
            let token = tokens::get(conn, &id)?;
            if token.user_id != access.user_id && !access.is_admin() {
                return Err(AppError::not_found("令牌", &id));
            }
            tokens::revoke(conn, &ctx, &token)
        })
        .await?;
    Ok(HttpResponse::Ok().json(revoked))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetupForm {
    setup_token: String,
    username: String,
    password: String,
    person_id: Option<String>,
}

/// Creates the first admin with the one-time token printed at first start.
async fn setup(
    state: web::Data<AppState>,
    form: web::Json<SetupForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let refused = || {
        AppError::new(
            crate::error::ErrorKind::Forbidden,
            "setup_refused",
            "初始化口令无效或已使用; 管理员已存在时请登录",
        )
    };
    let armed = state
        .setup_token
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .ok_or_else(refused)?;
    if !secret::same_secret(&secret::token_hash(&form.setup_token), &armed) {
        return Err(refused());
    }
    secret::check_new_password(&form.username, &form.password)?;
    let hash = hash_off_thread(form.password).await?;
    let ctx = crate::audit::WriteContext::new("setup", state.clock.now_naive());
    let new_user = users::NewUserForm {
        username: form.username,
        person_id: form.person_id,
        password: None,
        roles: vec![users::GrantForm {
            role: Role::Admin.as_str().to_owned(),
            unit_id: None,
        }],
    };
    let created = state
        .db(move |conn| {
            if users::admin_exists(conn)? {
                return Err(refused());
            }
            users::create(conn, &ctx, new_user, Some(hash))
        })
        .await?;
    *state.setup_token.lock().unwrap_or_else(|p| p.into_inner()) = None;
    Ok(HttpResponse::Created().json(created))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ResetForm {
    pub token: String,
    pub password: String,
}

/// Uses a reset link: sets the password and ends every session of that user.
pub(super) async fn redeem_reset(state: &AppState, form: ResetForm) -> Result<(), AppError> {
    let now = state.clock.now_naive();
    let token = form.token.clone();
    let user = state
        .db(move |conn| {
            let user_id = reset::check(conn, &token, now)?;
            users::get(conn, &user_id)
        })
        .await?;
    secret::check_new_password(&user.username, &form.password)?;
    let hash = hash_off_thread(form.password).await?;
    let ctx = crate::audit::WriteContext::new(format!("user:{}", user.username), now);
    state
        .db(move |conn| reset::redeem(conn, &ctx, &form.token, &hash))
        .await?;
    Ok(())
}

async fn reset_password(
    state: web::Data<AppState>,
    form: web::Json<ResetForm>,
) -> Result<HttpResponse, AppError> {
    redeem_reset(&state, form.into_inner()).await?;
    Ok(HttpResponse::Ok().json(json!({ "message": "密码已重置, 请用新密码登录" })))
}
