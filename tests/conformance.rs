//! Conformance ratchet.
//!
//! Reads every `cases.json` (format `bpel-conformance-case/1`) under `$BPELGATE_CONFORMANCE_DIR`
//! (default `../shared/conformance` next to the project), runs every case the engine supports so
//! far, and compares each outcome with `tests/conformance-expected.toml`. A new failure fails the
//! build, and so does an unexpected pass (update the file in the same commit:
//! `BPELGATE_CONFORMANCE_UPDATE=1 cargo test --test conformance`).
//!
//! Supported so far: cases made only of `check_deployment` steps, judged by compiling the test
//! folder in-process (every WSDL/XSD of the folder, every BPEL process named by the case data).
//! Cases with message steps need the runtime and are counted as "not run yet", never as passed;
//! their folder gets one synthetic case `<id>#(deploys)`: its package must compile.
//! Where the data is absent this says so and skips; under `CI=true` absence is an error.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::Value;

const EXPECTED_FILE: &str = "tests/conformance-expected.toml";

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Pass,
    Fail(String),
}

fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::var_os("BPELGATE_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/conformance"));
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if !dir.is_dir() {
        if ci {
            eprintln!(
                "conformance: data not found at {} (set BPELGATE_CONFORMANCE_DIR); required under CI=true",
                dir.display()
            );
            return ExitCode::FAILURE;
        }
        println!(
            "conformance: SKIPPED, data not found at {} (set BPELGATE_CONFORMANCE_DIR)",
            dir.display()
        );
        return ExitCode::SUCCESS;
    }
    let mut files = Vec::new();
    collect_cases(&dir, &mut files);
    files.sort();
    let mut actual: BTreeMap<String, Outcome> = BTreeMap::new();
    let mut not_run = 0usize;
    for file in &files {
        match run_test_file(file) {
            Ok((results, skipped)) => {
                actual.extend(results);
                not_run += skipped;
            }
            Err(e) => {
                eprintln!("conformance: {}: {e}", file.display());
                return ExitCode::FAILURE;
            }
        }
    }
    let expected_path = root.join(EXPECTED_FILE);
    if std::env::var("BPELGATE_CONFORMANCE_UPDATE").is_ok_and(|v| v == "1") {
        let mut out = String::from(
            "# Expected outcome of every conformance case the engine runs so far.\n\
             # \"pass\", or \"fail: <reason>\". Regenerate with BPELGATE_CONFORMANCE_UPDATE=1.\n\n",
        );
        for (id, o) in &actual {
            let v = match o {
                Outcome::Pass => "pass".to_owned(),
                Outcome::Fail(r) => format!("fail: {r}"),
            };
            let _ = writeln!(out, "{} = {}", toml_str(id), toml_str(&v));
        }
        if let Err(e) = std::fs::write(&expected_path, out) {
            eprintln!("conformance: cannot write {}: {e}", expected_path.display());
            return ExitCode::FAILURE;
        }
        println!("conformance: wrote {}", expected_path.display());
    }
    let expected = match load_expected(&expected_path) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("conformance: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut regressions = Vec::new();
    let mut unexpected_passes = Vec::new();
    let mut missing = Vec::new();
    let (mut passed, mut failed) = (0usize, 0usize);
    for (id, o) in &actual {
        let exp_pass = expected.get(id).map(|v| v == "pass");
        match o {
            Outcome::Pass => {
                passed += 1;
                match exp_pass {
                    Some(true) => {}
                    Some(false) => unexpected_passes.push(id.clone()),
                    None => missing.push(format!("{id} (now passes)")),
                }
            }
            Outcome::Fail(reason) => {
                failed += 1;
                match exp_pass {
                    Some(false) => {}
                    Some(true) => regressions.push(format!("{id}: {reason}")),
                    None => missing.push(format!("{id} (fails: {reason})")),
                }
            }
        }
    }
    let stale: Vec<&String> = expected
        .keys()
        .filter(|k| !actual.contains_key(*k))
        .collect();
    println!(
        "conformance: {} cases run from {} test folders, {} cases not run yet (they need the runtime)",
        actual.len(),
        files.len(),
        not_run
    );
    let mut bad = false;
    for (title, list) in [
        ("new failures", &regressions),
        (
            "unexpected passes (update the expected file)",
            &unexpected_passes,
        ),
        ("cases missing from the expected file", &missing),
    ] {
        if !list.is_empty() {
            bad = true;
            println!("conformance: {title}:");
            for l in list {
                println!("  {l}");
            }
        }
    }
    if !stale.is_empty() {
        bad = true;
        println!("conformance: expected-file entries for cases no longer run:");
        for s in stale {
            println!("  {s}");
        }
    }
    // Not the bare "N passed, M failed" form: known failures are expected here, and CI tools read
    // that form as a verdict.
    println!(
        "conformance ratchet: {passed} cases pass, {failed} known failures, {} new failures, {} unexpected passes",
        regressions.len(),
        unexpected_passes.len()
    );
    if bad {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn load_expected(path: &Path) -> Result<BTreeMap<String, String>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    toml::from_str::<BTreeMap<String, String>>(&text)
        .map_err(|e| format!("{} is not valid: {e}", path.display()))
}

fn collect_cases(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name()
                .is_some_and(|n| n == "_partners" || n == "runner")
            {
                continue;
            }
            collect_cases(&p, out);
        } else if p.file_name().is_some_and(|n| n == "cases.json") {
            out.push(p);
        }
    }
}

/// Runs the supported cases of one test folder; returns (case id → outcome, cases not run).
fn run_test_file(file: &Path) -> Result<(Vec<(String, Outcome)>, usize), String> {
    let text = std::fs::read_to_string(file).map_err(|e| e.to_string())?;
    let v: Value = serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))?;
    let id = v["id"].as_str().ok_or("no id")?.to_owned();
    let folder = file.parent().ok_or("no folder")?;
    let wanted: Vec<String> = v["deployment"]["processes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| p["qname"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let mut results = Vec::new();
    let mut not_run = 0;
    let mut compiled: Option<Result<(), String>> = None;
    for case in v["cases"].as_array().ok_or("no cases")? {
        let name = case["name"].as_str().unwrap_or("?");
        let steps = case["steps"].as_array().cloned().unwrap_or_default();
        let deploy_only =
            !steps.is_empty() && steps.iter().all(|s| s.get("check_deployment").is_some());
        if !deploy_only {
            not_run += 1;
            continue;
        }
        let deployed = compiled
            .get_or_insert_with(|| compile(folder, &wanted))
            .clone();
        let mut outcome = Outcome::Pass;
        for s in &steps {
            let want = s["check_deployment"].as_str().unwrap_or("");
            outcome = match (want, &deployed) {
                ("deployed", Ok(())) => Outcome::Pass,
                ("deployed", Err(e)) => Outcome::Fail(format!("not deployed: {e}")),
                ("not_deployed", Err(_)) => Outcome::Pass,
                ("not_deployed", Ok(())) => Outcome::Fail(format!(
                    "deployed, but must be rejected ({})",
                    s["reason"].as_str().unwrap_or("no reason given")
                )),
                (other, _) => Outcome::Fail(format!("unknown check_deployment '{other}'")),
            };
            if outcome != Outcome::Pass {
                break;
            }
        }
        results.push((format!("{id}#{name}"), outcome));
    }
    // Every runtime case starts by deploying its package: check that part now, as one synthetic
    // case per test folder, so a good process that the compiler wrongly rejects shows up here.
    if not_run > 0
        && !v["cases"].as_array().into_iter().flatten().any(|c| {
            c["steps"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|s| s["check_deployment"] == "not_deployed")
        })
    {
        let deployed = compiled
            .get_or_insert_with(|| compile(folder, &wanted))
            .clone();
        let outcome = match deployed {
            Ok(()) => Outcome::Pass,
            Err(e) => Outcome::Fail(format!("not deployed: {e}")),
        };
        results.push((format!("{id}#(deploys)"), outcome));
    }
    Ok((results, not_run))
}

/// Compiles a test folder the way deployment would: Ok when every named process compiled.
fn compile(folder: &Path, wanted: &[String]) -> Result<(), String> {
    let out = bpelgate::compiler::compile_package(folder);
    let errors: Vec<String> = out
        .diagnostics
        .iter()
        .filter(|d| d.severity == bpelgate::compiler::Severity::Error)
        .map(|d| d.to_string())
        .collect();
    if !errors.is_empty() {
        let first = errors
            .iter()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join(" | ");
        return Err(first.replace('\n', " "));
    }
    for q in wanted {
        if !out.processes.iter().any(|p| p.name.clark() == *q) {
            return Err(format!("process {q} was not compiled"));
        }
    }
    Ok(())
}
