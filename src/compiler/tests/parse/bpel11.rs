//! BPEL4WS 1.1 mapped onto the WS-BPEL 2.0 tree.

use bpelgate_wsdl::xml::QName;

use super::{at, main_activity, parse_ok, seq};
use crate::compiler::ast::{
    ActivityKind, AssignOperation, Copy, Dialect, FromSpec, Initiate, Pattern, ToSpec, VariableType,
};

fn q(local: &str) -> QName {
    QName::new("urn:old", local)
}

fn copies(a: &crate::compiler::ast::Activity) -> Vec<&Copy> {
    let ActivityKind::Assign(asg) = &a.kind else {
        panic!("{:?}", a.kind)
    };
    asg.operations
        .iter()
        .map(|o| match o {
            AssignOperation::Copy(c) => c,
            AssignOperation::Extension(e) => panic!("{e:?}"),
        })
        .collect()
}

#[test]
fn declarations_and_handlers() {
    let p = parse_ok("bpel11.bpel");
    assert_eq!(p.dialect, Dialect::Bpel11);
    assert_eq!(
        p.body.variables[1].types,
        vec![VariableType::Type(QName::new(
            "http://www.w3.org/2001/XMLSchema",
            "int"
        ))]
    );
    assert_eq!(
        p.body.variables[2].types,
        vec![VariableType::Element(q("Doc"))]
    );
    assert_eq!(p.body.correlation_sets[0].properties, vec![q("id")]);
    let c = &p.body.fault_handlers.as_ref().unwrap().catches[0];
    assert_eq!(c.fault_name, Some(q("bad")));
    assert_eq!(c.fault_variable.as_deref(), Some("msg"));
    assert_eq!(c.pos, at(17, 5));
    assert!(matches!(
        c.activity.as_ref().unwrap().kind,
        ActivityKind::Exit
    ));
    let eh = p.body.event_handlers.as_ref().unwrap();
    assert_eq!(eh.on_events[0].target.operation, "ping");
    assert_eq!(eh.on_events[0].target.port_type, Some(q("PT")));
    assert_eq!(eh.on_events[0].pos, at(20, 5));
    assert_eq!(
        eh.on_alarms[0].timing.for_expr.as_ref().unwrap().text,
        "'PT5M'"
    );
}

#[test]
fn links_as_direct_children() {
    let p = parse_ok("bpel11.bpel");
    let ActivityKind::Flow(f) = &main_activity(&p).kind else {
        panic!()
    };
    let recv = &f.activities[0];
    assert_eq!(recv.sources[0].link, "L");
    assert_eq!(recv.sources[0].pos, at(29, 7));
    let tc = recv.sources[0].transition_condition.as_ref().unwrap();
    assert_eq!(tc.text, "bpws:getVariableData('n') > 1");
    assert_eq!(tc.pos, at(29, 7));
    assert!(tc.ns.iter().any(|(p, _)| p == "tns"));
    let ActivityKind::Receive(r) = &recv.kind else {
        panic!()
    };
    assert!(r.create_instance);
    assert_eq!(r.target.correlations[0].initiate, Some(Initiate::Yes));
    let body = &f.activities[1];
    let t = body.targets.as_ref().unwrap();
    assert_eq!(t.links, vec![("L".to_string(), at(33, 7))]);
    assert_eq!(
        t.join_condition.as_ref().unwrap().text,
        "bpws:getLinkStatus('L')"
    );
}

#[test]
fn assign_forms() {
    let p = parse_ok("bpel11.bpel");
    let ActivityKind::Flow(f) = &main_activity(&p).kind else {
        panic!()
    };
    let acts = seq(&f.activities[1]);
    let c = copies(&acts[0]);
    match (&c[0].from.spec, &c[0].to.spec) {
        (
            FromSpec::Variable { part, query, .. },
            ToSpec::Variable {
                query: to_query, ..
            },
        ) => {
            assert_eq!(part.as_deref(), Some("body"));
            assert_eq!(query.as_ref().unwrap().text, "/tns:a");
            assert_eq!(to_query.as_ref().unwrap().text, "/tns:b");
        }
        other => panic!("{other:?}"),
    }
    let FromSpec::Expression(e) = &c[1].from.spec else {
        panic!()
    };
    assert_eq!(e.text, "1 + 2");
    assert_eq!(e.pos, at(40, 11));
    assert!(matches!(&c[2].from.spec,
        FromSpec::PartnerLink { endpoint_reference, .. } if endpoint_reference == "myRole"));
    assert!(matches!(&c[3].from.spec, FromSpec::Property { property, .. } if *property == q("id")));
    let FromSpec::Literal(l) = &c[4].from.spec else {
        panic!()
    };
    assert_eq!(l.name.local, "from");
    assert_eq!(l.first_element().unwrap().name, q("Doc"));
}

#[test]
fn switch_while_pick_scope() {
    let p = parse_ok("bpel11.bpel");
    let ActivityKind::Flow(f) = &main_activity(&p).kind else {
        panic!()
    };
    let acts = seq(&f.activities[1]);
    let ActivityKind::If(i) = &acts[1].kind else {
        panic!()
    };
    assert_eq!(acts[1].name.as_deref(), Some("sw"));
    assert_eq!(
        i.condition.as_ref().unwrap().text,
        "bpws:getVariableData('n') = 1"
    );
    assert_eq!(i.condition.as_ref().unwrap().pos, at(57, 9));
    assert_eq!(i.then.as_ref().unwrap().name.as_deref(), Some("c1"));
    assert_eq!(i.else_ifs.len(), 1);
    assert_eq!(i.else_ifs[0].pos, at(58, 9));
    assert_eq!(
        i.else_ifs[0].activity.as_ref().unwrap().name.as_deref(),
        Some("c2")
    );
    assert_eq!(
        i.otherwise
            .as_ref()
            .unwrap()
            .activity
            .as_ref()
            .unwrap()
            .name
            .as_deref(),
        Some("other")
    );
    let ActivityKind::While { condition, body } = &acts[2].kind else {
        panic!()
    };
    assert_eq!(
        condition.as_ref().unwrap().text,
        "bpws:getVariableData('n') < 3"
    );
    let ActivityKind::Wait(w) = &body.as_ref().unwrap().kind else {
        panic!()
    };
    assert_eq!(w.for_expr.as_ref().unwrap().text, "'PT1S'");
    let ActivityKind::Pick(pk) = &acts[3].kind else {
        panic!()
    };
    assert_eq!(pk.on_messages[0].pos, at(65, 9));
    assert_eq!(
        pk.on_alarms[0].timing.until_expr.as_ref().unwrap().text,
        "'2030-01-01'"
    );
    let ActivityKind::Scope(s) = &acts[4].kind else {
        panic!()
    };
    assert_eq!(acts[4].pos, at(70, 7));
    assert!(s.isolated);
    assert!(matches!(
        &s.body.compensation_handler.as_ref().unwrap().activity.as_ref().unwrap().kind,
        ActivityKind::CompensateScope { target } if target == "inner"
    ));
    let ActivityKind::Invoke(inv) = &s.body.activity.as_ref().unwrap().kind else {
        panic!()
    };
    assert_eq!(inv.correlations[0].pattern, Some(Pattern::RequestResponse));
    assert_eq!(inv.catches[0].pos, at(75, 11));
    assert!(matches!(
        inv.catches[0].activity.as_ref().unwrap().kind,
        ActivityKind::Compensate
    ));
    assert!(inv.compensation_handler.is_some());
    assert!(matches!(acts[5].kind, ActivityKind::Reply(_)));
}
