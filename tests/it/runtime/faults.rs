//! Fault handling (catch by name, by message type, catchAll, precedence) and one process per
//! WS-BPEL standard fault, asserting on the reply and on the events (`ScopeFault`,
//! `ProcessCompletion` with the fault, the final state).

use bpelgate::events::{EventType, InstanceState};

use super::kit::{
    LOG_DECL, RECEIVE, bpel_fault, completion, deploy_files, deploy_traced, echo, final_state, log,
    only_instance, process, req, resp, scope_faults, set_out, wait_end,
};
use super::{fault, output};

/// Declarations most fault processes use: a string `s`, an element `ord`.
const DECLS: &str =
    r#"<variable name="s" type="xsd:string"/><variable name="ord" element="t:order"/>"#;

/// Sets `ord` to a valid order.
const SET_ORD: &str = r#"<assign><copy><from><literal><t:order><t:id>A</t:id><t:qty>1</t:qty></t:order></literal></from><to variable="ord"/></copy></assign>"#;

/// Deploys `echo(middle)` with `decls` and `files`, calls `run`, and checks that the uncaught
/// standard fault `local` comes back as the reply and ends the instance.
async fn uncaught(decls: &str, middle: &str, files: &[(&str, &str)], local: &str) {
    let (e, ev, _d) = deploy_files(&process(decls, &echo(middle)), files);
    let f = fault(e.call("TestService", "run", &req("in", "k")).await);
    assert_eq!(f.to_string(), bpel_fault(local));
    let events = wait_end(&ev, only_instance(&ev)).await;
    assert_eq!(
        completion(&events).flatten().map(|q| q.to_string()),
        Some(bpel_fault(local)),
        "ProcessCompletion carries the fault"
    );
    assert_eq!(
        final_state(&events),
        Some(InstanceState::CompletedWithFault)
    );
    assert_eq!(
        scope_faults(&events).last().map(String::as_str),
        Some(bpel_fault(local).as_str()),
        "the process scope saw the fault"
    );
    assert!(
        events
            .iter()
            .any(|e| e.event_type() == EventType::ActivityFailure),
        "the faulting activity reported its failure"
    );
}

/// Like [`uncaught`] but with a `<catch faultName="bpel:{local}">` around `middle`: the reply
/// is `caught {local}`.
async fn caught(decls: &str, middle: &str, local: &str) {
    let body = echo(&format!(
        r#"<scope name="guard"><faultHandlers><catch faultName="bpel:{local}">{}</catch></faultHandlers>
             <sequence>{middle}</sequence></scope>"#,
        set_out(&format!("'caught {local}'"))
    ));
    let (e, ev, _d) = deploy_traced(&process(decls, &body));
    assert_eq!(
        output(e.call("TestService", "run", &req("in", "k")).await),
        resp(&format!("caught {local}"))
    );
    let events = wait_end(&ev, only_instance(&ev)).await;
    let faults = scope_faults(&events);
    assert!(!faults.is_empty());
    assert!(faults.iter().all(|f| *f == bpel_fault(local)), "{faults:?}");
    assert_eq!(
        super::kit::scope_names(&events, EventType::ScopeFault)
            .last()
            .map(String::as_str),
        Some("guard")
    );
    assert_eq!(completion(&events), Some(None));
}

// ------------------------------------------------------------------ fault handlers

#[tokio::test]
async fn catch_by_fault_message_type_binds_the_fault_variable() {
    let body = echo(
        r#"<scope>
             <faultHandlers>
               <catch faultName="t:other"><assign><copy><from>'wrong name'</from><to variable="resp" part="out"/></copy></assign></catch>
               <catch faultMessageType="t:Fault" faultVariable="f">
                 <assign><copy><from>concat('typed ', $f.detail)</from><to variable="resp" part="out"/></copy></assign>
               </catch>
               <catchAll><assign><copy><from>'all'</from><to variable="resp" part="out"/></copy></assign></catchAll>
             </faultHandlers>
             <sequence>
               <assign><copy><from>'d1'</from><to variable="flt" part="detail"/></copy></assign>
               <throw faultName="t:boom" faultVariable="flt"/>
             </sequence>
           </scope>"#,
    );
    let (e, _ev, _d) = deploy_traced(&process("", &body));
    assert_eq!(
        output(e.call("TestService", "run", &req("", "k")).await),
        resp("typed d1")
    );
}

#[tokio::test]
async fn catch_with_name_and_type_wins_over_name_only() {
    let body = echo(
        r#"<scope>
             <faultHandlers>
               <catch faultName="t:boom"><assign><copy><from>'name only'</from><to variable="resp" part="out"/></copy></assign></catch>
               <catch faultName="t:boom" faultMessageType="t:Fault" faultVariable="f">
                 <assign><copy><from>concat('name and type ', $f.detail)</from><to variable="resp" part="out"/></copy></assign>
               </catch>
             </faultHandlers>
             <sequence>
               <assign><copy><from>'d2'</from><to variable="flt" part="detail"/></copy></assign>
               <throw faultName="t:boom" faultVariable="flt"/>
             </sequence>
           </scope>"#,
    );
    let (e, _ev, _d) = deploy_traced(&process("", &body));
    assert_eq!(
        output(e.call("TestService", "run", &req("", "k")).await),
        resp("name and type d2")
    );
}

#[tokio::test]
async fn catch_all_takes_what_no_catch_matches_and_the_process_completes() {
    let body = echo(&format!(
        r#"<scope name="s">
             <faultHandlers>
               <catch faultName="t:other">{}</catch>
               <catchAll>{}</catchAll>
             </faultHandlers>
             <throw faultName="t:boom"/>
           </scope>"#,
        set_out("'other'"),
        set_out("'all'")
    ));
    let (e, ev, _d) = deploy_traced(&process("", &body));
    assert_eq!(
        output(e.call("TestService", "run", &req("", "k")).await),
        resp("all")
    );
    let events = wait_end(&ev, only_instance(&ev)).await;
    assert_eq!(scope_faults(&events), ["{urn:t}boom"]);
    assert_eq!(
        super::kit::scope_names(&events, EventType::ScopeFault),
        ["s"]
    );
    assert_eq!(completion(&events), Some(None));
    assert_eq!(final_state(&events), Some(InstanceState::CompletedOk));
}

#[tokio::test]
async fn reply_with_a_declared_fault() {
    let body = format!(
        r#"<sequence>{RECEIVE}
             <assign><copy><from>concat('no ', $req.in)</from><to variable="flt" part="detail"/></copy></assign>
             <reply partnerLink="client" operation="run" variable="flt" faultName="t:oops"/>
           </sequence>"#
    );
    let (e, ev, _d) = deploy_traced(&process("", &body));
    match e.call("TestService", "run", &req("way", "k")).await {
        bpelgate::router::Delivery::Reply(bpelgate::runtime::ReplyBody::Fault {
            name,
            data,
            ..
        }) => {
            assert_eq!(name.to_string(), "{urn:t}oops");
            let text = format!("{data:?}");
            assert!(text.contains("no way"), "{text}");
        }
        other => panic!("expected a fault reply, got {other:?}"),
    }
    let events = wait_end(&ev, only_instance(&ev)).await;
    // A fault reply does not fault the process.
    assert_eq!(completion(&events), Some(None));
    assert!(events.iter().any(|e| matches!(
        &e.kind,
        bpelgate::events::EventKind::ProcessMessageExchange {
            aspect: bpelgate::events::MexAspect::ProcessFault,
            ..
        }
    )));
}

// ------------------------------------------------------------------ standard faults

#[tokio::test]
async fn selection_failure() {
    let m = format!(
        r#"{SET_ORD}<assign><copy><from>$ord/t:nothing</from><to variable="s"/></copy></assign>"#
    );
    uncaught(DECLS, &m, &[], "selectionFailure").await;
    caught(DECLS, &m, "selectionFailure").await;
}

#[tokio::test]
async fn selection_failure_when_the_to_spec_selects_nothing() {
    let m = format!(
        r#"{SET_ORD}<assign><copy><from>'x'</from><to variable="ord"><query>t:nothing</query></to></copy></assign>"#
    );
    uncaught(DECLS, &m, &[], "selectionFailure").await;
}

#[tokio::test]
async fn uninitialized_variable() {
    let m = r#"<assign><copy><from>$s</from><to variable="resp" part="out"/></copy></assign>"#;
    uncaught(DECLS, m, &[], "uninitializedVariable").await;
    caught(DECLS, m, "uninitializedVariable").await;
}

#[tokio::test]
async fn missing_reply_when_the_process_ends_without_replying() {
    let body = format!("<sequence>{RECEIVE}<empty/></sequence>");
    let (e, ev, _d) = deploy_traced(&process("", &body));
    let f = fault(e.call("TestService", "run", &req("", "k")).await);
    assert_eq!(f.to_string(), bpel_fault("missingReply"));
    let events = wait_end(&ev, only_instance(&ev)).await;
    assert!(final_state(&events).is_some());
}

/// The scope declaring the message exchange ends with the request open (the default message
/// exchange belongs to the process, so this needs a declared one: WS-BPEL 2.0 §10.4.1).
#[tokio::test]
async fn missing_reply_is_thrown_when_the_scope_of_the_receive_ends() {
    let body = format!(
        r#"<sequence>
             <receive partnerLink="client" operation="start" variable="req" createInstance="yes">
               <correlations><correlation set="cs" initiate="yes"/></correlations></receive>
             <scope name="outer">
               <faultHandlers><catch faultName="bpel:missingReply">{}</catch></faultHandlers>
               <scope name="inner">
                 <messageExchanges><messageExchange name="m"/></messageExchanges>
                 <receive partnerLink="client" operation="run" variable="req" messageExchange="m">
                   <correlations><correlation set="cs"/></correlations></receive>
               </scope>
             </scope>
             <receive partnerLink="client" operation="next" variable="req">
               <correlations><correlation set="cs"/></correlations></receive>
             <assign><copy><from>$log</from><to variable="resp" part="out"/></copy></assign>
             <reply partnerLink="client" operation="next" variable="resp"/>
           </sequence>"#,
        log("caught missingReply")
    );
    let (e, _ev, _d) = deploy_traced(&process(LOG_DECL, &body));
    let e = std::sync::Arc::new(e);
    e.send("TestService", "start", &req("", "K")).await;
    let e1 = e.clone();
    let run = tokio::spawn(async move { e1.call("TestService", "run", &req("", "K")).await });
    let next = e.call("TestService", "next", &req("", "K")).await;
    assert_eq!(output(next), resp("caught missingReply"));
    let f = fault(run.await.expect("run call"));
    assert_eq!(f.to_string(), bpel_fault("missingReply"));
}

#[tokio::test]
async fn missing_request() {
    let m = r#"<reply partnerLink="client" operation="next" variable="resp"/>"#;
    let m = format!("{}{m}", set_out("'x'"));
    uncaught("", &m, &[], "missingRequest").await;
    caught("", &m, "missingRequest").await;
}

#[tokio::test]
async fn join_failure() {
    let m = r#"<flow suppressJoinFailure="no"><links><link name="l"/></links>
        <empty><sources><source linkName="l"><transitionCondition>false()</transitionCondition></source></sources></empty>
        <empty><targets><target linkName="l"/></targets></empty></flow>"#;
    uncaught("", m, &[], "joinFailure").await;
    caught("", m, "joinFailure").await;
}

#[tokio::test]
async fn invalid_expression_value() {
    let m = r#"<wait><for>'soon'</for></wait>"#;
    uncaught("", m, &[], "invalidExpressionValue").await;
    caught("", m, "invalidExpressionValue").await;
}

#[tokio::test]
async fn invalid_expression_value_for_a_non_numeric_counter() {
    let m = r#"<forEach counterName="i" parallel="no">
        <startCounterValue>'one'</startCounterValue><finalCounterValue>2</finalCounterValue>
        <scope><empty/></scope></forEach>"#;
    uncaught("", m, &[], "invalidExpressionValue").await;
}

#[tokio::test]
async fn invalid_variables() {
    // The engine API takes the message as given: a Req without its `key` part is received,
    // and validating it fails.
    let m = r#"<validate variables="req"/><assign><copy><from>'valid'</from><to variable="resp" part="out"/></copy></assign>"#;
    let (e, ev, _d) = deploy_traced(&process("", &echo(m)));
    let f = fault(
        e.call("TestService", "run", "<message><in>x</in></message>")
            .await,
    );
    assert_eq!(f.to_string(), bpel_fault("invalidVariables"));
    let events = wait_end(&ev, only_instance(&ev)).await;
    assert_eq!(
        completion(&events).flatten().map(|q| q.to_string()),
        Some(bpel_fault("invalidVariables"))
    );
    assert_eq!(scope_faults(&events), [bpel_fault("invalidVariables")]);
    // A complete message validates.
    assert_eq!(
        output(e.call("TestService", "run", &req("x", "k")).await),
        resp("valid")
    );
}

#[tokio::test]
async fn invalid_variables_by_schema() {
    let m = r#"<assign><copy><from><literal><t:order><t:id>A</t:id><t:qty>many</t:qty></t:order></literal></from><to variable="ord"/></copy></assign>
        <validate variables="ord"/><assign><copy><from>'valid'</from><to variable="resp" part="out"/></copy></assign>"#;
    uncaught(DECLS, m, &[], "invalidVariables").await;
}

#[tokio::test]
async fn sub_language_execution_fault() {
    let m = r#"<assign><copy><from>'text'</from><to variable="s"/></copy></assign>
        <assign><copy><from>$s/child</from><to variable="resp" part="out"/></copy></assign>"#;
    uncaught(DECLS, m, &[], "subLanguageExecutionFault").await;
    caught(DECLS, m, "subLanguageExecutionFault").await;
}

#[tokio::test]
async fn mismatched_assignment_failure() {
    let m =
        format!(r#"{SET_ORD}<assign><copy><from>$ord</from><to variable="resp"/></copy></assign>"#);
    uncaught(DECLS, &m, &[], "mismatchedAssignmentFailure").await;
    caught(DECLS, &m, "mismatchedAssignmentFailure").await;
}

#[tokio::test]
async fn invalid_branch_condition() {
    let m = r#"<forEach counterName="i" parallel="yes">
        <startCounterValue>1</startCounterValue><finalCounterValue>2</finalCounterValue>
        <completionCondition><branches>3</branches></completionCondition>
        <scope><empty/></scope></forEach>"#;
    uncaught("", m, &[], "invalidBranchCondition").await;
    caught("", m, "invalidBranchCondition").await;
}

#[tokio::test]
async fn completion_condition_failure() {
    let m = r#"<forEach counterName="i" parallel="yes">
        <startCounterValue>1</startCounterValue><finalCounterValue>3</finalCounterValue>
        <completionCondition><branches successfulBranchesOnly="yes">3</branches></completionCondition>
        <scope>
          <faultHandlers><catchAll><empty/></catchAll></faultHandlers>
          <if><condition>$i = 2</condition><throw faultName="t:branch"/></if>
        </scope></forEach>
        <assign><copy><from>'completed'</from><to variable="resp" part="out"/></copy></assign>"#;
    uncaught("", m, &[], "completionConditionFailure").await;
    // Caught: besides the forEach's fault, the second branch's scope reports the fault it
    // handled itself (which is why it is not a successful branch).
    let body = echo(&format!(
        r#"<scope name="guard"><faultHandlers><catch faultName="bpel:completionConditionFailure">{}</catch></faultHandlers>
             <sequence>{m}</sequence></scope>"#,
        set_out("'caught'")
    ));
    let (e, ev, _d) = deploy_traced(&process("", &body));
    assert_eq!(
        output(e.call("TestService", "run", &req("in", "k")).await),
        resp("caught")
    );
    let events = wait_end(&ev, only_instance(&ev)).await;
    assert_eq!(
        scope_faults(&events),
        [
            "{urn:t}branch".to_string(),
            bpel_fault("completionConditionFailure")
        ]
    );
}

#[tokio::test]
async fn scope_initialization_failure_goes_to_the_enclosing_scope() {
    // The failing scope's own catchAll is not installed yet: the fault goes to `guard`.
    let m = format!(
        r#"<scope name="init">
             <variables><variable name="v" type="xsd:string"><from>$s</from></variable></variables>
             <faultHandlers><catchAll>{}</catchAll></faultHandlers>
             <empty/>
           </scope>"#,
        set_out("'own handler'")
    );
    uncaught(DECLS, &m, &[], "scopeInitializationFailure").await;
    caught(DECLS, &m, "scopeInitializationFailure").await;
}

/// A scope declaring partner link `p2` (partnerRole only, never given an endpoint).
fn with_p2(inner: &str) -> String {
    format!(
        r#"<scope>
             <partnerLinks><partnerLink name="p2" partnerLinkType="t:PartnerPLT" partnerRole="partner"/></partnerLinks>
             {inner}
           </scope>"#
    )
}

#[tokio::test]
async fn uninitialized_partner_role_when_copying_its_endpoint() {
    let m = with_p2(
        r#"<assign><copy><from partnerLink="p2" endpointReference="partnerRole"/><to variable="e"/></copy></assign>"#,
    );
    let decls = r#"<variable name="e" type="xsd:anyType"/>"#;
    uncaught(decls, &m, &[], "uninitializedPartnerRole").await;
    caught(decls, &m, "uninitializedPartnerRole").await;
}

#[tokio::test]
async fn uninitialized_partner_role_when_invoking() {
    let m = with_p2(
        r#"<invoke partnerLink="p2" operation="call" inputVariable="req" outputVariable="resp"/>"#,
    );
    uncaught("", &m, &[], "uninitializedPartnerRole").await;
}

const XSL: &str = r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" xmlns:t="urn:t">
  <xsl:template match="/"><t:order><t:id>x-<xsl:value-of select="t:order/t:id"/></t:id><t:qty>9</t:qty></t:order></xsl:template>
</xsl:stylesheet>"#;

#[tokio::test]
async fn xslt_transform_in_an_assign() {
    let m = format!(
        r#"{SET_ORD}<assign><copy><from>bpel:doXslTransform('order.xsl', $ord)</from><to variable="ord"/></copy></assign>
           {}"#,
        set_out("concat($ord/t:id, '/', $ord/t:qty)")
    );
    let (e, _ev, _d) = deploy_files(&process(DECLS, &echo(&m)), &[("order.xsl", XSL)]);
    assert_eq!(
        output(e.call("TestService", "run", &req("", "k")).await),
        resp("x-A/9")
    );
}

#[tokio::test]
async fn xslt_stylesheet_not_found() {
    // The stylesheet is in the package when it is compiled, and removed before it is used.
    let m = format!(
        r#"{SET_ORD}<assign><copy><from>bpel:doXslTransform('order.xsl', $ord)</from><to variable="ord"/></copy></assign>"#
    );
    let (e, ev, d) = deploy_files(&process(DECLS, &echo(&m)), &[("order.xsl", XSL)]);
    std::fs::remove_file(d.path().join("main").join("order.xsl")).expect("remove stylesheet");
    let f = fault(e.call("TestService", "run", &req("", "k")).await);
    assert_eq!(f.to_string(), bpel_fault("xsltStylesheetNotFound"));
    let events = wait_end(&ev, only_instance(&ev)).await;
    assert_eq!(
        completion(&events).flatten().map(|q| q.to_string()),
        Some(bpel_fault("xsltStylesheetNotFound"))
    );
}

#[tokio::test]
async fn xslt_invalid_source() {
    let m = r#"<assign><copy><from>'plain text'</from><to variable="s"/></copy></assign>
        <assign><copy><from>bpel:doXslTransform('order.xsl', $s)</from><to variable="ord"/></copy></assign>"#;
    uncaught(DECLS, m, &[("order.xsl", XSL)], "xsltInvalidSource").await;
}

#[tokio::test]
async fn unsupported_reference() {
    let m = r#"<assign><copy>
          <from><literal><sref:service-ref xmlns:sref="http://docs.oasis-open.org/wsbpel/2.0/serviceref"><x:carrier-pigeon xmlns:x="urn:weird">coop 7</x:carrier-pigeon></sref:service-ref></literal></from>
          <to partnerLink="partner"/></copy></assign>
        <invoke partnerLink="partner" operation="call" inputVariable="req" outputVariable="resp"/>"#;
    uncaught("", m, &[], "unsupportedReference").await;
}

#[tokio::test]
async fn exit_on_standard_fault_ends_the_instance_at_once() {
    let m = r#"<scope exitOnStandardFault="yes">
        <faultHandlers><catchAll><assign><copy><from>'caught'</from><to variable="resp" part="out"/></copy></assign></catchAll></faultHandlers>
        <assign><copy><from>$s</from><to variable="resp" part="out"/></copy></assign>
      </scope>"#;
    let (e, ev, _d) = deploy_traced(&process(DECLS, &echo(m)));
    let d = e.call("TestService", "run", &req("", "k")).await;
    assert!(
        matches!(
            d,
            bpelgate::router::Delivery::Reply(bpelgate::runtime::ReplyBody::Fault { .. })
        ),
        "the catchAll must not run: {d:?}"
    );
    let events = wait_end(&ev, only_instance(&ev)).await;
    assert_ne!(final_state(&events), Some(InstanceState::CompletedOk));
}
