//! HTTP: the JSON API under `/api/v1` and the health check. Handlers are thin: extract,
//! validate, call the domain layer through [`crate::db::run`], respond.

mod account;
mod assignments;
pub mod auth;
mod campaigns;
mod events;
mod imports;
mod pages;
mod people;
mod security;
mod tasks;
mod units;
mod users;
mod workflows;

use std::sync::{Arc, Mutex};

use actix_web::dev::Payload;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::audit::WriteContext;
use crate::auth::Access;
use crate::clock::Clock;
use crate::config::Config;
use crate::db::Pool;
use crate::error::AppError;
use crate::pagination::PageRequest;
pub use auth::Caller;

/// Bound on JSON request bodies; the API's largest body is a short form.
pub const JSON_LIMIT: usize = 256 * 1024;
/// Bound on HTML form posts.
pub const FORM_LIMIT: usize = 16 * 1024;

pub use security::app;

#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<Config>,
    pub workflows: crate::campaign::catalog::WorkflowCache,
    pub keys: Arc<auth::AuthKeys>,
    /// Hash of the one-time setup token, while no admin exists (see `account::setup`).
    pub setup_token: Arc<Mutex<Option<String>>>,
}

impl AppState {
    pub fn new(pool: Pool, clock: Arc<dyn Clock>, config: Config) -> AppState {
        AppState {
            pool,
            clock,
            keys: Arc::new(auth::AuthKeys::from_config(&config)),
            config: Arc::new(config),
            workflows: Default::default(),
            setup_token: Default::default(),
        }
    }

    /// Who writes and when: every write through the API is recorded under its user.
    pub fn write_context(&self, caller: &Caller) -> WriteContext {
        WriteContext::new(caller.actor(), self.clock.now_naive())
    }

    /// Runs database work with the caller's [`Access`] loaded on the same connection.
    pub async fn db_as<T, F>(&self, caller: &Caller, work: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut crate::db::DbConnection, &Access) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let identity = caller.0.clone();
        self.db(move |conn| {
            let access = Access::load(conn, &identity)?;
            work(conn, &access)
        })
        .await
    }

    /// Arms the one-time setup token when there is no admin yet; returns it for printing.
    pub fn arm_setup_token(&self) -> String {
        let token = crate::auth::secret::new_token();
        *self.setup_token.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(crate::auth::secret::token_hash(&token));
        token
    }

    pub async fn db<T, F>(&self, work: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut crate::db::DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        crate::db::run(&self.pool, work).await
    }
}

pub fn configure(state: AppState) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::new(state))
            .app_data(
                web::JsonConfig::default()
                    .limit(JSON_LIMIT)
                    .error_handler(json_error),
            )
            .app_data(web::QueryConfig::default().error_handler(query_error))
            .app_data(web::PathConfig::default().error_handler(path_error))
            .app_data(web::PayloadConfig::new(JSON_LIMIT))
            .app_data(web::FormConfig::default().limit(FORM_LIMIT))
            .route("/healthz", web::get().to(healthz))
            .configure(account::pages)
            .service(
                web::scope("/api/v1")
                    .configure(account::routes)
                    .configure(users::routes)
                    .configure(units::routes)
                    .configure(people::routes)
                    .configure(assignments::routes)
                    .configure(imports::routes)
                    .configure(events::routes)
                    .configure(workflows::routes)
                    .configure(campaigns::routes)
                    .configure(tasks::routes)
                    .default_service(web::to(not_found)),
            )
            .default_service(web::to(not_found));
    }
}

async fn healthz(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let backend = state.config.database_url.backend_name();
    state
        .db(|conn| {
            use diesel::connection::SimpleConnection;
            conn.batch_execute("SELECT 1").map_err(AppError::from)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "status": "ok", "database": backend })))
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, AppError> {
    Err(AppError::no_route(format!(
        "没有这个地址: {} {}",
        req.method(),
        req.path()
    )))
}

fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    match err {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            AppError::payload_too_large(JSON_LIMIT).into()
        }
        JsonPayloadError::ContentType => AppError::bad_request(
            "unsupported_media_type",
            "请求体应为 JSON (Content-Type: application/json)",
        )
        .into(),
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            AppError::bad_request("invalid_field", format!("字段不正确: {e}"))
                .with_details(json!({ "line": e.line(), "column": e.column() }))
                .into()
        }
        JsonPayloadError::Deserialize(e) => {
            AppError::bad_request("invalid_json", format!("不是有效的 JSON: {e}"))
                .with_details(json!({ "line": e.line(), "column": e.column() }))
                .into()
        }
        other => AppError::bad_request("invalid_body", format!("无法读取请求体: {other}")).into(),
    }
}

fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    AppError::bad_request("invalid_query", format!("查询参数不正确: {err}")).into()
}

fn path_error(err: PathError, _req: &HttpRequest) -> actix_web::Error {
    AppError::bad_request("invalid_path", format!("地址参数不正确: {err}")).into()
}

/// A list query: `page`/`per_page` plus a filter `F` that refuses unknown parameters, so a typo
/// like `?levle=village` is an error instead of an unfiltered list.
pub struct ListQuery<F> {
    pub filter: F,
    pub page: PageRequest,
}

impl<F: DeserializeOwned> FromRequest for ListQuery<F> {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_list_query(req.query_string()))
    }
}

fn parse_list_query<F: DeserializeOwned>(query: &str) -> Result<ListQuery<F>, AppError> {
    let bad = |e: serde_urlencoded::de::Error| {
        AppError::bad_request("invalid_query", format!("查询参数不正确: {e}"))
    };
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).map_err(bad)?;
    let (paging, rest): (Vec<_>, Vec<_>) = pairs
        .into_iter()
        .partition(|(k, _)| k == "page" || k == "per_page");
    let page: PageRequest =
        serde_urlencoded::from_str(&serde_urlencoded::to_string(&paging).unwrap_or_default())
            .map_err(bad)?;
    let filter: F =
        serde_urlencoded::from_str(&serde_urlencoded::to_string(&rest).unwrap_or_default())
            .map_err(bad)?;
    Ok(ListQuery {
        filter,
        page: page.validate()?,
    })
}
