//! docs/decisions/003-expression-errors.md: XPath syntax errors and undeclared prefixes are
//! warnings by default (the expression is kept and faults at run time) and errors with
//! `strict_expressions`; unknown functions and wrong argument counts are always errors. One
//! fixture per case under `data/expr/`, each marking its line with `expect: XPATH line N`.

use bpelgate_wsdl::wsdl::DirLoader;

use super::{data, expectations, wsdl};
use crate::compiler::{Diagnostic, Options, Severity, compile_process_with};
use crate::model::Process;

const STRICT: Options = Options {
    strict_expressions: true,
    ode_compat: false,
};

fn compile(name: &str, options: &Options) -> (Option<Process>, Vec<Diagnostic>) {
    let loader = DirLoader::new(data("expr"));
    compile_process_with(&loader, &format!("{name}.bpel"), &wsdl(), options)
}

/// The line the fixture's marker names.
fn marked_line(name: &str) -> u32 {
    let text = std::fs::read_to_string(data("expr").join(format!("{name}.bpel"))).unwrap();
    let marks = expectations(&text);
    assert_eq!(marks.len(), 1, "{name}: one marker expected");
    assert_eq!(marks[0].0, "XPATH");
    marks[0].1
}

fn xpath_at(diags: &[Diagnostic], line: u32) -> Vec<&Diagnostic> {
    diags
        .iter()
        .filter(|d| d.code == "XPATH" && d.line == line)
        .collect()
}

fn assert_deferred_by_default(name: &str, message_part: &str) {
    let line = marked_line(name);
    let (process, diags) = compile(name, &Options::default());
    let errors: Vec<String> = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(ToString::to_string)
        .collect();
    assert!(errors.is_empty(), "{name}: {errors:?}");
    let found = xpath_at(&diags, line);
    assert!(
        !found.is_empty(),
        "{name}: no XPATH warning at line {line}: {diags:?}"
    );
    for d in &found {
        assert_eq!(d.severity, Severity::Warning);
        assert!(d.message.contains(message_part), "{name}: {d}");
        assert!(
            d.message.contains("subLanguageExecutionFault"),
            "{name}: {d}"
        );
    }
    let process = process.unwrap_or_else(|| panic!("{name}: did not compile"));
    let broken: Vec<_> = process
        .exprs
        .iter()
        .filter(|e| e.deferred_error().is_some())
        .collect();
    assert_eq!(broken.len(), 1, "{name}: {:?}", process.exprs);
    assert!(broken[0].compiled.is_none());
    assert_eq!(broken[0].pos.line, line);
    let reason = broken[0].deferred_error().unwrap_or_default();
    assert!(reason.contains(message_part), "{name}: {reason}");
    // Every other expression compiled normally.
    assert!(
        process
            .exprs
            .iter()
            .filter(|e| e.deferred_error().is_none())
            .all(|e| e.compiled.is_some())
    );
}

fn assert_error(name: &str, options: &Options) {
    let line = marked_line(name);
    let (process, diags) = compile(name, options);
    assert!(process.is_none(), "{name}: compiled despite errors");
    let found = xpath_at(&diags, line);
    assert!(
        found.iter().any(|d| d.severity == Severity::Error),
        "{name}: no XPATH error at line {line}: {diags:?}"
    );
}

#[test]
fn syntax_error_is_a_warning_and_faults_at_run_time() {
    assert_deferred_by_default("syntax_error", "unterminated string literal");
}

#[test]
fn syntax_error_is_an_error_when_strict() {
    assert_error("syntax_error", &STRICT);
}

#[test]
fn undeclared_prefix_is_a_warning_and_faults_at_run_time() {
    assert_deferred_by_default("undeclared_prefix", "prefix 't'");
}

#[test]
fn undeclared_prefix_is_an_error_when_strict() {
    assert_error("undeclared_prefix", &STRICT);
}

#[test]
fn unknown_function_is_always_an_error() {
    assert_error("unknown_function", &Options::default());
    assert_error("unknown_function", &STRICT);
}

#[test]
fn wrong_arity_is_always_an_error() {
    assert_error("wrong_arity", &Options::default());
    assert_error("wrong_arity", &STRICT);
}
