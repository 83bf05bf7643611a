//! Diagnostics: collected, never thrown.

use std::fmt;

use serde::Serialize;

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The package cannot be deployed.
    Error,
    /// Worth telling the author; deployment goes on.
    Warning,
}

/// One finding: `file:line:col: code: message`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// `SAnnnnn` for WS-BPEL static analysis rules; `XML`, `WSDL`, `XSD`, `BPEL`, `DEPLOY` otherwise.
    pub code: String,
    /// Error or warning.
    pub severity: Severity,
    /// Package-relative file.
    pub file: String,
    /// 1-based line (0 = whole file).
    pub line: u32,
    /// 1-based column.
    pub col: u32,
    /// What is wrong and what to change.
    pub message: String,
}

impl Diagnostic {
    /// An error-level diagnostic.
    pub fn error(
        code: impl Into<String>,
        file: impl Into<String>,
        pos: bpelgate_wsdl::Pos,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            code: code.into(),
            severity: Severity::Error,
            file: file.into(),
            line: pos.line,
            col: pos.col,
            message: message.into(),
        }
    }

    /// A warning.
    pub fn warning(
        code: impl Into<String>,
        file: impl Into<String>,
        pos: bpelgate_wsdl::Pos,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, file, pos, message)
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file, self.line, self.col, self.code, self.message
        )
    }
}
