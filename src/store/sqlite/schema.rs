//! Connection set-up and schema migrations of the SQLite backend.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::classify;
use crate::store::{OpenOptions, SchemaReport, StoreError};

/// The numbered scripts of `conf/dbscripts/sqlite/`, in order. Each one records its own version
/// in `schema_version`, so a DBA can apply them by hand too.
const MIGRATIONS: &[(u32, &str)] = &[(
    1,
    include_str!("../../../conf/dbscripts/sqlite/001_initial.sql"),
)];

/// The schema version this binary reads and writes.
pub(super) const LATEST: u32 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// Statements kept prepared per connection (the writer's and readers' fixed statements, plus a
/// few instance-list filters).
const STATEMENT_CACHE: usize = 32;

/// Opens (creating it) the writer's connection: WAL, the configured `synchronous`, busy timeout.
pub(super) fn open_writer(path: &Path, opts: &OpenOptions) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| classify(path, "open", e))?;
    conn.busy_timeout(opts.statement_timeout)
        .map_err(|e| classify(path, "set busy timeout", e))?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .map_err(|e| classify(path, "switch to WAL", e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Unavailable(format!(
            "sqlite {}: cannot switch to WAL journal mode (still {mode})",
            path.display()
        )));
    }
    let sync = if opts.sqlite_full_sync {
        "FULL"
    } else {
        "NORMAL"
    };
    conn.pragma_update(None, "synchronous", sync)
        .map_err(|e| classify(path, "set synchronous", e))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// Opens one reader connection on an existing database. Read-write at the file level (a
/// read-only handle cannot always attach to the WAL index) but `query_only`.
pub(super) fn open_reader(path: &Path, opts: &OpenOptions) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| classify(path, "open", e))?;
    conn.busy_timeout(opts.statement_timeout)
        .map_err(|e| classify(path, "set busy timeout", e))?;
    conn.pragma_update(None, "query_only", true)
        .map_err(|e| classify(path, "set query_only", e))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// The recorded schema version; 0 on a database without the bpelgate schema.
pub(super) fn version(conn: &Connection) -> rusqlite::Result<u32> {
    let has_table: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
        [],
        |r| r.get(0),
    )?;
    if !has_table {
        return Ok(0);
    }
    conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_version",
        [],
        |r| r.get(0),
    )
}

/// Checks that the schema is the one this binary uses, without changing anything.
pub(super) fn check(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let found = version(conn).map_err(|e| classify(path, "read schema version", e))?;
    match found {
        v if v == LATEST => Ok(()),
        v if v > LATEST => Err(too_new(path, v)),
        0 => Err(StoreError::Schema(format!(
            "sqlite {} has no bpelgate schema: run `bpelgate db migrate` (or `bpelgate db init`)",
            path.display()
        ))),
        v => Err(StoreError::Schema(format!(
            "sqlite {} has schema version {v}, this bpelgate needs {LATEST}: run `bpelgate db migrate`",
            path.display()
        ))),
    }
}

fn too_new(path: &Path, found: u32) -> StoreError {
    StoreError::Schema(format!(
        "sqlite {} has schema version {found}, newer than this bpelgate knows ({LATEST}): \
         upgrade bpelgate",
        path.display()
    ))
}

/// Applies every script above the recorded version, all in one transaction.
pub(super) fn migrate(conn: &Connection, path: &Path) -> Result<SchemaReport, StoreError> {
    let db = |what: &'static str| move |e| classify(path, what, e);
    conn.execute_batch("BEGIN IMMEDIATE")
        .map_err(db("begin migration"))?;
    let result = (|| {
        let from = version(conn).map_err(db("read schema version"))?;
        if from > LATEST {
            return Err(too_new(path, from));
        }
        for (number, script) in MIGRATIONS.iter().filter(|(n, _)| *n > from) {
            conn.execute_batch(script).map_err(|e| {
                classify(path, &format!("apply conf/dbscripts/sqlite/{number:03}"), e)
            })?;
            let now = version(conn).map_err(db("read schema version"))?;
            if now != *number {
                return Err(StoreError::Schema(format!(
                    "sqlite migration {number:03} recorded version {now} instead of {number}"
                )));
            }
        }
        conn.execute_batch("COMMIT")
            .map_err(db("commit migration"))?;
        Ok(SchemaReport { from, to: LATEST })
    })();
    if result.is_err()
        && !conn.is_autocommit()
        && let Err(e) = conn.execute_batch("ROLLBACK")
    {
        tracing::warn!(path = %path.display(), error = %e, "Rolling back a failed migration failed.");
    }
    result
}
