//! Errors found while parsing and checking an XPath expression.

use thiserror::Error;

use bpelgate_wsdl::xml::QName;

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
    /// Evaluation failed: no context node for a relative path, a function the resolver does
    /// not provide, and other dynamic errors (BPEL `subLanguageExecutionFault`).
    Dynamic,
    /// An operand of the wrong type, e.g. a path step applied to a string (BPEL
    /// `subLanguageExecutionFault`).
    Type,
    /// A construct this evaluator does not evaluate (for now: XPath 2.0).
    Unsupported,
    /// Raised by a [`Resolver`](super::eval::Resolver): the variable or part has no value
    /// (BPEL `uninitializedVariable`).
    UninitializedVariable,
    /// Raised by a [`Resolver`](super::eval::Resolver) with the BPEL fault to throw, named
    /// in [`XPathError::fault`] (e.g. `selectionFailure` from `getVariableProperty`).
    Fault,
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
    /// The fault to throw, for [`ErrorKind::Fault`].
    pub fault: Option<QName>,
}

impl XPathError {
    /// An error of `kind` at `offset`.
    pub fn new(kind: ErrorKind, offset: usize, message: impl Into<String>) -> Self {
        XPathError {
            kind,
            offset,
            message: message.into(),
            fault: None,
        }
    }

    /// A syntax error at `offset`.
    pub fn syntax(offset: usize, message: impl Into<String>) -> Self {
        XPathError::new(ErrorKind::Syntax, offset, message)
    }

    /// A dynamic evaluation error ([`ErrorKind::Dynamic`]).
    pub fn dynamic(offset: usize, message: impl Into<String>) -> Self {
        XPathError::new(ErrorKind::Dynamic, offset, message)
    }

    /// An operand of the wrong type ([`ErrorKind::Type`]).
    pub fn type_error(offset: usize, message: impl Into<String>) -> Self {
        XPathError::new(ErrorKind::Type, offset, message)
    }

    /// A construct that is not evaluated ([`ErrorKind::Unsupported`]).
    pub fn unsupported(offset: usize, message: impl Into<String>) -> Self {
        XPathError::new(ErrorKind::Unsupported, offset, message)
    }

    /// A variable or part without a value ([`ErrorKind::UninitializedVariable`]).
    pub fn uninitialized(message: impl Into<String>) -> Self {
        XPathError::new(ErrorKind::UninitializedVariable, 0, message)
    }

    /// A resolver-raised BPEL fault ([`ErrorKind::Fault`]).
    pub fn fault(fault: QName, message: impl Into<String>) -> Self {
        XPathError {
            fault: Some(fault),
            ..XPathError::new(ErrorKind::Fault, 0, message)
        }
    }
}
