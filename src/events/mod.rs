//! BPEL execution events: the model, per-scope filtering, and delivery to listeners.
//!
//! Events mirror Apache ODE's `org.apache.ode.bpel.evt` classes (one [`EventKind`] variant per
//! class, [`EventKind::ode_type`] gives the class name) and its five categories ([`Category`]),
//! which deploy.xml's `<process-events>` switches on and off per process and per named scope.
//!
//! # How the executor uses this
//!
//! At deploy time, once per process version:
//! ```text
//! let filter = Arc::new(EventFilter::for_process(pconf.events.as_ref(), server_default, &process));
//! ```
//! In each step (`now` is the step's injected clock):
//! ```text
//! let mut events = Vec::new();
//! let mut sink = EventSink::new(&filter, &mut events, EventHeader { timestamp_ms: now, process_id,
//!     process_name, instance_id: Some(iid) });
//! // ... while running an activity in scope declaration `sid`, scope instance `siid`:
//! sink.emit(sid, EventType::ActivityExecStart, |h| {
//!     h.event(EventKind::ActivityExecStart)
//!         .with_scope(filter.scope_info(sid, siid, parent_siid))
//!         .with_activity(ActivityInfo { name, kind: "receive".into(), declaration_id: aid.0,
//!             activity_instance_id })
//!         .with_line(line)
//! });
//! ```
//! The closure runs only when the event passes the filter, so a disabled category costs one
//! bit test. Instance and correlation events can be emitted with any scope id: they are filtered
//! at process level (ODE semantics). The step's events are persisted with its transaction and,
//! after the commit, handed to [`EventBus::publish`], which fans them out to the
//! [`EventListener`]s: [`RecentEvents`] (a bounded log for the management API) and
//! [`TracingListener`] (debug logs) today, the persistent store later.
//!
//! Which events ODE emits where (a checklist for the executor):
//! - `receive`/`pick` creating an instance: `NewProcessInstance`, `ProcessMessageExchange`
//!   (`ProcessInput`), `ProcessInstanceStateChange` (NEW → ACTIVE), `ProcessInstanceStarted`;
//! - every activity: `ActivityEnabled`, `ActivityExecStart`, `ActivityExecEnd`
//!   (+ `ActivityFailure`/`ActivityRecovery` with failure handling);
//! - scopes: `ScopeStart`, `ScopeCompletion`, `ScopeFault`, `CompensationHandlerRegistered`;
//! - data: `VariableModification`, `VariableRead`, `CorrelationSetWrite`,
//!   `PartnerLinkModification`;
//! - messages: `ProcessMessageExchange` for replies and partner invokes, `CorrelationMatch` /
//!   `CorrelationNoMatch` on inbound routing;
//! - the end: `ProcessCompletion` (with the uncaught fault, if any) or `ProcessTermination`,
//!   and the final `ProcessInstanceStateChange`.

mod bus;
mod filter;
mod model;
mod recent;
mod sink;
pub mod state;

pub use bus::{EventBus, EventListener, TracingListener};
pub use filter::{DefaultEvents, EventFilter};
pub use model::{
    ActivityInfo, Category, CategorySet, CorrelationKey, Event, EventKind, EventType, MexAspect,
    MexRef, RecoveryAction, ScopeInfo,
};
pub use recent::{EventQuery, RecentEvents};
pub use sink::{EventHeader, EventSink};
pub use state::InstanceState;

#[cfg(test)]
mod tests;
