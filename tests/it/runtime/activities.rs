//! One process per BPEL activity, asserting on the replies and on the events the instance
//! emits (every category enabled by the kit's router).

use std::time::{Duration, Instant};

use bpelgate::events::{EventKind, EventType, InstanceState, MexAspect};

use super::kit::{
    LOG_DECL, RECEIVE, REPLY, activity_kinds, completion, deploy_pair, deploy_traced, echo,
    final_state, instances_of, log, only_instance, partner_process, process, req, resp, set_out,
    types, wait_end,
};
use super::{fault, output};

#[tokio::test]
async fn receive_assign_reply_emit_lifecycle_events_in_order() {
    let (e, ev, _d) = deploy_traced(&process("", &echo(&set_out("concat('hi ', $req.in)"))));
    let out = output(e.call("TestService", "run", &req("bob", "k")).await);
    assert_eq!(out, resp("hi bob"));

    let id = only_instance(&ev);
    let events = wait_end(&ev, id).await;
    let t = types(&events);
    assert_eq!(
        t[..3],
        [
            "NewProcessInstanceEvent",
            "ProcessInstanceStateChangeEvent",
            "ProcessInstanceStartedEvent"
        ]
    );
    assert_eq!(
        activity_kinds(&events, EventType::ActivityExecStart),
        ["sequence", "receive", "assign", "reply"]
    );
    assert_eq!(
        activity_kinds(&events, EventType::ActivityExecEnd),
        ["receive", "assign", "reply", "sequence"]
    );
    // Every started activity was enabled first.
    assert_eq!(
        activity_kinds(&events, EventType::ActivityEnabled),
        activity_kinds(&events, EventType::ActivityExecStart)
    );
    let aspects: Vec<MexAspect> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ProcessMessageExchange { mex, aspect } => {
                assert_eq!(mex.operation, "run");
                assert_eq!(mex.port_type.to_string(), "{urn:t}Test");
                Some(*aspect)
            }
            _ => None,
        })
        .collect();
    assert_eq!(aspects, [MexAspect::ProcessInput, MexAspect::ProcessOutput]);
    let modified: Vec<&str> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::VariableModification { variable, .. } => Some(variable.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(modified, ["req", "resp"]);
    assert_eq!(completion(&events), Some(None));
    assert_eq!(final_state(&events), Some(InstanceState::CompletedOk));
    assert_eq!(t.last(), Some(&"ProcessInstanceStateChangeEvent"));
    // Every event carries the instance and the process.
    assert!(
        events
            .iter()
            .all(|e| e.instance_id == Some(id) && e.process_name.to_string() == "{urn:p}P")
    );
}

#[tokio::test]
async fn empty_and_sequence_run_in_document_order() {
    let body = echo(&format!(
        "<sequence>{}<empty name=\"nothing\"/>{}<sequence>{}</sequence></sequence>{}",
        log("a"),
        log("b"),
        log("c"),
        set_out("$log")
    ));
    let (e, ev, _d) = deploy_traced(&process(LOG_DECL, &body));
    assert_eq!(
        output(e.call("TestService", "run", &req("", "k")).await),
        resp("abc")
    );
    let events = wait_end(&ev, only_instance(&ev)).await;
    assert_eq!(
        activity_kinds(&events, EventType::ActivityExecStart),
        [
            "sequence", "receive", "sequence", "assign", "empty", "assign", "sequence", "assign",
            "assign", "reply"
        ]
    );
    let empty = events
        .iter()
        .find(|e| e.activity.as_ref().is_some_and(|a| a.kind == "empty"))
        .and_then(|e| e.activity.clone())
        .expect("an event of <empty>");
    assert_eq!(empty.name.as_deref(), Some("nothing"));
}

#[tokio::test]
async fn assign_copy_forms() {
    let decls = r#"<variable name="ord" element="t:order"/>
        <variable name="qty" type="xsd:int"/>
        <variable name="copy" messageType="t:Req"/>
        <variable name="s" type="xsd:string"/>"#;
    let middle = r#"<assign name="forms">
        <copy><from><literal><t:order><t:id>A-1</t:id><t:qty>3</t:qty></t:order></literal></from>
              <to variable="ord"/></copy>
        <copy><from variable="ord"><query>t:qty</query></from><to variable="qty"/></copy>
        <copy><from>$qty * 2</from><to variable="ord"><query>t:qty</query></to></copy>
        <copy><from variable="req"/><to variable="copy"/></copy>
        <copy><from variable="copy" part="in"/><to>$s</to></copy>
        <copy><from variable="req" property="t:key"/><to variable="copy" part="key"/></copy>
        <copy ignoreMissingFromData="yes"><from>$ord/t:missing</from><to variable="s"/></copy>
        <copy><from>concat($s, '|', $ord/t:id, '|', $ord/t:qty, '|', $copy.key, '|', $qty)</from>
              <to variable="resp" part="out"/></copy>
      </assign>"#;
    let (e, ev, _d) = deploy_traced(&process(decls, &echo(middle)));
    let out = output(e.call("TestService", "run", &req("x", "K7")).await);
    assert_eq!(out, resp("x|A-1|6|K7|3"));
    let events = wait_end(&ev, only_instance(&ev)).await;
    let mut modified: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::VariableModification { variable, .. } => Some(variable.clone()),
            _ => None,
        })
        .collect();
    modified.sort();
    modified.dedup();
    assert_eq!(modified, ["copy", "ord", "qty", "req", "resp", "s"]);
}

#[tokio::test]
async fn assign_copies_a_partner_link_endpoint() {
    let decls = r#"<variable name="epr" type="xsd:anyType"/>"#;
    let middle = format!(
        r#"<assign><copy><from partnerLink="partner" endpointReference="partnerRole"/><to variable="epr"/></copy></assign>
           {}"#,
        set_out("string(contains(string($epr), 'localhost:9/services/PartnerService'))")
    );
    let (e, _ev, _d) = deploy_traced(&process(decls, &echo(&middle)));
    let out = output(e.call("TestService", "run", &req("", "k")).await);
    assert_eq!(out, resp("true"));
}

#[tokio::test]
async fn assign_is_atomic_when_a_copy_faults() {
    // The second copy faults: the first one must not be visible afterwards.
    let middle = format!(
        r#"<assign><copy><from>'changed'</from><to variable="s"/></copy></assign>
           <scope><faultHandlers><catchAll>{}</catchAll></faultHandlers>
             <assign>
               <copy><from>'lost'</from><to variable="s"/></copy>
               <copy><from>$s/nothing</from><to variable="s"/></copy>
             </assign>
           </scope>"#,
        set_out("$s")
    );
    let (e, _ev, _d) = deploy_traced(&process(
        r#"<variable name="s" type="xsd:string"/>"#,
        &echo(&middle),
    ));
    let out = output(e.call("TestService", "run", &req("", "k")).await);
    assert_eq!(out, resp("changed"));
}

#[tokio::test]
async fn if_runs_only_the_chosen_branch() {
    let body = echo(&format!(
        r#"<if name="choose"><condition>$req.in = 'a'</condition>{}
             <elseif><condition>$req.in = 'b'</condition><sequence>{}</sequence></elseif>
             <else><empty/></else>
           </if>"#,
        set_out("'A'"),
        set_out("'B'")
    ));
    let (e, ev, _d) = deploy_traced(&process("", &body));
    assert_eq!(
        output(e.call("TestService", "run", &req("b", "k")).await),
        resp("B")
    );
    let events = wait_end(&ev, only_instance(&ev)).await;
    assert_eq!(
        activity_kinds(&events, EventType::ActivityExecStart),
        ["sequence", "receive", "if", "sequence", "assign", "reply"]
    );
    // No branch and no else: the reply variable stays unset, so the reply faults.
    let body = echo(&format!(
        "{}<if><condition>false()</condition>{}</if>",
        set_out("'before'"),
        set_out("'inside'")
    ));
    let (e, _ev, _d) = deploy_traced(&process("", &body));
    assert_eq!(
        output(e.call("TestService", "run", &req("b", "k")).await),
        resp("before")
    );
}

#[tokio::test]
async fn while_checks_before_and_repeat_until_after_the_body() {
    let decls = r#"<variable name="n" type="xsd:int"/>"#;
    let body = echo(&format!(
        r#"<assign><copy><from>0</from><to variable="n"/></copy></assign>
           <while><condition>$n &lt; number($req.in)</condition>
             <assign><copy><from>$n + 1</from><to variable="n"/></copy></assign></while>
           <repeatUntil>
             <assign><copy><from>$n + 10</from><to variable="n"/></copy></assign>
             <condition>true()</condition></repeatUntil>
           {}"#,
        set_out("string($n)")
    ));
    let (e, ev, _d) = deploy_traced(&process(decls, &body));
    assert_eq!(
        output(e.call("TestService", "run", &req("3", "k")).await),
        resp("13")
    );
    let events = wait_end(&ev, only_instance(&ev)).await;
    let starts = activity_kinds(&events, EventType::ActivityExecStart);
    // assign n=0, three while iterations, one repeatUntil iteration, the reply's assign.
    assert_eq!(starts.iter().filter(|k| *k == "assign").count(), 6);
    assert_eq!(starts.iter().filter(|k| *k == "while").count(), 1);
    assert_eq!(starts.iter().filter(|k| *k == "repeatUntil").count(), 1);

    // A false while condition never runs the body.
    assert_eq!(
        output(e.call("TestService", "run", &req("0", "k")).await),
        resp("10")
    );
}

#[tokio::test]
async fn wait_for_delays_the_instance() {
    let body = echo(&format!(
        "<wait name=\"pause\"><for>'PT0.3S'</for></wait>{}",
        set_out("'woke'")
    ));
    let (e, ev, _d) = deploy_traced(&process("", &body));
    let t0 = Instant::now();
    assert_eq!(
        output(e.call("TestService", "run", &req("", "k")).await),
        resp("woke")
    );
    assert!(
        t0.elapsed() >= Duration::from_millis(250),
        "{:?}",
        t0.elapsed()
    );
    let events = wait_end(&ev, only_instance(&ev)).await;
    let wait: Vec<i64> = events
        .iter()
        .filter(|e| e.activity.as_ref().is_some_and(|a| a.kind == "wait"))
        .map(|e| e.timestamp_ms)
        .collect();
    assert_eq!(wait.len(), 3, "enabled, started, ended");
    assert!(wait[2] - wait[1] >= 250, "{wait:?}");
}

/// An xsd:dateTime (UTC, ms precision) `ms` milliseconds from now.
fn date_time_in(ms: i64) -> String {
    use bpelgate::runtime::clock::Clock;
    // The router in these tests runs on the system clock, so the deadline must too.
    let now = bpelgate::runtime::clock::SystemClock.now_ms();
    let t = now + ms;
    let (days, rem) = (t.div_euclid(86_400_000), t.rem_euclid(86_400_000));
    // Civil from days (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    )
}

#[tokio::test]
async fn wait_until_a_deadline() {
    let body = echo(&format!(
        "<wait><until>$req.in</until></wait>{}",
        set_out("'woke'")
    ));
    let (e, _ev, _d) = deploy_traced(&process("", &body));
    let t0 = Instant::now();
    let out = e
        .call("TestService", "run", &req(&date_time_in(400), "k"))
        .await;
    assert_eq!(output(out), resp("woke"));
    assert!(
        t0.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t0.elapsed()
    );
    // A deadline in the past does not wait.
    let t0 = Instant::now();
    let out = e
        .call("TestService", "run", &req("2001-01-01T00:00:00Z", "k"))
        .await;
    assert_eq!(output(out), resp("woke"));
    assert!(t0.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn throw_ends_the_instance_with_the_fault() {
    let body = format!("<sequence>{RECEIVE}<throw faultName=\"t:boom\"/>{REPLY}</sequence>");
    let (e, ev, _d) = deploy_traced(&process("", &body));
    let f = fault(e.call("TestService", "run", &req("", "k")).await);
    assert_eq!(f.to_string(), "{urn:t}boom");
    let events = wait_end(&ev, only_instance(&ev)).await;
    assert_eq!(
        completion(&events)
            .flatten()
            .map(|q| q.to_string())
            .as_deref(),
        Some("{urn:t}boom")
    );
    assert_eq!(
        final_state(&events),
        Some(InstanceState::CompletedWithFault)
    );
    let failed = activity_kinds(&events, EventType::ActivityFailure);
    assert_eq!(failed.first().map(String::as_str), Some("throw"));
    assert!(!activity_kinds(&events, EventType::ActivityExecStart).contains(&"reply".to_string()));
}

#[tokio::test]
async fn rethrow_passes_the_fault_to_the_enclosing_scope() {
    let body = echo(&format!(
        r#"<scope name="outer">
             <faultHandlers><catch faultName="t:boom">{}</catch></faultHandlers>
             <scope name="inner">
               <faultHandlers><catchAll><sequence>{}<rethrow/></sequence></catchAll></faultHandlers>
               <throw faultName="t:boom"/>
             </scope>
           </scope>"#,
        set_out("concat($log, 'outer')"),
        log("inner,")
    ));
    let (e, ev, _d) = deploy_traced(&process(LOG_DECL, &body));
    assert_eq!(
        output(e.call("TestService", "run", &req("", "k")).await),
        resp("inner,outer")
    );
    let events = wait_end(&ev, only_instance(&ev)).await;
    assert!(activity_kinds(&events, EventType::ActivityExecStart).contains(&"rethrow".into()));
    // The fault was seen by both scopes.
    let faulted: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ScopeFault { fault, .. } => Some(format!(
                "{}:{}",
                e.scope
                    .as_ref()
                    .and_then(|s| s.name.as_deref())
                    .unwrap_or("-"),
                fault
            )),
            _ => None,
        })
        .collect();
    assert_eq!(faulted, ["inner:{urn:t}boom", "outer:{urn:t}boom"]);
    assert_eq!(completion(&events), Some(None));
}

#[tokio::test]
async fn exit_terminates_without_replying() {
    let body = format!(
        r#"<sequence>{RECEIVE}<flow><exit/><wait><for>'PT5S'</for></wait></flow>{REPLY}</sequence>"#
    );
    let (e, ev, _d) = deploy_traced(&process("", &body));
    let t0 = Instant::now();
    let d = e.call("TestService", "run", &req("", "k")).await;
    // The open request is answered with a fault, right away.
    assert!(
        matches!(
            d,
            bpelgate::router::Delivery::Reply(bpelgate::runtime::ReplyBody::Fault { .. })
        ),
        "{d:?}"
    );
    assert!(t0.elapsed() < Duration::from_secs(3));
    let events = wait_end(&ev, only_instance(&ev)).await;
    assert!(types(&events).contains(&"ProcessTerminationEvent"));
    assert_eq!(
        completion(&events),
        None,
        "an exited instance does not complete"
    );
    assert_eq!(final_state(&events), Some(InstanceState::Terminated));
    assert!(!activity_kinds(&events, EventType::ActivityExecStart).contains(&"reply".into()));
    assert_eq!(e.router.instance_count(&super::kit::main_name(), 1), 0);
}

#[tokio::test]
async fn pick_on_message_creates_and_chooses_a_branch() {
    let body = format!(
        r#"<pick createInstance="yes">
             <onMessage partnerLink="client" operation="run" variable="req">
               <sequence>{}{REPLY}</sequence></onMessage>
             <onMessage partnerLink="client" operation="next" variable="req">
               <sequence>{}<reply partnerLink="client" operation="next" variable="resp"/></sequence></onMessage>
           </pick>"#,
        set_out("concat('run:', $req.in)"),
        set_out("concat('next:', $req.in)")
    );
    let (e, ev, _d) = deploy_traced(&process("", &body));
    assert_eq!(
        output(e.call("TestService", "next", &req("x", "k")).await),
        resp("next:x")
    );
    assert_eq!(
        output(e.call("TestService", "run", &req("y", "k")).await),
        resp("run:y")
    );
    let ids = instances_of(&ev, &super::kit::main_name());
    assert_eq!(ids.len(), 2);
    let events = wait_end(&ev, ids[0]).await;
    assert_eq!(
        activity_kinds(&events, EventType::ActivityExecStart),
        ["pick", "sequence", "assign", "reply"]
    );
}

#[tokio::test]
async fn pick_on_alarm_fires_when_no_message_comes() {
    let body = echo(&format!(
        r#"<pick>
             <onMessage partnerLink="client" operation="ping" variable="req">{}</onMessage>
             <onAlarm><for>'PT0.2S'</for>{}</onAlarm>
           </pick>"#,
        set_out("'message'"),
        set_out("'alarm'")
    ));
    let (e, ev, _d) = deploy_traced(&process("", &body));
    let t0 = Instant::now();
    assert_eq!(
        output(e.call("TestService", "run", &req("", "k")).await),
        resp("alarm")
    );
    assert!(t0.elapsed() >= Duration::from_millis(150));
    let events = wait_end(&ev, only_instance(&ev)).await;
    assert!(activity_kinds(&events, EventType::ActivityExecEnd).contains(&"pick".into()));
}

#[tokio::test]
async fn for_each_serial_runs_branches_in_counter_order() {
    let body = echo(&format!(
        r#"<forEach counterName="i" parallel="no">
             <startCounterValue>2</startCounterValue><finalCounterValue>4</finalCounterValue>
             <scope>{}</scope>
           </forEach>{}"#,
        r#"<assign><copy><from>concat($log, $i)</from><to variable="log"/></copy></assign>"#,
        set_out("$log")
    ));
    let (e, ev, _d) = deploy_traced(&process(LOG_DECL, &body));
    assert_eq!(
        output(e.call("TestService", "run", &req("", "k")).await),
        resp("234")
    );
    let events = wait_end(&ev, only_instance(&ev)).await;
    let starts = activity_kinds(&events, EventType::ActivityExecStart);
    assert_eq!(starts.iter().filter(|k| *k == "scope").count(), 3);
    assert_eq!(
        events
            .iter()
            .filter(|e| e.event_type() == EventType::ScopeStart)
            .count(),
        // Process scope plus one per branch.
        4
    );
}

#[tokio::test]
async fn for_each_successful_branches_only_skips_branches_that_handled_a_fault() {
    // Branch 1 handles its own fault: with successfulBranchesOnly it does not count, so the
    // forEach needs branches 2 and 3 (3 arrives after a short wait) to reach 2.
    let body = echo(&format!(
        r#"<forEach counterName="i" parallel="yes">
             <startCounterValue>1</startCounterValue><finalCounterValue>4</finalCounterValue>
             <completionCondition><branches successfulBranchesOnly="yes">2</branches></completionCondition>
             <scope>
               <faultHandlers><catchAll><empty/></catchAll></faultHandlers>
               <sequence>
                 <if><condition>$i = 1</condition><throw faultName="t:branch"/></if>
                 <if><condition>$i = 3</condition><wait><for>'PT0.2S'</for></wait></if>
                 <if><condition>$i = 4</condition><wait><for>'PT1H'</for></wait></if>
                 <assign><copy><from>concat($log, $i)</from><to variable="log"/></copy></assign>
               </sequence>
             </scope>
           </forEach>{}"#,
        set_out("$log")
    ));
    let (e, _ev, _d) = deploy_traced(&process(LOG_DECL, &body));
    assert_eq!(
        output(e.call("TestService", "run", &req("", "k")).await),
        resp("23")
    );
}

#[tokio::test]
async fn for_each_parallel_stops_at_its_completion_condition() {
    // Branches 1 and 2 finish at once; 3..5 would wait an hour: the completion condition
    // (2 branches) ends the forEach and terminates them.
    let body = echo(&format!(
        r#"<forEach counterName="i" parallel="yes">
             <startCounterValue>1</startCounterValue><finalCounterValue>5</finalCounterValue>
             <completionCondition><branches>2</branches></completionCondition>
             <scope>
               <sequence>
                 <if><condition>$i &gt; 2</condition><wait><for>'PT1H'</for></wait></if>
                 <assign><copy><from>concat($log, $i)</from><to variable="log"/></copy></assign>
               </sequence>
             </scope>
           </forEach>{}"#,
        set_out("$log")
    ));
    let (e, ev, _d) = deploy_traced(&process(LOG_DECL, &body));
    let t0 = Instant::now();
    assert_eq!(
        output(e.call("TestService", "run", &req("", "k")).await),
        resp("12")
    );
    assert!(t0.elapsed() < Duration::from_secs(5));
    let events = wait_end(&ev, only_instance(&ev)).await;
    let waits = activity_kinds(&events, EventType::ActivityExecStart)
        .iter()
        .filter(|k| *k == "wait")
        .count();
    assert_eq!(waits, 3);
    assert_eq!(
        activity_kinds(&events, EventType::ActivityExecEnd)
            .iter()
            .filter(|k| *k == "wait")
            .count(),
        0,
        "the waits were terminated, not completed"
    );
    assert_eq!(completion(&events), Some(None));
}

#[tokio::test]
async fn isolated_scopes_in_a_flow_both_update_shared_state() {
    let decls = r#"<variable name="n" type="xsd:int"><from>0</from></variable>"#;
    let inc = r#"<scope isolated="yes"><assign><copy><from>$n + 1</from><to variable="n"/></copy></assign></scope>"#;
    let body = echo(&format!(
        "<flow>{inc}{inc}{inc}</flow>{}",
        set_out("string($n)")
    ));
    let (e, ev, _d) = deploy_traced(&process(decls, &body));
    assert_eq!(
        output(e.call("TestService", "run", &req("", "k")).await),
        resp("3")
    );
    let events = wait_end(&ev, only_instance(&ev)).await;
    assert_eq!(
        events
            .iter()
            .filter(|e| e.event_type() == EventType::ScopeCompletion)
            .count(),
        4,
        "three isolated scopes and the process"
    );
}

#[tokio::test]
async fn isolated_scopes_in_a_flow_do_not_interleave_their_reads_and_writes() {
    // Each scope reads the shared counter in one activity and writes it in a later one: run
    // interleaved, all three would read 0; serialized, the counter ends at 3.
    let decls = r#"<variable name="n" type="xsd:int"><from>0</from></variable>"#;
    let inc = r#"<scope isolated="yes">
          <variables><variable name="seen" type="xsd:int"/></variables>
          <sequence>
            <assign><copy><from>$n</from><to variable="seen"/></copy></assign>
            <empty/>
            <assign><copy><from>$seen + 1</from><to variable="n"/></copy></assign>
          </sequence>
        </scope>"#;
    let plain = inc.replace(r#" isolated="yes""#, "");
    let body = echo(&format!(
        "<flow>{inc}{inc}{inc}</flow>{}",
        set_out("string($n)")
    ));
    let (e, _ev, _d) = deploy_traced(&process(decls, &body));
    assert_eq!(
        output(e.call("TestService", "run", &req("", "k")).await),
        resp("3")
    );
    // The same scopes without isolated="yes" do interleave here, so the test above can fail.
    let body = echo(&format!(
        "<flow>{plain}{plain}{plain}</flow>{}",
        set_out("string($n)")
    ));
    let (e, _ev, _d) = deploy_traced(&process(decls, &body));
    assert_ne!(
        output(e.call("TestService", "run", &req("", "k")).await),
        resp("3")
    );
}

#[tokio::test]
async fn an_isolated_scope_waiting_for_a_message_holds_back_the_next_one() {
    // The first isolated scope waits for `next` between its read and its write; the second
    // may only start after it, so it sees the first one's write.
    let decls = r#"<variable name="n" type="xsd:int"><from>0</from></variable>
        <variable name="req2" messageType="t:Req"/>"#;
    let first = r#"<scope isolated="yes">
          <variables><variable name="seen" type="xsd:int"/></variables>
          <sequence>
            <assign><copy><from>$n</from><to variable="seen"/></copy></assign>
            <receive partnerLink="client" operation="ping" variable="req2"/>
            <assign><copy><from>$seen + 10</from><to variable="n"/></copy></assign>
          </sequence>
        </scope>"#;
    let second = r#"<scope isolated="yes"><sequence>
          <empty/>
          <assign><copy><from>$n + 1</from><to variable="n"/></copy></assign>
        </sequence></scope>"#;
    let body = format!(
        r#"<sequence>
             <receive partnerLink="client" operation="start" variable="req" createInstance="yes"/>
             <flow>{first}{second}</flow>
             <receive partnerLink="client" operation="run" variable="req"/>
             {}
             <reply partnerLink="client" operation="run" variable="resp"/>
           </sequence>"#,
        set_out("string($n)")
    );
    let (e, _ev, _d) = deploy_traced(&process(decls, &body));
    e.send("TestService", "start", &req("", "k")).await;
    e.send("TestService", "ping", &req("", "k")).await;
    assert_eq!(
        output(e.call("TestService", "run", &req("", "k")).await),
        resp("11")
    );
}

#[tokio::test]
async fn validate_accepts_valid_variables() {
    let decls = r#"<variable name="ord" element="t:order"/>"#;
    let body = echo(&format!(
        r#"<assign><copy><from><literal><t:order><t:id>A</t:id><t:qty>2</t:qty></t:order></literal></from><to variable="ord"/></copy></assign>
           <validate variables="ord req"/>{}"#,
        set_out("'valid'")
    ));
    let (e, ev, _d) = deploy_traced(&process(decls, &body));
    assert_eq!(
        output(e.call("TestService", "run", &req("", "k")).await),
        resp("valid")
    );
    let events = wait_end(&ev, only_instance(&ev)).await;
    assert!(activity_kinds(&events, EventType::ActivityExecEnd).contains(&"validate".into()));
}

#[tokio::test]
async fn optional_extension_activity_is_an_empty() {
    let body = echo(&format!(
        r#"{}<extensionActivity><x:audit xmlns:x="urn:ext" level="high"/></extensionActivity>{}"#,
        log("a"),
        set_out("concat($log, 'b')")
    ));
    let bpel = process(LOG_DECL, &body).replacen(
        "<import",
        r#"<extensions><extension namespace="urn:ext" mustUnderstand="no"/></extensions>
  <import"#,
        1,
    );
    let (e, ev, _d) = deploy_traced(&bpel);
    assert_eq!(
        output(e.call("TestService", "run", &req("", "k")).await),
        resp("ab")
    );
    let events = wait_end(&ev, only_instance(&ev)).await;
    let starts = activity_kinds(&events, EventType::ActivityExecStart);
    assert!(starts.contains(&"extensionActivity".into()), "{starts:?}");
}

#[test]
fn mandatory_unknown_extension_is_rejected_at_deploy() {
    use bpelgate::deploy::{BpelCompiler, BuildContext, DescriptorMode, build};
    let bpel = process("", &echo("")).replacen(
        "<import",
        r#"<extensions><extension namespace="urn:ext" mustUnderstand="yes"/></extensions>
  <import"#,
        1,
    );
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("test.wsdl"), super::kit::TEST_WSDL).expect("wsdl");
    std::fs::write(dir.path().join("p.bpel"), bpel).expect("bpel");
    std::fs::write(dir.path().join("deploy.xml"), super::kit::MAIN_DEPLOY).expect("dd");
    let result = build(
        dir.path(),
        &BpelCompiler,
        &BuildContext {
            conf_dir: dir.path().to_path_buf(),
            limits: Default::default(),
            compiler: Default::default(),
        },
        DescriptorMode::Required,
    );
    let text = format!("{result:?}");
    assert!(text.contains("urn:ext"), "{text}");
    assert!(text.contains("mustUnderstand"), "{text}");
}

// ------------------------------------------------------------------ invoke

/// A partner that answers `call` with `partner:<in>`, or the fault `bad` when `in` is `fail`.
fn echo_partner() -> String {
    partner_process(
        "",
        r#"<sequence>
          <receive partnerLink="client" operation="call" variable="req" createInstance="yes"/>
          <if><condition>$req.in = 'fail'</condition>
            <sequence>
              <assign><copy><from>concat('refused ', $req.key)</from><to variable="flt" part="detail"/></copy></assign>
              <reply partnerLink="client" operation="call" variable="flt" faultName="t:bad"/>
            </sequence>
            <else>
              <sequence>
                <assign><copy><from>concat('partner:', $req.in)</from><to variable="resp" part="out"/></copy></assign>
                <reply partnerLink="client" operation="call" variable="resp"/>
              </sequence>
            </else>
          </if>
        </sequence>"#,
    )
}

#[tokio::test]
async fn invoke_request_response_reaches_a_peer_process() {
    let main = process(
        "",
        &echo(
            r#"<invoke name="ask" partnerLink="partner" operation="call" inputVariable="req" outputVariable="resp"/>"#,
        ),
    );
    let (e, ev, _d) = deploy_pair(&main, &echo_partner());
    assert_eq!(
        output(e.call("TestService", "run", &req("q", "k")).await),
        resp("partner:q")
    );
    let events = wait_end(&ev, only_instance(&ev)).await;
    assert_eq!(
        activity_kinds(&events, EventType::ActivityExecStart),
        ["sequence", "receive", "invoke", "reply"]
    );
    let aspects: Vec<(String, MexAspect)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ProcessMessageExchange { mex, aspect } => {
                Some((mex.operation.clone(), *aspect))
            }
            _ => None,
        })
        .collect();
    assert!(
        aspects.contains(&("call".to_string(), MexAspect::PartnerInput)),
        "{aspects:?}"
    );
    let partners = instances_of(&ev, &bpelgate_wsdl::xml::QName::new("urn:q", "Q"));
    assert_eq!(partners.len(), 1);
    let pev = wait_end(&ev, partners[0]).await;
    assert_eq!(completion(&pev), Some(None));
}

#[tokio::test]
async fn invoke_with_parts_and_a_one_way_operation() {
    let decls = r#"<variable name="s" type="xsd:string"/>"#;
    let main = process(
        decls,
        &echo(
            r#"<assign><copy><from>'parts'</from><to variable="s"/></copy></assign>
               <invoke partnerLink="partner" operation="call">
                 <toParts><toPart part="in" fromVariable="s"/><toPart part="key" fromVariable="s"/></toParts>
                 <fromParts><fromPart part="out" toVariable="s"/></fromParts>
               </invoke>
               <invoke partnerLink="partner" operation="notify" inputVariable="req"/>
               <assign><copy><from>$s</from><to variable="resp" part="out"/></copy></assign>"#,
        ),
    );
    let partner = partner_process(
        "",
        r#"<pick createInstance="yes">
             <onMessage partnerLink="client" operation="call" variable="req">
               <sequence>
                 <assign><copy><from>concat('partner:', $req.in)</from><to variable="resp" part="out"/></copy></assign>
                 <reply partnerLink="client" operation="call" variable="resp"/>
               </sequence>
             </onMessage>
             <onMessage partnerLink="client" operation="notify" variable="req"><empty/></onMessage>
           </pick>"#,
    );
    let (e, ev, _d) = deploy_pair(&main, &partner);
    assert_eq!(
        output(e.call("TestService", "run", &req("n", "k")).await),
        resp("partner:parts")
    );
    // The one-way notify created a second partner instance, which completed.
    let q = bpelgate_wsdl::xml::QName::new("urn:q", "Q");
    let deadline = Instant::now() + Duration::from_secs(5);
    while instances_of(&ev, &q).len() < 2 {
        assert!(Instant::now() < deadline, "the notify never arrived");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let second = instances_of(&ev, &q)[1];
    let pev = wait_end(&ev, second).await;
    assert!(activity_kinds(&pev, EventType::ActivityExecStart).contains(&"empty".into()));
}

#[tokio::test]
async fn invoke_fault_is_caught_by_fault_message_type() {
    let decls = r#"<variable name="s" type="xsd:string"/>"#;
    let main = process(
        decls,
        &echo(&format!(
            r#"<scope>
                 <faultHandlers>
                   <catch faultName="t:bad" faultMessageType="t:Fault" faultVariable="f">
                     <assign><copy><from>concat('caught ', $f.detail)</from><to variable="resp" part="out"/></copy></assign>
                   </catch>
                   <catchAll>{}</catchAll>
                 </faultHandlers>
                 <invoke partnerLink="partner" operation="call" inputVariable="req" outputVariable="resp"/>
               </scope>"#,
            set_out("'catchAll'")
        )),
    );
    let (e, ev, _d) = deploy_pair(&main, &echo_partner());
    assert_eq!(
        output(e.call("TestService", "run", &req("fail", "K9")).await),
        resp("caught refused K9")
    );
    let events = wait_end(&ev, only_instance(&ev)).await;
    assert_eq!(super::kit::scope_faults(&events), ["{urn:t}bad"]);
    assert_eq!(completion(&events), Some(None));
}

#[tokio::test]
async fn invoke_inline_catch_handles_the_partner_fault() {
    let main = process(
        "",
        &echo(&format!(
            r#"<invoke partnerLink="partner" operation="call" inputVariable="req" outputVariable="resp">
                 <catch faultName="t:bad">{}</catch>
               </invoke>"#,
            set_out("'inline'")
        )),
    );
    let (e, _ev, _d) = deploy_pair(&main, &echo_partner());
    assert_eq!(
        output(e.call("TestService", "run", &req("fail", "k")).await),
        resp("inline")
    );
    assert_eq!(
        output(e.call("TestService", "run", &req("ok", "k")).await),
        resp("partner:ok")
    );
}
