//! Server configuration: defaults, then a TOML file (`--config`), then `HUANJIE_*` environment
//! variables, then command-line flags. Every value is validated at start and a bad one stops the
//! server with a message that names the key and where the value came from.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use chrono_tz::Tz;

use crate::db::DatabaseUrl;

/// Every setting: its key in the file (dotted for sections) and its environment variable.
const KEYS: &[(&str, &str)] = &[
    ("bind", "HUANJIE_BIND"),
    ("data_dir", "HUANJIE_DATA_DIR"),
    ("workflows_dir", "HUANJIE_WORKFLOWS_DIR"),
    ("database_url", "HUANJIE_DATABASE_URL"),
    ("database_pool_size", "HUANJIE_DATABASE_POOL_SIZE"),
    ("timezone", "HUANJIE_TIMEZONE"),
    ("public_url", "HUANJIE_PUBLIC_URL"),
    ("mode", "HUANJIE_MODE"),
    ("session_key", "HUANJIE_SESSION_KEY"),
    ("secure_cookies", "HUANJIE_SECURE_COOKIES"),
    ("smtp.host", "HUANJIE_SMTP_HOST"),
    ("smtp.port", "HUANJIE_SMTP_PORT"),
    ("smtp.security", "HUANJIE_SMTP_SECURITY"),
    ("smtp.username", "HUANJIE_SMTP_USERNAME"),
    ("smtp.password", "HUANJIE_SMTP_PASSWORD"),
    ("smtp.from", "HUANJIE_SMTP_FROM"),
];

pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "./data";
pub const DEFAULT_TIMEZONE: &str = "Asia/Shanghai";

#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    /// Workflow files stored at every start. `None`: `./workflows` if it exists.
    pub workflows_dir: Option<PathBuf>,
    pub database_url: DatabaseUrl,
    pub database_pool_size: u32,
    pub timezone: Tz,
    pub public_url: String,
    /// `None` means no SMTP relay: mail is written as `.eml` files under the data directory.
    pub smtp: Option<SmtpConfig>,
    pub mode: Mode,
    /// Signs and encrypts session cookies. Production refuses to start without it; development
    /// makes a throwaway key, so sessions end with the process.
    pub session_key: Option<SessionKey>,
    /// Marks cookies `Secure`. Off only for local HTTP (development mode by default).
    pub secure_cookies: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Production,
    Development,
}

/// At least 64 bytes of key material, given base64-encoded (`huanjie gen-key` prints one).
#[derive(Clone)]
pub struct SessionKey(pub Vec<u8>);

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKey(..)")
    }
}

pub const SESSION_KEY_MIN_BYTES: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    StartTls,
    Tls,
    Plain,
}

impl SmtpSecurity {
    fn default_port(self) -> u16 {
        match self {
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::Plain => 25,
        }
    }
}

/// Where a value came from, so an error can say which one to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    Env(&'static str),
    Flag(&'static str),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File(path) => write!(f, "配置文件 {}", path.display()),
            Source::Env(var) => write!(f, "环境变量 {var}"),
            Source::Flag(flag) => write!(f, "命令行参数 {flag}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("配置项 {key} 无效 ({origin}): {problem}")]
pub struct ConfigError {
    pub key: String,
    /// Where the bad value came from.
    pub origin: String,
    pub problem: String,
}

/// Values given on the command line; they win over everything else.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub bind: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    /// `serve --demo`: development mode unless the config says otherwise.
    pub demo: bool,
}

#[derive(Debug, Default)]
struct RawConfig {
    values: BTreeMap<&'static str, (String, Source)>,
}

impl RawConfig {
    fn set(&mut self, key: &'static str, value: String, source: Source) {
        self.values.insert(key, (value, source));
    }

    fn get(&self, key: &str) -> Option<&(String, Source)> {
        self.values.get(key)
    }
}

fn error(key: &str, source: &Source, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.to_owned(),
        origin: source.to_string(),
        problem: problem.into(),
    }
}

fn known_key(dotted: &str) -> Option<&'static str> {
    KEYS.iter().find(|(k, _)| *k == dotted).map(|(k, _)| *k)
}

fn read_file(path: &Path, raw: &mut RawConfig) -> Result<(), ConfigError> {
    let source = Source::File(path.to_owned());
    let text = std::fs::read_to_string(path)
        .map_err(|e| error("--config", &source, format!("无法读取: {e}")))?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        error("--config", &source, format!("不是有效的 TOML: {e}"))
    })?;
    flatten(&table, "", &source, raw)
}

fn flatten(
    table: &toml::Table,
    prefix: &str,
    source: &Source,
    raw: &mut RawConfig,
) -> Result<(), ConfigError> {
    for (name, value) in table {
        let dotted = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        let text = match value {
            toml::Value::Table(inner) if prefix.is_empty() && name == "smtp" => {
                flatten(inner, &dotted, source, raw)?;
                continue;
            }
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => {
                return Err(error(
                    &dotted,
                    source,
                    format!("应为字符串、整数或布尔值, 实为 {}", other.type_str()),
                ))
            }
        };
        let key = known_key(&dotted)
            .ok_or_else(|| error(&dotted, source, unknown_key_message(&dotted)))?;
        raw.set(key, text, source.clone());
    }
    Ok(())
}

fn unknown_key_message(key: &str) -> String {
    let known: Vec<&str> = KEYS.iter().map(|(k, _)| *k).collect();
    format!("未知配置项 {key}; 可用的配置项: {}", known.join(", "))
}

fn read_env(
    vars: impl IntoIterator<Item = (String, String)>,
    raw: &mut RawConfig,
) -> Result<(), ConfigError> {
    for (name, value) in vars {
        if !name.starts_with("HUANJIE_") {
            continue;
        }
        match KEYS.iter().find(|(_, env)| *env == name) {
            Some((key, env)) => raw.set(key, value, Source::Env(env)),
            None => {
                let known: Vec<&str> = KEYS.iter().map(|(_, e)| *e).collect();
                return Err(ConfigError {
                    key: name.clone(),
                    origin: format!("环境变量 {name}"),
                    problem: format!("未知的环境变量; 可用的有: {}", known.join(", ")),
                });
            }
        }
    }
    Ok(())
}

impl Config {
    /// Loads from the real environment.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        Self::load_from(file, std::env::vars(), overrides)
    }

    /// Loads with an explicit environment, so tests never touch the process's.
    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        overrides: &Overrides,
    ) -> Result<Config, ConfigError> {
        let mut raw = RawConfig::default();
        if let Some(path) = file {
            read_file(path, &mut raw)?;
        }
        read_env(env, &mut raw)?;
        if let Some(v) = &overrides.bind {
            raw.set("bind", v.clone(), Source::Flag("--bind"));
        }
        if let Some(v) = &overrides.data_dir {
            raw.set(
                "data_dir",
                v.display().to_string(),
                Source::Flag("--data-dir"),
            );
        }
        if let Some(v) = &overrides.database_url {
            raw.set("database_url", v.clone(), Source::Flag("--database-url"));
        }
        if overrides.demo && raw.get("mode").is_none() {
            raw.set("mode", "development".into(), Source::Flag("--demo"));
        }
        Self::validate(&raw)
    }

    fn validate(raw: &RawConfig) -> Result<Config, ConfigError> {
        let bind_text = raw
            .get("bind")
            .map(|(v, _)| v.as_str())
            .unwrap_or(DEFAULT_BIND);
        let bind: SocketAddr = match raw.get("bind") {
            Some((v, src)) => v.trim().parse().map_err(|_| {
                error(
                    "bind",
                    src,
                    format!("\"{v}\" 不是 IP:端口 形式的地址, 例如 {DEFAULT_BIND}"),
                )
            })?,
            None => DEFAULT_BIND.parse().expect("default bind address parses"),
        };

        let data_dir = match raw.get("data_dir") {
            Some((v, src)) if v.trim().is_empty() => {
                return Err(error("data_dir", src, "不能为空"))
            }
            Some((v, _)) => PathBuf::from(v.trim()),
            None => PathBuf::from(DEFAULT_DATA_DIR),
        };

        let workflows_dir = match raw.get("workflows_dir") {
            Some((v, src)) if !Path::new(v.trim()).is_dir() => {
                return Err(error("workflows_dir", src, format!("\"{v}\" 不是目录")))
            }
            Some((v, _)) => Some(PathBuf::from(v.trim())),
            None => None,
        };

        let database_url = match raw.get("database_url") {
            Some((v, src)) => DatabaseUrl::parse(v).map_err(|p| error("database_url", src, p))?,
            None => DatabaseUrl::Sqlite(data_dir.join("huanjie.db")),
        };

        let database_pool_size = match raw.get("database_pool_size") {
            Some((v, src)) => match v.trim().parse::<u32>() {
                Ok(n) if (1..=256).contains(&n) => n,
                _ => {
                    return Err(error(
                        "database_pool_size",
                        src,
                        format!("\"{v}\" 应为 1 到 256 之间的整数"),
                    ))
                }
            },
            None => 8,
        };

        let timezone: Tz = match raw.get("timezone") {
            Some((v, src)) => v.trim().parse().map_err(|_| {
                error(
                    "timezone",
                    src,
                    format!("未知时区 \"{v}\", 应为 IANA 时区名, 例如 {DEFAULT_TIMEZONE}"),
                )
            })?,
            None => DEFAULT_TIMEZONE.parse().expect("default time zone parses"),
        };

        let public_url = match raw.get("public_url") {
            Some((v, src)) => validate_public_url(v).map_err(|p| error("public_url", src, p))?,
            None => format!("http://{bind_text}"),
        };

        let smtp = validate_smtp(raw)?;

        let mode = match raw.get("mode") {
            Some((v, src)) => match v.trim() {
                "production" => Mode::Production,
                "development" => Mode::Development,
                _ => {
                    return Err(error(
                        "mode",
                        src,
                        format!("\"{v}\" 应为 production 或 development"),
                    ))
                }
            },
            None => Mode::Production,
        };

        let session_key = match raw.get("session_key") {
            Some((v, src)) => Some(parse_session_key(v).map_err(|p| error("session_key", src, p))?),
            None => None,
        };

        let secure_cookies = match raw.get("secure_cookies") {
            Some((v, src)) => match v.trim() {
                "true" => true,
                "false" => false,
                _ => {
                    return Err(error(
                        "secure_cookies",
                        src,
                        format!("\"{v}\" 应为 true 或 false"),
                    ))
                }
            },
            None => mode == Mode::Production,
        };

        Ok(Config {
            bind,
            data_dir,
            workflows_dir,
            database_url,
            database_pool_size,
            timezone,
            public_url,
            smtp,
            mode,
            session_key,
            secure_cookies,
        })
    }

    /// Why this configuration may not serve, if it may not.
    pub fn refusal_to_serve(&self) -> Option<String> {
        if self.mode == Mode::Production && self.session_key.is_none() {
            return Some(
                "生产模式 (mode = production) 必须设置会话密钥 session_key (环境变量 HUANJIE_SESSION_KEY). \
                 用 `huanjie gen-key` 生成一个; 本机试用可设 mode = development"
                    .to_owned(),
            );
        }
        None
    }
}

fn parse_session_key(v: &str) -> Result<SessionKey, String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(v.trim())
        .map_err(|_| "应为 base64 编码的密钥; 用 `huanjie gen-key` 生成".to_owned())?;
    if bytes.len() < SESSION_KEY_MIN_BYTES {
        return Err(format!(
            "密钥太短: {} 字节, 至少需要 {SESSION_KEY_MIN_BYTES} 字节; 用 `huanjie gen-key` 生成",
            bytes.len()
        ));
    }
    Ok(SessionKey(bytes))
}

fn validate_public_url(v: &str) -> Result<String, String> {
    let v = v.trim();
    let rest = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"))
        .ok_or_else(|| format!("\"{v}\" 应以 http:// 或 https:// 开头"))?;
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() || v.chars().any(char::is_whitespace) {
        return Err(format!("\"{v}\" 不是有效的网址"));
    }
    Ok(v.trim_end_matches('/').to_owned())
}

fn validate_smtp(raw: &RawConfig) -> Result<Option<SmtpConfig>, ConfigError> {
    let Some((host, _)) = raw.get("smtp.host").filter(|(h, _)| !h.trim().is_empty()) else {
        // Any other smtp value without a host is a half-written section, not a choice.
        if let Some((key, (_, src))) = raw.values.iter().find(|(k, _)| k.starts_with("smtp.")) {
            return Err(error(key, src, "设置了 SMTP 参数但缺少 smtp.host"));
        }
        return Ok(None);
    };
    let security = match raw.get("smtp.security") {
        Some((v, src)) => match v.trim().to_ascii_lowercase().as_str() {
            "starttls" => SmtpSecurity::StartTls,
            "tls" => SmtpSecurity::Tls,
            "plain" | "none" => SmtpSecurity::Plain,
            _ => {
                return Err(error(
                    "smtp.security",
                    src,
                    format!("\"{v}\" 应为 starttls, tls 或 plain"),
                ))
            }
        },
        None => SmtpSecurity::StartTls,
    };
    let port = match raw.get("smtp.port") {
        Some((v, src)) => match v.trim().parse::<u16>() {
            Ok(p) if p > 0 => p,
            _ => {
                return Err(error(
                    "smtp.port",
                    src,
                    format!("\"{v}\" 应为 1 到 65535 之间的端口号"),
                ))
            }
        },
        None => security.default_port(),
    };
    let from = match raw.get("smtp.from") {
        Some((v, src)) => {
            crate::org::contact::parse_email(v).map_err(|p| error("smtp.from", src, p))?
        }
        None => {
            let (_, src) = raw.get("smtp.host").expect("checked above");
            return Err(error(
                "smtp.from",
                src,
                "配置了 smtp.host 时必须设置发件地址 smtp.from",
            ));
        }
    };
    let username = raw
        .get("smtp.username")
        .map(|(v, _)| v.clone())
        .filter(|v| !v.is_empty());
    let password = raw
        .get("smtp.password")
        .map(|(v, _)| v.clone())
        .filter(|v| !v.is_empty());
    if let (Some(_), None) = (&username, &password) {
        let (_, src) = raw.get("smtp.username").expect("username present");
        return Err(error(
            "smtp.password",
            src,
            "设置了 smtp.username 但缺少 smtp.password",
        ));
    }
    Ok(Some(SmtpConfig {
        host: host.trim().to_owned(),
        port,
        security,
        username,
        password,
        from,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_run_on_embedded_sqlite() {
        let c = Config::load_from(None, env(&[]), &Overrides::default()).unwrap();
        assert_eq!(c.bind.to_string(), DEFAULT_BIND);
        assert_eq!(
            c.database_url,
            DatabaseUrl::Sqlite(PathBuf::from("./data/huanjie.db"))
        );
        assert_eq!(c.timezone, chrono_tz::Asia::Shanghai);
        assert_eq!(c.public_url, "http://127.0.0.1:8080");
        assert!(c.smtp.is_none());
    }

    #[test]
    fn flag_beats_env_beats_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("huanjie.toml");
        std::fs::write(&file, "bind = \"127.0.0.1:1000\"\ntimezone = \"Asia/Urumqi\"\n[smtp]\nhost = \"mail.local\"\nfrom = \"xjb@example.cn\"\nport = 2525\n").unwrap();
        let c = Config::load_from(
            Some(&file),
            env(&[
                ("HUANJIE_BIND", "127.0.0.1:2000"),
                ("HUANJIE_DATA_DIR", "/srv/hj"),
            ]),
            &Overrides {
                bind: Some("127.0.0.1:3000".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(c.bind.port(), 3000);
        assert_eq!(c.timezone, chrono_tz::Asia::Urumqi);
        assert_eq!(
            c.database_url,
            DatabaseUrl::Sqlite(PathBuf::from("/srv/hj/huanjie.db"))
        );
        let smtp = c.smtp.unwrap();
        assert_eq!(
            (smtp.host.as_str(), smtp.port, smtp.security),
            ("mail.local", 2525, SmtpSecurity::StartTls)
        );
    }

    #[test]
    fn every_bad_value_names_its_key() {
        let cases: &[(&str, &str, &str)] = &[
            ("HUANJIE_BIND", "localhost", "bind"),
            ("HUANJIE_TIMEZONE", "Asia/Shanhai", "timezone"),
            ("HUANJIE_DATABASE_URL", "mysql://x/y", "database_url"),
            ("HUANJIE_DATABASE_POOL_SIZE", "0", "database_pool_size"),
            ("HUANJIE_PUBLIC_URL", "example.cn", "public_url"),
            ("HUANJIE_SMTP_PORT", "25", "smtp.port"),
            ("HUANJIE_TIMEZNOE", "Asia/Shanghai", "HUANJIE_TIMEZNOE"),
            ("HUANJIE_MODE", "prod", "mode"),
            ("HUANJIE_SESSION_KEY", "c2hvcnQ=", "session_key"),
            ("HUANJIE_SESSION_KEY", "not base64!", "session_key"),
            ("HUANJIE_SECURE_COOKIES", "yes", "secure_cookies"),
        ];
        for (var, value, key) in cases {
            let err =
                Config::load_from(None, env(&[(var, value)]), &Overrides::default()).unwrap_err();
            assert_eq!(&err.key, key, "{var}={value}: {err}");
            assert!(err.to_string().contains(key), "{err}");
        }
    }

    #[test]
    fn smtp_section_is_checked_as_a_whole() {
        let with =
            |pairs: &[(&str, &str)]| Config::load_from(None, env(pairs), &Overrides::default());
        let err = with(&[("HUANJIE_SMTP_HOST", "mail.local")]).unwrap_err();
        assert_eq!(err.key, "smtp.from");
        let err = with(&[
            ("HUANJIE_SMTP_HOST", "m"),
            ("HUANJIE_SMTP_FROM", "not-an-address"),
        ])
        .unwrap_err();
        assert_eq!(err.key, "smtp.from");
        let err = with(&[
            ("HUANJIE_SMTP_HOST", "m"),
            ("HUANJIE_SMTP_FROM", "a@b.cn"),
            ("HUANJIE_SMTP_SECURITY", "ssl3"),
        ])
        .unwrap_err();
        assert_eq!(err.key, "smtp.security");
        let ok = with(&[
            ("HUANJIE_SMTP_HOST", "m"),
            ("HUANJIE_SMTP_FROM", "a@b.cn"),
            ("HUANJIE_SMTP_SECURITY", "tls"),
        ])
        .unwrap();
        assert_eq!(ok.smtp.unwrap().port, 465);
    }

    #[test]
    fn production_needs_a_session_key_and_development_relaxes_cookies() {
        let prod = Config::load_from(None, env(&[]), &Overrides::default()).unwrap();
        assert_eq!(prod.mode, Mode::Production);
        assert!(prod.secure_cookies);
        assert!(prod.refusal_to_serve().unwrap().contains("session_key"));

        let key = {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode([7u8; 64])
        };
        let keyed = Config::load_from(
            None,
            env(&[("HUANJIE_SESSION_KEY", &key)]),
            &Overrides::default(),
        )
        .unwrap();
        assert!(keyed.refusal_to_serve().is_none());

        let demo = Config::load_from(
            None,
            env(&[]),
            &Overrides {
                demo: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(demo.mode, Mode::Development);
        assert!(!demo.secure_cookies);
        assert!(demo.refusal_to_serve().is_none());

        // A configured mode wins over --demo.
        let forced = Config::load_from(
            None,
            env(&[("HUANJIE_MODE", "production")]),
            &Overrides {
                demo: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(forced.refusal_to_serve().is_some());
    }

    #[test]
    fn unknown_file_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "[smtp]\nhots = \"x\"\n").unwrap();
        let err = Config::load_from(Some(&file), env(&[]), &Overrides::default()).unwrap_err();
        assert_eq!(err.key, "smtp.hots");
        std::fs::write(&file, "timezone = [1]\n").unwrap();
        let err = Config::load_from(Some(&file), env(&[]), &Overrides::default()).unwrap_err();
        assert_eq!(err.key, "timezone");
    }
}
