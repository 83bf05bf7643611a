//! Scope event handlers: `<onEvent>` (one-way and request-response, correlated) and
//! `<onAlarm>` (once and `repeatEvery`).

use std::time::Duration;

use bpelgate::events::{EventKind, EventType};

use super::kit::{
    activity_kinds, completion, deploy_traced, only_instance, process, req, resp, scope_faults,
    set_out, wait_end,
};
use super::output;

const START: &str = r#"<receive partnerLink="client" operation="start" variable="req" createInstance="yes">
      <correlations><correlation set="cs" initiate="yes"/></correlations></receive>"#;
const RUN: &str = r#"<receive partnerLink="client" operation="run" variable="req">
      <correlations><correlation set="cs"/></correlations></receive>"#;
const REPLY: &str = r#"<reply partnerLink="client" operation="run" variable="resp"/>"#;
const N: &str = r#"<variable name="n" type="xsd:int"><from>0</from></variable>"#;
const INC: &str = r#"<assign><copy><from>$n + 1</from><to variable="n"/></copy></assign>"#;

#[tokio::test]
async fn on_event_handles_correlated_one_way_messages_while_the_body_waits() {
    let body = format!(
        r#"<sequence>{START}
             <scope name="s">
               <eventHandlers>
                 <onEvent partnerLink="client" operation="ping" messageType="t:Req" variable="ev">
                   <correlations><correlation set="cs"/></correlations>
                   <scope>{INC}</scope>
                 </onEvent>
               </eventHandlers>
               {RUN}
             </scope>
             {}{REPLY}
           </sequence>"#,
        set_out("string($n)")
    );
    let (e, ev, _d) = deploy_traced(&process(N, &body));
    e.send("TestService", "start", &req("", "K1")).await;
    e.send("TestService", "start", &req("", "K2")).await;
    e.send("TestService", "ping", &req("", "K1")).await;
    e.send("TestService", "ping", &req("", "K1")).await;
    e.send("TestService", "ping", &req("", "K2")).await;
    assert_eq!(
        output(e.call("TestService", "run", &req("", "K1")).await),
        resp("2")
    );
    assert_eq!(
        output(e.call("TestService", "run", &req("", "K2")).await),
        resp("1")
    );
    let ids = super::kit::instances_of(&ev, &super::kit::main_name());
    assert_eq!(ids.len(), 2);
    let events = wait_end(&ev, ids[0]).await;
    let handler_scopes = events
        .iter()
        .filter(|e| e.event_type() == EventType::ScopeStart)
        .count();
    // Process scope, `s`, and one scope per event.
    assert_eq!(handler_scopes, 4);
    assert_eq!(completion(&events), Some(None));
}

#[tokio::test]
async fn on_event_request_response_replies_from_the_handler() {
    let body = format!(
        r#"<sequence>{START}
             <scope name="s">
               <eventHandlers>
                 <onEvent partnerLink="client" operation="next" messageType="t:Req" variable="ev">
                   <correlations><correlation set="cs"/></correlations>
                   <scope>
                     <variables><variable name="r" messageType="t:Resp"/></variables>
                     <sequence>{INC}
                       <assign><copy><from>concat('event ', $ev.in, ' #', $n)</from><to variable="r" part="out"/></copy></assign>
                       <reply partnerLink="client" operation="next" variable="r"/>
                     </sequence>
                   </scope>
                 </onEvent>
               </eventHandlers>
               {RUN}
             </scope>
             {}{REPLY}
           </sequence>"#,
        set_out("string($n)")
    );
    let (e, _ev, _d) = deploy_traced(&process(N, &body));
    e.send("TestService", "start", &req("", "K")).await;
    assert_eq!(
        output(e.call("TestService", "next", &req("a", "K")).await),
        resp("event a #1")
    );
    assert_eq!(
        output(e.call("TestService", "next", &req("b", "K")).await),
        resp("event b #2")
    );
    assert_eq!(
        output(e.call("TestService", "run", &req("", "K")).await),
        resp("2")
    );
}

#[tokio::test]
async fn on_event_is_closed_when_the_scope_body_completes() {
    let body = format!(
        r#"<sequence>{START}
             <scope name="s">
               <eventHandlers>
                 <onEvent partnerLink="client" operation="ping" messageType="t:Req" variable="ev">
                   <correlations><correlation set="cs"/></correlations>
                   <scope>{INC}</scope>
                 </onEvent>
               </eventHandlers>
               <empty/>
             </scope>
             {RUN}{}{REPLY}
           </sequence>"#,
        set_out("string($n)")
    );
    let (e, _ev, _d) = deploy_traced(&process(N, &body));
    e.send("TestService", "start", &req("", "K")).await;
    // The handler is gone: ping is not consumed by it (it is kept as an early message).
    e.send("TestService", "ping", &req("", "K")).await;
    assert_eq!(
        output(e.call("TestService", "run", &req("", "K")).await),
        resp("0")
    );
}

#[tokio::test]
async fn on_alarm_repeat_every_fires_repeatedly_until_the_scope_ends() {
    let body = format!(
        r#"<sequence>{START}
             <scope name="s">
               <eventHandlers>
                 <onAlarm><for>'PT0.1S'</for><repeatEvery>'PT0.1S'</repeatEvery><scope>{INC}</scope></onAlarm>
               </eventHandlers>
               <wait><for>'PT0.55S'</for></wait>
             </scope>
             <assign><copy><from>$n</from><to variable="m"/></copy></assign>
             <wait><for>'PT0.3S'</for></wait>
             {RUN}{}{REPLY}
           </sequence>"#,
        set_out("concat($m, '/', $n)")
    );
    let decls = format!(r#"{N}<variable name="m" type="xsd:int"/>"#);
    let (e, ev, _d) = deploy_traced(&process(&decls, &body));
    e.send("TestService", "start", &req("", "K")).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let out = output(e.call("TestService", "run", &req("", "K")).await);
    let text = out
        .trim_start_matches("<message><out>")
        .trim_end_matches("</out></message>");
    let (m, n) = text.split_once('/').expect("m/n");
    let (m, n): (u32, u32) = (m.parse().expect("m"), n.parse().expect("n"));
    assert!((3..=6).contains(&m), "fired {m} times in 0.55 s");
    assert_eq!(m, n, "no alarm after the scope completed");
    let events = wait_end(&ev, only_instance(&ev)).await;
    assert_eq!(
        events
            .iter()
            .filter(|e| e.event_type() == EventType::ScopeStart)
            .count() as u32,
        2 + m,
        "one scope instance per alarm"
    );
}

#[tokio::test]
async fn on_alarm_without_repeat_fires_once() {
    let body = format!(
        r#"<sequence>
             <receive partnerLink="client" operation="run" variable="req" createInstance="yes"/>
             <scope>
               <eventHandlers><onAlarm><for>'PT0.1S'</for><scope>{INC}</scope></onAlarm></eventHandlers>
               <wait><for>'PT0.4S'</for></wait>
             </scope>
             {}{REPLY}
           </sequence>"#,
        set_out("string($n)")
    );
    let (e, _ev, _d) = deploy_traced(&process(N, &body));
    assert_eq!(
        output(e.call("TestService", "run", &req("", "K")).await),
        resp("1")
    );
}

#[tokio::test]
async fn a_fault_in_an_event_handler_faults_its_scope() {
    let body = format!(
        r#"<sequence>{START}
             <scope name="s">
               <faultHandlers><catch faultName="t:fromEvent">{}</catch></faultHandlers>
               <eventHandlers>
                 <onEvent partnerLink="client" operation="ping" messageType="t:Req" variable="ev">
                   <correlations><correlation set="cs"/></correlations>
                   <scope><throw faultName="t:fromEvent"/></scope>
                 </onEvent>
               </eventHandlers>
               <sequence>{RUN}{}</sequence>
             </scope>
             {REPLY}
           </sequence>"#,
        set_out("'handled'"),
        set_out("'body'")
    );
    let (e, ev, _d) = deploy_traced(&process("", &body));
    e.send("TestService", "start", &req("", "K")).await;
    e.send("TestService", "ping", &req("", "K")).await;
    // The scope `s` faulted and was handled, its body (the receive of `run`) terminated: the
    // `run` request is answered by the process's reply that follows the scope... except that the
    // receive never happened, so the reply has no request: bpel:missingRequest ends the instance.
    let events = wait_end(&ev, only_instance(&ev)).await;
    let faults = scope_faults(&events);
    assert_eq!(faults.first().map(String::as_str), Some("{urn:t}fromEvent"));
    assert!(activity_kinds(&events, EventType::ActivityExecEnd).contains(&"assign".into()));
    assert!(events.iter().any(|e| matches!(
        &e.kind,
        EventKind::ProcessCompletion { fault: Some(f) } if f.local == "missingRequest"
    )));
}
