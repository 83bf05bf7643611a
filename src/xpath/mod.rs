//! XPath for BPEL: parser, static checks and XPath 1.0 evaluation over `bpelgate_wsdl::xml`
//! trees.
//!
//! XPath 1.0 is complete; XPath 2.0 is parsed and evaluated in the subset BPEL processes use
//! (no schema types: nodes are untyped). [`eval`] evaluates either language. The layer knows
//! nothing of the engine: variables, extension functions and the clock come in through the
//! [`Resolver`] trait.

pub mod ast;
mod axes;
pub mod compile;
pub mod datetime;
pub mod error;
pub mod eval;
pub mod eval2;
mod fns2;
pub mod fns_core;
pub mod functions;
pub mod parse;
pub mod value;
pub mod xdm;
mod xsregex;

pub use ast::{Expr, Language, Name, VarRef};
pub use compile::{Compiled, PropertyUse, compile};
pub use error::{ErrorKind, XPathError};
pub use eval::{
    Context, NoBindings, Resolver, eval, eval_boolean, eval_expr, eval_nodes, eval_number,
    eval_sequence, eval_string,
};
pub use eval2::eval_expr2;
pub use parse::parse;
pub use value::{NodeData, NodeKind, NodeRef, Tree, Value};
pub use xdm::{Atomic, Item, Sequence, sequence_to_value, value_to_sequence};

#[cfg(test)]
mod eval2_tests;
#[cfg(test)]
mod eval_tests;
#[cfg(test)]
mod tests;
