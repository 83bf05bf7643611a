//! Compiler tests with file fixtures under `src/compiler/tests/data/`.

mod check;
mod parse;

/// Every `.bpel` file under `dir`, recursively (for the opt-in corpus tests).
pub(crate) fn bpel_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            bpel_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "bpel") {
            out.push(p);
        }
    }
}
