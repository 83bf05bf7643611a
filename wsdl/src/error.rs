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
