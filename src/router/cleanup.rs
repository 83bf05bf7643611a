//! deploy.xml `<schedule when="cron"><cleanup>`: at each time the Quartz expression gives, the
//! ended instances of the process version that a cleanup's filters select lose what its
//! categories name (the row with its jobs, and/or its stored events). Live instances are never
//! touched. Only persistent process versions have anything stored to clean up.

use std::sync::Arc;
use std::time::Duration;

use tracing::{info, warn};

use super::{Deployed, Router};
use crate::config::CleanupSchedule;
use crate::deploy::descriptor::{CleanupCategory, Schedule, ScheduledCleanup};
use crate::scheduler::cron::Cron;
use crate::store::{InstanceQuery, InstanceSummary, StepWrite, StoreError};

/// Most instances one filter deletes per run (ODE's `BpelInstanceDeletionLimit` is 2000);
/// the rest go at the next run.
const MAX_PER_RUN: usize = 2000;

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
            let cleanups = s.cleanups.clone();
            let when = s.when.clone();
            rt.spawn(async move {
                loop {
                    let now = router.now_ms();
                    let Some(next) = cron.next_after(now) else {
                        return;
                    };
                    tokio::time::sleep(Duration::from_millis((next - now).max(0) as u64)).await;
                    let Some(d) = weak.upgrade() else {
                        return;
                    };
                    if router.stopped() || !router.serves(&d) {
                        return;
                    }
                    router.run_cleanups(&d, &when, &cleanups).await;
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
                loop {
                    let now = router.now_ms();
                    let Some(next) = cron.next_after(now) else {
                        return;
                    };
                    tokio::time::sleep(Duration::from_millis((next - now).max(0) as u64)).await;
                    if router.stopped() {
                        return;
                    }
                    router.run_server_schedule(&s).await;
                }
            });
        }
    }

    async fn run_server_schedule(&self, s: &CleanupSchedule) {
        let all = s.categories.iter().any(|c| c == "all");
        let purge_row = all || s.categories.iter().any(|c| c == "instance");
        let purge_events = all || s.categories.iter().any(|c| c == "events");
        if !purge_row && !purge_events {
            return;
        }
        // Process versions with schedules of their own, as stored (`{ns}local`, version).
        let own: std::collections::HashSet<(String, i64)> = match self.inner.processes.read() {
            Ok(m) => m
                .values()
                .filter(|d| d.own_schedules)
                .map(|d| (d.clark.clone(), d.key.1 as i64))
                .collect(),
            Err(_) => return,
        };
        let now = self.now_ms();
        for f in &s.filters {
            let filter = match crate::store::filter::parse(f, now) {
                Ok(filter) if !filter.nothing => filter,
                _ => continue,
            };
            let skip = |r: &InstanceSummary| own.contains(&(r.process.clone(), r.version));
            match self
                .clean_up_ended_except(filter.query, purge_row, purge_events, skip)
                .await
            {
                Ok(done) if done.cleaned > 0 => {
                    info!(
                        schedule = s.when.as_str(),
                        filter = f.as_str(),
                        instances = done.cleaned,
                        "Server-wide cleanup ran."
                    );
                }
                Ok(_) => {}
                Err(e) => {
                    warn!(schedule = s.when.as_str(), error = %e, "Server-wide cleanup stopped; it runs again at the next time.");
                    return;
                }
            }
        }
    }

    /// Whether `d` is still the loaded entry for its process version.
    fn serves(&self, d: &Arc<Deployed>) -> bool {
        self.inner
            .processes
            .read()
            .map(|m| m.get(&d.key).is_some_and(|x| Arc::ptr_eq(x, d)))
            .unwrap_or(false)
    }

    /// One run of a schedule's cleanups.
    async fn run_cleanups(&self, d: &Deployed, when: &str, cleanups: &[ScheduledCleanup]) {
        let now = self.now_ms();
        for c in cleanups {
            let purge_row = c.categories.contains(&CleanupCategory::Instance);
            let purge_events = c.categories.contains(&CleanupCategory::Events);
            if !purge_row && !purge_events {
                // Variables, messages and correlations of ended instances are never stored.
                continue;
            }
            for f in &c.filters {
                let filter = match crate::store::filter::parse(f, now) {
                    Ok(filter) if !filter.nothing => filter,
                    // Checked at deployment; `status=error` selects nothing, as in ODE.
                    _ => continue,
                };
                let mut q = filter.query;
                // A process's schedule cleans up that process version's instances only.
                q.process = Some(d.clark.clone());
                q.version = Some(d.key.1 as i64);
                match self.clean_up_ended(q, purge_row, purge_events).await {
                    Ok(done) if done.cleaned > 0 => {
                        info!(process = %d.ctx.pid, schedule = when, filter = f.as_str(), instances = done.cleaned, "Scheduled cleanup ran.");
                    }
                    Ok(_) => {}
                    Err(e) => {
                        warn!(process = %d.ctx.pid, schedule = when, error = %e, "Scheduled cleanup stopped; it runs again at the next time.");
                        return;
                    }
                }
            }
        }
    }

    /// Deletes the rows (with their jobs) and/or the stored events of the ended instances `q`
    /// selects, at most [`MAX_PER_RUN`] of them; live ones are counted, never touched.
    pub async fn clean_up_ended(
        &self,
        q: InstanceQuery,
        purge_row: bool,
        purge_events: bool,
    ) -> Result<Cleaned, StoreError> {
        self.clean_up_ended_except(q, purge_row, purge_events, |_| false)
            .await
    }

    /// [`clean_up_ended`](Self::clean_up_ended), leaving alone the instances `skip` names.
    async fn clean_up_ended_except(
        &self,
        mut q: InstanceQuery,
        purge_row: bool,
        purge_events: bool,
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
                delete_jobs_of: purge_row.then_some(r.id),
                purge_instance: purge_row.then_some(r.id),
                purge_events_of: purge_events.then_some(r.id),
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
