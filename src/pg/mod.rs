//! Where the database comes from: a URL the user gives, or the embedded cluster (README "Quick start").

pub mod embedded;
pub mod scratch;

use anyhow::{Context, Result};
use sqlx::{Connection, PgConnection};

use crate::error::UserError;

/// The database the command works on.
pub struct Target {
    pub url: String,
    /// Set when the database lives in the embedded cluster (and may be created on demand).
    pub embedded: Option<embedded::EmbeddedCluster>,
}

impl Target {
    /// `--database-url` / `DATABASE_URL` when given, else the database `embedded_database` (the
    /// roadmap names it) in the embedded cluster, started on demand.
    pub fn resolve(
        database_url: Option<&str>,
        state: &crate::state::StateDir,
        embedded_database: &str,
    ) -> Result<Target> {
        if let Some(url) = database_url.filter(|u| !u.trim().is_empty()) {
            return Ok(Target {
                url: url.to_string(),
                embedded: None,
            });
        }
        let cluster = embedded::EmbeddedCluster::new(&state.pg_dir())?;
        cluster.ensure_started()?;
        Ok(Target {
            url: cluster.url(embedded_database),
            embedded: Some(cluster),
        })
    }

    pub fn redacted_url(&self) -> String {
        redact(&self.url)
    }

    /// The command's own connection: its lock waits are bounded (README "Operating it").
    pub async fn connect(&self) -> Result<PgConnection> {
        connect_bounded(&self.url).await
    }

    /// Creates the target database when it is the embedded one and does not exist yet.
    pub async fn create_embedded_database_if_missing(&self) -> Result<bool> {
        let Some(cluster) = &self.embedded else {
            return Ok(false);
        };
        let name = url::Url::parse(&self.url)
            .map(|u| u.path().trim_start_matches('/').to_string())
            .with_context(|| format!("the embedded database URL {}", self.redacted_url()))?;
        let mut admin = connect(&cluster.url("postgres")).await?;
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(&name)
                .fetch_one(&mut admin)
                .await?;
        if !exists {
            // Quoted: `check` allows only plain lower-case names, which quoting leaves as they are.
            let created = sqlx::raw_sql(&format!("CREATE DATABASE \"{name}\""))
                .execute(&mut admin)
                .await;
            // A run killed during its CREATE DATABASE leaves the server finishing it (a backend
            // notices its client is gone only between statements), so the database can appear
            // between the look and the create: it is as new and empty as ours would have been.
            if let Err(err) = created {
                let code = err
                    .as_database_error()
                    .and_then(|e| e.code().map(|c| c.into_owned()));
                if !matches!(code.as_deref(), Some("42P04" | "23505")) {
                    return Err(err.into());
                }
                tracing::info!("database {name} appeared while this run created it: {err}");
            }
        }
        Ok(!exists)
    }
}

/// How long a command's own connection waits for a lock held by another session (the ledger's
/// tables, a table the audit reads) before it gives up with exit 3; a change's statements wait
/// at most [`crate::session::LOCK_TIMEOUT`].
pub const LOCK_WAIT: &str = "30s";

/// A connection whose lock waits are bounded by [`LOCK_WAIT`].
pub async fn connect_bounded(url: &str) -> Result<PgConnection> {
    let mut conn = connect(url).await?;
    sqlx::raw_sql(&format!("SET lock_timeout = '{LOCK_WAIT}'"))
        .execute(&mut conn)
        .await?;
    Ok(conn)
}

pub async fn connect(url: &str) -> Result<PgConnection> {
    PgConnection::connect(url).await.map_err(|err| {
        anyhow::Error::new(
            UserError::new(
                crate::error::Exit::Environment,
                format!("cannot connect to {}: {err}", redact(url)),
            )
            .with_hint(
                "check --database-url / DATABASE_URL, or leave both unset to use the embedded cluster",
            ),
        )
    })
}

/// A URL with every password replaced, for output, logs and `settings.json` (README "Safety"):
/// the userinfo's and a `password=` / `sslpassword=` query parameter's.
pub fn redact(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return "<unparseable database URL>".to_string();
    };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some("***"));
    }
    let pairs: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
    if pairs.iter().any(|(k, _)| is_secret(k)) {
        let mut query = parsed.query_pairs_mut();
        query.clear();
        for (k, v) in &pairs {
            query.append_pair(k, if is_secret(k) { "***" } else { v });
        }
    }
    parsed.to_string()
}

/// Any text with the passwords it may quote replaced: `password=...` (also `PGPASSWORD=`,
/// `sslpassword=`) and a URL's `user:password@`. Every error message goes through it before it is
/// shown (README "Safety").
pub fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = find_secret_start(rest) {
        out.push_str(&rest[..at]);
        out.push_str("***");
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| c.is_whitespace() || "&'\"),;@".contains(c))
            .unwrap_or(tail.len());
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Where the next secret value starts in `text`: after `password=` or inside `://user:...@`.
fn find_secret_start(text: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    let by_parameter = lower.find("password=").map(|i| i + "password=".len());
    let by_userinfo = lower.match_indices("://").find_map(|(i, _)| {
        let start = i + 3;
        let authority = &text[start..];
        let end = authority
            .find(['/', '?', ' ', '\n'])
            .unwrap_or(authority.len());
        let at = authority[..end].rfind('@')?;
        let colon = authority[..at].find(':')?;
        let value = &authority[colon + 1..at];
        (!value.is_empty() && value != "***").then_some(start + colon + 1)
    });
    match (by_parameter, by_userinfo) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn is_secret(parameter: &str) -> bool {
    parameter.eq_ignore_ascii_case("password") || parameter.eq_ignore_ascii_case("sslpassword")
}

/// Where a URL leads, ignoring how it is written: host, port, socket directory and database.
pub fn same_database(a: &str, b: &str) -> bool {
    fn key(url: &str) -> Option<(String, u16, String, String)> {
        let parsed = url::Url::parse(url).ok()?;
        let socket = parsed
            .query_pairs()
            .find(|(k, _)| k == "host")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let port = parsed
            .port()
            .or_else(|| {
                parsed
                    .query_pairs()
                    .find(|(k, _)| k == "port")
                    .and_then(|(_, v)| v.parse().ok())
            })
            .unwrap_or(5432);
        Some((
            parsed.host_str().unwrap_or("").to_string(),
            port,
            socket,
            parsed.path().to_string(),
        ))
    }
    match (key(a), key(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// The condition that keeps a catalog query to the user's schemas, on a `pg_namespace` aliased
/// `n`: neither the system's (`pg_*`, `information_schema`) nor engineer-sim's ledger
/// (`engineer_sim`). Every query that looks at "the user's objects" uses it.
pub const USER_SCHEMAS: &str =
    "n.nspname NOT IN ('engineer_sim', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'";

/// Runs a query's text column `object`, sorted.
pub async fn query_objects(conn: &mut PgConnection, sql: &str) -> Result<Vec<String>> {
    let mut objects: Vec<String> = sqlx::query_scalar(sql)
        .fetch_all(&mut *conn)
        .await
        .context("running a detection query")?;
    objects.sort();
    Ok(objects)
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn same_database_ignores_spelling() {
        use super::same_database;
        assert!(same_database(
            "postgres://u:pw@h/db",
            "postgres://u@h:5432/db"
        ));
        assert!(same_database(
            "postgres://u@localhost/db?host=/s&port=5432",
            "postgres://u@localhost/db?host=/s"
        ));
        assert!(!same_database("postgres://u@h/db", "postgres://u@h/other"));
        assert!(!same_database(
            "postgres://u@localhost/db?host=/s1",
            "postgres://u@localhost/db?host=/s2"
        ));
    }

    #[test]
    fn redact_text_hides_passwords_anywhere_in_a_message() {
        use super::redact_text;
        assert_eq!(
            redact_text("cannot connect to postgres://u:s3cret@h/db?password=x&port=1: refused"),
            "cannot connect to postgres://u:***@h/db?password=***&port=1: refused"
        );
        assert_eq!(
            redact_text("host=h PGPASSWORD=abc user=u"),
            "host=h PGPASSWORD=*** user=u"
        );
        assert_eq!(redact_text("no secrets here"), "no secrets here");
        assert_eq!(
            redact_text("postgres://u:***@h/db"),
            "postgres://u:***@h/db"
        );
    }

    #[test]
    fn redact_hides_passwords_only() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            redact("postgres://u@h/db?host=/s&password=secret&PassWord=x"),
            "postgres://u@h/db?host=%2Fs&password=***&PassWord=***"
        );
        assert_eq!(
            redact("postgres://u:pw@h/db?sslpassword=key"),
            "postgres://u:***@h/db?sslpassword=***"
        );
        assert_eq!(
            redact("postgres://u@h/db?host=/s&port=5432"),
            "postgres://u@h/db?host=/s&port=5432"
        );
        assert_eq!(redact("not a url"), "<unparseable database URL>");
    }
}
