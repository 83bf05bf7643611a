//! The SQLite backend (the default, embedded store), on rusqlite with SQLite compiled in.
//!
//! One writer thread owns the write connection and group-commits every write (see `writer`);
//! reads use a small pool of connections on tokio's blocking threads (see `read`). The database
//! runs in WAL mode, so readers never wait for the writer and a commit is one append (plus an
//! fsync under `synchronous=FULL`) whatever the group's size.
//!
//! Every write joins a group: steps, id reservations, job failures, instance deletions and
//! heartbeats alike, so a group that fails (one bad write) fails all of them, none applied.
//! Migrations run alone in their own transaction.

mod read;
mod schema;
mod writer;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;

use rusqlite::ErrorCode;
use tokio::sync::oneshot;

use self::read::Readers;
use self::writer::{Op, Reply, Writer};
use super::{
    BoxFuture, EventRecord, InstanceQuery, InstanceRecord, InstanceSummary, Job, JobFailure,
    OpenOptions, ParkedMessage, SchemaReport, StepWrite, Store, StoreError, WaitingInstance,
};

/// The schema version this build reads and writes (the highest script of
/// `conf/dbscripts/sqlite/`).
pub const SCHEMA_VERSION: u32 = schema::LATEST;

/// The SQLite store. Dropping it lets the writer finish what is queued, then closes the
/// database.
pub struct SqliteStore {
    path: PathBuf,
    queue: Option<mpsc::Sender<Op>>,
    writer: Option<JoinHandle<()>>,
    readers: Arc<Readers>,
    /// Dropping it stops the checkpointer.
    checkpoint_stop: Option<mpsc::Sender<()>>,
    checkpointer: Option<JoinHandle<()>>,
}

/// How often the WAL is copied back into the database file.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// Copies the WAL into the database on its own connection and thread, so the writer never
/// pays for a checkpoint inside a commit (SQLite's automatic checkpoint runs in the commit
/// that crosses the threshold: a latency spike for every request of that group). PASSIVE
/// never blocks the writer or the readers.
fn spawn_checkpointer(
    path: &Path,
    opts: &OpenOptions,
) -> Result<(mpsc::Sender<()>, JoinHandle<()>), StoreError> {
    let conn = schema::open_writer(path, opts)?;
    let (stop, stopped) = mpsc::channel::<()>();
    let shown = path.display().to_string();
    let handle = std::thread::Builder::new()
        .name("bpelgate-sqlite-checkpoint".into())
        .spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_EVERY)
            {
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::warn!(path = %shown, error = %e, "WAL checkpoint failed; retrying.");
                }
            }
        })
        .map_err(|e| StoreError::Unavailable(format!("start the sqlite checkpoint thread: {e}")))?;
    Ok((stop, handle))
}

/// Opens the SQLite database at `path`, creating its directory and the file when missing.
///
/// With `opts.migrate` pending migrations are applied; without it, a missing or older schema
/// is a [`StoreError::Schema`] that says to run `bpelgate db migrate`.
pub async fn open(path: &Path, opts: &OpenOptions) -> Result<Arc<SqliteStore>, StoreError> {
    let path = path.to_path_buf();
    let opts = opts.clone();
    tokio::task::spawn_blocking(move || open_blocking(path, opts))
        .await
        .map_err(|e| StoreError::Unavailable(format!("sqlite open task failed: {e}")))?
        .map(Arc::new)
}

fn open_blocking(path: PathBuf, opts: OpenOptions) -> Result<SqliteStore, StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Unavailable(format!("create directory {}: {e}", dir.display()))
        })?;
    }
    let conn = schema::open_writer(&path, &opts)?;
    if opts.migrate {
        let report = schema::migrate(&conn, &path)?;
        if report.from != report.to {
            tracing::info!(
                path = %path.display(), from = report.from, to = report.to,
                "Migrated the SQLite schema."
            );
        }
    } else {
        schema::check(&conn, &path)?;
    }
    // Checkpoints run on their own thread (see `spawn_checkpointer`).
    conn.pragma_update(None, "wal_autocheckpoint", 0)
        .map_err(|e| classify(&path, "turn off automatic checkpoints", e))?;
    let (checkpoint_stop, checkpointer) = spawn_checkpointer(&path, &opts)?;
    let (queue, jobs) = mpsc::channel();
    let writer = Writer::new(conn, path.clone(), opts.max_group);
    let handle = std::thread::Builder::new()
        .name("bpelgate-sqlite-writer".into())
        .spawn(move || writer.run(jobs))
        .map_err(|e| StoreError::Unavailable(format!("start the sqlite writer thread: {e}")))?;
    Ok(SqliteStore {
        readers: Arc::new(Readers::new(path.clone(), opts)),
        path,
        queue: Some(queue),
        writer: Some(handle),
        checkpoint_stop: Some(checkpoint_stop),
        checkpointer: Some(checkpointer),
    })
}

/// Maps a rusqlite error: the database being busy, locked, unopenable or failing I/O makes it
/// unavailable (retryable); anything else is a database error.
pub(super) fn classify(path: &Path, what: &str, e: rusqlite::Error) -> StoreError {
    let unavailable = matches!(
        e.sqlite_error_code(),
        Some(
            ErrorCode::DatabaseBusy
                | ErrorCode::DatabaseLocked
                | ErrorCode::CannotOpen
                | ErrorCode::SystemIoFailure
                | ErrorCode::DiskFull
                | ErrorCode::PermissionDenied
                | ErrorCode::ReadOnly
                | ErrorCode::FileLockingProtocolFailed
        )
    );
    let message = format!("{what}: sqlite {}: {e}", path.display());
    if unavailable {
        StoreError::Unavailable(message)
    } else {
        StoreError::Database(message)
    }
}

fn writer_gone() -> StoreError {
    StoreError::Unavailable("the sqlite writer thread stopped".into())
}

impl SqliteStore {
    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Queues one write for the writer thread. The write is queued when this is called, not when
    /// the future is first polled: submission order is call order.
    fn submit<T: Send + 'static>(
        &self,
        op: impl FnOnce(Reply<T>) -> Op,
    ) -> BoxFuture<'static, Result<T, StoreError>> {
        let (tx, rx) = oneshot::channel();
        if let Some(queue) = &self.queue {
            // A failed send drops the op and with it `tx`: `rx` then reports the writer gone.
            let _ = queue.send(op(tx));
        }
        Box::pin(async move { rx.await.unwrap_or_else(|_| Err(writer_gone())) })
    }

    fn read<T, F>(&self, what: &'static str, f: F) -> BoxFuture<'static, Result<T, StoreError>>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        Box::pin(Arc::clone(&self.readers).run(what, f))
    }

    #[cfg(test)]
    fn submit_raw(&self, op: Op) {
        if let Some(queue) = &self.queue {
            let _ = queue.send(op);
        }
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // Closing the queue ends the writer once it has committed what was queued; waiting for
        // it means the file is closed (and its WAL checkpointed) when the drop returns.
        self.queue = None;
        if let Some(handle) = self.writer.take()
            && handle.join().is_err()
        {
            tracing::warn!(path = %self.path.display(), "The SQLite writer thread had died.");
        }
        self.checkpoint_stop = None;
        if let Some(handle) = self.checkpointer.take() {
            let _ = handle.join();
        }
    }
}

impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn commit(&self, write: StepWrite) -> BoxFuture<'static, Result<(), StoreError>> {
        self.submit(|tx| Op::Step(write, tx))
    }

    fn reserve_ids(&self, count: i64) -> BoxFuture<'static, Result<i64, StoreError>> {
        if count < 0 {
            return Box::pin(std::future::ready(Err(StoreError::Database(format!(
                "cannot reserve {count} ids"
            )))));
        }
        self.submit(|tx| Op::ReserveIds(count, tx))
    }

    fn load_instance(
        &self,
        id: i64,
    ) -> BoxFuture<'static, Result<Option<InstanceRecord>, StoreError>> {
        self.read("load instance", move |c| read::load_instance(c, id))
    }

    fn waiting_instances(&self) -> BoxFuture<'static, Result<Vec<WaitingInstance>, StoreError>> {
        self.read("list waiting instances", read::waiting_instances)
    }

    fn due_jobs(
        &self,
        node: &str,
        before_ms: i64,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<Job>, StoreError>> {
        let node = node.to_string();
        self.read("list due jobs", move |c| {
            read::due_jobs(c, &node, before_ms, limit)
        })
    }

    fn job_failed(&self, failure: JobFailure) -> BoxFuture<'static, Result<(), StoreError>> {
        self.submit(|tx| Op::JobFailed(failure, tx))
    }

    fn parked_jobs(&self) -> BoxFuture<'static, Result<Vec<Job>, StoreError>> {
        self.read("list parked jobs", read::parked_jobs)
    }

    fn parked_messages(&self) -> BoxFuture<'static, Result<Vec<ParkedMessage>, StoreError>> {
        self.read("list parked messages", read::parked_messages)
    }

    fn instances(
        &self,
        query: InstanceQuery,
    ) -> BoxFuture<'static, Result<Vec<InstanceSummary>, StoreError>> {
        self.read("list instances", move |c| read::instances(c, &query))
    }

    fn instance_events(
        &self,
        instance: i64,
    ) -> BoxFuture<'static, Result<Vec<EventRecord>, StoreError>> {
        self.read("list instance events", move |c| {
            read::instance_events(c, instance)
        })
    }

    fn delete_instance(&self, id: i64) -> BoxFuture<'static, Result<bool, StoreError>> {
        self.submit(|tx| Op::DeleteInstance(id, tx))
    }

    fn heartbeat(&self, node: &str, now_ms: i64) -> BoxFuture<'static, Result<(), StoreError>> {
        let node = node.to_string();
        self.submit(|tx| Op::Heartbeat(node, now_ms, tx))
    }

    fn ping(&self) -> BoxFuture<'static, Result<(), StoreError>> {
        self.read("ping", read::ping)
    }

    fn migrate(&self) -> BoxFuture<'static, Result<SchemaReport, StoreError>> {
        self.submit(Op::Migrate)
    }
}
