use actix_web::{web, HttpResponse};

use super::{AppState, Caller, ListQuery};
use crate::error::AppError;
use crate::org::people::{self, NewPersonForm, PersonFilter, PersonPatch};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/people", web::get().to(list))
        .route("/people", web::post().to(create))
        .route("/people/{id}", web::get().to(get))
        .route("/people/{id}", web::patch().to(update))
        .route("/people/{id}/deactivate", web::post().to(deactivate))
        .route("/people/{id}/history", web::get().to(history));
}

async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    q: ListQuery<PersonFilter>,
) -> Result<HttpResponse, AppError> {
    let ListQuery { mut filter, page } = q;
    let page = state
        .db_as(&caller, move |conn, access| {
            filter.within = access.readable_units();
            filter.or_person = access.person_id.clone();
            people::list(conn, &filter, &page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let person = state
        .db_as(&caller, move |conn, access| {
            people::require_visible(conn, access, &id)?;
            people::get(conn, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(person))
}

/// People and their contacts are the election office's to keep.
async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    form: web::Json<NewPersonForm>,
) -> Result<HttpResponse, AppError> {
    let ctx = state.write_context(&caller);
    let person = state
        .db_as(&caller, move |conn, access| {
            access.require_admin()?;
            people::create(conn, &ctx, form.into_inner())
        })
        .await?;
    Ok(HttpResponse::Created().json(person))
}

async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    patch: web::Json<PersonPatch>,
) -> Result<HttpResponse, AppError> {
    let ctx = state.write_context(&caller);
    let person = state
        .db_as(&caller, move |conn, access| {
            people::require_visible(conn, access, &id)?;
            access.require_admin()?;
            people::update(conn, &ctx, &id, patch.into_inner())
        })
        .await?;
    Ok(HttpResponse::Ok().json(person))
}

async fn deactivate(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let ctx = state.write_context(&caller);
    let person = state
        .db_as(&caller, move |conn, access| {
            people::require_visible(conn, access, &id)?;
            access.require_admin()?;
            people::deactivate(conn, &ctx, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(person))
}

/// The audit trail of a person's record: the office's.
async fn history(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let events = state
        .db_as(&caller, move |conn, access| {
            people::require_visible(conn, access, &id)?;
            access.require_admin()?;
            people::history(conn, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": events })))
}
