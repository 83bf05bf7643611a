//! docs/decisions/002-static-analysis-spec-first.md: the static analysis rules Apache ODE does
//! not enforce are errors by default and warnings (same text, "(accepted: ode-compat)") with
//! `ode_compat`; the process then compiles with the ODE-like meaning the lowering gives it.
//! Each case reuses the rule's `data/bad/` fixture and its `expect:` marker.

use bpelgate_wsdl::wsdl::{DirLoader, WsdlSet};

use super::{data, expectations};
use crate::compiler::{Diagnostic, Options, Severity, compile_process_with};
use crate::model::{ActivityKind, Initiate, Process};

const COMPAT: Options = Options {
    strict_expressions: false,
    ode_compat: true,
};

/// The package-like WSDL set: the fixtures import `common.wsdl` of `data/good/`.
fn wsdl() -> WsdlSet {
    let loader = DirLoader::new(data("good"));
    let (set, errors) = WsdlSet::load(&loader, &["common.wsdl".to_owned()]);
    assert!(errors.is_empty(), "{errors:?}");
    set
}

fn compile(name: &str, options: &Options) -> (Option<Process>, Vec<Diagnostic>) {
    let loader = DirLoader::new(data("bad"));
    compile_process_with(&loader, &format!("{name}.bpel"), &wsdl(), options)
}

/// The (code, line) the fixture's marker names.
fn marker(name: &str) -> (String, u32) {
    let text = std::fs::read_to_string(data("bad").join(format!("{name}.bpel"))).unwrap();
    let marks = expectations(&text);
    assert_eq!(marks.len(), 1, "{name}: one marker expected");
    marks[0].clone()
}

fn at<'a>(diags: &'a [Diagnostic], code: &str, line: u32) -> Vec<&'a Diagnostic> {
    diags
        .iter()
        .filter(|d| d.code == code && d.line == line)
        .collect()
}

/// Rejected by default; accepted with a warning under ode-compat. Returns the compiled process.
fn demoted(name: &str) -> Process {
    let (code, line) = marker(name);
    let (process, diags) = compile(name, &Options::default());
    assert!(process.is_none(), "{name}: compiled by default");
    let strict = at(&diags, &code, line);
    assert!(
        strict.iter().any(|d| d.severity == Severity::Error),
        "{name}: no {code} error at line {line}: {diags:?}"
    );
    let (process, diags) = compile(name, &COMPAT);
    let errors: Vec<String> = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(ToString::to_string)
        .collect();
    assert!(errors.is_empty(), "{name}: {errors:?}");
    let found = at(&diags, &code, line);
    assert!(!found.is_empty(), "{name}: no {code} warning: {diags:?}");
    for d in &found {
        assert_eq!(d.severity, Severity::Warning, "{name}: {d}");
        assert!(d.message.ends_with("(accepted: ode-compat)"), "{name}: {d}");
        let plain = strict
            .iter()
            .any(|s| d.message.starts_with(s.message.as_str()));
        assert!(plain, "{name}: warning text differs from the error: {d}");
    }
    let process = process.unwrap_or_else(|| panic!("{name}: did not compile"));
    assert!(process.ode_compat);
    process
}

/// An error in both modes.
fn still_rejected(name: &str) {
    let (code, line) = marker(name);
    for options in [Options::default(), COMPAT] {
        let (process, diags) = compile(name, &options);
        assert!(process.is_none(), "{name}: compiled with {options:?}");
        assert!(
            at(&diags, &code, line)
                .iter()
                .any(|d| d.severity == Severity::Error),
            "{name} with {options:?}: no {code} error at line {line}: {diags:?}"
        );
    }
}

/// The first `<invoke>` of a compiled process.
fn first_invoke(p: &crate::model::Process) -> &crate::model::Invoke {
    p.activities
        .iter()
        .find_map(|a| match &a.kind {
            ActivityKind::Invoke(i) => Some(i),
            _ => None,
        })
        .expect("an invoke")
}

#[test]
fn sa00001_notification_operations_are_ignored() {
    demoted("SA00001_notification_operation");
}

#[test]
fn sa00005_invoke_port_type_attribute_gives_way_to_the_role() {
    let p = demoted("SA00005_invoke_port_type_mismatch");
    let inv = first_invoke(&p);
    assert_eq!(inv.operation.port_type.local, "PT");
    assert!(inv.operation.request_response);
}

#[test]
fn sa00005_receive_port_type_mismatch_stays_an_error() {
    // Apache ODE rejects it too (compiler-negative PortTypeMismatch).
    still_rejected("SA00005_receive_port_type_mismatch");
}

#[test]
fn sa00033_to_expression_is_kept() {
    demoted("SA00033_to_expression_without_variable");
}

#[test]
fn sa00043_cross_type_message_copy() {
    demoted("SA00043_copy_between_message_types");
}

#[test]
fn sa00046_missing_pattern() {
    let p = demoted("SA00046_request_response_correlation_without_pattern");
    let inv = first_invoke(&p);
    // Like Apache ODE, a correlation without pattern on a request-response invoke applies to
    // neither message: it is dropped.
    assert!(inv.correlations.is_empty(), "{:?}", inv.correlations);
}

#[test]
fn sa00056_activity_before_start() {
    demoted("SA00056_activity_before_start");
}

#[test]
fn sa00056_start_nested_or_after_a_wait_stays_an_error() {
    still_rejected("SA00056_start_receive_inside_if");
    still_rejected("SA00056_invoke_before_start");
}

#[test]
fn sa00057_shared_start_set_is_joined() {
    let p = demoted("SA00057_shared_start_correlation_not_join");
    let mut starts = 0;
    for id in &p.start_activities {
        if let ActivityKind::Receive(r) = &p.activity(*id).kind {
            starts += 1;
            assert!(
                r.inbound
                    .correlations
                    .iter()
                    .all(|c| c.initiate == Initiate::Join),
                "{:?}",
                r.inbound.correlations
            );
        }
    }
    assert_eq!(starts, 2);
}

#[test]
fn sa00057_without_common_set_stays_an_error() {
    still_rejected("SA00057_no_common_start_correlation");
}

#[test]
fn good_fixtures_compile_alike_in_both_modes() {
    let loader = DirLoader::new(data("good"));
    let mut files: Vec<String> = std::fs::read_dir(data("good"))
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|f| f.ends_with(".bpel"))
        .collect();
    files.sort();
    let mut compared = 0;
    for f in files {
        // Fixtures that need other package files (style sheets) are left to good_fixtures_pass.
        let (Some(strict), _) = compile_process_with(&loader, &f, &wsdl(), &Options::default())
        else {
            continue;
        };
        let (compat, diags) = compile_process_with(&loader, &f, &wsdl(), &COMPAT);
        let Some(compat) = compat else {
            panic!("{f}: rejected with ode-compat: {diags:?}");
        };
        let warned: Vec<&Diagnostic> = diags
            .iter()
            .filter(|d| d.message.contains("ode-compat"))
            .collect();
        assert!(warned.is_empty(), "{f}: {warned:?}");
        assert!(!strict.ode_compat && compat.ode_compat);
        // Apart from the flag, the compiled model is the same.
        assert_eq!(
            Process {
                ode_compat: false,
                ..compat
            },
            strict,
            "{f}"
        );
        compared += 1;
    }
    assert!(compared > 10, "only {compared} good fixtures compiled");
}
