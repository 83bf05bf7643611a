//! Parser tests: one file per dialect, bad inputs, and an opt-in corpus run.

mod corpus;

use std::path::PathBuf;

use bpelgate_wsdl::xml::{Limits, parse_str};

use crate::compiler::ast::Process;
use crate::compiler::diag::Diagnostic;
use crate::compiler::parse::parse_process;

/// The fixture directory.
fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/compiler/tests/data/parse")
}

/// Parses the text of a BPEL document.
fn parse_text(name: &str, text: &str) -> (Option<Process>, Vec<Diagnostic>) {
    let root = parse_str(text, &Limits::default()).unwrap();
    parse_process(name, &root)
}

/// Parses a fixture that must have no diagnostics.
fn parse_ok(name: &str) -> Process {
    let text = std::fs::read_to_string(data_dir().join(name)).unwrap();
    let (p, diags) = parse_text(name, &text);
    assert!(diags.is_empty(), "{name}: {diags:#?}");
    p.unwrap()
}

mod bad;
mod bpel11;
mod bpel20;
mod draft;

use bpelgate_wsdl::xml::Pos;

use crate::compiler::ast::{Activity, ActivityKind};

/// A position.
fn at(line: u32, col: u32) -> Pos {
    Pos { line, col }
}

/// The children of a sequence (panics otherwise: tests only).
fn seq(a: &Activity) -> &[Activity] {
    match &a.kind {
        ActivityKind::Sequence(v) => v,
        other => panic!("not a sequence: {other:?}"),
    }
}

/// The process's main activity.
fn main_activity(p: &Process) -> &Activity {
    p.body.activity.as_deref().unwrap()
}
