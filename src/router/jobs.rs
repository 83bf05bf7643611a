//! Durable jobs (ODE's job table, FEATURES.md §7): timers and the invoke outbox, carried out
//! right after the step that created them committed; the poller picks up what is left over
//! (timers due while the server was down, invokes interrupted by a crash, failed jobs due for
//! a retry). Plus start-up recovery and dehydration of idle instances.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tracing::{debug, info, warn};

use super::index::Wait;
use super::step::{Consumed, JobDetails, Slot, runtime_status};
use super::{Deployed, Early, Router, lock};
use crate::runtime::data::Millis;
use crate::runtime::{Input, InvokeOut, InvokeResult};
use crate::store::{Job, JobFailure, JobKind, StepWrite, StoreError};

/// Failed attempts after which a job is parked for operators (ODE gives up after 10).
const MAX_JOB_RETRIES: i32 = 10;

/// What start-up recovery found.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RecoveryReport {
    /// Live instances put back into the routing index.
    pub instances: usize,
    /// Live instances whose process version is not deployed (left in the store).
    pub orphaned: usize,
    /// Parked messages kept for their receives.
    pub messages: usize,
}

impl Router {
    /// Arms an in-memory timer for a committed alarm.
    pub(super) fn schedule_timer(
        &self,
        d: Arc<Deployed>,
        id: i64,
        job: Option<i64>,
        alarm: u32,
        at: Millis,
    ) {
        let router = self.clone();
        tokio::spawn(async move {
            let delay = (at - router.now_ms()).max(0) as u64;
            if delay > 0 {
                tokio::time::sleep(Duration::from_millis(delay)).await;
            }
            debug!(instance = id, alarm, "Timer due.");
            let r = router
                .run(&d, id, Input::Alarm(alarm), Consumed { job, message: None })
                .await;
            let done = r.is_ok();
            if let Err(e) = r {
                warn!(instance = id, error = ?e, "Timer step failed; the job poller retries it.");
            }
            if let Some(j) = job {
                router.release_job(j, done);
            }
        });
    }

    /// Sends an invoke and feeds the result back into its instance; one-way sends that fail
    /// are retried from the job table.
    pub(super) async fn exec_invoke(
        &self,
        d: Arc<Deployed>,
        id: i64,
        job: Option<i64>,
        out: InvokeOut,
    ) {
        let one_way = out.one_way;
        let invoke = out.invoke;
        let result = self.call_partner(&d, out).await;
        let mut done = false;
        if self.stopped() {
            // The job stays: the next start sends it again.
            return;
        }
        if !one_way {
            let r = self
                .run(
                    &d,
                    id,
                    Input::InvokeResult { invoke, result },
                    Consumed { job, message: None },
                )
                .await;
            match r {
                Ok(()) => done = true,
                Err(e) => {
                    warn!(instance = id, error = ?e, "Invoke result not committed; the job poller re-sends it.");
                }
            }
        } else if let (Some(j), Some(store)) = (job, self.store()) {
            // A failed send is rescheduled, not finished: its retry may come due soon.
            let sent = !matches!(result, InvokeResult::Failure(_));
            let r = match result {
                InvokeResult::Failure(reason) => self.job_failed(j, 0, reason).await,
                _ => {
                    store
                        .commit(StepWrite {
                            delete_jobs: vec![j],
                            ..StepWrite::default()
                        })
                        .await
                }
            };
            match r {
                Ok(()) => done = sent,
                Err(e) => {
                    warn!(job = j, error = %e, "Cannot record the one-way send; it may be sent again.");
                }
            }
        }
        if let Some(j) = job {
            self.release_job(j, done);
        }
    }

    /// A job is no longer being carried out. When it finished (its row is deleted or
    /// rescheduled), a poll that read the job table just before may still list it: it is
    /// remembered for a while so that poll does not run it a second time.
    fn release_job(&self, job: i64, finished: bool) {
        lock(&self.inner.in_flight).remove(&job);
        if finished {
            lock(&self.inner.finished).insert(job, self.now_ms());
        }
    }

    /// Records a failed attempt: retried after 5^n seconds (ODE), parked after 10 tries.
    async fn job_failed(&self, job: i64, retries: i32, error: String) -> Result<(), StoreError> {
        let Some(store) = self.store() else {
            return Ok(());
        };
        let retries = retries + 1;
        let park = retries >= MAX_JOB_RETRIES;
        let delay_ms = 5_i64.saturating_pow(retries as u32).saturating_mul(1000);
        if park {
            warn!(job, %error, "Job failed {retries} times; parked for an operator.");
        }
        store
            .job_failed(JobFailure {
                id: job,
                retries,
                due_ms: self.now_ms().saturating_add(delay_ms),
                park,
                error,
            })
            .await
    }

    /// Start-up: puts every live instance back into the routing index (their states stay in
    /// the store until their next event), takes back parked messages, and starts the job
    /// poller (which fires timers that came due while the server was down and re-sends
    /// interrupted invokes) and the dehydrator.
    pub async fn recover(&self) -> Result<RecoveryReport, StoreError> {
        let Some(store) = self.store().cloned() else {
            return Ok(RecoveryReport::default());
        };
        let mut report = RecoveryReport::default();
        let now = self.now_ms();
        for w in store.waiting_instances().await? {
            let Some(d) = self.deployed_by_clark(&w.process, w.version as u64) else {
                report.orphaned += 1;
                continue;
            };
            let waits: Vec<Wait> = match w.waits.as_deref().map(serde_json::from_slice) {
                Some(Ok(w)) => w,
                None => Vec::new(),
                Some(Err(e)) => {
                    warn!(instance = w.id, error = %e, "Stored waits unreadable; the instance gets no messages until its next timer or operator action.");
                    Vec::new()
                }
            };
            let slot = Arc::new(Slot::new(now, runtime_status(w.status)));
            let mut r = lock(&d.routing);
            r.instances.insert(w.id, slot);
            r.index.add_waits(w.id, waits);
            report.instances += 1;
        }
        let mut expired = Vec::new();
        let mut touched: Vec<Arc<Deployed>> = Vec::new();
        for m in store.parked_messages().await? {
            let d = self.deployed_by_clark(&m.process, m.version as u64);
            let message = std::str::from_utf8(&m.body).ok().and_then(|s| {
                bpelgate_wsdl::xml::parse(s.as_bytes(), &bpelgate_wsdl::xml::Limits::default()).ok()
            });
            match (d, message) {
                (Some(d), Some(message))
                    if m.expires_ms > now && d.partner_links.contains_key(&m.partner_link) =>
                {
                    lock(&d.early).push(Early {
                        partner_link: m.partner_link.clone(),
                        operation: m.operation.clone(),
                        version: d.key.1,
                        message,
                        mex: None,
                        expires: m.expires_ms,
                        parked: Some(m.id),
                        pending: false,
                    });
                    // One kept list per process: offered once to all of its versions.
                    if !touched.iter().any(|t| Arc::ptr_eq(&t.early, &d.early)) {
                        touched.push(d);
                    }
                    report.messages += 1;
                }
                _ => expired.push(m.id),
            }
        }
        if !expired.is_empty() {
            store
                .commit(StepWrite {
                    delete_messages: expired,
                    ..StepWrite::default()
                })
                .await?;
        }
        for d in touched {
            self.offer_early(&d, true).await;
            let router = self.clone();
            let timeout = self.inner.config.early_message_timeout;
            tokio::spawn(async move {
                tokio::time::sleep(timeout).await;
                router.expire_early(&d).await;
            });
        }
        info!(
            instances = report.instances,
            orphaned = report.orphaned,
            messages = report.messages,
            "Recovered from the store."
        );
        self.spawn_poller();
        self.spawn_dehydrator();
        Ok(report)
    }

    fn spawn_poller(&self) {
        let router = self.clone();
        tokio::spawn(async move {
            // The first poll runs at once: timers overdue after a restart fire first.
            loop {
                if let Err(e) = router.poll_jobs().await {
                    warn!(error = %e, "Job poll failed; retrying.");
                }
                tokio::time::sleep(router.inner.config.poll_interval).await;
                if router.stopped() || Arc::strong_count(&router.inner) <= 1 {
                    break;
                }
            }
        });
    }

    /// Carries out due jobs nobody is working on.
    async fn poll_jobs(&self) -> Result<(), StoreError> {
        let Some(store) = self.store() else {
            return Ok(());
        };
        let horizon = self.now_ms() + self.inner.config.poll_interval.as_millis() as Millis;
        let jobs = store
            .due_jobs(&self.inner.config.node, horizon, 1_000)
            .await?;
        if !jobs.is_empty() {
            debug!(jobs = jobs.len(), "Due jobs.");
        }
        {
            // Jobs finished a minute ago cannot be in a read that started after them.
            let cutoff = self.now_ms() - 60_000;
            lock(&self.inner.finished).retain(|_, at| *at > cutoff);
        }
        for job in jobs {
            if lock(&self.inner.finished).contains_key(&job.id)
                || !lock(&self.inner.in_flight).insert(job.id)
            {
                continue;
            }
            self.dispatch(job).await;
        }
        Ok(())
    }

    async fn dispatch(&self, job: Job) {
        let release = |router: &Router, id: i64| {
            lock(&router.inner.in_flight).remove(&id);
        };
        let Some(d) = self.deployed_by_clark(&job.process, job.version as u64) else {
            let r = self
                .job_failed(
                    job.id,
                    job.retries,
                    format!(
                        "process {} version {} is not deployed",
                        job.process, job.version
                    ),
                )
                .await;
            if let Err(e) = r {
                warn!(job = job.id, error = %e, "Cannot record a job failure.");
            }
            release(self, job.id);
            return;
        };
        let details: Result<JobDetails, _> = serde_json::from_slice(&job.details);
        match (job.kind, details, job.instance) {
            (JobKind::Timer, Ok(JobDetails::Timer { alarm }), Some(inst)) => {
                self.schedule_timer(d, inst, Some(job.id), alarm, job.due_ms);
            }
            (JobKind::Invoke, Ok(JobDetails::Invoke(out)), Some(inst)) => {
                if job.retries > 0 || job.due_ms + 1_000 < self.now_ms() {
                    info!(
                        job = job.id,
                        instance = inst,
                        "Re-sending an invoke left over from before."
                    );
                }
                let router = self.clone();
                tokio::spawn(async move {
                    router.exec_invoke(d, inst, Some(job.id), out).await;
                });
            }
            (kind, details, _) => {
                let reason = match details {
                    Err(e) => format!("job details unreadable: {e}"),
                    Ok(_) => format!("job of kind {} has no instance", kind.as_str()),
                };
                if let Some(store) = self.store() {
                    let r = store
                        .job_failed(JobFailure {
                            id: job.id,
                            retries: job.retries + 1,
                            due_ms: job.due_ms,
                            park: true,
                            error: reason,
                        })
                        .await;
                    if let Err(e) = r {
                        warn!(job = job.id, error = %e, "Cannot park a broken job.");
                    }
                }
                release(self, job.id);
            }
        }
    }

    /// After a failed commit: once the store answers, put the instance's committed waits back
    /// into the index (the failed step's message had already been taken out of it).
    pub(super) fn spawn_repair(&self, d: Arc<Deployed>, id: i64) {
        let router = self.clone();
        tokio::spawn(async move {
            let Some(store) = router.store().cloned() else {
                return;
            };
            let mut delay = Duration::from_millis(200);
            loop {
                match store.load_instance(id).await {
                    Ok(Some(rec)) if !rec.status.is_final() && rec.state.is_some() => {
                        let waits: Vec<Wait> = rec
                            .waits
                            .as_deref()
                            .and_then(|w| serde_json::from_slice(w).ok())
                            .unwrap_or_default();
                        debug!(
                            instance = id,
                            waits = waits.len(),
                            "Routing entries restored."
                        );
                        let mut r = lock(&d.routing);
                        r.index.remove_instance(id);
                        r.index.add_waits(id, waits);
                        return;
                    }
                    Ok(rec) => {
                        debug!(
                            instance = id,
                            found = rec.is_some(),
                            "The instance has ended; routing entries dropped."
                        );
                        let mut r = lock(&d.routing);
                        r.index.remove_instance(id);
                        r.instances.remove(&id);
                        return;
                    }
                    Err(e) => {
                        debug!(instance = id, error = %e, "Store still unavailable.");
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(10));
                    }
                }
            }
        });
    }

    fn spawn_dehydrator(&self) {
        let router = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(2)).await;
                if router.stopped() || Arc::strong_count(&router.inner) <= 1 {
                    break;
                }
                router.dehydrate();
            }
        });
    }

    /// Records that a persistent instance is in memory after a step (most recent last).
    pub(super) fn note_hydrated(&self, slot: &Arc<Slot>) {
        let seq = self.inner.touch_seq.fetch_add(1, Ordering::Relaxed) + 1;
        slot.touched.store(seq, Ordering::Relaxed);
        let mut lru = lock(&self.inner.lru);
        lru.push_back((Arc::downgrade(slot), seq, self.now_ms()));
        // Every step adds an entry; drop the ones a later step superseded now and then.
        let bound = 4 * self.inner.config.max_hydrated + 1024;
        if lru.len() > bound {
            lru.retain(|(w, seq, _)| {
                w.upgrade()
                    .is_some_and(|s| s.touched.load(Ordering::Relaxed) == *seq)
            });
        }
    }

    /// Drops the least recently used instances while more than the maximum count are in
    /// memory (right after the step that went over, so bursts never pile up).
    pub(super) fn dehydrate_if_over(&self) -> usize {
        let max = self.inner.config.max_hydrated as i64;
        let mut dropped = 0;
        while self.inner.hydrated.load(Ordering::Relaxed) > max {
            let Some(entry) = lock(&self.inner.lru).pop_front() else {
                break;
            };
            dropped += usize::from(self.evict(entry));
        }
        dropped
    }

    /// Drops an instance from memory if `entry` is still its latest use and nobody is
    /// stepping it.
    fn evict(&self, (slot, seq, _): (std::sync::Weak<Slot>, u64, Millis)) -> bool {
        let Some(slot) = slot.upgrade() else {
            return false;
        };
        if slot.touched.load(Ordering::Relaxed) != seq {
            return false;
        }
        let Ok(mut cell) = slot.cell.try_lock() else {
            return false;
        };
        if cell.inst.take().is_some() {
            self.inner.hydrated.fetch_sub(1, Ordering::Relaxed);
            return true;
        }
        false
    }

    /// Drops idle persistent instances from memory: those idle longer than the maximum age,
    /// then the least recently used beyond the maximum count. Cost: the entries dropped, not
    /// the instances waiting.
    pub fn dehydrate(&self) -> usize {
        let oldest = self.now_ms() - self.inner.config.dehydrate_after.as_millis() as Millis;
        let mut dropped = 0;
        loop {
            let entry = {
                let mut lru = lock(&self.inner.lru);
                match lru.front() {
                    Some((_, _, at)) if *at < oldest => lru.pop_front(),
                    _ => None,
                }
            };
            let Some(entry) = entry else {
                break;
            };
            dropped += usize::from(self.evict(entry));
        }
        dropped + self.dehydrate_if_over()
    }

    /// Instances from the store (every process, persisted ones only), newest first.
    pub async fn stored_instances(
        &self,
        query: crate::store::InstanceQuery,
    ) -> Result<Vec<crate::store::InstanceSummary>, StoreError> {
        match self.store() {
            Some(s) => s.instances(query).await,
            None => Ok(Vec::new()),
        }
    }

    /// Deletes a stored instance with its jobs and events; false when the store has no such
    /// instance (or there is no store). The caller makes sure the instance has ended.
    pub async fn delete_stored_instance(&self, id: i64) -> Result<bool, StoreError> {
        match self.store() {
            Some(s) => s.delete_instance(id).await,
            None => Ok(false),
        }
    }

    /// Jobs parked after too many failures.
    pub async fn parked_jobs(&self) -> Result<Vec<crate::store::Job>, StoreError> {
        match self.store() {
            Some(s) => s.parked_jobs().await,
            None => Ok(Vec::new()),
        }
    }

    /// Stored events of one instance.
    pub async fn stored_events(
        &self,
        instance: i64,
    ) -> Result<Vec<crate::store::EventRecord>, StoreError> {
        match self.store() {
            Some(s) => s.instance_events(instance).await,
            None => Ok(Vec::new()),
        }
    }

    /// Whether a store keeps persistent instances.
    pub fn is_persistent(&self) -> bool {
        self.store().is_some()
    }
}
