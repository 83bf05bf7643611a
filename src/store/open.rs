//! Choosing and opening the backend from `[database]`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{OpenOptions, SharedStore, StoreError};
use crate::config::DatabaseSection;

/// Which backend a `database.url` names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL URL.
    Postgres(String),
}

/// The default embedded database file under the data dir.
pub const DEFAULT_SQLITE_FILE: &str = "bpelgate.db";

/// Resolves `url` (`sqlite:PATH`, `sqlite://PATH`, `postgres://…`, `postgresql://…`; none:
/// `<data-dir>/bpelgate.db`). A relative SQLite path is relative to the working directory,
/// like every other path of the configuration.
pub fn backend(url: Option<&str>, data_dir: &Path) -> Result<Backend, StoreError> {
    let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) else {
        return Ok(Backend::Sqlite(data_dir.join(DEFAULT_SQLITE_FILE)));
    };
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Backend::Postgres(url.to_string()));
    }
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        if path.is_empty() {
            return Err(StoreError::Url {
                url: url.to_string(),
                reason: "no file path after sqlite:".into(),
            });
        }
        return Ok(Backend::Sqlite(PathBuf::from(path)));
    }
    Err(StoreError::Url {
        url: url.to_string(),
        reason: "expected sqlite:PATH or postgres://user@host/database".into(),
    })
}

/// Open options from `[database]`.
pub fn options(db: &DatabaseSection, migrate: bool) -> Result<OpenOptions, StoreError> {
    let sqlite_full_sync = match db.sqlite_synchronous.to_ascii_lowercase().as_str() {
        "full" => true,
        "normal" => false,
        other => {
            return Err(StoreError::Url {
                url: db.url.clone().unwrap_or_default(),
                reason: format!("sqlite-synchronous must be \"full\" or \"normal\", not {other:?}"),
            });
        }
    };
    Ok(OpenOptions {
        pool_size: db.pool_size.max(1),
        connect_timeout: Duration::from_millis(db.connect_timeout_ms),
        statement_timeout: Duration::from_millis(db.statement_timeout_ms),
        sqlite_full_sync,
        max_group: db.max_group.max(1),
        migrate,
    })
}

/// Opens the configured backend; `migrate` applies pending schema migrations first.
pub async fn open(
    db: &DatabaseSection,
    data_dir: &Path,
    migrate: bool,
) -> Result<SharedStore, StoreError> {
    let opts = options(db, migrate)?;
    Ok(match backend(db.url.as_deref(), data_dir)? {
        Backend::Sqlite(path) => super::sqlite::open(&path, &opts).await?,
        Backend::Postgres(url) => super::postgres::open(&url, &opts).await?,
    })
}

/// A URL safe to print: the password of a PostgreSQL URL is masked.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_string();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let dd = Path::new("/d");
        assert_eq!(
            backend(None, dd).ok(),
            Some(Backend::Sqlite(PathBuf::from("/d/bpelgate.db")))
        );
        assert_eq!(
            backend(Some("sqlite:x/y.db"), dd).ok(),
            Some(Backend::Sqlite(PathBuf::from("x/y.db")))
        );
        assert_eq!(
            backend(Some("postgres://u@h/db"), dd).ok(),
            Some(Backend::Postgres("postgres://u@h/db".into()))
        );
        assert!(matches!(
            backend(Some("mysql://h"), dd),
            Err(StoreError::Url { .. })
        ));
        assert!(matches!(
            backend(Some("sqlite:"), dd),
            Err(StoreError::Url { .. })
        ));
        assert_eq!(
            redacted("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(redacted("postgres://u@h/db"), "postgres://u@h/db");
    }
}
