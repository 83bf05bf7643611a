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
    /// The compiled XPath tree; `None` for languages other than XPath (XQuery).
    pub compiled: Option<Compiled>,
}
