//! BPEL faults as the runtime raises and catches them.

use serde::{Deserialize, Serialize};

use bpelgate_wsdl::{Element, QName};

/// The WS-BPEL 2.0 executable namespace, where the standard faults live.
pub const BPEL_NS: &str = "http://docs.oasis-open.org/wsbpel/2.0/process/executable";

/// Fault data: what a catch's `faultMessageType` / `faultElement` is matched against.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FaultData {
    /// A WSDL message (from a throw of a message variable, a reply fault or an invoke fault):
    /// its type and its value in the engine's message form (`<message><part>..</part></message>`).
    Message {
        /// The message type.
        message_type: QName,
        /// The value.
        value: Element,
    },
    /// A single element (throw of an element variable).
    Element(Element),
}

/// A fault in flight.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    /// Its QName.
    pub name: QName,
    /// Its data, if any.
    pub data: Option<FaultData>,
    /// A human explanation, for logs, events and SOAP faultstrings (not part of BPEL semantics).
    pub explanation: String,
}

impl Fault {
    /// A standard WS-BPEL fault (`bpel:selectionFailure`, ...) with an explanation.
    pub fn standard(local: &str, explanation: impl Into<String>) -> Self {
        Fault {
            name: QName::new(BPEL_NS, local),
            data: None,
            explanation: explanation.into(),
        }
    }

    /// True when this is one of the WS-BPEL standard faults (for `exitOnStandardFault`).
    pub fn is_standard(&self) -> bool {
        self.name.ns == BPEL_NS
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.name)?;
        if !self.explanation.is_empty() {
            write!(f, ": {}", self.explanation)?;
        }
        Ok(())
    }
}
