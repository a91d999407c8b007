//! The one error type of the application.
//!
//! Rules:
//! - Every fallible operation that can reach a user returns [`AppError`].
//! - An error carries a stable machine `code`, a `message` written for the user (in Chinese),
//!   and optional structured `details` (field or row errors).
//! - Causes that only an operator should see (SQL errors, I/O) are logged, never sent: the
//!   client gets code `internal` and a generic message.
//! - The mapping to HTTP status happens once, in [`AppError::status`].

use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    BadRequest,
    /// No valid credentials: log in or send a token.
    Unauthorized,
    /// Valid credentials, but the action or the unit is outside the caller's roles.
    Forbidden,
    /// Too many failed logins; `retry_after_secs` says when to try again.
    TooManyRequests,
    Validation,
    NotFound,
    Conflict,
    PayloadTooLarge,
    Unavailable,
    Internal,
}

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    pub kind: ErrorKind,
    pub code: &'static str,
    pub message: String,
    pub details: Option<Value>,
    /// Operator-facing cause; logged, never serialised.
    pub cause: Option<String>,
    /// Sent as `Retry-After` with [`ErrorKind::TooManyRequests`].
    pub retry_after_secs: Option<u64>,
}

/// One problem with one field of a request or one cell of an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl AppError {
    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        AppError {
            kind,
            code,
            message: message.into(),
            details: None,
            cause: None,
            retry_after_secs: None,
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthorized, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, "forbidden", message)
    }

    pub fn too_many_attempts(retry_after_secs: u64) -> Self {
        let mut e = Self::new(
            ErrorKind::TooManyRequests,
            "too_many_attempts",
            format!("登录失败次数过多, 请 {retry_after_secs} 秒后再试"),
        );
        e.retry_after_secs = Some(retry_after_secs);
        e
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, code, message)
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, code, message)
    }

    pub fn not_found(entity: &str, id: &str) -> Self {
        Self::new(
            ErrorKind::NotFound,
            "not_found",
            format!("{entity} {id} 不存在"),
        )
    }

    pub fn no_route(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, "not_found", message)
    }

    pub fn payload_too_large(limit_bytes: usize) -> Self {
        Self::new(
            ErrorKind::PayloadTooLarge,
            "payload_too_large",
            format!("请求内容过大, 上限为 {} KB", limit_bytes / 1024),
        )
    }

    /// Field-level validation failure; `errors` go to `details`.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let message = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            _ => format!("有 {} 处输入不正确", errors.len()),
        };
        Self::new(ErrorKind::Validation, "validation_failed", message)
            .with_details(serde_json::to_value(errors).unwrap_or(Value::Null))
    }

    pub fn internal(cause: impl Into<String>) -> Self {
        let mut e = Self::new(
            ErrorKind::Internal,
            "internal",
            "服务器内部错误, 请稍后重试",
        );
        e.cause = Some(cause.into());
        e
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn status(&self) -> u16 {
        match self.kind {
            ErrorKind::BadRequest => 400,
            ErrorKind::Unauthorized => 401,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::PayloadTooLarge => 413,
            ErrorKind::Validation => 422,
            ErrorKind::TooManyRequests => 429,
            ErrorKind::Internal => 500,
            ErrorKind::Unavailable => 503,
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => AppError::new(ErrorKind::NotFound, "not_found", "记录不存在"),
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                let mut err = AppError::conflict("duplicate", "与已有记录重复");
                err.cause = Some(info.message().to_owned());
                err
            }
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, info) => {
                let mut err =
                    AppError::new(ErrorKind::Unavailable, "busy", "数据库繁忙, 请稍后重试");
                err.cause = Some(info.message().to_owned());
                err
            }
            other => AppError::internal(format!("database: {other}")),
        }
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        let mut err = AppError::new(
            ErrorKind::Unavailable,
            "unavailable",
            "数据库暂时不可用, 请稍后重试",
        );
        err.cause = Some(format!("pool: {e}"));
        err
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a Value>,
}

impl actix_web::ResponseError for AppError {
    fn status_code(&self) -> actix_web::http::StatusCode {
        actix_web::http::StatusCode::from_u16(self.status())
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> actix_web::HttpResponse {
        if let Some(cause) = &self.cause {
            if self.kind == ErrorKind::Internal || self.kind == ErrorKind::Unavailable {
                tracing::error!(code = self.code, %cause, "request failed");
            } else {
                tracing::debug!(code = self.code, %cause, "request rejected");
            }
        }
        let mut response = actix_web::HttpResponse::build(self.status_code());
        if let Some(secs) = self.retry_after_secs {
            response.insert_header((actix_web::http::header::RETRY_AFTER, secs.to_string()));
        }
        if self.kind == ErrorKind::Unauthorized {
            response.insert_header((actix_web::http::header::WWW_AUTHENTICATE, "Bearer"));
        }
        response.json(ErrorBody {
            code: self.code,
            message: &self.message,
            details: self.details.as_ref(),
        })
    }
}
