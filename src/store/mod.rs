//! Persistence (DESIGN §2 `store`, decisions 2–4): instances, their waits, durable jobs, parked
//! messages and events, behind one trait with two backends, SQLite (the default, embedded)
//! and PostgreSQL.
//!
//! The store does not understand instance state: the router hands it opaque serialized blobs
//! (`state`, `waits`, job `details`), so the backends stay plain tables and indexes.
//!
//! One [`StepWrite`] is one step of one instance (or one parked message): the backends commit
//! concurrent writes in groups (group commit), in the order they were submitted, and resolve
//! each write's future once its group is durable.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

#[cfg(test)]
pub(crate) mod contract;
pub mod filter;
pub mod open;
pub mod postgres;
pub mod sqlite;

/// A boxed, sendable future (the trait is object-safe).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Errors of the persistence layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or the connection broke (retryable).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database answered with an error.
    #[error("database error: {0}")]
    Database(String),
    /// The schema is missing or of another version.
    #[error("database schema: {0}")]
    Schema(String),
    /// The configured URL is not understood.
    #[error("database url {url:?}: {reason}")]
    Url {
        /// The URL as configured.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Instance status as stored (ODE's states, FEATURES.md §3c).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InstanceStatus {
    /// Running or waiting.
    Active,
    /// Suspended by an operator (or waiting for activity recovery).
    Suspended,
    /// Completed normally.
    Completed,
    /// Completed with an uncaught fault (ODE COMPLETED_WITH_FAULT, filter `failed`).
    Faulted,
    /// Terminated (`exit` or an operator).
    Terminated,
}

impl InstanceStatus {
    /// The text stored in the `status` column.
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceStatus::Active => "active",
            InstanceStatus::Suspended => "suspended",
            InstanceStatus::Completed => "completed",
            InstanceStatus::Faulted => "faulted",
            InstanceStatus::Terminated => "terminated",
        }
    }

    /// Parses the `status` column.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "active" => InstanceStatus::Active,
            "suspended" => InstanceStatus::Suspended,
            "completed" => InstanceStatus::Completed,
            "faulted" => InstanceStatus::Faulted,
            "terminated" => InstanceStatus::Terminated,
            _ => return None,
        })
    }

    /// Completed, faulted or terminated: nothing left to run.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            InstanceStatus::Completed | InstanceStatus::Faulted | InstanceStatus::Terminated
        )
    }
}

/// One row of `instances`: everything needed to resume an instance.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceRecord {
    /// Instance id (allocated with [`Store::reserve_ids`]).
    pub id: i64,
    /// Process QName in Clark notation `{ns}local`.
    pub process: String,
    /// Process version.
    pub version: i64,
    /// Status.
    pub status: InstanceStatus,
    /// Creation time, epoch milliseconds.
    pub created_ms: i64,
    /// Time of the last committed step, epoch milliseconds.
    pub modified_ms: i64,
    /// Number of steps committed so far (events carry it).
    pub step: i64,
    /// Serialized runtime state; `None` once the instance is final (nothing to resume).
    pub state: Option<Vec<u8>>,
    /// Serialized subscription-index entries (what the instance waits for); `None` when it
    /// waits for no message.
    pub waits: Option<Vec<u8>>,
    /// The uncaught fault's QName (Clark notation) of a faulted instance.
    pub fault: Option<String>,
}

/// What an instance waits for, as loaded at start-up to rebuild the routing index.
#[derive(Clone, Debug, PartialEq)]
pub struct WaitingInstance {
    /// Instance id.
    pub id: i64,
    /// Process QName, Clark notation.
    pub process: String,
    /// Process version.
    pub version: i64,
    /// Status (active or suspended).
    pub status: InstanceStatus,
    /// The serialized index entries, as written.
    pub waits: Option<Vec<u8>>,
}

/// Kinds of durable jobs (ODE's `Scheduler.JobType`, FEATURES.md §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    /// A `wait`/`onAlarm` timer of an instance.
    Timer,
    /// An outbound invoke (the outbox): sent after commit, re-sent after a crash or a failure.
    Invoke,
    /// Resume an instance (management resume, recovery after a crash).
    Resume,
    /// A parked inbound message expires.
    Expire,
}

impl JobKind {
    /// The text stored in the `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Timer => "timer",
            JobKind::Invoke => "invoke",
            JobKind::Resume => "resume",
            JobKind::Expire => "expire",
        }
    }

    /// Parses the `kind` column.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "timer" => JobKind::Timer,
            "invoke" => JobKind::Invoke,
            "resume" => JobKind::Resume,
            "expire" => JobKind::Expire,
            _ => return None,
        })
    }
}

/// One row of `jobs` (ODE_JOB).
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    /// Job id (allocated with [`Store::reserve_ids`]).
    pub id: i64,
    /// When it is due, epoch milliseconds.
    pub due_ms: i64,
    /// The node that owns it (`None`: any node may take it).
    pub node: Option<String>,
    /// The instance it acts on.
    pub instance: Option<i64>,
    /// Process QName (Clark notation) and version.
    pub process: String,
    /// Process version.
    pub version: i64,
    /// What to do.
    pub kind: JobKind,
    /// Serialized details (alarm id, invoke request, ...), opaque to the store.
    pub details: Vec<u8>,
    /// Failed attempts so far.
    pub retries: i32,
    /// Given up on after too many failures: kept for operators, never run again by itself.
    pub parked: bool,
    /// The last failure's reason.
    pub last_error: Option<String>,
}

/// An inbound one-way message that matched no instance yet (DESIGN decision 3): acknowledged
/// only once parked, matched later, dropped at `expires_ms`.
#[derive(Clone, Debug, PartialEq)]
pub struct ParkedMessage {
    /// Message id (allocated with [`Store::reserve_ids`]).
    pub id: i64,
    /// Process QName (Clark notation).
    pub process: String,
    /// Process version whose endpoint received it.
    pub version: i64,
    /// Partner link name.
    pub partner_link: String,
    /// Operation name.
    pub operation: String,
    /// The message (message form), serialized XML.
    pub body: Vec<u8>,
    /// Arrival, epoch milliseconds.
    pub received_ms: i64,
    /// Expiry, epoch milliseconds.
    pub expires_ms: i64,
}

/// One stored execution event.
#[derive(Clone, Debug, PartialEq)]
pub struct EventRecord {
    /// The instance (`None` for process-level events such as CorrelationNoMatch).
    pub instance: Option<i64>,
    /// Process QName (Clark notation) and version.
    pub process: String,
    /// Process version.
    pub version: i64,
    /// The instance step that emitted it.
    pub step: i64,
    /// Event time, epoch milliseconds.
    pub ts_ms: i64,
    /// ODE event type name (`ActivityExecStartEvent`, ...).
    pub kind: String,
    /// The event, serialized JSON.
    pub body: Vec<u8>,
}

/// Everything one step commits, atomically (DESIGN decision 2).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepWrite {
    /// The instance's new row (insert or replace).
    pub instance: Option<InstanceRecord>,
    /// New jobs (timers, outbox entries, resumes).
    pub add_jobs: Vec<Job>,
    /// Jobs done (by id).
    pub delete_jobs: Vec<i64>,
    /// Delete every job of this instance (it ended).
    pub delete_jobs_of: Option<i64>,
    /// Events of the step.
    pub events: Vec<EventRecord>,
    /// Messages parked by this step.
    pub park_messages: Vec<ParkedMessage>,
    /// Parked messages consumed or expired (by id).
    pub delete_messages: Vec<i64>,
    /// Delete this instance's row after the writes above (deploy.xml `<cleanup>` of the
    /// `instance` category, in the step that ends it).
    pub purge_instance: Option<i64>,
    /// Delete every stored event of this instance after the writes above (`<cleanup>` of the
    /// `events` category).
    pub purge_events_of: Option<i64>,
}

impl StepWrite {
    /// Nothing to write.
    pub fn is_empty(&self) -> bool {
        self.instance.is_none()
            && self.add_jobs.is_empty()
            && self.delete_jobs.is_empty()
            && self.delete_jobs_of.is_none()
            && self.events.is_empty()
            && self.park_messages.is_empty()
            && self.delete_messages.is_empty()
            && self.purge_instance.is_none()
            && self.purge_events_of.is_none()
    }
}

/// A job failed: what to record.
#[derive(Clone, Debug, PartialEq)]
pub struct JobFailure {
    /// The job.
    pub id: i64,
    /// Its new retry count.
    pub retries: i32,
    /// When to try again.
    pub due_ms: i64,
    /// Give up: keep it for operators.
    pub park: bool,
    /// Why it failed.
    pub error: String,
}

/// Which instances to list (a subset of ODE's instance filter, FEATURES.md §3b).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InstanceQuery {
    /// Only these statuses (empty: all).
    pub status: Vec<InstanceStatus>,
    /// Only this process QName (Clark notation).
    pub process: Option<String>,
    /// Only this version.
    pub version: Option<i64>,
    /// Only these ids (empty: all).
    pub ids: Vec<i64>,
    /// Created at or after (epoch ms).
    pub created_from: Option<i64>,
    /// Created before (epoch ms).
    pub created_before: Option<i64>,
    /// Most rows to return (0: no limit).
    pub limit: usize,
}

/// An instance as listed (no state blob).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InstanceSummary {
    /// Instance id.
    pub id: i64,
    /// Process QName, Clark notation.
    pub process: String,
    /// Process version.
    pub version: i64,
    /// Status.
    pub status: InstanceStatus,
    /// Creation time, epoch ms.
    pub created_ms: i64,
    /// Last step, epoch ms.
    pub modified_ms: i64,
    /// Uncaught fault of a faulted instance.
    pub fault: Option<String>,
}

/// How to open a backend.
#[derive(Clone, Debug, PartialEq)]
pub struct OpenOptions {
    /// Most pooled connections (PostgreSQL; SQLite reader connections).
    pub pool_size: u32,
    /// Timeout to establish a connection.
    pub connect_timeout: std::time::Duration,
    /// Timeout of one statement (PostgreSQL `statement_timeout`, SQLite busy timeout).
    pub statement_timeout: std::time::Duration,
    /// SQLite `synchronous=FULL` (true) or `NORMAL` (false).
    pub sqlite_full_sync: bool,
    /// Most writes grouped into one commit.
    pub max_group: usize,
    /// Apply pending schema migrations when opening; when false, a missing or older schema
    /// is an error ([`StoreError::Schema`]) that names `bpelgate db migrate`.
    pub migrate: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            pool_size: 8,
            connect_timeout: std::time::Duration::from_secs(5),
            statement_timeout: std::time::Duration::from_secs(30),
            sqlite_full_sync: true,
            max_group: 512,
            migrate: true,
        }
    }
}

/// The result of applying migrations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaReport {
    /// Schema version before.
    pub from: u32,
    /// Schema version after.
    pub to: u32,
}

/// The persistence backend.
///
/// Every method is safe to call concurrently. Writes submitted with [`Store::commit`] become
/// durable in submission order; a failed group fails every write in it, and none of them is
/// applied.
pub trait Store: Send + Sync + 'static {
    /// Which backend (`sqlite`, `postgresql`), for logs and metrics.
    fn backend(&self) -> &'static str;

    /// Commits one step's writes (grouped with concurrent ones); resolves once durable.
    fn commit(&self, write: StepWrite) -> BoxFuture<'static, Result<(), StoreError>>;

    /// Reserves `count` fresh ids (instances, jobs, messages share one sequence); returns
    /// the first. Ids are never handed out twice, across restarts and nodes.
    fn reserve_ids(&self, count: i64) -> BoxFuture<'static, Result<i64, StoreError>>;

    /// One instance's row, with its state.
    fn load_instance(
        &self,
        id: i64,
    ) -> BoxFuture<'static, Result<Option<InstanceRecord>, StoreError>>;

    /// Every active or suspended instance, without state (start-up).
    fn waiting_instances(&self) -> BoxFuture<'static, Result<Vec<WaitingInstance>, StoreError>>;

    /// Jobs due before `before_ms` that `node` may run (its own and unowned ones), not parked,
    /// earliest first, at most `limit`.
    fn due_jobs(
        &self,
        node: &str,
        before_ms: i64,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<Job>, StoreError>>;

    /// Records a failed attempt of a job (retry later, or park it).
    fn job_failed(&self, failure: JobFailure) -> BoxFuture<'static, Result<(), StoreError>>;

    /// Parked (given-up) jobs, for operators.
    fn parked_jobs(&self) -> BoxFuture<'static, Result<Vec<Job>, StoreError>>;

    /// Every parked inbound message (start-up).
    fn parked_messages(&self) -> BoxFuture<'static, Result<Vec<ParkedMessage>, StoreError>>;

    /// Instances matching a query, newest first.
    fn instances(
        &self,
        query: InstanceQuery,
    ) -> BoxFuture<'static, Result<Vec<InstanceSummary>, StoreError>>;

    /// Events of one instance, in emission order.
    fn instance_events(
        &self,
        instance: i64,
    ) -> BoxFuture<'static, Result<Vec<EventRecord>, StoreError>>;

    /// Deletes an instance with its jobs and events; false when unknown.
    fn delete_instance(&self, id: i64) -> BoxFuture<'static, Result<bool, StoreError>>;

    /// Records that `node` is alive at `now_ms` (heartbeat).
    fn heartbeat(&self, node: &str, now_ms: i64) -> BoxFuture<'static, Result<(), StoreError>>;

    /// Checks the connection (health, reconnection probes).
    fn ping(&self) -> BoxFuture<'static, Result<(), StoreError>>;

    /// Applies pending schema migrations (`bpelgate db init|migrate`).
    fn migrate(&self) -> BoxFuture<'static, Result<SchemaReport, StoreError>>;
}

/// A shared store handle.
pub type SharedStore = Arc<dyn Store>;
