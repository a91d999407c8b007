use actix_web::{web, HttpResponse};

use super::{AppState, ListQuery};
use crate::audit::{self, EventFilter};
use crate::error::AppError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/events", web::get().to(list));
}

async fn list(
    state: web::Data<AppState>,
    q: ListQuery<EventFilter>,
) -> Result<HttpResponse, AppError> {
    let page = state
        .db(move |conn| audit::list(conn, &q.filter, &q.page))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}
