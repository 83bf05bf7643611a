//! WSDL 1.1 documents and the BPEL extensions they carry.

pub mod model;
pub mod ns;
pub mod parse;
pub mod resolve;

pub use model::*;
pub use parse::{parse_definitions, parse_wsdl};
pub use resolve::{DirLoader, Loader, MemLoader, publish_wsdl, resolve_location};
