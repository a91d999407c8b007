use actix_multipart::Multipart;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::Deserialize;

use super::{AppState, Caller};
use crate::error::AppError;
use crate::org::import::{self, yaml};

/// Bound on an uploaded 三包 table; real ones are well under 1 MB.
pub const UPLOAD_LIMIT: usize = 10 * 1024 * 1024;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/imports", web::post().to(upload))
        .route("/org/export", web::get().to(export));
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportQuery {
    /// `true` previews: nothing is written.
    #[serde(default)]
    dry_run: bool,
    township: Option<String>,
    sheet: Option<String>,
}

struct Upload {
    bytes: Vec<u8>,
    file_name: Option<String>,
    township: Option<String>,
}

/// Reads the multipart form: a `file` part and an optional `township` text part.
async fn read_upload(mut form: Multipart) -> Result<Upload, AppError> {
    let mut upload = Upload {
        bytes: Vec::new(),
        file_name: None,
        township: None,
    };
    let mut has_file = false;
    let mut total = 0usize;
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|e| {
            AppError::bad_request("invalid_multipart", format!("上传内容格式不正确: {e}"))
        })?;
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .map(str::to_owned);
        let mut data = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| {
                AppError::bad_request("invalid_multipart", format!("上传中断: {e}"))
            })?;
            total += chunk.len();
            if total > UPLOAD_LIMIT {
                return Err(AppError::payload_too_large(UPLOAD_LIMIT));
            }
            data.extend_from_slice(&chunk);
        }
        match name.as_str() {
            "file" => {
                has_file = true;
                upload.bytes = data;
                upload.file_name = file_name;
            }
            "township" => upload.township = Some(String::from_utf8_lossy(&data).trim().to_owned()),
            other => {
                return Err(AppError::bad_request(
                    "invalid_multipart",
                    format!("未知的表单字段 \"{other}\"; 应为 file 和 township"),
                ))
            }
        }
    }
    if !has_file {
        return Err(AppError::bad_request(
            "invalid_multipart",
            "缺少文件字段 file",
        ));
    }
    Ok(upload)
}

/// A file name is only a label here, never a path: anything that could climb out of a folder
/// is refused rather than cleaned, so what the log shows is what was sent.
fn check_file_name(name: &str) -> Result<(), AppError> {
    let bad = name.contains('/')
        || name.contains('\\')
        || name.contains("..")
        || name.chars().any(char::is_control)
        || name.chars().count() > 255;
    if bad {
        return Err(AppError::bad_request(
            "invalid_file_name",
            format!(
                "文件名 \"{}\" 不能包含路径 (/ \\ ..) 或控制字符",
                name.escape_debug()
            ),
        ));
    }
    Ok(())
}

async fn upload(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    query: web::Query<ImportQuery>,
    form: Multipart,
) -> Result<HttpResponse, AppError> {
    // Refuse an announced oversize body before reading any of it.
    let announced = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if announced.is_some_and(|n| n > UPLOAD_LIMIT + 64 * 1024) {
        return Err(AppError::payload_too_large(UPLOAD_LIMIT));
    }
    // Refuse before reading a byte of a body the caller may not send.
    caller.require_admin()?;
    let upload = read_upload(form).await?;
    if let Some(name) = &upload.file_name {
        check_file_name(name)?;
    }
    let query = query.into_inner();
    let township = query.township.or(upload.township);
    let plan = web::block(move || {
        import::read_source(
            &upload.bytes,
            upload.file_name.as_deref(),
            township.as_deref(),
            query.sheet.as_deref(),
        )
        .map(|plan| (plan, upload.file_name))
    })
    .await
    .map_err(|e| AppError::internal(format!("import reader: {e}")))??;
    let (plan, file_name) = plan;
    let ctx = state.write_context(&caller);
    let source = file_name.unwrap_or_else(|| "upload".to_owned());
    let report = state
        .db(move |conn| import::run(conn, &ctx, &source, &plan, !query.dry_run))
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// The whole organisation with every contact: the office's.
async fn export(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, AppError> {
    caller.require_admin()?;
    let text = state.db(|conn| yaml::to_yaml(&yaml::export(conn)?)).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/yaml; charset=utf-8")
        .body(text))
}
