//! Test helpers for code that needs a real PostgreSQL store (this crate's
//! tests, the core's engine tests). Behind the `testing` feature.
//!
//! The server comes from `TOCSIN_TEST_POSTGRES_URL` (an admin URL such as
//! `postgres://postgres@127.0.0.1:5432/postgres`). Unset, PostgreSQL tests
//! skip, so `cargo test` passes on SQLite alone; set but unreachable, they
//! fail: a CI job that asked for PostgreSQL must never pass without it.

use sqlx::postgres::PgConnectOptions;
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, PgConnection};
use std::str::FromStr;

/// The environment variable naming the test server.
pub const URL_VAR: &str = "TOCSIN_TEST_POSTGRES_URL";

/// Every test database name starts with this, so they are easy to find and
/// [`drop_database`] refuses to drop anything else.
pub const DATABASE_PREFIX: &str = "tocsin_test_";

/// The URL of a new, empty database (`tocsin_test_<uuid>`) on the test
/// server, or `None` (after saying so on stderr) when [`URL_VAR`] is unset.
///
/// # Panics
///
/// When [`URL_VAR`] is set but the server cannot be reached or the database
/// cannot be created.
#[allow(clippy::panic)]
pub async fn fresh_database() -> Option<String> {
    let admin = match std::env::var(URL_VAR) {
        Ok(url) if !url.is_empty() => url,
        _ => {
            eprintln!("skipped: {URL_VAR} not set");
            return None;
        }
    };
    let name = format!("{DATABASE_PREFIX}{}", uuid::Uuid::new_v4().simple());
    let mut conn = admin_connection(&admin)
        .await
        .unwrap_or_else(|e| panic!("{URL_VAR} is set but PostgreSQL cannot be reached: {e}"));
    // The name is ours (a prefix and hex digits), so it needs no quoting.
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("cannot create the test database {name}: {e}"));
    let _ = conn.close().await;
    Some(with_database(&admin, &name))
}

/// Drops a database made by [`fresh_database`], disconnecting whoever is
/// still on it. Best effort: a failure is reported on stderr, as a leftover
/// test database is harmless.
pub async fn drop_database(url: &str) {
    let Ok(admin) = std::env::var(URL_VAR) else {
        return;
    };
    let name = match PgConnectOptions::from_str(url).map(|o| o.get_database().map(str::to_owned)) {
        Ok(Some(name)) => name,
        _ => return,
    };
    let ours = name
        .strip_prefix(DATABASE_PREFIX)
        .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_hexdigit()));
    if !ours {
        eprintln!("not dropping {name}: not a test database");
        return;
    }
    let result = async {
        let mut conn = admin_connection(&admin).await?;
        sqlx::query(AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await?;
        conn.close().await
    }
    .await;
    if let Err(e) = result {
        eprintln!("could not drop the test database {name}: {e}");
    }
}

async fn admin_connection(admin: &str) -> Result<PgConnection, sqlx::Error> {
    PgConnectOptions::from_str(admin)?.connect().await
}

/// `url` with its database (the path) replaced by `database`, keeping the
/// user, password, host, port and query parameters.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority = base.find("://").map_or(0, |i| i + 3);
    let path = base[authority..]
        .find('/')
        .map_or(base.len(), |i| authority + i);
    let mut out = format!("{}/{database}", &base[..path]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_the_database_only() {
        let cases = [
            (
                "postgres://postgres@127.0.0.1:5432/postgres",
                "postgres://postgres@127.0.0.1:5432/t",
            ),
            (
                "postgres://u:p@h/db?sslmode=disable",
                "postgres://u:p@h/t?sslmode=disable",
            ),
            ("postgres://h:5432", "postgres://h:5432/t"),
            (
                "postgresql://h?application_name=x",
                "postgresql://h/t?application_name=x",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(with_database(input, "t"), want, "{input}");
        }
    }
}
