use actix_web::{web, HttpResponse};

use super::{AppState, Caller, ListQuery};
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
    caller: Caller,
    q: ListQuery<AssignmentFilter>,
) -> Result<HttpResponse, AppError> {
    let ListQuery { mut filter, page } = q;
    let page = state
        .db_as(&caller, move |conn, access| {
            filter.within = access.readable_units();
            assignments::list(conn, &filter, &page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// An assignment is visible with its unit.
fn visible(
    conn: &mut crate::db::DbConnection,
    access: &crate::auth::Access,
    id: &str,
) -> Result<crate::org::Assignment, AppError> {
    let a = assignments::get(conn, id)?;
    if !access.can_read_unit(&a.unit_id) {
        return Err(AppError::not_found("包保关系", id));
    }
    Ok(a)
}

async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let a = state
        .db_as(&caller, move |conn, access| visible(conn, access, &id))
        .await?;
    Ok(HttpResponse::Ok().json(a))
}

/// The 三包 table is the election office's to change.
async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    form: web::Json<NewAssignmentForm>,
) -> Result<HttpResponse, AppError> {
    let ctx = state.write_context(&caller);
    let a = state
        .db_as(&caller, move |conn, access| {
            access.require_admin()?;
            assignments::create(conn, &ctx, form.into_inner())
        })
        .await?;
    Ok(HttpResponse::Created().json(a))
}

async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    patch: web::Json<AssignmentPatch>,
) -> Result<HttpResponse, AppError> {
    let ctx = state.write_context(&caller);
    let a = state
        .db_as(&caller, move |conn, access| {
            visible(conn, access, &id)?;
            access.require_admin()?;
            assignments::update(conn, &ctx, &id, patch.into_inner())
        })
        .await?;
    Ok(HttpResponse::Ok().json(a))
}

async fn deactivate(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let ctx = state.write_context(&caller);
    let a = state
        .db_as(&caller, move |conn, access| {
            visible(conn, access, &id)?;
            access.require_admin()?;
            assignments::deactivate(conn, &ctx, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(a))
}
