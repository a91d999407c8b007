use actix_web::{web, HttpResponse};

use super::{AppState, ListQuery};
use crate::error::AppError;
use crate::org::assignments::{self, AssignmentFilter, AssignmentPatch, NewAssignmentForm};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/assignments", web::get().to(list))
        .route("/assignments", web::post().to(create))
        .route("/assignments/{id}", web::get().to(get))
        .route("/assignments/{id}", web::patch().to(update))
        .route("/assignments/{id}/deactivate", web::post().to(deactivate));
}

async fn list(
    state: web::Data<AppState>,
    q: ListQuery<AssignmentFilter>,
) -> Result<HttpResponse, AppError> {
    let page = state
        .db(move |conn| assignments::list(conn, &q.filter, &q.page))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

async fn get(state: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    let a = state.db(move |conn| assignments::get(conn, &id)).await?;
    Ok(HttpResponse::Ok().json(a))
}

async fn create(
    state: web::Data<AppState>,
    form: web::Json<NewAssignmentForm>,
) -> Result<HttpResponse, AppError> {
    let ctx = state.write_context();
    let a = state
        .db(move |conn| assignments::create(conn, &ctx, form.into_inner()))
        .await?;
    Ok(HttpResponse::Created().json(a))
}

async fn update(
    state: web::Data<AppState>,
    id: web::Path<String>,
    patch: web::Json<AssignmentPatch>,
) -> Result<HttpResponse, AppError> {
    let ctx = state.write_context();
    let a = state
        .db(move |conn| assignments::update(conn, &ctx, &id, patch.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(a))
}

async fn deactivate(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let ctx = state.write_context();
    let a = state
        .db(move |conn| assignments::deactivate(conn, &ctx, &id))
        .await?;
    Ok(HttpResponse::Ok().json(a))
}
