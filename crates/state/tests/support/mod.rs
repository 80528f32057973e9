//! Storage backends for the state tests: on-disk SQLite always, PostgreSQL when `FERROCHAIN_TEST_POSTGRES_URL`
//! is set (each backend in its own fresh schema, dropped afterwards). A [`Backend`] can open its store again
//! (to test restarts) and make a fresh empty twin (for from-scratch replays).
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use ferrochain_state::Store;
use ferrochain_state::postgres::PostgresStore;
use ferrochain_state::sqlite::SqliteStore;

/// The environment variable naming the PostgreSQL server used by tests.
pub const POSTGRES_URL_VAR: &str = "FERROCHAIN_TEST_POSTGRES_URL";

enum Kind {
    Sqlite { dir: tempfile::TempDir },
    Postgres { url: String, schema: String },
}

/// One database that tests can open, close and reopen.
pub struct Backend {
    kind: Kind,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}_{}_{}_{n}", std::process::id(), nanos)
}

impl Backend {
    /// A fresh SQLite database in a temporary directory.
    pub fn sqlite() -> Backend {
        Backend {
            kind: Kind::Sqlite {
                dir: tempfile::tempdir().unwrap(),
            },
        }
    }

    /// A fresh schema on the PostgreSQL server at `url`.
    pub fn postgres(url: &str) -> Backend {
        Backend {
            kind: Kind::Postgres {
                url: url.to_string(),
                schema: unique("t_state"),
            },
        }
    }

    /// Which backend this is.
    pub fn name(&self) -> &'static str {
        match self.kind {
            Kind::Sqlite { .. } => "sqlite",
            Kind::Postgres { .. } => "postgres",
        }
    }

    fn sqlite_path(dir: &tempfile::TempDir) -> PathBuf {
        dir.path().join("chain.sqlite")
    }

    /// Opens (again) this backend's store.
    pub fn store(&self) -> Box<dyn Store> {
        match &self.kind {
            Kind::Sqlite { dir } => {
                Box::new(SqliteStore::open_path(&Self::sqlite_path(dir)).unwrap())
            }
            Kind::Postgres { url, schema } => {
                Box::new(PostgresStore::connect_with_schema(url, Some(schema)).unwrap())
            }
        }
    }

    /// The PostgreSQL schema name, if this is PostgreSQL.
    pub fn schema(&self) -> Option<&str> {
        match &self.kind {
            Kind::Postgres { schema, .. } => Some(schema),
            Kind::Sqlite { .. } => None,
        }
    }

    /// Deletes everything stored (the next `store()` starts empty).
    pub fn wipe(&self) {
        match &self.kind {
            Kind::Sqlite { dir } => {
                let path = Self::sqlite_path(dir);
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Kind::Postgres { url, schema } => {
                let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
                client
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                    .unwrap();
            }
        }
    }

    /// A new, empty database of the same kind.
    pub fn fresh(&self) -> Backend {
        match &self.kind {
            Kind::Sqlite { .. } => Backend::sqlite(),
            Kind::Postgres { url, .. } => Backend::postgres(url),
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Kind::Postgres { url, schema } = &self.kind
            && let Ok(mut client) = postgres::Client::connect(url, postgres::NoTls)
        {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}

/// SQLite always; PostgreSQL too when the environment names a server (otherwise a notice says it is skipped).
pub fn backends() -> Vec<Backend> {
    let mut out = vec![Backend::sqlite()];
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.is_empty() => out.push(Backend::postgres(&url)),
        _ => eprintln!("PostgreSQL half skipped: {POSTGRES_URL_VAR} is not set"),
    }
    out
}
