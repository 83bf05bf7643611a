//! Opt-in calibration against the ODE suite in `$BPELGATE_CONFORMANCE_DIR` (the `ode/` folder):
//! the processes of compile-good, bpel-test, bpel-itest and axis2-war pass without errors, and
//! each compiler-negative case is rejected.

use std::path::Path;

use bpelgate_wsdl::wsdl::{DirLoader, WsdlSet};

use super::run;
use crate::compiler::Severity;
use crate::compiler::tests::bpel_files;

fn check_file(path: &Path) -> Vec<String> {
    let dir = path.parent().unwrap();
    let (set, _) = WsdlSet::load_package(&DirLoader::new(dir));
    let file = path.file_name().unwrap().to_string_lossy().into_owned();
    run(path, &file, &set)
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| format!("{}: {d}", dir.display()))
        .collect()
}

#[test]
#[ignore = "needs $BPELGATE_CONFORMANCE_DIR"]
fn ode_good_processes_pass_and_negatives_fail() {
    let Ok(root) = std::env::var("BPELGATE_CONFORMANCE_DIR") else {
        return;
    };
    let root = Path::new(&root);
    let mut good = Vec::new();
    for sub in ["compile-good", "bpel-test", "bpel-itest", "axis2-war"] {
        bpel_files(&root.join(sub), &mut good);
    }
    good.sort();
    let mut failures = Vec::new();
    for f in &good {
        failures.extend(check_file(f));
    }
    let mut neg = Vec::new();
    bpel_files(&root.join("compiler-negative"), &mut neg);
    for f in &neg {
        let errs = check_file(f);
        eprintln!("{}:\n  {}", f.display(), errs.join("\n  "));
        if errs.is_empty() {
            failures.push(format!("{}: accepted", f.display()));
        }
    }
    assert!(!good.is_empty());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
