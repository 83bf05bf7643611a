//! PostgreSQL backend of the [`Store`] (DESIGN decisions 2 and 4).
//!
//! Connections come from a deadpool pool of `opts.pool_size` connections; each one sets
//! `statement_timeout` at start-up and keeps its prepared statements (`prepare_cached`).
//!
//! Writes go through one writer task (group commit, `group.rs`): it takes the first queued
//! [`StepWrite`], drains what is already queued (up to `max_group`), and applies the whole
//! group in ONE transaction, with the result of applying the writes in submission order:
//! one statement per table for runs of writes that do not interact, all statements sent back
//! to back between BEGIN and COMMIT and answered in one round trip. Every write of the group
//! then gets the same outcome.
//!
//! No TLS yet: connections are plain TCP or Unix sockets (`sslmode=require` is refused).

use std::future::Future;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{
    ClientWrapper, Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime,
    TimeoutType,
};
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row, Statement};

mod group;

use super::{
    BoxFuture, EventRecord, InstanceQuery, InstanceRecord, InstanceStatus, InstanceSummary, Job,
    JobFailure, JobKind, OpenOptions, ParkedMessage, SchemaReport, StepWrite, Store, StoreError,
    WaitingInstance,
};

/// The migration scripts, numbered; each records its own number in `schema_version`.
const MIGRATIONS: &[(u32, &str, &str)] = &[(
    1,
    "001_initial.sql",
    include_str!("../../../conf/dbscripts/postgresql/001_initial.sql"),
)];

/// The schema version this build works with.
const SCHEMA_VERSION: u32 = 1;

const JOB_COLUMNS: &str =
    "id, due_ms, node, instance, process, version, kind, details, retries, parked, last_error";

/// Serializes concurrent migrations of one schema (several nodes starting together); the key
/// is per schema so that unrelated schemas in one database do not wait for each other.
const MIGRATION_LOCK: &str = "SELECT pg_advisory_xact_lock(\
     hashtext('bpelgate.migrate:' || coalesce(current_schema(), '')))";

/// The PostgreSQL store. Cheap to share behind an `Arc`; dropping the last handle stops the
/// writer task once it has finished the queued writes.
///
/// Outcome of a failed [`Store::commit`]: [`StoreError::Database`] (a statement failed) means
/// the group was rolled back. [`StoreError::Unavailable`] means the connection broke or the
/// server did not answer in time; when that happened after the group's COMMIT had been sent,
/// the group may still have been applied (as with any client/server database): callers
/// must treat it as "not known to be durable", not as "not applied".
pub struct PgStore {
    shared: Arc<Shared>,
    writes: mpsc::UnboundedSender<Pending>,
}

/// What the writer task and the readers share.
struct Shared {
    pool: Pool,
    /// `host:port` (comma-separated when several), for error messages.
    host: String,
    /// Longest one operation may take before the connection is given up as unresponsive
    /// (`statement_timeout` only bounds what the server does; a server that stopped
    /// answering would otherwise hang the caller). `None` when `statement_timeout` is 0.
    deadline: Option<Duration>,
    connect_timeout: Duration,
}

/// A write waiting for its group.
struct Pending {
    write: StepWrite,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// Opens (and with `opts.migrate` migrates) the PostgreSQL database at `url`
/// (`postgres://user:pass@host:port/db?options=...` or the key=value form), and starts the
/// writer task. An unreachable server fails within `connect_timeout` with
/// [`StoreError::Unavailable`].
pub async fn open(url: &str, opts: &OpenOptions) -> Result<Arc<PgStore>, StoreError> {
    let url_error = |reason: String| StoreError::Url {
        url: redact_password(url),
        reason,
    };
    let mut cfg: tokio_postgres::Config = url.parse().map_err(|e| url_error(format!("{e}")))?;
    if cfg.get_hosts().is_empty() {
        return Err(url_error("no host given".into()));
    }
    if cfg.get_ssl_mode() == SslMode::Require {
        return Err(url_error(
            "sslmode=require: TLS connections are not supported yet".into(),
        ));
    }
    let host = host_label(&cfg);
    cfg.connect_timeout(opts.connect_timeout);
    let timeout_ms = opts.statement_timeout.as_millis();
    let options = match cfg.get_options() {
        Some(o) if !o.trim().is_empty() => format!("{o} -c statement_timeout={timeout_ms}"),
        _ => format!("-c statement_timeout={timeout_ms}"),
    };
    cfg.options(options);
    if cfg.get_application_name().is_none() {
        cfg.application_name("bpelgate");
    }

    let statement_timeout = (!opts.statement_timeout.is_zero()).then_some(opts.statement_timeout);
    let manager = Manager::from_config(
        cfg,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let pool = Pool::builder(manager)
        .max_size(usize::try_from(opts.pool_size.max(1)).unwrap_or(1))
        .runtime(Runtime::Tokio1)
        .create_timeout(Some(opts.connect_timeout))
        .recycle_timeout(Some(opts.connect_timeout))
        // A free connection turns up within a statement's time unless the pool is too small.
        .wait_timeout(statement_timeout)
        .build()
        .map_err(|e| StoreError::Database(format!("connection pool: {e}")))?;
    let shared = Arc::new(Shared {
        pool,
        host,
        deadline: statement_timeout.map(|s| opts.connect_timeout + s + s),
        connect_timeout: opts.connect_timeout,
    });

    if opts.migrate {
        shared.bounded(migrate(&shared)).await?;
    } else {
        let version = shared.bounded(current_version(&shared)).await?;
        check_version(version)?;
    }

    let (writes, queue) = mpsc::unbounded_channel();
    tokio::spawn(group::writer(shared.clone(), queue, opts.max_group.max(1)));
    Ok(Arc::new(PgStore { shared, writes }))
}

/// A missing or older schema is an error when not migrating.
fn check_version(version: u32) -> Result<(), StoreError> {
    match version {
        v if v == SCHEMA_VERSION => Ok(()),
        0 => Err(StoreError::Schema(
            "no bpelgate schema found (in the schema that search_path selects): \
             run `bpelgate db migrate` (or `bpelgate db init`)"
                .into(),
        )),
        v if v < SCHEMA_VERSION => Err(StoreError::Schema(format!(
            "schema version {v} is older than the {SCHEMA_VERSION} this bpelgate needs: \
             run `bpelgate db migrate`"
        ))),
        v => Err(newer_schema(v)),
    }
}

fn newer_schema(v: u32) -> StoreError {
    StoreError::Schema(format!(
        "schema version {v} is newer than the {SCHEMA_VERSION} this bpelgate knows: \
         upgrade bpelgate"
    ))
}

/// `host:port` of every configured host.
fn host_label(cfg: &tokio_postgres::Config) -> String {
    let ports = cfg.get_ports();
    cfg.get_hosts()
        .iter()
        .enumerate()
        .map(|(i, h)| {
            // libpq rule: one port for all hosts, or one per host.
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            match h {
                Host::Tcp(name) => format!("{name}:{port}"),
                #[cfg(unix)]
                Host::Unix(dir) => format!("{}/.s.PGSQL.{port}", dir.display()),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The URL with its password (if any) masked, for error messages.
fn redact_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        // key=value form: mask `password=...`.
        return url
            .split_whitespace()
            .map(|kv| {
                if kv.starts_with("password=") {
                    "password=***"
                } else {
                    kv
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rfind('@') {
        Some(at) => match authority[..at].find(':') {
            Some(colon) => format!(
                "{}{}:***{}",
                &url[..scheme_end + 3],
                &authority[..colon],
                &rest[at..]
            ),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// An error with its causes: tokio-postgres says "error connecting to server" and keeps the
/// reason ("Connection refused") in its source.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

/// A copy of an error, for every write of a failed group.
fn same_error(e: &StoreError) -> StoreError {
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

/// A pooled connection that goes back to the pool only through [`Conn::release`]: one
/// dropped on an error path or mid-operation (timeout, cancellation) may be inside a
/// transaction or hung, so it is closed instead (the server rolls back what was open).
struct Conn(Option<Object>);

impl Conn {
    fn release(mut self) {
        drop(self.0.take());
    }
}

impl Deref for Conn {
    type Target = ClientWrapper;
    fn deref(&self) -> &ClientWrapper {
        match &self.0 {
            Some(obj) => obj,
            // Only `release` and `drop` empty it, and both consume the value.
            None => unreachable!("connection used after release"),
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(obj) = self.0.take() {
            drop(Object::take(obj));
        }
    }
}

impl Shared {
    async fn conn(&self) -> Result<Conn, StoreError> {
        match self.pool.get().await {
            Ok(obj) => Ok(Conn(Some(obj))),
            Err(e) => Err(self.pool_error(e)),
        }
    }

    fn pool_error(&self, e: PoolError) -> StoreError {
        let host = &self.host;
        match e {
            PoolError::Timeout(TimeoutType::Wait) => StoreError::Unavailable(format!(
                "{host}: no free connection in the pool in time (pool-size too small?)"
            )),
            PoolError::Timeout(TimeoutType::Create) => StoreError::Unavailable(format!(
                "{host}: timed out connecting (connect-timeout {} ms)",
                self.connect_timeout.as_millis()
            )),
            PoolError::Timeout(TimeoutType::Recycle) => {
                StoreError::Unavailable(format!("{host}: timed out checking a pooled connection"))
            }
            PoolError::Backend(e) => self.pg_error("connecting", &e),
            PoolError::Closed => StoreError::Unavailable(format!("{host}: connection pool closed")),
            PoolError::NoRuntimeSpecified => {
                StoreError::Database("connection pool without a runtime".into())
            }
            PoolError::PostCreateHook(e) => {
                StoreError::Unavailable(format!("{host}: setting up a connection: {e}"))
            }
        }
    }

    /// Connection trouble (closed, IO, connection-class and operator SQLSTATEs such as a
    /// shutdown, `too_many_connections` or `statement_timeout`) is retryable
    /// ([`StoreError::Unavailable`]); anything else the server said is a
    /// [`StoreError::Database`] naming what was being done.
    fn pg_error(&self, purpose: &str, e: &tokio_postgres::Error) -> StoreError {
        let host = &self.host;
        if e.is_closed() {
            return StoreError::Unavailable(format!("{host}: connection closed while {purpose}"));
        }
        if let Some(db) = e.as_db_error() {
            let code = db.code().code();
            let mut msg = format!("{purpose}: {} (SQLSTATE {code})", db.message());
            if let Some(detail) = db.detail() {
                msg.push_str(": ");
                msg.push_str(detail);
            }
            return if ["08", "53", "57"]
                .iter()
                .any(|class| code.starts_with(class))
            {
                StoreError::Unavailable(format!("{host}: {msg}"))
            } else {
                StoreError::Database(msg)
            };
        }
        let io = std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>());
        if io {
            StoreError::Unavailable(format!("{host}: {purpose}: {}", with_causes(e)))
        } else {
            StoreError::Database(format!("{purpose}: {}", with_causes(e)))
        }
    }

    /// Runs `op` within [`Shared::deadline`].
    async fn bounded<T>(
        &self,
        op: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        match self.deadline {
            None => op.await,
            Some(limit) => match tokio::time::timeout(limit, op).await {
                Ok(r) => r,
                Err(_) => Err(StoreError::Unavailable(format!(
                    "{}: no answer within {} ms",
                    self.host,
                    limit.as_millis()
                ))),
            },
        }
    }

    async fn prepare(
        &self,
        conn: &Conn,
        sql: &str,
        purpose: &str,
    ) -> Result<Statement, StoreError> {
        conn.prepare_cached(sql)
            .await
            .map_err(|e| self.pg_error(purpose, &e))
    }

    /// One statement on a pooled connection.
    async fn query(
        &self,
        purpose: &str,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let conn = self.conn().await?;
        let stmt = self.prepare(&conn, sql, purpose).await?;
        let rows = conn
            .query(&stmt, params)
            .await
            .map_err(|e| self.pg_error(purpose, &e))?;
        conn.release();
        Ok(rows)
    }

    async fn execute(
        &self,
        purpose: &str,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        let conn = self.conn().await?;
        let stmt = self.prepare(&conn, sql, purpose).await?;
        let n = conn
            .execute(&stmt, params)
            .await
            .map_err(|e| self.pg_error(purpose, &e))?;
        conn.release();
        Ok(n)
    }
}

/// The schema version recorded in the database (0: no schema).
async fn schema_version(sh: &Shared, conn: &Conn) -> Result<u32, StoreError> {
    let purpose = "reading the schema version";
    let row = conn
        .query_one("SELECT to_regclass('schema_version') IS NOT NULL", &[])
        .await
        .map_err(|e| sh.pg_error(purpose, &e))?;
    let exists: bool = row.try_get(0).map_err(|e| sh.pg_error(purpose, &e))?;
    if !exists {
        return Ok(0);
    }
    let row = conn
        .query_one("SELECT coalesce(max(version), 0) FROM schema_version", &[])
        .await
        .map_err(|e| sh.pg_error(purpose, &e))?;
    let v: i32 = row.try_get(0).map_err(|e| sh.pg_error(purpose, &e))?;
    u32::try_from(v).map_err(|_| StoreError::Schema(format!("invalid schema version {v}")))
}

async fn current_version(sh: &Shared) -> Result<u32, StoreError> {
    let conn = sh.conn().await?;
    let v = schema_version(sh, &conn).await?;
    conn.release();
    Ok(v)
}

/// Applies the scripts above the recorded version, in one transaction holding the schema's
/// migration lock: a node that waited for another one's migration finds nothing to do.
async fn migrate(sh: &Shared) -> Result<SchemaReport, StoreError> {
    let conn = sh.conn().await?;
    let step = |purpose: &'static str| move |e: tokio_postgres::Error| sh.pg_error(purpose, &e);
    conn.batch_execute("BEGIN")
        .await
        .map_err(step("starting the migration"))?;
    conn.batch_execute(MIGRATION_LOCK)
        .await
        .map_err(step("taking the migration lock"))?;
    let from = schema_version(sh, &conn).await?;
    if from > SCHEMA_VERSION {
        return Err(newer_schema(from));
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > from) {
        conn.batch_execute(sql)
            .await
            .map_err(|e| sh.pg_error(&format!("applying migration {name}"), &e))?;
        let recorded = schema_version(sh, &conn).await?;
        if recorded != *version {
            return Err(StoreError::Schema(format!(
                "migration {name} left schema version {recorded}, expected {version}"
            )));
        }
        tracing::info!(host = %sh.host, migration = name, "applied database migration");
    }
    conn.batch_execute("COMMIT")
        .await
        .map_err(step("committing the migration"))?;
    conn.release();
    Ok(SchemaReport {
        from,
        to: SCHEMA_VERSION.max(from),
    })
}

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a Row,
    column: &str,
) -> Result<T, StoreError> {
    row.try_get(column)
        .map_err(|e| StoreError::Database(format!("reading column {column}: {e}")))
}

fn status(row: &Row) -> Result<InstanceStatus, StoreError> {
    let s: &str = get(row, "status")?;
    InstanceStatus::parse(s)
        .ok_or_else(|| StoreError::Database(format!("unknown instance status {s:?}")))
}

fn instance_from_row(row: &Row) -> Result<InstanceRecord, StoreError> {
    Ok(InstanceRecord {
        id: get(row, "id")?,
        process: get(row, "process")?,
        version: get(row, "version")?,
        status: status(row)?,
        created_ms: get(row, "created_ms")?,
        modified_ms: get(row, "modified_ms")?,
        step: get(row, "step")?,
        state: get(row, "state")?,
        waits: get(row, "waits")?,
        fault: get(row, "fault")?,
    })
}

fn job_from_row(row: &Row) -> Result<Job, StoreError> {
    let kind: &str = get(row, "kind")?;
    Ok(Job {
        id: get(row, "id")?,
        due_ms: get(row, "due_ms")?,
        node: get(row, "node")?,
        instance: get(row, "instance")?,
        process: get(row, "process")?,
        version: get(row, "version")?,
        kind: JobKind::parse(kind)
            .ok_or_else(|| StoreError::Database(format!("unknown job kind {kind:?}")))?,
        details: get(row, "details")?,
        retries: get(row, "retries")?,
        parked: get(row, "parked")?,
        last_error: get(row, "last_error")?,
    })
}

fn message_from_row(row: &Row) -> Result<ParkedMessage, StoreError> {
    Ok(ParkedMessage {
        id: get(row, "id")?,
        process: get(row, "process")?,
        version: get(row, "version")?,
        partner_link: get(row, "partner_link")?,
        operation: get(row, "operation")?,
        body: get(row, "body")?,
        received_ms: get(row, "received_ms")?,
        expires_ms: get(row, "expires_ms")?,
    })
}

fn event_from_row(row: &Row) -> Result<EventRecord, StoreError> {
    Ok(EventRecord {
        instance: get(row, "instance")?,
        process: get(row, "process")?,
        version: get(row, "version")?,
        step: get(row, "step")?,
        ts_ms: get(row, "ts_ms")?,
        kind: get(row, "kind")?,
        body: get(row, "body")?,
    })
}

fn summary_from_row(row: &Row) -> Result<InstanceSummary, StoreError> {
    Ok(InstanceSummary {
        id: get(row, "id")?,
        process: get(row, "process")?,
        version: get(row, "version")?,
        status: status(row)?,
        created_ms: get(row, "created_ms")?,
        modified_ms: get(row, "modified_ms")?,
        fault: get(row, "fault")?,
    })
}

fn waiting_from_row(row: &Row) -> Result<WaitingInstance, StoreError> {
    Ok(WaitingInstance {
        id: get(row, "id")?,
        process: get(row, "process")?,
        version: get(row, "version")?,
        status: status(row)?,
        waits: get(row, "waits")?,
    })
}

fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// The SQL and parameters of an instance listing.
fn instances_sql(q: &InstanceQuery) -> (String, Vec<Box<dyn ToSql + Sync + Send>>) {
    let mut conds: Vec<String> = Vec::new();
    let mut params: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
    let mut add = |cond: &str, param: Box<dyn ToSql + Sync + Send>| {
        params.push(param);
        conds.push(cond.replace('?', &format!("${}", params.len())));
    };
    if !q.status.is_empty() {
        let statuses: Vec<String> = q.status.iter().map(|s| s.as_str().to_string()).collect();
        add("status = ANY(?)", Box::new(statuses));
    }
    if let Some(p) = &q.process {
        add("process = ?", Box::new(p.clone()));
    }
    if let Some(v) = q.version {
        add("version = ?", Box::new(v));
    }
    if !q.ids.is_empty() {
        add("id = ANY(?)", Box::new(q.ids.clone()));
    }
    if let Some(t) = q.created_from {
        add("created_ms >= ?", Box::new(t));
    }
    if let Some(t) = q.created_before {
        add("created_ms < ?", Box::new(t));
    }
    let mut sql = String::from(
        "SELECT id, process, version, status, created_ms, modified_ms, fault FROM instances",
    );
    if !conds.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conds.join(" AND "));
    }
    sql.push_str(" ORDER BY id DESC");
    if q.limit > 0 {
        params.push(Box::new(limit_param(q.limit)));
        sql.push_str(&format!(" LIMIT ${}", params.len()));
    }
    (sql, params)
}

impl PgStore {
    /// Runs a read or single-row write within the deadline.
    fn run<T: Send + 'static>(
        &self,
        op: impl Future<Output = Result<T, StoreError>> + Send + 'static,
    ) -> BoxFuture<'static, Result<T, StoreError>> {
        let sh = self.shared.clone();
        Box::pin(async move { sh.bounded(op).await })
    }
}

impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgresql"
    }

    fn commit(&self, write: StepWrite) -> BoxFuture<'static, Result<(), StoreError>> {
        let (done, result) = oneshot::channel();
        // Queued synchronously: the order of `commit` calls is the order of application.
        let queued = self.writes.send(Pending { write, done }).is_ok();
        let sh = self.shared.clone();
        Box::pin(async move {
            let stopped = || StoreError::Unavailable(format!("{}: store writer stopped", sh.host));
            if !queued {
                return Err(stopped());
            }
            result.await.unwrap_or_else(|_| Err(stopped()))
        })
    }

    fn reserve_ids(&self, count: i64) -> BoxFuture<'static, Result<i64, StoreError>> {
        let sh = self.shared.clone();
        self.run(async move {
            if count < 0 {
                return Err(StoreError::Database(format!("cannot reserve {count} ids")));
            }
            let rows = sh
                .query(
                    "reserving ids",
                    "UPDATE id_counter SET next = next + $1 WHERE name = 'ids' \
                     RETURNING next - $1",
                    &[&count],
                )
                .await?;
            match rows.first() {
                Some(row) => row
                    .try_get(0)
                    .map_err(|e| StoreError::Database(format!("reserving ids: {e}"))),
                None => Err(StoreError::Schema(
                    "id_counter has no 'ids' row: run `bpelgate db migrate`".into(),
                )),
            }
        })
    }

    fn load_instance(
        &self,
        id: i64,
    ) -> BoxFuture<'static, Result<Option<InstanceRecord>, StoreError>> {
        let sh = self.shared.clone();
        self.run(async move {
            let rows = sh
                .query(
                    "loading an instance",
                    "SELECT id, process, version, status, created_ms, modified_ms, step, \
                     state, waits, fault FROM instances WHERE id = $1",
                    &[&id],
                )
                .await?;
            rows.first().map(instance_from_row).transpose()
        })
    }

    fn waiting_instances(&self) -> BoxFuture<'static, Result<Vec<WaitingInstance>, StoreError>> {
        let sh = self.shared.clone();
        self.run(async move {
            let rows = sh
                .query(
                    "listing waiting instances",
                    "SELECT id, process, version, status, waits FROM instances \
                     WHERE status IN ('active', 'suspended') ORDER BY id",
                    &[],
                )
                .await?;
            rows.iter().map(waiting_from_row).collect()
        })
    }

    fn due_jobs(
        &self,
        node: &str,
        before_ms: i64,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<Job>, StoreError>> {
        let sh = self.shared.clone();
        let node = node.to_string();
        self.run(async move {
            let sql = format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE NOT parked AND due_ms < $2 \
                 AND (node = $1 OR node IS NULL) ORDER BY due_ms, id LIMIT $3"
            );
            let rows = sh
                .query(
                    "listing due jobs",
                    &sql,
                    &[&node, &before_ms, &limit_param(limit)],
                )
                .await?;
            rows.iter().map(job_from_row).collect()
        })
    }

    fn job_failed(&self, failure: JobFailure) -> BoxFuture<'static, Result<(), StoreError>> {
        let sh = self.shared.clone();
        self.run(async move {
            sh.execute(
                "recording a job failure",
                "UPDATE jobs SET retries = $2, due_ms = $3, parked = $4, last_error = $5 \
                 WHERE id = $1",
                &[
                    &failure.id,
                    &failure.retries,
                    &failure.due_ms,
                    &failure.park,
                    &failure.error,
                ],
            )
            .await
            .map(drop)
        })
    }

    fn parked_jobs(&self) -> BoxFuture<'static, Result<Vec<Job>, StoreError>> {
        let sh = self.shared.clone();
        self.run(async move {
            let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE parked ORDER BY id");
            let rows = sh.query("listing parked jobs", &sql, &[]).await?;
            rows.iter().map(job_from_row).collect()
        })
    }

    fn parked_messages(&self) -> BoxFuture<'static, Result<Vec<ParkedMessage>, StoreError>> {
        let sh = self.shared.clone();
        self.run(async move {
            let rows = sh
                .query(
                    "listing parked messages",
                    "SELECT id, process, version, partner_link, operation, body, received_ms, \
                     expires_ms FROM messages ORDER BY id",
                    &[],
                )
                .await?;
            rows.iter().map(message_from_row).collect()
        })
    }

    fn instances(
        &self,
        query: InstanceQuery,
    ) -> BoxFuture<'static, Result<Vec<InstanceSummary>, StoreError>> {
        let sh = self.shared.clone();
        self.run(async move {
            let (sql, params) = instances_sql(&query);
            let refs: Vec<&(dyn ToSql + Sync)> = params
                .iter()
                .map(|p| p.as_ref() as &(dyn ToSql + Sync))
                .collect();
            let rows = sh.query("listing instances", &sql, &refs).await?;
            rows.iter().map(summary_from_row).collect()
        })
    }

    fn instance_events(
        &self,
        instance: i64,
    ) -> BoxFuture<'static, Result<Vec<EventRecord>, StoreError>> {
        let sh = self.shared.clone();
        self.run(async move {
            let rows = sh
                .query(
                    "listing an instance's events",
                    "SELECT instance, process, version, step, ts_ms, kind, body FROM events \
                     WHERE instance = $1 ORDER BY seq",
                    &[&instance],
                )
                .await?;
            rows.iter().map(event_from_row).collect()
        })
    }

    fn delete_instance(&self, id: i64) -> BoxFuture<'static, Result<bool, StoreError>> {
        let sh = self.shared.clone();
        self.run(async move {
            let purpose = "deleting an instance";
            let conn = sh.conn().await?;
            let events = sh
                .prepare(&conn, "DELETE FROM events WHERE instance = $1", purpose)
                .await?;
            let jobs = sh
                .prepare(&conn, "DELETE FROM jobs WHERE instance = $1", purpose)
                .await?;
            let instance = sh
                .prepare(&conn, "DELETE FROM instances WHERE id = $1", purpose)
                .await?;
            let fail = |e: tokio_postgres::Error| sh.pg_error(purpose, &e);
            conn.batch_execute("BEGIN").await.map_err(fail)?;
            conn.execute(&events, &[&id]).await.map_err(fail)?;
            conn.execute(&jobs, &[&id]).await.map_err(fail)?;
            let n = conn.execute(&instance, &[&id]).await.map_err(fail)?;
            conn.batch_execute("COMMIT").await.map_err(fail)?;
            conn.release();
            Ok(n > 0)
        })
    }

    fn heartbeat(&self, node: &str, now_ms: i64) -> BoxFuture<'static, Result<(), StoreError>> {
        let sh = self.shared.clone();
        let node = node.to_string();
        self.run(async move {
            sh.execute(
                "recording a heartbeat",
                "INSERT INTO nodes (id, heartbeat_ms) VALUES ($1, $2) \
                 ON CONFLICT (id) DO UPDATE SET heartbeat_ms = EXCLUDED.heartbeat_ms",
                &[&node, &now_ms],
            )
            .await
            .map(drop)
        })
    }

    fn ping(&self) -> BoxFuture<'static, Result<(), StoreError>> {
        let sh = self.shared.clone();
        self.run(async move {
            let conn = sh.conn().await?;
            conn.batch_execute("SELECT 1")
                .await
                .map_err(|e| sh.pg_error("pinging", &e))?;
            conn.release();
            Ok(())
        })
    }

    fn migrate(&self) -> BoxFuture<'static, Result<SchemaReport, StoreError>> {
        let sh = self.shared.clone();
        self.run(async move { migrate(&sh).await })
    }
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("host", &self.shared.host)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
