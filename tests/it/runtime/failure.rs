//! Activity failure handling and recovery (Apache ODE's `ext:failureHandling`, ACTIVITYGUARD and
//! `recoverActivity`), and instance suspend/resume. Driven step by step on the instance value,
//! restored from JSON before every step so all of this state is durable.

use std::collections::BTreeMap;
use std::sync::Arc;

use bpelgate::compiler::compile_package;
use bpelgate::deploy::descriptor::FailureHandling;
use bpelgate::events::{Event, EventKind, InstanceState, RecoveryAction};
use bpelgate::runtime::exec::{Effects, Input, InvokeOut, InvokeResult, ReplyBody};
use bpelgate::runtime::{
    FailedActivity, Instance, PackageStylesheets, ProcessCtx, Status, failed_activities,
    new_instance, step,
};
use bpelgate_wsdl::xml::{Limits, parse_str, to_string};

use super::kit::{RECEIVE, REPLY, TEST_WSDL, process, req, resp, set_out};

const T0: i64 = 1_700_000_000_000;

/// Compiles `bpel` with deploy.xml failure policies `dd` (partner link name, policy).
fn compile(bpel: &str, dd: &[(&str, FailureHandling)]) -> (ProcessCtx, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("test.wsdl"), TEST_WSDL).expect("wsdl");
    std::fs::write(dir.path().join("p.bpel"), bpel).expect("bpel");
    let out = compile_package(dir.path());
    assert!(!out.has_errors(), "{:#?}", out.diagnostics);
    let process = out.processes.into_iter().next().expect("one process");
    let failure_handling = dd
        .iter()
        .map(|(name, f)| {
            let pl = process
                .partner_links
                .iter()
                .find(|pl| pl.name == *name)
                .unwrap_or_else(|| panic!("no partner link {name}"));
            (pl.id, *f)
        })
        .collect();
    let ctx = ProcessCtx {
        events: bpelgate::events::EventFilter::uniform(bpelgate::events::CategorySet::ALL),
        pid: Arc::from("{urn:p}P-1"),
        name: Arc::new(process.name.clone()),
        process,
        wsdl: Arc::new(out.wsdl),
        properties: Vec::new(),
        endpoints: BTreeMap::new(),
        stylesheets: Box::new(PackageStylesheets::new(None)),
        failure_handling,
    };
    (ctx, dir)
}

/// An instance driven by hand: every step restores it from JSON first and checks that the
/// restored value equals the live one.
struct Driver<'a> {
    ctx: &'a ProcessCtx,
    inst: Instance,
    now: i64,
    next_mex: u64,
    /// Replies so far, as text (`fault {name}` for faults).
    replies: Vec<String>,
    /// Invokes sent so far.
    invokes: Vec<InvokeOut>,
    /// Timers armed so far (id, due) that have not fired.
    alarms: Vec<(u32, i64)>,
    /// Events so far.
    events: Vec<Event>,
}

impl<'a> Driver<'a> {
    fn start(ctx: &'a ProcessCtx) -> Self {
        let mut d = Driver {
            ctx,
            inst: new_instance(1),
            now: T0,
            next_mex: 1,
            replies: Vec::new(),
            invokes: Vec::new(),
            alarms: Vec::new(),
            events: Vec::new(),
        };
        d.step(Input::Start);
        d
    }

    fn step(&mut self, input: Input) -> Effects {
        let json = serde_json::to_string(&self.inst).expect("instance serializes");
        let restored: Instance = serde_json::from_str(&json).expect("instance deserializes");
        assert_eq!(restored, self.inst, "the instance round-trips");
        self.inst = restored;
        let input_json = serde_json::to_string(&input).expect("input serializes");
        let input: Input = serde_json::from_str(&input_json).expect("input deserializes");
        let fx = step(self.ctx, &mut self.inst, self.now, input);
        for r in &fx.replies {
            self.replies.push(match &r.body {
                ReplyBody::Output(m) => to_string(m),
                ReplyBody::Fault { name, .. } => format!("fault {name}"),
            });
        }
        self.invokes.extend(fx.invokes.iter().cloned());
        self.alarms.extend(fx.alarms.iter().copied());
        self.events.extend(fx.events.iter().cloned());
        fx
    }

    /// Delivers a `Req` message for `operation` to the subscription waiting for it; a reply
    /// exchange is opened unless `one_way`.
    fn send(&mut self, operation: &str, input: &str, one_way: bool) -> Effects {
        let sub = *self
            .inst
            .subscriptions
            .iter()
            .find(|(_, s)| s.operation == operation)
            .unwrap_or_else(|| panic!("nothing waits for {operation}"))
            .0;
        let message = parse_str(&req(input, "k"), &Limits::default()).expect("message");
        let mex = (!one_way).then(|| {
            self.next_mex += 1;
            self.next_mex
        });
        self.step(Input::Message {
            subscription: sub,
            message,
            mex,
        })
    }

    /// The last invoke sent.
    fn last_invoke(&self) -> &InvokeOut {
        self.invokes.last().expect("an invoke was sent")
    }

    /// Answers the last invoke.
    fn answer(&mut self, result: InvokeResult) -> Effects {
        let invoke = self.last_invoke().invoke;
        self.step(Input::InvokeResult { invoke, result })
    }

    fn fail(&mut self, reason: &str) -> Effects {
        self.answer(InvokeResult::Failure(reason.into()))
    }

    fn ok(&mut self, out: &str) -> Effects {
        let m = parse_str(&resp(out), &Limits::default()).expect("message");
        self.answer(InvokeResult::Output(m))
    }

    /// Moves the clock by `ms` and fires every timer due by then, earliest first.
    fn advance(&mut self, ms: i64) {
        self.now += ms;
        loop {
            self.alarms.sort_by_key(|(_, at)| *at);
            let Some(pos) = self.alarms.iter().position(|(_, at)| *at <= self.now) else {
                return;
            };
            let (id, _) = self.alarms.remove(pos);
            self.step(Input::Alarm(id));
        }
    }

    fn failed(&self) -> Vec<FailedActivity> {
        failed_activities(self.ctx, &self.inst)
    }

    fn recover(&mut self, action: RecoveryAction) -> Effects {
        let task = self.failed().first().expect("a failed activity").task;
        self.step(Input::Recover { task, action })
    }

    fn count(&self, pred: impl Fn(&EventKind) -> bool) -> usize {
        self.events.iter().filter(|e| pred(&e.kind)).count()
    }
}

const EXT: &str = r#"xmlns:ext="http://ode.apache.org/activityRecovery""#;

/// `<ext:failureHandling>` with the given children.
fn policy(children: &str) -> String {
    format!(r#"<ext:failureHandling {EXT}>{children}</ext:failureHandling>"#)
}

/// The invoke of `partner.call` named `call`, from `req` into `resp`, with `inner` inside.
fn invoke(inner: &str) -> String {
    format!(
        r#"<invoke name="call" partnerLink="partner" operation="call" inputVariable="req" outputVariable="resp">{inner}</invoke>"#
    )
}

/// receive `run`; in a scope catching `ext:activityFailure` (reply "caught"): set `resp` to
/// "none", `call` (with `inner`), reply "got " + resp; reply.
fn guarded(scope_ext: &str, inner: &str) -> String {
    process(
        "",
        &format!(
            r#"<sequence>{RECEIVE}
  <scope {EXT}>
    {scope_ext}
    <faultHandlers><catch faultName="ext:activityFailure">{caught}</catch></faultHandlers>
    <sequence>{none}{call}{got}</sequence>
  </scope>
  {REPLY}</sequence>"#,
            caught = set_out("'caught'"),
            none = set_out("'none'"),
            call = invoke(inner),
            got = set_out("concat('got ', $resp.out)"),
        ),
    )
}

fn fh(retry_for: u32, retry_delay_s: u32, fault_on_failure: bool) -> FailureHandling {
    FailureHandling {
        retry_for,
        retry_delay_s,
        fault_on_failure,
    }
}

fn is_failure(k: &EventKind) -> bool {
    matches!(k, EventKind::ActivityFailure { .. })
}

#[test]
fn retries_after_the_delay_then_succeeds() {
    let bpel = guarded(
        "",
        &policy("<ext:retryFor>2</ext:retryFor><ext:retryDelay>30</ext:retryDelay>"),
    );
    let (ctx, _d) = compile(&bpel, &[]);
    let mut d = Driver::start(&ctx);
    d.send("run", "hello", false);
    assert_eq!(d.invokes.len(), 1);
    let first = d.last_invoke().clone();

    d.fail("connection refused");
    assert_eq!(d.invokes.len(), 1, "no retry before the delay");
    assert_eq!(d.inst.status, Status::Active);
    assert!(
        d.failed().is_empty(),
        "retrying is not waiting for an operator"
    );
    assert_eq!(d.inst.failures.values().next().map(|f| f.retries), Some(0));
    d.advance(29_999);
    assert_eq!(d.invokes.len(), 1);
    d.advance(1);
    assert_eq!(d.invokes.len(), 2, "sent again after retryDelay seconds");
    let second = d.last_invoke().clone();
    assert_ne!(second.invoke, first.invoke, "a new exchange");
    assert_eq!(second.message, first.message, "the same input");

    // A late answer to the first attempt is ignored.
    let late = parse_str(&resp("late"), &Limits::default()).expect("message");
    d.step(Input::InvokeResult {
        invoke: first.invoke,
        result: InvokeResult::Output(late),
    });
    assert!(d.replies.is_empty());

    d.fail("timeout");
    d.advance(30_000);
    assert_eq!(d.invokes.len(), 3);
    assert_eq!(d.inst.failures.values().next().map(|f| f.retries), Some(2));
    d.ok("fine");
    assert_eq!(d.replies, [resp("got fine")]);
    assert_eq!(d.inst.status, Status::Completed);
    assert_eq!(d.count(is_failure), 0, "no recovery was needed");
}

#[test]
fn fault_on_failure_after_the_retries_is_caught() {
    let bpel = guarded(
        "",
        &policy(
            "<ext:retryFor>1</ext:retryFor><ext:retryDelay>5</ext:retryDelay>\
             <ext:faultOnFailure>true</ext:faultOnFailure>",
        ),
    );
    let (ctx, _d) = compile(&bpel, &[]);
    let mut d = Driver::start(&ctx);
    d.send("run", "x", false);
    d.fail("first");
    assert!(d.replies.is_empty(), "one retry is left");
    d.advance(5_000);
    assert_eq!(d.invokes.len(), 2);
    d.fail("host unreachable");
    assert_eq!(d.replies, [resp("caught")]);
    assert_eq!(d.inst.status, Status::Completed);
    let explanation = d.events.iter().find_map(|e| match &e.kind {
        EventKind::ScopeFault {
            fault, explanation, ..
        } if fault.local == "activityFailure" => Some(explanation.clone()),
        _ => None,
    });
    let explanation = explanation
        .flatten()
        .expect("the scope saw activityFailure");
    assert!(
        explanation.contains("host unreachable") && explanation.contains("call"),
        "{explanation}"
    );
}

#[test]
fn fault_on_failure_without_retries_faults_at_once() {
    let bpel = guarded(
        "",
        &policy("<ext:faultOnFailure> TRUE </ext:faultOnFailure>"),
    );
    let (ctx, _d) = compile(&bpel, &[]);
    let mut d = Driver::start(&ctx);
    d.send("run", "x", false);
    d.fail("down");
    assert_eq!(d.replies, [resp("caught")]);
}

/// `retryFor` 1, no `faultOnFailure`: after one retry the activity waits for an operator.
fn exhausted(ctx: &ProcessCtx) -> Driver<'_> {
    let mut d = Driver::start(ctx);
    d.send("run", "x", false);
    d.fail("first");
    d.advance(1_000);
    d.fail("still down");
    d
}

fn exhausted_process() -> String {
    guarded(
        "",
        &policy("<ext:retryFor>1</ext:retryFor><ext:retryDelay>1</ext:retryDelay>"),
    )
}

#[test]
fn exhausted_retries_wait_for_an_operator() {
    let (ctx, _d) = compile(&exhausted_process(), &[]);
    let d = exhausted(&ctx);
    assert!(d.replies.is_empty());
    assert_eq!(
        d.inst.status,
        Status::Active,
        "ODE shows it as error, not ended"
    );
    let failed = d.failed();
    assert_eq!(failed.len(), 1);
    let f = &failed[0];
    assert_eq!(f.name.as_deref(), Some("call"));
    assert_eq!(f.kind, "invoke");
    assert_eq!(f.reason, "still down");
    assert_eq!(f.retries, 1);
    assert_eq!(f.at, T0 + 1_000);
    assert_eq!(
        f.actions,
        [
            RecoveryAction::Retry,
            RecoveryAction::Cancel,
            RecoveryAction::Fault
        ]
    );
    assert_eq!(d.inst.error_since(), Some(T0 + 1_000));
    let reasons: Vec<(String, u64)> = d
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ActivityFailure { reason } => Some((
                reason.clone(),
                e.activity.as_ref().map_or(0, |a| a.activity_instance_id),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(reasons, [("still down".to_string(), u64::from(f.task))]);
    assert!(d.alarms.is_empty(), "nothing is scheduled");
}

#[test]
fn recover_retry_sends_again() {
    let (ctx, _d) = compile(&exhausted_process(), &[]);
    let mut d = exhausted(&ctx);
    d.recover(RecoveryAction::Retry);
    assert_eq!(d.invokes.len(), 3);
    assert!(d.failed().is_empty());
    assert_eq!(d.inst.error_since(), None);
    assert_eq!(
        d.count(|k| matches!(
            k,
            EventKind::ActivityRecovery {
                action: RecoveryAction::Retry
            }
        )),
        1
    );
    // Failing again: the retries are used up, so it waits again, one retry more.
    d.fail("again");
    let failed = d.failed();
    assert_eq!((failed.len(), failed[0].retries), (1, 2));
    d.recover(RecoveryAction::Retry);
    d.ok("back");
    assert_eq!(d.replies, [resp("got back")]);
    assert_eq!(d.inst.status, Status::Completed);
}

#[test]
fn recover_cancel_completes_without_output() {
    let (ctx, _d) = compile(&exhausted_process(), &[]);
    let mut d = exhausted(&ctx);
    let sent = d.invokes.len();
    d.recover(RecoveryAction::Cancel);
    assert_eq!(d.invokes.len(), sent, "nothing is sent");
    assert_eq!(d.replies, [resp("got none")], "resp kept its value");
    assert_eq!(d.inst.status, Status::Completed);
    assert_eq!(
        d.count(|k| matches!(
            k,
            EventKind::ActivityRecovery {
                action: RecoveryAction::Cancel
            }
        )),
        1
    );
}

#[test]
fn recover_fault_throws_activity_failure() {
    let (ctx, _d) = compile(&exhausted_process(), &[]);
    let mut d = exhausted(&ctx);
    d.recover(RecoveryAction::Fault);
    assert_eq!(d.replies, [resp("caught")]);
    assert_eq!(d.inst.status, Status::Completed);
}

#[test]
fn recovery_of_an_activity_that_does_not_wait_is_ignored() {
    let (ctx, _d) = compile(&exhausted_process(), &[]);
    let mut d = Driver::start(&ctx);
    d.send("run", "x", false);
    let task = *d
        .inst
        .pending_invokes
        .values()
        .map(|p| &p.task)
        .next()
        .expect("pending");
    let fx = d.step(Input::Recover {
        task,
        action: RecoveryAction::Fault,
    });
    assert!(fx.replies.is_empty() && fx.events.is_empty());
    d.ok("fine");
    assert_eq!(d.replies, [resp("got fine")]);
}

#[test]
fn without_any_policy_the_first_failure_waits_for_an_operator() {
    let (ctx, _d) = compile(&guarded("", ""), &[]);
    let mut d = Driver::start(&ctx);
    d.send("run", "x", false);
    d.fail("refused");
    assert!(d.replies.is_empty());
    let failed = d.failed();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        (failed[0].retries, failed[0].reason.as_str()),
        (0, "refused")
    );
}

#[test]
fn deploy_xml_policy_overrides_the_bpel_one() {
    // The process says: fault at once. deploy.xml says: retry once after 5 s, then fault.
    let bpel = guarded("", &policy("<ext:faultOnFailure>true</ext:faultOnFailure>"));
    let (ctx, _d) = compile(&bpel, &[("partner", fh(1, 5, true))]);
    let mut d = Driver::start(&ctx);
    d.send("run", "x", false);
    d.fail("down");
    assert!(d.replies.is_empty(), "deploy.xml's retry applies");
    d.advance(5_000);
    assert_eq!(d.invokes.len(), 2);
    d.fail("down");
    assert_eq!(d.replies, [resp("caught")]);

    // And with no policy in the process, deploy.xml's alone.
    let (ctx, _d) = compile(&guarded("", ""), &[("partner", fh(0, 0, true))]);
    let mut d = Driver::start(&ctx);
    d.send("run", "x", false);
    d.fail("down");
    assert_eq!(d.replies, [resp("caught")]);
}

#[test]
fn the_policy_is_inherited_from_the_nearest_enclosing_activity() {
    // Declared on the scope: the invoke two levels down faults at once.
    let bpel = guarded(&policy("<ext:faultOnFailure>true</ext:faultOnFailure>"), "");
    let (ctx, _d) = compile(&bpel, &[]);
    let mut d = Driver::start(&ctx);
    d.send("run", "x", false);
    d.fail("down");
    assert_eq!(d.replies, [resp("caught")]);

    // A nearer declaration (on the sequence around the invoke) wins over the scope's.
    let nearer = process(
        "",
        &format!(
            r#"<sequence>{RECEIVE}
  <scope {EXT}>
    {outer}
    <faultHandlers><catch faultName="ext:activityFailure">{caught}</catch></faultHandlers>
    <sequence>{inner}{none}{call}{got}</sequence>
  </scope>
  {REPLY}</sequence>"#,
            outer = policy("<ext:faultOnFailure>true</ext:faultOnFailure>"),
            inner = policy("<ext:retryFor>1</ext:retryFor><ext:retryDelay>2</ext:retryDelay>"),
            caught = set_out("'caught'"),
            none = set_out("'none'"),
            call = invoke(""),
            got = set_out("concat('got ', $resp.out)"),
        ),
    );
    let (ctx, _d) = compile(&nearer, &[]);
    let mut d = Driver::start(&ctx);
    d.send("run", "x", false);
    d.fail("down");
    assert!(d.replies.is_empty(), "the sequence's retry applies");
    d.advance(2_000);
    d.fail("down");
    assert!(d.replies.is_empty(), "no faultOnFailure on the sequence");
    assert_eq!(d.failed().len(), 1);
}

#[test]
fn a_retried_invoke_may_initiate_its_correlation_again() {
    let body = format!(
        r#"<sequence>{RECEIVE}
      <invoke partnerLink="partner" operation="call" inputVariable="req" outputVariable="resp">
        {p}
        <correlations><correlation set="cs" initiate="yes" pattern="request"/></correlations>
      </invoke>
      {REPLY}</sequence>"#,
        p = policy("<ext:retryFor>1</ext:retryFor>"),
    );
    let (ctx, _d) = compile(&process("", &body), &[]);
    let mut d = Driver::start(&ctx);
    d.send("run", "x", false);
    d.fail("down");
    d.advance(0);
    assert_eq!(d.invokes.len(), 2);
    d.ok("fine");
    assert_eq!(d.replies, [resp("fine")]);
}

fn state_changes(d: &Driver<'_>) -> Vec<(InstanceState, InstanceState)> {
    d.events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ProcessInstanceStateChange {
                old_state,
                new_state,
            } => Some((*old_state, *new_state)),
            _ => None,
        })
        .collect()
}

/// receive `run`; receive one-way `ping`; reply "pinged " + its input.
fn ping_process() -> String {
    process(
        r#"<variable name="ping" messageType="t:Req"/>"#,
        &format!(
            r#"<sequence>{RECEIVE}<receive partnerLink="client" operation="ping" variable="ping"/>{}{REPLY}</sequence>"#,
            set_out("concat('pinged ', $ping.in)")
        ),
    )
}

#[test]
fn suspend_defers_a_message_and_resume_processes_it() {
    let (ctx, _d) = compile(&ping_process(), &[]);
    let mut d = Driver::start(&ctx);
    d.send("run", "x", false);
    d.step(Input::Suspend);
    assert_eq!(d.inst.status, Status::Suspended);
    let fx = d.send("ping", "p1", true);
    assert!(fx.replies.is_empty() && fx.invokes.is_empty());
    assert!(
        fx.subscriptions_changed,
        "the router must stop routing to the taken receive"
    );
    assert_eq!(d.inst.deferred.len(), 1);
    assert!(
        d.inst.subscriptions.values().all(|s| s.operation != "ping"),
        "the receive does not take a second message"
    );
    d.step(Input::Resume);
    assert_eq!(d.replies, [resp("pinged p1")]);
    assert_eq!(d.inst.status, Status::Completed);
    assert!(d.inst.deferred.is_empty());
    assert_eq!(
        state_changes(&d),
        [
            (InstanceState::New, InstanceState::Active),
            (InstanceState::Active, InstanceState::Suspended),
            (InstanceState::Suspended, InstanceState::Active),
            (InstanceState::Active, InstanceState::CompletedOk),
        ]
    );
}

#[test]
fn suspend_defers_timers_partner_replies_and_recovery() {
    let body = format!(
        r#"<sequence>{RECEIVE}<wait><for>'PT10S'</for></wait>{}{REPLY}</sequence>"#,
        invoke("")
    );
    let (ctx, _d) = compile(&process("", &body), &[]);
    let mut d = Driver::start(&ctx);
    d.send("run", "x", false);
    d.step(Input::Suspend);
    d.advance(10_000);
    assert!(d.invokes.is_empty(), "the wait did not end while suspended");
    d.step(Input::Resume);
    assert_eq!(d.invokes.len(), 1, "the deferred timer fired on resume");

    d.step(Input::Suspend);
    d.fail("down");
    assert!(
        d.failed().is_empty(),
        "the failure is not processed while suspended"
    );
    d.step(Input::Resume);
    assert_eq!(d.failed().len(), 1);

    d.step(Input::Suspend);
    d.recover(RecoveryAction::Retry);
    assert_eq!(d.invokes.len(), 1);
    d.step(Input::Resume);
    assert_eq!(d.invokes.len(), 2, "the operator's retry ran on resume");
    d.ok("done");
    assert_eq!(d.replies, [resp("done")]);
}

#[test]
fn terminate_works_while_suspended() {
    let (ctx, _d) = compile(&ping_process(), &[]);
    let mut d = Driver::start(&ctx);
    d.send("run", "x", false);
    d.step(Input::Suspend);
    d.send("ping", "p1", true);
    let fx = d.step(Input::Terminate);
    assert!(fx.ended);
    assert_eq!(d.inst.status, Status::Terminated);
    assert!(d.inst.deferred.is_empty());
    assert_eq!(
        d.replies,
        ["fault {http://bpelgate.dev/faults}instanceTerminated"]
    );
    assert_eq!(
        state_changes(&d).last(),
        Some(&(InstanceState::Suspended, InstanceState::Terminated))
    );
    assert_eq!(d.count(|k| matches!(k, EventKind::ProcessTermination)), 1);
}

#[test]
fn a_deferred_request_is_refused_when_the_instance_ends() {
    // The instance waits for `next` (request-response); it is suspended and terminated with a
    // `next` request kept: both the open `run` and the kept `next` get a fault.
    let body = format!(
        r#"<sequence>{RECEIVE}<receive partnerLink="client" operation="next" variable="req"/>{REPLY}</sequence>"#
    );
    let (ctx, _d) = compile(&process("", &body), &[]);
    let mut d = Driver::start(&ctx);
    d.send("run", "x", false);
    d.step(Input::Suspend);
    d.send("next", "n", false);
    assert!(d.replies.is_empty());
    d.step(Input::Terminate);
    assert_eq!(d.replies.len(), 2, "{:?}", d.replies);
    assert!(d.replies.iter().all(|r| r.contains("instanceTerminated")));
}

#[test]
fn failure_handling_elements_do_not_disturb_successful_invokes() {
    let (ctx, _d) = compile(&exhausted_process(), &[]);
    let mut d = Driver::start(&ctx);
    d.send("run", "x", false);
    d.ok("fine");
    assert_eq!(d.replies, [resp("got fine")]);
    assert!(d.inst.failures.is_empty());
}
