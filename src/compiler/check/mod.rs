//! Static analysis: the WS-BPEL 2.0 Appendix B requirements (SA00001–SA00095) that apply to
//! executable processes, one file per rule family. Every finding is a [`Diagnostic`] with its
//! SA code; nothing here panics or stops at the first error.
//!
//! Codes without an SA number: `BPEL` for unresolved references and structural rules the spec
//! states without a code (undeclared variable/partnerLink/correlationSet, unknown operation,
//! missing primary activity, forEach/onEvent child not a scope, undeclared extension
//! namespace); `XPATH` for expressions (unknown BPEL function, undeclared prefix). XPath
//! syntax errors and undeclared prefixes are warnings unless [`Options::strict_expressions`]
//! is set (docs/decisions/003-expression-errors.md). The rules Apache ODE does not enforce
//! (SA00001, SA00005, SA00033, SA00043, SA00046, SA00056, SA00057) are warnings when
//! [`Options::ode_compat`] is set, and the lowering gives each an ODE-like run-time meaning
//! (docs/decisions/002-static-analysis-spec-first.md).
//!
//! Coverage (section numbers are WS-BPEL 2.0 OASIS Standard):
//!
//! | Codes | Where | Rule |
//! |---|---|---|
//! | SA00001, SA00002 | decls | notification operations; overloaded operations (§3) |
//! | SA00003 | handlers | exitOnStandardFault with a catch of a standard fault (§5.2) |
//! | SA00004 | structure, expr | unsupported query/expression language (§5.2) |
//! | SA00005 | messaging | portType attribute vs the partner link role (§5.2) |
//! | SA00006–SA00008 | handlers | rethrow / compensateScope / compensate placement (§5.2) |
//! | SA00009 | structure | unsupported mandatory extension (§5.3) |
//! | SA00010 | decls, assign, expr | messageType, partnerLinkType, portType, property imported (§5.4) |
//! | SA00011–SA00013 | imports | import namespace and importType (§5.4) |
//! | SA00015 | structure | at least one start activity (§5.5) |
//! | SA00016–SA00018 | decls | partner link roles, initializePartnerRole, unique names (§6.2) |
//! | SA00021 | messaging, assign, expr | propertyAlias for each property use (§7.3) |
//! | SA00023–SA00025 | decls | variable names unique, BPELVariableName, one type attribute (§8.1) |
//! | SA00028, SA00030, SA00031 | expr | BPEL functions in joinCondition; getVariableProperty args (§8.2.5, §8.3) |
//! | SA00032–SA00038 | assign | copy forms, to-expression, part on non-message, endpointReference roles, literal (§8.4) |
//! | SA00039–SA00041 | expr | doXslTransform arguments (§8.4) |
//! | SA00042, SA00043 | assign | keepSrcElementName on non-elements; message/non-message copies (§8.4) |
//! | SA00044, SA00045 | decls | unique correlation sets; simple-typed properties (§9) |
//! | SA00046–SA00048, SA00050–SA00055, SA00058, SA00059, SA00061 | messaging | invoke/receive/reply shapes (§9.2, §10) |
//! | SA00056, SA00057 | structure | start activities first; shared join correlation (§10.4) |
//! | SA00062, SA00063 | messaging | start pick only onMessage; onMessage variable vs fromParts (§11.5) |
//! | SA00064–SA00072 | links | link declaration, use, boundaries and cycles (§11.6) |
//! | SA00076 | scopes | forEach counter re-declared in its scope (§11.7) |
//! | SA00077–SA00081 | handlers | compensateScope target; FCT root scope; empty faultHandlers; catch typing (§12.4–12.5) |
//! | SA00083–SA00090 | handlers, messaging, scopes | event handlers and onEvent (§12.7) |
//! | SA00091–SA00093 | scopes, handlers | isolated nesting; unique child scope names; identical catches (§12.4, §12.5, §12.8) |
//!
//! Not applicable or enforced elsewhere:
//! - SA00014 (conflicting imported definitions), SA00019, SA00020 (property / propertyAlias
//!   attribute combinations), SA00022 (duplicate propertyAlias): properties of the WSDL
//!   documents, checked when the package's WSDL set is loaded.
//! - SA00026 (idempotent variable initialisers in scopes with start activities), SA00060
//!   (messageExchange needed for simultaneous IMA/reply pairs), SA00082 (peer-scope dependency
//!   cycles): need run-time or data-flow knowledge beyond this checker; not enforced (gap).
//! - SA00027 (no location paths in XPath 1.0 expressions), SA00029 (variables in propertyAlias
//!   queries), SA00073 (join condition only over link status), SA00074, SA00075 (constant
//!   counter/branch values), SA00094 (keepSrcElementName substitution groups): need the XPath
//!   compiler and the schema model; not enforced yet (gap).
//! - SA00049: not assigned by the specification.
//! - SA00095 (onEvent variables resolve in the associated scope only): holds by construction,
//!   the implicit variables are declared in the associated scope's own frame.

mod assign;
mod decls;
mod expr;
mod handlers;
mod imports;
mod links;
mod lookup;
mod messaging;
mod scopes;
mod structure;

pub(crate) use expr::{is_deferrable, jaxen_text};
pub(crate) use structure::shared_start_sets;

use bpelgate_wsdl::wsdl::WsdlSet;
use bpelgate_wsdl::xml::Pos;

use super::Options;
use super::ast;
use super::ast::Process;
use super::diag::Diagnostic;

/// What every rule family sees.
pub struct Ctx<'a> {
    /// Package-relative path of the BPEL file.
    pub file: &'a str,
    /// The parsed process.
    pub process: &'a Process,
    /// Every WSDL/XSD the package holds (imports resolved).
    pub wsdl: &'a WsdlSet,
    /// Every file of the package (package-relative paths), when known: doXslTransform style
    /// sheets must be among them.
    pub files: Option<&'a [String]>,
    /// Findings so far.
    pub diags: Vec<Diagnostic>,
    /// How strictly to judge what ODE accepts.
    pub options: Options,
}

impl Ctx<'_> {
    /// Records an error.
    pub fn error(&mut self, code: &str, pos: Pos, message: impl Into<String>) {
        self.diags
            .push(Diagnostic::error(code, self.file, pos, message));
    }

    /// Records a warning.
    pub fn warning(&mut self, code: &str, pos: Pos, message: impl Into<String>) {
        self.diags
            .push(Diagnostic::warning(code, self.file, pos, message));
    }

    /// Records a violation of a rule Apache ODE does not enforce (SA00001, SA00005, SA00033,
    /// SA00043, SA00046, SA00056, SA00057): an error, or with [`Options::ode_compat`] a warning
    /// with the same text (docs/decisions/002-static-analysis-spec-first.md).
    pub fn ode_lenient(&mut self, code: &str, pos: Pos, message: impl Into<String>) {
        if self.options.ode_compat {
            let message = format!("{} (accepted: ode-compat)", message.into());
            self.warning(code, pos, message);
        } else {
            self.error(code, pos, message);
        }
    }

    /// Records a reference to a variable that no enclosing scope declares.
    pub fn undeclared_variable(&mut self, pos: Pos, name: &str, what: &str) {
        self.error(
            "BPEL",
            pos,
            format!("{what} uses variable \"{name}\", which is not declared in this or an enclosing scope; declare it in <variables> or fix the name"),
        );
    }
}

/// Runs every rule family over `process`, without the package file list (style sheet files
/// named by doXslTransform are not checked).
pub fn check(file: &str, process: &Process, wsdl: &WsdlSet) -> Vec<Diagnostic> {
    run(file, process, wsdl, None, &Options::default())
}

/// Runs every rule family over `process` of a package holding `files` (package-relative paths).
pub fn check_package(
    file: &str,
    process: &Process,
    wsdl: &WsdlSet,
    files: &[String],
) -> Vec<Diagnostic> {
    run(file, process, wsdl, Some(files), &Options::default())
}

/// [`check_package`] with explicit [`Options`].
pub fn check_package_with(
    file: &str,
    process: &Process,
    wsdl: &WsdlSet,
    files: &[String],
    options: &Options,
) -> Vec<Diagnostic> {
    run(file, process, wsdl, Some(files), options)
}

fn run(
    file: &str,
    process: &Process,
    wsdl: &WsdlSet,
    files: Option<&[String]>,
    options: &Options,
) -> Vec<Diagnostic> {
    let mut ctx = Ctx {
        file,
        process,
        wsdl,
        files,
        diags: Vec::new(),
        options: *options,
    };
    imports::check(&mut ctx);
    structure::check_process(&mut ctx);
    links::check(&mut ctx);
    scopes::walk_process(&mut ctx);
    let mut diags = ctx.diags;
    diags.sort_by(|a, b| (a.line, a.col, &a.code).cmp(&(b.line, b.col, &b.code)));
    diags.dedup();
    diags
}
