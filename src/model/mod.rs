//! The compiled process: immutable, serializable, ready for the runtime.

use serde::{Deserialize, Serialize};

use bpelgate_wsdl::QName;

/// A partner link as the deployment layer needs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerLink {
    /// Name, unique in the process.
    pub name: String,
    /// Its partnerLinkType.
    pub partner_link_type: QName,
    /// `myRole` name and its portType (resolved through the partnerLinkType).
    pub my_role: Option<(String, QName)>,
    /// `partnerRole` name and its portType.
    pub partner_role: Option<(String, QName)>,
}

/// A compiled process.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Process {
    /// `{targetNamespace}name`.
    pub name: QName,
    /// Package-relative path of the BPEL file.
    pub file: String,
    /// Every partner link declared in the process (process level and scopes).
    pub partner_links: Vec<PartnerLink>,
}
