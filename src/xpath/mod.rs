//! XPath for BPEL: parser, static checks and XPath 1.0 evaluation over `bpelgate_wsdl::xml`
//! trees.
//!
//! XPath 1.0 is complete; XPath 2.0 is parsed in the subset BPEL processes use, but not yet
//! evaluated. The layer knows nothing of the engine: variables and extension functions come
//! in through the [`Resolver`] trait.

pub mod ast;
mod axes;
pub mod compile;
pub mod error;
pub mod eval;
pub mod fns_core;
pub mod functions;
pub mod parse;
pub mod value;

pub use ast::{Expr, Language, Name, VarRef};
pub use compile::{Compiled, PropertyUse, compile};
pub use error::{ErrorKind, XPathError};
pub use eval::{
    Context, NoBindings, Resolver, eval, eval_boolean, eval_expr, eval_nodes, eval_number,
    eval_string,
};
pub use parse::parse;
pub use value::{NodeData, NodeKind, NodeRef, Tree, Value};

#[cfg(test)]
mod eval_tests;
#[cfg(test)]
mod tests;
