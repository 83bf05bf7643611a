//! XSLT 1.0 for `bpel:doXslTransform`, over the project's own DOM and XPath 1.0 engine.
//!
//! A stylesheet is compiled once ([`Stylesheet::compile`]) into instruction trees with every
//! XPath expression parsed and its prefixes resolved; [`Stylesheet::transform`] then runs it
//! against a document element. The XSLT additions to the XPath function library (`current()`,
//! `key()`, `generate-id()`, `format-number()`, …) are provided through the XPath
//! [`Resolver`](crate::xpath::Resolver), so the XPath layer is used as is.
//!
//! Not supported: `xsl:namespace-alias`, `document()` of anything but the stylesheet itself
//! (`document('')`), `disable-output-escaping`, output methods other than a single result
//! element (what `doXslTransform` returns).

mod compile;
mod exec;
mod format;
mod pattern;

#[cfg(test)]
mod tests;

use bpelgate_wsdl::{Element, QName};

use crate::xpath::Value;

pub use compile::XSLT_NS;

/// What went wrong, so callers can map it to the right BPEL fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XsltErrorKind {
    /// The stylesheet is not a valid XSLT 1.0 stylesheet (static error).
    Compile,
    /// A run-time error: an XPath error, a missing named template, recursion too deep, ….
    Dynamic,
    /// `xsl:message terminate="yes"` stopped the transformation.
    Terminated,
    /// The result tree is not a single element (what `doXslTransform` must return).
    NoDocumentElement,
}

/// Why a stylesheet could not be compiled or applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct XsltError {
    /// The kind of problem.
    pub kind: XsltErrorKind,
    /// What is wrong, with the stylesheet position when known.
    pub message: String,
}

impl XsltError {
    pub(crate) fn compile(message: impl Into<String>) -> Self {
        XsltError {
            kind: XsltErrorKind::Compile,
            message: message.into(),
        }
    }

    pub(crate) fn dynamic(message: impl Into<String>) -> Self {
        XsltError {
            kind: XsltErrorKind::Dynamic,
            message: message.into(),
        }
    }
}

/// Loads the stylesheet documents named by `xsl:import`/`xsl:include`: called with the
/// package-relative path (already resolved against the importing stylesheet's path).
pub type ImportLoader<'l> = dyn FnMut(&str) -> Result<Element, String> + 'l;

/// A compiled stylesheet. It is immutable and `Send + Sync`: compile once, share in an `Arc`,
/// transform from any thread.
#[derive(Debug)]
pub struct Stylesheet {
    inner: compile::Compiled,
}

impl Stylesheet {
    /// Compiles a stylesheet document (an `xsl:stylesheet`/`xsl:transform` element, or a
    /// literal result element with `xsl:version`). `xsl:import`/`xsl:include` are errors here;
    /// use [`Stylesheet::compile_with`] for stylesheets that use them.
    pub fn compile(root: Element) -> Result<Self, XsltError> {
        let mut no_imports = |href: &str| -> Result<Element, String> {
            Err(format!(
                "cannot load '{href}': no loader was given for xsl:import/xsl:include"
            ))
        };
        Stylesheet::compile_with(root, "", &mut no_imports)
    }

    /// Compiles a stylesheet whose package-relative path is `path`, loading the documents its
    /// `xsl:import`/`xsl:include` elements name through `load`.
    pub fn compile_with(
        root: Element,
        path: &str,
        load: &mut ImportLoader<'_>,
    ) -> Result<Self, XsltError> {
        Ok(Stylesheet {
            inner: compile::compile(root, path, load)?,
        })
    }

    /// Applies the stylesheet to the document whose element is `source`, with top-level
    /// parameters as strings (names in Clark notation `{ns}local`, or plain local names),
    /// returning the result tree's document element.
    pub fn transform(
        &self,
        source: &Element,
        params: &[(String, String)],
    ) -> Result<Element, XsltError> {
        let params: Vec<(QName, Value<'_>)> = params
            .iter()
            .map(|(n, v)| (QName::from_clark(n), Value::String(v.clone())))
            .collect();
        self.transform_values(source, &params)
    }

    /// Like [`Stylesheet::transform`], with parameters given as XPath values (a
    /// `doXslTransform` parameter may be a node-set).
    pub fn transform_values<'a>(
        &self,
        source: &'a Element,
        params: &[(QName, Value<'a>)],
    ) -> Result<Element, XsltError> {
        exec::run(&self.inner, source, params)
    }

    /// The `method` of `xsl:output` (`xml` when absent).
    pub fn output_method(&self) -> &str {
        &self.inner.output_method
    }
}

// The runtime shares compiled stylesheets between threads.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Stylesheet>();
};
