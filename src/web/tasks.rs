use actix_web::{web, HttpResponse};

use super::{AppState, Caller, ListQuery};
use crate::auth::Access;
use crate::db::DbConnection;
use crate::error::{AppError, FieldError};
use crate::org::people;
use crate::task::adhoc::{self, AdhocForm};
use crate::task::lifecycle::{
    self, BulkReassignForm, CommentForm, CompleteForm, ReasonForm, ReassignForm,
};
use crate::task::list::{self, TaskFilter};
use crate::task::{self, Task, TaskView};

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

/// What the caller may do with one task.
#[derive(Clone, Copy)]
enum Need {
    Read,
    /// Tick off, reopen, comment: cadres and leaders of the unit, and the task's owner.
    Work,
    /// Reassign, skip, cancel: leaders of the unit.
    Manage,
}

fn task_for(
    conn: &mut DbConnection,
    access: &Access,
    id: &str,
    need: Need,
) -> Result<Task, AppError> {
    let t = task::get(conn, id)?;
    match need {
        Need::Read => access.require_read_task(&t)?,
        Need::Work => access.require_work_task(&t)?,
        Need::Manage => access.require_manage_task(&t)?,
    }
    Ok(t)
}

/// A person named in a request body must be someone the caller can see.
fn person_in_scope(
    conn: &mut DbConnection,
    access: &Access,
    person_id: &str,
) -> Result<(), AppError> {
    people::require_visible(conn, access, person_id)
        .map_err(|_| AppError::forbidden(format!("无权把任务交给人员 {person_id}")))
}

async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    q: ListQuery<TaskFilter>,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now_naive();
    let tz = state.config.timezone;
    let ListQuery { mut filter, page } = q;
    let page = state
        .db_as(&caller, move |conn, access| {
            filter.within = access.readable_units();
            filter.or_owner = access.person_id.clone();
            list::list(conn, &filter, &page, now, tz)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now_naive();
    let t = state
        .db_as(&caller, move |conn, access| {
            task_for(conn, access, &id, Need::Read)
        })
        .await?;
    Ok(HttpResponse::Ok().json(TaskView::new(t, now)))
}

async fn history(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now_naive();
    let h = state
        .db_as(&caller, move |conn, access| {
            task_for(conn, access, &id, Need::Read)?;
            list::history(conn, &id, now)
        })
        .await?;
    Ok(HttpResponse::Ok().json(h))
}

/// Leaders hand out one-off tasks in their subtree; the office anywhere.
async fn create_adhoc(
    state: web::Data<AppState>,
    caller: Caller,
    form: web::Json<AdhocForm>,
) -> Result<HttpResponse, AppError> {
    let ctx = state.write_context(&caller);
    let tz = state.config.timezone;
    let report = state
        .db_as(&caller, move |conn, access| {
            let form = form.into_inner();
            access.require_manage_unit(&form.unit_id)?;
            if let Some(owner) = &form.owner_id {
                person_in_scope(conn, access, owner)?;
            }
            adhoc::create(conn, &ctx, tz, form)
        })
        .await?;
    Ok(HttpResponse::Created().json(report))
}

async fn complete(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    form: web::Json<CompleteForm>,
) -> Result<HttpResponse, AppError> {
    let ctx = state.write_context(&caller);
    let cache = state.workflows.clone();
    let out = state
        .db_as(&caller, move |conn, access| {
            task_for(conn, access, &id, Need::Work)?;
            lifecycle::complete(conn, &cache, &ctx, &id, form.into_inner())
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

async fn reopen(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    form: web::Json<ReasonForm>,
) -> Result<HttpResponse, AppError> {
    let ctx = state.write_context(&caller);
    let cache = state.workflows.clone();
    let out = state
        .db_as(&caller, move |conn, access| {
            task_for(conn, access, &id, Need::Work)?;
            lifecycle::reopen(conn, &cache, &ctx, &id, form.into_inner())
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

async fn close(
    state: web::Data<AppState>,
    caller: Caller,
    id: String,
    status: &'static str,
    form: ReasonForm,
) -> Result<HttpResponse, AppError> {
    let ctx = state.write_context(&caller);
    let cache = state.workflows.clone();
    let out = state
        .db_as(&caller, move |conn, access| {
            task_for(conn, access, &id, Need::Manage)?;
            lifecycle::close_without_doing(conn, &cache, &ctx, &id, status, form)
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

async fn skip(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    form: web::Json<ReasonForm>,
) -> Result<HttpResponse, AppError> {
    close(
        state,
        caller,
        id.into_inner(),
        task::SKIPPED,
        form.into_inner(),
    )
    .await
}

async fn cancel(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    form: web::Json<ReasonForm>,
) -> Result<HttpResponse, AppError> {
    close(
        state,
        caller,
        id.into_inner(),
        task::CANCELLED,
        form.into_inner(),
    )
    .await
}

async fn reassign(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    form: web::Json<ReassignForm>,
) -> Result<HttpResponse, AppError> {
    let ctx = state.write_context(&caller);
    let now = ctx.at;
    let t = state
        .db_as(&caller, move |conn, access| {
            let form = form.into_inner();
            task_for(conn, access, &id, Need::Manage)?;
            person_in_scope(conn, access, &form.owner_id)?;
            lifecycle::reassign(conn, &ctx, &id, form)
        })
        .await?;
    Ok(HttpResponse::Ok().json(TaskView::new(t, now)))
}

/// "All of 李四's open tasks go to 赵六": a leader does it inside their subtree, which they must
/// name; the office anywhere.
async fn bulk_reassign(
    state: web::Data<AppState>,
    caller: Caller,
    form: web::Json<BulkReassignForm>,
) -> Result<HttpResponse, AppError> {
    let ctx = state.write_context(&caller);
    let report = state
        .db_as(&caller, move |conn, access| {
            let form = form.into_inner();
            match &form.unit_id {
                Some(u) => access.require_manage_unit(u)?,
                None if access.is_admin() => {}
                None => {
                    return Err(AppError::validation(vec![FieldError::new(
                        "unit_id",
                        "请指定您负责的单元 (unit_id); 只有管理员可以在全乡范围改派",
                    )]))
                }
            }
            person_in_scope(conn, access, &form.to_person_id)?;
            lifecycle::bulk_reassign(conn, &ctx, form)
        })
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

async fn comments(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let items = state
        .db_as(&caller, move |conn, access| {
            task_for(conn, access, &id, Need::Read)?;
            lifecycle::comments(conn, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

async fn comment(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    form: web::Json<CommentForm>,
) -> Result<HttpResponse, AppError> {
    let ctx = state.write_context(&caller);
    let c = state
        .db_as(&caller, move |conn, access| {
            task_for(conn, access, &id, Need::Work)?;
            lifecycle::comment(conn, &ctx, &id, form.into_inner())
        })
        .await?;
    Ok(HttpResponse::Created().json(c))
}
