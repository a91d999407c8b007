use actix_web::{web, HttpResponse};

use super::{AppState, Caller, ListQuery};
use crate::audit::{self, EventFilter};
use crate::error::AppError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/events", web::get().to(list));
}

/// The whole audit log is the election office's; others see a task's events in its history.
async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    q: ListQuery<EventFilter>,
) -> Result<HttpResponse, AppError> {
    caller.require_admin()?;
    let page = state
        .db(move |conn| audit::list(conn, &q.filter, &q.page))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}
