//! XML Schema: the subset BPEL compilation, variable initialisation and validation need.

pub mod builtin;
pub mod model;
pub mod parse;
pub mod validate;

pub use builtin::{builtin_base, builtin_primitive, is_builtin, is_builtin_simple};
pub use model::*;
pub use parse::{parse_schema, parse_schema_chameleon, parse_schema_document};
pub use validate::{ValidationError, check_simple_value, validate_element, validate_value};
