//! XML, WSDL 1.1 and XML Schema as data for bpelgate.
//!
//! No I/O and no async here: documents reach this crate through a [`Loader`](wsdl::Loader), so the
//! same code reads a package directory, an in-memory test fixture or a zip.

pub mod error;
pub mod soap;
pub mod wsdl;
pub mod xml;
pub mod xsd;

pub use error::Error;
pub use xml::{Element, Node, NsScope, Pos, QName};
