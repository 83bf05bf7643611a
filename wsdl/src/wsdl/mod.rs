//! WSDL 1.1 documents and the BPEL extensions they carry.

pub mod model;

pub use model::*;
