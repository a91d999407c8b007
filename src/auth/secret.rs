//! Secrets: random tokens, their stored hashes, and password hashing.
//!
//! Session tokens, API tokens, reset links and the setup token are 256 random bits, so a plain
//! SHA-256 of them is enough at rest: nobody can guess their way back. Passwords are low-entropy
//! and get argon2id with a random salt, which is slow on purpose; callers run it off the async
//! workers.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::error::{AppError, FieldError};

/// Prefix of API tokens, so a leaked one is recognisable in logs and scanners.
pub const API_TOKEN_PREFIX: &str = "hj_";

pub const PASSWORD_MIN_CHARS: usize = 8;
/// argon2 hashes whatever it is given; an upper bound keeps a login from being a cheap DoS.
pub const PASSWORD_MAX_BYTES: usize = 256;

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).expect("the operating system's random source is available");
    buf
}

/// 256 random bits, URL-safe.
pub fn new_token() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

pub fn new_api_token() -> String {
    format!("{API_TOKEN_PREFIX}{}", new_token())
}

/// What is stored for a token: its SHA-256, hex.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh key for `session_key`, base64.
pub fn new_session_key() -> String {
    base64::engine::general_purpose::STANDARD.encode(random_bytes::<64>())
}

/// Checks a new password; messages are shown next to the field.
pub fn check_new_password(username: &str, password: &str) -> Result<(), AppError> {
    let problem = if password.chars().count() < PASSWORD_MIN_CHARS {
        Some(format!("密码至少 {PASSWORD_MIN_CHARS} 个字符"))
    } else if password.len() > PASSWORD_MAX_BYTES {
        Some(format!("密码最多 {PASSWORD_MAX_BYTES} 字节"))
    } else if password.eq_ignore_ascii_case(username) {
        Some("密码不能与用户名相同".to_owned())
    } else {
        None
    };
    match problem {
        Some(m) => Err(AppError::validation(vec![FieldError::new("password", m)])),
        None => Ok(()),
    }
}

/// argon2id PHC string. Slow: call from a blocking thread.
pub fn hash_password(password: &str) -> Result<String, AppError> {
    let salt = SaltString::encode_b64(&random_bytes::<16>())
        .map_err(|e| AppError::internal(format!("salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::internal(format!("argon2: {e}")))
}

/// Slow: call from a blocking thread. `None` (no password set, or no such user) still spends
/// the time of one check, so response times do not tell which user names exist.
pub fn verify_password(password: &str, stored: Option<&str>) -> bool {
    if password.len() > PASSWORD_MAX_BYTES {
        return false;
    }
    let decoy;
    let phc = match stored {
        Some(s) => s,
        None => {
            decoy = DECOY.get_or_init(|| hash_password("decoy password").unwrap_or_default());
            decoy.as_str()
        }
    };
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
        && stored.is_some()
}

static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Constant-time equality for secrets compared in memory.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_and_wrong_ones_do_not() {
        let phc = hash_password("包村干部2026").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("包村干部2026", Some(&phc)));
        assert!(!verify_password("包村干部2025", Some(&phc)));
        assert!(!verify_password("包村干部2026", None));
        assert!(!verify_password("x", Some("not a hash")));
        // Same password, different salt.
        assert_ne!(phc, hash_password("包村干部2026").unwrap());
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), token_hash(&b));
        assert!(new_api_token().starts_with(API_TOKEN_PREFIX));
    }

    #[test]
    fn weak_passwords_are_refused() {
        assert!(check_new_password("zhangsan", "short").is_err());
        assert!(check_new_password("zhangsan", "ZhangSan").is_err());
        assert!(check_new_password("zhangsan", &"x".repeat(300)).is_err());
        assert!(check_new_password("zhangsan", "青山村换届2026").is_ok());
    }

    #[test]
    fn secrets_compare_by_content() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
    }
}
