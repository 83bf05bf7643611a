use bpelgate_wsdl::wsdl::{MemLoader, WsdlSet};
use bpelgate_wsdl::xml::{Limits, parse_str};

use super::*;
use crate::compiler::parse::parse_process;
use crate::model::{Catch, Process};

const WSDL: &str = r#"<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:tns="urn:t"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    xmlns:plnk="http://docs.oasis-open.org/wsbpel/2.0/plnktype" targetNamespace="urn:t">
  <message name="Req"><part name="p" type="xsd:string"/></message>
  <message name="Resp"><part name="p" type="xsd:string"/></message>
  <portType name="PT">
    <operation name="go"><input message="tns:Req"/><output message="tns:Resp"/></operation>
    <operation name="notify"><input message="tns:Req"/></operation>
  </portType>
  <portType name="PartnerPT">
    <operation name="call"><input message="tns:Req"/><output message="tns:Resp"/></operation>
  </portType>
  <plnk:partnerLinkType name="LT">
    <plnk:role name="me" portType="tns:PT"/>
    <plnk:role name="them" portType="tns:PartnerPT"/>
  </plnk:partnerLinkType>
</definitions>"#;

const PROCESS: &str = r#"<process name="P" targetNamespace="urn:p"
    xmlns="http://docs.oasis-open.org/wsbpel/2.0/process/executable"
    xmlns:tns="urn:t" xmlns:xsd="http://www.w3.org/2001/XMLSchema" suppressJoinFailure="yes">
  <import namespace="urn:t" location="t.wsdl" importType="http://schemas.xmlsoap.org/wsdl/"/>
  <partnerLinks>
    <partnerLink name="pl" partnerLinkType="tns:LT" myRole="me" partnerRole="them"/>
  </partnerLinks>
  <variables>
    <variable name="v" messageType="tns:Req"/>
    <variable name="x" type="xsd:string"/>
  </variables>
  <correlationSets><correlationSet name="cs" properties="tns:key"/></correlationSets>
  <sequence name="main">
    <receive name="start" partnerLink="pl" operation="go" variable="v" createInstance="yes">
      <correlations><correlation set="cs" initiate="yes"/></correlations>
    </receive>
    <flow name="f">
      <links><link name="L1"/></links>
      <assign name="a1">
        <sources><source linkName="L1"><transitionCondition>true()</transitionCondition></source></sources>
        <copy><from>'hi'</from><to variable="x"/></copy>
      </assign>
      <empty name="e1" suppressJoinFailure="no">
        <targets><target linkName="L1"/></targets>
      </empty>
    </flow>
    <scope name="outer" exitOnStandardFault="yes">
      <faultHandlers>
        <catch faultName="tns:oops" faultVariable="fv" faultMessageType="tns:Req">
          <sequence name="h">
            <assign name="useFv"><copy><from variable="fv"/><to variable="v"/></copy></assign>
            <compensateScope name="comp" target="inner"/>
          </sequence>
        </catch>
      </faultHandlers>
      <eventHandlers>
        <onEvent partnerLink="pl" operation="notify" messageType="tns:Req" variable="ev">
          <scope name="evScope">
            <assign name="useEv"><copy><from variable="ev"/><to variable="v"/></copy></assign>
          </scope>
        </onEvent>
        <onAlarm>
          <for>'PT1S'</for><repeatEvery>'PT1M'</repeatEvery>
          <scope name="alarmScope"><empty name="tick"/></scope>
        </onAlarm>
      </eventHandlers>
      <sequence name="outerBody">
        <scope name="inner">
          <variables><variable name="x" type="xsd:int"/></variables>
          <compensationHandler><empty name="undo"/></compensationHandler>
          <sequence name="innerBody">
            <assign name="setInner"><copy><from>1</from><to variable="x"/></copy></assign>
            <invoke name="call" partnerLink="pl" operation="call" inputVariable="v" outputVariable="v">
              <catchAll><empty name="swallow"/></catchAll>
            </invoke>
          </sequence>
        </scope>
        <forEach name="fe" counterName="i" parallel="no">
          <startCounterValue>1</startCounterValue>
          <finalCounterValue>3</finalCounterValue>
          <scope name="feBody">
            <assign name="useI"><copy><from variable="i"/><to variable="x"/></copy></assign>
          </scope>
        </forEach>
      </sequence>
    </scope>
    <reply name="done" partnerLink="pl" operation="go" variable="v"/>
  </sequence>
</process>"#;

fn wsdl() -> WsdlSet {
    let loader = MemLoader::new().with("t.wsdl", WSDL);
    let (set, errors) = WsdlSet::load(&loader, &["t.wsdl".to_string()]);
    assert!(errors.is_empty(), "{errors:?}");
    set
}

fn parse(text: &str) -> ast::Process {
    let root = parse_str(text, &Limits::default()).unwrap();
    let (ast, diags) = parse_process("p.bpel", &root);
    assert!(diags.is_empty(), "{diags:?}");
    ast.unwrap()
}

fn compile(text: &str) -> Process {
    match lower("p.bpel", &parse(text), &wsdl()) {
        Ok(p) => p,
        Err(d) => panic!("lowering failed: {d:?}"),
    }
}

fn named(p: &Process, name: &str) -> ActivityId {
    p.find_activity(name)
        .unwrap_or_else(|| panic!("no activity {name}"))
}

fn copy_of(p: &Process, name: &str) -> model::Copy {
    match &p.activity(named(p, name)).kind {
        ActivityKind::Assign(a) => match &a.operations[0] {
            model::AssignOperation::Copy(c) => c.clone(),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

fn to_var(c: &model::Copy) -> VariableId {
    match c.to {
        ToSpec::Variable { variable, .. } => variable,
        ref other => panic!("{other:?}"),
    }
}

fn from_var(c: &model::Copy) -> VariableId {
    match c.from {
        FromSpec::Variable { variable, .. } => variable,
        ref other => panic!("{other:?}"),
    }
}

fn scope_of(p: &Process, name: &str) -> ScopeId {
    match p.activity(named(p, name)).kind {
        ActivityKind::Scope(s) => s,
        ref other => panic!("{other:?}"),
    }
}

#[test]
fn ids_parents_and_start_activities() {
    let p = compile(PROCESS);
    assert_eq!(p.format_version, model::FORMAT_VERSION);
    assert_eq!(p.name, QName::new("urn:p", "P"));
    for (i, a) in p.activities.iter().enumerate() {
        assert_eq!(a.id.index(), i);
        if let Some(parent) = a.parent {
            assert!(parent < a.id, "pre-order: parent before child");
        }
    }
    let main = named(&p, "main");
    assert_eq!(p.main_activity(), Some(main));
    assert_eq!(p.activity(main).parent, None);
    assert_eq!(p.activity(main).scope, ScopeId::PROCESS);
    assert_eq!(p.start_activities, vec![named(&p, "start")]);
    assert_eq!(
        p.activity(named(&p, "inner")).parent,
        Some(named(&p, "outerBody"))
    );
    assert_eq!(
        p.activity(named(&p, "setInner")).parent,
        Some(named(&p, "innerBody"))
    );
    // Handler activities hang under the activity that owns the handler.
    assert_eq!(
        p.activity(named(&p, "undo")).parent,
        Some(named(&p, "inner"))
    );
    assert_eq!(
        p.activity(named(&p, "swallow")).parent,
        Some(named(&p, "call"))
    );
    match &p.activity(main).kind {
        ActivityKind::Sequence(children) => assert_eq!(
            children,
            &vec![
                named(&p, "start"),
                named(&p, "f"),
                named(&p, "outer"),
                named(&p, "done")
            ]
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn links_and_effective_suppress_join_failure() {
    let p = compile(PROCESS);
    assert_eq!(p.links.len(), 1);
    let link = p.link(LinkId(0));
    assert_eq!(link.name, "L1");
    assert_eq!(link.flow, named(&p, "f"));
    assert_eq!(link.source, named(&p, "a1"));
    assert_eq!(link.target, named(&p, "e1"));
    let a1 = p.activity(named(&p, "a1"));
    let (l, cond) = a1.sources[0];
    assert_eq!(l, LinkId(0));
    let cond = p.expr(cond.unwrap());
    assert_eq!(cond.text, "true()");
    assert_eq!(cond.language, XPATH_1_0);
    assert_eq!(cond.kind, ExprKind::Expression);
    assert_eq!(p.activity(named(&p, "e1")).targets, vec![LinkId(0)]);
    match &p.activity(named(&p, "f")).kind {
        ActivityKind::Flow { links, activities } => {
            assert_eq!(links, &vec![LinkId(0)]);
            assert_eq!(activities, &vec![named(&p, "a1"), named(&p, "e1")]);
        }
        other => panic!("{other:?}"),
    }
    // Inherited from <process suppressJoinFailure="yes">, overridden on e1.
    assert!(a1.suppress_join_failure);
    assert!(p.activity(named(&p, "useI")).suppress_join_failure);
    assert!(!p.activity(named(&p, "e1")).suppress_join_failure);
}

#[test]
fn scoped_names_resolve_innermost_first() {
    let p = compile(PROCESS);
    let inner = scope_of(&p, "inner");
    let inner_x = p.find_variable(inner, "x").unwrap();
    let process_x = p.find_variable(ScopeId::PROCESS, "x").unwrap();
    assert_ne!(inner_x, process_x);
    assert_eq!(p.variable(inner_x).scope, inner);
    assert_eq!(
        p.variable(inner_x).ty,
        VarType::Type(QName::new(XSD_NS, "int"))
    );
    assert_eq!(to_var(&copy_of(&p, "setInner")), inner_x);
    assert_eq!(to_var(&copy_of(&p, "a1")), process_x);
    // forEach's counter lives in the child scope; `x` there is the process's.
    let fe_body = scope_of(&p, "feBody");
    let use_i = copy_of(&p, "useI");
    let counter = from_var(&use_i);
    assert_eq!(p.variable(counter).name, "i");
    assert_eq!(p.variable(counter).scope, fe_body);
    assert_eq!(p.variable(counter).origin, VariableOrigin::ForEachCounter);
    assert_eq!(to_var(&use_i), process_x);
    match &p.activity(named(&p, "fe")).kind {
        ActivityKind::ForEach(f) => {
            assert_eq!(f.counter, counter);
            assert_eq!(f.activity, named(&p, "feBody"));
            assert_eq!(p.expr(f.start).text, "1");
        }
        other => panic!("{other:?}"),
    }
    // Scope tree.
    let outer = scope_of(&p, "outer");
    assert_eq!(p.scope(inner).parent, Some(outer));
    assert_eq!(p.scope(outer).parent, Some(ScopeId::PROCESS));
    assert_eq!(p.scope(inner).activity, Some(named(&p, "inner")));
    assert_eq!(p.scope(inner).body, Some(named(&p, "innerBody")));
    assert_eq!(p.scope(inner).compensation_handler, Some(named(&p, "undo")));
    assert_eq!(p.activity(named(&p, "inner")).scope, outer);
    assert_eq!(p.activity(named(&p, "setInner")).scope, inner);
    // exitOnStandardFault inherits downwards.
    assert!(!p.process_scope().exit_on_standard_fault);
    assert!(p.scope(outer).exit_on_standard_fault);
    assert!(p.scope(inner).exit_on_standard_fault);
}

#[test]
fn catch_declares_its_fault_variable_and_compensate_scope_resolves() {
    let p = compile(PROCESS);
    let outer = scope_of(&p, "outer");
    let fh = p.scope(outer).fault_handlers.clone().unwrap();
    let Catch {
        fault_name,
        fault_variable,
        fault_type,
        scope,
        activity,
        ..
    } = &fh.catches[0];
    assert_eq!(fault_name, &Some(QName::new("urn:t", "oops")));
    assert_eq!(
        fault_type,
        &Some(VarType::MessageType(QName::new("urn:t", "Req")))
    );
    assert_eq!(*activity, named(&p, "h"));
    let cs = scope.unwrap();
    assert_eq!(p.scope(cs).kind, ScopeKind::Catch);
    assert_eq!(p.scope(cs).parent, Some(outer));
    let fv = fault_variable.unwrap();
    assert_eq!(p.variable(fv).scope, cs);
    assert_eq!(p.variable(fv).origin, VariableOrigin::FaultVariable);
    assert_eq!(from_var(&copy_of(&p, "useFv")), fv);
    assert_eq!(
        p.activity(named(&p, "comp")).kind,
        ActivityKind::CompensateScope {
            target: named(&p, "inner")
        }
    );
}

#[test]
fn messaging_activities_carry_operations_and_correlations() {
    let p = compile(PROCESS);
    assert_eq!(p.partner_links.len(), 1);
    let pl = p.partner_link(PartnerLinkId(0));
    assert_eq!(pl.my_role, Some(("me".into(), QName::new("urn:t", "PT"))));
    assert_eq!(
        pl.partner_role,
        Some(("them".into(), QName::new("urn:t", "PartnerPT")))
    );
    assert_eq!(pl.scope, ScopeId::PROCESS);
    match &p.activity(named(&p, "start")).kind {
        ActivityKind::Receive(r) => {
            assert!(r.create_instance);
            assert_eq!(r.inbound.partner_link, PartnerLinkId(0));
            assert_eq!(r.inbound.operation.port_type, QName::new("urn:t", "PT"));
            assert!(r.inbound.operation.request_response);
            assert_eq!(
                r.inbound.operation.output,
                Some(QName::new("urn:t", "Resp"))
            );
            assert_eq!(r.inbound.variable, p.find_variable(ScopeId::PROCESS, "v"));
            assert_eq!(r.inbound.correlations.len(), 1);
            let c = &r.inbound.correlations[0];
            assert_eq!(p.correlation_set(c.set).name, "cs");
            assert_eq!(
                p.correlation_set(c.set).properties,
                vec![QName::new("urn:t", "key")]
            );
            assert_eq!(c.initiate, model::Initiate::Yes);
        }
        other => panic!("{other:?}"),
    }
    let call = named(&p, "call");
    match &p.activity(call).kind {
        ActivityKind::Invoke(inv) => {
            assert_eq!(inv.operation.port_type, QName::new("urn:t", "PartnerPT"));
            assert_eq!(inv.operation.name, "call");
            let hs = inv.handler_scope.unwrap();
            let decl = p.scope(hs);
            assert_eq!(decl.kind, ScopeKind::Invoke);
            assert_eq!(decl.activity, Some(call));
            assert_eq!(decl.parent, Some(scope_of(&p, "inner")));
            assert_eq!(
                decl.fault_handlers.as_ref().unwrap().catch_all,
                Some(named(&p, "swallow"))
            );
            assert_eq!(p.activity(named(&p, "swallow")).scope, hs);
        }
        other => panic!("{other:?}"),
    }
    match &p.activity(named(&p, "done")).kind {
        ActivityKind::Reply(r) => assert_eq!(r.operation.name, "go"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn event_handlers_declare_their_variable_in_the_associated_scope() {
    let p = compile(PROCESS);
    let outer = scope_of(&p, "outer");
    let decl = p.scope(outer);
    assert_eq!(decl.on_events.len(), 1);
    let ev = &decl.on_events[0];
    let ev_scope = scope_of(&p, "evScope");
    assert_eq!(ev.scope, ev_scope);
    assert_eq!(ev.activity, named(&p, "evScope"));
    assert!(!ev.inbound.operation.request_response);
    let var = ev.inbound.variable.unwrap();
    assert_eq!(p.variable(var).scope, ev_scope);
    assert_eq!(p.variable(var).origin, VariableOrigin::OnEvent);
    assert_eq!(from_var(&copy_of(&p, "useEv")), var);
    assert_eq!(
        p.activity(named(&p, "evScope")).parent,
        Some(named(&p, "outer"))
    );
    let alarm = &decl.on_alarms[0];
    assert_eq!(p.expr(alarm.timing.for_expr.unwrap()).text, "'PT1S'");
    assert_eq!(p.expr(alarm.repeat_every.unwrap()).text, "'PT1M'");
    assert_eq!(alarm.activity, named(&p, "alarmScope"));
}

#[test]
fn serde_round_trip_is_lossless() {
    let p = compile(PROCESS);
    let json = serde_json::to_string(&p).unwrap();
    let back: Process = serde_json::from_str(&json).unwrap();
    assert_eq!(back, p);
}

#[test]
fn unresolved_references_are_diagnostics() {
    let text = PROCESS
        .replace(r#"<from variable="i"/>"#, r#"<from variable="nope"/>"#)
        .replace(r#"target="inner""#, r#"target="missing""#);
    let errors = lower("p.bpel", &parse(&text), &wsdl()).unwrap_err();
    assert!(errors.iter().all(|d| d.code == "BPEL"));
    assert!(
        errors.iter().any(|d| d.message.contains("`nope`")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|d| d.message.contains("`missing`")),
        "{errors:?}"
    );
}

#[test]
fn unknown_partner_link_type_is_a_diagnostic() {
    let errors = lower("p.bpel", &parse(PROCESS), &WsdlSet::default()).unwrap_err();
    assert!(
        errors
            .iter()
            .any(|d| d.message.contains("partnerLinkType `{urn:t}LT`")),
        "{errors:?}"
    );
}

#[test]
fn a_scope_in_a_handler_is_not_a_compensation_target() {
    // `inner` moved into the fault handler: not immediately enclosed in the scope's body.
    let text = PROCESS.replace(
        r#"<compensateScope name="comp" target="inner"/>"#,
        r#"<scope name="hs"><empty/></scope><compensateScope name="comp" target="hs"/>"#,
    );
    let errors = lower("p.bpel", &parse(&text), &wsdl()).unwrap_err();
    assert!(
        errors.iter().any(|d| d.message.contains("`hs`")),
        "{errors:?}"
    );
}
