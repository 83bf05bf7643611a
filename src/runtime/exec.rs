//! The step: one input (message, partner reply, timer, command) applied to an instance and run
//! to quiescence, synchronously and deterministically. Effects (replies, outbound invokes, new
//! timers) are returned for the caller to carry out after the step is committed.

use std::collections::{BTreeMap, VecDeque};

use bpelgate_wsdl::{Element, QName};
use serde::{Deserialize, Serialize};

use super::data::{self, Env, Millis, Variables};
use super::fault::{Fault, FaultData};
use super::process::ProcessCtx;
use super::recovery;
use super::state::*;
use crate::events::{
    ActivityInfo, CorrelationKey, Event, EventHeader, EventKind, EventType, InstanceState,
    MexAspect, MexRef, RecoveryAction,
};
use crate::model::{
    ActivityId, ActivityKind, CorrelationRef, CorrelationSetId, EndpointRole, Inbound, Initiate,
    PartnerLinkId, Pattern, ScopeId, ScopeKind, VariableId,
};

/// Sentinel activity of the root task (the process scope has no activity of its own).
pub const ROOT_ACTIVITY: ActivityId = ActivityId(u32::MAX);

/// One input of a step. Inputs are data too: those arriving while the instance is suspended are
/// kept in it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Input {
    /// Start a new instance (its start activities begin waiting for their messages).
    Start,
    /// A message for subscription `subscription` (chosen by the router).
    Message {
        /// The subscription it matched.
        subscription: u32,
        /// The message in message form.
        message: Element,
        /// The exchange to reply on (None for one-way operations).
        mex: Option<MexId>,
    },
    /// A message the router found matching two or more enabled receives (or picks) of the
    /// instance through different correlation sets: the activity of `subscription` takes the
    /// message and throws `bpel:ambiguousReceive` (WS-BPEL 2.0 §10.4).
    Ambiguous {
        /// The subscription chosen to take it.
        subscription: u32,
        /// The message in message form.
        message: Element,
        /// The exchange to reply on (None for one-way operations).
        mex: Option<MexId>,
    },
    /// A partner answered invoke `invoke`.
    InvokeResult {
        /// The invoke id (from [`InvokeOut::invoke`]).
        invoke: u32,
        /// What it answered.
        result: InvokeResult,
    },
    /// Timer `alarm` is due.
    Alarm(u32),
    /// An operator terminates the instance (also while it is suspended).
    Terminate,
    /// An operator suspends the instance: until [`Input::Resume`], messages, partner replies,
    /// timers and recovery actions are kept, in arrival order, and nothing runs.
    Suspend,
    /// An operator resumes a suspended instance; what arrived meanwhile is processed first.
    Resume,
    /// An operator's `recoverActivity` for a failed activity waiting for recovery.
    Recover {
        /// The activity instance (see [`super::recovery::failed_activities`]).
        task: TaskId,
        /// What to do: send the invoke again, complete the activity without its output, or
        /// throw `activityFailure` from it.
        action: RecoveryAction,
    },
}

/// A partner's answer to an invoke.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum InvokeResult {
    /// The output message (message form).
    Output(Element),
    /// A declared WSDL fault.
    Fault {
        /// Fault QName (portType namespace + fault name).
        name: QName,
        /// Its message type and value.
        data: Option<FaultData>,
    },
    /// The partner could not be reached, timed out, or answered garbage or an undeclared fault:
    /// the invoke's failure policy decides (retry, `activityFailure`, or operator recovery).
    Failure(String),
}

/// A reply to send on an exchange.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplyOut {
    /// The exchange.
    pub mex: MexId,
    /// The operation.
    pub operation: String,
    /// What to send.
    pub body: ReplyBody,
}

/// Reply contents.
#[derive(Clone, Debug, PartialEq)]
pub enum ReplyBody {
    /// The output message.
    Output(Element),
    /// A fault: a declared one (reply faultName with data) or an uncaught one.
    Fault {
        /// Fault QName.
        name: QName,
        /// Data (message form) for declared faults.
        data: Option<FaultData>,
        /// Explanation.
        explanation: String,
    },
}

/// An outbound invoke to carry out.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct InvokeOut {
    /// Id to report the result with.
    pub invoke: u32,
    /// Partner link.
    pub partner_link: PartnerLinkId,
    /// Operation name.
    pub operation: String,
    /// One-way (no result expected).
    pub one_way: bool,
    /// The request (message form).
    pub message: Element,
    /// The partner role endpoint if the process set one (copy to partnerLink).
    pub endpoint: Option<Element>,
}

/// What a step produced.
#[derive(Debug, Default)]
pub struct Effects {
    /// Replies to send.
    pub replies: Vec<ReplyOut>,
    /// Invokes to send.
    pub invokes: Vec<InvokeOut>,
    /// Timers armed (id, due time).
    pub alarms: Vec<(u32, Millis)>,
    /// The subscription set changed.
    pub subscriptions_changed: bool,
    /// The instance reached a final status in this step.
    pub ended: bool,
    /// Events of the step that passed the process's filter.
    pub events: Vec<Event>,
}

enum Work {
    Start(TaskId),
    Done(TaskId, Outcome),
    /// Enable the process's event handlers (after the instance's first message).
    EnableProcessEvents(TaskId, FrameId),
}

/// Executes steps of one instance of one process.
pub struct Exec<'a> {
    ctx: &'a ProcessCtx,
    inst: &'a mut Instance,
    now: Millis,
    fx: Effects,
    queue: VecDeque<Work>,
    /// An invoke is being sent again after a failure: correlation sets its first attempt
    /// initiated with the same values are not a violation.
    resending: bool,
}

/// Variables seen from a frame: declarations resolve along the frame chain.
struct View<'x> {
    ctx: &'x ProcessCtx,
    frames: &'x mut BTreeMap<FrameId, Frame>,
    frame: FrameId,
    /// Incoming link values while a join condition is evaluated (else empty).
    links: &'x [(String, bool)],
}

fn frame_for(
    frames: &BTreeMap<FrameId, Frame>,
    mut frame: FrameId,
    scope: ScopeId,
) -> Option<FrameId> {
    loop {
        let f = frames.get(&frame)?;
        if f.scope == scope {
            return Some(frame);
        }
        // Catch scopes and invoke scopes nest like any other scope.
        frame = f.parent?;
    }
}

impl Variables for View<'_> {
    fn link_status(&self, name: &str) -> Option<bool> {
        self.links.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }

    fn get(&self, var: VariableId) -> Option<&Element> {
        let scope = self.ctx.process.variable(var).scope;
        let f = frame_for(self.frames, self.frame, scope)?;
        self.frames.get(&f)?.vars.get(&var)
    }

    fn set(&mut self, var: VariableId, value: Element) {
        let scope = self.ctx.process.variable(var).scope;
        if let Some(f) = frame_for(self.frames, self.frame, scope)
            && let Some(frame) = self.frames.get_mut(&f)
        {
            frame.vars.insert(var, value);
        }
    }

    fn endpoint(&self, partner_link: PartnerLinkId, role: EndpointRole) -> Option<Element> {
        let role = Role::from(role);
        let scope = self.ctx.process.partner_link(partner_link).scope;
        frame_for(self.frames, self.frame, scope)
            .and_then(|f| self.frames.get(&f))
            .and_then(|f| f.endpoints.get(&(partner_link, role)).cloned())
            .or_else(|| self.ctx.endpoints.get(&(partner_link, role)).cloned())
    }

    fn set_endpoint(&mut self, partner_link: PartnerLinkId, epr: Element) {
        let scope = self.ctx.process.partner_link(partner_link).scope;
        if let Some(f) = frame_for(self.frames, self.frame, scope)
            && let Some(frame) = self.frames.get_mut(&f)
        {
            frame.endpoints.insert((partner_link, Role::Partner), epr);
        }
    }
}

/// Creates a new instance value (nothing runs until [`Input::Start`]).
pub fn new_instance(id: i64) -> Instance {
    let mut inst = Instance {
        id,
        status: Status::Active,
        fault: None,
        frames: BTreeMap::new(),
        tasks: BTreeMap::new(),
        links: BTreeMap::new(),
        subscriptions: BTreeMap::new(),
        alarms: BTreeMap::new(),
        open_requests: Vec::new(),
        pending_invokes: BTreeMap::new(),
        next_id: 0,
        root: 0,
        started: false,
        failures: BTreeMap::new(),
        deferred: Vec::new(),
        isolation: None,
        isolation_waiting: Vec::new(),
    };
    let frame = inst.fresh();
    inst.frames.insert(
        frame,
        Frame {
            scope: ScopeId::PROCESS,
            parent: None,
            vars: BTreeMap::new(),
            correlations: BTreeMap::new(),
            endpoints: BTreeMap::new(),
            compensations: Vec::new(),
            pinned: false,
        },
    );
    let root = inst.fresh();
    inst.root = root;
    inst.tasks.insert(
        root,
        Task {
            activity: ROOT_ACTIVITY,
            frame,
            parent: None,
            children: Vec::new(),
            terminating: false,
            started: false,
            fault: None,
            run: Run::Scope(ScopeRun {
                frame,
                phase: ScopePhase::Body,
                body: None,
                body_done: false,
                events_open: true,
            }),
        },
    );
    inst
}

/// Applies `input` to `inst` and runs it to quiescence.
pub fn step(ctx: &ProcessCtx, inst: &mut Instance, now: Millis, input: Input) -> Effects {
    let mut exec = Exec {
        ctx,
        inst,
        now,
        fx: Effects::default(),
        queue: VecDeque::new(),
        resending: false,
    };
    if exec.inst.status.is_final() {
        return exec.fx;
    }
    if exec.inst.status == Status::Suspended {
        match input {
            Input::Terminate => exec.exit_instance(Status::Terminated, None),
            Input::Resume => exec.resume(),
            Input::Suspend | Input::Start => {}
            other => exec.defer(other),
        }
        exec.run();
        return exec.fx;
    }
    exec.dispatch(input);
    exec.run();
    exec.fx
}

impl Exec<'_> {
    /// Applies an input to a running instance (the work it queues runs afterwards).
    fn dispatch(&mut self, input: Input) {
        match input {
            Input::Start => {
                let root = self.inst.root;
                let root_scope_id = u64::from(self.inst.tasks.get(&root).map_or(0, |t| t.frame));
                self.emit(ScopeId::PROCESS, EventType::NewProcessInstance, |h| {
                    h.event(EventKind::NewProcessInstance {
                        root_scope_id,
                        scope_declaration_id: 0,
                        mex: None,
                    })
                });
                self.state_change(InstanceState::New, InstanceState::Active);
                self.emit(ScopeId::PROCESS, EventType::ProcessInstanceStarted, |h| {
                    h.event(EventKind::ProcessInstanceStarted {
                        root_scope_id,
                        scope_declaration_id: 0,
                    })
                });
                self.queue.push_back(Work::Start(root));
            }
            Input::Message {
                subscription,
                message,
                mex,
            } => self.on_message(subscription, message, mex, false),
            Input::Ambiguous {
                subscription,
                message,
                mex,
            } => self.on_message(subscription, message, mex, true),
            Input::InvokeResult { invoke, result } => self.on_invoke_result(invoke, result),
            Input::Alarm(id) => self.on_alarm(id),
            Input::Terminate => self.exit_instance(Status::Terminated, None),
            Input::Suspend => self.suspend(),
            Input::Resume => {}
            Input::Recover { task, action } => self.recover(task, action),
        }
    }

    /// Adds an event when the process's filter lets `ty` through in `scope`; `make` runs only
    /// then, so filtered events cost a bit test.
    fn emit(&mut self, scope: ScopeId, ty: EventType, make: impl FnOnce(&EventHeader) -> Event) {
        if !self.ctx.events.type_enabled(scope, ty) {
            return;
        }
        let header = EventHeader {
            timestamp_ms: self.now,
            process_id: self.ctx.pid.clone(),
            process_name: self.ctx.name.clone(),
            instance_id: Some(self.inst.id),
        };
        self.fx.events.push(make(&header));
    }

    /// An activity lifecycle event for task `id` running `activity`.
    fn activity_event(&mut self, id: TaskId, activity: ActivityId, ty: EventType, kind: EventKind) {
        if activity == ROOT_ACTIVITY {
            return;
        }
        let node = self.ctx.process.activity(activity);
        let scope = node.scope;
        if !self.ctx.events.type_enabled(scope, ty) {
            return;
        }
        let frame = self.inst.tasks.get(&id).map_or(0, |t| t.frame);
        let parent_frame = self.inst.frames.get(&frame).and_then(|f| f.parent);
        let info = ActivityInfo {
            name: node.name.as_deref().map(std::sync::Arc::from),
            kind: std::borrow::Cow::Borrowed(kind_name(&node.kind)),
            declaration_id: activity.0,
            activity_instance_id: u64::from(id),
        };
        let line = node.pos.line;
        let scope_info =
            self.ctx
                .events
                .scope_info(scope, u64::from(frame), parent_frame.map(u64::from));
        self.emit(scope, ty, |h| {
            h.event(kind)
                .with_scope(scope_info)
                .with_activity(info)
                .with_line(line)
        });
    }

    /// A scope handling event for scope task `id`.
    fn scope_event(&mut self, id: TaskId, ty: EventType, kind: EventKind) {
        let Some(scope) = self.scope_of_task(id) else {
            return;
        };
        if !self.ctx.events.type_enabled(scope, ty) {
            return;
        }
        let frame = self.task_frame(id).unwrap_or(0);
        let parent_frame = self.inst.frames.get(&frame).and_then(|f| f.parent);
        let line = self.ctx.process.scope(scope).pos.line;
        let info = self
            .ctx
            .events
            .scope_info(scope, u64::from(frame), parent_frame.map(u64::from));
        self.emit(scope, ty, |h| {
            h.event(kind).with_scope(info).with_line(line)
        });
    }

    fn mex_event(
        &mut self,
        port_type: &QName,
        operation: &str,
        mex: Option<MexId>,
        aspect: MexAspect,
    ) {
        let mex = MexRef {
            port_type: port_type.clone(),
            operation: operation.to_string(),
            mex_id: mex.map(|m| m.to_string()).unwrap_or_default(),
        };
        self.emit(ScopeId::PROCESS, EventType::ProcessMessageExchange, |h| {
            h.event(EventKind::ProcessMessageExchange { mex, aspect })
        });
    }

    fn variable_read_event(&mut self, var: Option<VariableId>) {
        let Some(var) = var else { return };
        let decl = self.ctx.process.variable(var);
        let (variable, vscope) = (decl.name.clone(), decl.scope);
        self.emit(vscope, EventType::VariableRead, |h| {
            h.event(EventKind::VariableRead { variable })
        });
    }

    fn variable_event(&mut self, scope: ScopeId, var: VariableId) {
        let decl = self.ctx.process.variable(var);
        let variable = decl.name.clone();
        let vscope = decl.scope;
        let _ = scope;
        self.emit(vscope, EventType::VariableModification, |h| {
            h.event(EventKind::VariableModification {
                variable,
                value: None,
            })
        });
    }

    fn state_change(&mut self, old_state: InstanceState, new_state: InstanceState) {
        self.emit(
            ScopeId::PROCESS,
            EventType::ProcessInstanceStateChange,
            |h| {
                h.event(EventKind::ProcessInstanceStateChange {
                    old_state,
                    new_state,
                })
            },
        );
    }

    fn run(&mut self) {
        while let Some(work) = self.queue.pop_front() {
            if self.inst.status.is_final() {
                self.queue.clear();
                break;
            }
            match work {
                Work::Start(task) => self.start(task),
                Work::Done(task, outcome) => self.done(task, outcome),
                Work::EnableProcessEvents(root, frame) => {
                    let open = matches!(
                        self.inst.tasks.get(&root).map(|t| &t.run),
                        Some(Run::Scope(r)) if r.events_open && r.phase == ScopePhase::Body
                    );
                    if open {
                        self.enable_event_handlers(root, frame, ScopeId::PROCESS);
                    }
                }
            }
        }
    }

    /// The data-layer environment for expressions written in `scope`.
    fn env(&self, scope: ScopeId) -> Env<'_> {
        Env {
            process: &self.ctx.process,
            wsdl: &self.ctx.wsdl,
            scope,
            instance_id: self.inst.id,
            now: self.now,
            properties: &self.ctx.properties,
            stylesheets: self.ctx.stylesheets.as_ref(),
        }
    }

    /// Runs `f` with the data-layer environment and a variable view of `frame`.
    fn with_vars<R>(
        &mut self,
        frame: FrameId,
        scope: ScopeId,
        f: impl FnOnce(&Env<'_>, &mut dyn Variables) -> R,
    ) -> R {
        self.with_links(frame, scope, &[], f)
    }

    /// [`Self::with_vars`] where `$link` names resolve to incoming link values (joins).
    fn with_links<R>(
        &mut self,
        frame: FrameId,
        scope: ScopeId,
        links: &[(String, bool)],
        f: impl FnOnce(&Env<'_>, &mut dyn Variables) -> R,
    ) -> R {
        let env = Env {
            process: &self.ctx.process,
            wsdl: &self.ctx.wsdl,
            scope,
            instance_id: self.inst.id,
            now: self.now,
            properties: &self.ctx.properties,
            stylesheets: self.ctx.stylesheets.as_ref(),
        };
        let mut view = View {
            ctx: self.ctx,
            frames: &mut self.inst.frames,
            frame,
            links,
        };
        f(&env, &mut view)
    }

    fn activity_scope(&self, activity: ActivityId) -> ScopeId {
        if activity == ROOT_ACTIVITY {
            ScopeId::PROCESS
        } else {
            self.ctx.process.activity(activity).scope
        }
    }

    // ---------------------------------------------------------------- task tree

    fn spawn(&mut self, parent: TaskId, activity: ActivityId, frame: FrameId) -> TaskId {
        let id = self.inst.fresh();
        self.inst.tasks.insert(
            id,
            Task {
                activity,
                frame,
                parent: Some(parent),
                children: Vec::new(),
                terminating: false,
                started: false,
                fault: None,
                run: Run::Waiting,
            },
        );
        if let Some(p) = self.inst.tasks.get_mut(&parent) {
            p.children.push(id);
        }
        self.queue.push_back(Work::Start(id));
        id
    }

    fn finish(&mut self, task: TaskId, outcome: Outcome) {
        self.queue.push_back(Work::Done(task, outcome));
    }

    fn new_frame(&mut self, scope: ScopeId, parent: FrameId) -> FrameId {
        let id = self.inst.fresh();
        self.inst.frames.insert(
            id,
            Frame {
                scope,
                parent: Some(parent),
                vars: BTreeMap::new(),
                correlations: BTreeMap::new(),
                endpoints: BTreeMap::new(),
                compensations: Vec::new(),
                pinned: false,
            },
        );
        id
    }

    // ---------------------------------------------------------------- starting

    fn start(&mut self, id: TaskId) {
        let Some(task) = self.inst.tasks.get(&id) else {
            return;
        };
        if task.terminating || task.started {
            return;
        }
        let activity = task.activity;
        if activity == ROOT_ACTIVITY {
            if let Some(t) = self.inst.tasks.get_mut(&id) {
                t.started = true;
            }
            self.start_scope(id);
            return;
        }
        if matches!(task.run, Run::Waiting) {
            let node = self.ctx.process.activity(activity);
            if !node.targets.is_empty() {
                match self.join_status(id) {
                    None => return, // links still undetermined
                    Some(Err(fault)) => {
                        self.finish(id, Outcome::Faulted(fault));
                        return;
                    }
                    Some(Ok(false)) => {
                        if node.suppress_join_failure {
                            // Dead-path elimination: the activity is skipped, its links and
                            // those of everything nested in it become false, and it counts as
                            // completed for its parent.
                            self.skip_links(id, activity);
                            self.activity_event(
                                id,
                                activity,
                                EventType::ActivityDisabled,
                                EventKind::ActivityDisabled,
                            );
                            if let Some(t) = self.remove_task(id) {
                                self.notify_parent_of(&t, id, Outcome::Completed);
                            }
                        } else {
                            self.finish(
                                id,
                                Outcome::Faulted(Fault::standard(
                                    "joinFailure",
                                    format!(
                                        "the join condition of {} is false",
                                        self.describe(activity)
                                    ),
                                )),
                            );
                        }
                        return;
                    }
                    Some(Ok(true)) => {}
                }
            }
        }
        if let ActivityKind::Scope(s) = self.ctx.process.activity(activity).kind
            && self.ctx.process.scope(s).isolated
            && !self.acquire_isolation(id)
        {
            return;
        }
        if let Some(t) = self.inst.tasks.get_mut(&id) {
            t.started = true;
        }
        let Some(task) = self.inst.tasks.get(&id) else {
            return;
        };
        let kind = &self.ctx.process.activity(activity).kind;
        let frame = task.frame;
        let scope = self.activity_scope(activity);
        tracing::trace!(instance = self.inst.id, activity = %self.describe(activity), "start");
        self.activity_event(
            id,
            activity,
            EventType::ActivityEnabled,
            EventKind::ActivityEnabled,
        );
        self.activity_event(
            id,
            activity,
            EventType::ActivityExecStart,
            EventKind::ActivityExecStart,
        );
        match kind {
            ActivityKind::Empty | ActivityKind::Extension(_) => self.finish(id, Outcome::Completed),
            ActivityKind::Assign(assign) => {
                let r = self.with_vars(frame, scope, |env, vars| data::assign(env, vars, assign));
                match r {
                    Ok(modified) => {
                        for v in modified {
                            self.variable_event(scope, v);
                        }
                        for op in &assign.operations {
                            if let crate::model::AssignOperation::Copy(crate::model::Copy {
                                to: crate::model::ToSpec::PartnerLink { partner_link },
                                ..
                            }) = op
                            {
                                let pl = self.ctx.process.partner_link(*partner_link);
                                let (name, pl_scope) = (pl.name.clone(), pl.scope);
                                self.emit(pl_scope, EventType::PartnerLinkModification, |h| {
                                    h.event(EventKind::PartnerLinkModification {
                                        partner_link: name,
                                    })
                                });
                            }
                        }
                        self.finish(id, Outcome::Completed)
                    }
                    Err(f) => self.finish(id, Outcome::Faulted(f)),
                }
            }
            ActivityKind::Throw {
                fault_name,
                fault_variable,
            } => {
                let mut fault = Fault {
                    name: fault_name.clone(),
                    data: None,
                    explanation: format!("thrown by {}", self.describe(activity)),
                };
                if let Some(var) = fault_variable {
                    match self
                        .with_vars(frame, scope, |env, vars| data::fault_data(env, vars, *var))
                    {
                        Ok(d) => fault.data = Some(d),
                        Err(f) => fault = f,
                    }
                }
                self.finish(id, Outcome::Faulted(fault));
            }
            ActivityKind::Rethrow => {
                let fault = self.handled_fault(id).unwrap_or_else(|| {
                    Fault::standard("missingRequest", "rethrow outside a fault handler")
                });
                self.finish(id, Outcome::Faulted(fault));
            }
            ActivityKind::Exit => self.exit_instance(Status::Terminated, None),
            ActivityKind::Wait(timing) => {
                let r = self.with_vars(frame, scope, |env, vars| {
                    data::eval_deadline(env, vars, timing)
                });
                match r {
                    Err(f) => self.finish(id, Outcome::Faulted(f)),
                    Ok(at) if at <= self.now => self.finish(id, Outcome::Completed),
                    Ok(at) => {
                        self.set_run(id, Run::Blocked);
                        self.arm(id, AlarmKind::Wait, at);
                    }
                }
            }
            ActivityKind::Sequence(children) => {
                if let Some(first) = children.first() {
                    self.set_run(id, Run::Sequence(0));
                    self.spawn(id, *first, frame);
                } else {
                    self.finish(id, Outcome::Completed);
                }
            }
            ActivityKind::If(branches) => {
                let mut chosen = None;
                for (i, (cond, act)) in branches.iter().enumerate() {
                    match cond {
                        None => {
                            chosen = Some((i, *act));
                            break;
                        }
                        Some(expr) => {
                            let r = self.with_vars(frame, scope, |env, vars| {
                                data::eval_bool(env, vars, *expr)
                            });
                            match r {
                                Ok(true) => {
                                    chosen = Some((i, *act));
                                    break;
                                }
                                Ok(false) => {}
                                Err(f) => {
                                    self.finish(id, Outcome::Faulted(f));
                                    return;
                                }
                            }
                        }
                    }
                }
                for (i, (_, act)) in branches.iter().enumerate() {
                    if chosen.map(|c| c.0) != Some(i) {
                        self.skip_links(id, *act);
                    }
                }
                match chosen {
                    Some((_, act)) => {
                        self.set_run(id, Run::Branch);
                        self.spawn(id, act, frame);
                    }
                    None => self.finish(id, Outcome::Completed),
                }
            }
            ActivityKind::While { condition, body } => {
                self.loop_check(id, *condition, *body, frame, scope, true)
            }
            ActivityKind::RepeatUntil { body, .. } => {
                self.set_run(id, Run::Loop);
                self.spawn(id, *body, frame);
            }
            ActivityKind::Flow { activities, .. } => {
                if activities.is_empty() {
                    self.finish(id, Outcome::Completed);
                } else {
                    self.set_run(id, Run::Flow);
                    for a in activities.clone() {
                        self.spawn(id, a, frame);
                    }
                }
            }
            ActivityKind::ForEach(fe) => self.start_for_each(id, fe, frame, scope),
            ActivityKind::Pick(pick) => {
                for (i, om) in pick.on_messages.iter().enumerate() {
                    if let Err(f) = self.subscribe(
                        id,
                        frame,
                        &om.inbound,
                        SubscriptionKind::Pick(i),
                        pick.create_instance,
                    ) {
                        self.cancel_waits(id);
                        self.finish(id, Outcome::Faulted(f));
                        return;
                    }
                }
                for (i, alarm) in pick.on_alarms.iter().enumerate() {
                    let r = self.with_vars(frame, scope, |env, vars| {
                        data::eval_deadline(env, vars, &alarm.timing)
                    });
                    match r {
                        Ok(at) => self.arm(id, AlarmKind::Pick(i), at),
                        Err(f) => {
                            self.cancel_waits(id);
                            self.finish(id, Outcome::Faulted(f));
                            return;
                        }
                    }
                }
                self.set_run(id, Run::Blocked);
            }
            ActivityKind::Receive(recv) => {
                if let Err(f) = self.subscribe(
                    id,
                    frame,
                    &recv.inbound,
                    SubscriptionKind::Receive,
                    recv.create_instance,
                ) {
                    self.finish(id, Outcome::Faulted(f));
                } else {
                    self.set_run(id, Run::Blocked);
                }
            }
            ActivityKind::Reply(reply) => {
                let r = self.do_reply(frame, scope, reply);
                match r {
                    Ok(()) => self.finish(id, Outcome::Completed),
                    Err(f) => self.finish(id, Outcome::Faulted(f)),
                }
            }
            ActivityKind::Invoke(inv) => {
                if let Some(hs) = inv.handler_scope {
                    // The implicit scope around an invoke with inline handlers runs first; the
                    // invoke proper is started as its body.
                    let _ = hs;
                    self.start_scope(id);
                } else {
                    self.start_invoke(id, frame, scope);
                }
            }
            ActivityKind::Scope(_) => self.start_scope(id),
            ActivityKind::Compensate => {
                let comps = self.handler_compensations(id, None);
                self.run_compensations(id, comps);
            }
            ActivityKind::CompensateScope { target } => {
                let comps = self.handler_compensations(id, Some(*target));
                self.run_compensations(id, comps);
            }
            ActivityKind::Validate { variables } => {
                let r = self.with_vars(frame, scope, |env, vars| {
                    data::validate(env, vars, variables)
                });
                match r {
                    Ok(()) => self.finish(id, Outcome::Completed),
                    Err(f) => self.finish(id, Outcome::Faulted(f)),
                }
            }
        }
    }

    fn set_run(&mut self, id: TaskId, run: Run) {
        if let Some(t) = self.inst.tasks.get_mut(&id) {
            t.run = run;
        }
    }

    fn describe(&self, activity: ActivityId) -> String {
        if activity == ROOT_ACTIVITY {
            return "the process".into();
        }
        let node = self.ctx.process.activity(activity);
        let kind = kind_name(&node.kind);
        match &node.name {
            Some(n) => format!("<{kind} name=\"{n}\"> (line {})", node.pos.line),
            None => format!("<{kind}> (line {})", node.pos.line),
        }
    }

    fn loop_check(
        &mut self,
        id: TaskId,
        condition: crate::model::ExprId,
        body: ActivityId,
        frame: FrameId,
        scope: ScopeId,
        while_loop: bool,
    ) {
        let r = self.with_vars(frame, scope, |env, vars| {
            data::eval_bool(env, vars, condition)
        });
        match r {
            Err(f) => self.finish(id, Outcome::Faulted(f)),
            Ok(c) => {
                // while: run on true; repeatUntil: run again on false.
                if c == while_loop {
                    self.set_run(id, Run::Loop);
                    self.spawn(id, body, frame);
                } else {
                    self.finish(id, Outcome::Completed);
                }
            }
        }
    }

    fn start_for_each(
        &mut self,
        id: TaskId,
        fe: &crate::model::ForEach,
        frame: FrameId,
        scope: ScopeId,
    ) {
        let r = self.with_vars(frame, scope, |env, vars| {
            let start = data::eval_unsigned(env, vars, fe.start)?;
            let end = data::eval_unsigned(env, vars, fe.end)?;
            let needed = match fe.completion.as_ref().and_then(|c| c.branches) {
                Some(b) => Some(data::eval_unsigned(env, vars, b)?),
                None => None,
            };
            Ok::<_, Fault>((start, end, needed))
        });
        let (start, end, needed) = match r {
            Ok(v) => v,
            Err(f) => {
                self.finish(id, Outcome::Faulted(f));
                return;
            }
        };
        let (start, end) = (u64::from(start), u64::from(end));
        let count = if end >= start { end - start + 1 } else { 0 };
        if let Some(n) = needed
            && u64::from(n) > count
        {
            self.finish(
                id,
                Outcome::Faulted(Fault::standard(
                    "invalidBranchCondition",
                    format!("completion condition needs {n} branches but only {count} run"),
                )),
            );
            return;
        }
        if count == 0 || needed == Some(0) {
            self.finish(id, Outcome::Completed);
            return;
        }
        self.set_run(
            id,
            Run::ForEach(ForEachRun {
                next: start,
                last: end,
                needed: needed.map(u64::from),
                done: 0,
                early_exit: false,
                unsuccessful: 0,
            }),
        );
        if fe.parallel {
            for i in start..=end {
                self.spawn_for_each_branch(id, fe, frame, i);
            }
            if let Some(Task {
                run: Run::ForEach(r),
                ..
            }) = self.inst.tasks.get_mut(&id)
            {
                r.next = end + 1;
            }
        } else {
            self.spawn_for_each_branch(id, fe, frame, start);
            if let Some(Task {
                run: Run::ForEach(r),
                ..
            }) = self.inst.tasks.get_mut(&id)
            {
                r.next = start + 1;
            }
        }
    }

    fn spawn_for_each_branch(
        &mut self,
        parent: TaskId,
        fe: &crate::model::ForEach,
        frame: FrameId,
        counter: u64,
    ) {
        let child = self.spawn(parent, fe.activity, frame);
        let ActivityKind::Scope(child_scope) = self.ctx.process.activity(fe.activity).kind else {
            return;
        };
        let cf = self.new_frame(child_scope, frame);
        let var = self.ctx.process.variable(fe.counter);
        let mut value = Element::new(QName::new("", var.name.clone()));
        value
            .children
            .push(bpelgate_wsdl::Node::Text(counter.to_string()));
        if let Some(f) = self.inst.frames.get_mut(&cf) {
            f.vars.insert(fe.counter, value);
        }
        self.preset_scope_frame(child, cf);
    }

    /// Gives a scope task its frame before it starts (forEach counters, onEvent messages).
    fn preset_scope_frame(&mut self, task: TaskId, frame: FrameId) {
        self.set_run(
            task,
            Run::Scope(ScopeRun {
                frame,
                phase: ScopePhase::Body,
                body: None,
                body_done: false,
                events_open: true,
            }),
        );
    }

    // ---------------------------------------------------------------- scopes

    fn scope_of_task(&self, id: TaskId) -> Option<ScopeId> {
        let task = self.inst.tasks.get(&id)?;
        if task.activity == ROOT_ACTIVITY {
            return Some(ScopeId::PROCESS);
        }
        match &self.ctx.process.activity(task.activity).kind {
            ActivityKind::Scope(s) => Some(*s),
            ActivityKind::Invoke(inv) => inv.handler_scope,
            _ => None,
        }
    }

    fn start_scope(&mut self, id: TaskId) {
        let Some(scope_id) = self.scope_of_task(id) else {
            return;
        };
        let Some(task) = self.inst.tasks.get(&id) else {
            return;
        };
        let parent_frame = task.frame;
        let frame = match &task.run {
            Run::Scope(r) => r.frame,
            _ => {
                if task.activity == ROOT_ACTIVITY {
                    parent_frame
                } else {
                    self.new_frame(scope_id, parent_frame)
                }
            }
        };
        self.set_run(
            id,
            Run::Scope(ScopeRun {
                frame,
                phase: ScopePhase::Body,
                body: None,
                body_done: false,
                events_open: true,
            }),
        );
        self.scope_event(id, EventType::ScopeStart, EventKind::ScopeStart);
        let decl = self.ctx.process.scope(scope_id);
        // Variable initialisation (in declaration order); a failure is the scope's
        // scopeInitializationFailure.
        for var in decl.variables.clone() {
            if self.ctx.process.variable(var).init.is_none() {
                continue;
            }
            let r = self.with_vars(frame, scope_id, |env, vars| {
                data::init_variable(env, vars, var)
            });
            if let Err(f) = r {
                let fault = Fault::standard(
                    "scopeInitializationFailure",
                    format!(
                        "initialising variable {}: {f}",
                        self.ctx.process.variable(var).name
                    ),
                );
                self.finish(id, Outcome::Faulted(fault));
                return;
            }
        }
        // Event handlers; the process's own are enabled once its first message has created
        // the instance (WS-BPEL 2.0 §12.7), so they can correlate on what it initiated.
        if id != self.inst.root && !self.enable_event_handlers(id, frame, scope_id) {
            return;
        }
        let body = match decl.kind {
            ScopeKind::Invoke => None,
            _ => decl.body,
        };
        if decl.kind == ScopeKind::Invoke {
            // The invoke proper runs as the body of its implicit scope.
            self.start_invoke(id, frame, scope_id);
            if let Some(Task {
                run: Run::Scope(r), ..
            }) = self.inst.tasks.get_mut(&id)
            {
                r.body = Some(id);
            }
            return;
        }
        match body {
            Some(b) => {
                let child = self.spawn(id, b, frame);
                if let Some(Task {
                    run: Run::Scope(r), ..
                }) = self.inst.tasks.get_mut(&id)
                {
                    r.body = Some(child);
                }
            }
            None => self.scope_body_done(id),
        }
    }

    /// Subscribes the onEvent handlers and arms the onAlarm handlers of scope task `id`; false
    /// (and the scope faulted) when one cannot be set up.
    fn enable_event_handlers(&mut self, id: TaskId, frame: FrameId, scope_id: ScopeId) -> bool {
        let decl = self.ctx.process.scope(scope_id);
        for (i, ev) in decl.on_events.iter().enumerate() {
            if let Err(f) =
                self.subscribe(id, frame, &ev.inbound, SubscriptionKind::OnEvent(i), false)
            {
                self.cancel_waits(id);
                self.finish(id, Outcome::Faulted(f));
                return false;
            }
        }
        for (i, alarm) in decl.on_alarms.iter().enumerate() {
            let r = self.with_vars(frame, scope_id, |env, vars| {
                if alarm.timing.for_expr.is_none() && alarm.timing.until_expr.is_none() {
                    match alarm.repeat_every {
                        Some(e) => data::eval_duration(env, vars, e).map(|d| env.now + d),
                        None => Ok(env.now),
                    }
                } else {
                    data::eval_deadline(env, vars, &alarm.timing)
                }
            });
            match r {
                Ok(at) => self.arm(id, AlarmKind::Event(i), at),
                Err(f) => {
                    self.cancel_waits(id);
                    self.finish(id, Outcome::Faulted(f));
                    return false;
                }
            }
        }
        true
    }

    /// The body of scope task `id` completed: close its event handlers; complete once no event
    /// handler instance runs.
    fn scope_body_done(&mut self, id: TaskId) {
        self.cancel_waits(id);
        if let Some(Task {
            run: Run::Scope(r), ..
        }) = self.inst.tasks.get_mut(&id)
        {
            r.body_done = true;
            r.events_open = false;
            r.body = None;
        }
        self.maybe_complete_scope(id);
    }

    fn maybe_complete_scope(&mut self, id: TaskId) {
        let Some(task) = self.inst.tasks.get(&id) else {
            return;
        };
        let Run::Scope(r) = &task.run else { return };
        if !r.body_done || !task.children.is_empty() || r.phase != ScopePhase::Body {
            return;
        }
        let frame = r.frame;
        let activity = task.activity;
        // A request on a message exchange this scope owns (one it declares, or the default one
        // of an onEvent or parallel forEach scope) and never answered: the scope faults with missingReply (WS-BPEL 2.0 §10.4).
        if activity != ROOT_ACTIVITY
            && let Some(scope) = self.scope_of_task(id)
        {
            let process = &self.ctx.process;
            let frames = &self.inst.frames;
            let (missing, open): (Vec<OpenRequest>, Vec<OpenRequest>) =
                std::mem::take(&mut self.inst.open_requests)
                    .into_iter()
                    .partition(|r| match r.message_exchange {
                        // The default message exchange belongs to the process, to each
                        // onEvent and to each parallel forEach branch (WS-BPEL 2.0 §10.4.1).
                        None => {
                            owns_default_mex(process, scope)
                                && frame_for(frames, r.frame, scope) == Some(frame)
                        }
                        Some(m) => {
                            process.message_exchange(m).scope == scope
                                && frame_for(frames, r.frame, scope) == Some(frame)
                        }
                    });
            self.inst.open_requests = open;
            if !missing.is_empty() {
                let fault = Fault::standard(
                    "missingReply",
                    format!(
                        "{} ended without replying to operation {}",
                        self.describe(activity),
                        missing[0].operation
                    ),
                );
                for r in missing {
                    self.fx.replies.push(ReplyOut {
                        mex: r.mex,
                        operation: r.operation,
                        body: ReplyBody::Fault {
                            name: fault.name.clone(),
                            data: None,
                            explanation: fault.explanation.clone(),
                        },
                    });
                }
                self.scope_fault(id, fault);
                return;
            }
        }
        // Install the compensation handler in the enclosing scope's frame.
        if activity != ROOT_ACTIVITY
            && let Some(scope) = self.scope_of_task(id)
            && let Some(parent) = self.inst.frames.get(&frame).and_then(|f| f.parent)
        {
            if let Some(f) = self.inst.frames.get_mut(&frame) {
                f.pinned = true;
            }
            if let Some(pf) = self.inst.frames.get_mut(&parent) {
                pf.compensations.push(Compensation {
                    activity,
                    scope,
                    frame,
                });
            }
            self.scope_event(
                id,
                EventType::CompensationHandlerRegistered,
                EventKind::CompensationHandlerRegistered,
            );
        }
        self.scope_event(id, EventType::ScopeCompletion, EventKind::ScopeCompletion);
        self.finish(id, Outcome::Completed);
    }

    /// A fault reached scope task `id` (from its body, an event handler, or its own start).
    fn scope_fault(&mut self, id: TaskId, fault: Fault) {
        let Some(scope) = self.scope_of_task(id) else {
            return;
        };
        let fault_name = fault.name.clone();
        let explanation = (!fault.explanation.is_empty()).then(|| fault.explanation.clone());
        self.scope_event(
            id,
            EventType::ScopeFault,
            EventKind::ScopeFault {
                fault: fault_name,
                fault_line: None,
                explanation,
            },
        );
        let decl = self.ctx.process.scope(scope);
        if decl.exit_on_standard_fault && fault.is_standard() {
            self.exit_instance(Status::Faulted, Some(fault));
            return;
        }
        self.cancel_waits(id);
        if let Some(Task {
            run: Run::Scope(r), ..
        }) = self.inst.tasks.get_mut(&id)
        {
            r.phase = ScopePhase::FaultTerminating(fault.clone());
            r.events_open = false;
        }
        let children = self
            .inst
            .tasks
            .get(&id)
            .map(|t| t.children.clone())
            .unwrap_or_default();
        if children.is_empty() {
            self.run_fault_handler(id, fault);
        } else {
            for c in children {
                self.terminate(c);
            }
        }
    }

    fn run_fault_handler(&mut self, id: TaskId, fault: Fault) {
        let Some(scope) = self.scope_of_task(id) else {
            return;
        };
        let Some(frame) = self.task_frame(id) else {
            return;
        };
        let decl = self.ctx.process.scope(scope);
        let handlers = decl.fault_handlers.clone().unwrap_or_default();
        // Catch selection (WS-BPEL 2.0 §12.5).
        let mut chosen: Option<&crate::model::Catch> = None;
        let env = self.env(
            self.activity_scope(
                self.inst
                    .tasks
                    .get(&id)
                    .map_or(ROOT_ACTIVITY, |t| t.activity),
            ),
        );
        let matches_type = |c: &crate::model::Catch| -> Option<bool> {
            match (&c.fault_type, &fault.data) {
                (None, _) => Some(true),
                (Some(t), Some(d)) => Some(data::fault_type_matches(&env, t, d)),
                (Some(_), None) => Some(false),
            }
        };
        // 1. name and data type both match; 2. name matches, no type; 3. type only (no name);
        // then catchAll.
        for c in &handlers.catches {
            if c.fault_name.as_ref() == Some(&fault.name)
                && c.fault_type.is_some()
                && matches_type(c) == Some(true)
            {
                chosen = Some(c);
                break;
            }
        }
        if chosen.is_none() {
            chosen = handlers
                .catches
                .iter()
                .find(|c| c.fault_name.as_ref() == Some(&fault.name) && c.fault_type.is_none());
        }
        if chosen.is_none() && fault.data.is_some() {
            chosen = handlers.catches.iter().find(|c| {
                c.fault_name.is_none() && c.fault_type.is_some() && matches_type(c) == Some(true)
            });
        }
        let chosen = chosen.cloned();
        let is_default = chosen.is_none() && handlers.catch_all.is_none();
        if let Some(Task {
            run: Run::Scope(r), ..
        }) = self.inst.tasks.get_mut(&id)
        {
            r.phase = ScopePhase::FaultHandler(fault.clone(), is_default);
        }
        match (chosen, handlers.catch_all) {
            (Some(c), _) => {
                let mut hframe = frame;
                if let Some(cs) = c.scope {
                    hframe = self.new_frame(cs, frame);
                }
                if let (Some(var), Some(d)) = (c.fault_variable, fault.data.as_ref()) {
                    let r = self.with_vars(hframe, c.scope.unwrap_or(scope), |env, vars| {
                        data::bind_fault(env, vars, var, d)
                    });
                    if let Err(f) = r {
                        self.finish(id, Outcome::Faulted(f));
                        return;
                    }
                }
                self.spawn(id, c.activity, hframe);
            }
            (None, Some(all)) => {
                self.spawn(id, all, frame);
            }
            (None, None) => {
                // Default fault handler: compensate the enclosed scopes, then rethrow.
                let comps = self.take_compensations(frame, None);
                let child = self.spawn_compensating(id, frame, comps);
                let _ = child;
            }
        }
    }

    fn task_frame(&self, id: TaskId) -> Option<FrameId> {
        let t = self.inst.tasks.get(&id)?;
        Some(match &t.run {
            Run::Scope(r) => r.frame,
            _ => t.frame,
        })
    }

    /// The fault being handled by the nearest enclosing fault handler (for `<rethrow>`).
    fn handled_fault(&self, mut id: TaskId) -> Option<Fault> {
        loop {
            let t = self.inst.tasks.get(&id)?;
            if let Run::Scope(ScopeRun {
                phase: ScopePhase::FaultHandler(f, _),
                ..
            }) = &t.run
            {
                return Some(f.clone());
            }
            id = t.parent?;
        }
    }

    // ---------------------------------------------------------------- compensation

    /// The compensation handlers a `<compensate>`/`<compensateScope>` in task `id` may run: those
    /// installed in the frame of the scope whose handler contains the activity.
    fn handler_compensations(
        &mut self,
        id: TaskId,
        target: Option<ActivityId>,
    ) -> Vec<Compensation> {
        let Some(frame) = self.inst.tasks.get(&id).map(|t| t.frame) else {
            return Vec::new();
        };
        // The activity runs in a handler of scope S; its frame chain leads to S's frame (catch
        // scopes sit in between). Find the nearest frame with installed compensations or of a
        // real scope.
        let mut f = Some(frame);
        while let Some(fid) = f {
            let Some(fr) = self.inst.frames.get(&fid) else {
                break;
            };
            let kind = self.ctx.process.scope(fr.scope).kind;
            if kind != ScopeKind::Catch {
                return self.take_compensations(fid, target);
            }
            f = fr.parent;
        }
        Vec::new()
    }

    /// Removes and returns the installed handlers of `frame` (all, or those of `target`), in
    /// the order they must run (reverse completion order).
    fn take_compensations(
        &mut self,
        frame: FrameId,
        target: Option<ActivityId>,
    ) -> Vec<Compensation> {
        let Some(fr) = self.inst.frames.get_mut(&frame) else {
            return Vec::new();
        };
        let (taken, kept): (Vec<_>, Vec<_>) = fr
            .compensations
            .drain(..)
            .partition(|c| target.is_none_or(|t| t == c.activity));
        fr.compensations = kept;
        let mut taken = taken;
        taken.reverse();
        taken
    }

    fn run_compensations(&mut self, id: TaskId, comps: Vec<Compensation>) {
        if comps.is_empty() {
            self.finish(id, Outcome::Completed);
            return;
        }
        self.set_run(id, Run::Compensating(comps));
        self.next_compensation(id);
    }

    fn spawn_compensating(
        &mut self,
        parent: TaskId,
        frame: FrameId,
        comps: Vec<Compensation>,
    ) -> TaskId {
        let id = self.inst.fresh();
        self.inst.tasks.insert(
            id,
            Task {
                activity: ROOT_ACTIVITY,
                frame,
                parent: Some(parent),
                children: Vec::new(),
                terminating: false,
                started: false,
                fault: None,
                run: Run::Compensating(Vec::new()),
            },
        );
        if let Some(p) = self.inst.tasks.get_mut(&parent) {
            p.children.push(id);
        }
        self.run_compensations(id, comps);
        id
    }

    /// Starts the next handler of a compensating task, or completes it.
    fn next_compensation(&mut self, id: TaskId) {
        let next = match self.inst.tasks.get_mut(&id) {
            Some(Task {
                run: Run::Compensating(list),
                ..
            }) => {
                if list.is_empty() {
                    None
                } else {
                    Some(list.remove(0))
                }
            }
            _ => return,
        };
        let Some(comp) = next else {
            self.finish(id, Outcome::Completed);
            return;
        };
        let decl = self.ctx.process.scope(comp.scope);
        match decl.compensation_handler {
            Some(handler) => {
                // The handler sees the scope's variables as they were at completion.
                self.spawn(id, handler, comp.frame);
            }
            None => {
                // Default compensation handler: compensate the nested scopes.
                let nested = self.take_compensations(comp.frame, None);
                self.spawn_compensating(id, comp.frame, nested);
            }
        }
    }

    // ---------------------------------------------------------------- messaging

    fn correlation_frame(&self, frame: FrameId, set: CorrelationSetId) -> Option<FrameId> {
        let scope = self.ctx.process.correlation_set(set).scope;
        frame_for(&self.inst.frames, frame, scope)
    }

    fn correlation_value(&self, frame: FrameId, set: CorrelationSetId) -> Option<&Vec<String>> {
        let f = self.correlation_frame(frame, set)?;
        self.inst.frames.get(&f)?.correlations.get(&set)
    }

    fn subscribe(
        &mut self,
        task: TaskId,
        frame: FrameId,
        inbound: &Inbound,
        kind: SubscriptionKind,
        create_instance: bool,
    ) -> Result<(), Fault> {
        for c in &inbound.correlations {
            let value = self.correlation_value(frame, c.set).cloned();
            match (c.initiate, value) {
                (Initiate::No, None) if !create_instance => {
                    return Err(Fault::standard(
                        "correlationViolation",
                        format!(
                            "correlation set {} is used with initiate=\"no\" before it was initiated",
                            self.ctx.process.correlation_set(c.set).name
                        ),
                    ));
                }
                // Apache ODE enables such a receive and lets a message carrying the set's
                // current values through (checked in `apply_correlations`); ode-compat does too.
                (Initiate::Yes, Some(_)) if !create_instance && !self.ctx.process.ode_compat => {
                    return Err(Fault::standard(
                        "correlationViolation",
                        format!(
                            "correlation set {} is already initiated",
                            self.ctx.process.correlation_set(c.set).name
                        ),
                    ));
                }
                _ => {}
            }
        }
        // Two receives for the same partner link, operation and correlation sets enabled at
        // once: the later one faults (WS-BPEL 2.0 §10.4).
        let sets: Vec<CorrelationSetId> = inbound.correlations.iter().map(|c| c.set).collect();
        let conflict = self.inst.subscriptions.values().any(|other| {
            other.task != task
                && !matches!(other.kind, SubscriptionKind::OnEvent(_))
                && !matches!(kind, SubscriptionKind::OnEvent(_))
                && other.partner_link == inbound.partner_link
                && other.operation == inbound.operation.name
                && self.subscription_inbound(other).is_some_and(|o| {
                    o.correlations.iter().map(|c| c.set).collect::<Vec<_>>() == sets
                })
        });
        if conflict {
            return Err(Fault::standard(
                "conflictingReceive",
                format!(
                    "another receive for operation {} on this partner link is already waiting",
                    inbound.operation.name
                ),
            ));
        }
        let id = self.inst.fresh();
        self.inst.subscriptions.insert(
            id,
            Subscription {
                task,
                kind,
                partner_link: inbound.partner_link,
                operation: inbound.operation.name.clone(),
                create_instance,
            },
        );
        self.fx.subscriptions_changed = true;
        Ok(())
    }

    /// The inbound declaration a subscription waits with.
    fn subscription_inbound(&self, sub: &Subscription) -> Option<&Inbound> {
        let task = self.inst.tasks.get(&sub.task)?;
        if task.activity == ROOT_ACTIVITY {
            return match sub.kind {
                SubscriptionKind::OnEvent(i) => self
                    .ctx
                    .process
                    .scope(ScopeId::PROCESS)
                    .on_events
                    .get(i)
                    .map(|e| &e.inbound),
                _ => None,
            };
        }
        match (&self.ctx.process.activity(task.activity).kind, &sub.kind) {
            (ActivityKind::Receive(r), SubscriptionKind::Receive) => Some(&r.inbound),
            (ActivityKind::Pick(p), SubscriptionKind::Pick(i)) => {
                p.on_messages.get(*i).map(|m| &m.inbound)
            }
            (ActivityKind::Scope(s), SubscriptionKind::OnEvent(i)) => self
                .ctx
                .process
                .scope(*s)
                .on_events
                .get(*i)
                .map(|e| &e.inbound),
            _ => None,
        }
    }

    fn arm(&mut self, task: TaskId, kind: AlarmKind, at: Millis) {
        let id = self.inst.fresh();
        self.inst.alarms.insert(id, Alarm { task, kind, at });
        self.fx.alarms.push((id, at));
    }

    /// Cancels the subscriptions, alarms and pending invokes owned by `task`.
    fn cancel_waits(&mut self, task: TaskId) {
        let before = self.inst.subscriptions.len();
        self.inst.subscriptions.retain(|_, s| s.task != task);
        if self.inst.subscriptions.len() != before {
            self.fx.subscriptions_changed = true;
        }
        self.inst.alarms.retain(|_, a| a.task != task);
        self.inst.pending_invokes.retain(|_, p| p.task != task);
        self.inst.failures.remove(&task);
    }

    /// Applies an inbound message's correlations (initiate / verify) in `frame`.
    #[allow(clippy::too_many_arguments)] // one call per message direction; a struct would only rename them
    fn apply_correlations(
        &mut self,
        frame: FrameId,
        scope: ScopeId,
        correlations: &[CorrelationRef],
        message_type: Option<&QName>,
        message: &Element,
        outbound: Option<bool>,
        leaving: bool,
    ) -> Result<(), Fault> {
        for c in correlations {
            if let (Some(is_request), Some(p)) = (outbound, c.pattern) {
                let applies = match p {
                    Pattern::Request => is_request,
                    Pattern::Response => !is_request,
                    Pattern::RequestResponse => true,
                };
                if !applies {
                    continue;
                }
            }
            let Some(mt) = message_type else { continue };
            let env = self.env(scope);
            let values = data::correlation_values(&env, c.set, mt, message)?;
            let existing = self.correlation_value(frame, c.set).cloned();
            let name = self.ctx.process.correlation_set(c.set).name.clone();
            match (c.initiate, existing) {
                // The first attempt of a failed invoke initiated the set with these values.
                (Initiate::Yes, Some(old)) if self.resending && old == values => {}
                (Initiate::Yes, Some(_)) if outbound.is_some() => {
                    return Err(Fault::standard(
                        "correlationViolation",
                        format!("correlation set {name} is already initiated"),
                    ));
                }
                // An outgoing message (invoke request, reply) with initiate="join" on an already
                // initiated set is not checked: Apache ODE only initiates there, and processes
                // written for it rely on that (decision 008).
                (Initiate::Join, Some(_)) if leaving => {}
                (Initiate::Yes, Some(old))
                | (Initiate::Join, Some(old))
                | (Initiate::No, Some(old)) => {
                    if old != values && c.initiate != Initiate::Yes {
                        return Err(Fault::standard(
                            "correlationViolation",
                            format!(
                                "message values {values:?} do not match correlation set {name} {old:?}"
                            ),
                        ));
                    }
                    if c.initiate == Initiate::Yes && old != values {
                        return Err(Fault::standard(
                            "correlationViolation",
                            format!("correlation set {name} is already initiated"),
                        ));
                    }
                }
                (Initiate::No, None) => {
                    return Err(Fault::standard(
                        "correlationViolation",
                        format!("correlation set {name} is not initiated"),
                    ));
                }
                (Initiate::Yes | Initiate::Join, None) => {
                    let key = CorrelationKey {
                        correlation_set: name.clone(),
                        values: values.clone(),
                    };
                    if let Some(f) = self.correlation_frame(frame, c.set)
                        && let Some(fr) = self.inst.frames.get_mut(&f)
                    {
                        fr.correlations.insert(c.set, values);
                    }
                    let set_scope = self.ctx.process.correlation_set(c.set).scope;
                    self.emit(set_scope, EventType::CorrelationSetWrite, |h| {
                        h.event(EventKind::CorrelationSetWrite { key })
                    });
                }
            }
        }
        Ok(())
    }

    fn on_message(&mut self, sub_id: u32, message: Element, mex: Option<MexId>, ambiguous: bool) {
        // The activity takes the message (a request stays open for its reply) and, when
        // another enabled receive matched it too, throws instead of completing.
        let ambiguity = || {
            Fault::standard(
                "ambiguousReceive",
                "the message matches several enabled receives through different correlation sets",
            )
        };
        let Some(sub) = self.inst.subscriptions.get(&sub_id).cloned() else {
            if let Some(mex) = mex {
                self.fx.replies.push(ReplyOut {
                    mex,
                    operation: String::new(),
                    body: ReplyBody::Fault {
                        name: QName::new(super::fault::BPEL_NS, "correlationViolation"),
                        data: None,
                        explanation: "the instance no longer waits for this message".into(),
                    },
                });
            }
            return;
        };
        let Some(task) = self.inst.tasks.get(&sub.task).cloned() else {
            return;
        };
        let first_message = !self.inst.started;
        self.inst.started = true;
        if first_message {
            let root = self.inst.root;
            let root_frame = self.task_frame(root).unwrap_or(0);
            self.queue
                .push_back(Work::EnableProcessEvents(root, root_frame));
        }
        let node = if task.activity == ROOT_ACTIVITY {
            None
        } else {
            Some(self.ctx.process.activity(task.activity))
        };
        match sub.kind {
            SubscriptionKind::Receive => {
                let Some(ActivityKind::Receive(recv)) = node.map(|n| &n.kind) else {
                    return;
                };
                self.cancel_waits(sub.task);
                let scope = self.activity_scope(task.activity);
                match self.accept(task.frame, scope, &recv.inbound, message, mex) {
                    Ok(()) if ambiguous => self.finish(sub.task, Outcome::Faulted(ambiguity())),
                    Ok(()) => self.finish(sub.task, Outcome::Completed),
                    Err(f) => self.finish(sub.task, Outcome::Faulted(f)),
                }
            }
            SubscriptionKind::Pick(i) => {
                let Some(ActivityKind::Pick(pick)) = node.map(|n| &n.kind) else {
                    return;
                };
                let Some(om) = pick.on_messages.get(i) else {
                    return;
                };
                self.cancel_waits(sub.task);
                let scope = self.activity_scope(task.activity);
                for (j, other) in pick.on_messages.iter().enumerate() {
                    if j != i {
                        self.skip_links(sub.task, other.activity);
                    }
                }
                for alarm in &pick.on_alarms {
                    self.skip_links(sub.task, alarm.activity);
                }
                match self.accept(task.frame, scope, &om.inbound, message, mex) {
                    Ok(()) if ambiguous => self.finish(sub.task, Outcome::Faulted(ambiguity())),
                    Ok(()) => {
                        self.set_run(sub.task, Run::PickBranch);
                        self.spawn(sub.task, om.activity, task.frame);
                    }
                    Err(f) => self.finish(sub.task, Outcome::Faulted(f)),
                }
            }
            SubscriptionKind::OnEvent(i) => {
                // The router took the subscription out of its index to deliver this message;
                // it stays open here, so it must be indexed again.
                self.fx.subscriptions_changed = true;
                let Some(scope) = self.scope_of_task(sub.task) else {
                    return;
                };
                let Some(ev) = self.ctx.process.scope(scope).on_events.get(i).cloned() else {
                    return;
                };
                let Some(parent_frame) = self.task_frame(sub.task) else {
                    return;
                };
                let child = self.spawn(sub.task, ev.activity, parent_frame);
                let cf = self.new_frame(ev.scope, parent_frame);
                self.preset_scope_frame(child, cf);
                if let Err(f) = self.accept(cf, ev.scope, &ev.inbound, message, mex) {
                    self.remove_task(child);
                    self.inst.frames.remove(&cf);
                    self.scope_fault(sub.task, f);
                }
            }
        }
    }

    /// Binds an accepted message into variables, applies correlations and records the open
    /// request for a later reply.
    fn accept(
        &mut self,
        frame: FrameId,
        scope: ScopeId,
        inbound: &Inbound,
        message: Element,
        mex: Option<MexId>,
    ) -> Result<(), Fault> {
        if let Some(mex) = mex {
            if self.inst.open_requests.iter().any(|r| {
                r.partner_link == inbound.partner_link
                    && r.operation == inbound.operation.name
                    && r.message_exchange == inbound.message_exchange
            }) {
                let fault = Fault::standard(
                    "conflictingRequest",
                    format!(
                        "a request for operation {} on this partner link is still open",
                        inbound.operation.name
                    ),
                );
                self.fx.replies.push(ReplyOut {
                    mex,
                    operation: inbound.operation.name.clone(),
                    body: ReplyBody::Fault {
                        name: fault.name.clone(),
                        data: None,
                        explanation: fault.explanation.clone(),
                    },
                });
                return Err(fault);
            }
            self.inst.open_requests.push(OpenRequest {
                mex,
                partner_link: inbound.partner_link,
                operation: inbound.operation.name.clone(),
                message_exchange: inbound.message_exchange,
                frame,
            });
        }
        self.mex_event(
            &inbound.operation.port_type,
            &inbound.operation.name,
            mex,
            MexAspect::ProcessInput,
        );
        self.apply_correlations(
            frame,
            scope,
            &inbound.correlations,
            inbound.operation.input.as_ref(),
            &message,
            None,
            false,
        )?;
        self.with_vars(frame, scope, |env, vars| {
            data::bind_inbound(env, vars, inbound.variable, &inbound.from_parts, message)
        })?;
        if let Some(v) = inbound.variable {
            self.variable_event(scope, v);
        }
        Ok(())
    }

    fn do_reply(
        &mut self,
        frame: FrameId,
        scope: ScopeId,
        reply: &crate::model::Reply,
    ) -> Result<(), Fault> {
        let pos = self.inst.open_requests.iter().position(|r| {
            r.partner_link == reply.partner_link
                && r.operation == reply.operation.name
                && r.message_exchange == reply.message_exchange
        });
        self.variable_read_event(reply.variable);
        let Some(pos) = pos else {
            return Err(Fault::standard(
                "missingRequest",
                format!(
                    "reply for operation {} has no matching open request",
                    reply.operation.name
                ),
            ));
        };
        let message_type = if let Some(fname) = &reply.fault_name {
            let _ = fname;
            reply
                .variable
                .map(|v| self.ctx.process.variable(v).ty.clone())
                .and_then(|t| match t {
                    crate::model::VarType::MessageType(q) => Some(q),
                    _ => None,
                })
        } else {
            reply.operation.output.clone()
        };
        let message = match &message_type {
            Some(mt) => {
                let mt = mt.clone();
                Some(self.with_vars(frame, scope, |env, vars| {
                    data::build_outbound(env, vars, reply.variable, &reply.to_parts, &mt)
                })?)
            }
            None => None,
        };
        if let (Some(m), Some(mt)) = (&message, &message_type) {
            self.apply_correlations(frame, scope, &reply.correlations, Some(mt), m, None, true)?;
        }
        let req = self.inst.open_requests.remove(pos);
        let aspect = if reply.fault_name.is_some() {
            MexAspect::ProcessFault
        } else {
            MexAspect::ProcessOutput
        };
        self.mex_event(
            &reply.operation.port_type,
            &reply.operation.name,
            Some(req.mex),
            aspect,
        );
        let body = match &reply.fault_name {
            Some(name) => ReplyBody::Fault {
                name: name.clone(),
                data: match (message, message_type) {
                    (Some(value), Some(message_type)) => Some(FaultData::Message {
                        message_type,
                        value,
                    }),
                    _ => None,
                },
                explanation: String::new(),
            },
            None => ReplyBody::Output(
                message.unwrap_or_else(|| Element::new(QName::new("", "message"))),
            ),
        };
        self.fx.replies.push(ReplyOut {
            mex: req.mex,
            operation: req.operation,
            body,
        });
        Ok(())
    }

    fn start_invoke(&mut self, id: TaskId, frame: FrameId, scope: ScopeId) {
        let activity = match self.inst.tasks.get(&id) {
            Some(t) => t.activity,
            None => return,
        };
        let ActivityKind::Invoke(inv) = &self.ctx.process.activity(activity).kind else {
            return;
        };
        let _ = scope;
        let scope = self.ctx.process.activity(activity).scope;
        let input_type = inv.operation.input.clone();
        let r = match &input_type {
            Some(input_type) => {
                self.variable_read_event(inv.input_variable);
                self.with_vars(frame, scope, |env, vars| {
                    data::build_outbound(env, vars, inv.input_variable, &inv.to_parts, input_type)
                })
            }
            // A partner's notification operation, invoked like Apache ODE does (ode-compat,
            // SA00001): an empty request, the operation's output as the response.
            None if inv.operation.request_response => Ok(Element::new(QName::local("message"))),
            None => Err(Fault::standard(
                "invalidVariables",
                "the invoked operation has no input message",
            )),
        };
        let message = match r {
            Ok(m) => m,
            Err(f) => {
                self.fail_invoke(id, f);
                return;
            }
        };
        if let Err(f) = self.apply_correlations(
            frame,
            scope,
            &inv.correlations,
            input_type.as_ref(),
            &message,
            Some(true),
            true,
        ) {
            self.fail_invoke(id, f);
            return;
        }
        let endpoint = {
            let pl = inv.partner_link;
            let scope_pl = self.ctx.process.partner_link(pl).scope;
            frame_for(&self.inst.frames, frame, scope_pl)
                .and_then(|f| self.inst.frames.get(&f))
                .and_then(|f| f.endpoints.get(&(pl, Role::Partner)).cloned())
        };
        let invoke = self.inst.fresh();
        let one_way = !inv.operation.request_response;
        self.mex_event(
            &inv.operation.port_type,
            &inv.operation.name,
            Some(u64::from(invoke)),
            MexAspect::PartnerInput,
        );
        self.fx.invokes.push(InvokeOut {
            invoke,
            partner_link: inv.partner_link,
            operation: inv.operation.name.clone(),
            one_way,
            message,
            endpoint,
        });
        if one_way {
            self.invoke_done(id);
        } else {
            self.inst
                .pending_invokes
                .insert(invoke, PendingInvoke { task: id });
            if !matches!(
                self.inst.tasks.get(&id).map(|t| &t.run),
                Some(Run::Scope(_))
            ) {
                self.set_run(id, Run::Blocked);
            }
        }
    }

    /// The invoke proper of task `id` finished normally.
    fn invoke_done(&mut self, id: TaskId) {
        if matches!(
            self.inst.tasks.get(&id).map(|t| &t.run),
            Some(Run::Scope(_))
        ) {
            self.scope_body_done(id);
        } else {
            self.finish(id, Outcome::Completed);
        }
    }

    fn fail_invoke(&mut self, id: TaskId, fault: Fault) {
        if matches!(
            self.inst.tasks.get(&id).map(|t| &t.run),
            Some(Run::Scope(_))
        ) {
            self.scope_fault(id, fault);
        } else {
            self.finish(id, Outcome::Faulted(fault));
        }
    }

    fn on_invoke_result(&mut self, invoke: u32, result: InvokeResult) {
        let Some(pending) = self.inst.pending_invokes.remove(&invoke) else {
            return;
        };
        let id = pending.task;
        let Some(task) = self.inst.tasks.get(&id).cloned() else {
            return;
        };
        let ActivityKind::Invoke(inv) = &self.ctx.process.activity(task.activity).kind else {
            return;
        };
        let frame = match &task.run {
            Run::Scope(r) => r.frame,
            _ => task.frame,
        };
        let scope = self.ctx.process.activity(task.activity).scope;
        match result {
            InvokeResult::Output(message) => {
                let out_type = inv.operation.output.clone();
                if let Some(mt) = &out_type
                    && let Err(f) = self.apply_correlations(
                        frame,
                        scope,
                        &inv.correlations,
                        Some(mt),
                        &message,
                        Some(false),
                        false,
                    )
                {
                    self.fail_invoke(id, f);
                    return;
                }
                let r = self.with_vars(frame, scope, |env, vars| {
                    data::bind_inbound(env, vars, inv.output_variable, &inv.from_parts, message)
                });
                match r {
                    Ok(()) => self.invoke_done(id),
                    Err(f) => self.fail_invoke(id, f),
                }
            }
            InvokeResult::Fault { name, data } => {
                let fault = Fault {
                    name,
                    data,
                    explanation: format!(
                        "fault from the partner of {}",
                        self.describe(task.activity)
                    ),
                };
                self.fail_invoke(id, fault);
            }
            InvokeResult::Failure(reason) => self.invoke_failed(id, task.activity, reason),
        }
    }

    fn on_alarm(&mut self, alarm_id: u32) {
        let Some(alarm) = self.inst.alarms.remove(&alarm_id) else {
            return;
        };
        let Some(task) = self.inst.tasks.get(&alarm.task).cloned() else {
            return;
        };
        match alarm.kind {
            AlarmKind::Wait => self.finish(alarm.task, Outcome::Completed),
            AlarmKind::Retry => {
                if let Some(f) = self.inst.failures.get_mut(&alarm.task) {
                    f.retries += 1;
                }
                self.resend(alarm.task);
            }
            AlarmKind::Pick(i) => {
                let ActivityKind::Pick(pick) = &self.ctx.process.activity(task.activity).kind
                else {
                    return;
                };
                self.cancel_waits(alarm.task);
                for om in &pick.on_messages {
                    self.skip_links(alarm.task, om.activity);
                }
                for (j, other) in pick.on_alarms.iter().enumerate() {
                    if j != i {
                        self.skip_links(alarm.task, other.activity);
                    }
                }
                if let Some(a) = pick.on_alarms.get(i) {
                    self.set_run(alarm.task, Run::PickBranch);
                    self.spawn(alarm.task, a.activity, task.frame);
                }
            }
            AlarmKind::Event(i) => {
                let Some(scope) = self.scope_of_task(alarm.task) else {
                    return;
                };
                let Some(ev) = self.ctx.process.scope(scope).on_alarms.get(i).cloned() else {
                    return;
                };
                let open = matches!(&task.run, Run::Scope(r) if r.events_open);
                if !open {
                    return;
                }
                let Some(frame) = self.task_frame(alarm.task) else {
                    return;
                };
                self.spawn(alarm.task, ev.activity, frame);
                if let Some(every) = ev.repeat_every {
                    let r = self.with_vars(frame, scope, |env, vars| {
                        data::eval_duration(env, vars, every)
                    });
                    match r {
                        Ok(d) => self.arm(alarm.task, AlarmKind::Event(i), self.now + d.max(1)),
                        Err(f) => self.scope_fault(alarm.task, f),
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------- failures and recovery

    /// A partner failure of invoke task `id` (ODE's ACTIVITYGUARD): throw `activityFailure`
    /// when the policy says `faultOnFailure` and the retries are used up, else retry after
    /// `retryDelay` while retries are left, else wait for an operator.
    fn invoke_failed(&mut self, id: TaskId, activity: ActivityId, reason: String) {
        tracing::info!(
            instance = self.inst.id,
            activity = %self.describe(activity),
            reason = %reason,
            "partner failure"
        );
        let now = self.now;
        let record = self.inst.failures.entry(id).or_insert(ActivityFailure {
            activity,
            reason: String::new(),
            retries: 0,
            at: now,
            awaiting_recovery: false,
        });
        record.reason.clone_from(&reason);
        record.at = now;
        let retries = record.retries;
        match recovery::policy(self.ctx, activity) {
            Some(p) if p.fault_on_failure && retries >= p.retry_for => {
                self.inst.failures.remove(&id);
                let fault =
                    recovery::activity_failure(format!("{}: {reason}", self.describe(activity)));
                self.fail_invoke(id, fault);
            }
            Some(p) if retries < p.retry_for => {
                let at = now.saturating_add(Millis::from(p.retry_delay_s).saturating_mul(1000));
                self.arm(id, AlarmKind::Retry, at);
            }
            _ => {
                if let Some(f) = self.inst.failures.get_mut(&id) {
                    f.awaiting_recovery = true;
                }
                self.activity_event(
                    id,
                    activity,
                    EventType::ActivityFailure,
                    EventKind::ActivityFailure { reason },
                );
            }
        }
    }

    /// Sends the invoke of task `id` again, its input evaluated anew.
    fn resend(&mut self, id: TaskId) {
        let Some(activity) = self.inst.tasks.get(&id).map(|t| t.activity) else {
            return;
        };
        let Some(frame) = self.task_frame(id) else {
            return;
        };
        let scope = self.activity_scope(activity);
        self.resending = true;
        self.start_invoke(id, frame, scope);
        self.resending = false;
    }

    /// An operator's recovery action for task `id`.
    fn recover(&mut self, id: TaskId, action: RecoveryAction) {
        let Some(failure) = self
            .inst
            .failures
            .get(&id)
            .filter(|f| f.awaiting_recovery)
            .cloned()
        else {
            tracing::debug!(
                instance = self.inst.id,
                task = id,
                "recovery for an activity that does not wait for one"
            );
            return;
        };
        self.activity_event(
            id,
            failure.activity,
            EventType::ActivityRecovery,
            EventKind::ActivityRecovery { action },
        );
        match action {
            RecoveryAction::Retry => {
                if let Some(f) = self.inst.failures.get_mut(&id) {
                    f.retries += 1;
                    f.awaiting_recovery = false;
                }
                self.resend(id);
            }
            RecoveryAction::Cancel => {
                self.inst.failures.remove(&id);
                self.cancel_activity(id);
            }
            RecoveryAction::Fault => {
                self.inst.failures.remove(&id);
                let fault = recovery::activity_failure(format!(
                    "{}: {}",
                    self.describe(failure.activity),
                    failure.reason
                ));
                self.fail_invoke(id, fault);
            }
        }
    }

    /// Ends task `id` without its effect, as ODE's `cancelled()`: its outgoing links are false
    /// and its parent continues as after a completion.
    fn cancel_activity(&mut self, id: TaskId) {
        let Some(activity) = self.inst.tasks.get(&id).map(|t| t.activity) else {
            return;
        };
        self.activity_event(
            id,
            activity,
            EventType::ActivityExecEnd,
            EventKind::ActivityExecEnd,
        );
        self.skip_links(id, activity);
        let Some(task) = self.remove_task(id) else {
            return;
        };
        // An invoke with inline handlers did not happen: its scope installs no compensation.
        if let Run::Scope(r) = &task.run {
            self.inst.frames.remove(&r.frame);
        }
        self.notify_parent_of(&task, id, Outcome::Completed);
    }

    // ---------------------------------------------------------------- suspend and resume

    fn suspend(&mut self) {
        self.inst.status = Status::Suspended;
        self.state_change(InstanceState::Active, InstanceState::Suspended);
    }

    /// Keeps an input that arrived while suspended for [`Self::resume`].
    fn defer(&mut self, input: Input) {
        let mut parked = Vec::new();
        if let Input::Message { subscription, .. } | Input::Ambiguous { subscription, .. } = &input
        {
            let Some(sub) = self.inst.subscriptions.get(subscription) else {
                // Nothing waits for it: refused now, as it would be while running.
                self.dispatch(input);
                return;
            };
            // The router took the subscription out of its index to deliver the message and
            // rebuilds the instance's entries from `subscriptions`: an onEvent stays open, a
            // receive or a pick is spoken for until the message is processed.
            self.fx.subscriptions_changed = true;
            if !matches!(sub.kind, SubscriptionKind::OnEvent(_)) {
                let task = sub.task;
                let ids: Vec<u32> = (self.inst.subscriptions.iter())
                    .filter(|(_, s)| s.task == task)
                    .map(|(id, _)| *id)
                    .collect();
                for id in ids {
                    if let Some(s) = self.inst.subscriptions.remove(&id) {
                        parked.push((id, s));
                    }
                }
            }
        }
        self.inst.deferred.push(Deferred { input, parked });
    }

    /// Resumes a suspended instance and processes what arrived meanwhile, in arrival order.
    fn resume(&mut self) {
        self.inst.status = Status::Active;
        self.state_change(InstanceState::Suspended, InstanceState::Active);
        while self.inst.status == Status::Active && !self.inst.deferred.is_empty() {
            let d = self.inst.deferred.remove(0);
            for (id, sub) in d.parked {
                // An earlier input (a pick's alarm, a fault) may have ended the wait meanwhile;
                // the message is then refused like any message nobody waits for.
                let waiting = self
                    .inst
                    .tasks
                    .get(&sub.task)
                    .is_some_and(|t| matches!(t.run, Run::Blocked) && !t.terminating);
                if waiting {
                    self.inst.subscriptions.insert(id, sub);
                    self.fx.subscriptions_changed = true;
                }
            }
            self.dispatch(d.input);
            self.run();
        }
    }

    // ---------------------------------------------------------------- completion

    /// Takes the instance's isolation for isolated scope task `id`; false (and `id` queued, to
    /// be started again on release) while another isolated scope holds it.
    fn acquire_isolation(&mut self, id: TaskId) -> bool {
        match self.inst.isolation {
            None => {
                self.inst.isolation = Some(id);
                true
            }
            Some(holder) if holder == id => true,
            Some(_) => {
                if !self.inst.isolation_waiting.contains(&id) {
                    self.inst.isolation_waiting.push(id);
                }
                false
            }
        }
    }

    /// Called as task `id` goes away: a queued scope leaves the queue; the holder releases the
    /// isolation to the first queued scope still alive.
    fn release_isolation(&mut self, id: TaskId) {
        self.inst.isolation_waiting.retain(|t| *t != id);
        if self.inst.isolation != Some(id) {
            return;
        }
        self.inst.isolation = None;
        while !self.inst.isolation_waiting.is_empty() {
            let next = self.inst.isolation_waiting.remove(0);
            if self.inst.tasks.get(&next).is_some_and(|t| !t.terminating) {
                self.inst.isolation = Some(next);
                self.queue.push_back(Work::Start(next));
                break;
            }
        }
    }

    fn remove_task(&mut self, id: TaskId) -> Option<Task> {
        self.release_isolation(id);
        self.cancel_waits(id);
        let task = self.inst.tasks.remove(&id)?;
        if let Some(p) = task.parent
            && let Some(pt) = self.inst.tasks.get_mut(&p)
        {
            pt.children.retain(|c| *c != id);
        }
        Some(task)
    }

    fn done(&mut self, id: TaskId, outcome: Outcome) {
        if let Some(t) = self.inst.tasks.get(&id) {
            let activity = t.activity;
            match &outcome {
                Outcome::Completed => self.activity_event(
                    id,
                    activity,
                    EventType::ActivityExecEnd,
                    EventKind::ActivityExecEnd,
                ),
                Outcome::Faulted(f) => {
                    let reason = f.to_string();
                    self.activity_event(
                        id,
                        activity,
                        EventType::ActivityFailure,
                        EventKind::ActivityFailure { reason },
                    )
                }
                Outcome::Terminated => {}
            }
        }
        let Some(task) = self.remove_task(id) else {
            return;
        };
        // Frames of scopes that did not install a compensation handler are dropped.
        if let Run::Scope(r) = &task.run
            && task.activity != ROOT_ACTIVITY
            && !self.inst.frames.get(&r.frame).is_some_and(|f| f.pinned)
        {
            self.inst.frames.remove(&r.frame);
        }
        if task.activity != ROOT_ACTIVITY {
            match &outcome {
                Outcome::Completed => {
                    if let Err(fault) = self.fire_links(id, &task) {
                        self.notify_parent_of(&task, id, Outcome::Faulted(fault));
                        return;
                    }
                }
                _ => self.skip_links_of(&task, task.activity, false),
            }
        }
        self.notify_parent_of(&task, id, outcome);
    }

    fn notify_parent_of(&mut self, task: &Task, id: TaskId, outcome: Outcome) {
        match task.parent {
            None => self.instance_done(outcome),
            Some(parent) => self.child_done(parent, id, task.activity, outcome),
        }
    }

    fn child_done(
        &mut self,
        parent: TaskId,
        _child: TaskId,
        activity: ActivityId,
        outcome: Outcome,
    ) {
        let Some(ptask) = self.inst.tasks.get(&parent).cloned() else {
            return;
        };
        // A terminating parent only waits for its children to go.
        if ptask.terminating {
            if ptask.children.is_empty() {
                self.after_terminated_children(parent);
            }
            return;
        }
        // Non-scope composites: a fault terminates the siblings, then propagates.
        if let Some(f) = ptask.fault.clone() {
            if ptask.children.is_empty() {
                self.finish(parent, Outcome::Faulted(f));
            }
            return;
        }
        match ptask.run.clone() {
            Run::Scope(r) => self.scope_child_done(parent, r, activity, outcome),
            Run::Compensating(_) => match outcome {
                Outcome::Completed => self.next_compensation(parent),
                Outcome::Faulted(f) => self.fault_composite(parent, f),
                Outcome::Terminated => {}
            },
            run => {
                if let Outcome::Faulted(f) = outcome {
                    self.fault_composite(parent, f);
                    return;
                }
                if matches!(outcome, Outcome::Terminated) {
                    // Branches a forEach stopped after its completion condition was met.
                    if let Run::ForEach(r) = &run
                        && r.early_exit
                        && ptask.children.is_empty()
                    {
                        self.finish(parent, Outcome::Completed);
                    }
                    return;
                }
                self.composite_progress(parent, &ptask, run);
            }
        }
    }

    fn fault_composite(&mut self, id: TaskId, fault: Fault) {
        let children = match self.inst.tasks.get_mut(&id) {
            Some(t) => {
                t.fault = Some(fault.clone());
                t.children.clone()
            }
            None => return,
        };
        if children.is_empty() {
            self.finish(id, Outcome::Faulted(fault));
        } else {
            for c in children {
                self.terminate(c);
            }
        }
    }

    fn composite_progress(&mut self, id: TaskId, task: &Task, run: Run) {
        let node = self.ctx.process.activity(task.activity);
        let frame = task.frame;
        let scope = node.scope;
        match (&node.kind, run) {
            (ActivityKind::Sequence(children), Run::Sequence(i)) => {
                if let Some(next) = children.get(i + 1) {
                    self.set_run(id, Run::Sequence(i + 1));
                    self.spawn(id, *next, frame);
                } else {
                    self.finish(id, Outcome::Completed);
                }
            }
            (ActivityKind::While { condition, body }, _) => {
                self.loop_check(id, *condition, *body, frame, scope, true)
            }
            (ActivityKind::RepeatUntil { body, condition }, _) => {
                self.loop_check(id, *condition, *body, frame, scope, false)
            }
            (ActivityKind::ForEach(fe), Run::ForEach(mut r)) => {
                r.done += 1;
                let remaining = task.children.len();
                if r.early_exit {
                    if remaining == 0 {
                        self.finish(id, Outcome::Completed);
                    }
                    self.set_run(id, Run::ForEach(r));
                    return;
                }
                let mut complete_now = false;
                let counted = match fe.completion.as_ref() {
                    Some(c) if c.successful_branches_only => r.done.saturating_sub(r.unsuccessful),
                    _ => r.done,
                };
                if let Some(n) = r.needed
                    && counted >= n
                {
                    complete_now = true;
                } else if let Some(cond) = fe.completion.as_ref()
                    && cond.branches.is_none()
                {
                    // A completion condition with no branches expression never completes early.
                }
                if complete_now {
                    r.early_exit = true;
                    self.set_run(id, Run::ForEach(r));
                    if remaining == 0 {
                        self.finish(id, Outcome::Completed);
                    } else {
                        for c in task.children.clone() {
                            self.terminate(c);
                        }
                    }
                    return;
                }
                if !fe.parallel && r.next <= r.last {
                    let next = r.next;
                    r.next += 1;
                    self.set_run(id, Run::ForEach(r));
                    self.spawn_for_each_branch(id, fe, frame, next);
                    return;
                }
                let all_done = remaining == 0 && r.next > r.last;
                let needed = r.needed;
                self.set_run(id, Run::ForEach(r));
                if all_done {
                    if needed.is_some() {
                        self.finish(
                            id,
                            Outcome::Faulted(Fault::standard(
                                "completionConditionFailure",
                                "all branches completed without meeting the completion condition",
                            )),
                        );
                    } else {
                        self.finish(id, Outcome::Completed);
                    }
                }
            }
            (ActivityKind::Flow { .. }, _) => {
                if task.children.is_empty() {
                    self.finish(id, Outcome::Completed);
                }
            }
            (ActivityKind::If(_), _) | (ActivityKind::Pick(_), _) => {
                self.finish(id, Outcome::Completed)
            }
            _ => {
                if task.children.is_empty() {
                    self.finish(id, Outcome::Completed);
                }
            }
        }
    }

    fn scope_child_done(
        &mut self,
        id: TaskId,
        r: ScopeRun,
        _activity: ActivityId,
        outcome: Outcome,
    ) {
        let children_left = self
            .inst
            .tasks
            .get(&id)
            .map(|t| t.children.len())
            .unwrap_or(0);
        match r.phase {
            ScopePhase::Body => match outcome {
                Outcome::Faulted(f) => self.scope_fault(id, f),
                Outcome::Completed | Outcome::Terminated => {
                    let body_gone = r.body.is_some_and(|b| !self.inst.tasks.contains_key(&b));
                    if !r.body_done && body_gone {
                        self.scope_body_done(id);
                    } else {
                        self.maybe_complete_scope(id);
                    }
                }
            },
            ScopePhase::FaultTerminating(f) => {
                if children_left == 0 {
                    self.run_fault_handler(id, f);
                }
            }
            ScopePhase::FaultHandler(f, is_default) => match outcome {
                Outcome::Faulted(f2) => self.finish(id, Outcome::Faulted(f2)),
                _ if is_default => self.finish(id, Outcome::Faulted(f)),
                // Handled: the scope completes but installs no compensation handler, and it
                // is not a successful branch of an enclosing forEach.
                _ => {
                    self.note_unsuccessful_branch(id);
                    self.finish(id, Outcome::Completed)
                }
            },
            ScopePhase::TerminationHandler => {
                self.finish(id, Outcome::Terminated);
            }
        }
    }

    /// A forEach branch scope ended by handling a fault: count it as unsuccessful.
    fn note_unsuccessful_branch(&mut self, scope_task: TaskId) {
        let Some(parent) = self.inst.tasks.get(&scope_task).and_then(|t| t.parent) else {
            return;
        };
        if let Some(Task {
            run: Run::ForEach(r),
            ..
        }) = self.inst.tasks.get_mut(&parent)
        {
            r.unsuccessful += 1;
        }
    }

    fn instance_done(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Completed => {
                let open = std::mem::take(&mut self.inst.open_requests);
                for r in open {
                    self.fx.replies.push(ReplyOut {
                        mex: r.mex,
                        operation: r.operation,
                        body: ReplyBody::Fault {
                            name: QName::new(super::fault::BPEL_NS, "missingReply"),
                            data: None,
                            explanation: "the process completed without replying".into(),
                        },
                    });
                }
                self.end(Status::Completed, None);
            }
            Outcome::Faulted(f) => self.end(Status::Faulted, Some(f)),
            Outcome::Terminated => self.end(Status::Terminated, None),
        }
    }

    fn end(&mut self, status: Status, fault: Option<Fault>) {
        let open = std::mem::take(&mut self.inst.open_requests);
        for r in open {
            let (name, explanation) = match &fault {
                Some(f) => (f.name.clone(), f.explanation.clone()),
                None => (
                    QName::new("http://bpelgate.dev/faults", "instanceTerminated"),
                    "the process instance was terminated before replying".into(),
                ),
            };
            self.fx.replies.push(ReplyOut {
                mex: r.mex,
                operation: r.operation,
                body: ReplyBody::Fault {
                    name,
                    data: fault.as_ref().and_then(|f| f.data.clone()),
                    explanation,
                },
            });
        }
        // Messages kept while suspended were never taken: their senders learn it now.
        for d in std::mem::take(&mut self.inst.deferred) {
            if let Input::Message { mex: Some(mex), .. } | Input::Ambiguous { mex: Some(mex), .. } =
                d.input
            {
                let (name, explanation) = match status {
                    Status::Terminated => (
                        QName::new("http://bpelgate.dev/faults", "instanceTerminated"),
                        "the process instance was terminated before it took this message",
                    ),
                    _ => (
                        QName::new(super::fault::BPEL_NS, "correlationViolation"),
                        "the process instance ended before it took this message",
                    ),
                };
                self.fx.replies.push(ReplyOut {
                    mex,
                    operation: String::new(),
                    body: ReplyBody::Fault {
                        name,
                        data: None,
                        explanation: explanation.into(),
                    },
                });
            }
        }
        if let Some(f) = &fault {
            tracing::info!(instance = self.inst.id, fault = %f, "instance faulted");
        }
        let new_state = match status {
            Status::Completed => InstanceState::CompletedOk,
            Status::Faulted => InstanceState::CompletedWithFault,
            _ => InstanceState::Terminated,
        };
        match status {
            Status::Terminated => self.emit(ScopeId::PROCESS, EventType::ProcessTermination, |h| {
                h.event(EventKind::ProcessTermination)
            }),
            _ => {
                let f = fault.as_ref().map(|f| f.name.clone());
                self.emit(ScopeId::PROCESS, EventType::ProcessCompletion, |h| {
                    h.event(EventKind::ProcessCompletion { fault: f })
                })
            }
        }
        let old_state = match self.inst.status {
            Status::Suspended => InstanceState::Suspended,
            _ => InstanceState::Active,
        };
        self.state_change(old_state, new_state);
        self.inst.status = status;
        self.inst.fault = fault;
        self.inst.tasks.clear();
        self.inst.alarms.clear();
        self.inst.pending_invokes.clear();
        self.inst.failures.clear();
        if !self.inst.subscriptions.is_empty() {
            self.fx.subscriptions_changed = true;
        }
        self.inst.subscriptions.clear();
        self.inst.frames.clear();
        self.inst.links.clear();
        self.fx.ended = true;
        self.queue.clear();
    }

    fn exit_instance(&mut self, status: Status, fault: Option<Fault>) {
        self.end(status, fault);
    }

    // ---------------------------------------------------------------- termination

    fn terminate(&mut self, id: TaskId) {
        let Some(task) = self.inst.tasks.get_mut(&id) else {
            return;
        };
        if task.terminating {
            return;
        }
        task.terminating = true;
        let children = task.children.clone();
        let activity = task.activity;
        self.cancel_waits(id);
        if activity != ROOT_ACTIVITY {
            // Links leaving a terminated activity are never fired: make targets outside see
            // them as false (dead-path elimination).
            let t = self.inst.tasks.get(&id).cloned();
            if let Some(t) = t {
                self.skip_links_of(&t, activity, true);
            }
        }
        if children.is_empty() {
            self.after_terminated_children(id);
        } else {
            for c in children {
                self.terminate(c);
            }
        }
    }

    /// All children of terminating task `id` are gone: run a scope's termination handler, or
    /// report the task terminated.
    fn after_terminated_children(&mut self, id: TaskId) {
        let Some(task) = self.inst.tasks.get(&id).cloned() else {
            return;
        };
        if let Run::Scope(r) = &task.run
            && r.phase != ScopePhase::TerminationHandler
            && task.activity != ROOT_ACTIVITY
            && let Some(scope) = self.scope_of_task(id)
        {
            let decl = self.ctx.process.scope(scope);
            let frame = r.frame;
            if let Some(t) = self.inst.tasks.get_mut(&id) {
                t.terminating = false;
                if let Run::Scope(r) = &mut t.run {
                    r.phase = ScopePhase::TerminationHandler;
                }
            }
            match decl.termination_handler {
                Some(th) => {
                    self.spawn(id, th, frame);
                }
                None => {
                    let comps = self.take_compensations(frame, None);
                    self.spawn_compensating(id, frame, comps);
                }
            }
            return;
        }
        self.finish(id, Outcome::Terminated);
    }

    // ---------------------------------------------------------------- links

    /// The flow task declaring `link`, found among the ancestors of `from` (inclusive).
    fn flow_task(&self, from: TaskId, link: crate::model::LinkId) -> Option<TaskId> {
        let flow = self.ctx.process.link(link).flow;
        let mut cur = Some(from);
        while let Some(id) = cur {
            let t = self.inst.tasks.get(&id)?;
            if t.activity == flow {
                return Some(id);
            }
            cur = t.parent;
        }
        None
    }

    /// Join status of a waiting task: None while some incoming link is undetermined.
    fn join_status(&mut self, id: TaskId) -> Option<Result<bool, Fault>> {
        let task = self.inst.tasks.get(&id)?;
        let node = self.ctx.process.activity(task.activity);
        let mut values = Vec::new();
        for link in &node.targets {
            let flow = self.flow_task(id, *link)?;
            let v = self.inst.links.get(&(flow, *link))?;
            values.push((self.ctx.process.link(*link).name.clone(), *v));
        }
        let (frame, scope) = (task.frame, node.scope);
        Some(match node.join_condition {
            None => Ok(values.iter().any(|(_, v)| *v)),
            Some(expr) => self.with_links(frame, scope, &values, |env, vars| {
                data::eval_bool(env, vars, expr)
            }),
        })
    }

    fn set_link(&mut self, flow: TaskId, link: crate::model::LinkId, value: bool) {
        if self.inst.links.contains_key(&(flow, link)) {
            return;
        }
        self.inst.links.insert((flow, link), value);
        // Wake the target if it waits.
        let target = self.ctx.process.link(link).target;
        let waiting: Vec<TaskId> = self
            .inst
            .tasks
            .iter()
            .filter(|(_, t)| t.activity == target && matches!(t.run, Run::Waiting))
            .map(|(id, _)| *id)
            .collect();
        for w in waiting {
            if self.flow_task(w, link) == Some(flow) {
                self.queue.push_back(Work::Start(w));
            }
        }
    }

    /// Evaluates the transition conditions of a completed task's outgoing links.
    fn fire_links(&mut self, id: TaskId, task: &Task) -> Result<(), Fault> {
        let node = self.ctx.process.activity(task.activity);
        if node.sources.is_empty() {
            return Ok(());
        }
        let parent = task.parent.unwrap_or(id);
        let scope = node.scope;
        for (link, cond) in node.sources.clone() {
            let value = match cond {
                None => true,
                Some(expr) => self.with_vars(task.frame, scope, |env, vars| {
                    data::eval_bool(env, vars, expr)
                })?,
            };
            if let Some(flow) = self.flow_task(parent, link) {
                self.set_link(flow, link, value);
            }
        }
        Ok(())
    }

    /// Dead-path elimination: every link leaving `activity` or an activity nested in it is set
    /// false, when the link's flow is an ancestor of task `from`.
    fn skip_links(&mut self, from: TaskId, activity: ActivityId) {
        let mut stack = vec![activity];
        while let Some(a) = stack.pop() {
            let node = self.ctx.process.activity(a);
            for (link, _) in &node.sources {
                if let Some(flow) = self.flow_task(from, *link) {
                    self.set_link(flow, *link, false);
                }
            }
            stack.extend(super::links::children(&self.ctx.process, a));
        }
    }

    fn skip_links_of(&mut self, task: &Task, activity: ActivityId, include_self: bool) {
        let from = task.parent.unwrap_or(0);
        if include_self {
            self.skip_links(from, activity);
        } else {
            for c in super::links::children(&self.ctx.process, activity) {
                self.skip_links(from, c);
            }
            let node = self.ctx.process.activity(activity);
            for (link, _) in &node.sources {
                if let Some(flow) = self.flow_task(from, *link) {
                    self.set_link(flow, *link, false);
                }
            }
        }
    }
}

/// The BPEL element name of an activity kind.
pub fn kind_name(kind: &ActivityKind) -> &'static str {
    match kind {
        ActivityKind::Receive(_) => "receive",
        ActivityKind::Reply(_) => "reply",
        ActivityKind::Invoke(_) => "invoke",
        ActivityKind::Assign(_) => "assign",
        ActivityKind::Throw { .. } => "throw",
        ActivityKind::Rethrow => "rethrow",
        ActivityKind::Exit => "exit",
        ActivityKind::Wait(_) => "wait",
        ActivityKind::Empty => "empty",
        ActivityKind::Sequence(_) => "sequence",
        ActivityKind::If(_) => "if",
        ActivityKind::While { .. } => "while",
        ActivityKind::RepeatUntil { .. } => "repeatUntil",
        ActivityKind::ForEach(_) => "forEach",
        ActivityKind::Pick(_) => "pick",
        ActivityKind::Flow { .. } => "flow",
        ActivityKind::Scope(_) => "scope",
        ActivityKind::Compensate => "compensate",
        ActivityKind::CompensateScope { .. } => "compensateScope",
        ActivityKind::Validate { .. } => "validate",
        ActivityKind::Extension(_) => "extensionActivity",
    }
}

/// The correlation values a message must carry to match subscription `sub` now: for each
/// correlation of the waiting activity with `initiate="no"` or `"join"` whose set is already
/// initiated, the set's values.
pub fn required_correlation(
    ctx: &ProcessCtx,
    inst: &Instance,
    sub: u32,
) -> Vec<(CorrelationSetId, Vec<String>)> {
    let Some(s) = inst.subscriptions.get(&sub) else {
        return Vec::new();
    };
    let Some(task) = inst.tasks.get(&s.task) else {
        return Vec::new();
    };
    let inbound = if task.activity == ROOT_ACTIVITY {
        None
    } else {
        match (&ctx.process.activity(task.activity).kind, &s.kind) {
            (ActivityKind::Receive(r), SubscriptionKind::Receive) => Some(&r.inbound),
            (ActivityKind::Pick(p), SubscriptionKind::Pick(i)) => {
                p.on_messages.get(*i).map(|m| &m.inbound)
            }
            _ => None,
        }
    };
    let frame = match &task.run {
        Run::Scope(r) => r.frame,
        _ => task.frame,
    };
    let inbound = match (inbound, &s.kind) {
        (Some(i), _) => Some(i),
        (None, SubscriptionKind::OnEvent(i)) => {
            let scope = if task.activity == ROOT_ACTIVITY {
                Some(ScopeId::PROCESS)
            } else {
                match &ctx.process.activity(task.activity).kind {
                    ActivityKind::Scope(s) => Some(*s),
                    _ => None,
                }
            };
            scope.and_then(|sc| ctx.process.scope(sc).on_events.get(*i).map(|e| &e.inbound))
        }
        _ => None,
    };
    let Some(inbound) = inbound else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for c in &inbound.correlations {
        if c.initiate == Initiate::Yes {
            continue;
        }
        let scope = ctx.process.correlation_set(c.set).scope;
        if let Some(f) = frame_for(&inst.frames, frame, scope)
            && let Some(v) = inst.frames.get(&f).and_then(|f| f.correlations.get(&c.set))
        {
            out.push((c.set, v.clone()));
        }
    }
    out
}

/// Whether `scope` implicitly declares a default message exchange: the scope of an onEvent or
/// the child scope of a parallel forEach.
fn owns_default_mex(process: &crate::model::Process, scope: ScopeId) -> bool {
    process
        .scopes
        .iter()
        .any(|s| s.on_events.iter().any(|e| e.scope == scope))
        || process.activities.iter().any(|a| match &a.kind {
            ActivityKind::ForEach(fe) if fe.parallel => {
                matches!(process.activity(fe.activity).kind, ActivityKind::Scope(s) if s == scope)
            }
            _ => false,
        })
}
