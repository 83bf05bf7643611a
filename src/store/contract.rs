//! Behaviour every backend must have: the same checks run against SQLite and PostgreSQL.
//! Each check takes a freshly initialised, empty store.

use super::*;

fn instance(id: i64, status: InstanceStatus) -> InstanceRecord {
    InstanceRecord {
        id,
        process: "{urn:t}P".into(),
        version: 3,
        status,
        created_ms: 1_000 + id,
        modified_ms: 2_000 + id,
        step: 1,
        state: (!status.is_final()).then(|| format!("state-{id}").into_bytes()),
        waits: (!status.is_final()).then(|| b"[waits]".to_vec()),
        fault: (status == InstanceStatus::Faulted).then(|| "{urn:t}oops".into()),
    }
}

fn job(id: i64, due_ms: i64, node: Option<&str>, instance: Option<i64>) -> Job {
    Job {
        id,
        due_ms,
        node: node.map(str::to_string),
        instance,
        process: "{urn:t}P".into(),
        version: 3,
        kind: JobKind::Timer,
        details: format!("alarm-{id}").into_bytes(),
        retries: 0,
        parked: false,
        last_error: None,
    }
}

/// Ids are increasing and never handed out twice.
pub(crate) async fn reserve_ids(s: &dyn Store) {
    let a = s.reserve_ids(100).await.expect("reserve");
    let b = s.reserve_ids(10).await.expect("reserve");
    assert!(a >= 1, "ids start at 1 or above, got {a}");
    assert!(
        b >= a + 100,
        "second block {b} overlaps the first {a}..{}",
        a + 100
    );
}

/// A committed instance reads back identically; a later step replaces it.
pub(crate) async fn instance_roundtrip(s: &dyn Store) {
    let rec = instance(7, InstanceStatus::Active);
    s.commit(StepWrite {
        instance: Some(rec.clone()),
        ..StepWrite::default()
    })
    .await
    .expect("commit");
    assert_eq!(s.load_instance(7).await.expect("load"), Some(rec.clone()));
    let done = InstanceRecord {
        step: 2,
        ..instance(7, InstanceStatus::Completed)
    };
    s.commit(StepWrite {
        instance: Some(done.clone()),
        ..StepWrite::default()
    })
    .await
    .expect("commit");
    assert_eq!(s.load_instance(7).await.expect("load"), Some(done));
    assert_eq!(s.load_instance(8).await.expect("load"), None);
}

/// Only active and suspended instances are waiting; final ones are not.
pub(crate) async fn waiting_instances(s: &dyn Store) {
    for (id, st) in [
        (1, InstanceStatus::Active),
        (2, InstanceStatus::Completed),
        (3, InstanceStatus::Suspended),
        (4, InstanceStatus::Faulted),
        (5, InstanceStatus::Terminated),
    ] {
        s.commit(StepWrite {
            instance: Some(instance(id, st)),
            ..StepWrite::default()
        })
        .await
        .expect("commit");
    }
    let mut w = s.waiting_instances().await.expect("waiting");
    w.sort_by_key(|w| w.id);
    let ids: Vec<(i64, InstanceStatus)> = w.iter().map(|w| (w.id, w.status)).collect();
    assert_eq!(
        ids,
        vec![(1, InstanceStatus::Active), (3, InstanceStatus::Suspended)]
    );
    assert_eq!(w[0].waits.as_deref(), Some(&b"[waits]"[..]));
    assert_eq!(w[0].process, "{urn:t}P");
    assert_eq!(w[0].version, 3);
}

/// Due jobs: own and unowned, not others', not parked, earliest first; failures reschedule
/// or park; steps delete them one by one or per instance.
pub(crate) async fn jobs(s: &dyn Store) {
    s.commit(StepWrite {
        add_jobs: vec![
            job(10, 500, Some("n1"), Some(1)),
            job(11, 100, None, Some(1)),
            job(12, 50, Some("n2"), Some(2)),
            job(13, 5_000, Some("n1"), Some(2)),
            job(14, 200, Some("n1"), Some(2)),
        ],
        ..StepWrite::default()
    })
    .await
    .expect("commit");
    let due: Vec<i64> = s
        .due_jobs("n1", 1_000, 10)
        .await
        .expect("due")
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(due, vec![11, 14, 10]);
    let limited = s.due_jobs("n1", 1_000, 1).await.expect("due");
    assert_eq!(limited.len(), 1);
    assert_eq!(limited[0], job(11, 100, None, Some(1)));

    s.job_failed(JobFailure {
        id: 14,
        retries: 1,
        due_ms: 3_000,
        park: false,
        error: "partner down".into(),
    })
    .await
    .expect("failed");
    s.job_failed(JobFailure {
        id: 10,
        retries: 10,
        due_ms: 0,
        park: true,
        error: "gave up".into(),
    })
    .await
    .expect("failed");
    let due: Vec<i64> = s
        .due_jobs("n1", 4_000, 10)
        .await
        .expect("due")
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(due, vec![11, 14]);
    let parked = s.parked_jobs().await.expect("parked");
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].id, 10);
    assert!(parked[0].parked);
    assert_eq!(parked[0].retries, 10);
    assert_eq!(parked[0].last_error.as_deref(), Some("gave up"));

    s.commit(StepWrite {
        delete_jobs: vec![11],
        delete_jobs_of: Some(2),
        ..StepWrite::default()
    })
    .await
    .expect("commit");
    assert!(
        s.due_jobs("n1", i64::MAX, 10)
            .await
            .expect("due")
            .is_empty()
    );
    assert!(
        s.due_jobs("n2", i64::MAX, 10)
            .await
            .expect("due")
            .is_empty()
    );
}

/// Parked messages are kept until a step deletes them.
pub(crate) async fn parked_messages(s: &dyn Store) {
    let m = ParkedMessage {
        id: 21,
        process: "{urn:t}P".into(),
        version: 3,
        partner_link: "client".into(),
        operation: "notify".into(),
        body: b"<message><payload>x</payload></message>".to_vec(),
        received_ms: 10,
        expires_ms: 60_010,
    };
    s.commit(StepWrite {
        park_messages: vec![m.clone()],
        ..StepWrite::default()
    })
    .await
    .expect("commit");
    assert_eq!(s.parked_messages().await.expect("parked"), vec![m]);
    s.commit(StepWrite {
        delete_messages: vec![21],
        ..StepWrite::default()
    })
    .await
    .expect("commit");
    assert!(s.parked_messages().await.expect("parked").is_empty());
}

/// Events are stored with their step, listed in order, and go with their instance.
pub(crate) async fn events_and_delete(s: &dyn Store) {
    let ev = |step: i64, kind: &str| EventRecord {
        instance: Some(5),
        process: "{urn:t}P".into(),
        version: 3,
        step,
        ts_ms: 100 + step,
        kind: kind.into(),
        body: format!("{{\"step\":{step}}}").into_bytes(),
    };
    s.commit(StepWrite {
        instance: Some(instance(5, InstanceStatus::Active)),
        events: vec![
            ev(1, "NewProcessInstanceEvent"),
            ev(1, "ActivityEnabledEvent"),
        ],
        add_jobs: vec![job(30, 10, None, Some(5))],
        ..StepWrite::default()
    })
    .await
    .expect("commit");
    s.commit(StepWrite {
        events: vec![ev(2, "ProcessCompletionEvent")],
        ..StepWrite::default()
    })
    .await
    .expect("commit");
    let got = s.instance_events(5).await.expect("events");
    assert_eq!(
        got,
        vec![
            ev(1, "NewProcessInstanceEvent"),
            ev(1, "ActivityEnabledEvent"),
            ev(2, "ProcessCompletionEvent")
        ]
    );
    assert!(s.delete_instance(5).await.expect("delete"));
    assert!(!s.delete_instance(5).await.expect("delete"));
    assert_eq!(s.load_instance(5).await.expect("load"), None);
    assert!(s.instance_events(5).await.expect("events").is_empty());
    assert!(s.due_jobs("n", i64::MAX, 10).await.expect("due").is_empty());
}

/// `<cleanup>` purges in the step that ends an instance: events only, or the row too; other
/// instances keep theirs. Run concurrently, so that PostgreSQL batches them with other writes.
pub(crate) async fn cleanup_purges(s: Arc<dyn Store>) {
    let ev = |instance: i64, step: i64| EventRecord {
        instance: Some(instance),
        process: "{urn:t}P".into(),
        version: 1,
        step,
        ts_ms: step,
        kind: "ActivityEnabledEvent".into(),
        body: b"{}".to_vec(),
    };
    for id in [11, 12, 13] {
        s.commit(StepWrite {
            instance: Some(instance(id, InstanceStatus::Active)),
            events: vec![ev(id, 1)],
            ..StepWrite::default()
        })
        .await
        .expect("commit");
    }
    let end = |id: i64, purge_events: bool, purge_row: bool| StepWrite {
        instance: Some(instance(id, InstanceStatus::Completed)),
        events: vec![ev(id, 2)],
        delete_jobs_of: Some(id),
        purge_events_of: purge_events.then_some(id),
        purge_instance: purge_row.then_some(id),
        ..StepWrite::default()
    };
    let (a, b, c) = (s.clone(), s.clone(), s.clone());
    let (ra, rb, rc) = tokio::join!(
        a.commit(end(11, true, true)),
        b.commit(end(12, true, false)),
        c.commit(end(13, false, false)),
    );
    ra.expect("commit 11");
    rb.expect("commit 12");
    rc.expect("commit 13");
    assert_eq!(s.load_instance(11).await.expect("load"), None);
    assert!(s.instance_events(11).await.expect("events").is_empty());
    let kept = s
        .load_instance(12)
        .await
        .expect("load")
        .expect("row 12 kept");
    assert_eq!(kept.status, InstanceStatus::Completed);
    assert!(s.instance_events(12).await.expect("events").is_empty());
    assert!(s.load_instance(13).await.expect("load").is_some());
    assert_eq!(s.instance_events(13).await.expect("events").len(), 2);
}

/// Listing by status, process, ids, creation time, with a limit; newest first.
pub(crate) async fn list_instances(s: &dyn Store) {
    for (id, st) in [
        (1, InstanceStatus::Active),
        (2, InstanceStatus::Completed),
        (3, InstanceStatus::Faulted),
        (4, InstanceStatus::Active),
    ] {
        s.commit(StepWrite {
            instance: Some(instance(id, st)),
            ..StepWrite::default()
        })
        .await
        .expect("commit");
    }
    let ids = |v: Vec<InstanceSummary>| v.iter().map(|i| i.id).collect::<Vec<_>>();
    let all = s
        .instances(InstanceQuery::default())
        .await
        .expect("instances");
    assert_eq!(ids(all.clone()), vec![4, 3, 2, 1]);
    assert_eq!(all[1].fault.as_deref(), Some("{urn:t}oops"));
    let active = s
        .instances(InstanceQuery {
            status: vec![InstanceStatus::Active],
            ..InstanceQuery::default()
        })
        .await
        .expect("instances");
    assert_eq!(ids(active), vec![4, 1]);
    let some = s
        .instances(InstanceQuery {
            ids: vec![2, 3],
            limit: 1,
            ..InstanceQuery::default()
        })
        .await
        .expect("instances");
    assert_eq!(ids(some), vec![3]);
    let recent = s
        .instances(InstanceQuery {
            created_from: Some(1_002),
            created_before: Some(1_004),
            process: Some("{urn:t}P".into()),
            version: Some(3),
            ..InstanceQuery::default()
        })
        .await
        .expect("instances");
    assert_eq!(ids(recent), vec![3, 2]);
    let other = s
        .instances(InstanceQuery {
            process: Some("{urn:t}Q".into()),
            ..InstanceQuery::default()
        })
        .await
        .expect("instances");
    assert!(other.is_empty());
}

/// Many concurrent commits all become durable (group commit keeps every write).
pub(crate) async fn concurrent_commits(s: Arc<dyn Store>) {
    let mut tasks = Vec::new();
    for id in 100..400 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.commit(StepWrite {
                instance: Some(instance(id, InstanceStatus::Active)),
                add_jobs: vec![job(id + 10_000, 1, None, Some(id))],
                ..StepWrite::default()
            })
            .await
        }));
    }
    for t in tasks {
        t.await.expect("join").expect("commit");
    }
    assert_eq!(s.waiting_instances().await.expect("waiting").len(), 300);
    assert_eq!(s.due_jobs("n", 10, 1_000).await.expect("due").len(), 300);
}

/// Writes for one instance apply in submission order even when submitted without waiting.
pub(crate) async fn ordered_commits(s: Arc<dyn Store>) {
    let mut futures = Vec::new();
    for step in 1..=50 {
        futures.push(s.commit(StepWrite {
            instance: Some(InstanceRecord {
                step,
                ..instance(9, InstanceStatus::Active)
            }),
            ..StepWrite::default()
        }));
    }
    for f in futures {
        f.await.expect("commit");
    }
    let got = s.load_instance(9).await.expect("load").expect("present");
    assert_eq!(got.step, 50);
}

/// Runs every check, each on a fresh store made by `fresh`.
pub(crate) async fn run_all<F, Fut>(fresh: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn Store>>,
{
    reserve_ids(fresh().await.as_ref()).await;
    instance_roundtrip(fresh().await.as_ref()).await;
    waiting_instances(fresh().await.as_ref()).await;
    jobs(fresh().await.as_ref()).await;
    parked_messages(fresh().await.as_ref()).await;
    events_and_delete(fresh().await.as_ref()).await;
    list_instances(fresh().await.as_ref()).await;
    cleanup_purges(fresh().await).await;
    concurrent_commits(fresh().await).await;
    ordered_commits(fresh().await).await;
}
