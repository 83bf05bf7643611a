//! Opt-in: every `.bpel` under `$BPELGATE_CONFORMANCE_DIR` (the ODE suite layout) must parse
//! without error-level diagnostics (warnings allowed).

use std::path::Path;

use bpelgate_wsdl::xml::{Limits, parse};

use crate::compiler::Severity;
use crate::compiler::parse::parse_process;
use crate::compiler::tests::bpel_files;

#[test]
#[ignore = "needs $BPELGATE_CONFORMANCE_DIR"]
fn conformance_corpus_parses() {
    let Ok(dir) = std::env::var("BPELGATE_CONFORMANCE_DIR") else {
        return;
    };
    let mut files = Vec::new();
    bpel_files(Path::new(&dir), &mut files);
    files.sort();
    let mut failures = Vec::new();
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let Ok(root) = parse(&bytes, &Limits::default()) else {
            continue;
        };
        let name = f.display().to_string();
        let (p, diags) = parse_process(&name, &root);
        for w in diags.iter().filter(|d| d.severity == Severity::Warning) {
            eprintln!("{w}");
        }
        let errors: Vec<_> = diags
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .collect();
        if p.is_none() || !errors.is_empty() {
            failures.extend(errors.iter().map(ToString::to_string));
            if p.is_none() && diags.is_empty() {
                failures.push(format!("{name}: no process"));
            }
        }
    }
    assert!(!files.is_empty(), "no .bpel files under {dir}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
