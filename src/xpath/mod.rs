//! XPath for BPEL: parser, static checks and (later) evaluation over `bpelgate_wsdl::xml` trees.
//!
//! XPath 1.0 is complete; XPath 2.0 is parsed in the subset BPEL processes use. The layer knows
//! nothing of the engine: variables and extension functions come in through traits.

pub mod ast;
pub mod compile;
pub mod error;
pub mod functions;
pub mod parse;

pub use ast::{Expr, Language, Name, VarRef};
pub use compile::{Compiled, PropertyUse, compile};
pub use error::{ErrorKind, XPathError};
pub use parse::parse;

#[cfg(test)]
mod tests;
