//! Storage: one diesel `MultiConnection` over bundled SQLite (the embedded default) and PostgreSQL.
//!
//! Backend-specific SQL lives in explicit `match`es on [`DbConnection`] in this module only.

pub mod schema;

use std::path::PathBuf;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::AppError;

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

pub type Pool = r2d2::Pool<ConnectionManager>;
pub type PooledConnection = r2d2::PooledConnection<ConnectionManager>;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// How long a SQLite writer waits for another writer before giving up.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 5_000;

/// A parsed database URL. The scheme decides the backend, so a file path can never be
/// mistaken for a PostgreSQL connection string or the other way round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("must not be empty".into());
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(raw.to_owned()));
        }
        let path = raw
            .strip_prefix("sqlite://")
            .or_else(|| raw.strip_prefix("sqlite:"))
            .unwrap_or(raw);
        if path.is_empty() {
            return Err("sqlite URL has no file path".into());
        }
        if path.contains("://") {
            return Err(format!(
                "unsupported scheme in '{raw}': use sqlite://PATH or postgres://..."
            ));
        }
        Ok(DatabaseUrl::Sqlite(PathBuf::from(path)))
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            DatabaseUrl::Sqlite(_) => "sqlite",
            DatabaseUrl::Postgres(_) => "postgres",
        }
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DatabaseUrl::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            // Never print a password from a PostgreSQL URL.
            DatabaseUrl::Postgres(url) => match (url.find("://"), url.rfind('@')) {
                (Some(scheme), Some(at)) if at > scheme => {
                    write!(f, "{}***{}", &url[..scheme + 3], &url[at..])
                }
                _ => f.write_str(url),
            },
        }
    }
}

/// r2d2 manager that opens the right backend and applies per-connection settings.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: DatabaseUrl,
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = diesel::ConnectionError;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        match &self.url {
            DatabaseUrl::Postgres(url) => Ok(DbConnection::Postgres(PgConnection::establish(url)?)),
            DatabaseUrl::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
                // foreign_keys and busy_timeout are per connection; WAL is stored in the file
                // but setting it again is harmless and covers a fresh database.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; \
                     PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; \
                     PRAGMA foreign_keys = ON;"
                ))
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::ConnectionError::CouldntSetupConfiguration)
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

/// Builds the pool and brings the schema up to date.
pub fn connect(url: &DatabaseUrl, max_size: u32) -> Result<Pool, AppError> {
    if let DatabaseUrl::Sqlite(path) = url {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| AppError::internal(format!("cannot create {}: {e}", dir.display())))?;
        }
    }
    let pool = r2d2::Pool::builder()
        .max_size(max_size)
        .connection_timeout(Duration::from_secs(10))
        .build(ConnectionManager { url: url.clone() })
        .map_err(|e| AppError::internal(format!("cannot open database {url}: {e}")))?;
    let mut conn = pool.get()?;
    run_migrations(&mut conn)?;
    Ok(pool)
}

/// Applies the pending embedded migrations of this connection's dialect; returns their names.
pub fn run_migrations(conn: &mut DbConnection) -> Result<Vec<String>, AppError> {
    let applied = match conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS),
        DbConnection::Postgres(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS),
    }
    .map_err(|e| AppError::internal(format!("migration failed: {e}")))?;
    Ok(applied.iter().map(|m| m.to_string()).collect())
}

/// Runs blocking database work on the blocking thread pool, never on an async worker.
pub async fn run<T, F>(pool: &Pool, work: F) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    actix_web::web::block(move || {
        let mut conn = pool.get()?;
        work(&mut conn)
    })
    .await
    .map_err(|e| AppError::internal(format!("blocking task failed: {e}")))?
}

/// Takes SQLite's write lock first thing in a transaction that reads before it writes.
///
/// A deferred SQLite transaction that reads first and writes later must upgrade its lock, and
/// when another connection is writing, that upgrade fails at once with "database is locked"
/// instead of waiting. A write as the first statement waits (busy timeout) like any other, so
/// concurrent requests queue up. PostgreSQL needs nothing: row versions and guarded updates
/// settle the race there.
pub fn begin_write(conn: &mut DbConnection) -> Result<(), AppError> {
    if let DbConnection::Sqlite(c) = conn {
        use diesel::RunQueryDsl;
        diesel::sql_query("UPDATE campaigns SET status = status WHERE 0").execute(c)?;
    }
    Ok(())
}

/// Multi-row INSERT of `rows` into `table`, in chunks that stay under SQLite's bound-parameter
/// limit. Batch inserts are backend-specific in diesel, hence the explicit `match`.
macro_rules! insert_all {
    ($conn:expr, $table:expr, $rows:expr) => {{
        for chunk in $rows.chunks(500) {
            match &mut *$conn {
                $crate::db::DbConnection::Sqlite(c) => {
                    diesel::insert_into($table).values(chunk).execute(c)?;
                }
                $crate::db::DbConnection::Postgres(c) => {
                    diesel::insert_into($table).values(chunk).execute(c)?;
                }
            }
        }
    }};
}
pub(crate) use insert_all;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_database_urls() {
        assert_eq!(
            DatabaseUrl::parse("data/huanjie.db").unwrap(),
            DatabaseUrl::Sqlite("data/huanjie.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///tmp/x.db").unwrap(),
            DatabaseUrl::Sqlite("/tmp/x.db".into())
        );
        assert!(matches!(
            DatabaseUrl::parse("postgres://u:pw@h/db").unwrap(),
            DatabaseUrl::Postgres(_)
        ));
        assert!(DatabaseUrl::parse("mysql://h/db").is_err());
        assert!(DatabaseUrl::parse("  ").is_err());
    }

    #[test]
    fn sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout() {
        #[derive(QueryableByName)]
        struct Value {
            #[diesel(sql_type = diesel::sql_types::Text)]
            value: String,
        }
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::Sqlite(dir.path().join("nested/dir/huanjie.db"));
        let pool = connect(&url, 2).unwrap();
        let mut conn = pool.get().unwrap();
        let mut pragma = |name: &str| {
            diesel::sql_query(format!(
                "SELECT CAST((SELECT * FROM pragma_{name}) AS TEXT) AS value"
            ))
            .get_result::<Value>(&mut *conn)
            .unwrap()
            .value
        };
        assert_eq!(pragma("journal_mode"), "wal");
        assert_eq!(pragma("foreign_keys"), "1");
        assert_eq!(pragma("busy_timeout"), SQLITE_BUSY_TIMEOUT_MS.to_string());
        // Migrations ran: a second pass finds nothing to do.
        assert!(run_migrations(&mut conn).unwrap().is_empty());
    }

    #[test]
    fn hides_postgres_password() {
        let url = DatabaseUrl::parse("postgres://u:secret@h/db").unwrap();
        assert_eq!(url.to_string(), "postgres://***@h/db");
    }
}
