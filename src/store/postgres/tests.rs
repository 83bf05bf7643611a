//! Tests of the PostgreSQL backend, each in schemas of its own.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use super::*;
use crate::store::contract;

fn base_url() -> String {
    std::env::var("BPELGATE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn with_param(url: &str, param: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{param}")
}

fn opts() -> OpenOptions {
    OpenOptions {
        pool_size: 4,
        statement_timeout: Duration::from_secs(10),
        ..OpenOptions::default()
    }
}

/// Creates and drops the uniquely named schemas of one test, through an admin
/// connection of its own.
struct Schemas {
    admin: tokio_postgres::Client,
    names: Mutex<Vec<String>>,
}

impl Schemas {
    /// `None` (after saying so) when PostgreSQL is unreachable, unless
    /// BPELGATE_REQUIRE_PG=1.
    async fn connect() -> Option<Schemas> {
        let url = base_url();
        let attempt = async {
            let cfg: tokio_postgres::Config = url.parse()?;
            cfg.connect(NoTls).await
        };
        let why = match tokio::time::timeout(Duration::from_secs(5), attempt).await {
            Ok(Ok((admin, conn))) => {
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                return Some(Schemas {
                    admin,
                    names: Mutex::new(Vec::new()),
                });
            }
            Ok(Err(e)) => with_causes(&e),
            Err(_) => "no answer within 5 s".to_string(),
        };
        if std::env::var("BPELGATE_REQUIRE_PG").as_deref() == Ok("1") {
            panic!("PostgreSQL unreachable at {url}: {why} (BPELGATE_REQUIRE_PG=1)");
        }
        // Straight to the stderr handle: libtest captures `eprintln!` of passing tests.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: PostgreSQL unreachable at {url}: {why}"
        );
        None
    }

    /// A new empty schema; returns its name and a URL selecting it.
    async fn fresh(&self) -> (String, String) {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "bpelgate_test_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        self.admin
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
            ))
            .await
            .expect("create test schema");
        self.names.lock().expect("names").push(name.clone());
        let url = with_param(&base_url(), &format!("options=-c%20search_path%3D{name}"));
        (name, url)
    }

    async fn store(&self) -> Arc<PgStore> {
        let (_, url) = self.fresh().await;
        open(&url, &opts()).await.expect("open")
    }

    async fn drop_all(&self) {
        let names = std::mem::take(&mut *self.names.lock().expect("names"));
        for name in names {
            self.admin
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                .await
                .expect("drop test schema");
        }
    }
}

/// A failed test drops its schemas too: from a thread of its own, since the test's runtime
/// is busy unwinding.
impl Drop for Schemas {
    fn drop(&mut self) {
        let names = match self.names.get_mut() {
            Ok(names) => std::mem::take(names),
            Err(poisoned) => std::mem::take(poisoned.into_inner()),
        };
        if names.is_empty() {
            return;
        }
        let cleanup = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let cfg: tokio_postgres::Config = base_url().parse().ok()?;
                let (client, conn) = cfg.connect(NoTls).await.ok()?;
                tokio::spawn(conn);
                // A lock still held by the failed test's own sessions must not wedge this.
                client.batch_execute("SET lock_timeout = '2s'").await.ok()?;
                for name in names {
                    let _ = client
                        .batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                        .await;
                }
                Some(())
            })
        });
        let _ = cleanup.join();
    }
}

fn instance(id: i64) -> InstanceRecord {
    InstanceRecord {
        id,
        process: "{urn:t}P".into(),
        version: 1,
        status: InstanceStatus::Active,
        created_ms: 1,
        modified_ms: 2,
        step: 1,
        state: Some(vec![1, 2, 3]),
        waits: None,
        fault: None,
    }
}

fn job(id: i64) -> Job {
    Job {
        id,
        due_ms: 10,
        node: None,
        instance: None,
        process: "{urn:t}P".into(),
        version: 1,
        kind: JobKind::Invoke,
        details: vec![9],
        retries: 0,
        parked: false,
        last_error: None,
    }
}

fn write_instance(id: i64) -> StepWrite {
    StepWrite {
        instance: Some(instance(id)),
        ..StepWrite::default()
    }
}

#[tokio::test]
async fn contract_checks() {
    let Some(schemas) = Schemas::connect().await else {
        return;
    };
    let schemas = Arc::new(schemas);
    let s = schemas.clone();
    contract::run_all(move || {
        let s = s.clone();
        async move {
            let store: Arc<dyn Store> = s.store().await;
            store
        }
    })
    .await;
    schemas.drop_all().await;
}

#[tokio::test]
async fn schema_checks_and_migrations() {
    let Some(schemas) = Schemas::connect().await else {
        return;
    };
    let (name, url) = schemas.fresh().await;
    let no_migrate = OpenOptions {
        migrate: false,
        ..opts()
    };
    let err = open(&url, &no_migrate).await.expect_err("empty schema");
    assert!(
        matches!(&err, StoreError::Schema(m) if m.contains("bpelgate db migrate")),
        "{err}"
    );

    // Several nodes starting together: one migrates, the others wait and find it done.
    let o = opts();
    let (a, b, c) = tokio::join!(open(&url, &o), open(&url, &o), open(&url, &o));
    let store = a.expect("open a");
    b.expect("open b");
    c.expect("open c");
    let rows = schemas
        .admin
        .query(&format!("SELECT version FROM {name}.schema_version"), &[])
        .await
        .expect("versions");
    assert_eq!(rows.len(), 1, "one migration recorded");
    assert_eq!(
        store.migrate().await.expect("migrate again"),
        SchemaReport { from: 1, to: 1 }
    );
    open(&url, &no_migrate)
        .await
        .expect("migrated schema opens");

    // A schema newer than this build is refused either way.
    schemas
        .admin
        .batch_execute(&format!("INSERT INTO {name}.schema_version VALUES (99, 0)"))
        .await
        .expect("bump");
    for o in [&no_migrate, &opts()] {
        let err = open(&url, o).await.expect_err("newer schema");
        assert!(
            matches!(&err, StoreError::Schema(m) if m.contains("newer")),
            "{err}"
        );
    }
    schemas.drop_all().await;
}

#[tokio::test]
async fn closed_port_is_unavailable_at_once() {
    let started = Instant::now();
    let err = open(
        "postgres://postgres@127.0.0.1:1/test",
        &OpenOptions {
            connect_timeout: Duration::from_secs(2),
            ..opts()
        },
    )
    .await
    .expect_err("nothing listens on port 1");
    assert!(
        matches!(&err, StoreError::Unavailable(m)
            if m.contains("127.0.0.1:1") && m.contains("refused")),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn silent_server_is_unavailable_within_connect_timeout() {
    // Accepts TCP connections and never answers the start-up message.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let _hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let started = Instant::now();
    let err = open(
        &format!("postgres://postgres@127.0.0.1:{port}/test"),
        &OpenOptions {
            connect_timeout: Duration::from_millis(300),
            ..opts()
        },
    )
    .await
    .expect_err("the server never answers");
    let elapsed = started.elapsed();
    assert!(
        matches!(&err, StoreError::Unavailable(m)
            if m.contains(&format!("127.0.0.1:{port}")) && m.contains("timed out")),
        "{err}"
    );
    assert!(
        elapsed >= Duration::from_millis(250) && elapsed < Duration::from_secs(2),
        "{elapsed:?}"
    );
}

#[test]
fn bad_urls() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for url in [
        "postgres://u:secret@h:notaport/db",
        "postgres://u:secret@h/db?sslmode=require",
    ] {
        let err = rt.block_on(open(url, &opts())).expect_err(url);
        match err {
            StoreError::Url { url, .. } => assert!(!url.contains("secret"), "{url}"),
            other => panic!("{other}"),
        }
    }
    assert_eq!(
        redact_password("postgres://bob:pw@db:5432/x?options=a"),
        "postgres://bob:***@db:5432/x?options=a"
    );
    assert_eq!(
        redact_password("postgres://bob@db/x"),
        "postgres://bob@db/x"
    );
    assert_eq!(
        redact_password("host=db password=pw user=bob"),
        "host=db password=*** user=bob"
    );
}

/// Runs on the current-thread runtime: the writes queued without awaiting reach the
/// writer together, as one group.
#[tokio::test]
async fn failed_group_applies_nothing() {
    let Some(schemas) = Schemas::connect().await else {
        return;
    };
    let store = schemas.store().await;
    store
        .commit(StepWrite {
            add_jobs: vec![job(1)],
            ..StepWrite::default()
        })
        .await
        .expect("first job");
    let a = store.commit(write_instance(50));
    let b = store.commit(StepWrite {
        add_jobs: vec![job(1)],
        ..StepWrite::default()
    });
    let c = store.commit(write_instance(51));
    for (name, r) in [("a", a.await), ("b", b.await), ("c", c.await)] {
        match r {
            Err(StoreError::Database(m)) => {
                assert!(m.contains("adding jobs") && m.contains("23505"), "{m}")
            }
            other => panic!("write {name} of the failed group: {other:?}"),
        }
    }
    assert_eq!(store.load_instance(50).await.expect("load"), None);
    assert_eq!(store.load_instance(51).await.expect("load"), None);
    store.commit(write_instance(52)).await.expect("next group");
    assert!(store.load_instance(52).await.expect("load").is_some());
    schemas.drop_all().await;
}

fn job_of(id: i64, instance: i64) -> Job {
    Job {
        instance: Some(instance),
        ..job(id)
    }
}

fn message(id: i64) -> ParkedMessage {
    ParkedMessage {
        id,
        process: "{urn:t}P".into(),
        version: 1,
        partner_link: "pl".into(),
        operation: "op".into(),
        body: vec![id as u8],
        received_ms: 1,
        expires_ms: 2,
    }
}

fn event(instance: i64, step: i64) -> EventRecord {
    EventRecord {
        instance: Some(instance),
        process: "{urn:t}P".into(),
        version: 1,
        step,
        ts_ms: step,
        kind: format!("E{step}"),
        body: vec![],
    }
}

/// Writes queued together (one group on the current-thread runtime) end as if applied one
/// after another, also where batching them per table would reorder rows that interact.
#[tokio::test]
async fn one_group_applies_like_consecutive_writes() {
    let Some(schemas) = Schemas::connect().await else {
        return;
    };
    let store = schemas.store().await;
    store
        .commit(StepWrite {
            add_jobs: vec![job_of(1, 70)],
            park_messages: vec![message(1)],
            ..StepWrite::default()
        })
        .await
        .expect("setup");
    let writes = vec![
        // A job added, then deleted by id and per instance by later writes.
        StepWrite {
            instance: Some(instance(70)),
            add_jobs: vec![job_of(2, 70), job_of(3, 71)],
            events: vec![event(70, 1), event(70, 2)],
            ..StepWrite::default()
        },
        StepWrite {
            delete_jobs: vec![3],
            events: vec![event(70, 3)],
            ..StepWrite::default()
        },
        StepWrite {
            instance: Some(InstanceRecord {
                step: 2,
                ..instance(70)
            }),
            delete_jobs_of: Some(70),
            add_jobs: vec![job_of(4, 70)],
            events: vec![event(70, 4)],
            ..StepWrite::default()
        },
        // A message deleted, then parked again under its id; one parked and consumed in
        // one write.
        StepWrite {
            delete_messages: vec![1],
            ..StepWrite::default()
        },
        StepWrite {
            park_messages: vec![message(1), message(2)],
            delete_messages: vec![2],
            events: vec![event(70, 5)],
            ..StepWrite::default()
        },
        StepWrite {
            instance: Some(InstanceRecord {
                step: 3,
                ..instance(70)
            }),
            ..StepWrite::default()
        },
    ];
    let pending: Vec<_> = writes.into_iter().map(|w| store.commit(w)).collect();
    for p in pending {
        p.await.expect("commit");
    }
    let jobs: Vec<i64> = store
        .due_jobs("n", i64::MAX, 100)
        .await
        .expect("jobs")
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(jobs, vec![4]);
    let messages: Vec<i64> = store
        .parked_messages()
        .await
        .expect("messages")
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(messages, vec![1]);
    let steps: Vec<i64> = store
        .instance_events(70)
        .await
        .expect("events")
        .iter()
        .map(|e| e.step)
        .collect();
    assert_eq!(steps, vec![1, 2, 3, 4, 5]);
    let row = store.load_instance(70).await.expect("load").expect("row");
    assert_eq!(row.step, 3);
    schemas.drop_all().await;
}

#[tokio::test]
async fn statement_timeout_bounds_a_blocked_commit() {
    let Some(schemas) = Schemas::connect().await else {
        return;
    };
    let (name, url) = schemas.fresh().await;
    let store = open(
        &url,
        &OpenOptions {
            statement_timeout: Duration::from_millis(300),
            connect_timeout: Duration::from_secs(5),
            ..opts()
        },
    )
    .await
    .expect("open");
    schemas
        .admin
        .batch_execute(&format!("BEGIN; LOCK TABLE {name}.instances"))
        .await
        .expect("lock");
    let started = Instant::now();
    let err = store
        .commit(write_instance(1))
        .await
        .expect_err("blocked by the lock");
    // Cancelled by the server after 300 ms, long before the client's own deadline (5.6 s).
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(&err, StoreError::Unavailable(m) if m.contains("57014")),
        "{err}"
    );
    schemas
        .admin
        .batch_execute("ROLLBACK")
        .await
        .expect("unlock");
    store
        .commit(write_instance(2))
        .await
        .expect("after the lock");
    schemas.drop_all().await;
}

#[tokio::test]
async fn writer_reconnects_after_the_connection_breaks() {
    let Some(schemas) = Schemas::connect().await else {
        return;
    };
    let (name, url) = schemas.fresh().await;
    let url = with_param(&url, &format!("application_name={name}"));
    let store = open(&url, &opts()).await.expect("open");
    store.commit(write_instance(1)).await.expect("before");
    let killed = schemas
        .admin
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = $1",
            &[&name],
        )
        .await
        .expect("terminate");
    assert!(!killed.is_empty(), "the store's connections were found");
    // The first group may still meet the broken connection: it fails as a whole.
    let first = store.commit(write_instance(2)).await;
    match &first {
        Ok(()) | Err(StoreError::Unavailable(_)) => {}
        Err(e) => panic!("after the break: {e}"),
    }
    store
        .commit(write_instance(3))
        .await
        .expect("service resumes");
    assert!(store.load_instance(3).await.expect("load").is_some());
    assert_eq!(
        store.load_instance(2).await.expect("load").is_some(),
        first.is_ok()
    );
    schemas.drop_all().await;
}

/// A TCP proxy to `upstream` that holds every byte while frozen (a server that stopped
/// answering without closing its connections).
async fn freezable_proxy(upstream: (String, u16)) -> (u16, tokio::sync::watch::Sender<bool>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

    async fn pump(
        mut from: OwnedReadHalf,
        mut to: OwnedWriteHalf,
        mut frozen: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut buf = vec![0; 16 * 1024];
        while let Ok(n @ 1..) = from.read(&mut buf).await {
            if frozen.wait_for(|f| !*f).await.is_err() || to.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    }

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (freeze, frozen) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = tokio::net::TcpStream::connect(upstream.clone()).await else {
                continue;
            };
            let (cr, cw) = client.into_split();
            let (sr, sw) = server.into_split();
            tokio::spawn(pump(cr, sw, frozen.clone()));
            tokio::spawn(pump(sr, cw, frozen.clone()));
        }
    });
    (port, freeze)
}

#[tokio::test]
async fn unresponsive_server_fails_operations_in_time_and_service_resumes() {
    let Some(schemas) = Schemas::connect().await else {
        return;
    };
    let base: tokio_postgres::Config = base_url().parse().expect("test url");
    let Some(Host::Tcp(host)) = base.get_hosts().first() else {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: the test database is not reached over TCP"
        );
        return;
    };
    let upstream = (
        host.clone(),
        base.get_ports().first().copied().unwrap_or(5432),
    );
    let (port, freeze) = freezable_proxy(upstream).await;
    let (name, _) = schemas.fresh().await;
    let url = format!(
        "postgres://{}@127.0.0.1:{port}/{}?options=-c%20search_path%3D{name}",
        base.get_user().unwrap_or("postgres"),
        base.get_dbname().unwrap_or("test"),
    );
    let o = OpenOptions {
        connect_timeout: Duration::from_millis(500),
        statement_timeout: Duration::from_millis(500),
        ..opts()
    };
    let store = open(&url, &o).await.expect("open through the proxy");
    store.commit(write_instance(1)).await.expect("before");

    freeze.send_replace(true);
    let started = Instant::now();
    let err = store.commit(write_instance(2)).await.expect_err("frozen");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
    let err = store.load_instance(1).await.expect_err("frozen");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
    // Each within connect + 2 × statement timeout.
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );

    freeze.send_replace(false);
    store
        .commit(write_instance(3))
        .await
        .expect("service resumes");
    assert!(store.load_instance(3).await.expect("load").is_some());
    // Instance 2 may exist or not: its COMMIT had left when the writer gave up (and the
    // proxy delivered it after the thaw), the outcome the Unavailable error warns about.
    schemas.drop_all().await;
}

/// Measurement, not a check: `cargo test --release --lib store::postgres::tests::measure
/// -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement; prints commits/s"]
async fn measure_group_commit() {
    /// CPU seconds (user + system) of this process and of every `postgres` process.
    fn cpu() -> (f64, f64) {
        let ticks = |pid: &str| -> Option<(String, f64)> {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let (head, rest) = stat.rsplit_once(')')?;
            let comm = head.split_once('(')?.1.to_string();
            let f: Vec<&str> = rest.split_whitespace().collect();
            let t = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
            Some((comm, t / 100.0))
        };
        let own = ticks("self").map_or(0.0, |t| t.1);
        let mut pg = 0.0;
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            if let Some((comm, t)) = ticks(&entry.file_name().to_string_lossy())
                && comm == "postgres"
            {
                pg += t;
            }
        }
        (own, pg)
    }
    let Some(schemas) = Schemas::connect().await else {
        return;
    };
    let commits = async || -> i64 {
        // Statistics reach the view within a second of a backend going idle.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let row = schemas
            .admin
            .query_one(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()",
                &[],
            )
            .await
            .expect("stats");
        row.get(0)
    };
    let store = schemas.store().await;
    for (label, events) in [("instance row", 0), ("instance row + 3 events", 3)] {
        let next = Arc::new(std::sync::atomic::AtomicI64::new(1));
        let xacts = commits().await;
        let cpu0 = cpu();
        let until = Instant::now() + Duration::from_secs(5);
        let mut tasks = Vec::new();
        for _ in 0..64 {
            let store = store.clone();
            let next = next.clone();
            tasks.push(tokio::spawn(async move {
                let mut n = 0u64;
                while Instant::now() < until {
                    let id = next.fetch_add(1, Ordering::Relaxed) + events * 10_000_000;
                    let ev = EventRecord {
                        instance: Some(id),
                        process: "{urn:t}P".into(),
                        version: 1,
                        step: 1,
                        ts_ms: 1,
                        kind: "ActivityExecStartEvent".into(),
                        body: b"{\"activity\":\"assign1\"}".to_vec(),
                    };
                    store
                        .commit(StepWrite {
                            instance: Some(instance(id)),
                            delete_jobs_of: Some(id),
                            events: vec![ev; events as usize],
                            ..StepWrite::default()
                        })
                        .await
                        .expect("commit");
                    n += 1;
                }
                n
            }));
        }
        let started = Instant::now();
        let mut total = 0;
        for t in tasks {
            total += t.await.expect("join");
        }
        let secs = started.elapsed().as_secs_f64();
        let cpu1 = cpu();
        let groups = commits().await - xacts;
        eprintln!(
            "{label}: {total} commits in {secs:.1} s = {:.0} commits/s (64 submitters); \
             {groups} transactions (~{:.0} writes each); CPU per 1000 commits: \
             client {:.0} ms, postgres {:.0} ms; load {}",
            total as f64 / secs,
            total as f64 / groups.max(1) as f64,
            (cpu1.0 - cpu0.0) * 1e6 / total as f64,
            (cpu1.1 - cpu0.1) * 1e6 / total as f64,
            std::fs::read_to_string("/proc/loadavg")
                .unwrap_or_default()
                .trim(),
        );
    }
    schemas.drop_all().await;
}
