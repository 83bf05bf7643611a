//! Expressions and queries as the process holds them.

use serde::{Deserialize, Serialize};

use super::{ExprId, Pos};

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

/// One expression or query of the process, with everything needed to compile it once.
///
/// Compilation into the XPath AST (`crate::xpath`) belongs to lowering: when that module lands,
/// its parsed form is stored next to `text` in this struct (a field `ast`), so that every
/// expression is parsed once per process and evaluated many times.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
}
