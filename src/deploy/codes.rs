//! Operator-facing deployment error codes; each is described in `docs/errors/BG-DEPLOY.md`.

/// deploy.xml is missing or unreadable.
pub const DD_MISSING: &str = "BG-DEPLOY-001";
/// deploy.xml is not well-formed or its root is not `<deploy>` in the ODE namespace.
pub const DD_XML: &str = "BG-DEPLOY-002";
/// A deploy.xml value is invalid (QName, boolean, number, enumeration, missing attribute).
pub const DD_VALUE: &str = "BG-DEPLOY-003";
/// A process named in deploy.xml is not among the compiled processes.
pub const PROCESS_NOT_FOUND: &str = "BG-DEPLOY-004";
/// A partner link of provide/invoke does not exist or lacks the needed role.
pub const PARTNER_LINK: &str = "BG-DEPLOY-005";
/// A service or port is not defined by any WSDL of the package.
pub const SERVICE_NOT_FOUND: &str = "BG-DEPLOY-006";
/// The port's binding is for another portType than the partner link role.
pub const PORT_TYPE_MISMATCH: &str = "BG-DEPLOY-007";
/// An endpoint reference (EPR) file is missing or invalid.
pub const EPR: &str = "BG-DEPLOY-008";
/// The service is already provided by another deployed package.
pub const SERVICE_CONFLICT: &str = "BG-DEPLOY-009";
/// The compiler failed unexpectedly (a bug): the package is marked failed.
pub const INTERNAL: &str = "BG-DEPLOY-010";
/// The package version could not be recorded in the version store (a file system problem), or
/// a kept version could not be loaded at start-up.
pub const VERSION_STORE: &str = "BG-DEPLOY-011";
/// A warning: a deploy.xml element that is accepted (ODE packages deploy unchanged) but not
/// carried out by this version.
pub const NOT_SUPPORTED: &str = "BG-DEPLOY-012";
