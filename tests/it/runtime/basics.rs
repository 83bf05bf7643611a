//! Basic activities: receive, reply, assign, sequence, if, while, empty, throw.

use super::kit::{deploy, process, req};
use super::{fault, output};

const RECEIVE: &str =
    r#"<receive partnerLink="client" operation="run" variable="req" createInstance="yes"/>"#;
const REPLY: &str = r#"<reply partnerLink="client" operation="run" variable="resp"/>"#;

fn echo_body(middle: &str) -> String {
    format!("<sequence>{RECEIVE}{middle}{REPLY}</sequence>")
}

#[tokio::test]
async fn receive_assign_reply() {
    let (e, _d) = deploy(&process(
        "",
        &echo_body(
            r#"<assign><copy><from>concat('hello ', $req.in)</from><to variable="resp" part="out"/></copy></assign>"#,
        ),
    ));
    let out = output(e.call("TestService", "run", &req("bob", "k")).await);
    assert_eq!(out, "<message><out>hello bob</out></message>");
}

#[tokio::test]
async fn if_elseif_else_picks_the_first_true_branch() {
    let body = echo_body(
        r#"<if><condition>$req.in = 'a'</condition>
             <assign><copy><from>'A'</from><to variable="resp" part="out"/></copy></assign>
           <elseif><condition>$req.in = 'b'</condition>
             <assign><copy><from>'B'</from><to variable="resp" part="out"/></copy></assign></elseif>
           <else><assign><copy><from>'other'</from><to variable="resp" part="out"/></copy></assign></else>
           </if>"#,
    );
    let (e, _d) = deploy(&process("", &body));
    for (input, want) in [("a", "A"), ("b", "B"), ("z", "other")] {
        let out = output(e.call("TestService", "run", &req(input, "k")).await);
        assert_eq!(out, format!("<message><out>{want}</out></message>"));
    }
}

#[tokio::test]
async fn while_loop_counts() {
    let body = echo_body(
        r#"<assign><copy><from>0</from><to variable="n"/></copy></assign>
           <while><condition>$n &lt; number($req.in)</condition>
             <assign><copy><from>$n + 1</from><to variable="n"/></copy></assign>
           </while>
           <assign><copy><from>string($n)</from><to variable="resp" part="out"/></copy></assign>"#,
    );
    let (e, _d) = deploy(&process(r#"<variable name="n" type="xsd:int"/>"#, &body));
    let out = output(e.call("TestService", "run", &req("5", "k")).await);
    assert_eq!(out, "<message><out>5</out></message>");
}

#[tokio::test]
async fn uncaught_throw_faults_the_reply() {
    let body = format!("<sequence>{RECEIVE}<throw faultName=\"t:boom\"/>{REPLY}</sequence>");
    let (e, _d) = deploy(&process("", &body));
    let f = fault(e.call("TestService", "run", &req("x", "k")).await);
    assert_eq!(f.to_string(), "{urn:t}boom");
}

#[tokio::test]
async fn catch_handles_a_thrown_fault() {
    let body = echo_body(
        r#"<scope>
             <faultHandlers>
               <catch faultName="t:boom">
                 <assign><copy><from>'caught'</from><to variable="resp" part="out"/></copy></assign>
               </catch>
             </faultHandlers>
             <throw faultName="t:boom"/>
           </scope>"#,
    );
    let (e, _d) = deploy(&process("", &body));
    let out = output(e.call("TestService", "run", &req("x", "k")).await);
    assert_eq!(out, "<message><out>caught</out></message>");
}

#[tokio::test]
async fn one_way_start_then_correlated_request() {
    let body = r#"<sequence>
        <receive partnerLink="client" operation="start" variable="req" createInstance="yes">
          <correlations><correlation set="cs" initiate="yes"/></correlations>
        </receive>
        <assign><copy><from>$req.in</from><to variable="first"/></copy></assign>
        <receive partnerLink="client" operation="run" variable="req">
          <correlations><correlation set="cs"/></correlations>
        </receive>
        <assign><copy><from>concat($first, '+', $req.in)</from><to variable="resp" part="out"/></copy></assign>
        <reply partnerLink="client" operation="run" variable="resp"/>
      </sequence>"#;
    let (e, _d) = deploy(&process(
        r#"<variable name="first" type="xsd:string"/>"#,
        body,
    ));
    assert!(matches!(
        e.send("TestService", "start", &req("a", "K1")).await,
        bpelgate::router::Delivery::Accepted
    ));
    assert!(matches!(
        e.send("TestService", "start", &req("b", "K2")).await,
        bpelgate::router::Delivery::Accepted
    ));
    let out = output(e.call("TestService", "run", &req("x", "K2")).await);
    assert_eq!(out, "<message><out>b+x</out></message>");
    let out = output(e.call("TestService", "run", &req("y", "K1")).await);
    assert_eq!(out, "<message><out>a+y</out></message>");
}

/// Process-level event handlers are enabled once the first message created the instance, so
/// they may correlate on a set that message initiated (WS-BPEL 2.0 §12.7).
#[tokio::test]
async fn process_event_handler_correlates_on_the_start_message() {
    let decls = "";
    let body = r#"<eventHandlers>
        <onEvent partnerLink="client" operation="next" messageType="t:Req" variable="ev">
          <correlations><correlation set="cs" initiate="no"/></correlations>
          <scope>
            <sequence>
              <assign><copy><from>concat('status of ', $ev.key)</from><to variable="resp" part="out"/></copy></assign>
              <reply partnerLink="client" operation="next" variable="resp"/>
            </sequence>
          </scope>
        </onEvent>
      </eventHandlers>
      <sequence>
        <receive partnerLink="client" operation="start" variable="req" createInstance="yes">
          <correlations><correlation set="cs" initiate="yes"/></correlations>
        </receive>
        <receive partnerLink="client" operation="run" variable="req">
          <correlations><correlation set="cs"/></correlations>
        </receive>
        <assign><copy><from>'finished'</from><to variable="resp" part="out"/></copy></assign>
        <reply partnerLink="client" operation="run" variable="resp"/>
      </sequence>"#;
    let (e, _d) = deploy(&process(decls, body));
    assert!(matches!(
        e.send("TestService", "start", &req("a", "K7")).await,
        bpelgate::router::Delivery::Accepted
    ));
    let out = output(e.call("TestService", "next", &req("?", "K7")).await);
    assert_eq!(out, "<message><out>status of K7</out></message>");
    let out = output(e.call("TestService", "run", &req("x", "K7")).await);
    assert_eq!(out, "<message><out>finished</out></message>");
}
