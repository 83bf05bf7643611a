//! XML Schema components as data: the subset BPEL compilation, variable initialisation and the
//! SOAP mapping need. Names are already resolved to [`QName`]s.

use serde::{Deserialize, Serialize};

use crate::xml::{Pos, QName};

/// The XML Schema namespace.
pub const XSD_NS: &str = "http://www.w3.org/2001/XMLSchema";

/// `maxOccurs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MaxOccurs {
    /// A bound.
    Bounded(u32),
    /// `unbounded`.
    Unbounded,
}

impl Default for MaxOccurs {
    fn default() -> Self {
        MaxOccurs::Bounded(1)
    }
}

/// `xsd:import`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaImport {
    /// `namespace` (None: the imported components have no namespace).
    pub namespace: Option<String>,
    /// `schemaLocation`, as written.
    pub location: Option<String>,
    /// Where the import is written.
    pub pos: Pos,
}

/// `xsd:include` (or `xsd:redefine`, read as an include).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaInclude {
    /// `schemaLocation`, as written.
    pub location: String,
    /// Where the include is written.
    pub pos: Pos,
}

/// The type of an element declaration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ElementType {
    /// `type="qname"`.
    Named(QName),
    /// An anonymous `xsd:complexType` child.
    Complex(Box<ComplexType>),
    /// An anonymous `xsd:simpleType` child.
    Simple(Box<SimpleType>),
    /// Neither: the type of the substitution group head, or `xsd:anyType`.
    Unspecified,
}

/// `xsd:element` (top-level or local).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ElementDecl {
    /// Expanded name (local elements are in the target namespace only when qualified).
    pub name: QName,
    /// Its type.
    pub type_def: ElementType,
    /// `nillable="true"`.
    pub nillable: bool,
    /// `abstract="true"`.
    pub is_abstract: bool,
    /// `substitutionGroup`.
    pub substitution_group: Option<QName>,
    /// `default`.
    pub default: Option<String>,
    /// `fixed`.
    pub fixed: Option<String>,
    /// Where it is declared.
    pub pos: Pos,
}

/// Sequence, choice or all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Compositor {
    /// `xsd:sequence`.
    Sequence,
    /// `xsd:choice`.
    Choice,
    /// `xsd:all`.
    All,
}

/// A model group: a compositor over particles.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelGroup {
    /// The compositor.
    pub compositor: Compositor,
    /// Its particles in document order.
    pub particles: Vec<Particle>,
}

/// What a particle holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Term {
    /// A local element declaration.
    Element(ElementDecl),
    /// `xsd:element ref="qname"`.
    ElementRef(QName),
    /// A nested model group.
    Group(ModelGroup),
    /// `xsd:group ref="qname"`.
    GroupRef(QName),
    /// `xsd:any`.
    Any {
        /// `namespace` (`##any` when absent).
        namespace: String,
        /// `processContents` (`strict` when absent).
        process_contents: String,
    },
}

/// A term with its occurrence bounds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Particle {
    /// `minOccurs` (1 when absent).
    pub min_occurs: u32,
    /// `maxOccurs` (1 when absent).
    pub max_occurs: MaxOccurs,
    /// The term.
    pub term: Term,
}

/// `use` of an attribute.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttributeUse {
    /// `optional` (the default).
    #[default]
    Optional,
    /// `required`.
    Required,
    /// `prohibited`.
    Prohibited,
}

/// `xsd:attribute` declaration (top-level or local).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttributeDecl {
    /// Expanded name (local attributes are unqualified unless `form`/`attributeFormDefault` say so).
    pub name: QName,
    /// `type="qname"`.
    pub type_name: Option<QName>,
    /// An anonymous simple type.
    pub simple_type: Option<Box<SimpleType>>,
    /// `use`.
    pub use_: AttributeUse,
    /// `default`.
    pub default: Option<String>,
    /// `fixed`.
    pub fixed: Option<String>,
    /// Where it is declared.
    pub pos: Pos,
}

/// An attribute of a complex type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum AttributeItem {
    /// A local declaration.
    Decl(AttributeDecl),
    /// `xsd:attribute ref="qname"` with its `use`.
    Ref {
        /// The referenced global attribute.
        name: QName,
        /// `use`.
        use_: AttributeUse,
    },
    /// `xsd:attributeGroup ref="qname"`.
    GroupRef(QName),
}

/// Extension or restriction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Derivation {
    /// `xsd:extension`.
    Extension,
    /// `xsd:restriction`.
    Restriction,
}

/// The content model of a complex type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Content {
    /// No element content (attributes only).
    Empty,
    /// A particle directly in the type.
    Particle(Particle),
    /// `xsd:simpleContent`: text of type derived from `base`.
    Simple {
        /// Extension or restriction.
        derivation: Derivation,
        /// Base type.
        base: QName,
        /// Facets of a restriction.
        facets: Facets,
    },
    /// `xsd:complexContent`: derived from `base`, adding (extension) or restating (restriction) a particle.
    Complex {
        /// Extension or restriction.
        derivation: Derivation,
        /// Base type.
        base: QName,
        /// The particle the derivation writes, if any.
        particle: Option<Particle>,
    },
}

/// `xsd:complexType`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComplexType {
    /// Name (None for anonymous types).
    pub name: Option<QName>,
    /// `mixed="true"`.
    pub mixed: bool,
    /// `abstract="true"`.
    pub is_abstract: bool,
    /// Content model.
    pub content: Content,
    /// Attributes (those of a simpleContent/complexContent derivation included).
    pub attributes: Vec<AttributeItem>,
    /// `xsd:anyAttribute` present.
    pub any_attribute: bool,
    /// Where it is declared.
    pub pos: Pos,
}

/// Constraining facets of a simple type restriction.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facets {
    /// `xsd:enumeration` values.
    pub enumerations: Vec<String>,
    /// `xsd:pattern` values.
    pub patterns: Vec<String>,
    /// `xsd:length`.
    pub length: Option<u64>,
    /// `xsd:minLength`.
    pub min_length: Option<u64>,
    /// `xsd:maxLength`.
    pub max_length: Option<u64>,
    /// `xsd:minInclusive`.
    pub min_inclusive: Option<String>,
    /// `xsd:maxInclusive`.
    pub max_inclusive: Option<String>,
    /// `xsd:minExclusive`.
    pub min_exclusive: Option<String>,
    /// `xsd:maxExclusive`.
    pub max_exclusive: Option<String>,
    /// `xsd:totalDigits`.
    pub total_digits: Option<u32>,
    /// `xsd:fractionDigits`.
    pub fraction_digits: Option<u32>,
    /// `xsd:whiteSpace`.
    pub white_space: Option<String>,
}

/// How a simple type is built.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SimpleVariety {
    /// `xsd:restriction base=...` (an anonymous base is recorded as `xsd:anySimpleType`).
    Restriction {
        /// Base type.
        base: QName,
        /// Facets.
        facets: Box<Facets>,
    },
    /// `xsd:list itemType=...`.
    List {
        /// Item type (`xsd:anySimpleType` when given as an anonymous type).
        item_type: QName,
    },
    /// `xsd:union memberTypes=...`.
    Union {
        /// Member types named in `memberTypes` (anonymous members are not recorded).
        member_types: Vec<QName>,
    },
}

/// `xsd:simpleType`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimpleType {
    /// Name (None for anonymous types).
    pub name: Option<QName>,
    /// Derivation.
    pub variety: SimpleVariety,
    /// Where it is declared.
    pub pos: Pos,
}

/// A named model group (`xsd:group name=...`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupDef {
    /// Name.
    pub name: QName,
    /// Its model group.
    pub group: ModelGroup,
    /// Where it is declared.
    pub pos: Pos,
}

/// A named attribute group (`xsd:attributeGroup name=...`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttributeGroupDef {
    /// Name.
    pub name: QName,
    /// Its attributes.
    pub attributes: Vec<AttributeItem>,
    /// Where it is declared.
    pub pos: Pos,
}

/// One schema document (a `.xsd` file or an inline `xsd:schema` of `wsdl:types`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// `targetNamespace` (empty when absent).
    pub target_namespace: String,
    /// Package-relative path of the document that holds the schema.
    pub file: String,
    /// Where the `xsd:schema` element is.
    pub pos: Pos,
    /// `elementFormDefault="qualified"`.
    pub element_form_qualified: bool,
    /// `attributeFormDefault="qualified"`.
    pub attribute_form_qualified: bool,
    /// `xsd:import`s.
    pub imports: Vec<SchemaImport>,
    /// `xsd:include`s (and `xsd:redefine`s).
    pub includes: Vec<SchemaInclude>,
    /// Top-level element declarations.
    pub elements: Vec<ElementDecl>,
    /// Top-level complex types.
    pub complex_types: Vec<ComplexType>,
    /// Top-level simple types.
    pub simple_types: Vec<SimpleType>,
    /// Top-level attribute declarations.
    pub attributes: Vec<AttributeDecl>,
    /// Named model groups.
    pub groups: Vec<GroupDef>,
    /// Named attribute groups.
    pub attribute_groups: Vec<AttributeGroupDef>,
}

/// A type definition found by name.
#[derive(Clone, Debug, PartialEq)]
pub enum TypeDef<'a> {
    /// A complex type of some schema.
    Complex(&'a ComplexType),
    /// A simple type of some schema.
    Simple(&'a SimpleType),
    /// A built-in XML Schema type (see [`is_builtin`](super::is_builtin)).
    Builtin(QName),
}

impl Schema {
    /// The top-level element `name`.
    pub fn element(&self, name: &QName) -> Option<&ElementDecl> {
        self.elements.iter().find(|e| e.name == *name)
    }

    /// The named complex type `name`.
    pub fn complex_type(&self, name: &QName) -> Option<&ComplexType> {
        self.complex_types
            .iter()
            .find(|t| t.name.as_ref() == Some(name))
    }

    /// The named simple type `name`.
    pub fn simple_type(&self, name: &QName) -> Option<&SimpleType> {
        self.simple_types
            .iter()
            .find(|t| t.name.as_ref() == Some(name))
    }

    /// The complex or simple type `name` defined in this schema.
    pub fn type_def(&self, name: &QName) -> Option<TypeDef<'_>> {
        self.complex_type(name)
            .map(TypeDef::Complex)
            .or_else(|| self.simple_type(name).map(TypeDef::Simple))
    }

    /// The top-level attribute `name`.
    pub fn attribute(&self, name: &QName) -> Option<&AttributeDecl> {
        self.attributes.iter().find(|a| a.name == *name)
    }

    /// The named model group `name`.
    pub fn group(&self, name: &QName) -> Option<&GroupDef> {
        self.groups.iter().find(|g| g.name == *name)
    }

    /// The named attribute group `name`.
    pub fn attribute_group(&self, name: &QName) -> Option<&AttributeGroupDef> {
        self.attribute_groups.iter().find(|g| g.name == *name)
    }
}
