//! Errors of the WSDL/XSD layer.

use crate::xml::XmlError;

/// Something a WSDL, XSD or import chain got wrong; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The document is not well-formed XML.
    #[error("{file}:{source}")]
    Xml {
        /// The file.
        file: String,
        /// The parser's error, with line and column.
        source: XmlError,
    },
    /// A document could not be loaded.
    #[error("{file}: cannot read: {reason}")]
    Load {
        /// The file.
        file: String,
        /// Why.
        reason: String,
    },
    /// A structural problem in a WSDL or XSD document.
    #[error("{file}:{line}:{col}: {message}")]
    Invalid {
        /// The file.
        file: String,
        /// 1-based line.
        line: u32,
        /// 1-based column.
        col: u32,
        /// What is wrong and what to change.
        message: String,
    },
}

impl Error {
    /// An [`Error::Invalid`] at `pos` of `file`.
    pub fn invalid(file: &str, pos: crate::xml::Pos, message: impl Into<String>) -> Self {
        Error::Invalid {
            file: file.to_owned(),
            line: pos.line,
            col: pos.col,
            message: message.into(),
        }
    }

    /// The file the error is about.
    pub fn file(&self) -> &str {
        match self {
            Error::Xml { file, .. } | Error::Load { file, .. } | Error::Invalid { file, .. } => {
                file
            }
        }
    }
}
