//! `<import>` (WS-BPEL 2.0 §5.4, SA00011–SA00013): the import type is WSDL 1.1 or XML Schema
//! 1.0, and the imported document's targetNamespace agrees with the `namespace` attribute.

use super::Ctx;

const WSDL11: &str = "http://schemas.xmlsoap.org/wsdl/";
const XSD10: &str = "http://www.w3.org/2001/XMLSchema";

/// Resolves `location` against the directory of `file` (package-relative, "/"-separated).
pub(crate) fn resolve_location(file: &str, location: &str) -> String {
    let mut parts: Vec<&str> = file.split('/').collect();
    parts.pop();
    for seg in location.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

/// Checks every import of the process.
pub(crate) fn check(ctx: &mut Ctx<'_>) {
    let process = ctx.process;
    for imp in &process.imports {
        let ty = imp.import_type.as_str();
        if ty != WSDL11 && ty != XSD10 {
            ctx.error(
                "SA00013",
                imp.pos,
                format!("importType \"{ty}\" is not supported; use \"{WSDL11}\" for WSDL 1.1 or \"{XSD10}\" for XML Schema"),
            );
            continue;
        }
        // Remote or absent locations are not part of the package; the WSDL loader reports them.
        let Some(loc) = imp.location.as_deref().filter(|l| !l.contains("://")) else {
            continue;
        };
        let path = resolve_location(ctx.file, loc);
        let tns = if ty == WSDL11 {
            ctx.wsdl
                .documents
                .get(&path)
                .map(|d| d.target_namespace.as_str())
        } else {
            ctx.wsdl
                .schema_documents
                .get(&path)
                .map(|s| s.target_namespace.as_str())
        };
        let Some(tns) = tns else {
            continue;
        };
        // Apache ODE does not enforce SA00011/SA00012 and deployed processes rely on that, so a
        // mismatch is reported as a warning: the definitions are still found by their QNames.
        match imp.namespace.as_deref() {
            Some(ns) if ns != tns => ctx.warning(
                "SA00011",
                imp.pos,
                format!("<import namespace=\"{ns}\"> loads \"{loc}\", whose targetNamespace is \"{tns}\"; make the namespace attribute match"),
            ),
            None if !tns.is_empty() => ctx.warning(
                "SA00012",
                imp.pos,
                format!("<import> without namespace loads \"{loc}\", which has targetNamespace \"{tns}\"; add namespace=\"{tns}\""),
            ),
            _ => {}
        }
    }
}
