//! XML as data: qualified names, the one DOM type used everywhere, the capped parser and the writer.

pub mod dom;
pub mod names;
pub mod parse;
pub mod write;

pub use dom::{Attr, Element, Node, Pos};
pub use names::{NsScope, QName, XML_NS, XMLNS_NS};
pub use parse::{Limits, XmlError, parse, parse_str};
pub use write::{to_string, write_element};
