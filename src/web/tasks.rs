use actix_web::{web, HttpResponse};

use super::{AppState, ListQuery};
use crate::error::AppError;
use crate::task::adhoc::{self, AdhocForm};
use crate::task::lifecycle::{
    self, BulkReassignForm, CommentForm, CompleteForm, ReasonForm, ReassignForm,
};
use crate::task::list::{self, TaskFilter};
use crate::task::{self, TaskView};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/tasks", web::get().to(list))
        .route("/tasks", web::post().to(create_adhoc))
        .route("/tasks/reassign", web::post().to(bulk_reassign))
        .route("/tasks/{id}", web::get().to(get))
        .route("/tasks/{id}/history", web::get().to(history))
        .route("/tasks/{id}/complete", web::post().to(complete))
        .route("/tasks/{id}/reopen", web::post().to(reopen))
        .route("/tasks/{id}/skip", web::post().to(skip))
        .route("/tasks/{id}/cancel", web::post().to(cancel))
        .route("/tasks/{id}/reassign", web::post().to(reassign))
        .route("/tasks/{id}/comments", web::get().to(comments))
        .route("/tasks/{id}/comments", web::post().to(comment));
}

async fn list(
    state: web::Data<AppState>,
    q: ListQuery<TaskFilter>,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now_naive();
    let tz = state.config.timezone;
    let page = state
        .db(move |conn| list::list(conn, &q.filter, &q.page, now, tz))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

async fn get(state: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    let now = state.clock.now_naive();
    let t = state.db(move |conn| task::get(conn, &id)).await?;
    Ok(HttpResponse::Ok().json(TaskView::new(t, now)))
}

async fn history(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now_naive();
    let h = state.db(move |conn| list::history(conn, &id, now)).await?;
    Ok(HttpResponse::Ok().json(h))
}

async fn create_adhoc(
    state: web::Data<AppState>,
    form: web::Json<AdhocForm>,
) -> Result<HttpResponse, AppError> {
    let ctx = state.write_context();
    let tz = state.config.timezone;
    let report = state
        .db(move |conn| adhoc::create(conn, &ctx, tz, form.into_inner()))
        .await?;
    Ok(HttpResponse::Created().json(report))
}

async fn complete(
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: web::Json<CompleteForm>,
) -> Result<HttpResponse, AppError> {
    let ctx = state.write_context();
    let cache = state.workflows.clone();
    let out = state
        .db(move |conn| lifecycle::complete(conn, &cache, &ctx, &id, form.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

async fn reopen(
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: web::Json<ReasonForm>,
) -> Result<HttpResponse, AppError> {
    let ctx = state.write_context();
    let cache = state.workflows.clone();
    let out = state
        .db(move |conn| lifecycle::reopen(conn, &cache, &ctx, &id, form.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

async fn close(
    state: web::Data<AppState>,
    id: String,
    status: &'static str,
    form: ReasonForm,
) -> Result<HttpResponse, AppError> {
    let ctx = state.write_context();
    let cache = state.workflows.clone();
    let out = state
        .db(move |conn| lifecycle::close_without_doing(conn, &cache, &ctx, &id, status, form))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

async fn skip(
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: web::Json<ReasonForm>,
) -> Result<HttpResponse, AppError> {
    close(state, id.into_inner(), task::SKIPPED, form.into_inner()).await
}

async fn cancel(
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: web::Json<ReasonForm>,
) -> Result<HttpResponse, AppError> {
    close(state, id.into_inner(), task::CANCELLED, form.into_inner()).await
}

async fn reassign(
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: web::Json<ReassignForm>,
) -> Result<HttpResponse, AppError> {
    let ctx = state.write_context();
    let now = ctx.at;
    let t = state
        .db(move |conn| lifecycle::reassign(conn, &ctx, &id, form.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(TaskView::new(t, now)))
}

async fn bulk_reassign(
    state: web::Data<AppState>,
    form: web::Json<BulkReassignForm>,
) -> Result<HttpResponse, AppError> {
    let ctx = state.write_context();
    let report = state
        .db(move |conn| lifecycle::bulk_reassign(conn, &ctx, form.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

async fn comments(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let items = state.db(move |conn| lifecycle::comments(conn, &id)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

async fn comment(
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: web::Json<CommentForm>,
) -> Result<HttpResponse, AppError> {
    let ctx = state.write_context();
    let c = state
        .db(move |conn| lifecycle::comment(conn, &ctx, &id, form.into_inner()))
        .await?;
    Ok(HttpResponse::Created().json(c))
}
