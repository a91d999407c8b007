use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use crate::campaign::anchors::{self, MoveAnchorForm};
use crate::campaign::{self, progress, StartForm};
use crate::error::AppError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/campaigns", web::get().to(list))
        .route("/campaigns", web::post().to(start))
        .route("/campaigns/{id}", web::get().to(get))
        .route("/campaigns/{id}/anchors", web::post().to(move_anchor))
        .route("/campaigns/{id}/progress", web::get().to(progress))
        .route("/campaigns/{id}/overdue", web::get().to(overdue))
        .route("/campaigns/{id}/violations", web::get().to(violations))
        .route("/campaigns/{id}/upcoming", web::get().to(upcoming));
}

async fn list(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let items = state.db(campaign::list).await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

async fn get(state: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    let c = state.db(move |conn| campaign::get(conn, &id)).await?;
    Ok(HttpResponse::Ok().json(c))
}

async fn start(
    state: web::Data<AppState>,
    form: web::Json<StartForm>,
) -> Result<HttpResponse, AppError> {
    let ctx = state.write_context();
    let cache = state.workflows.clone();
    let tz = state.config.timezone;
    let report = state
        .db(move |conn| campaign::start(conn, &cache, &ctx, tz, form.into_inner()))
        .await?;
    Ok(HttpResponse::Created().json(report))
}

async fn move_anchor(
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: web::Json<MoveAnchorForm>,
) -> Result<HttpResponse, AppError> {
    let ctx = state.write_context();
    let cache = state.workflows.clone();
    let report = state
        .db(move |conn| anchors::move_anchor(conn, &cache, &ctx, &id, form.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScopeQuery {
    /// A unit inside the campaign; absent: its root.
    unit_id: Option<String>,
}

async fn progress(
    state: web::Data<AppState>,
    id: web::Path<String>,
    q: web::Query<ScopeQuery>,
) -> Result<HttpResponse, AppError> {
    let cache = state.workflows.clone();
    let now = state.clock.now_naive();
    let p = state
        .db(move |conn| progress::progress(conn, &cache, &id, q.unit_id.as_deref(), now))
        .await?;
    Ok(HttpResponse::Ok().json(p))
}

async fn overdue(
    state: web::Data<AppState>,
    id: web::Path<String>,
    q: web::Query<ScopeQuery>,
) -> Result<HttpResponse, AppError> {
    let cache = state.workflows.clone();
    let now = state.clock.now_naive();
    let items = state
        .db(move |conn| progress::overdue_by_person(conn, &cache, &id, q.unit_id.as_deref(), now))
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

async fn violations(
    state: web::Data<AppState>,
    id: web::Path<String>,
    q: web::Query<ScopeQuery>,
) -> Result<HttpResponse, AppError> {
    let cache = state.workflows.clone();
    let now = state.clock.now_naive();
    let items = state
        .db(move |conn| progress::violations(conn, &cache, &id, q.unit_id.as_deref(), now))
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpcomingQuery {
    unit_id: Option<String>,
    /// How far ahead, in days (default 30, at most 400).
    days: Option<i64>,
}

async fn upcoming(
    state: web::Data<AppState>,
    id: web::Path<String>,
    q: web::Query<UpcomingQuery>,
) -> Result<HttpResponse, AppError> {
    let days = q.days.unwrap_or(30);
    if !(1..=400).contains(&days) {
        return Err(AppError::validation(vec![crate::error::FieldError::new(
            "days",
            "应为 1 到 400 之间的天数",
        )]));
    }
    let cache = state.workflows.clone();
    let now = state.clock.now_naive();
    let items = state
        .db(move |conn| progress::upcoming(conn, &cache, &id, q.unit_id.as_deref(), now, days))
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}
