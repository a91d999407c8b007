//! Who is calling: the `Caller` extractor, session cookies and CSRF.
//!
//! - `Authorization: Bearer hj_…` authenticates scripts and the phone app. A token cannot be
//!   sent by another site's page, so it needs no CSRF token.
//! - The `huanjie_session` cookie authenticates browsers. It holds a random token, encrypted and
//!   authenticated with the configured key, so a forged or altered cookie is refused before the
//!   database is asked. Every request that changes something must also carry the session's
//!   CSRF token in `X-CSRF-Token`; the token is an HMAC of the session token, so nothing extra
//!   is stored.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, CookieJar, Key, SameSite};
use actix_web::dev::Payload;
use actix_web::http::{header, Method};
use actix_web::{web, FromRequest, HttpRequest};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::AppState;
use crate::auth::{secret, sessions, tokens, Identity, Via};
use crate::config::Config;
use crate::error::AppError;

pub const SESSION_COOKIE: &str = "huanjie_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Keys derived from `session_key`: one encrypts cookies, one signs CSRF tokens.
pub struct AuthKeys {
    cookie: Key,
    csrf: Vec<u8>,
    secure: bool,
}

impl AuthKeys {
    /// Uses the configured key; without one (development only; production refuses to start)
    /// a random key lives as long as the process.
    pub fn from_config(config: &Config) -> AuthKeys {
        let material = match &config.session_key {
            Some(k) => k.0.clone(),
            None => secret::random_bytes::<64>().to_vec(),
        };
        let derive = |label: &[u8]| {
            let mut mac = Hmac::<Sha256>::new_from_slice(&material).expect("HMAC takes any key");
            mac.update(label);
            mac.finalize().into_bytes().to_vec()
        };
        let mut cookie_key = derive(b"huanjie cookie encryption");
        cookie_key.extend(derive(b"huanjie cookie signing"));
        AuthKeys {
            cookie: Key::from(&cookie_key),
            csrf: derive(b"huanjie csrf"),
            secure: config.secure_cookies,
        }
    }

    pub fn csrf_token(&self, session_token: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.csrf).expect("HMAC takes any key");
        mac.update(session_token.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// The cookie that carries a new session.
    pub fn session_cookie(&self, token: &str) -> Cookie<'static> {
        let cookie = Cookie::build(SESSION_COOKIE, token.to_owned())
            .path("/")
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Lax)
            .max_age(actix_web::cookie::time::Duration::seconds(
                sessions::ABSOLUTE.num_seconds(),
            ))
            .finish();
        let mut jar = CookieJar::new();
        jar.private_mut(&self.cookie).add(cookie);
        jar.get(SESSION_COOKIE)
            .cloned()
            .expect("the cookie was just added")
    }

    /// A cookie that makes the browser forget the session.
    pub fn removal_cookie(&self) -> Cookie<'static> {
        let mut c = Cookie::build(SESSION_COOKIE, "")
            .path("/")
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Lax)
            .finish();
        c.make_removal();
        c
    }

    /// The session token inside a request's cookie; `Err` if the cookie is there but was not
    /// made with our key.
    pub fn session_token(&self, req: &HttpRequest) -> Result<Option<String>, AppError> {
        let Some(raw) = req.cookie(SESSION_COOKIE) else {
            return Ok(None);
        };
        let mut jar = CookieJar::new();
        jar.add_original(raw);
        match jar.private(&self.cookie).get(SESSION_COOKIE) {
            Some(c) => Ok(Some(c.value().to_owned())),
            None => Err(AppError::unauthorized("登录状态无效, 请重新登录")),
        }
    }
}

/// The authenticated user of a request. Extracting it refuses the request with 401 when there
/// are no valid credentials, and with 403 when a session's write lacks its CSRF token.
#[derive(Debug, Clone)]
pub struct Caller(pub Identity);

impl std::ops::Deref for Caller {
    type Target = Identity;
    fn deref(&self) -> &Identity {
        &self.0
    }
}

fn changes_something(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

enum Credential {
    Token(String),
    Session { token: String, csrf_ok: bool },
}

fn credential(req: &HttpRequest, state: &AppState) -> Result<Credential, AppError> {
    if let Some(value) = req.headers().get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| AppError::unauthorized("Authorization 头应为 \"Bearer <令牌>\""))?;
        return Ok(Credential::Token(token.to_owned()));
    }
    let token = state
        .keys
        .session_token(req)?
        .ok_or_else(|| AppError::unauthorized("请先登录"))?;
    let csrf_ok = !changes_something(req.method())
        || req
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|sent| secret::same_secret(sent, &state.keys.csrf_token(&token)));
    Ok(Credential::Session { token, csrf_ok })
}

impl FromRequest for Caller {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Caller, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let credential = state
            .as_ref()
            .ok_or_else(|| AppError::internal("AppState missing"))
            .and_then(|s| credential(req, s));
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::internal("AppState missing"))?;
            let now = state.clock.now_naive();
            match credential? {
                Credential::Token(token) => {
                    let identity = state
                        .db(move |conn| {
                            let Some((user_id, id)) = tokens::lookup(conn, &token, now)? else {
                                return Ok(None);
                            };
                            Identity::load(conn, &user_id, Via::Token { id })
                        })
                        .await?;
                    identity
                        .map(Caller)
                        .ok_or_else(|| AppError::unauthorized("令牌无效、已过期或已吊销"))
                }
                Credential::Session { token, csrf_ok } => {
                    let token_hash = secret::token_hash(&token);
                    let identity = state
                        .db(move |conn| {
                            let Some(user_id) = sessions::lookup(conn, &token_hash, now)? else {
                                return Ok(None);
                            };
                            Identity::load(conn, &user_id, Via::Session { token_hash })
                        })
                        .await?
                        .ok_or_else(|| AppError::unauthorized("登录已过期, 请重新登录"))?;
                    // Checked after the session so a stale page learns to log in, not that
                    // its form is broken.
                    if !csrf_ok {
                        return Err(AppError::new(
                            crate::error::ErrorKind::Forbidden,
                            "csrf_failed",
                            "缺少或错误的 CSRF 令牌 (X-CSRF-Token); 请刷新页面后重试",
                        ));
                    }
                    Ok(Caller(identity))
                }
            }
        })
    }
}
