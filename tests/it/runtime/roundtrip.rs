//! Instances are plain data: a process run whose instance is serialized to JSON and restored
//! between every step behaves exactly like one kept in memory (DESIGN decision 1).

use std::collections::BTreeMap;
use std::sync::Arc;

use bpelgate::compiler::compile_package;
use bpelgate::runtime::exec::{Input, ReplyBody};
use bpelgate::runtime::{Instance, PackageStylesheets, ProcessCtx, Status, new_instance, step};
use bpelgate_wsdl::xml::{Limits, parse_str, to_string};

use super::kit::{TEST_WSDL, process, req};

fn ctx(bpel: &str) -> (ProcessCtx, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("test.wsdl"), TEST_WSDL).expect("wsdl");
    std::fs::write(dir.path().join("p.bpel"), bpel).expect("bpel");
    let out = compile_package(dir.path());
    assert!(!out.has_errors(), "{:#?}", out.diagnostics);
    let process = out.processes.into_iter().next().expect("one process");
    let ctx = ProcessCtx {
        events: bpelgate::events::EventFilter::uniform(bpelgate::events::CategorySet::ALL),
        pid: Arc::from("{urn:p}P-1"),
        name: Arc::new(process.name.clone()),
        process,
        wsdl: Arc::new(out.wsdl),
        properties: Vec::new(),
        endpoints: BTreeMap::new(),
        stylesheets: Box::new(PackageStylesheets::new(None)),
        failure_handling: BTreeMap::new(),
    };
    (ctx, dir)
}

fn roundtrip(inst: &Instance) -> Instance {
    // The store's form.
    let bytes = inst.to_bytes().expect("instance serializes");
    Instance::from_bytes(&bytes).expect("instance deserializes")
}

/// Sends `messages` (operation, Req input, key) in order to a fresh instance, restoring the
/// instance from its stored form before every step when `persist` is set; returns the replies' text.
fn run(ctx: &ProcessCtx, messages: &[(&str, &str, &str)], persist: bool) -> (Vec<String>, Status) {
    let mut inst = new_instance(1);
    let mut replies = Vec::new();
    let mut now = 1_700_000_000_000;
    let fx = step(ctx, &mut inst, now, Input::Start);
    assert!(fx.replies.is_empty());
    for (i, (op, input, key)) in messages.iter().enumerate() {
        if persist {
            inst = roundtrip(&inst);
        }
        now += 1000;
        let sub = *inst
            .subscriptions
            .iter()
            .find(|(_, s)| s.operation == *op)
            .unwrap_or_else(|| panic!("no subscription for {op} at message {i}"))
            .0;
        let message = parse_str(&req(input, key), &Limits::default()).expect("message");
        let fx = step(
            ctx,
            &mut inst,
            now,
            Input::Message {
                subscription: sub,
                message,
                mex: (*op != "start").then_some(i as u64 + 1),
            },
        );
        for r in fx.replies {
            replies.push(match r.body {
                ReplyBody::Output(m) => to_string(&m),
                ReplyBody::Fault { name, .. } => format!("fault {name}"),
            });
        }
    }
    (replies, inst.status)
}

#[test]
fn restored_instances_continue_like_live_ones() {
    // Correlated conversation with a loop, a scope with a compensation handler and a fault
    // handled by compensation: state crosses every kind of frame.
    let body = r#"<sequence>
      <receive partnerLink="client" operation="start" variable="req" createInstance="yes">
        <correlations><correlation set="cs" initiate="yes"/></correlations>
      </receive>
      <assign><copy><from>0</from><to variable="n"/></copy>
              <copy><from>''</from><to variable="log"/></copy></assign>
      <scope name="outer">
      <faultHandlers><catchAll><compensate/></catchAll></faultHandlers>
      <sequence>
      <scope name="s1">
        <compensationHandler>
          <assign><copy><from>concat($log, '-undo', $n)</from><to variable="log"/></copy></assign>
        </compensationHandler>
        <assign><copy><from>concat($log, 'did', $n)</from><to variable="log"/></copy></assign>
      </scope>
      <while><condition>$n &lt; 2</condition>
        <sequence>
          <receive partnerLink="client" operation="next" variable="req">
            <correlations><correlation set="cs"/></correlations>
          </receive>
          <assign><copy><from>$n + 1</from><to variable="n"/></copy>
                  <copy><from>concat('got ', $req.in, ' #', $n)</from><to variable="resp" part="out"/></copy></assign>
          <reply partnerLink="client" operation="next" variable="resp"/>
        </sequence>
      </while>
      <throw faultName="t:stop"/>
      </sequence>
      </scope>
      <receive partnerLink="client" operation="run" variable="req">
        <correlations><correlation set="cs"/></correlations>
      </receive>
      <assign><copy><from>$log</from><to variable="resp" part="out"/></copy></assign>
      <reply partnerLink="client" operation="run" variable="resp"/>
    </sequence>"#;
    let decls = r#"<variable name="n" type="xsd:int"/><variable name="log" type="xsd:string"/>"#;
    let (ctx, _dir) = ctx(&process(decls, body));
    let messages = [
        ("start", "go", "K1"),
        ("next", "a", "K1"),
        ("next", "b", "K1"),
        ("run", "end", "K1"),
    ];
    let live = run(&ctx, &messages, false);
    let restored = run(&ctx, &messages, true);
    assert_eq!(live, restored);
    assert_eq!(
        live.0,
        vec![
            "<message><out>got a #1</out></message>",
            "<message><out>got b #2</out></message>",
            "<message><out>did0-undo2</out></message>",
        ]
    );
    assert_eq!(live.1, Status::Completed);
}
