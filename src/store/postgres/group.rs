//! Group commit (DESIGN decision 2): one writer task applies the queued writes in groups,
//! each group in ONE transaction.
//!
//! A group is cut into batches: runs of consecutive writes whose rows can be applied one
//! statement per table (arrays through `UNNEST`) with the same result as applying the writes
//! one after another. The statements of every batch, between BEGIN and COMMIT, are pipelined
//! on one connection: sent back to back, answered in one round trip.

use std::collections::{BTreeMap, HashSet};
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use tokio::sync::mpsc;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Statement};

use super::{Conn, Pending, Shared, same_error};
use crate::store::{EventRecord, InstanceRecord, Job, ParkedMessage, StepWrite, StoreError};

const UPSERT_INSTANCES: &str = "INSERT INTO instances \
     (id, process, version, status, created_ms, modified_ms, step, state, waits, fault) \
     SELECT * FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::BIGINT[], $4::TEXT[], $5::BIGINT[], \
     $6::BIGINT[], $7::BIGINT[], $8::BYTEA[], $9::BYTEA[], $10::TEXT[]) \
     ON CONFLICT (id) DO UPDATE SET process = EXCLUDED.process, version = EXCLUDED.version, \
     status = EXCLUDED.status, created_ms = EXCLUDED.created_ms, \
     modified_ms = EXCLUDED.modified_ms, step = EXCLUDED.step, state = EXCLUDED.state, \
     waits = EXCLUDED.waits, fault = EXCLUDED.fault";
const DELETE_JOBS: &str =
    "DELETE FROM jobs WHERE id = ANY($1::BIGINT[]) OR instance = ANY($2::BIGINT[])";
const INSERT_JOBS: &str = "INSERT INTO jobs \
     (id, due_ms, node, instance, process, version, kind, details, retries, parked, last_error) \
     SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::TEXT[], $4::BIGINT[], $5::TEXT[], \
     $6::BIGINT[], $7::TEXT[], $8::BYTEA[], $9::INT[], $10::BOOLEAN[], $11::TEXT[])";
// Rows reach the insert in `ord` order, so `seq` numbers them in emission order.
const INSERT_EVENTS: &str = "INSERT INTO events \
     (instance, process, version, step, ts_ms, kind, body) \
     SELECT instance, process, version, step, ts_ms, kind, body \
     FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::BIGINT[], $4::BIGINT[], $5::BIGINT[], \
     $6::TEXT[], $7::BYTEA[]) \
     WITH ORDINALITY AS e(instance, process, version, step, ts_ms, kind, body, ord) \
     ORDER BY ord";
const INSERT_MESSAGES: &str = "INSERT INTO messages \
     (id, process, version, partner_link, operation, body, received_ms, expires_ms) \
     SELECT * FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::BIGINT[], $4::TEXT[], $5::TEXT[], \
     $6::BYTEA[], $7::BIGINT[], $8::BIGINT[])";
const DELETE_MESSAGES: &str = "DELETE FROM messages WHERE id = ANY($1::BIGINT[])";
const PURGE_EVENTS: &str = "DELETE FROM events WHERE instance = ANY($1::BIGINT[])";
const PURGE_INSTANCES: &str = "DELETE FROM instances WHERE id = ANY($1::BIGINT[])";

/// The group-commit loop; ends when the store is dropped and the queue is drained.
pub(super) async fn writer(
    sh: Arc<Shared>,
    mut queue: mpsc::UnboundedReceiver<Pending>,
    max_group: usize,
) {
    let mut group: Vec<Pending> = Vec::with_capacity(max_group.min(1024));
    while let Some(first) = queue.recv().await {
        group.push(first);
        while group.len() < max_group {
            match queue.try_recv() {
                Ok(p) => group.push(p),
                Err(_) => break,
            }
        }
        let result = sh.bounded(apply_group(&sh, &group)).await;
        if let Err(e) = &result {
            tracing::warn!(host = %sh.host, writes = group.len(), error = %e,
                "group commit failed");
        }
        for p in group.drain(..) {
            // A caller that stopped waiting does not care.
            let _ = p.done.send(result.as_ref().map(|_| ()).map_err(same_error));
        }
    }
}

/// A run of writes applied as one statement per table, in this order: instances, job
/// deletions, new jobs, events, parked messages, message deletions, `<cleanup>` purges — the
/// order of the parts of one write.
#[derive(Default)]
struct Batch<'a> {
    /// The last row of each instance (a later step replaces the row anyway), by id so that
    /// concurrent writers lock rows in one order.
    instances: BTreeMap<i64, &'a InstanceRecord>,
    delete_job_ids: Vec<i64>,
    delete_jobs_of: Vec<i64>,
    add_jobs: Vec<&'a Job>,
    events: Vec<&'a EventRecord>,
    park_messages: Vec<&'a ParkedMessage>,
    delete_messages: Vec<i64>,
    /// `<cleanup>` deletions, applied after everything else of the batch.
    purge_events_of: Vec<i64>,
    purge_instances: Vec<i64>,
    /// Jobs added by the batch (ids and instances) and messages deleted by it: what a later
    /// write may not touch without ending the batch (see [`Batch::conflicts`]).
    added_job_ids: HashSet<i64>,
    added_job_instances: HashSet<i64>,
    deleted_messages: HashSet<i64>,
    /// Instances whose row or events the batch purges.
    purged: HashSet<i64>,
}

impl<'a> Batch<'a> {
    /// Whether applying `w` within this batch would differ from applying it after the
    /// batch. Batching moves `w`'s job deletions before the batch's earlier job insertions,
    /// and the batch's earlier message deletions after `w`'s parked messages; that is the
    /// same unless they concern the same rows. Everything else keeps its relative order or
    /// commutes (inserts of distinct rows, deletions, instance rows of which the last wins).
    fn conflicts(&self, w: &StepWrite) -> bool {
        w.delete_jobs
            .iter()
            .any(|id| self.added_job_ids.contains(id))
            || w.delete_jobs_of
                .is_some_and(|i| self.added_job_instances.contains(&i))
            || w.park_messages
                .iter()
                .any(|m| self.deleted_messages.contains(&m.id))
            // Purges run last in a batch: a later write of a purged instance (none is
            // expected, it has ended) must not be purged with it.
            || (!self.purged.is_empty()
                && (w.instance.as_ref().is_some_and(|r| self.purged.contains(&r.id))
                    || w.events.iter().any(|e| {
                        e.instance.is_some_and(|i| self.purged.contains(&i))
                    })))
    }

    fn add(&mut self, w: &'a StepWrite) {
        if let Some(r) = &w.instance {
            self.instances.insert(r.id, r);
        }
        self.delete_jobs_of.extend(w.delete_jobs_of);
        self.delete_job_ids.extend(&w.delete_jobs);
        for j in &w.add_jobs {
            self.added_job_ids.insert(j.id);
            self.added_job_instances.extend(j.instance);
            self.add_jobs.push(j);
        }
        self.events.extend(&w.events);
        self.park_messages.extend(&w.park_messages);
        self.delete_messages.extend(&w.delete_messages);
        self.deleted_messages.extend(&w.delete_messages);
        self.purge_events_of.extend(w.purge_events_of);
        self.purge_instances.extend(w.purge_instance);
        self.purged.extend(w.purge_events_of);
        self.purged.extend(w.purge_instance);
    }
}

/// The group cut into batches, in order.
fn batches(group: &[Pending]) -> Vec<Batch<'_>> {
    let mut out: Vec<Batch<'_>> = vec![Batch::default()];
    for p in group {
        if out.last().is_some_and(|b| b.conflicts(&p.write)) {
            out.push(Batch::default());
        }
        if let Some(b) = out.last_mut() {
            b.add(&p.write);
        }
    }
    out
}

/// The write statements, prepared once per connection.
struct WriteStatements {
    upsert_instances: Statement,
    delete_jobs: Statement,
    insert_jobs: Statement,
    insert_events: Statement,
    insert_messages: Statement,
    delete_messages: Statement,
    purge_events: Statement,
    purge_instances: Statement,
}

impl WriteStatements {
    async fn prepare(sh: &Shared, conn: &Conn) -> Result<Self, StoreError> {
        let p = "preparing the write statements";
        Ok(WriteStatements {
            upsert_instances: sh.prepare(conn, UPSERT_INSTANCES, p).await?,
            delete_jobs: sh.prepare(conn, DELETE_JOBS, p).await?,
            insert_jobs: sh.prepare(conn, INSERT_JOBS, p).await?,
            insert_events: sh.prepare(conn, INSERT_EVENTS, p).await?,
            insert_messages: sh.prepare(conn, INSERT_MESSAGES, p).await?,
            delete_messages: sh.prepare(conn, DELETE_MESSAGES, p).await?,
            purge_events: sh.prepare(conn, PURGE_EVENTS, p).await?,
            purge_instances: sh.prepare(conn, PURGE_INSTANCES, p).await?,
        })
    }
}

/// One statement of a group's pipeline.
type Op<'a> = Pin<Box<dyn Future<Output = Result<(), tokio_postgres::Error>> + Send + 'a>>;

/// A boxed statement parameter borrowing from the group.
type Param<'a> = Box<dyn ToSql + Sync + Send + 'a>;

/// Executes `stmt`; the statement is sent on the future's first poll (see [`pipeline`]).
fn op<'a, const N: usize>(
    client: &'a Client,
    stmt: &'a Statement,
    params: [Param<'a>; N],
) -> Op<'a> {
    Box::pin(async move { client.execute_raw(stmt, params).await.map(drop) })
}

/// One column of `rows` as an array parameter.
fn col<'a, T, U>(rows: &[&'a T], f: impl Fn(&'a T) -> U) -> Param<'a>
where
    Vec<U>: ToSql + Sync + Send + 'a,
{
    Box::new(rows.iter().map(|r| f(r)).collect::<Vec<U>>())
}

/// The statements of one batch, in order, with what each one does (for errors).
fn batch_ops<'a>(
    client: &'a Client,
    st: &'a WriteStatements,
    b: &'a Batch<'a>,
    ops: &mut Vec<Op<'a>>,
    purposes: &mut Vec<&'static str>,
) {
    if !b.instances.is_empty() {
        let rows: Vec<&InstanceRecord> = b.instances.values().copied().collect();
        ops.push(op(
            client,
            &st.upsert_instances,
            [
                col(&rows, |r| r.id),
                col(&rows, |r| r.process.as_str()),
                col(&rows, |r| r.version),
                col(&rows, |r| r.status.as_str()),
                col(&rows, |r| r.created_ms),
                col(&rows, |r| r.modified_ms),
                col(&rows, |r| r.step),
                col(&rows, |r| r.state.as_deref()),
                col(&rows, |r| r.waits.as_deref()),
                col(&rows, |r| r.fault.as_deref()),
            ],
        ));
        purposes.push("writing instances");
    }
    if !b.delete_job_ids.is_empty() || !b.delete_jobs_of.is_empty() {
        ops.push(op(
            client,
            &st.delete_jobs,
            [Box::new(&b.delete_job_ids), Box::new(&b.delete_jobs_of)],
        ));
        purposes.push("deleting jobs");
    }
    if !b.add_jobs.is_empty() {
        let rows = b.add_jobs.as_slice();
        ops.push(op(
            client,
            &st.insert_jobs,
            [
                col(rows, |j| j.id),
                col(rows, |j| j.due_ms),
                col(rows, |j| j.node.as_deref()),
                col(rows, |j| j.instance),
                col(rows, |j| j.process.as_str()),
                col(rows, |j| j.version),
                col(rows, |j| j.kind.as_str()),
                col(rows, |j| j.details.as_slice()),
                col(rows, |j| j.retries),
                col(rows, |j| j.parked),
                col(rows, |j| j.last_error.as_deref()),
            ],
        ));
        purposes.push("adding jobs");
    }
    if !b.events.is_empty() {
        let rows = b.events.as_slice();
        ops.push(op(
            client,
            &st.insert_events,
            [
                col(rows, |e| e.instance),
                col(rows, |e| e.process.as_str()),
                col(rows, |e| e.version),
                col(rows, |e| e.step),
                col(rows, |e| e.ts_ms),
                col(rows, |e| e.kind.as_str()),
                col(rows, |e| e.body.as_slice()),
            ],
        ));
        purposes.push("adding events");
    }
    if !b.park_messages.is_empty() {
        let rows = b.park_messages.as_slice();
        ops.push(op(
            client,
            &st.insert_messages,
            [
                col(rows, |m| m.id),
                col(rows, |m| m.process.as_str()),
                col(rows, |m| m.version),
                col(rows, |m| m.partner_link.as_str()),
                col(rows, |m| m.operation.as_str()),
                col(rows, |m| m.body.as_slice()),
                col(rows, |m| m.received_ms),
                col(rows, |m| m.expires_ms),
            ],
        ));
        purposes.push("parking messages");
    }
    if !b.delete_messages.is_empty() {
        ops.push(op(
            client,
            &st.delete_messages,
            [Box::new(&b.delete_messages)],
        ));
        purposes.push("deleting parked messages");
    }
    if !b.purge_events_of.is_empty() {
        ops.push(op(client, &st.purge_events, [Box::new(&b.purge_events_of)]));
        purposes.push("purging events (cleanup)");
    }
    if !b.purge_instances.is_empty() {
        ops.push(op(
            client,
            &st.purge_instances,
            [Box::new(&b.purge_instances)],
        ));
        purposes.push("purging instances (cleanup)");
    }
}

/// Applies a group of writes in one transaction; all or nothing.
async fn apply_group(sh: &Shared, group: &[Pending]) -> Result<(), StoreError> {
    let conn = sh.conn().await?;
    let st = WriteStatements::prepare(sh, &conn).await?;
    let batches = batches(group);
    let client: &Client = &conn;
    let mut ops: Vec<Op<'_>> = Vec::with_capacity(2 + 6 * batches.len());
    let mut purposes: Vec<&'static str> = Vec::with_capacity(ops.capacity());
    ops.push(Box::pin(client.batch_execute("BEGIN")));
    purposes.push("starting a transaction");
    for b in &batches {
        batch_ops(client, &st, b, &mut ops, &mut purposes);
    }
    ops.push(Box::pin(client.batch_execute("COMMIT")));
    purposes.push("committing");

    match pipeline(ops).await {
        Ok(()) => {
            conn.release();
            Ok(())
        }
        // `conn` is dropped unreleased: closing it rolls back whatever was applied.
        Err((i, e)) => Err(sh.pg_error(
            &format!("{} (group of {} writes)", purposes[i], group.len()),
            &e,
        )),
    }
}

/// Runs the statements of one connection as a pipeline, in order.
///
/// tokio-postgres sends a statement's messages on its future's first poll (given an already
/// prepared [`Statement`]), so polling every future once, in index order, queues them on the
/// connection in that order, and the server answers in that order. Once a statement has
/// failed, the ones not yet sent (so the COMMIT) never are. Returns the index of the first
/// failure.
async fn pipeline(ops: Vec<Op<'_>>) -> Result<(), (usize, tokio_postgres::Error)> {
    let mut ops: Vec<Option<Op<'_>>> = ops.into_iter().map(Some).collect();
    let mut started = 0;
    let mut head = 0;
    poll_fn(|cx| {
        while started < ops.len() {
            let i = started;
            started += 1;
            if let Some(op) = &mut ops[i]
                && let Poll::Ready(r) = op.as_mut().poll(cx)
            {
                ops[i] = None;
                if let Err(e) = r {
                    return Poll::Ready(Err((i, e)));
                }
            }
        }
        // Answers arrive in order, so only the earliest unanswered statement needs polling.
        while head < ops.len() {
            let Some(op) = &mut ops[head] else {
                head += 1;
                continue;
            };
            match op.as_mut().poll(cx) {
                Poll::Ready(Ok(())) => {
                    ops[head] = None;
                    head += 1;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err((head, e))),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    })
    .await
}
