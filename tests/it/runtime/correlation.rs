//! Correlation: routing by correlation values, initiation (`yes`, `join`), and the
//! correlation faults (`correlationViolation`, `conflictingReceive`, `conflictingRequest`,
//! `ambiguousReceive`).

use std::time::Duration;

use bpelgate::events::{EventKind, EventType};

use super::kit::{
    Pkg, bpel_fault, completion, deploy_all, deploy_traced, instances_of, main_deploy_with,
    main_name, only_instance, process, req, resp, scope_faults, set_out, types, wait_end,
    wait_events,
};
use super::{fault, output};

const START: &str = r#"<receive partnerLink="client" operation="start" variable="req" createInstance="yes">
      <correlations><correlation set="cs" initiate="yes"/></correlations></receive>"#;
const RUN: &str = r#"<receive partnerLink="client" operation="run" variable="req">
      <correlations><correlation set="cs"/></correlations></receive>"#;
const REPLY: &str = r#"<reply partnerLink="client" operation="run" variable="resp"/>"#;

fn values_written(events: &[bpelgate::events::Event]) -> Vec<(String, Vec<String>)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::CorrelationSetWrite { key } => {
                Some((key.correlation_set.clone(), key.values.clone()))
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn messages_reach_the_instance_with_their_correlation_values() {
    let body = format!(
        r#"<sequence>{START}
             <assign><copy><from>$req.in</from><to variable="first"/></copy></assign>
             {RUN}{}{REPLY}
           </sequence>"#,
        set_out("concat($first, '+', $req.in)")
    );
    let decls = r#"<variable name="first" type="xsd:string"/>"#;
    let (e, ev, _d) = deploy_traced(&process(decls, &body));
    e.send("TestService", "start", &req("one", "K1")).await;
    e.send("TestService", "start", &req("two", "K2")).await;
    assert_eq!(
        output(e.call("TestService", "run", &req("b", "K2")).await),
        resp("two+b")
    );
    assert_eq!(
        output(e.call("TestService", "run", &req("a", "K1")).await),
        resp("one+a")
    );
    let ids = instances_of(&ev, &main_name());
    assert_eq!(ids.len(), 2);
    let first = wait_end(&ev, ids[0]).await;
    assert_eq!(
        values_written(&first),
        [("cs".to_string(), vec!["K1".to_string()])]
    );
    let second = wait_end(&ev, ids[1]).await;
    assert_eq!(
        values_written(&second),
        [("cs".to_string(), vec!["K2".to_string()])]
    );
}

#[tokio::test]
async fn a_message_arriving_before_its_receive_is_kept() {
    let body = format!(
        r#"<sequence>{START}<wait><for>'PT0.3S'</for></wait>{RUN}{}{REPLY}</sequence>"#,
        set_out("concat('late ', $req.in)")
    );
    let (e, _ev, _d) = deploy_traced(&process("", &body));
    e.send("TestService", "start", &req("", "K")).await;
    assert_eq!(
        output(e.call("TestService", "run", &req("x", "K")).await),
        resp("late x")
    );
}

#[tokio::test]
async fn correlated_messages_emit_correlation_match_events() {
    let body = format!(
        "<sequence>{START}{RUN}{}{REPLY}</sequence>",
        set_out("'ok'")
    );
    let (e, ev, _d) = deploy_traced(&process("", &body));
    e.send("TestService", "start", &req("", "K")).await;
    assert_eq!(
        output(e.call("TestService", "run", &req("", "K")).await),
        resp("ok")
    );
    let events = wait_end(&ev, only_instance(&ev)).await;
    let matched: Vec<Vec<String>> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::CorrelationMatch { mex, keys } => {
                assert_eq!(mex.operation, "run");
                Some(keys.iter().flat_map(|k| k.values.clone()).collect())
            }
            _ => None,
        })
        .collect();
    assert_eq!(matched, [vec!["K".to_string()]], "{:?}", types(&events));
}

#[tokio::test]
async fn join_initiates_once_and_then_checks() {
    let body = format!(
        r#"<sequence>
             <receive partnerLink="client" operation="start" variable="req" createInstance="yes"/>
             <receive partnerLink="client" operation="run" variable="req">
               <correlations><correlation set="cs" initiate="join"/></correlations></receive>
             {}
             <reply partnerLink="client" operation="run" variable="resp"/>
             <receive partnerLink="client" operation="next" variable="req">
               <correlations><correlation set="cs" initiate="join"/></correlations></receive>
             <reply partnerLink="client" operation="next" variable="resp"/>
           </sequence>"#,
        set_out("'joined'")
    );
    let (e, ev, _d) = deploy_traced(&process("", &body));
    e.send("TestService", "start", &req("", "whatever")).await;
    assert_eq!(
        output(e.call("TestService", "run", &req("", "J")).await),
        resp("joined")
    );
    assert_eq!(
        output(e.call("TestService", "next", &req("", "J")).await),
        resp("joined")
    );
    let events = wait_end(&ev, only_instance(&ev)).await;
    assert_eq!(
        values_written(&events),
        [("cs".to_string(), vec!["J".to_string()])],
        "the second join does not write again"
    );
}

#[tokio::test]
async fn receive_on_an_uninitiated_set_is_a_correlation_violation() {
    let body = format!(
        r#"<sequence>
             <receive partnerLink="client" operation="run" variable="req" createInstance="yes"/>
             <scope>
               <faultHandlers><catch faultName="bpel:correlationViolation">{}</catch></faultHandlers>
               <receive partnerLink="client" operation="next" variable="req">
                 <correlations><correlation set="cs" initiate="no"/></correlations></receive>
             </scope>
             {REPLY}
           </sequence>"#,
        set_out("'violation'")
    );
    let (e, ev, _d) = deploy_traced(&process("", &body));
    assert_eq!(
        output(e.call("TestService", "run", &req("", "K")).await),
        resp("violation")
    );
    let events = wait_end(&ev, only_instance(&ev)).await;
    assert_eq!(scope_faults(&events), [bpel_fault("correlationViolation")]);
}

#[tokio::test]
async fn reply_with_other_values_than_the_set_is_a_correlation_violation() {
    // Resp.out is an alias of t:key too: replying 'other' on a set initiated with 'K' violates it.
    let body = format!(
        r#"<sequence>
             <receive partnerLink="client" operation="run" variable="req" createInstance="yes">
               <correlations><correlation set="cs" initiate="yes"/></correlations></receive>
             {}
             <scope>
               <faultHandlers><catch faultName="bpel:correlationViolation">{}</catch></faultHandlers>
               <reply partnerLink="client" operation="run" variable="resp">
                 <correlations><correlation set="cs" initiate="no"/></correlations></reply>
             </scope>
             {REPLY}
           </sequence>"#,
        set_out("'other'"),
        set_out("'K'")
    );
    let (e, _ev, _d) = deploy_traced(&process("", &body));
    assert_eq!(
        output(e.call("TestService", "run", &req("", "K")).await),
        resp("K"),
        "the correlated reply faulted, the second one (values matching) went out"
    );
}

#[tokio::test]
async fn initiating_an_initiated_set_again_is_a_correlation_violation() {
    let body = format!(
        r#"<sequence>{START}
             <scope>
               <faultHandlers><catch faultName="bpel:correlationViolation">{}</catch></faultHandlers>
               <receive partnerLink="client" operation="run" variable="req">
                 <correlations><correlation set="cs" initiate="yes"/></correlations></receive>
             </scope>
             <receive partnerLink="client" operation="next" variable="req">
               <correlations><correlation set="cs"/></correlations></receive>
             <reply partnerLink="client" operation="next" variable="resp"/>
           </sequence>"#,
        set_out("'again'")
    );
    let (e, _ev, _d) = deploy_traced(&process("", &body));
    e.send("TestService", "start", &req("", "K")).await;
    assert_eq!(
        output(e.call("TestService", "next", &req("", "K")).await),
        resp("again")
    );
}

#[tokio::test]
async fn a_message_for_no_instance_is_refused_after_the_early_message_timeout() {
    let body = format!(
        "<sequence>{START}{RUN}{}{REPLY}</sequence>",
        set_out("'ok'")
    );
    let (e, _ev, _d) = deploy_traced(&process("", &body));
    let f = fault(e.call("TestService", "run", &req("", "nobody")).await);
    assert_eq!(f.to_string(), bpel_fault("correlationViolation"));
}

#[tokio::test]
async fn conflicting_request_when_a_request_is_still_open() {
    // The instance receives `run` twice on the same partner link and message exchange before
    // replying: the second receive is a bpel:conflictingRequest.
    let body = format!(
        r#"<sequence>
             <receive partnerLink="client" operation="run" variable="req" createInstance="yes">
               <correlations><correlation set="cs" initiate="yes"/></correlations></receive>
             {RUN}{}{REPLY}{REPLY}
           </sequence>"#,
        set_out("'ok'")
    );
    let (e, ev, _d) = deploy_traced(&process("", &body));
    let e = std::sync::Arc::new(e);
    let e1 = e.clone();
    let first = tokio::spawn(async move { e1.call("TestService", "run", &req("1", "K")).await });
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while instances_of(&ev, &main_name()).is_empty() {
        assert!(std::time::Instant::now() < deadline, "no instance");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let second = fault(e.call("TestService", "run", &req("2", "K")).await);
    assert_eq!(second.to_string(), bpel_fault("conflictingRequest"));
    let first = fault(first.await.expect("first call"));
    assert_eq!(first.to_string(), bpel_fault("conflictingRequest"));
    let events = wait_end(&ev, only_instance(&ev)).await;
    assert_eq!(
        completion(&events).flatten().map(|q| q.to_string()),
        Some(bpel_fault("conflictingRequest"))
    );
}

#[tokio::test]
async fn conflicting_receive_when_two_receives_wait_for_the_same_message() {
    let body = format!(
        r#"<sequence>{START}
             <scope>
               <faultHandlers><catch faultName="bpel:conflictingReceive">{}</catch></faultHandlers>
               <flow>{RUN}{RUN}</flow>
             </scope>
             <receive partnerLink="client" operation="next" variable="req">
               <correlations><correlation set="cs"/></correlations></receive>
             <reply partnerLink="client" operation="next" variable="resp"/>
           </sequence>"#,
        set_out("'conflict'")
    );
    let (e, ev, _d) = deploy_traced(&process("", &body));
    e.send("TestService", "start", &req("", "K")).await;
    assert_eq!(
        output(e.call("TestService", "next", &req("", "K")).await),
        resp("conflict")
    );
    let events = wait_end(&ev, only_instance(&ev)).await;
    assert_eq!(scope_faults(&events), [bpel_fault("conflictingReceive")]);
}

#[tokio::test]
async fn ambiguous_receive_when_a_message_matches_two_receives() {
    let body = format!(
        r#"<sequence>
             <receive partnerLink="client" operation="start" variable="req" createInstance="yes">
               <correlations><correlation set="cs" initiate="yes"/><correlation set="cs2" initiate="yes"/></correlations></receive>
             <scope>
               <faultHandlers><catch faultName="bpel:ambiguousReceive">{}</catch></faultHandlers>
               <flow>
                 {RUN}
                 <receive partnerLink="client" operation="run" variable="req">
                   <correlations><correlation set="cs2"/></correlations></receive>
               </flow>
             </scope>
             {REPLY}
           </sequence>"#,
        set_out("'ambiguous'")
    );
    let bpel = process("", &body).replace(
        r#"<correlationSet name="cs" properties="t:key"/>"#,
        r#"<correlationSet name="cs" properties="t:key"/><correlationSet name="cs2" properties="t:key"/>"#,
    );
    let (e, _ev, _d) = deploy_traced(&bpel);
    e.send("TestService", "start", &req("", "K")).await;
    assert_eq!(
        output(e.call("TestService", "run", &req("", "K")).await),
        resp("ambiguous")
    );
}

#[tokio::test]
async fn correlation_set_write_event_names_the_set_and_values() {
    let body = format!(
        "<sequence>{START}{RUN}{}{REPLY}</sequence>",
        set_out("'ok'")
    );
    let (e, ev, _d) = deploy_traced(&process("", &body));
    e.send("TestService", "start", &req("", "V-42")).await;
    let id = only_instance(&ev);
    let events = wait_events(&ev, id, 5, |ev| {
        ev.iter()
            .any(|e| e.event_type() == EventType::CorrelationSetWrite)
    })
    .await;
    let write = events
        .iter()
        .find(|e| e.event_type() == EventType::CorrelationSetWrite)
        .expect("write event");
    assert_eq!(
        values_written(std::slice::from_ref(write)),
        [("cs".to_string(), vec!["V-42".to_string()])]
    );
    // The set is written by the receive, after the message came in.
    let pos = |t: EventType| events.iter().position(|e| e.event_type() == t);
    assert!(pos(EventType::ProcessMessageExchange) < pos(EventType::CorrelationSetWrite));
    assert_eq!(
        output(e.call("TestService", "run", &req("", "V-42")).await),
        resp("ok")
    );
}

/// A process with a second myRole partner link `client2` that deploy.xml provides on the same
/// service and port as `client`: `start` creates the instance on `client`, `run` is received
/// on `client2` without a correlation set (after `pause`, if any).
fn shared_endpoint(pause: &str) -> (super::Engine, tempfile::TempDir) {
    let body = format!(
        r#"<sequence>
             <receive partnerLink="client" operation="start" variable="req" createInstance="yes"/>
             <assign><copy><from>$req.in</from><to variable="first"/></copy></assign>
             {pause}
             <receive partnerLink="client2" operation="run" variable="req"/>
             {}
             <reply partnerLink="client2" operation="run" variable="resp"/>
           </sequence>"#,
        set_out("concat($first, '+', $req.in)")
    );
    let bpel = process(r#"<variable name="first" type="xsd:string"/>"#, &body).replace(
        "</partnerLinks>",
        r#"<partnerLink name="client2" partnerLinkType="t:TestPLT" myRole="tester"/></partnerLinks>"#,
    );
    let deploy = main_deploy_with(
        r#"<provide partnerLink="client2"><service name="t:TestService" port="TestPort"/></provide>"#,
    );
    let (e, _log, dir) = deploy_all(&[Pkg {
        name: "main",
        bpel: &bpel,
        deploy: &deploy,
        files: &[],
    }]);
    (e, dir)
}

#[tokio::test]
async fn a_service_shared_by_two_partner_links_routes_to_the_one_that_waits() {
    let (e, _d) = shared_endpoint("");
    e.send("TestService", "start", &req("one", "")).await;
    assert_eq!(
        output(e.call("TestService", "run", &req("two", "")).await),
        resp("one+two")
    );
}

#[tokio::test]
async fn an_early_message_on_a_shared_service_waits_for_the_partner_link_that_receives_it() {
    let (e, _d) = shared_endpoint(r#"<wait><for>'PT0.3S'</for></wait>"#);
    e.send("TestService", "start", &req("one", "")).await;
    assert_eq!(
        output(e.call("TestService", "run", &req("two", "")).await),
        resp("one+two")
    );
}
