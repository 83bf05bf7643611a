//! Expressions and queries as the process holds them.

use serde::{Deserialize, Serialize};

use super::{ExprId, Pos};
use crate::xpath::Compiled;

/// The URI of XPath 1.0 as a WS-BPEL 2.0 expression and query language (the default).
pub const XPATH_1_0: &str = "urn:oasis:names:tc:wsbpel:2.0:sublang:xpath1.0";

/// Whether the text is an expression or a query (they default to different process attributes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExprKind {
    /// Conditions, durations, deadlines, `<from>`/`<to>` expressions, counters, join and
    /// transition conditions: language from `expressionLanguage`.
    Expression,
    /// `<query>` of a from/to-spec: language from `queryLanguage`.
    Query,
}

/// One expression or query of the process, compiled once at deployment.
///
/// XPath expressions carry their compiled tree (`compiled`), prefixes resolved, so the runtime
/// evaluates them without parsing; `text`, `language` and `ns` stay for diagnostics and for
/// languages evaluated from source (XQuery).
///
/// An XPath expression that does not compile but was deployed anyway (a syntax error or an
/// undeclared prefix, tolerated like Apache ODE does unless `strict-expressions` is set) has
/// `compiled: None` and `error: Some(reason)`: evaluating it must raise
/// `bpel:subLanguageExecutionFault` carrying the reason.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExprDecl {
    /// Its id.
    pub id: ExprId,
    /// The text as written (trimmed).
    pub text: String,
    /// Effective language URI (own attribute, else the process default, else XPath 1.0).
    pub language: String,
    /// Namespace bindings (prefix, uri) in force where it was written.
    pub ns: Vec<(String, String)>,
    /// Where it was written.
    pub pos: Pos,
    /// Expression or query.
    pub kind: ExprKind,
    /// The compiled XPath tree; `None` for languages other than XPath (XQuery) and for
    /// expressions that did not compile (`error`).
    pub compiled: Option<Compiled>,
    /// Why the expression did not compile, when it was deployed anyway; evaluating it raises
    /// `bpel:subLanguageExecutionFault` with this message. Absent from older serialized forms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ExprDecl {
    /// The reason evaluating this expression must raise `bpel:subLanguageExecutionFault`
    /// instead of evaluating it, if any.
    pub fn deferred_error(&self) -> Option<&str> {
        self.error.as_deref()
    }
}
