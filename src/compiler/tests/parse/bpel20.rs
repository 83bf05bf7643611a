//! WS-BPEL 2.0: every construct, with names, positions, expressions and namespaces.

use std::sync::Arc;

use bpelgate_wsdl::xml::QName;

use super::{at, main_activity, parse_ok, seq};
use crate::compiler::ast::{
    ActivityKind, AssignOperation, Dialect, FromSpec, Initiate, Pattern, ToSpec, VariableType,
};

const T: &str = "urn:test:all20";

fn q(local: &str) -> QName {
    QName::new(T, local)
}

#[test]
fn process_declarations() {
    let p = parse_ok("all20.bpel");
    assert_eq!(p.dialect, Dialect::Bpel20);
    assert_eq!(p.name, "All20");
    assert_eq!(p.target_namespace, T);
    assert_eq!(p.pos, at(2, 1));
    assert_eq!(
        p.query_language.as_deref(),
        Some("urn:oasis:names:tc:wsbpel:2.0:sublang:xpath1.0")
    );
    assert_eq!(p.suppress_join_failure, Some(true));
    assert_eq!(p.exit_on_standard_fault, Some(false));
    assert_eq!(
        p.foreign_attrs,
        vec![(QName::new("urn:test:ext", "flag"), "on".to_string())]
    );
    assert!(p.ns.contains(&("tns".to_string(), T.to_string())));
    assert_eq!(p.extensions.len(), 1);
    assert_eq!(p.extensions[0].namespace, "urn:test:ext");
    assert!(!p.extensions[0].must_understand);
    assert_eq!(p.extensions[0].pos, at(10, 5));
    assert_eq!(p.imports[0].location.as_deref(), Some("all20.wsdl"));
    assert_eq!(p.imports[0].import_type, "http://schemas.xmlsoap.org/wsdl/");

    let b = &p.body;
    assert_eq!(b.partner_links.len(), 2);
    assert_eq!(b.partner_links[0].partner_link_type, Some(q("ClientLT")));
    assert_eq!(b.partner_links[0].my_role.as_deref(), Some("service"));
    assert_eq!(b.partner_links[1].initialize_partner_role, Some(true));
    assert_eq!(b.partner_links[1].pos, at(16, 5));
    assert_eq!(b.message_exchanges[0].name, "mex1");

    assert_eq!(b.variables.len(), 3);
    assert_eq!(
        b.variables[0].types,
        vec![VariableType::MessageType(q("Request"))]
    );
    assert_eq!(
        b.variables[1].types,
        vec![VariableType::Type(QName::new(
            "http://www.w3.org/2001/XMLSchema",
            "int"
        ))]
    );
    let init = b.variables[1].from.as_ref().unwrap();
    assert_eq!(init.pos, at(25, 7));
    match &init.spec {
        FromSpec::Expression(e) => {
            assert_eq!(e.text, "0");
            assert_eq!(e.pos, at(25, 7));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(b.variables[2].types, vec![VariableType::Element(q("Doc"))]);
    assert_eq!(b.correlation_sets[0].properties, vec![q("id"), q("key")]);
    assert!(b.compensation_handler.is_none());
}

#[test]
fn handlers() {
    let p = parse_ok("all20.bpel");
    let fh = p.body.fault_handlers.as_ref().unwrap();
    assert_eq!(fh.catches.len(), 2);
    let c0 = &fh.catches[0];
    assert_eq!(c0.fault_name, Some(q("oops")));
    assert_eq!(c0.fault_variable.as_deref(), Some("f"));
    assert_eq!(c0.fault_message_type, Some(q("Fault")));
    assert_eq!(c0.pos, at(33, 5));
    assert_eq!(
        c0.activity.as_ref().unwrap().name.as_deref(),
        Some("caught")
    );
    assert_eq!(fh.catches[1].fault_element, Some(q("FaultDoc")));
    assert!(matches!(
        fh.catches[1].activity.as_ref().unwrap().kind,
        ActivityKind::Rethrow
    ));
    let ca = fh.catch_all.as_ref().unwrap();
    assert_eq!(ca.pos, at(39, 5));
    assert!(matches!(
        ca.activity.as_ref().unwrap().kind,
        ActivityKind::Exit
    ));

    let eh = p.body.event_handlers.as_ref().unwrap();
    let ev = &eh.on_events[0];
    assert_eq!(ev.target.partner_link, "client");
    assert_eq!(ev.target.operation, "cancel");
    assert_eq!(ev.target.variable.as_deref(), Some("cancelMsg"));
    assert_eq!(ev.target.message_exchange.as_deref(), Some("mex1"));
    assert_eq!(ev.message_type, Some(q("Cancel")));
    assert_eq!(ev.target.correlations[0].initiate, Some(Initiate::No));
    assert_eq!(ev.target.from_parts[0].part, "reason");
    assert_eq!(ev.target.from_parts[0].to_variable, "why");
    assert_eq!(ev.target.from_parts[0].pos, at(50, 9));
    assert!(matches!(
        ev.activity.as_ref().unwrap().kind,
        ActivityKind::Scope(_)
    ));
    let al = &eh.on_alarms[0];
    assert_eq!(al.pos, at(56, 5));
    let f = al.timing.for_expr.as_ref().unwrap();
    assert_eq!(f.text, "'PT1H'");
    assert_eq!(f.language.as_deref(), Some("urn:x:lang"));
    assert_eq!(f.pos, at(57, 7));
    assert_eq!(al.repeat_every.as_ref().unwrap().text, "'PT10M'");
}

#[test]
fn messaging_activities() {
    let p = parse_ok("all20.bpel");
    let main = main_activity(&p);
    assert_eq!(main.name.as_deref(), Some("main"));
    let acts = seq(main);
    let ActivityKind::Receive(r) = &acts[0].kind else {
        panic!("{:?}", acts[0].kind)
    };
    assert_eq!(acts[0].pos, at(65, 5));
    assert!(r.create_instance);
    assert_eq!(r.target.port_type, Some(q("PT")));
    assert_eq!(r.target.correlations[0].initiate, Some(Initiate::Yes));
    assert_eq!(r.target.correlations[0].pos, at(68, 9));

    let ActivityKind::Invoke(i) = &acts[1].kind else {
        panic!()
    };
    assert_eq!(i.input_variable.as_deref(), Some("req"));
    assert_eq!(i.output_variable.as_deref(), Some("resp"));
    assert_eq!(i.correlations[0].initiate, Some(Initiate::Join));
    assert_eq!(i.correlations[0].pattern, Some(Pattern::RequestResponse));
    assert_eq!(i.catches[0].fault_name, Some(q("busy")));
    assert_eq!(i.catches[0].pos, at(76, 7));
    assert!(i.catch_all.is_some());
    let ch = i.compensation_handler.as_ref().unwrap();
    assert_eq!(
        ch.activity.as_ref().unwrap().name.as_deref(),
        Some("undoCall")
    );

    let ActivityKind::Invoke(i2) = &acts[2].kind else {
        panic!()
    };
    assert_eq!(i2.to_parts[0].from_variable, "doc");
    assert_eq!(i2.to_parts[0].pos, at(88, 9));
    assert_eq!(i2.from_parts[0].to_variable, "doc");

    let reply = acts.last().unwrap();
    let ActivityKind::Reply(r) = &reply.kind else {
        panic!()
    };
    assert_eq!(r.fault_name, Some(q("oops")));
    assert_eq!(r.message_exchange.as_deref(), Some("mex1"));
    assert_eq!(r.to_parts[0].part, "p");
}

#[test]
fn assign_forms() {
    let p = parse_ok("all20.bpel");
    let a = &seq(main_activity(&p))[3];
    let ActivityKind::Assign(asg) = &a.kind else {
        panic!()
    };
    assert!(asg.validate);
    assert_eq!(asg.operations.len(), 6);
    let copies: Vec<_> = asg
        .operations
        .iter()
        .filter_map(|o| match o {
            AssignOperation::Copy(c) => Some(c),
            AssignOperation::Extension(_) => None,
        })
        .collect();
    assert!(copies[0].keep_src_element_name && copies[0].ignore_missing_from_data);
    assert_eq!(copies[0].pos, at(95, 7));
    match &copies[0].from.spec {
        FromSpec::Variable {
            variable,
            part,
            query,
        } => {
            assert_eq!(variable, "req");
            assert_eq!(part.as_deref(), Some("payload"));
            let q = query.as_ref().unwrap();
            assert_eq!(q.text, "tns:item[1]");
            assert_eq!(q.language.as_deref(), Some("urn:q"));
            assert_eq!(q.pos, at(97, 11));
            assert!(q.ns.contains(&("tns".to_string(), T.to_string())));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(&copies[0].to.spec, ToSpec::Variable { variable, part: None, query: None } if variable == "doc")
    );
    assert!(matches!(&copies[1].from.spec,
        FromSpec::PartnerLink { partner_link, endpoint_reference }
        if partner_link == "partner" && endpoint_reference == "partnerRole"));
    assert!(
        matches!(&copies[1].to.spec, ToSpec::PartnerLink { partner_link } if partner_link == "partner")
    );
    assert!(
        matches!(&copies[2].from.spec, FromSpec::Property { variable, property } if variable == "req" && *property == q("id"))
    );
    assert!(
        matches!(&copies[2].to.spec, ToSpec::Property { property, .. } if *property == q("key"))
    );
    let (FromSpec::Expression(fe), ToSpec::Expression(te)) =
        (&copies[3].from.spec, &copies[3].to.spec)
    else {
        panic!()
    };
    assert_eq!(fe.text, "$count + 1");
    assert_eq!(fe.language.as_deref(), Some("urn:x:lang"));
    assert_eq!(te.text, "$count");
    assert_eq!(te.language, None);
    // Expressions seeing the same namespaces share one list.
    assert!(Arc::ptr_eq(&fe.ns, &te.ns));
    let FromSpec::Literal(lit) = &copies[4].from.spec else {
        panic!()
    };
    assert_eq!(lit.name.local, "literal");
    let doc = lit.first_element().unwrap();
    assert_eq!(doc.name, q("Doc"));
    assert_eq!(doc.text(), "text");
    assert_eq!(copies[4].from.pos, at(114, 9));
    match &asg.operations[5] {
        AssignOperation::Extension(e) => {
            assert_eq!(e.name, QName::new("urn:test:ext", "op"));
            assert_eq!(e.attr("arg"), Some("1"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn structured_activities() {
    let p = parse_ok("all20.bpel");
    let acts = seq(main_activity(&p));
    let ActivityKind::Flow(f) = &acts[4].kind else {
        panic!()
    };
    assert_eq!(
        f.links,
        vec![
            ("l1".to_string(), at(123, 9)),
            ("l2".to_string(), at(124, 9))
        ]
    );
    let src = &f.activities[0];
    assert_eq!(src.sources.len(), 2);
    assert_eq!(src.sources[0].link, "l1");
    assert_eq!(src.sources[0].pos, at(128, 11));
    let tc = src.sources[0].transition_condition.as_ref().unwrap();
    assert_eq!(tc.text, "$count > 0");
    assert_eq!(tc.pos, at(129, 13));
    assert!(src.sources[1].transition_condition.is_none());
    let dst = &f.activities[1];
    assert_eq!(dst.suppress_join_failure, Some(false));
    let t = dst.targets.as_ref().unwrap();
    assert_eq!(t.join_condition.as_ref().unwrap().text, "$l1 and $l2");
    assert_eq!(t.links[1], ("l2".to_string(), at(138, 11)));

    let ActivityKind::If(i) = &acts[5].kind else {
        panic!()
    };
    assert_eq!(i.condition.as_ref().unwrap().text, "$count = 1");
    assert_eq!(i.then.as_ref().unwrap().name.as_deref(), Some("one"));
    assert_eq!(i.else_ifs[0].pos, at(145, 7));
    assert_eq!(i.else_ifs[0].condition.as_ref().unwrap().pos, at(146, 9));
    assert_eq!(
        i.otherwise
            .as_ref()
            .unwrap()
            .activity
            .as_ref()
            .unwrap()
            .name
            .as_deref(),
        Some("many")
    );

    let ActivityKind::While { condition, body } = &acts[6].kind else {
        panic!()
    };
    assert_eq!(condition.as_ref().unwrap().text, "$count < 10");
    let ActivityKind::Wait(w) = &body.as_ref().unwrap().kind else {
        panic!()
    };
    assert_eq!(
        w.until_expr.as_ref().unwrap().text,
        "'2030-01-01T00:00:00Z'"
    );
    assert!(w.for_expr.is_none());

    let ActivityKind::RepeatUntil { body, condition } = &acts[7].kind else {
        panic!()
    };
    assert!(matches!(body.as_ref().unwrap().kind, ActivityKind::Empty));
    assert_eq!(condition.as_ref().unwrap().text, "true()");

    let ActivityKind::ForEach(fe) = &acts[8].kind else {
        panic!()
    };
    assert_eq!(fe.counter_name, "i");
    assert!(fe.parallel);
    assert_eq!(fe.start.as_ref().unwrap().text, "1");
    assert_eq!(fe.end.as_ref().unwrap().text, "3");
    let cc = fe.completion.as_ref().unwrap();
    assert!(cc.successful_branches_only);
    assert_eq!(cc.branches.as_ref().unwrap().text, "2");
    assert_eq!(cc.branches.as_ref().unwrap().pos, at(165, 9));

    let ActivityKind::Pick(pk) = &acts[9].kind else {
        panic!()
    };
    assert!(!pk.create_instance);
    assert_eq!(pk.on_messages[0].pos, at(172, 7));
    assert_eq!(pk.on_messages[0].target.operation, "more");
    assert_eq!(pk.on_messages[0].target.correlations[0].set, "cs");
    assert!(pk.on_alarms[0].timing.until_expr.is_some());
    assert!(pk.on_alarms[0].repeat_every.is_none());
}

#[test]
fn scope_and_rest() {
    let p = parse_ok("all20.bpel");
    let acts = seq(main_activity(&p));
    let sc = &acts[10];
    assert_eq!(sc.pos, at(183, 5));
    assert_eq!(
        sc.foreign_attrs,
        vec![(QName::new("urn:test:ext", "note"), "x".to_string())]
    );
    assert_eq!(sc.extension_elements.len(), 1);
    assert_eq!(sc.extension_elements[0].name.local, "hint");
    assert_eq!(sc.extension_elements[0].pos, at(184, 7));
    let ActivityKind::Scope(s) = &sc.kind else {
        panic!()
    };
    assert!(s.isolated);
    assert_eq!(s.exit_on_standard_fault, Some(true));
    assert_eq!(s.body.variables[0].name, "local");
    let fh = s.body.fault_handlers.as_ref().unwrap();
    assert!(matches!(
        &fh.catch_all.as_ref().unwrap().activity.as_ref().unwrap().kind,
        ActivityKind::CompensateScope { target } if target == "s2"
    ));
    assert!(matches!(
        s.body
            .compensation_handler
            .as_ref()
            .unwrap()
            .activity
            .as_ref()
            .unwrap()
            .kind,
        ActivityKind::Compensate
    ));
    assert!(s.body.termination_handler.is_some());
    let inner = seq(s.body.activity.as_ref().unwrap());
    assert!(matches!(&inner[1].kind,
        ActivityKind::Throw { fault_name: Some(n), fault_variable: Some(v) }
        if *n == q("oops") && v == "local"));
    assert_eq!(inner[1].pos, at(201, 9));

    assert!(matches!(&acts[11].kind,
        ActivityKind::Validate { variables } if variables == &["req", "doc"]));
    let ActivityKind::Extension(x) = &acts[12].kind else {
        panic!()
    };
    assert_eq!(x.name, QName::new("urn:test:ext", "custom"));
    assert_eq!(x.attr("name"), Some("x"));
    assert_eq!(x.pos, at(206, 7));
}
