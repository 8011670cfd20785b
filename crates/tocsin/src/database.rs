//! Choosing the database from `--database-url` / `TOCSIN_DATABASE_URL`.
//! With neither, an embedded SQLite file in the data directory. Anything
//! ambiguous is refused: a bare path or an unknown scheme would otherwise
//! become a fresh, empty database that silently hides the real data.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use tocsin_store::Store;
use tocsin_store_sqlite::{OpenMode, SqliteStore};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Sqlite(PathBuf),
    Postgres(String),
}

/// The file name of the embedded database inside the data directory.
pub const SQLITE_FILE: &str = "tocsin.db";

pub fn parse(url: Option<&str>, data_dir: &Path) -> Result<Target, String> {
    let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) else {
        return Ok(Target::Sqlite(data_dir.join(SQLITE_FILE)));
    };
    let Some((scheme, rest)) = url.split_once(':') else {
        return Err(format!(
            "database URL {url:?} has no scheme; for a SQLite file write sqlite://{url}, for PostgreSQL postgres://user@host/db"
        ));
    };
    match scheme.to_ascii_lowercase().as_str() {
        "postgres" | "postgresql" => Ok(Target::Postgres(url.to_owned())),
        "sqlite" => {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            let path = path.split('?').next().unwrap_or(path);
            if path.is_empty() || path == ":memory:" {
                return Err(format!(
                    "database URL {url:?} names no file (an in-memory database would lose every alert on restart); write sqlite://path/to/tocsin.db"
                ));
            }
            Ok(Target::Sqlite(PathBuf::from(path)))
        }
        other => Err(format!(
            "database URL scheme {other:?} is not supported; use sqlite://path/to/tocsin.db or postgres://user@host/db"
        )),
    }
}

impl Target {
    /// For logs: never prints a password.
    pub fn describe(&self) -> String {
        match self {
            Target::Sqlite(p) => format!("sqlite {}", p.display()),
            Target::Postgres(url) => {
                let after_scheme = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
                let host = after_scheme
                    .rsplit_once('@')
                    .map(|(_, h)| h)
                    .unwrap_or(after_scheme);
                format!("postgres {}", host.split('?').next().unwrap_or(host))
            }
        }
    }

    /// Opens the store. `server` takes SQLite's single-instance lock.
    pub async fn open(&self, server: bool) -> anyhow::Result<Arc<dyn Store>> {
        Ok(match self {
            Target::Sqlite(path) => {
                let mode = if server {
                    OpenMode::Server
                } else {
                    OpenMode::Client
                };
                Arc::new(SqliteStore::open(path, mode).await?)
            }
            Target::Postgres(url) => {
                Arc::new(tocsin_store_postgres::PostgresStore::connect(url).await?)
            }
        })
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let dir = Path::new("/var/lib/tocsin");
        let cases: &[(Option<&str>, Result<Target, &str>)] = &[
            (None, Ok(Target::Sqlite(dir.join("tocsin.db")))),
            (Some(""), Ok(Target::Sqlite(dir.join("tocsin.db")))),
            (
                Some("sqlite:///tmp/x.db"),
                Ok(Target::Sqlite("/tmp/x.db".into())),
            ),
            (
                Some("sqlite://rel/x.db?mode=rwc"),
                Ok(Target::Sqlite("rel/x.db".into())),
            ),
            (Some("sqlite:x.db"), Ok(Target::Sqlite("x.db".into()))),
            (
                Some("postgres://u@h/db"),
                Ok(Target::Postgres("postgres://u@h/db".into())),
            ),
            (
                Some("postgresql://u@h/db"),
                Ok(Target::Postgres("postgresql://u@h/db".into())),
            ),
            (Some("/tmp/x.db"), Err("has no scheme")),
            (Some("x.db"), Err("has no scheme")),
            (
                Some("mysql://u@h/db"),
                Err("scheme \"mysql\" is not supported"),
            ),
            (Some("sqlite::memory:"), Err("names no file")),
        ];
        for (input, want) in cases {
            let got = parse(*input, dir);
            match (want, &got) {
                (Ok(t), Ok(g)) => assert_eq!(t, g, "{input:?}"),
                (Err(frag), Err(msg)) => assert!(msg.contains(frag), "{input:?}: {msg}"),
                _ => panic!("{input:?}: got {got:?}"),
            }
        }
        let pg = Target::Postgres("postgres://admin:s3cret@db.internal:5432/tocsin".into());
        assert_eq!(pg.describe(), "postgres db.internal:5432/tocsin");
    }
}
