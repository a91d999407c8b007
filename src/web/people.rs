use actix_web::{web, HttpResponse};

use super::{AppState, ListQuery};
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
    q: ListQuery<PersonFilter>,
) -> Result<HttpResponse, AppError> {
    let page = state
        .db(move |conn| people::list(conn, &q.filter, &q.page))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

async fn get(state: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    let person = state.db(move |conn| people::get(conn, &id)).await?;
    Ok(HttpResponse::Ok().json(person))
}

async fn create(
    state: web::Data<AppState>,
    form: web::Json<NewPersonForm>,
) -> Result<HttpResponse, AppError> {
    let ctx = state.write_context();
    let person = state
        .db(move |conn| people::create(conn, &ctx, form.into_inner()))
        .await?;
    Ok(HttpResponse::Created().json(person))
}

async fn update(
    state: web::Data<AppState>,
    id: web::Path<String>,
    patch: web::Json<PersonPatch>,
) -> Result<HttpResponse, AppError> {
    let ctx = state.write_context();
    let person = state
        .db(move |conn| people::update(conn, &ctx, &id, patch.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(person))
}

async fn deactivate(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let ctx = state.write_context();
    let person = state
        .db(move |conn| people::deactivate(conn, &ctx, &id))
        .await?;
    Ok(HttpResponse::Ok().json(person))
}

async fn history(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let events = state.db(move |conn| people::history(conn, &id)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": events })))
}
