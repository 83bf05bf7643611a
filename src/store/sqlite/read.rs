//! The readers: a small pool of connections used on tokio's blocking threads. Under WAL a reader
//! sees the last committed state and never waits for the writer.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::types::{Type, Value};
use rusqlite::{Connection, OptionalExtension, Row, params_from_iter};
use tokio::sync::Semaphore;

use super::{classify, schema};
use crate::store::{
    EventRecord, InstanceQuery, InstanceRecord, InstanceStatus, InstanceSummary, Job, JobKind,
    OpenOptions, ParkedMessage, StoreError, WaitingInstance,
};

/// Reader connections, opened on demand up to `pool_size`.
pub(super) struct Readers {
    path: PathBuf,
    opts: OpenOptions,
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
}

impl Readers {
    pub(super) fn new(path: PathBuf, opts: OpenOptions) -> Self {
        let size = usize::try_from(opts.pool_size).unwrap_or(1).max(1);
        Readers {
            path,
            opts,
            idle: Mutex::new(Vec::with_capacity(size)),
            permits: Arc::new(Semaphore::new(size)),
        }
    }

    /// Runs `f` on a pooled connection on a blocking thread.
    pub(super) async fn run<T, F>(
        self: Arc<Self>,
        what: &'static str,
        f: F,
    ) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        // Waiting for a connection happens here, not on a blocking thread.
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Unavailable("sqlite reader pool closed".into()))?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let conn = match self
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop()
            {
                Some(conn) => conn,
                None => schema::open_reader(&self.path, &self.opts)?,
            };
            match f(&conn) {
                Ok(v) => {
                    self.give_back(conn);
                    Ok(v)
                }
                Err(e) => {
                    let e = classify(&self.path, what, e);
                    // A connection that hit an I/O or open problem is not reused.
                    if !matches!(e, StoreError::Unavailable(_)) {
                        self.give_back(conn);
                    }
                    Err(e)
                }
            }
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("sqlite reader task failed: {e}")))?
    }

    fn give_back(&self, conn: Connection) {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(conn);
    }
}

/// A stored text that is not one of the known values.
#[derive(Debug, thiserror::Error)]
#[error("unknown {what} {value:?} stored")]
struct UnknownValue {
    what: &'static str,
    value: String,
}

fn text_col<'r>(row: &'r Row<'_>, idx: usize) -> rusqlite::Result<&'r str> {
    let v = row.get_ref(idx)?;
    v.as_str()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, v.data_type(), Box::new(e)))
}

fn status_col(row: &Row<'_>, idx: usize) -> rusqlite::Result<InstanceStatus> {
    let s = text_col(row, idx)?;
    InstanceStatus::parse(s).ok_or_else(|| unknown(idx, "instance status", s))
}

fn kind_col(row: &Row<'_>, idx: usize) -> rusqlite::Result<JobKind> {
    let s = text_col(row, idx)?;
    JobKind::parse(s).ok_or_else(|| unknown(idx, "job kind", s))
}

fn unknown(idx: usize, what: &'static str, value: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        idx,
        Type::Text,
        Box::new(UnknownValue {
            what,
            value: value.to_string(),
        }),
    )
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(super) fn load_instance(
    conn: &Connection,
    id: i64,
) -> rusqlite::Result<Option<InstanceRecord>> {
    conn.prepare_cached(
        "SELECT id, process, version, status, created_ms, modified_ms, step, state, waits, fault \
         FROM instances WHERE id = ?1",
    )?
    .query_row([id], |r| {
        Ok(InstanceRecord {
            id: r.get(0)?,
            process: r.get(1)?,
            version: r.get(2)?,
            status: status_col(r, 3)?,
            created_ms: r.get(4)?,
            modified_ms: r.get(5)?,
            step: r.get(6)?,
            state: r.get(7)?,
            waits: r.get(8)?,
            fault: r.get(9)?,
        })
    })
    .optional()
}

pub(super) fn waiting_instances(conn: &Connection) -> rusqlite::Result<Vec<WaitingInstance>> {
    let mut st = conn.prepare_cached(
        "SELECT id, process, version, status, waits FROM instances \
         WHERE status IN (?1, ?2) ORDER BY id",
    )?;
    let rows = st.query_map(
        [
            InstanceStatus::Active.as_str(),
            InstanceStatus::Suspended.as_str(),
        ],
        |r| {
            Ok(WaitingInstance {
                id: r.get(0)?,
                process: r.get(1)?,
                version: r.get(2)?,
                status: status_col(r, 3)?,
                waits: r.get(4)?,
            })
        },
    )?;
    rows.collect()
}

macro_rules! job_columns {
    () => {
        "id, due_ms, node, instance, process, version, kind, details, retries, parked, last_error"
    };
}

fn job_row(r: &Row<'_>) -> rusqlite::Result<Job> {
    Ok(Job {
        id: r.get(0)?,
        due_ms: r.get(1)?,
        node: r.get(2)?,
        instance: r.get(3)?,
        process: r.get(4)?,
        version: r.get(5)?,
        kind: kind_col(r, 6)?,
        details: r.get(7)?,
        retries: r.get(8)?,
        parked: r.get(9)?,
        last_error: r.get(10)?,
    })
}

pub(super) fn due_jobs(
    conn: &Connection,
    node: &str,
    before_ms: i64,
    max: usize,
) -> rusqlite::Result<Vec<Job>> {
    let mut st = conn.prepare_cached(concat!(
        "SELECT ",
        job_columns!(),
        " FROM jobs WHERE parked = 0 AND due_ms < ?1 AND (node = ?2 OR node IS NULL) \
         ORDER BY due_ms, id LIMIT ?3"
    ))?;
    let rows = st.query_map(rusqlite::params![before_ms, node, limit(max)], job_row)?;
    rows.collect()
}

pub(super) fn parked_jobs(conn: &Connection) -> rusqlite::Result<Vec<Job>> {
    let mut st = conn.prepare_cached(concat!(
        "SELECT ",
        job_columns!(),
        " FROM jobs WHERE parked = 1 ORDER BY id"
    ))?;
    let rows = st.query_map([], job_row)?;
    rows.collect()
}

pub(super) fn parked_messages(conn: &Connection) -> rusqlite::Result<Vec<ParkedMessage>> {
    let mut st = conn.prepare_cached(
        "SELECT id, process, version, partner_link, operation, body, received_ms, expires_ms \
         FROM messages ORDER BY id",
    )?;
    let rows = st.query_map([], |r| {
        Ok(ParkedMessage {
            id: r.get(0)?,
            process: r.get(1)?,
            version: r.get(2)?,
            partner_link: r.get(3)?,
            operation: r.get(4)?,
            body: r.get(5)?,
            received_ms: r.get(6)?,
            expires_ms: r.get(7)?,
        })
    })?;
    rows.collect()
}

pub(super) fn instances(
    conn: &Connection,
    q: &InstanceQuery,
) -> rusqlite::Result<Vec<InstanceSummary>> {
    let mut sql = String::from(
        "SELECT id, process, version, status, created_ms, modified_ms, fault \
         FROM instances WHERE 1 = 1",
    );
    let mut args: Vec<Value> = Vec::new();
    if !q.status.is_empty() {
        sql.push_str(" AND status IN (");
        for (i, s) in q.status.iter().enumerate() {
            sql.push_str(if i == 0 { "?" } else { ", ?" });
            args.push(Value::Text(s.as_str().to_string()));
        }
        sql.push(')');
    }
    if let Some(p) = &q.process {
        sql.push_str(" AND process = ?");
        args.push(Value::Text(p.clone()));
    }
    if let Some(v) = q.version {
        sql.push_str(" AND version = ?");
        args.push(Value::Integer(v));
    }
    if !q.ids.is_empty() {
        // One JSON array parameter: no limit on the number of ids, and one cached statement.
        sql.push_str(" AND id IN (SELECT value FROM json_each(?))");
        let list: Vec<String> = q.ids.iter().map(i64::to_string).collect();
        args.push(Value::Text(format!("[{}]", list.join(","))));
    }
    if let Some(from) = q.created_from {
        sql.push_str(" AND created_ms >= ?");
        args.push(Value::Integer(from));
    }
    if let Some(before) = q.created_before {
        sql.push_str(" AND created_ms < ?");
        args.push(Value::Integer(before));
    }
    sql.push_str(" ORDER BY id DESC");
    if q.limit > 0 {
        sql.push_str(" LIMIT ?");
        args.push(Value::Integer(limit(q.limit)));
    }
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st.query_map(params_from_iter(args.iter()), |r| {
        Ok(InstanceSummary {
            id: r.get(0)?,
            process: r.get(1)?,
            version: r.get(2)?,
            status: status_col(r, 3)?,
            created_ms: r.get(4)?,
            modified_ms: r.get(5)?,
            fault: r.get(6)?,
        })
    })?;
    rows.collect()
}

pub(super) fn instance_events(
    conn: &Connection,
    instance: i64,
) -> rusqlite::Result<Vec<EventRecord>> {
    let mut st = conn.prepare_cached(
        "SELECT instance, process, version, step, ts_ms, kind, body FROM events \
         WHERE instance = ?1 ORDER BY seq",
    )?;
    let rows = st.query_map([instance], |r| {
        Ok(EventRecord {
            instance: r.get(0)?,
            process: r.get(1)?,
            version: r.get(2)?,
            step: r.get(3)?,
            ts_ms: r.get(4)?,
            kind: r.get(5)?,
            body: r.get(6)?,
        })
    })?;
    rows.collect()
}

/// Reads from the file (not only the connection), so a broken or replaced database shows.
pub(super) fn ping(conn: &Connection) -> rusqlite::Result<()> {
    conn.prepare_cached("SELECT COALESCE(MAX(version), 0) FROM schema_version")?
        .query_row([], |r| r.get::<_, i64>(0))?;
    Ok(())
}
