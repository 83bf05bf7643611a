//! XML Schema: the subset BPEL compilation, variable initialisation and validation need.

use serde::{Deserialize, Serialize};

/// One schema document (a `.xsd` file or an inline `xsd:schema` of `wsdl:types`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// `targetNamespace` (empty when absent).
    pub target_namespace: String,
}
