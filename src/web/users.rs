//! Accounts, managed by the election office (admin only).

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::account::hash_off_thread;
use super::{AppState, Caller};
use crate::auth::{reset, secret, users};
use crate::error::AppError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::get().to(list))
        .route("/users", web::post().to(create))
        .route("/users/{id}", web::get().to(get))
        .route("/users/{id}/roles", web::put().to(set_roles))
        .route("/users/{id}/deactivate", web::post().to(deactivate))
        .route("/users/{id}/activate", web::post().to(activate))
        .route("/users/{id}/reset-link", web::post().to(reset_link));
}

async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, AppError> {
    caller.require_admin()?;
    let items = state.db(users::list).await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    caller.require_admin()?;
    let user = state.db(move |conn| users::load_view(conn, &id)).await?;
    Ok(HttpResponse::Ok().json(user))
}

async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    form: web::Json<users::NewUserForm>,
) -> Result<HttpResponse, AppError> {
    let mut form = form.into_inner();
    // Refused before a password hash is spent on a caller who may not create accounts.
    caller.require_admin()?;
    let hash = match form.password.take() {
        Some(p) => {
            secret::check_new_password(&form.username, &p)?;
            Some(hash_off_thread(p).await?)
        }
        None => None,
    };
    let ctx = state.write_context(&caller);
    let created = state
        .db(move |conn| users::create(conn, &ctx, form, hash))
        .await?;
    Ok(HttpResponse::Created().json(created))
}

async fn set_roles(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    form: web::Json<users::RolesForm>,
) -> Result<HttpResponse, AppError> {
    caller.require_admin()?;
    let ctx = state.write_context(&caller);
    let user = state
        .db(move |conn| users::set_roles(conn, &ctx, &id, form.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(user))
}

async fn set_active(
    state: web::Data<AppState>,
    caller: Caller,
    id: String,
    active: bool,
) -> Result<HttpResponse, AppError> {
    caller.require_admin()?;
    let ctx = state.write_context(&caller);
    let user = state
        .db(move |conn| users::set_active(conn, &ctx, &id, active))
        .await?;
    Ok(HttpResponse::Ok().json(user))
}

async fn deactivate(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    set_active(state, caller, id.into_inner(), false).await
}

async fn activate(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    set_active(state, caller, id.into_inner(), true).await
}

/// Issues a single-use reset link for the admin to hand over.
async fn reset_link(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    caller.require_admin()?;
    let ctx = state.write_context(&caller);
    let public_url = state.config.public_url.clone();
    let link = state
        .db(move |conn| reset::issue(conn, &ctx, &id, &public_url))
        .await?;
    Ok(HttpResponse::Created().json(link))
}
