//! XML Schema validation of an element or a typed value against the schemas of a [`WsdlSet`]
//! (BPEL `<validate>` and `<assign validate="yes">`).
//!
//! Covered: element declarations (global, local, references, substitution groups, abstract,
//! nillable, fixed), `xsi:type` and `xsi:nil`, complex types with sequence/choice/all and
//! occurrence bounds, wildcards (`skip`/`lax`/`strict`), attributes (use, types, fixed,
//! groups, `anyAttribute`), simple and complex content with extension and restriction, the
//! built-in simple types' lexical spaces and ranges, lists, unions and the constraining facets.
//! Not covered: identity constraints (key/unique/keyref), checking that an `xsi:type` is
//! derived from the declared type, and the `##other` wildcard's exact target namespace for
//! anonymous types (the enclosing declaration's namespace is used). Patterns that cannot be
//! translated to the `regex` crate's syntax are not checked.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use regex::{Regex, RegexBuilder};

use crate::wsdl::WsdlSet;
use crate::xml::{Element, Node, NsScope, QName};

use super::builtin::builtin_primitive;
use super::model::*;

/// The XML Schema instance namespace (`xsi:type`, `xsi:nil`).
pub const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// A place where the instance does not conform, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationError {
    /// Where: `/po:order/item[2]/@qty` (names as written in the instance).
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

impl std::error::Error for ValidationError {}

/// Validates `element` against the global element declaration of its name.
pub fn validate_element(set: &WsdlSet, element: &Element) -> Result<(), Vec<ValidationError>> {
    let mut v = Validator::new(set);
    let path = format!("/{}", written(element));
    v.scope.push(&own_decls(element));
    match set.element_decl(&element.name) {
        Some(decl) => v.element(element, decl, &element.name.ns, &path),
        None => v.error(
            &path,
            format!("no global element declaration for {}", element.name),
        ),
    }
    v.finish()
}

/// Validates a value of type `type_name`: `value` is a wrapper element whose attributes and
/// content are the value (its own name is not checked).
pub fn validate_value(
    set: &WsdlSet,
    type_name: &QName,
    value: &Element,
) -> Result<(), Vec<ValidationError>> {
    let mut v = Validator::new(set);
    let path = format!("/{}", written(value));
    v.scope.push(&own_decls(value));
    // A value copied from an element keeps its `xsi:type`: the wrapper then holds that
    // (derived) type's content.
    let actual = match value.attr_ns(XSI_NS, "type") {
        Some(xt) => match v.scope.resolve(xt, true) {
            Ok(q) => q,
            Err(m) => {
                v.error(&path, format!("xsi:type: {m}"));
                return v.finish();
            }
        },
        None => type_name.clone(),
    };
    match v.type_ref(&actual) {
        Some(t) => v.typed(value, t, &actual.ns, &path),
        None => v.error(&path, format!("type {actual} is not defined")),
    }
    v.finish()
}

/// Checks `text` against the simple type `type_name` (QName values resolve in `scope`).
pub fn check_simple_value(
    set: &WsdlSet,
    type_name: &QName,
    text: &str,
    scope: &NsScope,
) -> Result<(), String> {
    let v = Validator::new(set);
    match v.type_ref(type_name) {
        Some(TypeRef::Simple(s)) => v.simple(s, text, scope),
        Some(_) => Err(format!("{type_name} is not a simple type")),
        None => Err(format!("type {type_name} is not defined")),
    }
}

/// The declarations an element makes, plus the bindings its own name and attributes imply
/// (a tree built in memory may lack the declarations).
fn own_decls(el: &Element) -> Vec<(String, String)> {
    let mut d = Vec::new();
    if !el.name.ns.is_empty() {
        d.push((el.prefix.clone(), el.name.ns.clone()));
    }
    for a in &el.attrs {
        if !a.prefix.is_empty() && !a.name.ns.is_empty() {
            d.push((a.prefix.clone(), a.name.ns.clone()));
        }
    }
    d.extend(el.ns_decls.iter().cloned());
    d
}

fn written(el: &Element) -> String {
    if el.prefix.is_empty() {
        el.name.local.clone()
    } else {
        format!("{}:{}", el.prefix, el.name.local)
    }
}

/// A simple type: built-in or user-defined.
#[derive(Clone, Copy)]
enum SimpleRef<'s> {
    Builtin(&'s str),
    Def(&'s SimpleType),
}

/// A type to validate against.
#[derive(Clone, Copy)]
enum TypeRef<'s> {
    Complex(&'s ComplexType),
    Simple(SimpleRef<'s>),
    AnyType,
}

/// What a child element was matched to.
#[derive(Clone, Copy)]
enum Assign<'s> {
    Decl(&'s ElementDecl, &'s str),
    Wildcard(&'s str),
}

/// An attribute use in effect on a complex type.
struct AttrUse<'s> {
    decl: &'s AttributeDecl,
    use_: AttributeUse,
}

/// The lexical family of a simple type, for facets.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    String,
    Number,
    Ordered,
    Hex,
    Base64,
    Other,
}

/// The deepest nesting of type derivations and group references followed.
const MAX_DERIVATION: usize = 64;

/// The deepest element nesting validated (the parser's default limit is 256; a tree built in
/// memory could be deeper, and validation recurses once per level).
const MAX_NESTING: usize = 512;

struct Validator<'s> {
    set: &'s WsdlSet,
    scope: NsScope,
    errors: Vec<ValidationError>,
    /// The furthest child position a content model failed at, with what it expected there.
    expected: (usize, Vec<String>),
    /// Current element nesting.
    nesting: usize,
}

impl<'s> Validator<'s> {
    fn new(set: &'s WsdlSet) -> Self {
        Validator {
            set,
            scope: NsScope::new(),
            errors: Vec::new(),
            expected: (0, Vec::new()),
            nesting: 0,
        }
    }

    fn finish(self) -> Result<(), Vec<ValidationError>> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self.errors)
        }
    }

    fn error(&mut self, path: &str, reason: impl Into<String>) {
        // A broken document can produce thousands; the first ones tell the story.
        if self.errors.len() < 100 {
            self.errors.push(ValidationError {
                path: path.to_owned(),
                reason: reason.into(),
            });
        }
    }

    fn type_ref(&self, name: &QName) -> Option<TypeRef<'s>> {
        if name.ns == XSD_NS && name.local == "anyType" {
            return Some(TypeRef::AnyType);
        }
        Some(match self.set.type_def(name)? {
            TypeDef::Complex(c) => TypeRef::Complex(c),
            TypeDef::Simple(s) => TypeRef::Simple(SimpleRef::Def(s)),
            TypeDef::Builtin(_) => TypeRef::Simple(SimpleRef::Builtin(builtin_name(&name.local))),
        })
    }

    fn decl_type(&self, decl: &'s ElementDecl, depth: usize) -> Result<TypeRef<'s>, String> {
        match &decl.type_def {
            ElementType::Named(q) => self
                .type_ref(q)
                .ok_or_else(|| format!("type {q} is not defined")),
            ElementType::Complex(c) => Ok(TypeRef::Complex(c)),
            ElementType::Simple(s) => Ok(TypeRef::Simple(SimpleRef::Def(s))),
            ElementType::Unspecified => match &decl.substitution_group {
                Some(head) if depth < MAX_DERIVATION => match self.set.element_decl(head) {
                    Some(h) => self.decl_type(h, depth + 1),
                    None => Ok(TypeRef::AnyType),
                },
                _ => Ok(TypeRef::AnyType),
            },
        }
    }

    fn element(&mut self, el: &Element, decl: &'s ElementDecl, tns: &'s str, path: &str) {
        if self.nesting >= MAX_NESTING {
            self.error(
                path,
                format!("elements nest deeper than {MAX_NESTING} levels"),
            );
            return;
        }
        self.nesting += 1;
        self.element_at(el, decl, tns, path);
        self.nesting -= 1;
    }

    fn element_at(&mut self, el: &Element, decl: &'s ElementDecl, tns: &'s str, path: &str) {
        if decl.is_abstract {
            self.error(
                path,
                format!("element {} is abstract and cannot appear", decl.name),
            );
        }
        let mut ty = match self.decl_type(decl, 0) {
            Ok(t) => t,
            Err(m) => {
                self.error(path, m);
                return;
            }
        };
        let mut tns = tns;
        if let Some(xt) = el.attr_ns(XSI_NS, "type") {
            match self.scope.resolve(xt, true) {
                Ok(q) => match self.type_ref(&q) {
                    Some(t) => {
                        ty = t;
                        if let Some(TypeDef::Complex(c)) = self.set.type_def(&q) {
                            tns = c.name.as_ref().map_or(tns, |n| n.ns.as_str());
                        }
                    }
                    None => {
                        self.error(path, format!("xsi:type names an undefined type {q}"));
                        return;
                    }
                },
                Err(m) => {
                    self.error(path, format!("xsi:type: {m}"));
                    return;
                }
            }
        }
        if let Some(nil) = el.attr_ns(XSI_NS, "nil") {
            let nil = nil.trim();
            if nil == "true" || nil == "1" {
                if !decl.nillable {
                    self.error(path, format!("element {} is not nillable", decl.name));
                }
                let has_content = el.children.iter().any(|c| match c {
                    Node::Element(_) => true,
                    Node::Text(t) => !t.is_empty(),
                    _ => false,
                });
                if has_content {
                    self.error(path, "an element with xsi:nil='true' must be empty");
                }
                if let TypeRef::Complex(ct) = ty {
                    self.attributes(el, ct, path);
                }
                return;
            }
        }
        if let Some(fixed) = &decl.fixed
            && !el.has_element_children()
            && collapse(&el.text()) != collapse(fixed)
        {
            self.error(
                path,
                format!(
                    "the value must be the fixed value '{fixed}', not '{}'",
                    el.text()
                ),
            );
        }
        self.typed(el, ty, tns, path);
    }

    /// Validates the attributes and content of `el` against `ty`.
    fn typed(&mut self, el: &Element, ty: TypeRef<'s>, tns: &'s str, path: &str) {
        match ty {
            TypeRef::AnyType => {}
            TypeRef::Simple(s) => {
                for a in &el.attrs {
                    if a.name.ns != XSI_NS {
                        self.error(
                            &format!("{path}/@{}", a.name.local),
                            "a simple-typed element has no attributes",
                        );
                    }
                }
                if el.has_element_children() {
                    self.error(path, "a simple-typed element cannot contain elements");
                } else if let Err(m) = self.simple(s, &el.text(), &self.scope) {
                    self.error(path, m);
                }
            }
            TypeRef::Complex(ct) => {
                self.attributes(el, ct, path);
                self.complex_content(el, ct, tns, path);
            }
        }
    }

    /// The attribute uses of `ct`, its bases' included, and whether a wildcard allows others.
    fn attribute_uses(&self, ct: &'s ComplexType, depth: usize) -> (Vec<AttrUse<'s>>, bool) {
        let mut uses: Vec<AttrUse<'s>> = Vec::new();
        let mut any = ct.any_attribute;
        let base = match &ct.content {
            Content::Simple { base, .. } | Content::Complex { base, .. } => Some(base),
            _ => None,
        };
        if let Some(base) = base
            && depth < MAX_DERIVATION
            && let Some(TypeDef::Complex(b)) = self.set.type_def(base)
        {
            let (bu, bany) = self.attribute_uses(b, depth + 1);
            uses = bu;
            any |= bany;
        }
        let mut own = Vec::new();
        self.attribute_items(&ct.attributes, &mut own, 0);
        for u in own {
            uses.retain(|x| x.decl.name != u.decl.name);
            if u.use_ != AttributeUse::Prohibited {
                uses.push(u);
            }
        }
        (uses, any)
    }

    fn attribute_items(
        &self,
        items: &'s [AttributeItem],
        out: &mut Vec<AttrUse<'s>>,
        depth: usize,
    ) {
        for item in items {
            match item {
                AttributeItem::Decl(d) => out.push(AttrUse {
                    decl: d,
                    use_: d.use_,
                }),
                AttributeItem::Ref { name, use_ } => {
                    if let Some(d) = self.set.attribute_decl(name) {
                        out.push(AttrUse {
                            decl: d,
                            use_: *use_,
                        });
                    }
                }
                AttributeItem::GroupRef(g) => {
                    if depth < MAX_DERIVATION
                        && let Some(gd) = self.set.attribute_group_def(g)
                    {
                        self.attribute_items(&gd.attributes, out, depth + 1);
                    }
                }
            }
        }
    }

    fn attributes(&mut self, el: &Element, ct: &'s ComplexType, path: &str) {
        let (uses, any) = self.attribute_uses(ct, 0);
        for a in &el.attrs {
            if a.name.ns == XSI_NS {
                continue;
            }
            let apath = format!(
                "{path}/@{}",
                if a.prefix.is_empty() {
                    a.name.local.clone()
                } else {
                    format!("{}:{}", a.prefix, a.name.local)
                }
            );
            let decl = match uses.iter().find(|u| u.decl.name == a.name) {
                Some(u) => Some(u.decl),
                None if any => self.set.attribute_decl(&a.name),
                None => {
                    self.error(&apath, format!("attribute {} is not allowed here", a.name));
                    continue;
                }
            };
            if let Some(d) = decl
                && let Err(m) = self.attribute_value(d, &a.value)
            {
                self.error(&apath, m);
            }
        }
        for u in &uses {
            if u.use_ == AttributeUse::Required && !el.attrs.iter().any(|a| a.name == u.decl.name) {
                self.error(
                    path,
                    format!("required attribute {} is missing", u.decl.name),
                );
            }
        }
    }

    fn attribute_value(&self, d: &'s AttributeDecl, value: &str) -> Result<(), String> {
        if let Some(st) = &d.simple_type {
            self.simple(SimpleRef::Def(st), value, &self.scope)?;
        } else if let Some(t) = &d.type_name {
            match self.type_ref(t) {
                Some(TypeRef::Simple(s)) => self.simple(s, value, &self.scope)?,
                Some(_) => return Err(format!("attribute type {t} is not a simple type")),
                None => return Err(format!("type {t} is not defined")),
            }
        }
        if let Some(f) = &d.fixed
            && collapse(f) != collapse(value)
        {
            return Err(format!(
                "the value must be the fixed value '{f}', not '{value}'"
            ));
        }
        Ok(())
    }

    /// The particle a complex type's element content must match (base content first for an
    /// extension), and whether text is allowed.
    fn effective_particles(&self, ct: &'s ComplexType, depth: usize, out: &mut Vec<&'s Particle>) {
        match &ct.content {
            Content::Empty | Content::Simple { .. } => {}
            Content::Particle(p) => out.push(p),
            Content::Complex {
                derivation,
                base,
                particle,
            } => {
                if *derivation == Derivation::Extension
                    && depth < MAX_DERIVATION
                    && let Some(TypeDef::Complex(b)) = self.set.type_def(base)
                {
                    self.effective_particles(b, depth + 1, out);
                }
                if let Some(p) = particle {
                    out.push(p);
                }
            }
        }
    }

    fn complex_content(&mut self, el: &Element, ct: &'s ComplexType, tns: &'s str, path: &str) {
        if let Content::Simple { .. } = ct.content {
            if el.has_element_children() {
                self.error(
                    path,
                    "an element with simple content cannot contain elements",
                );
            } else if let Err(m) = self.simple_content(ct, &el.text(), 0) {
                self.error(path, m);
            }
            return;
        }
        let anytype_base = matches!(&ct.content, Content::Complex { base, derivation: Derivation::Extension, .. }
            if base.ns == XSD_NS && base.local == "anyType");
        let mut particles = Vec::new();
        self.effective_particles(ct, 0, &mut particles);
        if !ct.mixed && !anytype_base {
            let text_here = el
                .children
                .iter()
                .any(|c| matches!(c, Node::Text(t) if !is_space(t)));
            if text_here {
                self.error(path, "text is not allowed in element-only content");
            }
        }
        let kids: Vec<&Element> = el.elements().collect();
        let mut assigned = Vec::new();
        self.expected = (0, Vec::new());
        let mut pos = Some(0);
        for p in &particles {
            pos = pos.and_then(|at| self.particle(p, &kids, at, &mut assigned, tns, 0));
        }
        match pos {
            Some(n) if n == kids.len() => {}
            _ => {
                let (at, want) = std::mem::take(&mut self.expected);
                let mut want = want;
                want.dedup();
                let expected = if want.is_empty() {
                    "nothing".to_owned()
                } else {
                    want.join(", ")
                };
                let reason = match kids.get(at.max(pos.unwrap_or(0))) {
                    Some(k) => format!(
                        "element {} is not expected here; expected {expected}",
                        k.name
                    ),
                    None => format!("content is incomplete; expected {expected}"),
                };
                self.error(path, reason);
                return;
            }
        }
        // Names that occur more than once get an index in paths.
        let mut counts: HashMap<&QName, usize> = HashMap::new();
        for k in &kids {
            *counts.entry(&k.name).or_default() += 1;
        }
        let mut seen: HashMap<&QName, usize> = HashMap::new();
        let mut by_index: HashMap<usize, Assign<'s>> = assigned.into_iter().collect();
        for (i, k) in kids.iter().enumerate() {
            let n = seen.entry(&k.name).or_default();
            *n += 1;
            let kpath = if counts.get(&k.name).copied().unwrap_or(0) > 1 {
                format!("{path}/{}[{n}]", written(k))
            } else {
                format!("{path}/{}", written(k))
            };
            let Some(a) = by_index.remove(&i) else {
                continue;
            };
            self.scope.push(&own_decls(k));
            match a {
                Assign::Decl(d, t) => self.element(k, d, t, &kpath),
                Assign::Wildcard(pc) => match (self.set.element_decl(&k.name), pc) {
                    (_, "skip") => {}
                    (Some(d), _) => self.element(k, d, &d.name.ns, &kpath),
                    (None, "lax") => {}
                    (None, _) => self.error(
                        &kpath,
                        format!("no global declaration for {} (strict wildcard)", k.name),
                    ),
                },
            }
            self.scope.pop();
        }
    }

    fn simple_content(&self, ct: &'s ComplexType, text: &str, depth: usize) -> Result<(), String> {
        let Content::Simple {
            derivation,
            base,
            facets,
        } = &ct.content
        else {
            return Ok(());
        };
        if depth > MAX_DERIVATION {
            return Err("type derivation is too deep".to_owned());
        }
        let family = match self.set.type_def(base) {
            Some(TypeDef::Complex(b)) => {
                self.simple_content(b, text, depth + 1)?;
                self.complex_family(b, depth + 1)
            }
            Some(TypeDef::Simple(s)) => {
                self.simple(SimpleRef::Def(s), text, &self.scope)?;
                self.family(SimpleRef::Def(s), 0)
            }
            Some(TypeDef::Builtin(q)) => {
                let s = SimpleRef::Builtin(builtin_name(&q.local));
                self.simple(s, text, &self.scope)?;
                self.family(s, 0)
            }
            None => return Err(format!("type {base} is not defined")),
        };
        if *derivation == Derivation::Restriction {
            let v = whitespace(text, facets.white_space.as_deref().unwrap_or("collapse"));
            check_facets(facets, &v, family, false)?;
        }
        Ok(())
    }

    fn complex_family(&self, ct: &'s ComplexType, depth: usize) -> Family {
        match &ct.content {
            Content::Simple { base, .. } if depth < MAX_DERIVATION => match self.set.type_def(base)
            {
                Some(TypeDef::Complex(b)) => self.complex_family(b, depth + 1),
                Some(TypeDef::Simple(s)) => self.family(SimpleRef::Def(s), 0),
                Some(TypeDef::Builtin(q)) => {
                    self.family(SimpleRef::Builtin(builtin_name(&q.local)), 0)
                }
                None => Family::Other,
            },
            _ => Family::Other,
        }
    }

    /// Matches one particle at `kids[pos..]`; the position after it, or None.
    fn particle(
        &mut self,
        p: &'s Particle,
        kids: &[&Element],
        pos: usize,
        out: &mut Vec<(usize, Assign<'s>)>,
        tns: &'s str,
        depth: usize,
    ) -> Option<usize> {
        if depth > MAX_DERIVATION {
            return None;
        }
        let mut count: u32 = 0;
        let mut cur = pos;
        loop {
            if let MaxOccurs::Bounded(m) = p.max_occurs
                && count >= m
            {
                break;
            }
            let mark = out.len();
            match self.term(&p.term, kids, cur, out, tns, depth) {
                Some(n) if n > cur => {
                    count += 1;
                    cur = n;
                }
                Some(_) => {
                    // The term matched nothing: every remaining occurrence can be empty.
                    count = count.max(p.min_occurs);
                    break;
                }
                None => {
                    out.truncate(mark);
                    break;
                }
            }
        }
        (count >= p.min_occurs).then_some(cur)
    }

    fn expect(&mut self, at: usize, what: String) {
        if at > self.expected.0 {
            self.expected = (at, vec![what]);
        } else if at == self.expected.0 {
            self.expected.1.push(what);
        }
    }

    fn term(
        &mut self,
        t: &'s Term,
        kids: &[&Element],
        pos: usize,
        out: &mut Vec<(usize, Assign<'s>)>,
        tns: &'s str,
        depth: usize,
    ) -> Option<usize> {
        match t {
            Term::Element(d) => {
                if kids.get(pos).is_some_and(|k| k.name == d.name) {
                    out.push((pos, Assign::Decl(d, tns)));
                    Some(pos + 1)
                } else {
                    self.expect(pos, d.name.to_string());
                    None
                }
            }
            Term::ElementRef(q) => {
                let Some(k) = kids.get(pos) else {
                    self.expect(pos, q.to_string());
                    return None;
                };
                match self.substitutable(q, &k.name) {
                    Some(d) => {
                        out.push((pos, Assign::Decl(d, &d.name.ns)));
                        Some(pos + 1)
                    }
                    None => {
                        self.expect(pos, q.to_string());
                        None
                    }
                }
            }
            Term::Any {
                namespace,
                process_contents,
            } => match kids.get(pos) {
                Some(k) if wildcard_allows(namespace, &k.name.ns, tns) => {
                    out.push((pos, Assign::Wildcard(process_contents)));
                    Some(pos + 1)
                }
                _ => {
                    self.expect(pos, format!("any element ({namespace})"));
                    None
                }
            },
            Term::Group(g) => self.group(g, kids, pos, out, tns, depth + 1),
            Term::GroupRef(q) => match self.set.group_def(q) {
                Some(g) => self.group(&g.group, kids, pos, out, tns, depth + 1),
                None => {
                    self.expect(pos, format!("group {q} (not defined)"));
                    None
                }
            },
        }
    }

    fn group(
        &mut self,
        g: &'s ModelGroup,
        kids: &[&Element],
        pos: usize,
        out: &mut Vec<(usize, Assign<'s>)>,
        tns: &'s str,
        depth: usize,
    ) -> Option<usize> {
        match g.compositor {
            Compositor::Sequence => {
                let mut cur = pos;
                for p in &g.particles {
                    cur = self.particle(p, kids, cur, out, tns, depth)?;
                }
                Some(cur)
            }
            Compositor::Choice => {
                let mut empty_ok = g.particles.is_empty();
                for p in &g.particles {
                    let mark = out.len();
                    match self.particle(p, kids, pos, out, tns, depth) {
                        Some(n) if n > pos => return Some(n),
                        Some(_) => {
                            out.truncate(mark);
                            empty_ok = true;
                        }
                        None => out.truncate(mark),
                    }
                }
                empty_ok.then_some(pos)
            }
            Compositor::All => {
                let mut used = vec![false; g.particles.len()];
                let mut cur = pos;
                'next: while cur < kids.len() {
                    for (i, p) in g.particles.iter().enumerate() {
                        if used[i] {
                            continue;
                        }
                        let mark = out.len();
                        match self.term(&p.term, kids, cur, out, tns, depth) {
                            Some(n) if n > cur => {
                                used[i] = true;
                                cur = n;
                                continue 'next;
                            }
                            _ => out.truncate(mark),
                        }
                    }
                    break;
                }
                for (i, p) in g.particles.iter().enumerate() {
                    if !used[i] && p.min_occurs > 0 {
                        if let Term::Element(d) = &p.term {
                            self.expect(cur, d.name.to_string());
                        }
                        return None;
                    }
                }
                Some(cur)
            }
        }
    }

    /// The global declaration `name` or a non-abstract member of its substitution group named
    /// `found`.
    fn substitutable(&self, head: &QName, found: &QName) -> Option<&'s ElementDecl> {
        let mut heads = vec![head.clone()];
        let mut i = 0;
        while i < heads.len() && i < MAX_DERIVATION {
            let h = heads[i].clone();
            if h == *found {
                return self.set.element_decl(found);
            }
            for s in self.set.schemas() {
                for e in &s.elements {
                    if e.substitution_group.as_ref() == Some(&h) && !heads.contains(&e.name) {
                        heads.push(e.name.clone());
                    }
                }
            }
            i += 1;
        }
        None
    }

    fn family(&self, s: SimpleRef<'s>, depth: usize) -> Family {
        match s {
            SimpleRef::Builtin(n) => {
                let prim = builtin_primitive(&QName::new(XSD_NS, n))
                    .map(|q| q.local)
                    .unwrap_or_default();
                match prim.as_str() {
                    "string" | "anyURI" | "QName" | "NOTATION" => Family::String,
                    "decimal" | "float" | "double" => Family::Number,
                    "duration" | "dateTime" | "time" | "date" | "gYearMonth" | "gYear"
                    | "gMonthDay" | "gDay" | "gMonth" => Family::Ordered,
                    "hexBinary" => Family::Hex,
                    "base64Binary" => Family::Base64,
                    _ => Family::Other,
                }
            }
            SimpleRef::Def(st) => match &st.variety {
                SimpleVariety::Restriction { base, .. } if depth < MAX_DERIVATION => {
                    match self.simple_ref(base) {
                        Some(b) => self.family(b, depth + 1),
                        None => Family::Other,
                    }
                }
                _ => Family::Other,
            },
        }
    }

    fn simple_ref(&self, name: &QName) -> Option<SimpleRef<'s>> {
        match self.type_ref(name)? {
            TypeRef::Simple(s) => Some(s),
            _ => None,
        }
    }

    /// The whitespace handling a simple type applies.
    fn white_space(&self, s: SimpleRef<'s>, depth: usize) -> &'static str {
        match s {
            SimpleRef::Builtin("string" | "anySimpleType") => "preserve",
            SimpleRef::Builtin("normalizedString") => "replace",
            SimpleRef::Builtin(_) => "collapse",
            SimpleRef::Def(st) => match &st.variety {
                SimpleVariety::Restriction { base, facets } => {
                    match facets.white_space.as_deref() {
                        Some("preserve") => "preserve",
                        Some("replace") => "replace",
                        Some(_) => "collapse",
                        None if depth < MAX_DERIVATION => self
                            .simple_ref(base)
                            .map_or("collapse", |b| self.white_space(b, depth + 1)),
                        None => "collapse",
                    }
                }
                _ => "collapse",
            },
        }
    }

    fn simple(&self, s: SimpleRef<'s>, text: &str, scope: &NsScope) -> Result<(), String> {
        self.simple_at(s, text, scope, 0)
    }

    fn simple_at(
        &self,
        s: SimpleRef<'s>,
        text: &str,
        scope: &NsScope,
        depth: usize,
    ) -> Result<(), String> {
        if depth > MAX_DERIVATION {
            return Err("type derivation is too deep".to_owned());
        }
        match s {
            SimpleRef::Builtin(name) => {
                let v = whitespace(text, self.white_space(s, 0));
                check_builtin(name, &v, scope)
            }
            SimpleRef::Def(st) => match &st.variety {
                SimpleVariety::Restriction { base, facets } => {
                    let b = self
                        .simple_ref(base)
                        .ok_or_else(|| format!("simple type {base} is not defined"))?;
                    self.simple_at(b, text, scope, depth + 1)?;
                    let v = whitespace(text, self.white_space(s, 0));
                    let is_list = self.is_list(b, 0);
                    check_facets(facets, &v, self.family(b, 0), is_list)
                }
                SimpleVariety::List { item_type } => {
                    let item = self
                        .simple_ref(item_type)
                        .ok_or_else(|| format!("simple type {item_type} is not defined"))?;
                    for tok in text.split_ascii_whitespace() {
                        self.simple_at(item, tok, scope, depth + 1)?;
                    }
                    Ok(())
                }
                SimpleVariety::Union { member_types } => {
                    if member_types.is_empty() {
                        return Ok(());
                    }
                    let mut reasons = Vec::new();
                    for m in member_types {
                        match self.simple_ref(m) {
                            Some(r) => match self.simple_at(r, text, scope, depth + 1) {
                                Ok(()) => return Ok(()),
                                Err(e) => reasons.push(e),
                            },
                            None => reasons.push(format!("simple type {m} is not defined")),
                        }
                    }
                    Err(format!(
                        "'{}' matches no member of the union ({})",
                        text.trim(),
                        reasons.join("; ")
                    ))
                }
            },
        }
    }

    fn is_list(&self, s: SimpleRef<'s>, depth: usize) -> bool {
        match s {
            SimpleRef::Builtin(n) => matches!(n, "NMTOKENS" | "IDREFS" | "ENTITIES"),
            SimpleRef::Def(st) => match &st.variety {
                SimpleVariety::List { .. } => true,
                SimpleVariety::Restriction { base, .. } if depth < MAX_DERIVATION => self
                    .simple_ref(base)
                    .is_some_and(|b| self.is_list(b, depth + 1)),
                _ => false,
            },
        }
    }
}

/// The static name of a built-in type, for [`SimpleRef::Builtin`].
fn builtin_name(local: &str) -> &'static str {
    const NAMES: &[&str] = &[
        "anySimpleType",
        "anyAtomicType",
        "string",
        "boolean",
        "decimal",
        "float",
        "double",
        "duration",
        "dateTime",
        "time",
        "date",
        "gYearMonth",
        "gYear",
        "gMonthDay",
        "gDay",
        "gMonth",
        "hexBinary",
        "base64Binary",
        "anyURI",
        "QName",
        "NOTATION",
        "normalizedString",
        "token",
        "language",
        "NMTOKEN",
        "NMTOKENS",
        "Name",
        "NCName",
        "ID",
        "IDREF",
        "IDREFS",
        "ENTITY",
        "ENTITIES",
        "integer",
        "nonPositiveInteger",
        "negativeInteger",
        "long",
        "int",
        "short",
        "byte",
        "nonNegativeInteger",
        "unsignedLong",
        "unsignedInt",
        "unsignedShort",
        "unsignedByte",
        "positiveInteger",
        "dateTimeStamp",
        "dayTimeDuration",
        "yearMonthDuration",
    ];
    NAMES
        .iter()
        .find(|n| **n == local)
        .copied()
        .unwrap_or("anySimpleType")
}

fn is_space(s: &str) -> bool {
    s.chars().all(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
}

fn collapse(s: &str) -> String {
    s.split_ascii_whitespace().collect::<Vec<_>>().join(" ")
}

fn whitespace(s: &str, mode: &str) -> String {
    match mode {
        "preserve" => s.to_owned(),
        "replace" => s
            .chars()
            .map(|c| {
                if matches!(c, '\t' | '\r' | '\n') {
                    ' '
                } else {
                    c
                }
            })
            .collect(),
        _ => collapse(s),
    }
}

fn wildcard_allows(constraint: &str, ns: &str, tns: &str) -> bool {
    let c = constraint.trim();
    match c {
        "##any" | "" => true,
        "##other" => !ns.is_empty() && ns != tns,
        _ => c.split_ascii_whitespace().any(|t| match t {
            "##targetNamespace" => ns == tns,
            "##local" => ns.is_empty(),
            uri => uri == ns,
        }),
    }
}

fn is_ncname(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '\u{b7}'))
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '\u{b7}'))
}

fn is_nmtoken(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '\u{b7}'))
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_decimal(s: &str) -> bool {
    let t = s.strip_prefix(['+', '-']).unwrap_or(s);
    match t.split_once('.') {
        Some((i, f)) => {
            (i.is_empty() || digits(i))
                && (f.is_empty() || digits(f))
                && !(i.is_empty() && f.is_empty())
        }
        None => digits(t),
    }
}

fn is_float(s: &str) -> bool {
    if matches!(s, "INF" | "-INF" | "+INF" | "NaN") {
        return true;
    }
    match s.find(['e', 'E']) {
        Some(i) => {
            let exp = &s[i + 1..];
            is_decimal(&s[..i]) && digits(exp.strip_prefix(['+', '-']).unwrap_or(exp))
        }
        None => is_decimal(s),
    }
}

/// Integer range check for the bounded integer types.
fn integer_range(name: &str, v: &str) -> Result<(), String> {
    let t = v.strip_prefix('+').unwrap_or(v);
    let negative = t.starts_with('-');
    let magnitude = t.trim_start_matches('-').trim_start_matches('0');
    let zero = magnitude.is_empty();
    let sign_ok = match name {
        "nonPositiveInteger" => negative || zero,
        "negativeInteger" => negative && !zero,
        "nonNegativeInteger" | "unsignedLong" | "unsignedInt" | "unsignedShort"
        | "unsignedByte" => !negative || zero,
        "positiveInteger" => !negative && !zero,
        _ => true,
    };
    if !sign_ok {
        return Err(format!("'{v}' is out of the range of xsd:{name}"));
    }
    let (lo, hi): (i128, i128) = match name {
        "long" => (i64::MIN.into(), i64::MAX.into()),
        "int" => (i32::MIN.into(), i32::MAX.into()),
        "short" => (i16::MIN.into(), i16::MAX.into()),
        "byte" => (i8::MIN.into(), i8::MAX.into()),
        "unsignedLong" => (0, u64::MAX.into()),
        "unsignedInt" => (0, u32::MAX.into()),
        "unsignedShort" => (0, u16::MAX.into()),
        "unsignedByte" => (0, u8::MAX.into()),
        _ => return Ok(()),
    };
    match t.parse::<i128>() {
        Ok(n) if n >= lo && n <= hi => Ok(()),
        _ => Err(format!("'{v}' is out of the range of xsd:{name}")),
    }
}

fn two(s: &str) -> Option<u32> {
    (s.len() == 2 && digits(s))
        .then(|| s.parse().ok())
        .flatten()
}

fn is_year(s: &str) -> bool {
    let t = s.strip_prefix('-').unwrap_or(s);
    t.len() >= 4 && digits(t) && (t.len() == 4 || !t.starts_with('0'))
}

/// Splits an optional timezone (`Z`, `+hh:mm`, `-hh:mm`) off the end; None when malformed.
fn split_tz(s: &str) -> Option<(&str, bool)> {
    if let Some(rest) = s.strip_suffix('Z') {
        return Some((rest, true));
    }
    if s.len() >= 6 && s.is_char_boundary(s.len() - 6) && s[s.len() - 6..].is_ascii() {
        let (head, tz) = s.split_at(s.len() - 6);
        let b = tz.as_bytes();
        if (b[0] == b'+' || b[0] == b'-') && b[3] == b':' {
            let (h, m) = (two(&tz[1..3])?, two(&tz[4..6])?);
            return (h < 14 || (h == 14 && m == 0))
                .then_some((head, true))
                .filter(|_| m < 60);
        }
    }
    Some((s, false))
}

fn valid_date(y: &str, m: &str, d: &str) -> bool {
    let (Some(m), Some(d)) = (two(m), two(d)) else {
        return false;
    };
    if !is_year(y) || !(1..=12).contains(&m) || d < 1 {
        return false;
    }
    let year: i64 = y.parse().unwrap_or(2000);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let max = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    d <= max
}

fn valid_time(t: &str) -> bool {
    let mut parts = t.splitn(3, ':');
    let (Some(h), Some(m), Some(s)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let (Some(h), Some(m)) = (two(h), two(m)) else {
        return false;
    };
    let (si, sf) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let Some(sec) = two(si) else {
        return false;
    };
    if sf.is_some_and(|f| !digits(f)) {
        return false;
    }
    (h < 24 && m < 60 && sec < 60)
        || (h == 24 && m == 0 && sec == 0 && sf.is_none_or(|f| f.bytes().all(|b| b == b'0')))
}

/// Splits `[-]yyyy-mm-dd` into year, month and day.
fn split_date(s: &str) -> Option<(&str, &str, &str)> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let mut it = body.rsplitn(3, '-');
    let d = it.next()?;
    let m = it.next()?;
    let y = it.next()?;
    let ylen = y.len() + usize::from(neg);
    Some((&s[..ylen], m, d))
}

fn is_duration(s: &str, kind: &str) -> bool {
    let t = s.strip_prefix('-').unwrap_or(s);
    let Some(t) = t.strip_prefix('P') else {
        return false;
    };
    let (date, time) = match t.split_once('T') {
        Some((d, tm)) => (d, Some(tm)),
        None => (t, None),
    };
    let mut any = false;
    let mut rest = date;
    for unit in ['Y', 'M', 'D'] {
        if let Some(i) = rest.find(unit) {
            if !digits(&rest[..i]) {
                return false;
            }
            any = true;
            if (kind == "dayTimeDuration" && unit != 'D')
                || (kind == "yearMonthDuration" && unit == 'D')
            {
                return false;
            }
            rest = &rest[i + 1..];
        }
    }
    if !rest.is_empty() {
        return false;
    }
    if let Some(tm) = time {
        if kind == "yearMonthDuration" || tm.is_empty() {
            return false;
        }
        let mut rest = tm;
        for unit in ['H', 'M', 'S'] {
            if let Some(i) = rest.find(unit) {
                let n = &rest[..i];
                let ok = if unit == 'S' {
                    is_decimal(n) && !n.starts_with(['+', '-'])
                } else {
                    digits(n)
                };
                if !ok {
                    return false;
                }
                any = true;
                rest = &rest[i + 1..];
            }
        }
        if !rest.is_empty() {
            return false;
        }
    }
    any
}

fn is_base64(s: &str) -> bool {
    let t: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !t.len().is_multiple_of(4) {
        return false;
    }
    let pad = t.iter().rev().take_while(|b| **b == b'=').count();
    pad <= 2
        && t[..t.len() - pad]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/')
}

/// Checks a whitespace-normalised value against a built-in type's lexical space.
fn check_builtin(name: &str, v: &str, scope: &NsScope) -> Result<(), String> {
    let bad = || Err(format!("'{v}' is not a valid xsd:{name}"));
    let ok = match name {
        "anySimpleType" | "anyAtomicType" | "string" | "normalizedString" | "token" | "anyURI"
        | "NOTATION" => true,
        "boolean" => matches!(v, "true" | "false" | "1" | "0"),
        "decimal" => is_decimal(v),
        "float" | "double" => is_float(v),
        "integer" | "nonPositiveInteger" | "negativeInteger" | "long" | "int" | "short"
        | "byte" | "nonNegativeInteger" | "unsignedLong" | "unsignedInt" | "unsignedShort"
        | "unsignedByte" | "positiveInteger" => {
            if !digits(v.strip_prefix(['+', '-']).unwrap_or(v)) {
                return bad();
            }
            return integer_range(name, v);
        }
        "duration" | "dayTimeDuration" | "yearMonthDuration" => is_duration(v, name),
        "dateTime" | "dateTimeStamp" => match split_tz(v) {
            Some((dt, tz)) => {
                (tz || name == "dateTime")
                    && dt.split_once('T').is_some_and(|(d, t)| {
                        split_date(d).is_some_and(|(y, m, dd)| valid_date(y, m, dd))
                            && valid_time(t)
                    })
            }
            None => false,
        },
        "date" => split_tz(v)
            .and_then(|(d, _)| split_date(d))
            .is_some_and(|(y, m, d)| valid_date(y, m, d)),
        "time" => split_tz(v).is_some_and(|(t, _)| valid_time(t)),
        "gYearMonth" => split_tz(v)
            .and_then(|(s, _)| s.rsplit_once('-'))
            .is_some_and(|(y, m)| is_year(y) && two(m).is_some_and(|m| (1..=12).contains(&m))),
        "gYear" => split_tz(v).is_some_and(|(y, _)| is_year(y)),
        "gMonthDay" => split_tz(v)
            .and_then(|(s, _)| s.strip_prefix("--"))
            .and_then(|s| s.split_once('-'))
            .is_some_and(|(m, d)| valid_date("2000", m, d)),
        "gDay" => split_tz(v)
            .and_then(|(s, _)| s.strip_prefix("---"))
            .and_then(two)
            .is_some_and(|d| (1..=31).contains(&d)),
        "gMonth" => split_tz(v)
            .and_then(|(s, _)| s.strip_prefix("--"))
            .and_then(two)
            .is_some_and(|m| (1..=12).contains(&m)),
        "hexBinary" => v.len().is_multiple_of(2) && v.bytes().all(|b| b.is_ascii_hexdigit()),
        "base64Binary" => is_base64(v),
        "QName" => {
            return scope
                .resolve(v, true)
                .map(|_| ())
                .map_err(|m| format!("'{v}' is not a valid xsd:QName: {m}"))
                .and_then(|()| {
                    let (p, l) = v.split_once(':').unwrap_or(("", v));
                    if (p.is_empty() || is_ncname(p)) && is_ncname(l) {
                        Ok(())
                    } else {
                        bad()
                    }
                });
        }
        "NCName" | "ID" | "IDREF" | "ENTITY" => is_ncname(v),
        "Name" => is_name(v),
        "NMTOKEN" => is_nmtoken(v),
        "NMTOKENS" => !v.is_empty() && v.split(' ').all(is_nmtoken),
        "IDREFS" | "ENTITIES" => !v.is_empty() && v.split(' ').all(is_ncname),
        "language" => {
            let mut parts = v.split('-');
            parts.next().is_some_and(|p| {
                (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic())
            }) && parts
                .all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
        }
        _ => true,
    };
    if ok { Ok(()) } else { bad() }
}

/// A decimal's digits without sign, leading integer zeros and trailing fraction zeros:
/// (integer digits, fraction digits).
fn decimal_parts(v: &str) -> (String, String) {
    let t = v.trim_start_matches(['+', '-']);
    let (i, f) = t.split_once('.').unwrap_or((t, ""));
    (
        i.trim_start_matches('0').to_owned(),
        f.trim_end_matches('0').to_owned(),
    )
}

fn number(v: &str) -> Option<f64> {
    match v {
        "INF" | "+INF" => Some(f64::INFINITY),
        "-INF" => Some(f64::NEG_INFINITY),
        _ => v.parse::<f64>().ok(),
    }
}

fn compare(v: &str, bound: &str, family: Family) -> Option<std::cmp::Ordering> {
    match family {
        Family::Number => number(v)?.partial_cmp(&number(bound.trim())?),
        // Same-form date/time values in the same timezone order lexically.
        Family::Ordered => Some(v.cmp(bound.trim())),
        _ => None,
    }
}

fn length_of(v: &str, family: Family, is_list: bool) -> u64 {
    let n = if is_list {
        v.split_ascii_whitespace().count()
    } else {
        match family {
            Family::Hex => v.len() / 2,
            Family::Base64 => {
                let t: Vec<u8> = v.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
                let pad = t.iter().rev().take_while(|b| **b == b'=').count();
                (t.len() / 4 * 3).saturating_sub(pad)
            }
            _ => v.chars().count(),
        }
    };
    n as u64
}

fn check_facets(f: &Facets, v: &str, family: Family, is_list: bool) -> Result<(), String> {
    use std::cmp::Ordering::{Greater, Less};
    if !f.enumerations.is_empty() {
        let hit = f.enumerations.iter().any(|e| match family {
            Family::Number => number(v).is_some() && number(v) == number(e.trim()),
            Family::String if !is_list => e == v || collapse(e) == v,
            _ => collapse(e) == v,
        });
        if !hit {
            return Err(format!(
                "'{v}' is not one of the enumerated values ({})",
                f.enumerations.join(", ")
            ));
        }
    }
    if !f.patterns.is_empty() {
        let mut checked = false;
        let mut matched = false;
        for p in &f.patterns {
            if let Some(re) = xsd_regex(p) {
                checked = true;
                if re.is_match(v) {
                    matched = true;
                    break;
                }
            }
        }
        if checked && !matched {
            return Err(format!(
                "'{v}' does not match the pattern {}",
                f.patterns.join(" | ")
            ));
        }
    }
    let len = || length_of(v, family, is_list);
    if let Some(l) = f.length
        && len() != l
    {
        return Err(format!("'{v}' must have length {l}, not {}", len()));
    }
    if let Some(l) = f.min_length
        && len() < l
    {
        return Err(format!("'{v}' is shorter than the minimum length {l}"));
    }
    if let Some(l) = f.max_length
        && len() > l
    {
        return Err(format!("'{v}' is longer than the maximum length {l}"));
    }
    let bound =
        |b: &Option<String>, bad: &[std::cmp::Ordering], what: &str| -> Result<(), String> {
            if let Some(b) = b
                && let Some(o) = compare(v, b, family)
                && bad.contains(&o)
            {
                return Err(format!("'{v}' is not {what} {}", b.trim()));
            }
            Ok(())
        };
    bound(&f.min_inclusive, &[Less], "at least")?;
    bound(&f.max_inclusive, &[Greater], "at most")?;
    bound(
        &f.min_exclusive,
        &[Less, std::cmp::Ordering::Equal],
        "greater than",
    )?;
    bound(
        &f.max_exclusive,
        &[Greater, std::cmp::Ordering::Equal],
        "less than",
    )?;
    if family == Family::Number {
        let (i, fr) = decimal_parts(v);
        if let Some(t) = f.total_digits
            && (i.len() + fr.len()) as u64 > u64::from(t)
        {
            return Err(format!("'{v}' has more than {t} digits"));
        }
        if let Some(t) = f.fraction_digits
            && fr.len() as u64 > u64::from(t)
        {
            return Err(format!("'{v}' has more than {t} fraction digits"));
        }
    }
    Ok(())
}

/// Compiled patterns, shared between validations (schemas are long-lived, patterns few).
fn regex_cache() -> &'static Mutex<HashMap<String, Option<Arc<Regex>>>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<Arc<Regex>>>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The pattern `p` compiled, or None when it cannot be translated (then it is not checked).
fn xsd_regex(p: &str) -> Option<Arc<Regex>> {
    if let Ok(cache) = regex_cache().lock()
        && let Some(r) = cache.get(p)
    {
        return r.clone();
    }
    let compiled = RegexBuilder::new(&translate_pattern(p))
        .size_limit(1 << 20)
        .build()
        .ok()
        .map(Arc::new);
    if let Ok(mut cache) = regex_cache().lock() {
        if cache.len() > 4096 {
            cache.clear();
        }
        cache.insert(p.to_owned(), compiled.clone());
    }
    compiled
}

/// XML Schema regular expression → `regex` syntax: implicitly anchored; `^`/`$` are literals;
/// `\i`/`\c` name-character classes; `[a-z-[aeiou]]` subtraction.
pub(crate) fn translate_pattern(p: &str) -> String {
    const INITIAL: &str = r"\p{L}_:";
    const NAME: &str = r"\p{L}\p{N}\p{M}._:\-\x{B7}";
    let mut out = String::from("^(?:");
    let mut depth = 0usize;
    let mut chars = p.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(e) = chars.next() else {
                    out.push_str(r"\\");
                    break;
                };
                match (e, depth > 0) {
                    ('i', true) => out.push_str(INITIAL),
                    ('i', false) => out.push_str(&format!("[{INITIAL}]")),
                    ('c', true) => out.push_str(NAME),
                    ('c', false) => out.push_str(&format!("[{NAME}]")),
                    ('I', _) => out.push_str(&format!("[^{INITIAL}]")),
                    ('C', _) => out.push_str(&format!("[^{NAME}]")),
                    (e, _) => {
                        out.push('\\');
                        out.push(e);
                    }
                }
            }
            '[' => {
                depth += 1;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    chars.next();
                    out.push('^');
                }
            }
            ']' if depth > 0 => {
                depth -= 1;
                out.push(']');
            }
            '-' if depth > 0 && chars.peek() == Some(&'[') => out.push_str("--"),
            '&' | '~' if depth > 0 => {
                out.push('\\');
                out.push(c);
            }
            '^' | '$' if depth == 0 => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push_str(")$");
    out
}

#[cfg(test)]
mod tests;
