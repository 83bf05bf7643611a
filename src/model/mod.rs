//! The compiled process: immutable, serializable, ready for the runtime.
//!
//! A process is a set of arenas (activities, scopes, variables, links, partner links, correlation
//! sets, message exchanges, expressions) addressed by typed `u32` ids. Every name the author wrote
//! is resolved to an id at compile time, so the runtime never looks a name up and an instance's
//! state can refer to any part of the process by a small copyable id.

mod activity;
mod decl;
mod expr;

use serde::{Deserialize, Serialize};

use bpelgate_wsdl::QName;

pub use activity::*;
pub use bpelgate_wsdl::{Element, Pos};
pub use decl::*;
pub use expr::*;

/// Version of the serialized form; bump it whenever a serialized [`Process`] changes shape.
pub const FORMAT_VERSION: u32 = 1;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub u32);

        impl $name {
            /// The position of this id in its arena.
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    };
}

id_type!(
    /// Index of an [`ActivityNode`] in [`Process::activities`].
    ActivityId
);
id_type!(
    /// Index of a [`ScopeDecl`] in [`Process::scopes`]; `ScopeId(0)` is the process.
    ScopeId
);
id_type!(
    /// Index of a [`VariableDecl`] in [`Process::variables`].
    VariableId
);
id_type!(
    /// Index of a [`LinkDecl`] in [`Process::links`].
    LinkId
);
id_type!(
    /// Index of a [`PartnerLink`] in [`Process::partner_links`].
    PartnerLinkId
);
id_type!(
    /// Index of a [`CorrelationSet`] in [`Process::correlation_sets`].
    CorrelationSetId
);
id_type!(
    /// Index of a [`MessageExchangeDecl`] in [`Process::message_exchanges`].
    MessageExchangeId
);
id_type!(
    /// Index of an [`ExprDecl`] in [`Process::exprs`].
    ExprId
);

impl ScopeId {
    /// The process itself, the outermost scope.
    pub const PROCESS: ScopeId = ScopeId(0);
}

/// The BPEL namespace a process was written in; it decides dialect-specific semantics
/// (e.g. `bpws:getVariableData` in BPEL4WS 1.1 expressions).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Dialect {
    /// WS-BPEL 2.0 OASIS standard.
    Bpel20,
    /// The 2004/03 pre-OASIS draft.
    Bpel20Draft,
    /// BPEL4WS 1.1.
    Bpel11,
}

/// A declared `<extension>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    /// The extension namespace.
    pub namespace: String,
    /// `mustUnderstand="yes"`.
    pub must_understand: bool,
}

/// A partner link, with its role portTypes resolved through the partnerLinkType.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerLink {
    /// Name (unique within its declaring scope; scopes may shadow an outer one).
    pub name: String,
    /// Its partnerLinkType.
    pub partner_link_type: QName,
    /// `myRole` name and its portType (resolved through the partnerLinkType).
    pub my_role: Option<(String, QName)>,
    /// `partnerRole` name and its portType.
    pub partner_role: Option<(String, QName)>,
    /// Its id (position in [`Process::partner_links`]).
    pub id: PartnerLinkId,
    /// The scope that declares it.
    pub scope: ScopeId,
    /// `initializePartnerRole` as written (None = engine default).
    pub initialize_partner_role: Option<bool>,
    /// Where it is declared.
    pub pos: Pos,
}

/// A compiled process.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Process {
    /// [`FORMAT_VERSION`] at the time this value was built.
    pub format_version: u32,
    /// `{targetNamespace}name`.
    pub name: QName,
    /// Package-relative path of the BPEL file.
    pub file: String,
    /// Every partner link declared in the process (process level and scopes), by [`PartnerLinkId`].
    pub partner_links: Vec<PartnerLink>,
    /// The BPEL namespace the source used.
    pub dialect: Dialect,
    /// Effective default expression language of the process.
    pub expression_language: String,
    /// Effective default query language of the process.
    pub query_language: String,
    /// Declared `<extensions>`.
    pub extensions: Vec<Extension>,
    /// Foreign attributes of `<process>` (e.g. ODE's `atomic`), as (name, value).
    pub extension_attributes: Vec<(QName, String)>,
    /// Every activity, by [`ActivityId`]; parents come before their children.
    pub activities: Vec<ActivityNode>,
    /// Every scope, by [`ScopeId`]; `scopes[0]` is the process.
    pub scopes: Vec<ScopeDecl>,
    /// Every variable (declared, and implicit ones of onEvent, forEach and catch), by [`VariableId`].
    pub variables: Vec<VariableDecl>,
    /// Every link of every flow, by [`LinkId`].
    pub links: Vec<LinkDecl>,
    /// Every correlation set, by [`CorrelationSetId`].
    pub correlation_sets: Vec<CorrelationSet>,
    /// Every message exchange, by [`MessageExchangeId`].
    pub message_exchanges: Vec<MessageExchangeDecl>,
    /// Every expression and query, by [`ExprId`].
    pub exprs: Vec<ExprDecl>,
    /// Receives and picks with `createInstance="yes"`, in document order.
    pub start_activities: Vec<ActivityId>,
    /// Compiled with `ode-compat`: run the constructs Apache ODE accepts against WS-BPEL static
    /// analysis the way ODE runs them (a whole-message copy between different message types
    /// copies the message element; docs/decisions/002-static-analysis-spec-first.md). Serialized
    /// only when set, so processes stored before it existed still read.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ode_compat: bool,
}

impl Process {
    /// A process with no declarations and no activities: the starting point of lowering, and a
    /// stand-in for deployment tests that do not compile BPEL.
    pub fn empty(name: QName, file: impl Into<String>, dialect: Dialect) -> Self {
        Process {
            format_version: FORMAT_VERSION,
            name,
            file: file.into(),
            partner_links: Vec::new(),
            dialect,
            expression_language: XPATH_1_0.to_owned(),
            query_language: XPATH_1_0.to_owned(),
            extensions: Vec::new(),
            extension_attributes: Vec::new(),
            activities: Vec::new(),
            scopes: Vec::new(),
            variables: Vec::new(),
            links: Vec::new(),
            correlation_sets: Vec::new(),
            message_exchanges: Vec::new(),
            exprs: Vec::new(),
            start_activities: Vec::new(),
            ode_compat: false,
        }
    }

    /// The activity `id`. Ids come from this process, so an unknown id is a bug and panics.
    pub fn activity(&self, id: ActivityId) -> &ActivityNode {
        &self.activities[id.index()]
    }

    /// The scope `id` (panics on an id not from this process).
    pub fn scope(&self, id: ScopeId) -> &ScopeDecl {
        &self.scopes[id.index()]
    }

    /// The variable `id` (panics on an id not from this process).
    pub fn variable(&self, id: VariableId) -> &VariableDecl {
        &self.variables[id.index()]
    }

    /// The link `id` (panics on an id not from this process).
    pub fn link(&self, id: LinkId) -> &LinkDecl {
        &self.links[id.index()]
    }

    /// The partner link `id` (panics on an id not from this process).
    pub fn partner_link(&self, id: PartnerLinkId) -> &PartnerLink {
        &self.partner_links[id.index()]
    }

    /// The correlation set `id` (panics on an id not from this process).
    pub fn correlation_set(&self, id: CorrelationSetId) -> &CorrelationSet {
        &self.correlation_sets[id.index()]
    }

    /// The message exchange `id` (panics on an id not from this process).
    pub fn message_exchange(&self, id: MessageExchangeId) -> &MessageExchangeDecl {
        &self.message_exchanges[id.index()]
    }

    /// The expression `id` (panics on an id not from this process).
    pub fn expr(&self, id: ExprId) -> &ExprDecl {
        &self.exprs[id.index()]
    }

    /// The process scope (`scopes[0]`).
    pub fn process_scope(&self) -> &ScopeDecl {
        self.scope(ScopeId::PROCESS)
    }

    /// The primary activity of the process (None only for a process built without one).
    pub fn main_activity(&self) -> Option<ActivityId> {
        self.scopes.first().and_then(|s| s.body)
    }

    /// Enclosing scopes of `scope`, innermost first, `scope` itself included.
    pub fn scope_chain(&self, scope: ScopeId) -> impl Iterator<Item = &ScopeDecl> {
        std::iter::successors(self.scopes.get(scope.index()), |s| {
            s.parent.and_then(|p| self.scopes.get(p.index()))
        })
    }

    /// Resolves a variable name as seen from `scope` (innermost declaration wins).
    pub fn find_variable(&self, scope: ScopeId, name: &str) -> Option<VariableId> {
        self.scope_chain(scope).find_map(|s| {
            s.variables.iter().copied().find(|v| {
                self.variables
                    .get(v.index())
                    .is_some_and(|d| d.name == name)
            })
        })
    }

    /// The activity named `name`, if any (first in document order).
    pub fn find_activity(&self, name: &str) -> Option<ActivityId> {
        self.activities
            .iter()
            .find(|a| a.name.as_deref() == Some(name))
            .map(|a| a.id)
    }
}
