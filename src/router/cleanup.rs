//! Cleanup of ended instances' stored data: deploy.xml `<cleanup on>` (applied by the step
//! that ends an instance, see `step.rs`), deploy.xml `<schedule when="cron"><cleanup>` (the
//! process version's own instances) and server-wide `[[cleanup-schedule]]`s (every process
//! version without schedules of its own). A cleanup deletes the row with its jobs and/or the
//! stored events; variables, messages and correlations of an ended instance are never stored.
//! Live instances are never touched.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tracing::{info, warn};

use super::{Deployed, Router};
use crate::config::CleanupSchedule;
use crate::deploy::descriptor::{Cleanup, CleanupCategory, CleanupOn, Schedule, ScheduledCleanup};
use crate::runtime::state::Status;
use crate::scheduler::cron::Cron;
use crate::store::{InstanceQuery, InstanceSummary, StepWrite, StoreError};

/// Most instances one filter deletes per run (ODE's `BpelInstanceDeletionLimit` is 2000);
/// the rest go at the next run.
const MAX_PER_RUN: usize = 2000;

/// What a cleanup deletes of an ended instance's stored data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Purge {
    /// The instance row and its jobs.
    pub(super) row: bool,
    /// Its stored events.
    pub(super) events: bool,
}

impl Purge {
    fn of<'a>(categories: impl IntoIterator<Item = &'a CleanupCategory>) -> Self {
        let mut p = Purge::default();
        for c in categories {
            p.row |= *c == CleanupCategory::Instance;
            p.events |= *c == CleanupCategory::Events;
        }
        p
    }

    fn any(self) -> bool {
        self.row || self.events
    }
}

/// deploy.xml's `<cleanup on>`s of a process version: what the step that ends an instance
/// deletes, when it completed and when it faulted or was terminated.
#[derive(Debug, Default)]
pub(super) struct Cleanups {
    success: Purge,
    failure: Purge,
}

impl Cleanups {
    pub(super) fn of(cleanups: &[Cleanup]) -> Self {
        let on = |wanted: CleanupOn| {
            Purge::of(
                cleanups
                    .iter()
                    // `<cleanup>` without `on` does nothing, as in ODE.
                    .filter(|c| c.on == Some(wanted) || c.on == Some(CleanupOn::Always))
                    .flat_map(|c| c.categories.iter()),
            )
        };
        Cleanups {
            success: on(CleanupOn::Success),
            failure: on(CleanupOn::Failure),
        }
    }

    /// What to delete for an instance that ended with `status`.
    pub(super) fn for_end(&self, status: Status) -> Purge {
        if status == Status::Completed {
            self.success
        } else {
            self.failure
        }
    }
}

impl Router {
    /// Starts one timer task per `<schedule>` of process version `d`; each ends when the
    /// version is unloaded or the router stops.
    pub(super) fn start_schedules(&self, d: &Arc<Deployed>, schedules: &[Schedule]) {
        if schedules.is_empty() || !d.persistent {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            warn!(process = %d.ctx.pid, "No async runtime: the process's <schedule> cleanups do not run.");
            return;
        };
        for s in schedules {
            // The expression was checked when the package was deployed.
            let Ok(cron) = Cron::parse(&s.when) else {
                continue;
            };
            let router = self.clone();
            let weak = Arc::downgrade(d);
            let s = s.clone();
            rt.spawn(async move {
                while router.wait_for(&cron).await {
                    match weak.upgrade() {
                        Some(d) if router.serves(&d) => {
                            router.run_schedule(&d, &s.when, &s.cleanups).await;
                        }
                        _ => return,
                    }
                }
            });
        }
    }

    /// Starts the server-wide `[[cleanup-schedule]]`s (bps.xml `<Schedules>`): each covers
    /// every stored process version except those whose deploy.xml has a `<schedule>` of its
    /// own (as WSO2 BPS excludes them). The tasks end when the router stops.
    pub fn start_server_schedules(&self, schedules: &[CleanupSchedule]) {
        if schedules.is_empty() || self.store().is_none() {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            warn!("No async runtime: the server-wide cleanup schedules do not run.");
            return;
        };
        for s in schedules {
            // Checked when the configuration was loaded.
            let Ok(cron) = Cron::parse(&s.when) else {
                continue;
            };
            let router = self.clone();
            let s = s.clone();
            rt.spawn(async move {
                while router.wait_for(&cron).await {
                    router.run_server_schedule(&s).await;
                }
            });
        }
    }

    /// Sleeps until the next time `cron` gives; false when there is none or the router has
    /// stopped meanwhile.
    async fn wait_for(&self, cron: &Cron) -> bool {
        let now = self.now_ms();
        let Some(next) = cron.next_after(now) else {
            return false;
        };
        tokio::time::sleep(Duration::from_millis((next - now).max(0) as u64)).await;
        !self.stopped()
    }

    /// Whether `d` is still the loaded entry for its process version.
    fn serves(&self, d: &Arc<Deployed>) -> bool {
        self.inner
            .processes
            .read()
            .map(|m| m.get(&d.key).is_some_and(|x| Arc::ptr_eq(x, d)))
            .unwrap_or(false)
    }

    /// One run of a process version's `<schedule>`: its own instances only.
    async fn run_schedule(&self, d: &Deployed, when: &str, cleanups: &[ScheduledCleanup]) {
        for c in cleanups {
            let narrow = |q: &mut InstanceQuery| {
                q.process = Some(d.clark.clone());
                q.version = Some(d.key.1 as i64);
            };
            let run = self
                .clean_up_filters(&c.filters, Purge::of(&c.categories), narrow, |_| false)
                .await;
            match run {
                Ok(0) => {}
                Ok(n) => {
                    info!(process = %d.ctx.pid, schedule = when, instances = n, "Scheduled cleanup ran.")
                }
                Err(e) => {
                    warn!(process = %d.ctx.pid, schedule = when, error = %e, "Scheduled cleanup stopped; it runs again at the next time.");
                    return;
                }
            }
        }
    }

    /// One run of a server-wide schedule.
    async fn run_server_schedule(&self, s: &CleanupSchedule) {
        let purge = Purge::of(
            s.categories
                .iter()
                .filter_map(|c| CleanupCategory::named(c))
                .flatten(),
        );
        // Process versions with schedules of their own, as stored (`{ns}local`, version).
        let own: HashSet<(String, i64)> = match self.inner.processes.read() {
            Ok(m) => m
                .values()
                .filter(|d| d.own_schedules)
                .map(|d| (d.clark.clone(), d.key.1 as i64))
                .collect(),
            Err(_) => return,
        };
        let skip = |r: &InstanceSummary| own.contains(&(r.process.clone(), r.version));
        match self.clean_up_filters(&s.filters, purge, |_| {}, skip).await {
            Ok(0) => {}
            Ok(n) => info!(
                schedule = s.when.as_str(),
                instances = n,
                "Server-wide cleanup ran."
            ),
            Err(e) => {
                warn!(schedule = s.when.as_str(), error = %e, "Server-wide cleanup stopped; it runs again at the next time.")
            }
        }
    }

    /// Cleans up, for each ODE instance filter, the ended instances it selects (narrowed by
    /// `narrow`, less those `skip` names); the number cleaned up. A filter that does not
    /// parse was reported when the schedule was loaded and is passed over here.
    async fn clean_up_filters(
        &self,
        filters: &[String],
        purge: Purge,
        narrow: impl Fn(&mut InstanceQuery),
        skip: impl Fn(&InstanceSummary) -> bool,
    ) -> Result<usize, StoreError> {
        if !purge.any() {
            return Ok(0);
        }
        let now = self.now_ms();
        let mut cleaned = 0;
        for f in filters {
            // `status=error` selects nothing, as in ODE.
            let Ok(filter) = crate::store::filter::parse(f, now) else {
                continue;
            };
            if filter.nothing {
                continue;
            }
            let mut q = filter.query;
            narrow(&mut q);
            cleaned += self.clean_up_ended_except(q, purge, &skip).await?.cleaned;
        }
        Ok(cleaned)
    }

    /// Deletes the rows (with their jobs) and/or the stored events of the ended instances `q`
    /// selects, at most [`MAX_PER_RUN`] of them; live ones are counted, never touched.
    pub async fn clean_up_ended(
        &self,
        q: InstanceQuery,
        purge_row: bool,
        purge_events: bool,
    ) -> Result<Cleaned, StoreError> {
        let purge = Purge {
            row: purge_row,
            events: purge_events,
        };
        self.clean_up_ended_except(q, purge, |_| false).await
    }

    /// [`clean_up_ended`](Self::clean_up_ended), leaving alone the instances `skip` names.
    async fn clean_up_ended_except(
        &self,
        mut q: InstanceQuery,
        purge: Purge,
        skip: impl Fn(&InstanceSummary) -> bool,
    ) -> Result<Cleaned, StoreError> {
        let Some(store) = self.store().cloned() else {
            return Ok(Cleaned::default());
        };
        if q.limit == 0 || q.limit > MAX_PER_RUN {
            q.limit = MAX_PER_RUN;
        }
        let rows = store.instances(q).await?;
        let mut done = Cleaned::default();
        for r in rows.iter().filter(|r| !skip(r)) {
            if !r.status.is_final() {
                done.live += 1;
                continue;
            }
            let write = StepWrite {
                delete_jobs_of: purge.row.then_some(r.id),
                purge_instance: purge.row.then_some(r.id),
                purge_events_of: purge.events.then_some(r.id),
                ..StepWrite::default()
            };
            store.commit(write).await?;
            done.cleaned += 1;
        }
        Ok(done)
    }
}

/// What [`Router::clean_up_ended`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Cleaned {
    /// Ended instances cleaned up.
    pub cleaned: usize,
    /// Live instances the query selected, left alone.
    pub live: usize,
}
