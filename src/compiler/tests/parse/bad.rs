//! Bad inputs: every problem is reported with its code, line and message, and nothing panics.

use super::{data_dir, parse_text};
use crate::compiler::Severity;
use crate::compiler::ast::{ActivityKind, FromSpec, VariableType};

/// (code, line, col, message) of every error.
fn errors(name: &str, text: &str) -> Vec<(String, u32, u32, String)> {
    let (_, diags) = parse_text(name, text);
    diags
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| (d.code, d.line, d.col, d.message))
        .collect()
}

fn e(code: &str, line: u32, col: u32, msg: &str) -> (String, u32, u32, String) {
    (code.to_string(), line, col, msg.to_string())
}

#[test]
fn every_error_is_collected() {
    let text = std::fs::read_to_string(data_dir().join("bad.bpel")).unwrap();
    let got = errors("bad.bpel", &text);
    let want = vec![
        e(
            "BPEL",
            5,
            5,
            "attribute 'messageType' on <variable>: namespace prefix 'nope' of 'nope:Msg' is not declared",
        ),
        e(
            "BPEL",
            7,
            3,
            "<sequence> must not contain text (found \"stray text\")",
        ),
        e(
            "BPEL",
            8,
            5,
            "attribute 'createInstance' on <receive> must be \"yes\" or \"no\", not \"maybe\"",
        ),
        e(
            "BPEL",
            10,
            9,
            "attribute 'initiate' on <correlation> must be one of \"yes\", \"join\", \"no\", not \"maybe\"",
        ),
        e(
            "BPEL",
            13,
            5,
            "element <frobnicate> is not allowed in <sequence>",
        ),
        e(
            "BPEL",
            14,
            5,
            "<invoke> is missing required attribute 'partnerLink'",
        ),
        e(
            "SA00032",
            18,
            9,
            "<from> is not a valid from-spec: it combines variable and partnerLink",
        ),
        e(
            "BPEL",
            22,
            15,
            "<from> must not contain element <raw>: wrap literal values in <literal>",
        ),
        e(
            "BPEL",
            27,
            20,
            "<condition> must contain expression text only, not element <b>",
        ),
    ];
    assert_eq!(got, want);
}

#[test]
fn the_tree_survives_errors() {
    let text = std::fs::read_to_string(data_dir().join("bad.bpel")).unwrap();
    let (p, _) = parse_text("bad.bpel", &text);
    let p = p.unwrap();
    // The unresolvable type is left out; the rest of the declaration stays.
    assert_eq!(p.body.variables[0].name, "v");
    assert_eq!(p.body.variables[0].types, Vec::<VariableType>::new());
    let ActivityKind::Sequence(acts) = &p.body.activity.as_ref().unwrap().kind else {
        panic!()
    };
    // frobnicate is dropped; receive, invoke, assign, while and empty remain.
    assert_eq!(acts.len(), 5);
    let ActivityKind::Assign(a) = &acts[2].kind else {
        panic!()
    };
    let crate::compiler::ast::AssignOperation::Copy(c) = &a.operations[0] else {
        panic!()
    };
    assert!(matches!(&c.from.spec, FromSpec::Variable { variable, .. } if variable == "v"));
}

#[test]
fn root_problems() {
    let abstract_ = r#"<process name="A" targetNamespace="urn:a"
        xmlns="http://docs.oasis-open.org/wsbpel/2.0/process/abstract"><empty/></process>"#;
    let (p, d) = parse_text("a.bpel", abstract_);
    assert!(p.is_none());
    assert_eq!(d[0].code, "BPEL");
    assert!(
        d[0].message
            .contains("abstract processes cannot be deployed")
    );

    let abstract11 = r#"<process name="A" targetNamespace="urn:a" abstractProcess="yes"
        xmlns="http://schemas.xmlsoap.org/ws/2003/03/business-process/"><empty/></process>"#;
    let (p, d) = parse_text("a.bpel", abstract11);
    assert!(p.is_none());
    assert!(
        d[0].message
            .contains("abstract processes cannot be deployed")
    );

    let (p, d) = parse_text("x.bpel", "<definitions xmlns='urn:other'/>");
    assert!(p.is_none());
    assert_eq!((d[0].line, d[0].col), (1, 1));
    assert!(d[0].message.contains("is not a BPEL process"));
}

#[test]
fn missing_and_wrong_attributes() {
    let text = r#"<process xmlns="http://docs.oasis-open.org/wsbpel/2.0/process/executable"
    name="P" suppressJoinFailure="true" exitOnStandardFault="sometimes">
  <sequence>
    <forEach counterName="i">
      <startCounterValue>1</startCounterValue>
      <finalCounterValue>2</finalCounterValue>
      <empty/>
    </forEach>
    <compensateScope/>
    <wait/>
  </sequence>
</process>"#;
    let got = errors("m.bpel", text);
    let want = vec![
        e(
            "BPEL",
            1,
            1,
            "<process> is missing required attribute 'targetNamespace'",
        ),
        e(
            "BPEL",
            1,
            1,
            "attribute 'exitOnStandardFault' on <process> must be \"yes\" or \"no\", not \"sometimes\"",
        ),
        e(
            "BPEL",
            4,
            5,
            "<forEach> is missing required attribute 'parallel'",
        ),
        e("BPEL", 7, 7, "the activity of <forEach> must be a <scope>"),
        e(
            "BPEL",
            9,
            5,
            "<compensateScope> is missing required attribute 'target'",
        ),
        e("BPEL", 10, 5, "<wait> must have <for> or <until>"),
    ];
    assert_eq!(got, want);
    // "true" is read, with a warning that the schema says yes/no.
    let (p, d) = parse_text("m.bpel", text);
    assert_eq!(p.unwrap().suppress_join_failure, Some(true));
    assert!(d.iter().any(|d| d.severity == Severity::Warning
        && d.message.contains("'suppressJoinFailure'")));
}

#[test]
fn wrong_dialect_elements_and_extension_elements() {
    let text = r#"<process name="P" targetNamespace="urn:p"
    xmlns="http://docs.oasis-open.org/wsbpel/2.0/process/executable"
    xmlns:old="http://schemas.xmlsoap.org/ws/2003/03/business-process/"
    xmlns:x="urn:x">
  <sequence>
    <x:anything/>
    <old:terminate/>
    <terminate/>
    <empty x:a="1"/>
  </sequence>
</process>"#;
    let got = errors("d.bpel", text);
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(got[0].1, 7);
    assert!(
        got[0]
            .3
            .contains("is in namespace http://schemas.xmlsoap.org/ws/2003/03/business-process/")
    );
    assert_eq!(
        got[1],
        e(
            "BPEL",
            8,
            5,
            "element <terminate> is not allowed in <sequence>"
        )
    );
    let (p, _) = parse_text("d.bpel", text);
    let p = p.unwrap();
    let seq = p.body.activity.as_ref().unwrap();
    assert_eq!(seq.extension_elements.len(), 1);
    let ActivityKind::Sequence(acts) = &seq.kind else {
        panic!()
    };
    assert_eq!(acts[0].foreign_attrs.len(), 1);
}

#[test]
fn never_panics_on_mangled_inputs() {
    // Every fixture with each element in turn emptied of attributes and children.
    for name in ["all20.bpel", "bpel11.bpel", "draft.bpel", "bad.bpel"] {
        let text = std::fs::read_to_string(data_dir().join(name)).unwrap();
        let root = bpelgate_wsdl::xml::parse_str(&text, &Default::default()).unwrap();
        let count = count_elements(&root);
        for i in 0..count {
            let mut r = root.clone();
            let mut n = i;
            strip_nth(&mut r, &mut n);
            let _ = crate::compiler::parse::parse_process(name, &r);
        }
    }
}

fn count_elements(e: &bpelgate_wsdl::xml::Element) -> usize {
    1 + e.elements().map(count_elements).sum::<usize>()
}

fn strip_nth(e: &mut bpelgate_wsdl::xml::Element, n: &mut usize) -> bool {
    if *n == 0 {
        e.attrs.clear();
        e.children.clear();
        return true;
    }
    *n -= 1;
    e.elements_mut().any(|c| strip_nth(c, n))
}
