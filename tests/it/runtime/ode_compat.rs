//! `ode-compat` (docs/decisions/002-static-analysis-spec-first.md): processes breaking the
//! static analysis rules Apache ODE does not enforce are rejected by default, and with the
//! switch they deploy and run the way ODE runs them. The process bodies live in
//! `tests/data/ode_compat/`.

use std::path::Path;

use bpelgate::compiler::Options;

use super::kit::{deploy_with, process, req, resp};
use super::{Engine, fault, output};

const COMPAT: Options = Options {
    strict_expressions: false,
    ode_compat: true,
};

/// The kit process around the body of `tests/data/ode_compat/{name}.bpel`, with the extra
/// declarations its first-line comment names.
fn bpel(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/ode_compat")
        .join(format!("{name}.bpel"));
    let text = std::fs::read_to_string(&path).expect("test process");
    let (first, body) = text.split_once('\n').expect("a declarations line");
    let decls = first
        .trim()
        .strip_prefix("<!-- decls:")
        .and_then(|d| d.strip_suffix("-->"))
        .expect("first line <!-- decls: ... -->");
    process(decls.trim(), body)
}

/// Rejected by default with `code`; deployed with ode-compat.
fn deploy_compat(name: &str, code: &str) -> (Engine, tempfile::TempDir) {
    let text = bpel(name);
    match deploy_with(&text, Options::default()) {
        Ok(_) => panic!("{name}: deployed without ode-compat"),
        Err(errors) => assert!(
            errors.iter().any(|e| e.contains(&format!(": {code}: "))),
            "{name}: no {code} among {errors:#?}"
        ),
    }
    deploy_with(&text, COMPAT).unwrap_or_else(|errors| panic!("{name}: {errors:#?}"))
}

#[tokio::test]
async fn sa00033_copy_to_a_non_variable_expression_faults_with_selection_failure() {
    let (e, _d) = deploy_compat("SA00033_to_literal", "SA00033");
    assert_eq!(
        output(e.call("TestService", "run", &req("a", "K")).await),
        resp("caught a")
    );
}

#[tokio::test]
async fn sa00043_whole_message_copy_between_types_copies_the_message_element() {
    let (e, _d) = deploy_compat("SA00043_cross_type_copy", "SA00043");
    assert_eq!(
        output(e.call("TestService", "run", &req("a", "K")).await),
        resp("o-a|no detail")
    );
}

#[tokio::test]
async fn sa00056_activities_before_and_alongside_the_start_run_in_the_new_instance() {
    let (e, _d) = deploy_compat("SA00056_alongside_start", "SA00056");
    for input in ["a", "b"] {
        assert_eq!(
            output(e.call("TestService", "run", &req(input, "K")).await),
            resp(&format!("pre+init+{input}"))
        );
    }
}

#[tokio::test]
async fn sa00057_start_activities_sharing_a_set_join_the_first_ones_instance() {
    let (e, _d) = deploy_compat("SA00057_shared_start_yes", "SA00057");
    // start first, then ping: ping reaches the instance start created.
    e.send("TestService", "start", &req("s1", "K1")).await;
    e.send("TestService", "ping", &req("p1", "K1")).await;
    // ping first, then start, on another key: a second instance, joined the same way.
    e.send("TestService", "ping", &req("p2", "K2")).await;
    e.send("TestService", "start", &req("s2", "K2")).await;
    assert_eq!(
        output(e.call("TestService", "run", &req("r2", "K2")).await),
        resp("s2+p2+r2")
    );
    assert_eq!(
        output(e.call("TestService", "run", &req("r1", "K1")).await),
        resp("s1+p1+r1")
    );
}

/// Whether the only instance is still live after its messages were handled: the router
/// forgets an instance once it has ended.
async fn still_live(e: &Engine) -> bool {
    for _ in 0..50 {
        match e.router.instances().first() {
            None => return false,
            Some(i) if !i.status.eq_ignore_ascii_case("active") => return false,
            Some(_) => {}
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    true
}

#[tokio::test]
async fn an_on_event_reinitiating_an_initiated_set_faults_by_default_and_takes_equal_values_with_compat()
 {
    let text = bpel("reinitiate_on_event");
    // Default: enabling an onEvent that would initiate the set again is a correlationViolation,
    // so the instance ends (it could only complete after `run`).
    let (e, _d) = deploy_with(&text, Options::default()).expect("deploys by default");
    e.send("TestService", "start", &req("s", "K1")).await;
    assert!(!still_live(&e).await, "the instance should have faulted");
    // ode-compat: the event handler is enabled and takes a message with the set's own values.
    let (e, _d) = deploy_with(&text, COMPAT).expect("deploys with ode-compat");
    e.send("TestService", "start", &req("s", "K1")).await;
    assert!(still_live(&e).await);
    e.send("TestService", "ping", &req("p", "K1")).await;
    assert_eq!(
        output(e.call("TestService", "run", &req("r", "K1")).await),
        resp("start-s+p")
    );
}

#[tokio::test]
async fn a_stray_quote_ending_an_xpath_1_expression_faults_by_default_and_is_dropped_with_compat() {
    let text = bpel("jaxen_stray_quote");
    let (e, _d) = deploy_with(&text, Options::default()).expect("deploys with a warning");
    assert_eq!(
        fault(e.call("TestService", "run", &req("Hello", "K")).await).local,
        "subLanguageExecutionFault"
    );
    let (e, _d) = deploy_with(&text, COMPAT).expect("deploys with ode-compat");
    assert_eq!(
        output(e.call("TestService", "run", &req("Hello", "K")).await),
        resp("Hello World")
    );
}
