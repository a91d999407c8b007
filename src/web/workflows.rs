use actix_web::{web, HttpResponse};
use serde_json::json;

use super::{AppState, Caller};
use crate::campaign::catalog::{self, StoreOutcome};
use crate::error::AppError;
use crate::plan::timetable;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/workflows", web::get().to(list))
        .service(
            web::resource("/workflows")
                .app_data(web::PayloadConfig::new(crate::workflow::MAX_FILE_BYTES))
                .route(web::post().to(upload)),
        )
        .route("/workflows/{id}/versions/{version}", web::get().to(get))
        .route(
            "/workflows/{id}/versions/{version}/timetable",
            web::get().to(timetable),
        );
}

// Workflow files hold no personal data: every signed-in user may read them.

async fn list(state: web::Data<AppState>, _caller: Caller) -> Result<HttpResponse, AppError> {
    let items = state.db(catalog::list).await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

async fn get(
    state: web::Data<AppState>,
    _caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, version) = path.into_inner();
    let stored = state
        .db(move |conn| catalog::get(conn, &id, &version))
        .await?;
    let source = stored.source.clone();
    let mut body = serde_json::to_value(&stored).map_err(|e| AppError::internal(e.to_string()))?;
    body["source"] = json!(source);
    Ok(HttpResponse::Ok().json(body))
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TimetableQuery {
    election_day: chrono::NaiveDate,
}

/// The day-by-day schedule of a stored version for a given election day (工作日程).
async fn timetable(
    state: web::Data<AppState>,
    _caller: Caller,
    path: web::Path<(String, String)>,
    query: web::Query<TimetableQuery>,
) -> Result<HttpResponse, AppError> {
    let (id, version) = path.into_inner();
    let stored = state
        .db(move |conn| catalog::get(conn, &id, &version))
        .await?;
    let workflow = catalog::parsed(&state.workflows, &stored)?;
    let rows = timetable::timetable(
        &workflow,
        "election_day",
        query.election_day,
        &Default::default(),
        state.config.timezone,
    )
    .map_err(|e| AppError::bad_request("plan_failed", e.to_string()))?;
    Ok(HttpResponse::Ok().json(json!({ "items": rows })))
}

/// Stores a workflow file sent as the raw request body (YAML).
async fn upload(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    caller.require_admin()?;
    let ctx = state.write_context(&caller);
    let (stored, outcome) = state
        .db(move |conn| catalog::store(conn, &ctx, "上传的工作流", &body))
        .await?;
    let body = json!({ "workflow": stored, "outcome": outcome });
    Ok(match outcome {
        StoreOutcome::Stored => HttpResponse::Created().json(body),
        StoreOutcome::Unchanged => HttpResponse::Ok().json(body),
    })
}
