use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::{AppState, ListQuery};
use crate::error::{AppError, FieldError};
use crate::org::units::{self, NewUnitForm, UnitFilter, UnitPatch};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/units", web::get().to(list))
        .route("/units", web::post().to(create))
        .route("/units/{id}", web::get().to(get))
        .route("/units/{id}", web::patch().to(update))
        .route("/units/{id}/deactivate", web::post().to(deactivate))
        .route("/units/{id}/resolve", web::get().to(resolve));
}

async fn list(
    state: web::Data<AppState>,
    q: ListQuery<UnitFilter>,
) -> Result<HttpResponse, AppError> {
    let page = state
        .db(move |conn| units::list(conn, &q.filter, &q.page))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

async fn get(state: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    let unit = state.db(move |conn| units::get(conn, &id)).await?;
    Ok(HttpResponse::Ok().json(unit))
}

async fn create(
    state: web::Data<AppState>,
    form: web::Json<NewUnitForm>,
) -> Result<HttpResponse, AppError> {
    let ctx = state.write_context();
    let unit = state
        .db(move |conn| units::create(conn, &ctx, form.into_inner()))
        .await?;
    Ok(HttpResponse::Created().json(unit))
}

async fn update(
    state: web::Data<AppState>,
    id: web::Path<String>,
    patch: web::Json<UnitPatch>,
) -> Result<HttpResponse, AppError> {
    let ctx = state.write_context();
    let unit = state
        .db(move |conn| units::update(conn, &ctx, &id, patch.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(unit))
}

async fn deactivate(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let ctx = state.write_context();
    let unit = state
        .db(move |conn| units::deactivate(conn, &ctx, &id))
        .await?;
    Ok(HttpResponse::Ok().json(unit))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolveQuery {
    role: String,
}

async fn resolve(
    state: web::Data<AppState>,
    id: web::Path<String>,
    q: web::Query<ResolveQuery>,
) -> Result<HttpResponse, AppError> {
    crate::org::check_role_id(&q.role)
        .map_err(|m| AppError::validation(vec![FieldError::new("role", m)]))?;
    let resolution = state
        .db(move |conn| units::resolve_role(conn, &id, &q.role))
        .await?;
    Ok(HttpResponse::Ok().json(resolution))
}
