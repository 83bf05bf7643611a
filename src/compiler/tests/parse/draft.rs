//! The 2004/03 draft: the 2.0 syntax plus the older spellings ODE accepts.

use super::{at, main_activity, parse_ok, seq};
use crate::compiler::ast::{ActivityKind, AssignOperation, Dialect, FromSpec, ToSpec};

#[test]
fn old_and_new_spellings() {
    let p = parse_ok("draft.bpel");
    assert_eq!(p.dialect, Dialect::Bpel20Draft);
    let acts = seq(main_activity(&p));
    let ActivityKind::If(i) = &acts[1].kind else {
        panic!()
    };
    assert_eq!(i.condition.as_ref().unwrap().text, "$v/x = 1");
    assert_eq!(i.then.as_ref().unwrap().name.as_deref(), Some("t"));
    assert_eq!(i.then.as_ref().unwrap().pos, at(11, 13));
    assert_eq!(
        i.else_ifs[0].activity.as_ref().unwrap().name.as_deref(),
        Some("e")
    );
    let ActivityKind::If(sw) = &acts[2].kind else {
        panic!()
    };
    assert_eq!(sw.condition.as_ref().unwrap().text, "$v/x = 3");
    assert_eq!(sw.then.as_ref().unwrap().name.as_deref(), Some("c"));
    let ActivityKind::Assign(a) = &acts[3].kind else {
        panic!()
    };
    let AssignOperation::Copy(c0) = &a.operations[0] else {
        panic!()
    };
    assert!(
        matches!(&c0.from.spec, FromSpec::Expression(e) if e.text == "'a'" && e.pos == at(22, 9))
    );
    assert!(matches!(&c0.to.spec, ToSpec::Expression(e) if e.text == "$v/x"));
    let AssignOperation::Copy(c1) = &a.operations[1] else {
        panic!()
    };
    assert!(matches!(&c1.from.spec, FromSpec::Expression(e) if e.text == "concat('a', 'b')"));
    assert!(matches!(&c1.to.spec,
        ToSpec::Variable { part: Some(p), query: Some(q), .. } if p == "x" && q.text == "/y"));
    assert!(matches!(&acts[4].kind, ActivityKind::CompensateScope { target } if target == "s"));
    assert_eq!(acts[4].pos, at(30, 5));
    assert!(
        matches!(&acts[5].kind, ActivityKind::While { condition: Some(c), .. } if c.text == "false()")
    );
    assert!(matches!(acts[6].kind, ActivityKind::Exit));
}
