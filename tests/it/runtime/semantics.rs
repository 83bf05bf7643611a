//! Spot checks of WS-BPEL 2.0 semantics that are easy to get subtly wrong: loop bounds,
//! standard faults of forEach and assign, rethrow, fault variables, compensateScope targets,
//! keepSrcElementName, and XPath 1.0 number and string rules.

use super::kit::{LOG_DECL, deploy_traced, echo, process, req, resp, set_out};
use super::{fault, output};

async fn run(decls: &str, middle: &str) -> bpelgate::router::Delivery {
    let (e, _ev, _d) = deploy_traced(&process(decls, &echo(middle)));
    e.call("TestService", "run", &req("x", "k")).await
}

#[tokio::test]
async fn for_each_with_start_after_final_runs_no_branch() {
    let d = run(LOG_DECL, &format!(r#"<forEach counterName="i" parallel="no"><startCounterValue>3</startCounterValue><finalCounterValue>1</finalCounterValue><scope><empty/></scope></forEach>{}"#, set_out("'done'"))).await;
    assert_eq!(output(d), resp("done"));
}

#[tokio::test]
async fn for_each_with_a_non_integer_counter_value_faults() {
    let d = run(LOG_DECL, &format!(r#"<forEach counterName="i" parallel="no"><startCounterValue>1.5</startCounterValue><finalCounterValue>3</finalCounterValue><scope><empty/></scope></forEach>{}"#, set_out("'done'"))).await;
    assert_eq!(fault(d).local, "invalidExpressionValue");
}

#[tokio::test]
async fn for_each_asking_more_branches_than_it_has_faults() {
    let d = run(LOG_DECL, &format!(r#"<forEach counterName="i" parallel="yes"><startCounterValue>1</startCounterValue><finalCounterValue>2</finalCounterValue><completionCondition><branches>5</branches></completionCondition><scope><empty/></scope></forEach>{}"#, set_out("'done'"))).await;
    assert_eq!(fault(d).local, "invalidBranchCondition");
}

#[tokio::test]
async fn wait_until_a_past_date_completes_at_once() {
    let d = run(
        "",
        &format!(
            r#"<wait><until>'2001-01-01T00:00:00Z'</until></wait>{}"#,
            set_out("'done'")
        ),
    )
    .await;
    assert_eq!(output(d), resp("done"));
}

#[tokio::test]
async fn repeat_until_runs_its_body_once_at_least() {
    let d = run(LOG_DECL, &format!(r#"<repeatUntil><assign><copy><from>concat($log,'a')</from><to variable="log"/></copy></assign><condition>true()</condition></repeatUntil>{}"#, set_out("$log"))).await;
    assert_eq!(output(d), resp("a"));
}

#[tokio::test]
async fn if_takes_the_first_true_elseif() {
    let d = run("", r#"<if><condition>1 = 2</condition><assign><copy><from>'a'</from><to variable="resp" part="out"/></copy></assign>
      <elseif><condition>2 = 2</condition><assign><copy><from>'b'</from><to variable="resp" part="out"/></copy></assign></elseif>
      <else><assign><copy><from>'c'</from><to variable="resp" part="out"/></copy></assign></else></if>"#).await;
    assert_eq!(output(d), resp("b"));
}

#[tokio::test]
async fn reading_an_unset_variable_faults_uninitialized_variable() {
    let d = run(r#"<variable name="u" type="xsd:string"/>"#, &format!(r#"<scope><faultHandlers><catch faultName="bpel:uninitializedVariable"><assign><copy><from>'caught'</from><to variable="resp" part="out"/></copy></assign></catch></faultHandlers>{}</scope>"#, set_out("$u"))).await;
    assert_eq!(output(d), resp("caught"));
}

#[tokio::test]
async fn rethrow_passes_the_fault_to_the_enclosing_scope() {
    let d = run("", r#"<scope><faultHandlers><catch faultName="t:x"><assign><copy><from>'outer'</from><to variable="resp" part="out"/></copy></assign></catch></faultHandlers>
       <scope><faultHandlers><catch faultName="t:x"><rethrow/></catch></faultHandlers><throw faultName="t:x"/></scope></scope>"#).await;
    assert_eq!(output(d), resp("outer"));
}

#[tokio::test]
async fn a_fault_variable_reaches_a_catch_by_message_type() {
    let d = run("", r#"<assign><copy><from>'detail!'</from><to variable="flt" part="detail"/></copy></assign>
      <scope><faultHandlers><catch faultName="t:x" faultVariable="fv" faultMessageType="t:Fault"><assign><copy><from>$fv.detail</from><to variable="resp" part="out"/></copy></assign></catch></faultHandlers>
       <throw faultName="t:x" faultVariable="flt"/></scope>"#).await;
    assert_eq!(output(d), resp("detail!"));
}

#[tokio::test]
async fn catch_all_takes_a_fault_no_catch_names() {
    let d = run("", r#"<scope><faultHandlers><catch faultName="t:y"><assign><copy><from>'y'</from><to variable="resp" part="out"/></copy></assign></catch><catchAll><assign><copy><from>'all'</from><to variable="resp" part="out"/></copy></assign></catchAll></faultHandlers>
       <throw faultName="t:x"/></scope>"#).await;
    assert_eq!(output(d), resp("all"));
}

#[tokio::test]
async fn xpath_1_number_rules() {
    let d = run("", &set_out("concat(string(1 div 0), '|', round(2.5), '|', round(-2.5), '|', string(0.1 + 0.2), '|', floor(-1.5), '|', string(number('abc')), '|', 7 mod -3, '|', substring('12345', 1.5, 2.6))")).await;
    assert_eq!(
        output(d),
        resp("Infinity|3|-2|0.30000000000000004|-2|NaN|1|234")
    );
}

#[tokio::test]
async fn get_variable_property_reads_an_aliased_part() {
    let d = run("", &set_out("bpel:getVariableProperty('req', 't:key')")).await;
    assert_eq!(output(d), resp("k"));
}

#[tokio::test]
async fn while_with_a_false_condition_runs_no_iteration() {
    let d = run(
        LOG_DECL,
        &format!(
            r#"<while><condition>false()</condition><empty/></while>{}"#,
            set_out("concat('w', $log)")
        ),
    )
    .await;
    assert_eq!(output(d), resp("w"));
}

#[tokio::test]
async fn compensate_scope_compensates_only_its_target() {
    let d = run(LOG_DECL, &format!(r#"<scope name="outer">
        <faultHandlers><catchAll><sequence><compensateScope target="a"/></sequence></catchAll></faultHandlers>
        <sequence>
          <scope name="a"><compensationHandler><assign><copy><from>concat($log,'-ca')</from><to variable="log"/></copy></assign></compensationHandler><empty/></scope>
          <scope name="b"><compensationHandler><assign><copy><from>concat($log,'-cb')</from><to variable="log"/></copy></assign></compensationHandler><empty/></scope>
          <throw faultName="t:x"/>
        </sequence></scope>{}"#, set_out("$log"))).await;
    assert_eq!(output(d), resp("-ca"));
}

#[tokio::test]
async fn keep_src_element_name_keeps_the_source_name() {
    let decls = r#"<variable name="o1" element="t:order"/><variable name="o2" element="t:order"/>"#;
    let d = run(decls, &format!(r#"<assign><copy><from><literal><t:order><t:id>A</t:id><t:qty>2</t:qty></t:order></literal></from><to variable="o1"/></copy>
      <copy keepSrcElementName="yes"><from variable="o1"/><to variable="o2"/></copy></assign>{}"#, set_out("concat(local-name($o2), $o2/t:id)"))).await;
    assert_eq!(output(d), resp("orderA"));
}

#[tokio::test]
async fn exit_ends_without_a_normal_reply() {
    let d = run("", "<exit/>").await;
    assert!(!matches!(
        d,
        bpelgate::router::Delivery::Reply(bpelgate::runtime::ReplyBody::Output(_))
    ));
}

#[tokio::test]
async fn xpath_1_string_functions() {
    let d = run("", &set_out("concat(translate('abc','ab','AB'), '|', normalize-space('  a   b '), '|', substring-before('a/b','/'), '|', substring-after('a/b','/'), '|', string-length('héllo'), '|', boolean(''), '|', starts-with('abc','ab'), '|', contains('abc','bc'))")).await;
    assert_eq!(output(d), resp("ABc|a b|a|b|5|false|true|true"));
}

#[tokio::test]
async fn an_uncaught_fault_reaches_the_requester_by_name() {
    let d = run("", r#"<throw faultName="t:custom"/>"#).await;
    assert_eq!(fault(d).local, "custom");
}

#[tokio::test]
async fn a_from_query_selecting_nothing_faults_selection_failure() {
    let d = run("", r#"<assign><copy><from variable="req" part="in"><query>nothing</query></from><to variable="resp" part="out"/></copy></assign>"#).await;
    assert_eq!(fault(d).local, "selectionFailure");
}

/// A scope logging `name` on completion and `-c{name}` when compensated.
fn comp_scope(name: &str) -> String {
    format!(
        r#"<scope name="{name}"><compensationHandler><assign><copy><from>concat($log,'-c{name}')</from><to variable="log"/></copy></assign></compensationHandler>
             <assign><copy><from>concat($log,'{name}')</from><to variable="log"/></copy></assign></scope>"#
    )
}

#[tokio::test]
async fn the_default_fault_handler_compensates_completed_children_in_reverse_order() {
    let d = run(
        LOG_DECL,
        &format!(
            r#"<scope><faultHandlers><catchAll><empty/></catchAll></faultHandlers>
                 <scope name="inner"><sequence>{}{}<throw faultName="t:x"/></sequence></scope>
               </scope>{}"#,
            comp_scope("a"),
            comp_scope("b"),
            set_out("$log")
        ),
    )
    .await;
    assert_eq!(output(d), resp("ab-cb-ca"));
}

#[tokio::test]
async fn a_compensation_handler_sees_its_scope_variables_as_they_were_at_completion() {
    let d = run(
        LOG_DECL,
        &format!(
            r#"<scope name="outer"><faultHandlers><catchAll><compensate/></catchAll></faultHandlers>
               <sequence>
                 <scope name="s"><variables><variable name="v" type="xsd:string"><from>'then'</from></variable></variables>
                   <compensationHandler><assign><copy><from>concat($log,$v)</from><to variable="log"/></copy></assign></compensationHandler>
                   <empty/></scope>
                 <throw faultName="t:x"/>
               </sequence></scope>{}"#,
            set_out("$log")
        ),
    )
    .await;
    assert_eq!(output(d), resp("then"));
}

#[tokio::test]
async fn compensating_twice_runs_a_handler_once() {
    let d = run(
        LOG_DECL,
        &format!(
            r#"<scope name="outer"><faultHandlers><catchAll><sequence><compensate/><compensate/></sequence></catchAll></faultHandlers>
               <sequence>{}<throw faultName="t:x"/></sequence></scope>{}"#,
            comp_scope("a"),
            set_out("$log")
        ),
    )
    .await;
    assert_eq!(output(d), resp("a-ca"));
}

#[tokio::test]
async fn parallel_for_each_branches_have_their_own_counter_and_variables() {
    let d = run(
        LOG_DECL,
        &format!(
            r#"<forEach counterName="i" parallel="yes"><startCounterValue>1</startCounterValue><finalCounterValue>3</finalCounterValue>
                 <scope><variables><variable name="mine" type="xsd:int"/></variables>
                   <sequence>
                     <assign><copy><from>$i * 10</from><to variable="mine"/></copy></assign>
                     <empty/>
                     <assign><copy><from>concat($log, $mine + $i, ',')</from><to variable="log"/></copy></assign>
                   </sequence></scope></forEach>{}"#,
            set_out("$log")
        ),
    )
    .await;
    let out = output(d);
    for v in ["11,", "22,", "33,"] {
        assert!(out.contains(v), "{out}");
    }
}

#[tokio::test]
async fn a_fault_thrown_in_a_fault_handler_goes_to_the_enclosing_scope() {
    let d = run(
        "",
        r#"<scope><faultHandlers><catch faultName="t:second"><assign><copy><from>'second'</from><to variable="resp" part="out"/></copy></assign></catch></faultHandlers>
             <scope><faultHandlers><catch faultName="t:first"><throw faultName="t:second"/></catch></faultHandlers>
               <throw faultName="t:first"/></scope></scope>"#,
    )
    .await;
    assert_eq!(output(d), resp("second"));
}

#[tokio::test]
async fn a_scope_correlation_set_is_fresh_in_each_loop_iteration() {
    let decls = r#"<variable name="n" type="xsd:int"><from>0</from></variable>"#;
    let body = format!(
        r#"<sequence>
             <receive partnerLink="client" operation="start" variable="req" createInstance="yes"/>
             <while><condition>$n &lt; 2</condition>
               <scope><correlationSets><correlationSet name="loop" properties="t:key"/></correlationSets>
                 <sequence>
                   <receive partnerLink="client" operation="ping" variable="req"><correlations><correlation set="loop" initiate="yes"/></correlations></receive>
                   <assign><copy><from>$n + 1</from><to variable="n"/></copy></assign>
                 </sequence></scope></while>
             <receive partnerLink="client" operation="run" variable="req"/>
             {}
             <reply partnerLink="client" operation="run" variable="resp"/>
           </sequence>"#,
        set_out("string($n)")
    );
    let (e, _ev, _d) = deploy_traced(&process(decls, &body));
    e.send("TestService", "start", &req("", "S")).await;
    e.send("TestService", "ping", &req("", "A")).await;
    e.send("TestService", "ping", &req("", "B")).await;
    assert_eq!(
        output(e.call("TestService", "run", &req("", "S")).await),
        resp("2")
    );
}
