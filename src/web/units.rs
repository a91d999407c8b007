use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::{AppState, Caller, ListQuery};
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
    caller: Caller,
    q: ListQuery<UnitFilter>,
) -> Result<HttpResponse, AppError> {
    let ListQuery { mut filter, page } = q;
    let page = state
        .db_as(&caller, move |conn, access| {
            filter.within = access.readable_units();
            units::list(conn, &filter, &page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let unit = state
        .db_as(&caller, move |conn, access| {
            access.require_read_unit(&id)?;
            units::get(conn, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(unit))
}

/// The organisation tree is the election office's to shape.
async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    form: web::Json<NewUnitForm>,
) -> Result<HttpResponse, AppError> {
    let ctx = state.write_context(&caller);
    let unit = state
        .db_as(&caller, move |conn, access| {
            access.require_admin()?;
            units::create(conn, &ctx, form.into_inner())
        })
        .await?;
    Ok(HttpResponse::Created().json(unit))
}

async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    patch: web::Json<UnitPatch>,
) -> Result<HttpResponse, AppError> {
    let ctx = state.write_context(&caller);
    let unit = state
        .db_as(&caller, move |conn, access| {
            access.require_read_unit(&id)?;
            access.require_admin()?;
            units::update(conn, &ctx, &id, patch.into_inner())
        })
        .await?;
    Ok(HttpResponse::Ok().json(unit))
}

async fn deactivate(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let ctx = state.write_context(&caller);
    let unit = state
        .db_as(&caller, move |conn, access| {
            access.require_read_unit(&id)?;
            access.require_admin()?;
            units::deactivate(conn, &ctx, &id)
        })
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
    caller: Caller,
    id: web::Path<String>,
    q: web::Query<ResolveQuery>,
) -> Result<HttpResponse, AppError> {
    crate::org::check_role_id(&q.role)
        .map_err(|m| AppError::validation(vec![FieldError::new("role", m)]))?;
    let resolution = state
        .db_as(&caller, move |conn, access| {
            access.require_read_unit(&id)?;
            units::resolve_role(conn, &id, &q.role)
        })
        .await?;
    Ok(HttpResponse::Ok().json(resolution))
}
