use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::{AppState, Caller};
use crate::auth::Access;
use crate::campaign::anchors::{self, MoveAnchorForm};
use crate::campaign::{self, progress, Campaign, StartForm};
use crate::db::DbConnection;
use crate::error::{AppError, FieldError};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/campaigns", web::get().to(list))
        .route("/campaigns", web::post().to(start))
        .route("/campaigns/{id}", web::get().to(get))
        .route("/campaigns/{id}/anchors", web::post().to(move_anchor))
        .route("/campaigns/{id}/progress", web::get().to(progress))
        .route("/campaigns/{id}/overdue", web::get().to(overdue))
        .route("/campaigns/{id}/violations", web::get().to(violations))
        .route("/campaigns/{id}/upcoming", web::get().to(upcoming));
}

/// A campaign as the caller may see it: per-unit anchor overrides outside their units are
/// dropped. `None` if the campaign is not theirs to see.
fn as_seen_by(access: &Access, mut c: Campaign) -> Option<Campaign> {
    if !access.can_see_campaign(&c.root_unit_id) {
        return None;
    }
    if !access.is_admin() {
        let mut overrides = c.unit_anchors();
        overrides.retain(|unit, _| access.can_read_unit(unit));
        c.unit_anchors_json = serde_json::to_string(&overrides).unwrap_or_else(|_| "{}".into());
    }
    Some(c)
}

fn visible(conn: &mut DbConnection, access: &Access, id: &str) -> Result<Campaign, AppError> {
    as_seen_by(access, campaign::get(conn, id)?).ok_or_else(|| AppError::not_found("选举", id))
}

async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, AppError> {
    let items = state
        .db_as(&caller, |conn, access| {
            Ok(campaign::list(conn)?
                .into_iter()
                .filter_map(|c| as_seen_by(access, c))
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let c = state
        .db_as(&caller, move |conn, access| visible(conn, access, &id))
        .await?;
    Ok(HttpResponse::Ok().json(c))
}

/// Starting a campaign and moving its dates are the election office's decisions.
async fn start(
    state: web::Data<AppState>,
    caller: Caller,
    form: web::Json<StartForm>,
) -> Result<HttpResponse, AppError> {
    let ctx = state.write_context(&caller);
    let cache = state.workflows.clone();
    let tz = state.config.timezone;
    let report = state
        .db_as(&caller, move |conn, access| {
            access.require_admin()?;
            campaign::start(conn, &cache, &ctx, tz, form.into_inner())
        })
        .await?;
    Ok(HttpResponse::Created().json(report))
}

async fn move_anchor(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    form: web::Json<MoveAnchorForm>,
) -> Result<HttpResponse, AppError> {
    let ctx = state.write_context(&caller);
    let cache = state.workflows.clone();
    let report = state
        .db_as(&caller, move |conn, access| {
            visible(conn, access, &id)?;
            access.require_admin()?;
            anchors::move_anchor(conn, &cache, &ctx, &id, form.into_inner())
        })
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScopeQuery {
    /// A unit inside the campaign; absent: its root, or the caller's own part of it.
    unit_id: Option<String>,
}

/// The unit a dashboard query looks at. Without `unit_id` a caller who cannot read the whole
/// campaign gets their own part of it, if that is one unit; otherwise they must choose.
fn dashboard_unit(
    conn: &mut DbConnection,
    access: &Access,
    campaign_id: &str,
    unit_id: Option<String>,
) -> Result<Option<String>, AppError> {
    let c = visible(conn, access, campaign_id)?;
    if let Some(u) = unit_id {
        access.require_read_unit(&u)?;
        return Ok(Some(u));
    }
    if access.can_read_unit(&c.root_unit_id) {
        return Ok(None);
    }
    match access.roots_within(&c.root_unit_id).as_slice() {
        [one] => Ok(Some(one.clone())),
        several => Err(AppError::validation(vec![FieldError::new(
            "unit_id",
            format!(
                "您负责多个单元, 请用 unit_id 指定其中一个: {}",
                several.join(", ")
            ),
        )])),
    }
}

async fn progress(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    q: web::Query<ScopeQuery>,
) -> Result<HttpResponse, AppError> {
    let cache = state.workflows.clone();
    let now = state.clock.now_naive();
    let p = state
        .db_as(&caller, move |conn, access| {
            let unit = dashboard_unit(conn, access, &id, q.into_inner().unit_id)?;
            progress::progress(conn, &cache, &id, unit.as_deref(), now)
        })
        .await?;
    Ok(HttpResponse::Ok().json(p))
}

async fn overdue(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    q: web::Query<ScopeQuery>,
) -> Result<HttpResponse, AppError> {
    let cache = state.workflows.clone();
    let now = state.clock.now_naive();
    let items = state
        .db_as(&caller, move |conn, access| {
            let unit = dashboard_unit(conn, access, &id, q.into_inner().unit_id)?;
            progress::overdue_by_person(conn, &cache, &id, unit.as_deref(), now)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

async fn violations(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    q: web::Query<ScopeQuery>,
) -> Result<HttpResponse, AppError> {
    let cache = state.workflows.clone();
    let now = state.clock.now_naive();
    let items = state
        .db_as(&caller, move |conn, access| {
            let unit = dashboard_unit(conn, access, &id, q.into_inner().unit_id)?;
            progress::violations(conn, &cache, &id, unit.as_deref(), now)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpcomingQuery {
    unit_id: Option<String>,
    /// How far ahead, in days (default 30, at most 400).
    days: Option<i64>,
}

async fn upcoming(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    q: web::Query<UpcomingQuery>,
) -> Result<HttpResponse, AppError> {
    let q = q.into_inner();
    let days = q.days.unwrap_or(30);
    if !(1..=400).contains(&days) {
        return Err(AppError::validation(vec![FieldError::new(
            "days",
            "应为 1 到 400 之间的天数",
        )]));
    }
    let cache = state.workflows.clone();
    let now = state.clock.now_naive();
    let items = state
        .db_as(&caller, move |conn, access| {
            let unit = dashboard_unit(conn, access, &id, q.unit_id)?;
            progress::upcoming(conn, &cache, &id, unit.as_deref(), now, days)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}
