//! `xsd:schema` element → [`Schema`].

use crate::error::Error;
use crate::xml::{Element, Limits, NsScope, Pos, QName, parse};

use super::model::*;

/// Parses a stand-alone schema document (`.xsd`). The root must be `xsd:schema`.
pub fn parse_schema_document(bytes: &[u8], file: &str) -> Result<Schema, Error> {
    let root = parse(bytes, &Limits::default()).map_err(|source| Error::Xml {
        file: file.to_owned(),
        source,
    })?;
    if !root.is(XSD_NS, "schema") {
        return Err(Error::invalid(
            file,
            root.pos,
            format!(
                "root element is <{}>, expected xsd:schema in namespace {XSD_NS}",
                root.name
            ),
        ));
    }
    parse_schema(&root, &NsScope::new(), file)
}

/// Parses an `xsd:schema` element. `outer` holds the namespace bindings in force around it
/// (those of the enclosing WSDL for an inline schema); the element's own are added here.
pub fn parse_schema(el: &Element, outer: &NsScope, file: &str) -> Result<Schema, Error> {
    parse_schema_impl(el, outer, file, None)
}

/// Parses a schema without `targetNamespace` that is included by a schema of namespace
/// `namespace` (a "chameleon" include): its components and its unqualified references take
/// that namespace.
pub fn parse_schema_chameleon(
    el: &Element,
    outer: &NsScope,
    file: &str,
    namespace: &str,
) -> Result<Schema, Error> {
    parse_schema_impl(el, outer, file, Some(namespace))
}

fn parse_schema_impl(
    el: &Element,
    outer: &NsScope,
    file: &str,
    chameleon: Option<&str>,
) -> Result<Schema, Error> {
    let own_tns = el.attr("targetNamespace").unwrap_or("").to_owned();
    let tns = match chameleon {
        Some(ns) if own_tns.is_empty() => ns.to_owned(),
        _ => own_tns,
    };
    let mut w = Walker {
        file,
        scope: outer.clone(),
        tns: tns.clone(),
        chameleon: chameleon.is_some(),
        element_q: el.attr("elementFormDefault") == Some("qualified"),
        attribute_q: el.attr("attributeFormDefault") == Some("qualified"),
    };
    w.scope.push(&el.ns_decls);
    let mut s = Schema {
        target_namespace: tns,
        file: file.to_owned(),
        pos: el.pos,
        element_form_qualified: w.element_q,
        attribute_form_qualified: w.attribute_q,
        ..Schema::default()
    };
    for c in el.elements().filter(|c| c.name.ns == XSD_NS) {
        w.scope.push(&c.ns_decls);
        let r = w.top_level(c, &mut s);
        w.scope.pop();
        r?;
    }
    Ok(s)
}

struct Walker<'a> {
    file: &'a str,
    scope: NsScope,
    tns: String,
    chameleon: bool,
    element_q: bool,
    attribute_q: bool,
}

impl Walker<'_> {
    fn err(&self, pos: Pos, message: impl Into<String>) -> Error {
        Error::invalid(self.file, pos, message)
    }

    fn enter<T>(
        &mut self,
        el: &Element,
        f: impl FnOnce(&mut Self) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.scope.push(&el.ns_decls);
        let r = f(self);
        self.scope.pop();
        r
    }

    fn resolve(&self, el: &Element, attr: &str, value: &str) -> Result<QName, Error> {
        let mut q = self.scope.resolve(value, true).map_err(|m| {
            self.err(
                el.pos,
                format!("attribute {attr} of <xsd:{}>: {m}", el.name.local),
            )
        })?;
        if self.chameleon && q.ns.is_empty() {
            q.ns = self.tns.clone();
        }
        Ok(q)
    }

    fn qname_attr(&self, el: &Element, attr: &str) -> Result<Option<QName>, Error> {
        el.attr(attr).map(|v| self.resolve(el, attr, v)).transpose()
    }

    fn name<'e>(&self, el: &'e Element) -> Result<&'e str, Error> {
        match el.attr("name").map(str::trim) {
            Some(n) if !n.is_empty() && !n.contains(':') => Ok(n),
            Some(n) => Err(self.err(
                el.pos,
                format!("<xsd:{}> has an invalid name '{n}'", el.name.local),
            )),
            None => Err(self.err(
                el.pos,
                format!("top-level <xsd:{}> needs a name attribute", el.name.local),
            )),
        }
    }

    fn global_name(&self, el: &Element) -> Result<QName, Error> {
        Ok(QName::new(self.tns.clone(), self.name(el)?))
    }

    fn flag(&self, el: &Element, attr: &str) -> Result<bool, Error> {
        match el.attr(attr).map(str::trim) {
            None | Some("false") | Some("0") => Ok(false),
            Some("true") | Some("1") => Ok(true),
            Some(v) => Err(self.err(
                el.pos,
                format!("attribute {attr}='{v}' must be true or false"),
            )),
        }
    }

    fn top_level(&mut self, c: &Element, s: &mut Schema) -> Result<(), Error> {
        match c.name.local.as_str() {
            "import" => s.imports.push(SchemaImport {
                namespace: c.attr("namespace").map(str::to_owned),
                location: c.attr("schemaLocation").map(str::to_owned),
                pos: c.pos,
            }),
            "include" | "redefine" => {
                let Some(loc) = c.attr("schemaLocation") else {
                    return Err(self.err(
                        c.pos,
                        format!("<xsd:{}> needs a schemaLocation attribute", c.name.local),
                    ));
                };
                s.includes.push(SchemaInclude {
                    location: loc.to_owned(),
                    pos: c.pos,
                });
            }
            "element" => {
                let name = self.global_name(c)?;
                let d = self.element_decl(c, name)?;
                s.elements.push(d);
            }
            "complexType" => {
                let name = self.global_name(c)?;
                let t = self.complex_type(c, Some(name))?;
                s.complex_types.push(t);
            }
            "simpleType" => {
                let name = self.global_name(c)?;
                let t = self.simple_type(c, Some(name))?;
                s.simple_types.push(t);
            }
            "attribute" => {
                let name = self.global_name(c)?;
                let a = self.attribute_decl(c, name)?;
                s.attributes.push(a);
            }
            "group" => {
                let name = self.global_name(c)?;
                let group = self.group_body(c)?.ok_or_else(|| {
                    self.err(
                        c.pos,
                        format!("group '{}' needs a sequence, choice or all", name.local),
                    )
                })?;
                s.groups.push(GroupDef {
                    name,
                    group,
                    pos: c.pos,
                });
            }
            "attributeGroup" => {
                let name = self.global_name(c)?;
                let mut attributes = Vec::new();
                let mut any = false;
                for a in c.elements() {
                    self.enter(a, |w| w.attribute_item(a, &mut attributes, &mut any))?;
                }
                s.attribute_groups.push(AttributeGroupDef {
                    name,
                    attributes,
                    pos: c.pos,
                });
            }
            _ => {}
        }
        Ok(())
    }

    fn element_decl(&mut self, el: &Element, name: QName) -> Result<ElementDecl, Error> {
        let type_def = if let Some(t) = self.qname_attr(el, "type")? {
            ElementType::Named(t)
        } else if let Some(ct) = el.child(XSD_NS, "complexType") {
            ElementType::Complex(Box::new(self.enter(ct, |w| w.complex_type(ct, None))?))
        } else if let Some(st) = el.child(XSD_NS, "simpleType") {
            ElementType::Simple(Box::new(self.enter(st, |w| w.simple_type(st, None))?))
        } else {
            ElementType::Unspecified
        };
        Ok(ElementDecl {
            name,
            type_def,
            nillable: self.flag(el, "nillable")?,
            is_abstract: self.flag(el, "abstract")?,
            substitution_group: self.qname_attr(el, "substitutionGroup")?,
            default: el.attr("default").map(str::to_owned),
            fixed: el.attr("fixed").map(str::to_owned),
            pos: el.pos,
        })
    }

    fn occurs(&self, el: &Element) -> Result<(u32, MaxOccurs), Error> {
        let min = match el.attr("minOccurs").map(str::trim) {
            None => 1,
            Some(v) => v.parse::<u32>().map_err(|_| {
                self.err(
                    el.pos,
                    format!("minOccurs='{v}' must be a non-negative integer"),
                )
            })?,
        };
        let max = match el.attr("maxOccurs").map(str::trim) {
            None => MaxOccurs::Bounded(1),
            Some("unbounded") => MaxOccurs::Unbounded,
            Some(v) => MaxOccurs::Bounded(v.parse::<u32>().map_err(|_| {
                self.err(
                    el.pos,
                    format!("maxOccurs='{v}' must be a non-negative integer or 'unbounded'"),
                )
            })?),
        };
        if let MaxOccurs::Bounded(m) = max
            && m < min
        {
            return Err(self.err(
                el.pos,
                format!("maxOccurs ({m}) is smaller than minOccurs ({min})"),
            ));
        }
        Ok((min, max))
    }

    /// A particle from a child of a model group or complex type, or None when `el` is not one.
    fn particle(&mut self, el: &Element) -> Result<Option<Particle>, Error> {
        if el.name.ns != XSD_NS {
            return Ok(None);
        }
        let term = match el.name.local.as_str() {
            "element" => {
                if let Some(r) = self.qname_attr(el, "ref")? {
                    Term::ElementRef(r)
                } else {
                    let local = self.name(el)?;
                    let qualified = match el.attr("form") {
                        Some(f) => f == "qualified",
                        None => self.element_q,
                    };
                    let ns = if qualified {
                        self.tns.clone()
                    } else {
                        String::new()
                    };
                    Term::Element(self.element_decl(el, QName::new(ns, local))?)
                }
            }
            "sequence" | "choice" | "all" => Term::Group(self.model_group(el)?),
            "group" => match self.qname_attr(el, "ref")? {
                Some(r) => Term::GroupRef(r),
                None => {
                    return Err(self.err(el.pos, "a local <xsd:group> needs a ref attribute"));
                }
            },
            "any" => Term::Any {
                namespace: el.attr("namespace").unwrap_or("##any").to_owned(),
                process_contents: el.attr("processContents").unwrap_or("strict").to_owned(),
            },
            _ => return Ok(None),
        };
        let (min_occurs, max_occurs) = self.occurs(el)?;
        Ok(Some(Particle {
            min_occurs,
            max_occurs,
            term,
        }))
    }

    fn model_group(&mut self, el: &Element) -> Result<ModelGroup, Error> {
        let compositor = match el.name.local.as_str() {
            "choice" => Compositor::Choice,
            "all" => Compositor::All,
            _ => Compositor::Sequence,
        };
        let mut particles = Vec::new();
        for c in el.elements() {
            if let Some(p) = self.enter(c, |w| w.particle(c))? {
                particles.push(p);
            }
        }
        Ok(ModelGroup {
            compositor,
            particles,
        })
    }

    /// The sequence/choice/all of a named group definition.
    fn group_body(&mut self, el: &Element) -> Result<Option<ModelGroup>, Error> {
        for c in el.elements().filter(|c| c.name.ns == XSD_NS) {
            if matches!(c.name.local.as_str(), "sequence" | "choice" | "all") {
                return self.enter(c, |w| w.model_group(c)).map(Some);
            }
        }
        Ok(None)
    }

    fn attribute_decl(&mut self, el: &Element, name: QName) -> Result<AttributeDecl, Error> {
        let simple_type = match el.child(XSD_NS, "simpleType") {
            Some(st) => Some(Box::new(self.enter(st, |w| w.simple_type(st, None))?)),
            None => None,
        };
        Ok(AttributeDecl {
            name,
            type_name: self.qname_attr(el, "type")?,
            simple_type,
            use_: self.attribute_use(el)?,
            default: el.attr("default").map(str::to_owned),
            fixed: el.attr("fixed").map(str::to_owned),
            pos: el.pos,
        })
    }

    fn attribute_use(&self, el: &Element) -> Result<AttributeUse, Error> {
        match el.attr("use").map(str::trim) {
            None | Some("optional") => Ok(AttributeUse::Optional),
            Some("required") => Ok(AttributeUse::Required),
            Some("prohibited") => Ok(AttributeUse::Prohibited),
            Some(v) => Err(self.err(
                el.pos,
                format!("use='{v}' must be optional, required or prohibited"),
            )),
        }
    }

    /// Adds `el` to `out` when it is an attribute, attribute group reference or anyAttribute.
    fn attribute_item(
        &mut self,
        el: &Element,
        out: &mut Vec<AttributeItem>,
        any: &mut bool,
    ) -> Result<(), Error> {
        if el.name.ns != XSD_NS {
            return Ok(());
        }
        match el.name.local.as_str() {
            "attribute" => {
                if let Some(r) = self.qname_attr(el, "ref")? {
                    out.push(AttributeItem::Ref {
                        name: r,
                        use_: self.attribute_use(el)?,
                    });
                } else {
                    let local = self.name(el)?;
                    let qualified = match el.attr("form") {
                        Some(f) => f == "qualified",
                        None => self.attribute_q,
                    };
                    let ns = if qualified {
                        self.tns.clone()
                    } else {
                        String::new()
                    };
                    let d = self.attribute_decl(el, QName::new(ns, local))?;
                    out.push(AttributeItem::Decl(d));
                }
            }
            "attributeGroup" => match self.qname_attr(el, "ref")? {
                Some(r) => out.push(AttributeItem::GroupRef(r)),
                None => {
                    return Err(
                        self.err(el.pos, "a local <xsd:attributeGroup> needs a ref attribute")
                    );
                }
            },
            "anyAttribute" => *any = true,
            _ => {}
        }
        Ok(())
    }

    fn complex_type(&mut self, el: &Element, name: Option<QName>) -> Result<ComplexType, Error> {
        let mut t = ComplexType {
            name,
            mixed: self.flag(el, "mixed")?,
            is_abstract: self.flag(el, "abstract")?,
            content: Content::Empty,
            attributes: Vec::new(),
            any_attribute: false,
            pos: el.pos,
        };
        for c in el.elements().filter(|c| c.name.ns == XSD_NS) {
            self.enter(c, |w| w.complex_type_child(c, &mut t))?;
        }
        Ok(t)
    }

    fn complex_type_child(&mut self, c: &Element, t: &mut ComplexType) -> Result<(), Error> {
        match c.name.local.as_str() {
            "sequence" | "choice" | "all" | "group" => {
                if let Some(p) = self.particle(c)? {
                    t.content = Content::Particle(p);
                }
            }
            "simpleContent" | "complexContent" => {
                let simple = c.name.local == "simpleContent";
                if !simple && self.flag(c, "mixed")? {
                    t.mixed = true;
                }
                let Some(d) = c
                    .elements()
                    .find(|d| d.is(XSD_NS, "extension") || d.is(XSD_NS, "restriction"))
                else {
                    return Err(self.err(
                        c.pos,
                        format!("<xsd:{}> needs an extension or restriction", c.name.local),
                    ));
                };
                self.enter(d, |w| w.derivation(d, simple, t))?;
            }
            _ => self.attribute_item(c, &mut t.attributes, &mut t.any_attribute)?,
        }
        Ok(())
    }

    fn derivation(&mut self, d: &Element, simple: bool, t: &mut ComplexType) -> Result<(), Error> {
        let derivation = if d.name.local == "extension" {
            Derivation::Extension
        } else {
            Derivation::Restriction
        };
        let base = self.qname_attr(d, "base")?.ok_or_else(|| {
            self.err(
                d.pos,
                format!("<xsd:{}> needs a base attribute", d.name.local),
            )
        })?;
        let mut particle = None;
        let mut facets = Facets::default();
        for c in d.elements().filter(|c| c.name.ns == XSD_NS) {
            self.enter(c, |w| {
                if !simple && let Some(p) = w.particle(c)? {
                    particle = Some(p);
                    return Ok(());
                }
                if simple && w.facet(c, &mut facets)? {
                    return Ok(());
                }
                w.attribute_item(c, &mut t.attributes, &mut t.any_attribute)
            })?;
        }
        t.content = if simple {
            Content::Simple {
                derivation,
                base,
                facets,
            }
        } else {
            Content::Complex {
                derivation,
                base,
                particle,
            }
        };
        Ok(())
    }

    /// Records `c` into `f` when it is a facet; false when it is not one.
    fn facet(&self, c: &Element, f: &mut Facets) -> Result<bool, Error> {
        let value = || c.attr("value").unwrap_or("").to_owned();
        let number = |what: &str| -> Result<u64, Error> {
            let v = c.attr("value").unwrap_or("").trim();
            v.parse::<u64>().map_err(|_| {
                self.err(
                    c.pos,
                    format!("{what} value '{v}' must be a non-negative integer"),
                )
            })
        };
        let small = |what: &str| -> Result<u32, Error> {
            number(what)?
                .try_into()
                .map_err(|_| self.err(c.pos, format!("{what} value is too large")))
        };
        match c.name.local.as_str() {
            "enumeration" => f.enumerations.push(value()),
            "pattern" => f.patterns.push(value()),
            "length" => f.length = Some(number("length")?),
            "minLength" => f.min_length = Some(number("minLength")?),
            "maxLength" => f.max_length = Some(number("maxLength")?),
            "minInclusive" => f.min_inclusive = Some(value()),
            "maxInclusive" => f.max_inclusive = Some(value()),
            "minExclusive" => f.min_exclusive = Some(value()),
            "maxExclusive" => f.max_exclusive = Some(value()),
            "totalDigits" => f.total_digits = Some(small("totalDigits")?),
            "fractionDigits" => f.fraction_digits = Some(small("fractionDigits")?),
            "whiteSpace" => f.white_space = Some(value()),
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn simple_type(&mut self, el: &Element, name: Option<QName>) -> Result<SimpleType, Error> {
        let any_simple = || QName::new(XSD_NS, "anySimpleType");
        let mut variety = None;
        for c in el.elements().filter(|c| c.name.ns == XSD_NS) {
            let v = self.enter(c, |w| match c.name.local.as_str() {
                "restriction" => {
                    let base = w.qname_attr(c, "base")?.unwrap_or_else(any_simple);
                    let mut facets = Facets::default();
                    for f in c.elements().filter(|f| f.name.ns == XSD_NS) {
                        w.facet(f, &mut facets)?;
                    }
                    Ok(Some(SimpleVariety::Restriction {
                        base,
                        facets: Box::new(facets),
                    }))
                }
                "list" => Ok(Some(SimpleVariety::List {
                    item_type: w.qname_attr(c, "itemType")?.unwrap_or_else(any_simple),
                })),
                "union" => {
                    let mut member_types = Vec::new();
                    for m in c.attr("memberTypes").unwrap_or("").split_whitespace() {
                        member_types.push(w.resolve(c, "memberTypes", m)?);
                    }
                    Ok(Some(SimpleVariety::Union { member_types }))
                }
                _ => Ok(None),
            })?;
            if v.is_some() {
                variety = v;
                break;
            }
        }
        let variety = variety.ok_or_else(|| {
            self.err(
                el.pos,
                "<xsd:simpleType> needs a restriction, list or union",
            )
        })?;
        Ok(SimpleType {
            name,
            variety,
            pos: el.pos,
        })
    }
}
