//! XSLT 1.0 for `bpel:doXslTransform`.

use bpelgate_wsdl::Element;

/// A compiled stylesheet.
#[derive(Debug)]
pub struct Stylesheet {
    _root: Element,
}

/// Why a stylesheet could not be compiled or applied.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct XsltError(pub String);

impl Stylesheet {
    /// Compiles a stylesheet document.
    pub fn compile(root: Element) -> Result<Self, XsltError> {
        Ok(Stylesheet { _root: root })
    }

    /// Applies the stylesheet to `source` with top-level parameters, returning the result tree's
    /// document element.
    pub fn transform(
        &self,
        source: &Element,
        params: &[(String, String)],
    ) -> Result<Element, XsltError> {
        let _ = (source, params);
        todo!("xmlproc helper")
    }
}
