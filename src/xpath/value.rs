//! XPath 1.0 values and node handles over `bpelgate_wsdl::xml` trees.
//!
//! The DOM has no parent pointers, so a node is named by its tree and the child indexes
//! leading to it from the tree's document element. That path is also what an assign `<to>`
//! needs to modify the selected node in place, and comparing paths gives document order.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use bpelgate_wsdl::xml::{Attr, Element, Node, QName, XML_NS};

#[derive(Clone)]
enum Root<'a> {
    Borrowed(&'a Element),
    Shared(Arc<Element>),
}

/// A tree nodes point into: a borrowed element (a variable's value) or a shared one (a
/// function result). The element is the document element under an implicit root node.
#[derive(Clone)]
pub struct Tree<'a> {
    root: Root<'a>,
    tag: u64,
}

impl<'a> Tree<'a> {
    /// A tree over a borrowed document element.
    pub fn borrowed(root: &'a Element) -> Self {
        Tree {
            root: Root::Borrowed(root),
            tag: 0,
        }
    }

    /// A tree over a shared document element.
    pub fn shared(root: Arc<Element>) -> Self {
        Tree {
            root: Root::Shared(root),
            tag: 0,
        }
    }

    /// A tree that owns its document element (e.g. a function's result).
    pub fn owned(root: Element) -> Self {
        Tree::shared(Arc::new(root))
    }

    /// Sets a caller-defined tag, e.g. which variable the tree is, so a node selected by an
    /// expression can be traced back to the variable to modify.
    pub fn with_tag(mut self, tag: u64) -> Self {
        self.tag = tag;
        self
    }

    /// The caller-defined tag (0 unless set).
    pub fn tag(&self) -> u64 {
        self.tag
    }

    /// The document element.
    pub fn root(&self) -> &Element {
        match &self.root {
            Root::Borrowed(e) => e,
            Root::Shared(e) => e,
        }
    }

    /// The tree's identity: the address of its document element. Two handles on the same
    /// element are the same tree; the order of ids is the order between trees.
    pub fn id(&self) -> usize {
        std::ptr::from_ref(self.root()).addr()
    }
}

impl fmt::Debug for Tree<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tree({}, tag {})", self.root().name.clark(), self.tag)
    }
}

/// What kind of node a [`NodeRef`] designates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NodeKind {
    /// The root node above the document element (the path is empty).
    Root,
    /// An element; the path leads to it.
    Element,
    /// A text node; the path leads to it.
    Text,
    /// A comment; the path leads to it.
    Comment,
    /// A processing instruction; the path leads to it.
    ProcessingInstruction,
    /// Attribute `n` (index into `Element::attrs`) of the element the path leads to.
    Attribute(usize),
    /// Namespace node `n` of the element the path leads to, indexing
    /// [`in_scope_namespaces`] of that element.
    Namespace(usize),
}

/// A borrowed view of the node a [`NodeRef`] designates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeData<'r> {
    /// The root node; the element is the document element.
    Root(&'r Element),
    /// An element.
    Element(&'r Element),
    /// A text node.
    Text(&'r str),
    /// A comment.
    Comment(&'r str),
    /// A processing instruction, target and data as written.
    ProcessingInstruction(&'r str),
    /// An attribute.
    Attribute(&'r Attr),
    /// A namespace node.
    Namespace {
        /// The prefix ("" for the default namespace).
        prefix: &'r str,
        /// The namespace URI.
        uri: &'r str,
    },
}

/// A node of a [`Tree`]: the tree, the child indexes from the document element, and the kind.
#[derive(Clone)]
pub struct NodeRef<'a> {
    tree: Tree<'a>,
    path: Vec<usize>,
    kind: NodeKind,
}

/// The element reached from `root` by following child indexes `path`.
pub fn element_at<'r>(root: &'r Element, path: &[usize]) -> Option<&'r Element> {
    let mut el = root;
    for &i in path {
        match el.children.get(i) {
            Some(Node::Element(e)) => el = e,
            _ => return None,
        }
    }
    Some(el)
}

/// Mutable variant of [`element_at`], for callers that modify a selected node.
pub fn element_at_mut<'r>(root: &'r mut Element, path: &[usize]) -> Option<&'r mut Element> {
    let mut el = root;
    for &i in path {
        match el.children.get_mut(i) {
            Some(Node::Element(e)) => el = e,
            _ => return None,
        }
    }
    Some(el)
}

/// The namespaces in scope on the element at `path`, as (prefix, URI) sorted by prefix, with
/// `xml` included and undeclarations removed. The element's own prefix and its attributes'
/// prefixes count as declared even when a tree built in memory lacks the declaration.
pub fn in_scope_namespaces<'r>(
    root: &'r Element,
    path: &[usize],
) -> Option<Vec<(&'r str, &'r str)>> {
    let mut decls: Vec<(&'r str, &'r str)> = Vec::new();
    let mut el = root;
    for (p, u) in &el.ns_decls {
        declare(&mut decls, p, u, true);
    }
    for &i in path {
        match el.children.get(i) {
            Some(Node::Element(e)) => el = e,
            _ => return None,
        }
        for (p, u) in &el.ns_decls {
            declare(&mut decls, p, u, true);
        }
    }
    if !el.name.ns.is_empty() {
        declare(&mut decls, &el.prefix, &el.name.ns, false);
    }
    for a in &el.attrs {
        if !a.prefix.is_empty() && !a.name.ns.is_empty() {
            declare(&mut decls, &a.prefix, &a.name.ns, false);
        }
    }
    decls.retain(|(p, u)| !u.is_empty() && *p != "xml" && *p != "xmlns");
    decls.push(("xml", XML_NS));
    decls.sort_unstable_by(|a, b| a.0.cmp(b.0));
    Some(decls)
}

fn declare<'r>(decls: &mut Vec<(&'r str, &'r str)>, prefix: &'r str, uri: &'r str, over: bool) {
    match decls.iter_mut().find(|(p, _)| *p == prefix) {
        Some(slot) if over => slot.1 = uri,
        Some(_) => {}
        None => decls.push((prefix, uri)),
    }
}

/// A processing instruction's target and data.
pub fn pi_parts(pi: &str) -> (&str, &str) {
    match pi.find(|c: char| c.is_whitespace()) {
        Some(i) => (&pi[..i], pi[i..].trim_start()),
        None => (pi, ""),
    }
}

impl<'a> NodeRef<'a> {
    /// The root node of `tree` (what `/` selects).
    pub fn document(tree: Tree<'a>) -> Self {
        NodeRef {
            tree,
            path: Vec::new(),
            kind: NodeKind::Root,
        }
    }

    /// The document element of `tree` (what a BPEL variable reference selects).
    pub fn element(tree: Tree<'a>) -> Self {
        NodeRef {
            tree,
            path: Vec::new(),
            kind: NodeKind::Element,
        }
    }

    /// A node by path and kind. A path that leads nowhere yields a node whose
    /// [`data`](Self::data) is `None` and whose string value is empty.
    pub fn new(tree: Tree<'a>, path: Vec<usize>, kind: NodeKind) -> Self {
        NodeRef { tree, path, kind }
    }

    /// The node's tree.
    pub fn tree(&self) -> &Tree<'a> {
        &self.tree
    }

    /// Child indexes from the document element: to the node itself, or for attributes and
    /// namespace nodes to their element.
    pub fn path(&self) -> &[usize] {
        &self.path
    }

    /// The kind of node.
    pub fn kind(&self) -> NodeKind {
        self.kind
    }

    /// The node itself, borrowed from the tree.
    pub fn data(&self) -> Option<NodeData<'_>> {
        let root = self.tree.root();
        match self.kind {
            NodeKind::Root => Some(NodeData::Root(root)),
            NodeKind::Element => element_at(root, &self.path).map(NodeData::Element),
            NodeKind::Text | NodeKind::Comment | NodeKind::ProcessingInstruction => {
                let (last, parent) = self.path.split_last()?;
                match (element_at(root, parent)?.children.get(*last)?, self.kind) {
                    (Node::Text(t), NodeKind::Text) => Some(NodeData::Text(t)),
                    (Node::Comment(t), NodeKind::Comment) => Some(NodeData::Comment(t)),
                    (Node::Pi(t), NodeKind::ProcessingInstruction) => {
                        Some(NodeData::ProcessingInstruction(t))
                    }
                    _ => None,
                }
            }
            NodeKind::Attribute(i) => element_at(root, &self.path)?
                .attrs
                .get(i)
                .map(NodeData::Attribute),
            NodeKind::Namespace(i) => {
                let (prefix, uri) = *in_scope_namespaces(root, &self.path)?.get(i)?;
                Some(NodeData::Namespace { prefix, uri })
            }
        }
    }

    /// The element, when the node is one.
    pub fn as_element(&self) -> Option<&Element> {
        match self.kind {
            NodeKind::Element => element_at(self.tree.root(), &self.path),
            _ => None,
        }
    }

    /// The element the path leads to: the node itself, or an attribute's or namespace
    /// node's element; `None` for the root and for text, comments and PIs.
    pub fn owner_element(&self) -> Option<&Element> {
        match self.kind {
            NodeKind::Element | NodeKind::Attribute(_) | NodeKind::Namespace(_) => {
                element_at(self.tree.root(), &self.path)
            }
            _ => None,
        }
    }

    /// The XPath string-value of the node.
    pub fn string_value(&self) -> String {
        match self.data() {
            Some(NodeData::Root(e) | NodeData::Element(e)) => e.text(),
            Some(NodeData::Text(t) | NodeData::Comment(t)) => t.to_owned(),
            Some(NodeData::ProcessingInstruction(p)) => pi_parts(p).1.to_owned(),
            Some(NodeData::Attribute(a)) => a.value.clone(),
            Some(NodeData::Namespace { uri, .. }) => uri.to_owned(),
            None => String::new(),
        }
    }

    /// The expanded name: of an element or attribute, a namespace node's prefix, a PI's
    /// target; `None` for nodes without a name.
    pub fn expanded_name(&self) -> Option<QName> {
        match self.data()? {
            NodeData::Element(e) => Some(e.name.clone()),
            NodeData::Attribute(a) => Some(a.name.clone()),
            NodeData::Namespace { prefix, .. } if !prefix.is_empty() => Some(QName::local(prefix)),
            NodeData::ProcessingInstruction(p) => Some(QName::local(pi_parts(p).0)),
            _ => None,
        }
    }

    /// The parent node (an attribute's or namespace node's parent is its element).
    pub fn parent(&self) -> Option<NodeRef<'a>> {
        match self.kind {
            NodeKind::Root => None,
            NodeKind::Attribute(_) | NodeKind::Namespace(_) => Some(NodeRef {
                tree: self.tree.clone(),
                path: self.path.clone(),
                kind: NodeKind::Element,
            }),
            _ => match self.path.split_last() {
                None => Some(NodeRef::document(self.tree.clone())),
                Some((_, parent)) => Some(NodeRef {
                    tree: self.tree.clone(),
                    path: parent.to_vec(),
                    kind: NodeKind::Element,
                }),
            },
        }
    }

    /// Another node of the same tree.
    pub(crate) fn sibling_node(&self, path: Vec<usize>, kind: NodeKind) -> NodeRef<'a> {
        NodeRef {
            tree: self.tree.clone(),
            path,
            kind,
        }
    }

    fn rank(&self) -> (u8, usize) {
        match self.kind {
            NodeKind::Root => (0, 0),
            NodeKind::Element
            | NodeKind::Text
            | NodeKind::Comment
            | NodeKind::ProcessingInstruction => (1, 0),
            NodeKind::Namespace(i) => (2, i),
            NodeKind::Attribute(i) => (3, i),
        }
    }

    /// Document order: trees by id, then the root, then by path (an ancestor's path is a
    /// prefix of its descendants'), and at one element the element, its namespace nodes,
    /// then its attributes.
    pub fn doc_cmp(&self, other: &Self) -> Ordering {
        self.tree
            .id()
            .cmp(&other.tree.id())
            .then_with(|| (self.kind != NodeKind::Root).cmp(&(other.kind != NodeKind::Root)))
            .then_with(|| self.path.cmp(&other.path))
            .then_with(|| self.rank().cmp(&other.rank()))
    }
}

impl PartialEq for NodeRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.doc_cmp(other) == Ordering::Equal
    }
}

impl Eq for NodeRef<'_> {}

impl PartialOrd for NodeRef<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for NodeRef<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.doc_cmp(other)
    }
}

impl fmt::Debug for NodeRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "NodeRef({:?} {:?} {:?})",
            self.tree, self.path, self.kind
        )
    }
}

/// Sorts `nodes` into document order and drops duplicates.
pub fn sort_nodes(nodes: &mut Vec<NodeRef<'_>>) {
    if nodes.windows(2).all(|w| w[0] < w[1]) {
        return;
    }
    nodes.sort_unstable();
    nodes.dedup();
}

/// An XPath 1.0 value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    /// A node-set, in document order without duplicates.
    Nodes(Vec<NodeRef<'a>>),
    /// A string.
    String(String),
    /// A number (IEEE 754 double).
    Number(f64),
    /// A boolean.
    Boolean(bool),
}

impl<'a> Value<'a> {
    /// A node-set from nodes in any order, possibly repeated.
    pub fn nodes(mut nodes: Vec<NodeRef<'a>>) -> Self {
        sort_nodes(&mut nodes);
        Value::Nodes(nodes)
    }

    /// The type's name as XPath calls it, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nodes(_) => "node-set",
            Value::String(_) => "string",
            Value::Number(_) => "number",
            Value::Boolean(_) => "boolean",
        }
    }

    /// The `boolean()` conversion.
    pub fn to_boolean(&self) -> bool {
        match self {
            Value::Nodes(n) => !n.is_empty(),
            Value::String(s) => !s.is_empty(),
            Value::Number(n) => *n != 0.0 && !n.is_nan(),
            Value::Boolean(b) => *b,
        }
    }

    /// The `number()` conversion.
    pub fn to_number(&self) -> f64 {
        match self {
            Value::Nodes(n) => n
                .first()
                .map_or(f64::NAN, |n| string_to_number(&n.string_value())),
            Value::String(s) => string_to_number(s),
            Value::Number(n) => *n,
            Value::Boolean(b) => f64::from(u8::from(*b)),
        }
    }

    /// The `string()` conversion.
    pub fn to_xpath_string(&self) -> String {
        match self {
            Value::Nodes(n) => n.first().map(NodeRef::string_value).unwrap_or_default(),
            Value::String(s) => s.clone(),
            Value::Number(n) => number_to_string(*n),
            Value::Boolean(b) => if *b { "true" } else { "false" }.to_owned(),
        }
    }

    /// The `string()` conversion, consuming the value (no copy for strings).
    pub fn into_xpath_string(self) -> String {
        match self {
            Value::String(s) => s,
            v => v.to_xpath_string(),
        }
    }
}

/// XPath whitespace: space, tab, carriage return, line feed.
pub fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// The `number()` conversion of a string: optional whitespace, an optional minus, digits with
/// an optional fraction, optional whitespace; anything else is NaN (no `+`, no exponent).
pub fn string_to_number(s: &str) -> f64 {
    let t = s.trim_matches(is_xml_space);
    let digits = t.strip_prefix('-').unwrap_or(t);
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let all_digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    let valid = all_digits(int)
        && frac.is_none_or(all_digits)
        && (!int.is_empty() || frac.is_some_and(|f| !f.is_empty()));
    if !valid {
        return f64::NAN;
    }
    t.parse().unwrap_or(f64::NAN)
}

/// The `string()` conversion of a number: `NaN`, `Infinity`, `-Infinity`, integers without a
/// decimal point, `0` for both zeros, otherwise the shortest decimal that reads back as the
/// same number, never in exponent notation.
pub fn number_to_string(n: f64) -> String {
    if n.is_nan() {
        "NaN".to_owned()
    } else if n.is_infinite() {
        if n > 0.0 { "Infinity" } else { "-Infinity" }.to_owned()
    } else if n == 0.0 {
        "0".to_owned()
    } else {
        // Rust's `Display` for f64 is the shortest round-trip decimal without an exponent.
        format!("{n}")
    }
}
