//! One WSDL 1.1 document → [`Definitions`].

use crate::error::Error;
use crate::xml::{Element, Limits, NsScope, Pos, QName, parse};
use crate::xsd::{self, XSD_NS};

use super::model::*;
use super::ns;

/// Parses a WSDL 1.1 document given as bytes; `file` is its package-relative path.
pub fn parse_wsdl(bytes: &[u8], file: &str) -> Result<Definitions, Error> {
    let root = parse(bytes, &Limits::default()).map_err(|source| Error::Xml {
        file: file.to_owned(),
        source,
    })?;
    parse_definitions(root, file)
}

/// Reads a parsed document whose root must be `wsdl:definitions`.
pub fn parse_definitions(root: Element, file: &str) -> Result<Definitions, Error> {
    check_root(&root, file)?;
    let mut w = Walker {
        file,
        scope: NsScope::new(),
    };
    w.scope.push(&root.ns_decls);
    let mut d = Definitions {
        file: file.to_owned(),
        target_namespace: root.attr("targetNamespace").unwrap_or("").trim().to_owned(),
        imports: Vec::new(),
        wsdl_imports: Vec::new(),
        messages: Vec::new(),
        port_types: Vec::new(),
        bindings: Vec::new(),
        services: Vec::new(),
        partner_link_types: Vec::new(),
        properties: Vec::new(),
        property_aliases: Vec::new(),
        schemas: Vec::new(),
        root: Element::new(QName::default()),
    };
    for c in root.elements() {
        w.scope.push(&c.ns_decls);
        let r = w.top_level(c, &mut d);
        w.scope.pop();
        r?;
    }
    check_unique(
        file,
        d.messages.iter().map(|m| (&m.name, &m.origin)),
        "message",
    )?;
    check_unique(
        file,
        d.port_types.iter().map(|m| (&m.name, &m.origin)),
        "portType",
    )?;
    check_unique(
        file,
        d.bindings.iter().map(|m| (&m.name, &m.origin)),
        "binding",
    )?;
    check_unique(
        file,
        d.services.iter().map(|m| (&m.name, &m.origin)),
        "service",
    )?;
    check_unique(
        file,
        d.partner_link_types.iter().map(|m| (&m.name, &m.origin)),
        "partnerLinkType",
    )?;
    check_unique(
        file,
        d.properties.iter().map(|m| (&m.name, &m.origin)),
        "property",
    )?;
    d.imports = d
        .wsdl_imports
        .iter()
        .map(|i| (i.namespace.clone(), i.location.clone()))
        .collect();
    d.root = root;
    Ok(d)
}

fn check_root(root: &Element, file: &str) -> Result<(), Error> {
    if root.is(ns::WSDL, "definitions") {
        return Ok(());
    }
    let message = if root.name.ns == ns::WSDL20 {
        "this is a WSDL 2.0 document; only WSDL 1.1 (wsdl:definitions in \
         http://schemas.xmlsoap.org/wsdl/) is supported"
            .to_owned()
    } else if root.name.local == "definitions" {
        format!(
            "root element <definitions> is in namespace '{}'; WSDL 1.1 requires \
             xmlns=\"{}\"",
            root.name.ns,
            ns::WSDL
        )
    } else if root.is(XSD_NS, "schema") {
        "this is an XML Schema document, not a WSDL document".to_owned()
    } else {
        format!(
            "root element is <{}>, expected wsdl:definitions in namespace {}",
            root.name,
            ns::WSDL
        )
    };
    Err(Error::invalid(file, root.pos, message))
}

fn check_unique<'a>(
    file: &str,
    items: impl Iterator<Item = (&'a QName, &'a Origin)>,
    what: &str,
) -> Result<(), Error> {
    let mut seen: Vec<&QName> = Vec::new();
    for (name, origin) in items {
        if seen.contains(&name) {
            return Err(Error::invalid(
                file,
                origin.pos,
                format!(
                    "{what} '{}' is defined twice in this document; rename or remove one",
                    name.local
                ),
            ));
        }
        seen.push(name);
    }
    Ok(())
}

struct Walker<'a> {
    file: &'a str,
    scope: NsScope,
}

impl Walker<'_> {
    fn err(&self, pos: Pos, message: impl Into<String>) -> Error {
        Error::invalid(self.file, pos, message)
    }

    fn origin(&self, el: &Element) -> Origin {
        Origin {
            file: self.file.to_owned(),
            pos: el.pos,
        }
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

    fn what(el: &Element) -> String {
        if el.prefix.is_empty() {
            format!("<{}>", el.name.local)
        } else {
            format!("<{}:{}>", el.prefix, el.name.local)
        }
    }

    fn qname_attr(&self, el: &Element, attr: &str) -> Result<Option<QName>, Error> {
        el.attr(attr)
            .map(|v| {
                self.scope.resolve(v, true).map_err(|m| {
                    self.err(
                        el.pos,
                        format!("attribute {attr} of {}: {m}", Self::what(el)),
                    )
                })
            })
            .transpose()
    }

    fn required_qname(&self, el: &Element, attr: &str) -> Result<QName, Error> {
        self.qname_attr(el, attr)?.ok_or_else(|| {
            self.err(
                el.pos,
                format!("{} needs a {attr} attribute", Self::what(el)),
            )
        })
    }

    fn ncname<'e>(&self, el: &'e Element, attr: &str) -> Result<&'e str, Error> {
        match el.attr(attr).map(str::trim) {
            Some(n) if !n.is_empty() && !n.contains(':') => Ok(n),
            Some(n) => Err(self.err(
                el.pos,
                format!(
                    "{attr}='{n}' of {} must be a name without prefix",
                    Self::what(el)
                ),
            )),
            None => Err(self.err(
                el.pos,
                format!("{} needs a {attr} attribute", Self::what(el)),
            )),
        }
    }

    fn top_level(&mut self, c: &Element, d: &mut Definitions) -> Result<(), Error> {
        let tns = d.target_namespace.clone();
        let qname = |n: &str| QName::new(tns.clone(), n);
        if c.name.ns == ns::WSDL {
            match c.name.local.as_str() {
                "import" => d.wsdl_imports.push(WsdlImport {
                    namespace: c.attr("namespace").unwrap_or("").trim().to_owned(),
                    location: c.attr("location").map(|l| l.trim().to_owned()),
                    pos: c.pos,
                }),
                "types" => {
                    for s in c.children_named(XSD_NS, "schema") {
                        d.schemas
                            .push(xsd::parse_schema(s, &self.scope, self.file)?);
                    }
                }
                "message" => {
                    let name = qname(self.ncname(c, "name")?);
                    let m = self.message(c, name)?;
                    d.messages.push(m);
                }
                "portType" => {
                    let name = qname(self.ncname(c, "name")?);
                    let p = self.port_type(c, name)?;
                    d.port_types.push(p);
                }
                "binding" => {
                    let name = qname(self.ncname(c, "name")?);
                    let b = self.binding(c, name)?;
                    d.bindings.push(b);
                }
                "service" => {
                    let name = qname(self.ncname(c, "name")?);
                    let s = self.service(c, name)?;
                    d.services.push(s);
                }
                _ => {}
            }
        } else if ns::is_plnk(&c.name.ns) && c.name.local == "partnerLinkType" {
            let name = qname(self.ncname(c, "name")?);
            let p = self.partner_link_type(c, name)?;
            d.partner_link_types.push(p);
        } else if ns::is_vprop(&c.name.ns) && c.name.local == "property" {
            let name = qname(self.ncname(c, "name")?);
            let p = self.property(c, name)?;
            d.properties.push(p);
        } else if ns::is_vprop(&c.name.ns) && c.name.local == "propertyAlias" {
            let a = self.property_alias(c)?;
            d.property_aliases.push(a);
        }
        Ok(())
    }

    fn message(&mut self, el: &Element, name: QName) -> Result<Message, Error> {
        let mut parts: Vec<Part> = Vec::new();
        for p in el.children_named(ns::WSDL, "part") {
            let part = self.enter(p, |w| {
                let pname = w.ncname(p, "name")?.to_owned();
                let kind = match (w.qname_attr(p, "element")?, w.qname_attr(p, "type")?) {
                    (Some(e), None) => PartKind::Element(e),
                    (None, Some(t)) => PartKind::Type(t),
                    (Some(_), Some(_)) => {
                        return Err(w.err(
                            p.pos,
                            format!(
                                "part '{pname}' of message '{}' has both element and type; keep one",
                                name.local
                            ),
                        ));
                    }
                    (None, None) => {
                        return Err(w.err(
                            p.pos,
                            format!(
                                "part '{pname}' of message '{}' needs an element or a type attribute",
                                name.local
                            ),
                        ));
                    }
                };
                Ok(Part { name: pname, kind })
            })?;
            if parts.iter().any(|q| q.name == part.name) {
                return Err(self.err(
                    p.pos,
                    format!(
                        "message '{}' has two parts named '{}'",
                        name.local, part.name
                    ),
                ));
            }
            parts.push(part);
        }
        Ok(Message {
            name,
            parts,
            origin: self.origin(el),
        })
    }

    fn port_type(&mut self, el: &Element, name: QName) -> Result<PortType, Error> {
        let mut operations: Vec<Operation> = Vec::new();
        for o in el.children_named(ns::WSDL, "operation") {
            let op = self.enter(o, |w| w.operation(o, &name))?;
            // WSDL 1.1 allows overloading by message names, but BPEL names operations by name
            // alone, so an overloaded operation could never be addressed.
            if operations.iter().any(|p| p.name == op.name) {
                return Err(self.err(
                    o.pos,
                    format!(
                        "portType '{}' declares operation '{}' twice; BPEL cannot tell overloaded \
                         operations apart",
                        name.local, op.name
                    ),
                ));
            }
            operations.push(op);
        }
        Ok(PortType {
            name,
            operations,
            origin: self.origin(el),
        })
    }

    fn operation(&mut self, o: &Element, pt: &QName) -> Result<Operation, Error> {
        let name = self.ncname(o, "name")?.to_owned();
        let mut input = None;
        let mut output = None;
        let mut input_first = None;
        let mut faults: Vec<FaultRef> = Vec::new();
        for c in o.elements().filter(|c| c.name.ns == ns::WSDL) {
            self.enter(c, |w| {
                match c.name.local.as_str() {
                    "input" | "output" => {
                        let m = w.required_qname(c, "message")?;
                        let is_input = c.name.local == "input";
                        let slot = if is_input { &mut input } else { &mut output };
                        if slot.is_some() {
                            return Err(w.err(
                                c.pos,
                                format!(
                                    "operation '{name}' of portType '{}' has two <{}> elements",
                                    pt.local, c.name.local
                                ),
                            ));
                        }
                        *slot = Some(m);
                        input_first.get_or_insert(is_input);
                    }
                    "fault" => {
                        let fname = w.ncname(c, "name")?.to_owned();
                        let message = w.required_qname(c, "message")?;
                        if faults.iter().any(|f| f.name == fname) {
                            return Err(w.err(
                                c.pos,
                                format!("operation '{name}' declares fault '{fname}' twice"),
                            ));
                        }
                        faults.push(FaultRef {
                            name: fname,
                            message,
                        });
                    }
                    _ => {}
                }
                Ok(())
            })?;
        }
        let shape = match (input.is_some(), output.is_some(), input_first) {
            (true, false, _) => OperationShape::OneWay,
            (true, true, Some(true)) => OperationShape::RequestResponse,
            (true, true, _) => OperationShape::SolicitResponse,
            (false, true, _) => OperationShape::Notification,
            (false, false, _) => {
                return Err(self.err(
                    o.pos,
                    format!(
                        "operation '{name}' of portType '{}' has neither <input> nor <output>",
                        pt.local
                    ),
                ));
            }
        };
        Ok(Operation {
            name,
            input,
            output,
            faults,
            shape,
            origin: self.origin(o),
        })
    }

    fn style(&self, el: &Element) -> Result<Option<Style>, Error> {
        match el.attr("style").map(str::trim) {
            None => Ok(None),
            Some("document") => Ok(Some(Style::Document)),
            Some("rpc") => Ok(Some(Style::Rpc)),
            Some(s) => Err(self.err(el.pos, format!("style='{s}' must be 'document' or 'rpc'"))),
        }
    }

    fn binding(&mut self, el: &Element, name: QName) -> Result<Binding, Error> {
        let port_type = self.required_qname(el, "type")?;
        let mut kind = BindingKind::Other;
        for c in el.elements() {
            let k = match c.name.ns.as_str() {
                ns::SOAP11 | ns::SOAP12 if c.name.local == "binding" => BindingKind::Soap {
                    version: if c.name.ns == ns::SOAP11 {
                        SoapVersion::Soap11
                    } else {
                        SoapVersion::Soap12
                    },
                    style: self.style(c)?.unwrap_or(Style::Document),
                },
                ns::HTTP if c.name.local == "binding" => BindingKind::Http {
                    verb: c.attr("verb").unwrap_or("POST").trim().to_owned(),
                },
                _ => continue,
            };
            if kind != BindingKind::Other {
                return Err(self.err(
                    c.pos,
                    format!(
                        "binding '{}' has more than one protocol binding element",
                        name.local
                    ),
                ));
            }
            kind = k;
        }
        let mut operations: Vec<BindingOperation> = Vec::new();
        for o in el.children_named(ns::WSDL, "operation") {
            let op = self.enter(o, |w| w.binding_operation(o))?;
            if operations.iter().any(|p| p.name == op.name) {
                return Err(self.err(
                    o.pos,
                    format!(
                        "binding '{}' binds operation '{}' twice",
                        name.local, op.name
                    ),
                ));
            }
            operations.push(op);
        }
        Ok(Binding {
            name,
            port_type,
            kind,
            operations,
            origin: self.origin(el),
        })
    }

    fn binding_operation(&mut self, o: &Element) -> Result<BindingOperation, Error> {
        let mut op = BindingOperation {
            name: self.ncname(o, "name")?.to_owned(),
            soap_action: None,
            style: None,
            input: BoundMessage::default(),
            output: BoundMessage::default(),
            faults: Vec::new(),
            http_location: None,
        };
        for c in o.elements() {
            match (c.name.ns.as_str(), c.name.local.as_str()) {
                (ns::SOAP11 | ns::SOAP12, "operation") => {
                    op.soap_action = c.attr("soapAction").map(str::to_owned);
                    op.style = self.style(c)?;
                }
                (ns::HTTP, "operation") => {
                    op.http_location = c.attr("location").map(str::to_owned);
                }
                (ns::WSDL, "input") => op.input = self.enter(c, |w| w.bound_message(c))?,
                (ns::WSDL, "output") => op.output = self.enter(c, |w| w.bound_message(c))?,
                (ns::WSDL, "fault") => op.faults.push(self.ncname(c, "name")?.to_owned()),
                _ => {}
            }
        }
        Ok(op)
    }

    fn bound_message(&mut self, el: &Element) -> Result<BoundMessage, Error> {
        let mut m = BoundMessage::default();
        for c in el
            .elements()
            .filter(|c| c.name.ns == ns::SOAP11 || c.name.ns == ns::SOAP12)
        {
            self.enter(c, |w| {
                match c.name.local.as_str() {
                    "body" => {
                        m.body_parts = c
                            .attr("parts")
                            .map(|p| p.split_whitespace().map(str::to_owned).collect());
                        m.namespace = c.attr("namespace").map(|n| n.trim().to_owned());
                        m.encoded = c.attr("use").map(str::trim) == Some("encoded");
                    }
                    "header" => {
                        let message = w.required_qname(c, "message")?;
                        let part = w.ncname(c, "part")?.to_owned();
                        m.headers.push((message, part));
                    }
                    _ => {}
                }
                Ok(())
            })?;
        }
        Ok(m)
    }

    fn service(&mut self, el: &Element, name: QName) -> Result<Service, Error> {
        let mut ports: Vec<Port> = Vec::new();
        for p in el.children_named(ns::WSDL, "port") {
            let port = self.enter(p, |w| {
                let address = p
                    .elements()
                    .find(|a| {
                        a.name.local == "address"
                            && matches!(a.name.ns.as_str(), ns::SOAP11 | ns::SOAP12 | ns::HTTP)
                    })
                    .and_then(|a| a.attr("location"))
                    .map(|l| l.trim().to_owned());
                Ok(Port {
                    name: w.ncname(p, "name")?.to_owned(),
                    binding: w.required_qname(p, "binding")?,
                    address,
                    origin: w.origin(p),
                })
            })?;
            if ports.iter().any(|q| q.name == port.name) {
                return Err(self.err(
                    p.pos,
                    format!(
                        "service '{}' has two ports named '{}'",
                        name.local, port.name
                    ),
                ));
            }
            ports.push(port);
        }
        Ok(Service {
            name,
            ports,
            origin: self.origin(el),
        })
    }

    fn partner_link_type(&mut self, el: &Element, name: QName) -> Result<PartnerLinkType, Error> {
        let mut roles: Vec<Role> = Vec::new();
        for r in el
            .elements()
            .filter(|r| r.name.ns == el.name.ns && r.name.local == "role")
        {
            let role = self.enter(r, |w| {
                let rname = w.ncname(r, "name")?.to_owned();
                // WS-BPEL 2.0 puts the portType on the role; the older drafts nest
                // <plnk:portType name="..."/> inside it.
                let port_type = match w.qname_attr(r, "portType")? {
                    Some(pt) => pt,
                    None => match r
                        .elements()
                        .find(|c| c.name.ns == r.name.ns && c.name.local == "portType")
                    {
                        Some(c) => w.enter(c, |w| w.required_qname(c, "name"))?,
                        None => {
                            return Err(w.err(
                                r.pos,
                                format!(
                                    "role '{rname}' of partnerLinkType '{}' needs a portType",
                                    name.local
                                ),
                            ));
                        }
                    },
                };
                Ok(Role {
                    name: rname,
                    port_type,
                })
            })?;
            if roles.iter().any(|q| q.name == role.name) {
                return Err(self.err(
                    r.pos,
                    format!(
                        "partnerLinkType '{}' has two roles named '{}'",
                        name.local, role.name
                    ),
                ));
            }
            roles.push(role);
        }
        if roles.is_empty() || roles.len() > 2 {
            return Err(self.err(
                el.pos,
                format!(
                    "partnerLinkType '{}' has {} roles; it must have one or two",
                    name.local,
                    roles.len()
                ),
            ));
        }
        Ok(PartnerLinkType {
            name,
            roles,
            origin: self.origin(el),
        })
    }

    fn property(&mut self, el: &Element, name: QName) -> Result<Property, Error> {
        let kind = match (
            self.qname_attr(el, "type")?,
            self.qname_attr(el, "element")?,
        ) {
            (Some(t), None) => PartKind::Type(t),
            (None, Some(e)) => PartKind::Element(e),
            (Some(_), Some(_)) => {
                return Err(self.err(
                    el.pos,
                    format!(
                        "property '{}' has both type and element; keep one",
                        name.local
                    ),
                ));
            }
            (None, None) => {
                return Err(self.err(
                    el.pos,
                    format!(
                        "property '{}' needs a type or an element attribute",
                        name.local
                    ),
                ));
            }
        };
        Ok(Property {
            name,
            kind,
            origin: self.origin(el),
        })
    }

    fn property_alias(&mut self, el: &Element) -> Result<PropertyAlias, Error> {
        let property = self.required_qname(el, "propertyName")?;
        let message = self.qname_attr(el, "messageType")?;
        let element = self.qname_attr(el, "element")?;
        let type_ = self.qname_attr(el, "type")?;
        let target = match (message, element, type_) {
            (Some(message), None, None) => AliasTarget::MessagePart {
                message,
                part: el.attr("part").unwrap_or("").trim().to_owned(),
            },
            (None, Some(e), None) => AliasTarget::Element(e),
            (None, None, Some(t)) => AliasTarget::Type(t),
            (None, None, None) => {
                return Err(self.err(
                    el.pos,
                    format!(
                        "propertyAlias for '{}' needs messageType (with part), element or type",
                        property.local
                    ),
                ));
            }
            _ => {
                return Err(self.err(
                    el.pos,
                    format!(
                        "propertyAlias for '{}' may use only one of messageType, element and type",
                        property.local
                    ),
                ));
            }
        };
        let query = if let Some(q) = el
            .elements()
            .find(|q| q.name.local == "query" && ns::is_vprop(&q.name.ns))
        {
            self.scope.push(&q.ns_decls);
            let query = AliasQuery {
                language: q
                    .attr("queryLanguage")
                    .map(|l| l.trim().to_owned())
                    .filter(|l| !l.is_empty()),
                text: q.text().trim().to_owned(),
                namespaces: self.scope.in_scope(),
            };
            self.scope.pop();
            Some(query)
        } else {
            // BPEL4WS 1.1 wrote the query as an attribute.
            el.attr("query").map(|text| AliasQuery {
                language: None,
                text: text.trim().to_owned(),
                namespaces: self.scope.in_scope(),
            })
        };
        Ok(PropertyAlias {
            property,
            target,
            query: query.filter(|q| !q.text.is_empty()),
            origin: self.origin(el),
        })
    }
}
