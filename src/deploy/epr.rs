//! WS-Addressing endpoint references (the WSO2 unified endpoint `.epr` files).

use std::path::{Path, PathBuf};

use bpelgate_wsdl::xml::{self, Element, Limits, XmlError};

/// WS-Addressing 1.0 namespace.
pub const WSA_NS: &str = "http://www.w3.org/2005/08/addressing";
/// The 2004/08 submission namespace, still found in older packages.
pub const WSA_2004_NS: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";

/// An endpoint reference: where to send partner messages, plus what came with it.
#[derive(Clone, Debug, PartialEq)]
pub struct EndpointRef {
    /// `wsa:Address`.
    pub address: String,
    /// `wsa:ReplyTo/wsa:Address`, when given.
    pub reply_to: Option<String>,
    /// `wsa:ReferenceParameters` children (sent as SOAP headers).
    pub reference_parameters: Vec<Element>,
    /// `wsa:Metadata` as written (UEP transport, QoS and timeout settings).
    pub metadata: Option<Element>,
    /// Where it was read from (file path, or `deploy.xml` for an inline EPR).
    pub source: String,
}

/// Why an EPR could not be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EprError {
    /// The file could not be read.
    #[error("endpoint reference file {path} cannot be read: {reason}")]
    Read {
        /// The resolved path.
        path: String,
        /// The OS error.
        reason: String,
    },
    /// The file is not well-formed XML.
    #[error("endpoint reference file {path}:{source}")]
    Xml {
        /// The resolved path.
        path: String,
        /// The parser's error.
        source: XmlError,
    },
    /// The root element is not a WS-Addressing EndpointReference.
    #[error("{path}: the root element is {found}; expected wsa:EndpointReference ({WSA_NS})")]
    NotEpr {
        /// Where.
        path: String,
        /// The element found.
        found: String,
    },
    /// No `wsa:Address`.
    #[error("{path}: the endpoint reference has no wsa:Address")]
    NoAddress {
        /// Where.
        path: String,
    },
}

fn is_wsa(ns: &str) -> bool {
    ns == WSA_NS || ns == WSA_2004_NS
}

/// True for a `wsa:EndpointReference` element (either namespace).
pub fn is_epr_element(e: &Element) -> bool {
    is_wsa(&e.name.ns) && e.name.local == "EndpointReference"
}

/// Reads an EPR from an element.
pub fn from_element(e: &Element, source: &str) -> Result<EndpointRef, EprError> {
    if !is_epr_element(e) {
        return Err(EprError::NotEpr {
            path: source.to_string(),
            found: e.name.to_string(),
        });
    }
    let child = |local: &str| {
        e.elements()
            .find(|c| is_wsa(&c.name.ns) && c.name.local == local)
    };
    let address = child("Address")
        .map(|a| a.text().trim().to_string())
        .filter(|a| !a.is_empty())
        .ok_or_else(|| EprError::NoAddress {
            path: source.to_string(),
        })?;
    let reply_to = child("ReplyTo")
        .and_then(|r| {
            r.elements()
                .find(|c| is_wsa(&c.name.ns) && c.name.local == "Address")
        })
        .map(|a| a.text().trim().to_string());
    let reference_parameters = child("ReferenceParameters")
        .map(|r| r.elements().cloned().collect())
        .unwrap_or_default();
    Ok(EndpointRef {
        address,
        reply_to,
        reference_parameters,
        metadata: child("Metadata").cloned(),
        source: source.to_string(),
    })
}

/// Where an `endpointReference` points: `conf:/name.epr` (server conf dir), `file:` or an
/// absolute path, or a path relative to the package.
pub fn resolve_path(reference: &str, package_dir: &Path, conf_dir: &Path) -> PathBuf {
    let reference = reference.trim();
    if let Some(rest) = reference.strip_prefix("conf:") {
        return conf_dir.join(rest.trim_start_matches('/'));
    }
    let reference = reference.strip_prefix("file:").unwrap_or(reference);
    let path = Path::new(reference);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        package_dir.join(path)
    }
}

/// Reads and parses an EPR file.
pub fn read(
    reference: &str,
    package_dir: &Path,
    conf_dir: &Path,
    limits: &Limits,
) -> Result<EndpointRef, EprError> {
    let path = resolve_path(reference, package_dir, conf_dir);
    let shown = path.display().to_string();
    let bytes = std::fs::read(&path).map_err(|e| EprError::Read {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    let root = xml::parse(&bytes, limits).map_err(|source| EprError::Xml {
        path: shown.clone(),
        source,
    })?;
    from_element(&root, &shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn reads_relative_conf_and_absolute_references() {
        let pkg = tempfile::tempdir().unwrap();
        let conf = tempfile::tempdir().unwrap();
        let epr = r#"<wsa:EndpointReference xmlns:wsa="http://www.w3.org/2005/08/addressing">
  <wsa:Address>http://partner:8080/svc</wsa:Address>
  <wsa:ReplyTo><wsa:Address>http://me/cb</wsa:Address></wsa:ReplyTo>
  <wsa:Metadata><id>x</id></wsa:Metadata>
</wsa:EndpointReference>"#;
        write(pkg.path(), "p.epr", epr);
        write(conf.path(), "g.epr", &epr.replace("partner", "global"));
        let l = Limits::default();
        let a = read("p.epr", pkg.path(), conf.path(), &l).unwrap();
        assert_eq!(a.address, "http://partner:8080/svc");
        assert_eq!(a.reply_to.as_deref(), Some("http://me/cb"));
        assert!(a.metadata.is_some());
        let b = read("conf:/g.epr", pkg.path(), conf.path(), &l).unwrap();
        assert_eq!(b.address, "http://global:8080/svc");
        let abs = pkg.path().join("p.epr").display().to_string();
        assert_eq!(
            read(&abs, Path::new("/nowhere"), conf.path(), &l).unwrap(),
            a
        );
    }

    #[test]
    fn old_namespace_and_errors() {
        let pkg = tempfile::tempdir().unwrap();
        write(
            pkg.path(),
            "old.epr",
            r#"<EndpointReference xmlns="http://schemas.xmlsoap.org/ws/2004/08/addressing"><Address>http://x/</Address></EndpointReference>"#,
        );
        write(
            pkg.path(),
            "noaddr.epr",
            r#"<EndpointReference xmlns="http://www.w3.org/2005/08/addressing"/>"#,
        );
        write(pkg.path(), "other.epr", "<a/>");
        let l = Limits::default();
        let c = pkg.path();
        assert_eq!(read("old.epr", c, c, &l).unwrap().address, "http://x/");
        assert!(matches!(
            read("noaddr.epr", c, c, &l),
            Err(EprError::NoAddress { .. })
        ));
        assert!(matches!(
            read("other.epr", c, c, &l),
            Err(EprError::NotEpr { .. })
        ));
        let missing = read("missing.epr", c, c, &l).unwrap_err();
        assert!(missing.to_string().contains("missing.epr"), "{missing}");
    }
}
