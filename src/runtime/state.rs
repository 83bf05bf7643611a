//! Instance state: a plain serializable value (DESIGN decision 1).
//!
//! An instance is a tree of *tasks* (activity instances) over *frames* (scope instances holding
//! variables, correlation sets and partner link endpoints). Everything an instance waits for
//! (a message, a partner reply, a timer) is a record here, so the whole value can be stored after
//! any step and resumed on any node.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use bpelgate_wsdl::Element;

use super::data::Millis;
use super::exec::Input;
use super::fault::Fault;
use crate::model::{
    ActivityId, CorrelationSetId, EndpointRole, MessageExchangeId, PartnerLinkId, ScopeId,
    VariableId,
};

/// Id of a task within its instance.
pub type TaskId = u32;
/// Id of a frame within its instance.
pub type FrameId = u32;
/// Id of a message exchange as the router and transports know it (unique per server).
pub type MexId = u64;

/// Lifecycle of an instance (ODE's states, without the ones only persistence adds).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    /// Running or waiting.
    Active,
    /// Suspended by an operator: events are queued, nothing runs.
    Suspended,
    /// Completed normally.
    Completed,
    /// Ended with an uncaught fault.
    Faulted,
    /// Ended by `<exit>` or an operator's terminate.
    Terminated,
}

impl Status {
    /// True once the instance has ended.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Status::Completed | Status::Faulted | Status::Terminated
        )
    }
}

/// A scope instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    /// The scope it instantiates.
    pub scope: ScopeId,
    /// The enclosing frame.
    pub parent: Option<FrameId>,
    /// Variable values declared by this scope.
    pub vars: BTreeMap<VariableId, Element>,
    /// Correlation set values of sets declared by this scope.
    pub correlations: BTreeMap<CorrelationSetId, Vec<String>>,
    /// Endpoint references of partner links declared by this scope.
    pub endpoints: BTreeMap<(PartnerLinkId, Role), Element>,
    /// Compensation handlers of completed immediately enclosed scopes, in completion order.
    pub compensations: Vec<Compensation>,
    /// Tasks (other than the scope task itself) holding this frame alive: compensation
    /// snapshots are kept while their handler is installed.
    pub pinned: bool,
}

/// A partner link role, serializable (mirrors [`EndpointRole`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    /// myRole.
    My,
    /// partnerRole.
    Partner,
}

impl From<EndpointRole> for Role {
    fn from(r: EndpointRole) -> Self {
        match r {
            EndpointRole::MyRole => Role::My,
            EndpointRole::PartnerRole => Role::Partner,
        }
    }
}

/// An installed compensation handler: a completed scope (or invoke with an inline handler),
/// with the snapshot frame it runs in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Compensation {
    /// The `<scope>` or `<invoke>` activity.
    pub activity: ActivityId,
    /// Its scope.
    pub scope: ScopeId,
    /// The frame as it was at completion (its own `compensations` are the nested handlers).
    pub frame: FrameId,
}

/// How a task ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Outcome {
    /// Completed (or skipped by dead-path elimination).
    Completed,
    /// Faulted.
    Faulted(Fault),
    /// Terminated at its parent's request.
    Terminated,
}

/// An activity instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// The activity (for handler runs: the handler's activity).
    pub activity: ActivityId,
    /// The frame its variables resolve in.
    pub frame: FrameId,
    /// The parent task (None for the root).
    pub parent: Option<TaskId>,
    /// Active child tasks.
    pub children: Vec<TaskId>,
    /// Termination was requested.
    pub terminating: bool,
    /// The activity has started (guards against a second start when several links arrive).
    pub started: bool,
    /// A fault from a child, remembered while the other children are terminated.
    pub fault: Option<Fault>,
    /// What it is doing.
    pub run: Run,
}

/// Per-kind progress of a task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Run {
    /// Created, not started yet (waiting for its incoming links).
    Waiting,
    /// A basic activity waiting for something external (receive, invoke, wait, pick).
    Blocked,
    /// `<sequence>`: index of the running child.
    Sequence(usize),
    /// `<if>`: the branch is running.
    Branch,
    /// `<while>` / `<repeatUntil>`: an iteration is running.
    Loop,
    /// `<flow>`.
    Flow,
    /// `<forEach>`.
    ForEach(ForEachRun),
    /// `<pick>`: the chosen branch is running.
    PickBranch,
    /// A scope (also an invoke's implicit scope and the process).
    Scope(ScopeRun),
    /// A handler run that compensates a list of handlers one after another (`<compensate>`,
    /// `<compensateScope>`, default handlers).
    Compensating(Vec<Compensation>),
    /// A wrapper running one child (e.g. an installed compensation handler body).
    Wrapper,
}

/// Progress of a forEach.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForEachRun {
    /// Next counter value to start (serial) / not used (parallel).
    pub next: u64,
    /// Final counter value.
    pub last: u64,
    /// Completion condition: branches needed (None: all).
    pub needed: Option<u64>,
    /// Branches completed (successfully, if successfulBranchesOnly).
    pub done: u64,
    /// The completion condition was met: remaining branches are being terminated.
    pub early_exit: bool,
    /// Branches whose scope ended by handling a fault (not successful: they do not count
    /// toward `successfulBranchesOnly`).
    #[serde(default)]
    pub unsuccessful: u64,
}

/// Phase of a scope task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ScopePhase {
    /// Body (and event handlers) running.
    Body,
    /// A fault handler is running for this fault; `true` when it is the default handler
    /// (compensate, then rethrow).
    FaultHandler(Fault, bool),
    /// Children are being terminated before the fault handler runs.
    FaultTerminating(Fault),
    /// The termination handler is running.
    TerminationHandler,
}

/// Progress of a scope.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScopeRun {
    /// Its own frame.
    pub frame: FrameId,
    /// Phase.
    pub phase: ScopePhase,
    /// The body task, while it runs.
    pub body: Option<TaskId>,
    /// The body has completed.
    pub body_done: bool,
    /// Event handlers accept new events (until the body completes).
    pub events_open: bool,
}

/// What an inbound message is waited for by.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SubscriptionKind {
    /// A `<receive>` task.
    Receive,
    /// Branch `n` of a `<pick>` task.
    Pick(usize),
    /// `onEvent` `n` of a scope task (repeatable until the scope's body completes).
    OnEvent(usize),
}

/// An open wait for an inbound message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    /// The waiting task.
    pub task: TaskId,
    /// How.
    pub kind: SubscriptionKind,
    /// Partner link.
    pub partner_link: PartnerLinkId,
    /// Operation name.
    pub operation: String,
    /// A `createInstance` activity (only matches the instance's first message).
    pub create_instance: bool,
}

/// What a timer is for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum AlarmKind {
    /// `<wait>`.
    Wait,
    /// onAlarm `n` of a `<pick>`.
    Pick(usize),
    /// onAlarm `n` of a scope's event handlers.
    Event(usize),
    /// The delay before a failed invoke is sent again (ODE `retryDelay`).
    Retry,
}

/// An armed timer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alarm {
    /// The task it belongs to.
    pub task: TaskId,
    /// Kind.
    pub kind: AlarmKind,
    /// When it fires.
    pub at: Millis,
}

/// A request received and not yet replied to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpenRequest {
    /// The transport's exchange id the reply goes to.
    pub mex: MexId,
    /// Partner link.
    pub partner_link: PartnerLinkId,
    /// Operation.
    pub operation: String,
    /// `messageExchange`.
    pub message_exchange: Option<MessageExchangeId>,
    /// Frame of the scope declaring the message exchange (None: process level).
    pub frame: FrameId,
}

/// An invoke waiting for its partner's reply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingInvoke {
    /// The invoke task.
    pub task: TaskId,
}

/// A partner failure of an invoke (ODE's ACTIVITYGUARD failure record), kept from the first
/// failure until the activity completes, faults or is terminated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActivityFailure {
    /// The failed activity.
    pub activity: ActivityId,
    /// Why the last attempt failed.
    pub reason: String,
    /// Attempts made after the first one (automatic and operator retries).
    pub retries: u32,
    /// When the last attempt failed.
    pub at: Millis,
    /// Waiting for an operator's `recoverActivity` (else a retry is scheduled or in flight).
    pub awaiting_recovery: bool,
}

/// An input that arrived while the instance was suspended, processed on resume.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Deferred {
    /// The input.
    pub input: Input,
    /// Subscriptions a deferred message consumes (its receive's, or every branch of its pick),
    /// kept out of `subscriptions` so the router does not give them a second message.
    pub parked: Vec<(u32, Subscription)>,
}

/// An instance: everything needed to resume it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    /// Its id.
    pub id: i64,
    /// Status.
    pub status: Status,
    /// The uncaught fault that ended it.
    pub fault: Option<Fault>,
    /// Scope instances.
    pub frames: BTreeMap<FrameId, Frame>,
    /// Activity instances.
    pub tasks: BTreeMap<TaskId, Task>,
    /// Link values set so far, per flow task.
    pub links: BTreeMap<(TaskId, crate::model::LinkId), bool>,
    /// Open message waits.
    pub subscriptions: BTreeMap<u32, Subscription>,
    /// Armed timers.
    pub alarms: BTreeMap<u32, Alarm>,
    /// Requests awaiting a reply.
    pub open_requests: Vec<OpenRequest>,
    /// Invokes awaiting a partner reply, by invoke id.
    pub pending_invokes: BTreeMap<u32, PendingInvoke>,
    /// Next id for tasks, frames, subscriptions, alarms and invokes.
    pub next_id: u32,
    /// The root task (the process scope).
    pub root: TaskId,
    /// Whether a createInstance activity consumed the first message yet.
    pub started: bool,
    /// Partner failures of invoke tasks being retried or waiting for recovery, by task.
    #[serde(default)]
    pub failures: BTreeMap<TaskId, ActivityFailure>,
    /// Inputs received while suspended, in arrival order.
    #[serde(default)]
    pub deferred: Vec<Deferred>,
    /// The isolated scope task running now: isolated scopes of an instance run one at a time,
    /// which serializes their access to shared variables and partner links (WS-BPEL 2.0
    /// §12.8) however their activities would otherwise interleave.
    #[serde(default)]
    pub isolation: Option<TaskId>,
    /// Isolated scope tasks ready to start, waiting for [`Instance::isolation`], in order.
    #[serde(default)]
    pub isolation_waiting: Vec<TaskId>,
}

impl Instance {
    /// A fresh id for a task, frame, subscription, alarm or invoke.
    pub fn fresh(&mut self) -> u32 {
        self.next_id += 1;
        self.next_id
    }

    /// Since when an activity waits for an operator's recovery (ODE shows the instance as
    /// "error" with `dt-error-since`); None when none does.
    pub fn error_since(&self) -> Option<Millis> {
        self.failures
            .values()
            .filter(|f| f.awaiting_recovery)
            .map(|f| f.at)
            .min()
    }
}

/// Why stored instance state could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum StateCodecError {
    /// Writing failed.
    #[error("instance state not serializable: {0}")]
    Encode(#[from] rmp_serde::encode::Error),
    /// Reading failed (corrupt, or written by an incompatible version).
    #[error("stored instance state unreadable: {0}")]
    Decode(#[from] rmp_serde::decode::Error),
}

impl Instance {
    /// The stored form (MessagePack with field names, so fields added later with
    /// `#[serde(default)]` still read older states).
    pub fn to_bytes(&self) -> Result<Vec<u8>, StateCodecError> {
        Ok(rmp_serde::to_vec_named(self)?)
    }

    /// Reads [`Instance::to_bytes`]' form.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, StateCodecError> {
        Ok(rmp_serde::from_slice(bytes)?)
    }
}
