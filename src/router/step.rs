//! One instance step: lock the instance, hydrate it when it was dropped from memory, run the
//! step, commit what it produced (persistent processes), re-index it, then carry out its
//! effects. Nothing leaves the engine before the commit (DESIGN decision 2).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU8, Ordering};

use bpelgate_wsdl::{Element, QName};
use tracing::{debug, warn};

use super::index::{self, Claim, WaitKey};
use super::{Deployed, Early, RouteError, Router, lock};
use crate::runtime::data::Millis;
use crate::runtime::state::{MexId, Status};
use crate::runtime::{Effects, Input, InvokeOut, ReplyBody, ReplyOut, new_instance, step};
use crate::store::{
    EventRecord, InstanceRecord, InstanceStatus, Job, JobKind, StepWrite, StoreError,
};

/// A live instance: its state when hydrated, else only its id (the state is in the store).
pub(super) struct Slot {
    pub(super) cell: tokio::sync::Mutex<Cell>,
    pub(super) last_used: AtomicI64,
    /// Sequence number of the latest use (matches the newest dehydration-queue entry).
    pub(super) touched: std::sync::atomic::AtomicU64,
    status: AtomicU8,
}

pub(super) struct Cell {
    /// `None`: dehydrated (persistent processes only).
    /// Boxed: a dehydrated slot then costs a pointer, not an inline `Instance`.
    pub(super) inst: Option<Box<crate::runtime::Instance>>,
    /// Steps committed so far.
    pub(super) step: i64,
    pub(super) created_ms: i64,
}

impl Slot {
    pub(super) fn new(now: Millis, status: Status) -> Self {
        Slot {
            cell: tokio::sync::Mutex::new(Cell {
                inst: None,
                step: 0,
                created_ms: now,
            }),
            last_used: AtomicI64::new(now),
            touched: std::sync::atomic::AtomicU64::new(0),
            status: AtomicU8::new(status_code(status)),
        }
    }

    pub(super) fn status_name(&self) -> String {
        let s = match self.status.load(Ordering::Relaxed) {
            0 => Status::Active,
            1 => Status::Suspended,
            2 => Status::Completed,
            3 => Status::Faulted,
            _ => Status::Terminated,
        };
        format!("{s:?}")
    }
}

fn status_code(s: Status) -> u8 {
    match s {
        Status::Active => 0,
        Status::Suspended => 1,
        Status::Completed => 2,
        Status::Faulted => 3,
        Status::Terminated => 4,
    }
}

pub(super) fn stored_status(s: Status) -> InstanceStatus {
    match s {
        Status::Active => InstanceStatus::Active,
        Status::Suspended => InstanceStatus::Suspended,
        Status::Completed => InstanceStatus::Completed,
        Status::Faulted => InstanceStatus::Faulted,
        Status::Terminated => InstanceStatus::Terminated,
    }
}

pub(super) fn runtime_status(s: InstanceStatus) -> Status {
    match s {
        InstanceStatus::Active => Status::Active,
        InstanceStatus::Suspended => Status::Suspended,
        InstanceStatus::Completed => Status::Completed,
        InstanceStatus::Faulted => Status::Faulted,
        InstanceStatus::Terminated => Status::Terminated,
    }
}

/// Durable rows an input consumes in the step it triggers.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Consumed {
    /// The job that fired (timer, invoke result).
    pub(super) job: Option<i64>,
    /// The parked message delivered.
    pub(super) message: Option<i64>,
}

/// What a persisted job carries (serialized into `jobs.details`).
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) enum JobDetails {
    Timer { alarm: u32 },
    Invoke(InvokeOut),
}

fn fault(name: &str, explanation: String) -> ReplyBody {
    ReplyBody::Fault {
        name: QName::new(crate::runtime::fault::BPEL_NS, name),
        data: None,
        explanation,
    }
}

fn input_mex(input: &Input) -> Option<MexId> {
    match input {
        Input::Message { mex, .. } | Input::Ambiguous { mex, .. } => *mex,
        _ => None,
    }
}

impl Router {
    /// Runs one step of instance `id` and everything it leads to.
    pub(super) async fn run(
        &self,
        d: &Arc<Deployed>,
        id: i64,
        input: Input,
        consumed: Consumed,
    ) -> Result<(), RouteError> {
        let mex = input_mex(&input);
        if self.stopped() {
            if let Some(m) = mex {
                self.send_unavailable(m, "the engine is stopping");
            }
            return Err(RouteError::Unavailable("the engine is stopping".into()));
        }
        let slot = lock(&d.routing).instances.get(&id).cloned();
        let Some(slot) = slot else {
            debug!(
                instance = id,
                "Input for an instance that is not live; dropped."
            );
            self.gone(d, id, mex, consumed).await;
            return Ok(());
        };
        let mut cell = slot.cell.lock().await;
        if cell.inst.is_none() {
            match self.hydrate(d, id, &mut cell).await {
                Ok(true) => {}
                Ok(false) => {
                    drop(cell);
                    {
                        let mut r = lock(&d.routing);
                        r.instances.remove(&id);
                        r.index.remove_instance(id);
                    }
                    self.gone(d, id, mex, consumed).await;
                    return Ok(());
                }
                Err(e) => {
                    warn!(process = %d.key.0, instance = id, error = %e, "Cannot load the instance.");
                    if let Some(m) = mex {
                        self.send_unavailable(m, &e.to_string());
                    }
                    return Err(RouteError::store(e));
                }
            }
        }
        let Some(inst) = cell.inst.as_mut() else {
            return Ok(());
        };
        let fx = step(&d.ctx, inst, self.now_ms(), input);
        let follow = self
            .finish_step(d, id, &slot, &mut cell, fx, consumed, mex, false)
            .await;
        drop(cell);
        self.run_follow(d, follow?).await;
        Ok(())
    }

    /// An input for an instance that no longer exists.
    async fn gone(&self, d: &Arc<Deployed>, id: i64, mex: Option<MexId>, consumed: Consumed) {
        if let Some(m) = mex {
            self.send_reply(
                m,
                fault("correlationViolation", format!("instance {id} has ended")),
            );
        }
        self.discard(d, consumed).await;
    }

    /// Deletes rows an input consumed when there is no step to commit them with.
    pub(super) async fn discard(&self, d: &Arc<Deployed>, consumed: Consumed) {
        let (Some(store), true) = (self.store(), d.persistent) else {
            return;
        };
        if consumed.job.is_none() && consumed.message.is_none() {
            return;
        }
        let write = StepWrite {
            delete_jobs: consumed.job.into_iter().collect(),
            delete_messages: consumed.message.into_iter().collect(),
            ..StepWrite::default()
        };
        if let Err(e) = store.commit(write).await {
            warn!(error = %e, "Cannot delete a consumed job or message; it will be retried.");
        }
    }

    /// Loads a dehydrated instance; false when the store has no live state for it.
    async fn hydrate(
        &self,
        d: &Arc<Deployed>,
        id: i64,
        cell: &mut Cell,
    ) -> Result<bool, StoreError> {
        let Some(store) = self.store().filter(|_| d.persistent) else {
            return Ok(false);
        };
        let Some(rec) = store.load_instance(id).await? else {
            return Ok(false);
        };
        let Some(state) = rec.state else {
            return Ok(false);
        };
        let inst = crate::runtime::Instance::from_bytes(&state)
            .map_err(|e| StoreError::Database(format!("instance {id}: {e}")))?;
        cell.inst = Some(Box::new(inst));
        cell.step = rec.step;
        cell.created_ms = rec.created_ms;
        self.inner.hydrated.fetch_add(1, Ordering::Relaxed);
        debug!(instance = id, "Instance hydrated.");
        Ok(true)
    }

    /// Creates an instance for a message that a start activity accepts.
    pub(super) async fn create(
        &self,
        d: &Arc<Deployed>,
        key: WaitKey,
        message: Element,
        mex: Option<MexId>,
    ) -> Result<(), RouteError> {
        if self.stopped() {
            return Err(RouteError::Unavailable("the engine is stopping".into()));
        }
        let id = self.next_id().await.map_err(RouteError::store)?;
        let mut inst = new_instance(id);
        debug!(process = %d.key.0, instance = id, "New instance.");
        let now = self.now_ms();
        let mut fx = step(&d.ctx, &mut inst, now, Input::Start);
        let sub = inst
            .subscriptions
            .iter()
            .find(|(_, s)| {
                s.create_instance
                    && s.partner_link == key.partner_link
                    && s.operation == key.operation
            })
            .map(|(id, _)| *id);
        match sub {
            Some(sub) => {
                let fx2 = step(
                    &d.ctx,
                    &mut inst,
                    now,
                    Input::Message {
                        subscription: sub,
                        message,
                        mex,
                    },
                );
                merge(&mut fx, fx2);
            }
            None => {
                // The start activity was not reached (e.g. the process faulted first).
                if let Some(m) = mex {
                    fx.replies.push(ReplyOut {
                        mex: m,
                        operation: key.operation,
                        body: ReplyBody::Fault {
                            name: inst.fault.as_ref().map(|f| f.name.clone()).unwrap_or_else(
                                || QName::new(crate::runtime::fault::BPEL_NS, "missingRequest"),
                            ),
                            data: None,
                            explanation: "the new instance did not reach its start activity".into(),
                        },
                    });
                }
            }
        }
        let slot = Arc::new(Slot::new(now, inst.status));
        let mut cell = slot.cell.lock().await;
        cell.inst = Some(Box::new(inst));
        cell.created_ms = now;
        if d.persistent {
            self.inner.hydrated.fetch_add(1, Ordering::Relaxed);
        }
        let follow = self
            .finish_step(d, id, &slot, &mut cell, fx, Consumed::default(), mex, true)
            .await;
        drop(cell);
        self.run_follow(d, follow?).await;
        Ok(())
    }

    /// Commits a step (persistent processes), re-indexes the instance and carries out the
    /// step's effects. On a failed commit nothing leaves the engine: the instance is dropped
    /// from memory (its last committed state is reloaded on the next event) and everyone
    /// waiting on this step is told the engine is unavailable.
    #[allow(clippy::too_many_arguments)]
    async fn finish_step(
        &self,
        d: &Arc<Deployed>,
        id: i64,
        slot: &Arc<Slot>,
        cell: &mut Cell,
        fx: Effects,
        consumed: Consumed,
        mex: Option<MexId>,
        new: bool,
    ) -> Result<Vec<(Claim, Early)>, RouteError> {
        let Some(inst) = cell.inst.as_ref() else {
            return Ok(Vec::new());
        };
        let now = self.now_ms();
        let status = inst.status;
        let ended = fx.ended || status.is_final();
        let reindex = new || fx.subscriptions_changed || ended;
        let waits = if ended || !(reindex || d.persistent) {
            Vec::new()
        } else {
            index::waits(&d.ctx, inst)
        };
        cell.step += 1;
        let timers: Vec<(Option<i64>, u32, Millis)>;
        let invokes: Vec<(Option<i64>, InvokeOut)>;
        let Effects {
            replies,
            invokes: outs,
            alarms,
            events,
            ..
        } = fx;
        if let (Some(store), true) = (self.store().cloned(), d.persistent) {
            let mut write = StepWrite {
                delete_jobs: consumed.job.into_iter().collect(),
                delete_jobs_of: ended.then_some(id),
                delete_messages: consumed.message.into_iter().collect(),
                ..StepWrite::default()
            };
            let built = self
                .step_write(d, id, cell, status, ended, &waits, &mut write, alarms, outs)
                .await;
            let (t, i) = match built {
                Ok(x) => x,
                Err(e) => {
                    return Err(self.step_failed(d, id, cell, new, &replies, mex, e));
                }
            };
            timers = t;
            invokes = i;
            write.events = events
                .iter()
                .map(|e| EventRecord {
                    instance: Some(id),
                    process: d.clark.clone(),
                    version: d.key.1 as i64,
                    step: cell.step,
                    ts_ms: e.timestamp_ms,
                    kind: e.ode_type().to_string(),
                    body: serde_json::to_vec(e).unwrap_or_default(),
                })
                .collect();
            if ended {
                let purge = d.cleanup.for_end(status);
                if purge.events {
                    write.events.clear();
                    write.purge_events_of = Some(id);
                }
                if purge.row {
                    write.purge_instance = Some(id);
                }
            }
            if let Err(e) = store.commit(write).await {
                let mut f = lock(&self.inner.in_flight);
                for (job, ..) in &timers {
                    job.map(|j| f.remove(&j));
                }
                for (job, _) in &invokes {
                    job.map(|j| f.remove(&j));
                }
                drop(f);
                return Err(self.step_failed(d, id, cell, new, &replies, mex, e));
            }
        } else {
            timers = alarms.into_iter().map(|(a, at)| (None, a, at)).collect();
            invokes = outs.into_iter().map(|o| (None, o)).collect();
        }
        slot.last_used.store(now, Ordering::Relaxed);
        slot.status.store(status_code(status), Ordering::Relaxed);
        let follow = if reindex {
            let mut r = lock(&d.routing);
            r.index.remove_instance(id);
            if ended {
                r.instances.remove(&id);
                Vec::new()
            } else {
                if new {
                    r.instances.insert(id, slot.clone());
                }
                r.index.add_waits(id, waits);
                claim_early(d, &mut r)
            }
        } else {
            Vec::new()
        };
        if ended && d.persistent && cell.inst.take().is_some() {
            self.inner.hydrated.fetch_sub(1, Ordering::Relaxed);
        }
        if d.persistent && cell.inst.is_some() {
            self.note_hydrated(slot);
            self.dehydrate_if_over();
        }
        self.apply(d, id, events, replies, timers, invokes);
        Ok(follow)
    }

    /// Delivers kept messages that a step's new subscriptions matched (after the step's
    /// instance lock is released: they may be for the same instance).
    pub(super) async fn run_follow(&self, d: &Arc<Deployed>, follow: Vec<(Claim, Early)>) {
        for (c, e) in follow {
            let consumed = Consumed {
                job: None,
                message: e.parked,
            };
            let input = c.input(e.message, e.mex);
            let r = Box::pin(self.run(d, c.instance, input, consumed)).await;
            if let Err(e) = r {
                warn!(instance = c.instance, error = ?e, "A kept message could not be delivered now.");
            }
        }
    }

    /// Fills the step's write: the instance row and the jobs of its timers and invokes.
    #[allow(clippy::too_many_arguments, clippy::type_complexity)]
    async fn step_write(
        &self,
        d: &Arc<Deployed>,
        id: i64,
        cell: &Cell,
        status: Status,
        ended: bool,
        waits: &[index::Wait],
        write: &mut StepWrite,
        alarms: Vec<(u32, Millis)>,
        outs: Vec<InvokeOut>,
    ) -> Result<
        (
            Vec<(Option<i64>, u32, Millis)>,
            Vec<(Option<i64>, InvokeOut)>,
        ),
        StoreError,
    > {
        let now = self.now_ms();
        let inst = cell.inst.as_ref();
        let state = match inst {
            Some(inst) if !ended => Some(
                inst.to_bytes()
                    .map_err(|e| StoreError::Database(format!("instance {id}: {e}")))?,
            ),
            _ => None,
        };
        let waits = (!ended).then(|| serde_json::to_vec(waits).unwrap_or_default());
        write.instance = Some(InstanceRecord {
            id,
            process: d.clark.clone(),
            version: d.key.1 as i64,
            status: stored_status(status),
            created_ms: cell.created_ms,
            modified_ms: now,
            step: cell.step,
            state,
            waits,
            fault: inst
                .and_then(|i| i.fault.as_ref())
                .filter(|_| status == Status::Faulted)
                .map(|f| f.name.to_string()),
        });
        let mut timers = Vec::new();
        let mut invokes = Vec::new();
        let job = |job_id: i64, due_ms: i64, kind: JobKind, details: &JobDetails| Job {
            id: job_id,
            due_ms,
            node: Some(self.inner.config.node.clone()),
            instance: Some(id),
            process: d.clark.clone(),
            version: d.key.1 as i64,
            kind,
            details: serde_json::to_vec(details).unwrap_or_default(),
            retries: 0,
            parked: false,
            last_error: None,
        };
        let mut jobs = Vec::new();
        for (alarm, at) in alarms {
            let jid = self.next_id().await?;
            jobs.push(job(jid, at, JobKind::Timer, &JobDetails::Timer { alarm }));
            timers.push((Some(jid), alarm, at));
        }
        for out in outs {
            let jid = self.next_id().await?;
            let details = JobDetails::Invoke(out);
            jobs.push(job(jid, now, JobKind::Invoke, &details));
            let JobDetails::Invoke(out) = details else {
                continue;
            };
            invokes.push((Some(jid), out));
        }
        {
            // Marked before the commit, so the job poller never picks them up in between.
            let mut f = lock(&self.inner.in_flight);
            for j in &jobs {
                f.insert(j.id);
            }
        }
        write.add_jobs = jobs;
        Ok((timers, invokes))
    }

    #[allow(clippy::too_many_arguments)]
    fn step_failed(
        &self,
        d: &Arc<Deployed>,
        id: i64,
        cell: &mut Cell,
        new: bool,
        replies: &[ReplyOut],
        mex: Option<MexId>,
        e: StoreError,
    ) -> RouteError {
        warn!(process = %d.key.0, instance = id, error = %e, "Step not committed; the instance goes back to its last committed state.");
        cell.step -= 1;
        if cell.inst.take().is_some() {
            self.inner.hydrated.fetch_sub(1, Ordering::Relaxed);
        }
        let reason = e.to_string();
        for r in replies {
            self.send_unavailable(r.mex, &reason);
        }
        if let Some(m) = mex {
            self.send_unavailable(m, &reason);
        }
        if !new {
            // The routing index already gave this step's message away; put the instance's
            // committed waits back once the store answers again.
            self.spawn_repair(d.clone(), id);
        }
        RouteError::store(e)
    }

    /// Carries out a committed step's effects.
    fn apply(
        &self,
        d: &Arc<Deployed>,
        id: i64,
        events: Vec<crate::events::Event>,
        replies: Vec<ReplyOut>,
        timers: Vec<(Option<i64>, u32, Millis)>,
        invokes: Vec<(Option<i64>, InvokeOut)>,
    ) {
        if !events.is_empty() {
            self.inner.config.events.publish(&events);
        }
        for r in replies {
            self.send_reply(r.mex, r.body);
        }
        for (job, alarm, at) in timers {
            self.schedule_timer(d.clone(), id, job, alarm, at);
        }
        for (job, out) in invokes {
            let router = self.clone();
            let d2 = d.clone();
            tokio::spawn(async move {
                router.exec_invoke(d2, id, job, out).await;
            });
        }
    }

    /// Drops kept messages that no receive took in time.
    pub(super) async fn expire_early(&self, d: &Arc<Deployed>) {
        let now = self.now_ms();
        let expired: Vec<Early> = {
            let mut early = lock(&d.early);
            let (gone, kept): (Vec<_>, Vec<_>) = early
                .drain(..)
                .partition(|e| e.expires <= now && !e.pending);
            *early = kept;
            gone
        };
        let mut rows = Vec::new();
        for e in expired {
            if let Some(id) = e.parked {
                warn!(process = %d.key.0, operation = %e.operation, "A kept one-way message expired: no instance took it.");
                rows.push(id);
            }
            if let Some(mex) = e.mex {
                self.send_reply(
                    mex,
                    fault(
                        "correlationViolation",
                        format!(
                            "no instance of {} accepted operation {} in time",
                            d.key.0, e.operation
                        ),
                    ),
                );
            }
        }
        if let (Some(store), false) = (self.store(), rows.is_empty()) {
            let write = StepWrite {
                delete_messages: rows,
                ..StepWrite::default()
            };
            if let Err(e) = store.commit(write).await {
                warn!(error = %e, "Cannot delete expired messages; they are dropped at the next start.");
            }
        }
    }
}

/// Kept messages that the (re-)indexed subscriptions of `d`'s instances now match, whichever
/// version of the process took them in. `r` is `d`'s routing (locked before the kept list).
pub(super) fn claim_early(d: &Deployed, r: &mut super::Routing) -> Vec<(Claim, Early)> {
    let mut follow = Vec::new();
    let mut early = lock(&d.early);
    if early.is_empty() {
        return follow;
    }
    // A disabled version has no endpoint: its instances get only what was sent to it.
    let serves = d.active.load(Ordering::Relaxed) || d.retired.load(Ordering::Relaxed);
    let mut kept = Vec::with_capacity(early.len());
    for e in early.drain(..) {
        let own = e.version == d.key.1;
        let claim = match d.partner_links.get(&e.partner_link) {
            Some(&pl) if !e.pending && (own || serves) => {
                let key = WaitKey {
                    partner_link: pl,
                    operation: e.operation.clone(),
                };
                r.index.claim(&d.ctx, &key, &e.message, !own)
            }
            _ => None,
        };
        match claim {
            Some(c) => follow.push((c, e)),
            None => kept.push(e),
        }
    }
    *early = kept;
    follow
}

fn merge(into: &mut Effects, more: Effects) {
    into.replies.extend(more.replies);
    into.invokes.extend(more.invokes);
    into.alarms.extend(more.alarms);
    into.events.extend(more.events);
    into.subscriptions_changed |= more.subscriptions_changed;
    into.ended |= more.ended;
}
