//! Errors found while parsing and checking an XPath expression.

use thiserror::Error;

/// What kind of problem an [`XPathError`] reports, so callers can grade them differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The text is not a well-formed expression.
    Syntax,
    /// A prefix is used that the namespace context does not declare.
    UndeclaredPrefix,
    /// A function in a namespace this engine implements (core, fn:, BPEL, ODE) that does
    /// not exist there.
    UnknownFunction,
    /// A function in a namespace no function library here covers: no engine can call it.
    ForeignFunction,
    /// A known function called with a number of arguments it does not accept.
    Arity,
}

/// A problem at a byte offset of the expression text.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{message} at offset {offset}")]
pub struct XPathError {
    /// What kind of problem this is.
    pub kind: ErrorKind,
    /// Byte offset into the expression text.
    pub offset: usize,
    /// What is wrong, without the offset.
    pub message: String,
}

impl XPathError {
    /// An error of `kind` at `offset`.
    pub fn new(kind: ErrorKind, offset: usize, message: impl Into<String>) -> Self {
        XPathError {
            kind,
            offset,
            message: message.into(),
        }
    }

    /// A syntax error at `offset`.
    pub fn syntax(offset: usize, message: impl Into<String>) -> Self {
        XPathError::new(ErrorKind::Syntax, offset, message)
    }
}
