//! The writer thread: owns the only write connection and commits queued writes in groups
//! (DESIGN decision 2). It blocks for the first write, drains what is already queued, applies it
//! all in submission order in one `BEGIN IMMEDIATE … COMMIT`, then answers every submitter.
//! Writes that arrive during the commit's fsync form the next group, so the group size follows
//! the load and an idle server commits each write at once.
//!
//! When commits are slow (fsync-bound, `synchronous=FULL` on a slow disk), the writers answered
//! by one commit come back a few tens of microseconds later, just after the next group started;
//! they would then wait a whole extra commit. So after a slow commit the writer waits briefly
//! (at most a quarter of that commit, and [`GATHER_MAX`]) for the writers of the last group to
//! come back (when there were several) before it begins the next transaction. It never waits inside a transaction, and
//! never after a fast commit. Measured with 64 concurrent submitters under FULL this took groups
//! from ~42 to ~55 writes and commits/s from ~10k to ~16k on a loaded 2-core machine.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rusqlite::{Connection, params};
use tokio::sync::oneshot;

use super::{classify, schema};
use crate::store::{JobFailure, SchemaReport, StepWrite, StoreError};

/// Where the writer sends one operation's result.
pub(super) type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// A commit at least this slow makes the writer gather the next group (see the module docs).
const GATHER_FROM: Duration = Duration::from_millis(1);
/// The longest the writer waits to gather a group.
const GATHER_MAX: Duration = Duration::from_millis(2);

/// One queued write.
// Nearly every op is a `Step`: boxing it would add an allocation per commit to save bytes
// of a queue slot.
#[allow(clippy::large_enum_variant)]
pub(super) enum Op {
    Step(StepWrite, Reply<()>),
    ReserveIds(i64, Reply<i64>),
    JobFailed(JobFailure, Reply<()>),
    DeleteInstance(i64, Reply<bool>),
    Heartbeat(String, i64, Reply<()>),
    /// Runs alone, in its own transaction.
    Migrate(Reply<SchemaReport>),
    /// Test hook: the writer waits for a message here before taking more work, so the writes
    /// queued meanwhile form one group.
    #[cfg(test)]
    Hold(mpsc::Receiver<()>),
    /// Test hook: the writer thread dies (panics) when it reaches this.
    #[cfg(test)]
    Crash,
}

/// What one applied operation returns, handed out once its group committed.
enum Outcome {
    Done,
    Id(i64),
    Found(bool),
}

impl Op {
    /// Operations that do not join a group.
    fn is_exclusive(&self) -> bool {
        match self {
            Op::Migrate(_) => true,
            #[cfg(test)]
            Op::Hold(_) | Op::Crash => true,
            _ => false,
        }
    }

    fn resolve(self, outcome: Outcome) {
        // A dropped receiver means the submitter stopped waiting; the write stays committed.
        match (self, outcome) {
            (Op::Step(_, tx) | Op::JobFailed(_, tx) | Op::Heartbeat(_, _, tx), Outcome::Done) => {
                let _ = tx.send(Ok(()));
            }
            (Op::ReserveIds(_, tx), Outcome::Id(first)) => {
                let _ = tx.send(Ok(first));
            }
            (Op::DeleteInstance(_, tx), Outcome::Found(found)) => {
                let _ = tx.send(Ok(found));
            }
            (op, _) => op.fail(StoreError::Database(
                "sqlite writer: result of the wrong kind for an operation".into(),
            )),
        }
    }

    fn fail(self, error: StoreError) {
        match self {
            Op::Step(_, tx) | Op::JobFailed(_, tx) | Op::Heartbeat(_, _, tx) => {
                let _ = tx.send(Err(error));
            }
            Op::ReserveIds(_, tx) => {
                let _ = tx.send(Err(error));
            }
            Op::DeleteInstance(_, tx) => {
                let _ = tx.send(Err(error));
            }
            Op::Migrate(tx) => {
                let _ = tx.send(Err(error));
            }
            #[cfg(test)]
            Op::Hold(_) | Op::Crash => {}
        }
    }
}

/// The writer thread's state.
pub(super) struct Writer {
    conn: Connection,
    path: PathBuf,
    max_group: usize,
}

impl Writer {
    pub(super) fn new(conn: Connection, path: PathBuf, max_group: usize) -> Self {
        Writer {
            conn,
            path,
            max_group: max_group.max(1),
        }
    }

    /// Serves the queue until every sender is gone.
    pub(super) fn run(self, queue: mpsc::Receiver<Op>) {
        let _alarm = DeathAlarm(&self.path);
        let mut group: Vec<Op> = Vec::with_capacity(self.max_group);
        let mut outcomes: Vec<Outcome> = Vec::with_capacity(self.max_group);
        let mut pending: Option<Op> = None;
        let mut last_len = 0;
        let mut last_commit = Duration::ZERO;
        loop {
            let first = match pending.take() {
                Some(op) => op,
                None => match queue.recv() {
                    Ok(op) => op,
                    Err(mpsc::RecvError) => return,
                },
            };
            if first.is_exclusive() {
                self.exclusive(first);
                continue;
            }
            group.push(first);
            while group.len() < self.max_group {
                match queue.try_recv() {
                    Ok(op) if op.is_exclusive() => {
                        pending = Some(op);
                        break;
                    }
                    Ok(op) => group.push(op),
                    Err(_) => break,
                }
            }
            // Those queued now plus those the last commit answered, who are likely coming back
            // (a lone writer coming back is the one already here: no reason to wait).
            let target = (group.len() + last_len).min(self.max_group);
            if pending.is_none()
                && last_len > 1
                && group.len() < target
                && last_commit >= GATHER_FROM
            {
                let deadline = Instant::now() + (last_commit / 4).min(GATHER_MAX);
                while group.len() < target {
                    let left = deadline.saturating_duration_since(Instant::now());
                    match queue.recv_timeout(left) {
                        Ok(op) if op.is_exclusive() => {
                            pending = Some(op);
                            break;
                        }
                        Ok(op) => group.push(op),
                        Err(_) => break,
                    }
                }
            }
            outcomes.clear();
            let started = Instant::now();
            let result = commit_group(&self.conn, &group, &mut outcomes);
            last_commit = started.elapsed();
            last_len = group.len();
            match result {
                Ok(()) => {
                    for (op, outcome) in group.drain(..).zip(outcomes.drain(..)) {
                        op.resolve(outcome);
                    }
                }
                Err(e) => {
                    let e = classify(&self.path, "commit", e);
                    tracing::warn!(
                        path = %self.path.display(), writes = group.len(), error = %e,
                        "A group commit failed; none of its writes was applied."
                    );
                    for op in group.drain(..) {
                        op.fail(copy(&e));
                    }
                }
            }
        }
    }

    fn exclusive(&self, op: Op) {
        match op {
            Op::Migrate(tx) => {
                let _ = tx.send(schema::migrate(&self.conn, &self.path));
            }
            #[cfg(test)]
            Op::Hold(release) => {
                let _ = release.recv();
            }
            #[cfg(test)]
            Op::Crash => panic!("sqlite writer: crash requested by a test"),
            other => other.fail(StoreError::Database(
                "sqlite writer: grouped operation run alone".into(),
            )),
        }
    }
}

/// Logs when the writer thread unwinds: every later write fails with "writer stopped".
struct DeathAlarm<'a>(&'a Path);

impl Drop for DeathAlarm<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            tracing::error!(
                path = %self.0.display(),
                "The SQLite writer thread died; the store accepts no more writes until restarted."
            );
        }
    }
}

/// A store error for one more submitter of a failed group.
fn copy(e: &StoreError) -> StoreError {
    match e {
        StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
        StoreError::Database(m) => StoreError::Database(m.clone()),
        StoreError::Schema(m) => StoreError::Schema(m.clone()),
        StoreError::Url { url, reason } => StoreError::Url {
            url: url.clone(),
            reason: reason.clone(),
        },
    }
}

/// Applies `ops` in order in one transaction; on success `outcomes` has one entry per op. On
/// error the transaction is rolled back: nothing of the group is applied.
fn commit_group(
    conn: &Connection,
    ops: &[Op],
    outcomes: &mut Vec<Outcome>,
) -> rusqlite::Result<()> {
    conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
    let result = ops
        .iter()
        .try_for_each(|op| {
            outcomes.push(apply(conn, op)?);
            Ok(())
        })
        .and_then(|()| conn.prepare_cached("COMMIT")?.execute([]).map(drop));
    if result.is_err()
        && !conn.is_autocommit()
        && let Err(e) = conn.execute_batch("ROLLBACK")
    {
        tracing::warn!(error = %e, "Rolling back a failed group commit failed.");
    }
    result
}

const PUT_INSTANCE: &str = "INSERT OR REPLACE INTO instances \
    (id, process, version, status, created_ms, modified_ms, step, state, waits, fault) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
const DELETE_JOBS_OF: &str = "DELETE FROM jobs WHERE instance = ?1";
const DELETE_JOB: &str = "DELETE FROM jobs WHERE id = ?1";
const ADD_JOB: &str = "INSERT INTO jobs \
    (id, due_ms, node, instance, process, version, kind, details, retries, parked, last_error) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
const ADD_EVENT: &str = "INSERT INTO events \
    (instance, process, version, step, ts_ms, kind, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
const PARK_MESSAGE: &str = "INSERT INTO messages \
    (id, process, version, partner_link, operation, body, received_ms, expires_ms) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
const DELETE_MESSAGE: &str = "DELETE FROM messages WHERE id = ?1";
const RESERVE_IDS: &str =
    "UPDATE id_counter SET next = next + ?1 WHERE name = 'ids' RETURNING next - ?1";
const JOB_FAILED: &str =
    "UPDATE jobs SET retries = ?2, due_ms = ?3, parked = ?4, last_error = ?5 WHERE id = ?1";
const DELETE_INSTANCE: &str = "DELETE FROM instances WHERE id = ?1";
const DELETE_EVENTS_OF: &str = "DELETE FROM events WHERE instance = ?1";
const HEARTBEAT: &str = "INSERT INTO nodes (id, heartbeat_ms) VALUES (?1, ?2) \
    ON CONFLICT (id) DO UPDATE SET heartbeat_ms = excluded.heartbeat_ms";

fn apply(conn: &Connection, op: &Op) -> rusqlite::Result<Outcome> {
    match op {
        Op::Step(write, _) => {
            apply_step(conn, write)?;
            Ok(Outcome::Done)
        }
        Op::ReserveIds(count, _) => {
            let first = conn
                .prepare_cached(RESERVE_IDS)?
                .query_row([count], |r| r.get(0))?;
            Ok(Outcome::Id(first))
        }
        Op::JobFailed(f, _) => {
            conn.prepare_cached(JOB_FAILED)?
                .execute(params![f.id, f.retries, f.due_ms, f.park, f.error])?;
            Ok(Outcome::Done)
        }
        Op::DeleteInstance(id, _) => {
            let found = conn.prepare_cached(DELETE_INSTANCE)?.execute([id])? > 0;
            conn.prepare_cached(DELETE_JOBS_OF)?.execute([id])?;
            conn.prepare_cached(DELETE_EVENTS_OF)?.execute([id])?;
            Ok(Outcome::Found(found))
        }
        Op::Heartbeat(node, now_ms, _) => {
            conn.prepare_cached(HEARTBEAT)?
                .execute(params![node, now_ms])?;
            Ok(Outcome::Done)
        }
        Op::Migrate(_) => Err(rusqlite::Error::InvalidQuery),
        #[cfg(test)]
        Op::Hold(_) | Op::Crash => Err(rusqlite::Error::InvalidQuery),
    }
}

/// One step's writes, in the order that lets a step end an instance and clear its jobs at once.
fn apply_step(conn: &Connection, w: &StepWrite) -> rusqlite::Result<()> {
    if let Some(i) = &w.instance {
        conn.prepare_cached(PUT_INSTANCE)?.execute(params![
            i.id,
            i.process,
            i.version,
            i.status.as_str(),
            i.created_ms,
            i.modified_ms,
            i.step,
            i.state,
            i.waits,
            i.fault,
        ])?;
    }
    if let Some(instance) = w.delete_jobs_of {
        conn.prepare_cached(DELETE_JOBS_OF)?.execute([instance])?;
    }
    if !w.delete_jobs.is_empty() {
        let mut st = conn.prepare_cached(DELETE_JOB)?;
        for id in &w.delete_jobs {
            st.execute([id])?;
        }
    }
    if !w.add_jobs.is_empty() {
        let mut st = conn.prepare_cached(ADD_JOB)?;
        for j in &w.add_jobs {
            st.execute(params![
                j.id,
                j.due_ms,
                j.node,
                j.instance,
                j.process,
                j.version,
                j.kind.as_str(),
                j.details,
                j.retries,
                j.parked,
                j.last_error,
            ])?;
        }
    }
    if !w.events.is_empty() {
        let mut st = conn.prepare_cached(ADD_EVENT)?;
        for e in &w.events {
            st.execute(params![
                e.instance, e.process, e.version, e.step, e.ts_ms, e.kind, e.body
            ])?;
        }
    }
    if !w.park_messages.is_empty() {
        let mut st = conn.prepare_cached(PARK_MESSAGE)?;
        for m in &w.park_messages {
            st.execute(params![
                m.id,
                m.process,
                m.version,
                m.partner_link,
                m.operation,
                m.body,
                m.received_ms,
                m.expires_ms,
            ])?;
        }
    }
    if !w.delete_messages.is_empty() {
        let mut st = conn.prepare_cached(DELETE_MESSAGE)?;
        for id in &w.delete_messages {
            st.execute([id])?;
        }
    }
    if let Some(instance) = w.purge_events_of {
        conn.prepare_cached(DELETE_EVENTS_OF)?.execute([instance])?;
    }
    if let Some(instance) = w.purge_instance {
        conn.prepare_cached(DELETE_INSTANCE)?.execute([instance])?;
    }
    Ok(())
}
