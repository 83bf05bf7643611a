//! `<assign>`: copy operations and the from-spec / to-spec variants (WS-BPEL 2.0 section 8.4).

use bpelgate_wsdl::xml::{Element, Node};

use super::super::ast::{Assign, AssignOperation, Copy, Expr, From, FromSpec, To, ToSpec};
use super::Parser;

/// Code for a from-spec or to-spec that is none of the allowed variants.
const SA00032: &str = "SA00032";

/// What a `<from>` or `<to>` element holds, before choosing the variant.
struct SpecParts {
    variable: Option<String>,
    part: Option<String>,
    property: Option<String>,
    partner_link: Option<String>,
    endpoint_reference: Option<String>,
    query: Option<Expr>,
    /// Expression text (element text or the legacy `expression` attribute).
    expression: Option<Expr>,
    /// `<literal>` (or, in the older dialects, the from element itself when it holds a value).
    literal: Option<Element>,
    /// Extension attributes.
    foreign_attrs: Vec<(bpelgate_wsdl::QName, String)>,
}

impl Parser<'_> {
    pub(super) fn assign(&mut self, el: &Element, rest: Vec<&Element>) -> Assign {
        let validate = self.bool_attr(el, "validate").unwrap_or(false);
        let mut operations = Vec::new();
        for c in rest {
            match c.name.local.as_str() {
                "copy" => {
                    let cp = self.within(c, |p| p.copy(c));
                    operations.push(AssignOperation::Copy(cp));
                }
                "extensionAssignOperation" if !self.is11() => {
                    if let Some(x) = self.within(c, |p| p.extension_assign(c)) {
                        operations.push(AssignOperation::Extension(x));
                    }
                }
                _ => self.unexpected(c, el),
            }
        }
        if operations.is_empty() {
            self.error(el.pos, "<assign> must contain at least one <copy>");
        }
        Assign {
            validate,
            operations,
        }
    }

    fn extension_assign(&mut self, el: &Element) -> Option<Element> {
        self.check_attrs(el, &[]);
        let mut ext = Vec::new();
        for c in self.bpel_children(el, Some(&mut ext)) {
            self.unexpected(c, el);
        }
        if ext.len() != 1 {
            self.error(
                el.pos,
                format!(
                    "<extensionAssignOperation> must contain exactly one element from an extension namespace (found {})",
                    ext.len()
                ),
            );
        }
        ext.into_iter().next()
    }

    fn copy(&mut self, el: &Element) -> Copy {
        let allowed: &[&str] = if self.is11() {
            &[]
        } else {
            &["keepSrcElementName", "ignoreMissingFromData"]
        };
        let foreign_attrs = self.check_attrs(el, allowed);
        let keep_src_element_name = self.bool_attr(el, "keepSrcElementName").unwrap_or(false);
        let ignore_missing_from_data = self.bool_attr(el, "ignoreMissingFromData").unwrap_or(false);
        let mut from = None;
        let mut to = None;
        for c in self.bpel_children(el, None) {
            match c.name.local.as_str() {
                "from" => {
                    if from.is_some() {
                        self.duplicate(c, el);
                        continue;
                    }
                    if to.is_some() && self.is20() {
                        self.warn(c.pos, "<from> is out of place: it must come before <to>");
                    }
                    from = Some(self.read_from(c));
                }
                "to" => {
                    if to.is_some() {
                        self.duplicate(c, el);
                        continue;
                    }
                    to = Some(self.read_to(c));
                }
                _ => self.unexpected(c, el),
            }
        }
        let from = from.unwrap_or_else(|| {
            self.error(el.pos, "<copy> must contain a <from>");
            From {
                spec: FromSpec::Empty,
                foreign_attrs: Vec::new(),
                pos: el.pos,
            }
        });
        let to = to.unwrap_or_else(|| {
            self.error(el.pos, "<copy> must contain a <to>");
            To {
                spec: ToSpec::Empty,
                foreign_attrs: Vec::new(),
                pos: el.pos,
            }
        });
        Copy {
            keep_src_element_name,
            ignore_missing_from_data,
            from,
            to,
            foreign_attrs,
            pos: el.pos,
        }
    }

    /// A `<from>` (in a copy or a variable declaration).
    pub(super) fn read_from(&mut self, el: &Element) -> From {
        self.within(el, |p| {
            let mut parts = p.spec_parts(el, true);
            let foreign_attrs = std::mem::take(&mut parts.foreign_attrs);
            From {
                spec: p.choose_from(el, parts),
                foreign_attrs,
                pos: el.pos,
            }
        })
    }

    fn read_to(&mut self, el: &Element) -> To {
        self.within(el, |p| {
            let mut parts = p.spec_parts(el, false);
            let foreign_attrs = std::mem::take(&mut parts.foreign_attrs);
            To {
                spec: p.choose_to(el, parts),
                foreign_attrs,
                pos: el.pos,
            }
        })
    }

    /// Reads every attribute and child a from/to may carry, reporting schema problems.
    fn spec_parts(&mut self, el: &Element, is_from: bool) -> SpecParts {
        let mut allowed = vec!["variable", "part", "property", "partnerLink", "query"];
        if is_from {
            allowed.push("endpointReference");
        }
        if !self.is11() {
            allowed.push("expressionLanguage");
        }
        if self.legacy() && (is_from || !self.is11()) {
            allowed.push("expression");
        }
        let foreign_attrs = self.check_attrs(el, &allowed);
        if self.is20() && el.attr("query").is_some() {
            self.warn(
                el.pos,
                format!(
                    "attribute 'query' on <{}> is the BPEL4WS 1.1 spelling and is ignored in WS-BPEL 2.0 (as Apache ODE does): use a <query> child",
                    el.name.local
                ),
            );
        }
        let mut parts = SpecParts {
            variable: self.optional(el, "variable"),
            part: self.optional(el, "part"),
            property: self.optional(el, "property"),
            partner_link: self.optional(el, "partnerLink"),
            endpoint_reference: self.optional(el, "endpointReference"),
            // WS-BPEL 2.0 has no `query` attribute; Apache ODE's 2.0 model never reads it, so
            // processes written against ODE carry stale ones (even with undeclared prefixes).
            query: if self.is20() {
                None
            } else {
                self.expr_attr(el, "query")
            },
            expression: if self.legacy() {
                self.expr_attr(el, "expression")
            } else {
                None
            },
            literal: None,
            foreign_attrs,
        };
        let has_attrs = el.attrs.iter().any(|a| a.name.ns.is_empty());
        // BPEL4WS 1.1 has no <literal>: a from without attributes holds the value itself.
        if self.is11() {
            if is_from && !has_attrs && !el.children.is_empty() {
                parts.literal = Some(el.clone());
            } else if let Some(c) = el.elements().next() {
                self.error(
                    c.pos,
                    format!(
                        "<{}> with attributes must not contain element <{}>",
                        el.name.local, c.name.local
                    ),
                );
            } else if !el.text().trim().is_empty() {
                self.error(
                    el.pos,
                    format!("<{}> with attributes must not contain text", el.name.local),
                );
            }
            return parts;
        }
        let mut text = String::new();
        let mut value_elements = false;
        for node in &el.children {
            match node {
                Node::Text(t) => text.push_str(t),
                Node::Element(c) if c.name.ns == self.bpel => match c.name.local.as_str() {
                    "documentation" => {}
                    "literal" if is_from => {
                        if parts.literal.is_some() {
                            self.duplicate(c, el);
                        }
                        // The literal's value is its content: nothing in it is checked or
                        // resolved, but it is kept with its own namespace declarations.
                        parts.literal = Some(c.clone());
                    }
                    "query" => {
                        if parts.query.is_some() {
                            self.duplicate(c, el);
                        }
                        parts.query = Some(self.expr_element(c, "queryLanguage", &[], false));
                    }
                    _ if self.legacy() && is_from => value_elements = true,
                    _ => self.unexpected(c, el),
                },
                Node::Element(c) => {
                    if self.legacy() && is_from {
                        value_elements = true;
                    } else {
                        self.error(
                            c.pos,
                            format!(
                                "<{}> must not contain element <{}>{}",
                                el.name.local,
                                c.name.local,
                                if is_from {
                                    ": wrap literal values in <literal>"
                                } else {
                                    ""
                                }
                            ),
                        );
                    }
                }
                _ => {}
            }
        }
        if value_elements {
            // The draft still accepts the BPEL4WS 1.1 literal form.
            if has_attrs || parts.literal.is_some() {
                self.error(
                    el.pos,
                    "<from> mixes a literal value with other from-spec forms",
                );
            } else {
                parts.literal = Some(el.clone());
                return parts;
            }
        }
        let text = text.trim();
        if !text.is_empty() && parts.variable.is_some() && parts.query.is_none() {
            // ODE reads the text of a variable from/to as its query.
            self.warn(
                el.pos,
                format!(
                    "<{0}> with 'variable' has text: it is read as the query; write it in <query>",
                    el.name.local
                ),
            );
            parts.query = Some(Expr {
                language: None,
                text: text.to_string(),
                pos: el.pos,
                ns: self.ns(),
            });
        } else if !text.is_empty() {
            if parts.expression.is_some() {
                self.error_code(
                    SA00032,
                    el.pos,
                    format!(
                        "<{}> has both an 'expression' attribute and expression text",
                        el.name.local
                    ),
                );
            } else {
                parts.expression = Some(Expr {
                    language: self.optional(el, "expressionLanguage"),
                    text: text.to_string(),
                    pos: el.pos,
                    ns: self.ns(),
                });
            }
        }
        parts
    }

    /// Names of the forms present, for messages.
    fn forms(parts: &SpecParts) -> Vec<&'static str> {
        let mut v = Vec::new();
        if parts.variable.is_some() {
            v.push("variable");
        }
        if parts.partner_link.is_some() {
            v.push("partnerLink");
        }
        if parts.expression.is_some() {
            v.push("expression");
        }
        if parts.literal.is_some() {
            v.push("literal");
        }
        v
    }

    fn variant_error(&mut self, el: &Element, msg: impl std::fmt::Display) {
        self.error_code(
            SA00032,
            el.pos,
            format!(
                "<{}> is not a valid {}-spec: {msg}",
                el.name.local, el.name.local
            ),
        );
    }

    /// Checks that only `forms[0]` is used and that the attributes belong to it.
    fn check_variant(&mut self, el: &Element, parts: &SpecParts) {
        let forms = Self::forms(parts);
        if forms.len() > 1 {
            self.variant_error(el, format!("it combines {}", forms.join(" and ")));
        }
        let var = parts.variable.is_some();
        if !var {
            for (set, what) in [
                (parts.part.is_some(), "'part'"),
                (parts.property.is_some(), "'property'"),
                (parts.query.is_some(), "a query"),
            ] {
                if set {
                    self.variant_error(el, format!("{what} requires 'variable'"));
                }
            }
        } else if parts.property.is_some() && (parts.part.is_some() || parts.query.is_some()) {
            self.variant_error(el, "'property' cannot be combined with 'part' or a query");
        }
        if parts.endpoint_reference.is_some() && parts.partner_link.is_none() {
            self.variant_error(el, "'endpointReference' requires 'partnerLink'");
        }
        if parts.expression.is_none() && el.attr("expressionLanguage").is_some() {
            self.variant_error(
                el,
                "'expressionLanguage' is only allowed with an expression",
            );
        }
    }

    fn property(&mut self, el: &Element, value: &str) -> Option<bpelgate_wsdl::QName> {
        self.resolve_qname(el, "property", value)
    }

    fn choose_from(&mut self, el: &Element, parts: SpecParts) -> FromSpec {
        self.check_variant(el, &parts);
        if let Some(variable) = parts.variable {
            if let Some(prop) = parts.property {
                return match self.property(el, &prop) {
                    Some(property) => FromSpec::Property { variable, property },
                    None => FromSpec::Empty,
                };
            }
            return FromSpec::Variable {
                variable,
                part: parts.part,
                query: parts.query,
            };
        }
        if let Some(partner_link) = parts.partner_link {
            let endpoint_reference = match parts.endpoint_reference.as_deref() {
                Some(v @ ("myRole" | "partnerRole")) => v.to_string(),
                Some(other) => {
                    self.error(
                        el.pos,
                        format!(
                            "attribute 'endpointReference' on <from> must be \"myRole\" or \"partnerRole\", not \"{other}\""
                        ),
                    );
                    other.to_string()
                }
                None => {
                    self.variant_error(el, "the partnerLink variant requires 'endpointReference'");
                    String::new()
                }
            };
            return FromSpec::PartnerLink {
                partner_link,
                endpoint_reference,
            };
        }
        if let Some(e) = parts.expression {
            return FromSpec::Expression(e);
        }
        if let Some(l) = parts.literal {
            return FromSpec::Literal(l);
        }
        FromSpec::Empty
    }

    fn choose_to(&mut self, el: &Element, parts: SpecParts) -> ToSpec {
        self.check_variant(el, &parts);
        if let Some(variable) = parts.variable {
            if let Some(prop) = parts.property {
                return match self.property(el, &prop) {
                    Some(property) => ToSpec::Property { variable, property },
                    None => ToSpec::Empty,
                };
            }
            return ToSpec::Variable {
                variable,
                part: parts.part,
                query: parts.query,
            };
        }
        if let Some(partner_link) = parts.partner_link {
            return ToSpec::PartnerLink { partner_link };
        }
        if let Some(e) = parts.expression {
            return ToSpec::Expression(e);
        }
        ToSpec::Empty
    }
}
