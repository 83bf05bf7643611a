//! The BPEL compiler: parse (BPEL → AST with positions), resolve (WSDL/XSD/plnk/properties),
//! check (static analysis, SA codes), lower (AST → [`crate::model::Process`]).

pub mod ast;
pub mod check;
pub mod diag;
pub mod lower;
pub mod parse;

#[cfg(test)]
mod tests;

use std::path::Path;

use bpelgate_wsdl::wsdl::{DirLoader, Loader, WsdlSet};
use bpelgate_wsdl::xml::{self, Limits, Pos};

pub use diag::{Diagnostic, Severity};

use crate::model::Process;

/// The result of compiling every BPEL process of a package directory.
#[derive(Debug, Default)]
pub struct PackageOutput {
    /// All WSDL/XSD documents of the package (every `.wsdl` file, imports resolved).
    pub wsdl: WsdlSet,
    /// Processes that compiled without error-level diagnostics.
    pub processes: Vec<Process>,
    /// Every diagnostic, errors and warnings, in file/position order.
    pub diagnostics: Vec<Diagnostic>,
}

impl PackageOutput {
    /// True when some diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

/// How strictly the compiler judges constructs that Apache ODE accepts (`[compiler]` in the
/// configuration). The default deploys what ODE deploys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Report XPath syntax errors and undeclared namespace prefixes in expressions as errors.
    /// Off (the default), they are warnings and the expression faults with
    /// `bpel:subLanguageExecutionFault` when evaluated (docs/decisions/003-expression-errors.md).
    pub strict_expressions: bool,
    /// Apache ODE compatibility: the static analysis rules ODE does not enforce (SA00001,
    /// SA00005, SA00033, SA00043, SA00046, SA00056, SA00057) are warnings instead of errors, and
    /// the compiled process runs such constructs the way ODE does
    /// (docs/decisions/002-static-analysis-spec-first.md).
    pub ode_compat: bool,
}

/// Compiles every `.bpel` file under `dir` against every WSDL/XSD of the package.
pub fn compile_package(dir: &Path) -> PackageOutput {
    compile_package_with(dir, &Options::default())
}

/// [`compile_package`] with explicit [`Options`].
pub fn compile_package_with(dir: &Path, options: &Options) -> PackageOutput {
    compile_loader_with(&DirLoader::new(dir), options)
}

/// Compiles every `.bpel` file the loader lists (see [`compile_package`]).
pub fn compile_with_loader(loader: &dyn Loader) -> PackageOutput {
    compile_loader_with(loader, &Options::default())
}

/// [`compile_with_loader`] with explicit [`Options`].
pub fn compile_loader_with(loader: &dyn Loader, options: &Options) -> PackageOutput {
    let (wsdl, errors) = WsdlSet::load_package(loader);
    let mut diagnostics: Vec<Diagnostic> = errors.iter().map(wsdl_error).collect();
    diagnostics.extend(
        wsdl.warnings
            .iter()
            .map(|w| Diagnostic::warning("WSDL", w.file.clone(), w.pos, w.message.clone())),
    );
    let bpel_files: Vec<String> = loader
        .list()
        .into_iter()
        .filter(|f| f.to_ascii_lowercase().ends_with(".bpel"))
        .collect();
    let mut processes = Vec::new();
    for file in &bpel_files {
        let (process, diags) = compile_process_with(loader, file, &wsdl, options);
        diagnostics.extend(diags);
        processes.extend(process);
    }
    diagnostics
        .sort_by(|a, b| (a.file.as_str(), a.line, a.col).cmp(&(b.file.as_str(), b.line, b.col)));
    PackageOutput {
        wsdl,
        processes,
        diagnostics,
    }
}

/// Compiles one BPEL file of a package whose WSDL/XSD documents are already loaded.
///
/// Returns the compiled process only when no error-level diagnostic was found.
pub fn compile_process(
    loader: &dyn Loader,
    file: &str,
    wsdl: &WsdlSet,
) -> (Option<Process>, Vec<Diagnostic>) {
    compile_process_with(loader, file, wsdl, &Options::default())
}

/// [`compile_process`] with explicit [`Options`].
pub fn compile_process_with(
    loader: &dyn Loader,
    file: &str,
    wsdl: &WsdlSet,
    options: &Options,
) -> (Option<Process>, Vec<Diagnostic>) {
    let bytes = match loader.load(file) {
        Ok(b) => b,
        Err(reason) => {
            let d = Diagnostic::error(
                "XML",
                file,
                Pos::default(),
                format!("cannot read: {reason}"),
            );
            return (None, vec![d]);
        }
    };
    let root = match xml::parse(&bytes, &Limits::default()) {
        Ok(r) => r,
        Err(e) => {
            let pos = Pos {
                line: e.line,
                col: e.col,
            };
            return (None, vec![Diagnostic::error("XML", file, pos, e.message)]);
        }
    };
    let (ast, mut diags) = parse::parse_process(file, &root);
    let Some(ast) = ast else {
        if diags.is_empty() {
            diags.push(Diagnostic::error(
                "BPEL",
                file,
                root.pos,
                format!("root element {} is not a BPEL process", root.name),
            ));
        }
        return (None, diags);
    };
    diags.extend(check::check_package_with(
        file,
        &ast,
        wsdl,
        &loader.list(),
        options,
    ));
    if diags.iter().any(|d| d.severity == Severity::Error) {
        return (None, diags);
    }
    match lower::lower_with(file, &ast, wsdl, options) {
        Ok(p) => (Some(p), diags),
        Err(more) => {
            diags.extend(more);
            (None, diags)
        }
    }
}

fn wsdl_error(e: &bpelgate_wsdl::Error) -> Diagnostic {
    match e {
        bpelgate_wsdl::Error::Xml { file, source } => Diagnostic::error(
            "XML",
            file.clone(),
            Pos {
                line: source.line,
                col: source.col,
            },
            source.message.clone(),
        ),
        bpelgate_wsdl::Error::Load { file, reason } => Diagnostic::error(
            "WSDL",
            file.clone(),
            Pos::default(),
            format!("cannot read: {reason}"),
        ),
        bpelgate_wsdl::Error::Invalid {
            file,
            line,
            col,
            message,
        } => Diagnostic::error(
            "WSDL",
            file.clone(),
            Pos {
                line: *line,
                col: *col,
            },
            message.clone(),
        ),
    }
}
