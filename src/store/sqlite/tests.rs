use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::*;
use crate::store::contract;
use crate::store::{InstanceStatus, JobKind};

static NEXT: AtomicUsize = AtomicUsize::new(0);

fn db_path(dir: &tempfile::TempDir) -> PathBuf {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    dir.path().join(format!("sub/store-{n}.db"))
}

async fn fresh(dir: &tempfile::TempDir, opts: &OpenOptions) -> Arc<SqliteStore> {
    open(&db_path(dir), opts).await.expect("open")
}

fn instance(id: i64, step: i64) -> InstanceRecord {
    InstanceRecord {
        id,
        process: "{urn:t}P".into(),
        version: 1,
        status: InstanceStatus::Active,
        created_ms: 10,
        modified_ms: 20,
        step,
        state: Some(vec![1, 2, 3]),
        waits: None,
        fault: None,
    }
}

fn job(id: i64, instance: i64) -> Job {
    Job {
        id,
        due_ms: 5,
        node: None,
        instance: Some(instance),
        process: "{urn:t}P".into(),
        version: 1,
        kind: JobKind::Invoke,
        details: b"req".to_vec(),
        retries: 0,
        parked: false,
        last_error: None,
    }
}

fn step(write: impl FnOnce(&mut StepWrite)) -> StepWrite {
    let mut w = StepWrite::default();
    write(&mut w);
    w
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_default_options() {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = OpenOptions::default();
    contract::run_all(|| async { fresh(&dir, &opts).await as Arc<dyn Store> }).await;
}

/// Small groups (many group boundaries), NORMAL sync, one reader connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_small_groups_normal_sync() {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = OpenOptions {
        max_group: 3,
        sqlite_full_sync: false,
        pool_size: 1,
        ..OpenOptions::default()
    };
    contract::run_all(|| async { fresh(&dir, &opts).await as Arc<dyn Store> }).await;
}

#[tokio::test]
async fn data_survives_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = db_path(&dir);
    let opts = OpenOptions::default();
    let s = open(&path, &opts).await.expect("open");
    let first = s.reserve_ids(10).await.expect("reserve");
    s.commit(step(|w| {
        w.instance = Some(instance(1, 4));
        w.add_jobs = vec![job(2, 1)];
    }))
    .await
    .expect("commit");
    s.heartbeat("n1", 77).await.expect("heartbeat");
    drop(s);

    let s = open(
        &path,
        &OpenOptions {
            migrate: false,
            ..opts
        },
    )
    .await
    .expect("reopen");
    assert_eq!(
        s.load_instance(1).await.expect("load"),
        Some(instance(1, 4))
    );
    assert_eq!(
        s.due_jobs("n1", 100, 10).await.expect("due"),
        vec![job(2, 1)]
    );
    let next = s.reserve_ids(1).await.expect("reserve");
    assert!(
        next >= first + 10,
        "ids handed out again: {next} after {first}+10"
    );
    drop(s);

    let raw = rusqlite::Connection::open(&path).expect("raw open");
    let hb: i64 = raw
        .query_row("SELECT heartbeat_ms FROM nodes WHERE id = 'n1'", [], |r| {
            r.get(0)
        })
        .expect("node row");
    assert_eq!(hb, 77);
}

#[tokio::test]
async fn migrate_twice_is_a_no_op() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = fresh(&dir, &OpenOptions::default()).await;
    let expected = SchemaReport {
        from: SCHEMA_VERSION,
        to: SCHEMA_VERSION,
    };
    assert_eq!(s.migrate().await.expect("migrate"), expected);
    assert_eq!(s.migrate().await.expect("migrate"), expected);
    s.ping().await.expect("ping");
}

#[tokio::test]
async fn unmigrated_file_is_a_schema_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = db_path(&dir);
    let no_migrate = OpenOptions {
        migrate: false,
        ..OpenOptions::default()
    };
    match open(&path, &no_migrate).await {
        Err(StoreError::Schema(m)) => assert!(m.contains("bpelgate db migrate"), "{m}"),
        Err(e) => panic!("expected a schema error, got {e}"),
        Ok(_) => panic!("expected a schema error, the store opened"),
    }
    let s = open(&path, &OpenOptions::default()).await.expect("migrate");
    drop(s);
    let s = open(&path, &no_migrate).await.expect("open migrated");
    assert_eq!(
        s.migrate().await.expect("migrate"),
        SchemaReport {
            from: SCHEMA_VERSION,
            to: SCHEMA_VERSION
        }
    );
}

#[tokio::test]
async fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = db_path(&dir);
    drop(open(&path, &OpenOptions::default()).await.expect("open"));
    let raw = rusqlite::Connection::open(&path).expect("raw open");
    raw.execute(
        "INSERT INTO schema_version (version, applied_ms) VALUES (?1, 0)",
        [SCHEMA_VERSION + 1],
    )
    .expect("bump version");
    drop(raw);
    match open(&path, &OpenOptions::default()).await {
        Err(StoreError::Schema(m)) => assert!(m.contains("newer"), "{m}"),
        Err(e) => panic!("expected a schema error, got {e}"),
        Ok(_) => panic!("expected a schema error, the store opened"),
    }
}

#[tokio::test]
async fn unopenable_path_is_unavailable() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A directory is not a database file.
    match open(dir.path(), &OpenOptions::default()).await {
        Err(StoreError::Unavailable(m)) => {
            assert!(m.contains(&dir.path().display().to_string()), "{m}")
        }
        Err(e) => panic!("expected unavailable, got {e}"),
        Ok(_) => panic!("opened a directory as a database"),
    }
}

/// A group with one bad write fails as a whole: no write of it is applied, every submitter gets
/// the error, and the next group works.
#[tokio::test]
async fn failed_group_applies_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = fresh(&dir, &OpenOptions::default()).await;
    let before = s.reserve_ids(5).await.expect("reserve");

    let (release, hold) = mpsc::channel();
    s.submit_raw(Op::Hold(hold));
    let a = s.commit(step(|w| w.instance = Some(instance(1, 1))));
    let ids = s.reserve_ids(100);
    let b = s.commit(step(|w| w.add_jobs = vec![job(50, 1)]));
    let c = s.commit(step(|w| w.add_jobs = vec![job(50, 1)]));
    release.send(()).expect("release");

    for (name, r) in [("a", a.await), ("b", b.await), ("c", c.await)] {
        match r {
            Err(StoreError::Database(m)) => assert!(m.contains("UNIQUE"), "{name}: {m}"),
            other => panic!("{name}: expected the group's constraint error, got {other:?}"),
        }
    }
    assert!(
        ids.await.is_err(),
        "reserve_ids in the failed group succeeded"
    );
    assert_eq!(s.load_instance(1).await.expect("load"), None);
    assert!(s.due_jobs("n", i64::MAX, 10).await.expect("due").is_empty());
    assert_eq!(
        s.reserve_ids(1).await.expect("reserve"),
        before + 5,
        "the failed group advanced the id counter"
    );
    s.commit(step(|w| w.instance = Some(instance(1, 1))))
        .await
        .expect("commit after a failed group");
    assert_eq!(
        s.load_instance(1).await.expect("load"),
        Some(instance(1, 1))
    );
}

/// Writes queued behind a hold all commit, in order, as one group.
#[tokio::test]
async fn queued_writes_commit_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = fresh(&dir, &OpenOptions::default()).await;
    let (release, hold) = mpsc::channel();
    s.submit_raw(Op::Hold(hold));
    let pending: Vec<_> = (1..=20)
        .map(|n| {
            s.commit(step(|w| {
                w.instance = Some(instance(3, n));
                w.delete_jobs_of = Some(3);
                w.add_jobs = vec![job(100 + n, 3)];
            }))
        })
        .collect();
    release.send(()).expect("release");
    for p in pending {
        p.await.expect("commit");
    }
    assert_eq!(
        s.load_instance(3).await.expect("load").map(|i| i.step),
        Some(20)
    );
    let jobs: Vec<i64> = s
        .due_jobs("n", i64::MAX, 100)
        .await
        .expect("due")
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(jobs, vec![120]);
}

/// A dead writer thread fails writes instead of hanging them; reads keep working.
#[tokio::test]
async fn dead_writer_fails_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = fresh(&dir, &OpenOptions::default()).await;
    s.commit(step(|w| w.instance = Some(instance(1, 1))))
        .await
        .expect("commit");
    let (release, hold) = mpsc::channel();
    s.submit_raw(Op::Hold(hold));
    s.submit_raw(Op::Crash);
    let queued = s.commit(step(|w| w.instance = Some(instance(2, 1))));
    release.send(()).expect("release");
    let r = tokio::time::timeout(Duration::from_secs(30), queued)
        .await
        .expect("a write queued behind the crash hung");
    assert!(matches!(r, Err(StoreError::Unavailable(_))), "{r:?}");
    let later = tokio::time::timeout(Duration::from_secs(30), s.reserve_ids(1))
        .await
        .expect("a write after the crash hung");
    assert!(
        matches!(later, Err(StoreError::Unavailable(_))),
        "{later:?}"
    );
    assert!(s.load_instance(1).await.expect("load").is_some());
}

/// Blobs round-trip exactly: NULL stays `None`, an empty blob stays `Some(empty)`.
#[tokio::test]
async fn blobs_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = fresh(&dir, &OpenOptions::default()).await;
    let rec = InstanceRecord {
        state: Some(Vec::new()),
        waits: None,
        ..instance(4, 1)
    };
    s.commit(step(|w| w.instance = Some(rec.clone())))
        .await
        .expect("commit");
    assert_eq!(s.load_instance(4).await.expect("load"), Some(rec));
    let rec = InstanceRecord {
        state: None,
        waits: Some((0..=255).collect()),
        ..instance(4, 2)
    };
    s.commit(step(|w| w.instance = Some(rec.clone())))
        .await
        .expect("commit");
    assert_eq!(s.load_instance(4).await.expect("load"), Some(rec));
}

/// The tables and columns are the shared logical schema (the PostgreSQL backend uses the same).
#[tokio::test]
async fn schema_has_the_shared_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = db_path(&dir);
    drop(open(&path, &OpenOptions::default()).await.expect("open"));
    let raw = rusqlite::Connection::open(&path).expect("raw open");
    let columns = |table: &str| -> Vec<String> {
        let mut st = raw
            .prepare(&format!("PRAGMA table_info({table})"))
            .expect("table_info");
        st.query_map([], |r| r.get::<_, String>(1))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    };
    let expect = [
        (
            "instances",
            "id process version status created_ms modified_ms step state waits fault",
        ),
        (
            "jobs",
            "id due_ms node instance process version kind details retries parked last_error",
        ),
        (
            "messages",
            "id process version partner_link operation body received_ms expires_ms",
        ),
        (
            "events",
            "seq instance process version step ts_ms kind body",
        ),
        ("nodes", "id heartbeat_ms"),
        ("id_counter", "name next"),
        ("schema_version", "version applied_ms"),
    ];
    for (table, cols) in expect {
        assert_eq!(columns(table).join(" "), cols, "columns of {table}");
    }
}

/// Throughput of single-instance-row commits with concurrent submitters. Prints only:
/// `cargo test --release --lib store::sqlite::tests::commit_throughput -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement, prints commits/s"]
async fn commit_throughput() {
    const TOTAL: i64 = 64_000;
    for submitters in [16, 64] {
        for full in [true, false] {
            let dir = tempfile::tempdir().expect("tempdir");
            let opts = OpenOptions {
                sqlite_full_sync: full,
                ..OpenOptions::default()
            };
            let s = fresh(&dir, &opts).await;
            // Ids as the engine hands them out: from one increasing sequence.
            let ids = Arc::new(std::sync::atomic::AtomicI64::new(1));
            let started = std::time::Instant::now();
            let tasks: Vec<_> = (0..submitters)
                .map(|_| {
                    let s = Arc::clone(&s);
                    let ids = Arc::clone(&ids);
                    tokio::spawn(async move {
                        for _ in 0..TOTAL / submitters {
                            let id = ids.fetch_add(1, Ordering::Relaxed);
                            let rec = InstanceRecord {
                                status: InstanceStatus::Completed,
                                state: None,
                                ..instance(id, 1)
                            };
                            s.commit(step(|w| w.instance = Some(rec)))
                                .await
                                .expect("commit");
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.expect("join");
            }
            let secs = started.elapsed().as_secs_f64();
            println!(
                "{submitters} submitters, synchronous={}: {TOTAL} commits in {secs:.2}s = {:.0}/s",
                if full { "FULL" } else { "NORMAL" },
                TOTAL as f64 / secs
            );
        }
    }
}
