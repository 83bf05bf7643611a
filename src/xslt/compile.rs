//! Stylesheet element tree → instruction trees, with every expression parsed and resolved.

use std::collections::HashMap;
use std::sync::Arc;

use bpelgate_wsdl::wsdl::resolve_location;
use bpelgate_wsdl::xml::{Element, Node, NsScope, QName, XML_NS};

use super::pattern::Pattern;
use super::{ImportLoader, XsltError};
use crate::xpath::ast::{Expr, PathStart, Step};
use crate::xpath::{Language, parse};

/// The XSLT 1.0 namespace.
pub const XSLT_NS: &str = "http://www.w3.org/1999/XSL/Transform";

/// Namespaces whose `node-set()` function turns a result tree fragment into a node-set.
const NODE_SET_NAMESPACES: &[&str] = &[
    "http://exslt.org/common",
    "urn:schemas-microsoft-com:xslt",
    "http://xml.apache.org/xalan",
    "http://xml.apache.org/xslt",
];

/// Deepest import/include nesting followed (a guard against include cycles).
const MAX_IMPORT_DEPTH: usize = 16;

/// An attribute value template: literal text and `{expr}` parts.
#[derive(Clone, Debug)]
pub(crate) enum AvtPart {
    Lit(String),
    Expr(Expr),
}

/// A parsed attribute value template.
#[derive(Clone, Debug)]
pub(crate) struct Avt(pub(crate) Vec<AvtPart>);

/// A `xsl:sort` key.
#[derive(Clone, Debug)]
pub(crate) struct SortKey {
    pub(crate) select: Expr,
    pub(crate) data_type: Option<Avt>,
    pub(crate) order: Option<Avt>,
    pub(crate) case_order: Option<Avt>,
}

/// A `xsl:with-param`, `xsl:param` or `xsl:variable` binding.
#[derive(Clone, Debug)]
pub(crate) struct Binding {
    pub(crate) name: QName,
    pub(crate) value: BindingValue,
}

/// Where a binding's value comes from.
#[derive(Clone, Debug)]
pub(crate) enum BindingValue {
    Select(Expr),
    /// Content: a result tree fragment.
    Body(Vec<Instr>),
    /// Neither: the empty string.
    Empty,
}

/// `xsl:number`.
#[derive(Clone, Debug)]
pub(crate) struct NumberInstr {
    pub(crate) level: NumberLevel,
    pub(crate) count: Option<Pattern>,
    pub(crate) from: Option<Pattern>,
    pub(crate) value: Option<Expr>,
    pub(crate) format: Avt,
    pub(crate) grouping_separator: Option<Avt>,
    pub(crate) grouping_size: Option<Avt>,
}

/// `level` of `xsl:number`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NumberLevel {
    Single,
    Multiple,
    Any,
}

/// One instruction of a template body.
#[derive(Clone, Debug)]
pub(crate) enum Instr {
    /// Literal text (from text in the stylesheet or `xsl:text`).
    Text(String),
    /// A literal result element.
    Literal {
        name: QName,
        prefix: String,
        /// Namespace nodes copied to the result.
        ns_decls: Vec<(String, String)>,
        attrs: Vec<(QName, String, Avt)>,
        use_sets: Vec<QName>,
        body: Vec<Instr>,
    },
    ValueOf(Expr),
    CopyOf(Expr),
    Copy {
        use_sets: Vec<QName>,
        body: Vec<Instr>,
    },
    Element {
        name: Avt,
        namespace: Option<Avt>,
        /// The in-scope namespaces of the instruction (to expand a prefixed name).
        ns: Arc<Vec<(String, String)>>,
        use_sets: Vec<QName>,
        body: Vec<Instr>,
    },
    Attribute {
        name: Avt,
        namespace: Option<Avt>,
        ns: Arc<Vec<(String, String)>>,
        body: Vec<Instr>,
    },
    Comment(Vec<Instr>),
    Pi {
        name: Avt,
        body: Vec<Instr>,
    },
    If {
        test: Expr,
        body: Vec<Instr>,
    },
    Choose {
        whens: Vec<(Expr, Vec<Instr>)>,
        otherwise: Vec<Instr>,
    },
    ForEach {
        select: Expr,
        sorts: Vec<SortKey>,
        body: Vec<Instr>,
    },
    ApplyTemplates {
        select: Option<Expr>,
        mode: Option<QName>,
        sorts: Vec<SortKey>,
        params: Vec<Binding>,
    },
    CallTemplate {
        name: QName,
        params: Vec<Binding>,
    },
    ApplyImports,
    Variable(Binding),
    Number(Box<NumberInstr>),
    Message {
        terminate: bool,
        body: Vec<Instr>,
    },
}

/// A template.
#[derive(Debug)]
pub(crate) struct Template {
    pub(crate) params: Vec<Binding>,
    pub(crate) body: Vec<Instr>,
}

/// One alternative of a template's match pattern, with its priority.
#[derive(Debug)]
pub(crate) struct Rule {
    pub(crate) pattern: Pattern,
    pub(crate) mode: Option<QName>,
    pub(crate) priority: f64,
    pub(crate) precedence: usize,
    /// Position among all rules in stylesheet order (later wins among equals).
    pub(crate) order: usize,
    pub(crate) template: usize,
}

/// One `xsl:attribute-set` declaration: the sets it uses, then its attributes.
pub(crate) type AttributeSet = (Vec<QName>, Vec<Instr>);

/// `xsl:key`.
#[derive(Debug)]
pub(crate) struct KeyDef {
    pub(crate) name: QName,
    pub(crate) matches: Pattern,
    pub(crate) use_: Expr,
}

/// A top-level `xsl:variable` or `xsl:param`.
#[derive(Debug)]
pub(crate) struct Global {
    pub(crate) binding: Binding,
    pub(crate) is_param: bool,
}

/// `xsl:decimal-format`.
#[derive(Clone, Debug)]
pub(crate) struct DecimalFormat {
    pub(crate) decimal_separator: char,
    pub(crate) grouping_separator: char,
    pub(crate) infinity: String,
    pub(crate) minus_sign: char,
    pub(crate) nan: String,
    pub(crate) percent: char,
    pub(crate) per_mille: char,
    pub(crate) zero_digit: char,
    pub(crate) digit: char,
    pub(crate) pattern_separator: char,
}

impl Default for DecimalFormat {
    fn default() -> Self {
        DecimalFormat {
            decimal_separator: '.',
            grouping_separator: ',',
            infinity: "Infinity".to_owned(),
            minus_sign: '-',
            nan: "NaN".to_owned(),
            percent: '%',
            per_mille: '\u{2030}',
            zero_digit: '0',
            digit: '#',
            pattern_separator: ';',
        }
    }
}

/// A name test of `xsl:strip-space`/`xsl:preserve-space`.
#[derive(Clone, Debug)]
pub(crate) enum SpaceTest {
    Any,
    Namespace(String),
    Name(QName),
}

impl SpaceTest {
    fn priority(&self) -> i32 {
        match self {
            SpaceTest::Any => 0,
            SpaceTest::Namespace(_) => 1,
            SpaceTest::Name(_) => 2,
        }
    }

    pub(crate) fn matches(&self, name: &QName) -> bool {
        match self {
            SpaceTest::Any => true,
            SpaceTest::Namespace(ns) => name.ns == *ns,
            SpaceTest::Name(q) => q == name,
        }
    }
}

/// A whitespace-stripping rule: test, strip (true) or preserve, precedence.
#[derive(Clone, Debug)]
pub(crate) struct SpaceRule {
    pub(crate) test: SpaceTest,
    pub(crate) strip: bool,
    pub(crate) precedence: usize,
}

/// The compiled stylesheet.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub(crate) templates: Vec<Template>,
    pub(crate) rules: Vec<Rule>,
    pub(crate) named: HashMap<QName, usize>,
    pub(crate) globals: Vec<Global>,
    pub(crate) keys: Vec<KeyDef>,
    pub(crate) attribute_sets: HashMap<QName, Vec<AttributeSet>>,
    pub(crate) decimal_formats: HashMap<QName, DecimalFormat>,
    pub(crate) space_rules: Vec<SpaceRule>,
    pub(crate) output_method: String,
    /// The main stylesheet document, for `document('')`.
    pub(crate) sheet: Arc<Element>,
}

impl Compiled {
    /// True when whitespace-only text children of an element named `name` are stripped.
    pub(crate) fn strips(&self, name: &QName) -> bool {
        let mut best: Option<(usize, i32, bool)> = None;
        for r in &self.space_rules {
            if r.test.matches(name) {
                let key = (r.precedence, r.test.priority(), r.strip);
                if best.is_none_or(|b| (key.0, key.1) >= (b.0, b.1)) {
                    best = Some(key);
                }
            }
        }
        best.is_some_and(|b| b.2)
    }
}

/// Compiles `root` (at package path `path`).
pub(crate) fn compile(
    root: Element,
    path: &str,
    load: &mut ImportLoader<'_>,
) -> Result<Compiled, XsltError> {
    let sheet = Arc::new(root);
    let mut c = Compiler {
        out: Compiled {
            templates: Vec::new(),
            rules: Vec::new(),
            named: HashMap::new(),
            globals: Vec::new(),
            keys: Vec::new(),
            attribute_sets: HashMap::new(),
            decimal_formats: HashMap::new(),
            space_rules: Vec::new(),
            output_method: "xml".to_owned(),
            sheet: Arc::clone(&sheet),
        },
        load,
        next_precedence: 0,
        named_precedence: HashMap::new(),
        global_precedence: HashMap::new(),
    };
    let mut scope = NsScope::new();
    if sheet.name.ns == XSLT_NS && matches!(sheet.name.local.as_str(), "stylesheet" | "transform") {
        c.module(&sheet, path, 0)?;
    } else if sheet.attr_ns(XSLT_NS, "version").is_some() {
        // A literal result element as the stylesheet: one template matching '/'.
        let precedence = c.next_precedence;
        c.next_precedence += 1;
        let pattern = Pattern::compile("/", &[]).map_err(XsltError::compile)?;
        let mut excluded = Vec::new();
        scope.push(&sheet.ns_decls);
        let body = vec![c.literal(&sheet, &mut scope, &mut excluded)?];
        let t = c.out.templates.len();
        c.out.templates.push(Template {
            params: Vec::new(),
            body,
        });
        for (alt, priority) in pattern.alternatives() {
            c.out.rules.push(Rule {
                pattern: alt,
                mode: None,
                priority,
                precedence,
                order: 0,
                template: t,
            });
        }
    } else {
        return Err(XsltError::compile(format!(
            "the stylesheet's root element is <{}>, not xsl:stylesheet or xsl:transform",
            sheet.name
        )));
    }
    Ok(c.out)
}

struct Compiler<'l, 'm> {
    out: Compiled,
    load: &'l mut ImportLoader<'m>,
    next_precedence: usize,
    named_precedence: HashMap<QName, usize>,
    global_precedence: HashMap<QName, usize>,
}

fn at(el: &Element, message: impl std::fmt::Display) -> XsltError {
    XsltError::compile(format!(
        "{}:{}: <{}>: {message}",
        el.pos.line,
        el.pos.col,
        display_name(el)
    ))
}

fn display_name(el: &Element) -> String {
    if el.prefix.is_empty() {
        el.name.local.clone()
    } else {
        format!("{}:{}", el.prefix, el.name.local)
    }
}

fn is_xsl(el: &Element, local: &str) -> bool {
    el.is(XSLT_NS, local)
}

/// Parses and resolves an XPath 1.0 expression, then rewrites the XSLT functions that need
/// what a [`Resolver`](crate::xpath::Resolver) cannot see (the context node, the expression's
/// namespaces) into calls that carry it.
pub(crate) fn compile_expr(text: &str, ns: &[(String, String)]) -> Result<Expr, String> {
    let mut e = parse(text, Language::XPath1).map_err(|e| format!("'{text}': {e}"))?;
    e.resolve(ns).map_err(|errs| {
        let msgs: Vec<String> = errs.iter().map(ToString::to_string).collect();
        format!("'{text}': {}", msgs.join("; "))
    })?;
    rewrite(&mut e, ns);
    Ok(e)
}

fn context_node() -> Expr {
    Expr::Path {
        start: PathStart::Context,
        steps: vec![Step::Axis {
            axis: crate::xpath::ast::Axis::SelfAxis,
            test: crate::xpath::ast::NodeTest::Kind(crate::xpath::ast::KindTest::AnyNode),
            predicates: Vec::new(),
        }],
    }
}

fn root_node() -> Expr {
    Expr::Path {
        start: PathStart::Root,
        steps: Vec::new(),
    }
}

/// `generate-id()` → `generate-id(.)`; `key(n, v)` → `key(n, v, /)` (the context document);
/// `element-available`/`function-available`/`key`/`format-number` with a literal QName get
/// it in Clark notation; `exsl:node-set(x)` and friends are named `node-set` in no namespace.
fn rewrite(e: &mut Expr, ns: &[(String, String)]) {
    match e {
        Expr::Binary { lhs, rhs, .. } => {
            rewrite(lhs, ns);
            rewrite(rhs, ns);
        }
        Expr::Neg(x) => rewrite(x, ns),
        Expr::Call { name, args } => {
            args.iter_mut().for_each(|a| rewrite(a, ns));
            let in_no_ns = name.ns.as_deref().unwrap_or("").is_empty();
            if !in_no_ns {
                if name.local == "node-set"
                    && name
                        .ns
                        .as_deref()
                        .is_some_and(|n| NODE_SET_NAMESPACES.contains(&n))
                {
                    name.ns = Some(String::new());
                    name.prefix.clear();
                    name.local = "xslt:node-set".to_owned();
                }
                return;
            }
            match name.local.as_str() {
                "generate-id" if args.is_empty() => args.push(context_node()),
                "key" if args.len() == 2 => {
                    clarkify(&mut args[0], ns, false);
                    args.push(root_node());
                }
                "format-number" if args.len() == 3 => clarkify(&mut args[2], ns, false),
                "system-property" if args.len() == 1 => clarkify(&mut args[0], ns, false),
                "element-available" | "function-available" if args.len() == 1 => {
                    // Unprefixed function names are XPath core/XSLT functions (no namespace);
                    // unprefixed element names would take the default namespace, but only
                    // xsl: elements are ever available, so no namespace is right for both.
                    clarkify(&mut args[0], ns, false);
                }
                _ => {}
            }
        }
        Expr::Filter {
            primary,
            predicates,
        } => {
            rewrite(primary, ns);
            predicates.iter_mut().for_each(|p| rewrite(p, ns));
        }
        Expr::Path { start, steps } => {
            if let PathStart::Expr(x) = start {
                rewrite(x, ns);
            }
            for s in steps {
                match s {
                    Step::Axis { predicates, .. } => {
                        predicates.iter_mut().for_each(|p| rewrite(p, ns));
                    }
                    Step::Filter(x) => rewrite(x, ns),
                }
            }
        }
        _ => {}
    }
}

/// Replaces a literal QName argument by its Clark notation, resolved in `ns`.
fn clarkify(arg: &mut Expr, ns: &[(String, String)], use_default: bool) {
    if let Expr::Literal(s) = arg {
        let mut scope = NsScope::new();
        scope.push(ns);
        if let Ok(q) = scope.resolve(s, use_default) {
            *s = q.clark();
        }
    }
}

/// Parses an attribute value template.
pub(crate) fn compile_avt(text: &str, ns: &[(String, String)]) -> Result<Avt, String> {
    let mut parts = Vec::new();
    let mut lit = String::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' if chars.peek().map(|p| p.1) == Some('{') => {
                chars.next();
                lit.push('{');
            }
            '}' if chars.peek().map(|p| p.1) == Some('}') => {
                chars.next();
                lit.push('}');
            }
            '}' => {
                return Err(format!(
                    "'{text}': unmatched '}}' in attribute value template"
                ));
            }
            '{' => {
                // The expression ends at the first '}' outside a string literal.
                let start = i + 1;
                let mut end = None;
                let mut quote: Option<char> = None;
                for (j, d) in chars.by_ref() {
                    match (quote, d) {
                        (Some(q), d) if d == q => quote = None,
                        (Some(_), _) => {}
                        (None, '"' | '\'') => quote = Some(d),
                        (None, '}') => {
                            end = Some(j);
                            break;
                        }
                        _ => {}
                    }
                }
                let end = end.ok_or_else(|| {
                    format!("'{text}': unterminated '{{' in attribute value template")
                })?;
                if !lit.is_empty() {
                    parts.push(AvtPart::Lit(std::mem::take(&mut lit)));
                }
                parts.push(AvtPart::Expr(compile_expr(&text[start..end], ns)?));
            }
            c => lit.push(c),
        }
    }
    if !lit.is_empty() {
        parts.push(AvtPart::Lit(lit));
    }
    Ok(Avt(parts))
}

fn is_space_only(s: &str) -> bool {
    s.chars().all(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
}

impl Compiler<'_, '_> {
    fn ns_vec(scope: &NsScope) -> Vec<(String, String)> {
        scope.in_scope()
    }

    fn expr(&self, el: &Element, attr: &str, scope: &NsScope) -> Result<Expr, XsltError> {
        let text = el
            .attr(attr)
            .ok_or_else(|| at(el, format!("the {attr} attribute is required")))?;
        compile_expr(text, &Self::ns_vec(scope)).map_err(|m| at(el, m))
    }

    fn opt_expr(
        &self,
        el: &Element,
        attr: &str,
        scope: &NsScope,
    ) -> Result<Option<Expr>, XsltError> {
        el.attr(attr)
            .map(|t| compile_expr(t, &Self::ns_vec(scope)).map_err(|m| at(el, m)))
            .transpose()
    }

    fn avt(&self, el: &Element, attr: &str, scope: &NsScope) -> Result<Option<Avt>, XsltError> {
        el.attr(attr)
            .map(|t| compile_avt(t, &Self::ns_vec(scope)).map_err(|m| at(el, m)))
            .transpose()
    }

    fn pattern(&self, el: &Element, attr: &str, scope: &NsScope) -> Result<Pattern, XsltError> {
        let text = el
            .attr(attr)
            .ok_or_else(|| at(el, format!("the {attr} attribute is required")))?;
        Pattern::compile(text, &Self::ns_vec(scope)).map_err(|m| at(el, m))
    }

    fn qname(&self, el: &Element, value: &str, scope: &NsScope) -> Result<QName, XsltError> {
        // QNames in XSLT attributes (template names, modes, keys) do not take the default
        // namespace.
        scope.resolve(value, false).map_err(|m| at(el, m))
    }

    fn qname_attr(
        &self,
        el: &Element,
        attr: &str,
        scope: &NsScope,
    ) -> Result<Option<QName>, XsltError> {
        el.attr(attr).map(|v| self.qname(el, v, scope)).transpose()
    }

    fn qname_list(
        &self,
        el: &Element,
        value: Option<&str>,
        scope: &NsScope,
    ) -> Result<Vec<QName>, XsltError> {
        value
            .unwrap_or("")
            .split_whitespace()
            .map(|v| self.qname(el, v, scope))
            .collect()
    }

    /// One stylesheet module: its imports first (lower precedence), then its declarations
    /// and those of the modules it includes.
    fn module(&mut self, el: &Element, path: &str, depth: usize) -> Result<(), XsltError> {
        if depth > MAX_IMPORT_DEPTH {
            return Err(at(
                el,
                "xsl:import/xsl:include nesting is too deep (a cycle?)",
            ));
        }
        let mut modules: Vec<(Arc<Element>, String)> = Vec::new();
        self.gather(Arc::new(el.clone()), path, &mut modules, depth)?;
        let mut imports = Vec::new();
        for (doc, p) in &modules {
            for c in doc.elements().filter(|c| is_xsl(c, "import")) {
                let href = c
                    .attr("href")
                    .ok_or_else(|| at(c, "the href attribute is required"))?;
                let target = resolve_location(p, href).map_err(|m| at(c, m))?;
                let loaded = (self.load)(&target).map_err(|m| at(c, m))?;
                imports.push((loaded, target));
            }
        }
        for (doc, target) in imports {
            check_module_root(&doc)?;
            self.module(&doc, &target, depth + 1)?;
        }
        let precedence = self.next_precedence;
        self.next_precedence += 1;
        for (doc, _) in &modules {
            let mut s = NsScope::new();
            s.push(&doc.ns_decls);
            let mut excluded = excluded_uris(doc.attr("exclude-result-prefixes"), &s);
            excluded.extend(excluded_uris(doc.attr("extension-element-prefixes"), &s));
            for c in doc.elements() {
                s.push(&c.ns_decls);
                let r = self.top_level(c, &mut s, precedence, &excluded);
                s.pop();
                r?;
            }
        }
        Ok(())
    }

    /// Collects `el` and, recursively, the modules it includes.
    fn gather(
        &mut self,
        el: Arc<Element>,
        path: &str,
        out: &mut Vec<(Arc<Element>, String)>,
        depth: usize,
    ) -> Result<(), XsltError> {
        if depth > MAX_IMPORT_DEPTH {
            return Err(at(&el, "xsl:include nesting is too deep (a cycle?)"));
        }
        let mut included = Vec::new();
        for c in el.elements().filter(|c| is_xsl(c, "include")) {
            let href = c
                .attr("href")
                .ok_or_else(|| at(c, "the href attribute is required"))?;
            let target = resolve_location(path, href).map_err(|m| at(c, m))?;
            let doc = (self.load)(&target).map_err(|m| at(c, m))?;
            check_module_root(&doc)?;
            included.push((doc, target));
        }
        out.push((el, path.to_owned()));
        for (doc, target) in included {
            self.gather(Arc::new(doc), &target, out, depth + 1)?;
        }
        Ok(())
    }

    fn top_level(
        &mut self,
        c: &Element,
        scope: &mut NsScope,
        precedence: usize,
        excluded: &[String],
    ) -> Result<(), XsltError> {
        if c.name.ns != XSLT_NS {
            // Top-level elements in other namespaces are user data; ignored.
            return Ok(());
        }
        match c.name.local.as_str() {
            "import" | "include" => {}
            "template" => self.template(c, scope, precedence, excluded)?,
            "variable" | "param" => {
                let binding = self.binding(c, scope, excluded)?;
                let is_param = c.name.local == "param";
                // The declaration of higher precedence wins; equal precedence is an error.
                match self.global_precedence.get(&binding.name) {
                    Some(&p) if p == precedence => {
                        return Err(at(
                            c,
                            format!("global variable '{}' is declared twice", binding.name),
                        ));
                    }
                    Some(&p) if p > precedence => return Ok(()),
                    _ => {}
                }
                self.global_precedence
                    .insert(binding.name.clone(), precedence);
                self.out.globals.retain(|g| g.binding.name != binding.name);
                self.out.globals.push(Global { binding, is_param });
            }
            "key" => {
                let name = self
                    .qname_attr(c, "name", scope)?
                    .ok_or_else(|| at(c, "the name attribute is required"))?;
                let matches = self.pattern(c, "match", scope)?;
                let use_ = self.expr(c, "use", scope)?;
                self.out.keys.push(KeyDef {
                    name,
                    matches,
                    use_,
                });
            }
            "output" => {
                if let Some(m) = c.attr("method") {
                    self.out.output_method = m.trim().to_owned();
                }
            }
            "strip-space" | "preserve-space" => {
                let strip = c.name.local == "strip-space";
                let elements = c
                    .attr("elements")
                    .ok_or_else(|| at(c, "the elements attribute is required"))?;
                for t in elements.split_whitespace() {
                    let test = if t == "*" {
                        SpaceTest::Any
                    } else if let Some(p) = t.strip_suffix(":*") {
                        let uri = scope.lookup(p).ok_or_else(|| {
                            at(c, format!("namespace prefix '{p}' is not declared"))
                        })?;
                        SpaceTest::Namespace(uri.to_owned())
                    } else {
                        SpaceTest::Name(self.qname(c, t, scope)?)
                    };
                    self.out.space_rules.push(SpaceRule {
                        test,
                        strip,
                        precedence,
                    });
                }
            }
            "attribute-set" => {
                let name = self
                    .qname_attr(c, "name", scope)?
                    .ok_or_else(|| at(c, "the name attribute is required"))?;
                let uses = self.qname_list(c, c.attr("use-attribute-sets"), scope)?;
                let mut body = Vec::new();
                for a in c.elements() {
                    if !is_xsl(a, "attribute") {
                        return Err(at(a, "only xsl:attribute is allowed in xsl:attribute-set"));
                    }
                    scope.push(&a.ns_decls);
                    let r = self.instruction(a, scope, excluded);
                    scope.pop();
                    body.push(r?);
                }
                self.out
                    .attribute_sets
                    .entry(name)
                    .or_default()
                    .push((uses, body));
            }
            "decimal-format" => {
                let name = self.qname_attr(c, "name", scope)?.unwrap_or_default();
                let mut f = DecimalFormat::default();
                let ch = |attr: &str, slot: &mut char| -> Result<(), XsltError> {
                    if let Some(v) = c.attr(attr) {
                        let mut it = v.chars();
                        match (it.next(), it.next()) {
                            (Some(x), None) => *slot = x,
                            _ => return Err(at(c, format!("{attr} must be one character"))),
                        }
                    }
                    Ok(())
                };
                ch("decimal-separator", &mut f.decimal_separator)?;
                ch("grouping-separator", &mut f.grouping_separator)?;
                ch("minus-sign", &mut f.minus_sign)?;
                ch("percent", &mut f.percent)?;
                ch("per-mille", &mut f.per_mille)?;
                ch("zero-digit", &mut f.zero_digit)?;
                ch("digit", &mut f.digit)?;
                ch("pattern-separator", &mut f.pattern_separator)?;
                if let Some(v) = c.attr("infinity") {
                    f.infinity = v.to_owned();
                }
                if let Some(v) = c.attr("NaN") {
                    f.nan = v.to_owned();
                }
                self.out.decimal_formats.insert(name, f);
            }
            "namespace-alias" => {
                return Err(at(c, "xsl:namespace-alias is not supported"));
            }
            other => {
                return Err(at(
                    c,
                    format!("xsl:{other} is not allowed at the top level"),
                ));
            }
        }
        Ok(())
    }

    fn template(
        &mut self,
        c: &Element,
        scope: &mut NsScope,
        precedence: usize,
        excluded: &[String],
    ) -> Result<(), XsltError> {
        let name = self.qname_attr(c, "name", scope)?;
        let mode = self.qname_attr(c, "mode", scope)?;
        let pattern = match c.attr("match") {
            Some(_) => Some(self.pattern(c, "match", scope)?),
            None => None,
        };
        if pattern.is_none() && name.is_none() {
            return Err(at(c, "a template needs a match or a name attribute"));
        }
        let priority = match c.attr("priority") {
            Some(p) => Some(
                p.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| at(c, format!("priority '{p}' is not a number")))?,
            ),
            None => None,
        };
        let (params, body) = self.body_with_params(c, scope, excluded)?;
        let t = self.out.templates.len();
        self.out.templates.push(Template { params, body });
        if let Some(n) = name {
            match self.named_precedence.get(&n) {
                Some(&p) if p == precedence => {
                    return Err(at(c, format!("template '{n}' is defined twice")));
                }
                Some(&p) if p > precedence => {}
                _ => {
                    self.named_precedence.insert(n.clone(), precedence);
                    self.out.named.insert(n, t);
                }
            }
        }
        if let Some(pattern) = pattern {
            for (alt, default_priority) in pattern.alternatives() {
                let order = self.out.rules.len();
                self.out.rules.push(Rule {
                    pattern: alt,
                    mode: mode.clone(),
                    priority: priority.unwrap_or(default_priority),
                    precedence,
                    order,
                    template: t,
                });
            }
        }
        Ok(())
    }

    /// A template body: leading `xsl:param`s, then instructions.
    fn body_with_params(
        &mut self,
        el: &Element,
        scope: &mut NsScope,
        excluded: &[String],
    ) -> Result<(Vec<Binding>, Vec<Instr>), XsltError> {
        let mut params = Vec::new();
        let mut rest = Element::new(el.name.clone());
        rest.attrs.clone_from(&el.attrs);
        let mut in_params = true;
        for n in &el.children {
            match n {
                Node::Element(p) if is_xsl(p, "param") => {
                    if !in_params {
                        return Err(at(
                            p,
                            "xsl:param must come before the template's other content",
                        ));
                    }
                    scope.push(&p.ns_decls);
                    let b = self.binding(p, scope, excluded);
                    scope.pop();
                    params.push(b?);
                }
                Node::Text(t) if is_space_only(t) => rest.children.push(n.clone()),
                other => {
                    in_params = false;
                    rest.children.push(other.clone());
                }
            }
        }
        let body = self.children(&rest, scope, excluded, preserves_space(el))?;
        Ok((params, body))
    }

    fn binding(
        &mut self,
        el: &Element,
        scope: &mut NsScope,
        excluded: &[String],
    ) -> Result<Binding, XsltError> {
        let name = self
            .qname_attr(el, "name", scope)?
            .ok_or_else(|| at(el, "the name attribute is required"))?;
        let value = if let Some(sel) = self.opt_expr(el, "select", scope)? {
            if el.children.iter().any(|n| {
                !matches!(n, Node::Text(t) if is_space_only(t)) && !matches!(n, Node::Comment(_))
            }) {
                return Err(at(el, "a binding with a select attribute must be empty"));
            }
            BindingValue::Select(sel)
        } else if el.children.is_empty() {
            BindingValue::Empty
        } else {
            BindingValue::Body(self.children(el, scope, excluded, preserves_space(el))?)
        };
        Ok(Binding { name, value })
    }

    /// The instructions made of `el`'s children.
    fn children(
        &mut self,
        el: &Element,
        scope: &mut NsScope,
        excluded: &[String],
        preserve: bool,
    ) -> Result<Vec<Instr>, XsltError> {
        let mut out = Vec::new();
        for n in &el.children {
            match n {
                Node::Text(t) => {
                    if preserve || !is_space_only(t) {
                        out.push(Instr::Text(t.clone()));
                    }
                }
                Node::Element(c) => {
                    scope.push(&c.ns_decls);
                    let r = self.instruction(c, scope, excluded);
                    scope.pop();
                    out.push(r?);
                }
                Node::Comment(_) | Node::Pi(_) => {}
            }
        }
        // Drop what yields nothing, so bodies compare cheaply for emptiness.
        out.retain(|i| !matches!(i, Instr::Text(t) if t.is_empty()));
        Ok(out)
    }

    fn sorts_and_params(
        &mut self,
        el: &Element,
        scope: &mut NsScope,
        excluded: &[String],
    ) -> Result<(Vec<SortKey>, Vec<Binding>), XsltError> {
        let mut sorts = Vec::new();
        let mut params = Vec::new();
        for c in el.elements() {
            scope.push(&c.ns_decls);
            let r = (|| -> Result<(), XsltError> {
                if is_xsl(c, "sort") {
                    let select = match c.attr("select") {
                        Some(_) => self.expr(c, "select", scope)?,
                        None => context_node(),
                    };
                    sorts.push(SortKey {
                        select,
                        data_type: self.avt(c, "data-type", scope)?,
                        order: self.avt(c, "order", scope)?,
                        case_order: self.avt(c, "case-order", scope)?,
                    });
                } else if is_xsl(c, "with-param") {
                    params.push(self.binding(c, scope, excluded)?);
                } else {
                    return Err(at(c, format!("not allowed in <{}>", display_name(el))));
                }
                Ok(())
            })();
            scope.pop();
            r?;
        }
        Ok((sorts, params))
    }

    fn use_sets(
        &self,
        el: &Element,
        attr: Option<&str>,
        scope: &NsScope,
    ) -> Result<Vec<QName>, XsltError> {
        self.qname_list(el, attr, scope)
    }

    fn instruction(
        &mut self,
        el: &Element,
        scope: &mut NsScope,
        excluded: &[String],
    ) -> Result<Instr, XsltError> {
        if el.name.ns != XSLT_NS {
            return self.literal(el, scope, &mut excluded.to_vec());
        }
        let body = |s: &mut Self, scope: &mut NsScope| {
            s.children(el, scope, excluded, preserves_space(el))
        };
        Ok(match el.name.local.as_str() {
            "apply-templates" => {
                let select = self.opt_expr(el, "select", scope)?;
                let mode = self.qname_attr(el, "mode", scope)?;
                let (sorts, params) = self.sorts_and_params(el, scope, excluded)?;
                Instr::ApplyTemplates {
                    select,
                    mode,
                    sorts,
                    params,
                }
            }
            "call-template" => {
                let name = self
                    .qname_attr(el, "name", scope)?
                    .ok_or_else(|| at(el, "the name attribute is required"))?;
                let (sorts, params) = self.sorts_and_params(el, scope, excluded)?;
                if !sorts.is_empty() {
                    return Err(at(el, "xsl:sort is not allowed here"));
                }
                Instr::CallTemplate { name, params }
            }
            "apply-imports" => Instr::ApplyImports,
            "for-each" => {
                let select = self.expr(el, "select", scope)?;
                let mut sorts = Vec::new();
                let mut rest = Element::new(el.name.clone());
                rest.attrs.clone_from(&el.attrs);
                for n in &el.children {
                    match n {
                        Node::Element(s) if is_xsl(s, "sort") => {
                            scope.push(&s.ns_decls);
                            let r = (|| -> Result<SortKey, XsltError> {
                                Ok(SortKey {
                                    select: match s.attr("select") {
                                        Some(_) => self.expr(s, "select", scope)?,
                                        None => context_node(),
                                    },
                                    data_type: self.avt(s, "data-type", scope)?,
                                    order: self.avt(s, "order", scope)?,
                                    case_order: self.avt(s, "case-order", scope)?,
                                })
                            })();
                            scope.pop();
                            sorts.push(r?);
                        }
                        other => rest.children.push(other.clone()),
                    }
                }
                let body = self.children(&rest, scope, excluded, preserves_space(el))?;
                Instr::ForEach {
                    select,
                    sorts,
                    body,
                }
            }
            "value-of" => Instr::ValueOf(self.expr(el, "select", scope)?),
            "copy-of" => Instr::CopyOf(self.expr(el, "select", scope)?),
            "copy" => Instr::Copy {
                use_sets: self.use_sets(el, el.attr("use-attribute-sets"), scope)?,
                body: body(self, scope)?,
            },
            "text" => {
                let mut t = String::new();
                for n in &el.children {
                    match n {
                        Node::Text(s) => t.push_str(s),
                        Node::Element(c) => return Err(at(c, "xsl:text may only contain text")),
                        _ => {}
                    }
                }
                Instr::Text(t)
            }
            "element" => Instr::Element {
                name: self
                    .avt(el, "name", scope)?
                    .ok_or_else(|| at(el, "the name attribute is required"))?,
                namespace: self.avt(el, "namespace", scope)?,
                ns: Arc::new(scope.in_scope()),
                use_sets: self.use_sets(el, el.attr("use-attribute-sets"), scope)?,
                body: body(self, scope)?,
            },
            "attribute" => Instr::Attribute {
                name: self
                    .avt(el, "name", scope)?
                    .ok_or_else(|| at(el, "the name attribute is required"))?,
                namespace: self.avt(el, "namespace", scope)?,
                ns: Arc::new(scope.in_scope()),
                body: body(self, scope)?,
            },
            "comment" => Instr::Comment(body(self, scope)?),
            "processing-instruction" => Instr::Pi {
                name: self
                    .avt(el, "name", scope)?
                    .ok_or_else(|| at(el, "the name attribute is required"))?,
                body: body(self, scope)?,
            },
            "if" => Instr::If {
                test: self.expr(el, "test", scope)?,
                body: body(self, scope)?,
            },
            "choose" => {
                let mut whens = Vec::new();
                let mut otherwise = Vec::new();
                for c in el.elements() {
                    scope.push(&c.ns_decls);
                    let r = (|| -> Result<(), XsltError> {
                        if is_xsl(c, "when") {
                            let test = self.expr(c, "test", scope)?;
                            whens.push((
                                test,
                                self.children(c, scope, excluded, preserves_space(c))?,
                            ));
                        } else if is_xsl(c, "otherwise") {
                            otherwise = self.children(c, scope, excluded, preserves_space(c))?;
                        } else {
                            return Err(at(
                                c,
                                "only xsl:when and xsl:otherwise are allowed in xsl:choose",
                            ));
                        }
                        Ok(())
                    })();
                    scope.pop();
                    r?;
                }
                if whens.is_empty() {
                    return Err(at(el, "xsl:choose needs at least one xsl:when"));
                }
                Instr::Choose { whens, otherwise }
            }
            "variable" => Instr::Variable(self.binding(el, scope, excluded)?),
            "param" => {
                return Err(at(
                    el,
                    "xsl:param is only allowed at the start of a template",
                ));
            }
            "message" => Instr::Message {
                terminate: el.attr("terminate").map(str::trim) == Some("yes"),
                body: body(self, scope)?,
            },
            "number" => {
                let level = match el.attr("level").map(str::trim) {
                    None | Some("single") => NumberLevel::Single,
                    Some("multiple") => NumberLevel::Multiple,
                    Some("any") => NumberLevel::Any,
                    Some(l) => {
                        return Err(at(
                            el,
                            format!("level '{l}' must be single, multiple or any"),
                        ));
                    }
                };
                let count = match el.attr("count") {
                    Some(_) => Some(self.pattern(el, "count", scope)?),
                    None => None,
                };
                let from = match el.attr("from") {
                    Some(_) => Some(self.pattern(el, "from", scope)?),
                    None => None,
                };
                Instr::Number(Box::new(NumberInstr {
                    level,
                    count,
                    from,
                    value: self.opt_expr(el, "value", scope)?,
                    format: self
                        .avt(el, "format", scope)?
                        .unwrap_or_else(|| Avt(vec![AvtPart::Lit("1".to_owned())])),
                    grouping_separator: self.avt(el, "grouping-separator", scope)?,
                    grouping_size: self.avt(el, "grouping-size", scope)?,
                }))
            }
            // A fallback is for instructions this processor lacks; all XSLT 1.0 ones are here.
            "fallback" => Instr::Text(String::new()),
            other => {
                // Forwards-compatible processing would run xsl:fallback; no stylesheet BPEL
                // uses needs that, so an unknown instruction is an error.
                if let Some(fb) = el.child(XSLT_NS, "fallback") {
                    let mut block = self.children(fb, scope, excluded, preserves_space(fb))?;
                    return Ok(match block.len() {
                        1 => block.remove(0),
                        _ => Instr::If {
                            test: Expr::Call {
                                name: crate::xpath::Name {
                                    prefix: String::new(),
                                    local: "true".to_owned(),
                                    ns: Some(String::new()),
                                    offset: 0,
                                },
                                args: Vec::new(),
                            },
                            body: block,
                        },
                    });
                }
                return Err(at(
                    el,
                    format!("xsl:{other} is not an XSLT 1.0 instruction"),
                ));
            }
        })
    }

    /// A literal result element.
    fn literal(
        &mut self,
        el: &Element,
        scope: &mut NsScope,
        excluded: &mut Vec<String>,
    ) -> Result<Instr, XsltError> {
        let mark = excluded.len();
        let ext = excluded_uris(el.attr_ns(XSLT_NS, "exclude-result-prefixes"), scope);
        excluded.extend(ext);
        let ext = excluded_uris(el.attr_ns(XSLT_NS, "extension-element-prefixes"), scope);
        excluded.extend(ext);
        let ns_decls: Vec<(String, String)> = scope
            .in_scope()
            .into_iter()
            .filter(|(_, u)| u != XSLT_NS && u != XML_NS && !excluded.contains(u))
            .collect();
        let nsv = Self::ns_vec(scope);
        let mut attrs = Vec::new();
        for a in &el.attrs {
            if a.name.ns == XSLT_NS {
                continue;
            }
            let avt = compile_avt(&a.value, &nsv).map_err(|m| at(el, m))?;
            attrs.push((a.name.clone(), a.prefix.clone(), avt));
        }
        let use_sets = self.use_sets(el, el.attr_ns(XSLT_NS, "use-attribute-sets"), scope)?;
        let body = self.children(el, scope, excluded, preserves_space(el));
        excluded.truncate(mark);
        Ok(Instr::Literal {
            name: el.name.clone(),
            prefix: el.prefix.clone(),
            ns_decls,
            attrs,
            use_sets,
            body: body?,
        })
    }
}

fn check_module_root(doc: &Element) -> Result<(), XsltError> {
    if doc.name.ns == XSLT_NS && matches!(doc.name.local.as_str(), "stylesheet" | "transform") {
        Ok(())
    } else {
        Err(at(
            doc,
            "an imported or included document must be an xsl:stylesheet",
        ))
    }
}

fn preserves_space(el: &Element) -> bool {
    el.attr_ns(XML_NS, "space") == Some("preserve")
}

/// The namespace URIs named by an `exclude-result-prefixes`-like list.
fn excluded_uris(list: Option<&str>, scope: &NsScope) -> Vec<String> {
    let mut out = Vec::new();
    for p in list.unwrap_or("").split_whitespace() {
        let prefix = if p == "#default" { "" } else { p };
        if p == "#all" {
            out.extend(scope.in_scope().into_iter().map(|(_, u)| u));
            continue;
        }
        if let Some(u) = scope.lookup(prefix) {
            out.push(u.to_owned());
        }
    }
    out
}
