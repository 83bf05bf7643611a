//! Static analysis tests: every file in `data/bad/` is named after the SA code it violates and
//! marks the expected line with `<!-- expect: CODE line N -->`; every file in `data/good/` must
//! pass without errors. Both directories share `data/good/common.wsdl`.

mod corpus;
mod expr_leniency;
mod ode_compat;

use std::path::{Path, PathBuf};

use bpelgate_wsdl::wsdl::{DirLoader, WsdlSet};
use bpelgate_wsdl::xml::{Limits, parse_str};

use crate::compiler::check::check;
use crate::compiler::parse::parse_process;
use crate::compiler::{Diagnostic, Severity};

fn data(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/compiler/tests/data")
        .join(sub)
}

fn wsdl() -> WsdlSet {
    let loader = DirLoader::new(data("good"));
    let (set, errors) = WsdlSet::load(&loader, &["common.wsdl".to_owned()]);
    assert!(errors.is_empty(), "{errors:?}");
    set
}

/// Parses and checks one file; parser errors are included.
pub(super) fn run(path: &Path, file: &str, set: &WsdlSet) -> Vec<Diagnostic> {
    let text = std::fs::read_to_string(path).unwrap();
    let root = parse_str(&text, &Limits::default()).unwrap();
    let (p, mut diags) = parse_process(file, &root);
    if let Some(p) = p {
        diags.extend(check(file, &p, set));
    }
    diags
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "bpel"))
        .collect();
    v.sort();
    v
}

/// The `(code, line)` pairs a bad fixture announces.
fn expectations(text: &str) -> Vec<(String, u32)> {
    text.split("<!-- expect:")
        .skip(1)
        .filter_map(|rest| {
            let body = rest.split("-->").next()?;
            let mut it = body.split_whitespace();
            let code = it.next()?.to_owned();
            let _ = it.next()?;
            let line = it.next()?.parse().ok()?;
            Some((code, line))
        })
        .collect()
}

#[test]
fn bad_fixtures_report_their_code_at_the_marked_line() {
    let set = wsdl();
    let bad = files(&data("bad"));
    // One per SA code the checker reports as an error, plus variants; a lower count means
    // fixtures went missing.
    assert!(bad.len() >= 89, "only {} bad fixtures", bad.len());
    let mut failures = Vec::new();
    for path in &bad {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).unwrap();
        let expected = expectations(&text);
        assert!(!expected.is_empty(), "{name}: no expect marker");
        let code_in_name = name.split('_').next().unwrap();
        assert!(
            expected.iter().any(|(c, _)| c == code_in_name),
            "{name}: marker does not name {code_in_name}"
        );
        let diags = run(path, &name, &set);
        for (code, line) in &expected {
            let hit = diags
                .iter()
                .any(|d| &d.code == code && d.line == *line && d.severity == Severity::Error);
            if !hit {
                let got: Vec<String> = diags.iter().map(ToString::to_string).collect();
                failures.push(format!(
                    "{name}: expected {code} at line {line}; got:\n  {}",
                    got.join("\n  ")
                ));
            }
        }
        for d in &diags {
            assert!(!d.message.is_empty(), "{name}: empty message");
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn good_fixtures_pass() {
    let set = wsdl();
    let good = files(&data("good"));
    assert!(good.len() >= 89, "only {} good fixtures", good.len());
    let mut failures = Vec::new();
    for path in &good {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for d in run(path, &name, &set) {
            if d.severity == Severity::Error {
                failures.push(d.to_string());
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_bad_fixture_has_a_good_neighbour() {
    let good: Vec<String> = files(&data("good"))
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for p in files(&data("bad")) {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let code = name.split('_').next().unwrap();
        assert!(
            good.iter().any(|g| g.starts_with(code)),
            "{name}: no good/{code}_*.bpel"
        );
    }
}

#[test]
fn expectation_markers_parse() {
    assert_eq!(
        expectations("<!-- expect: SA00056 line 12 --> x <!-- expect: BPEL line 3 -->"),
        vec![("SA00056".to_owned(), 12), ("BPEL".to_owned(), 3)]
    );
}
