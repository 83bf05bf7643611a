//! Evaluator tests: conversions, operators, every axis and core function, namespaces,
//! document order, and BPEL variables through a test resolver.

use std::cell::Cell;

use bpelgate_wsdl::xml::{Element, Limits, Node, QName, parse_str};

use super::ast::Language;
use super::compile::{Compiled, compile};
use super::error::{ErrorKind, XPathError};
use super::eval::{
    Context, NoBindings, Resolver, eval, eval_boolean, eval_nodes, eval_number, eval_string,
};
use super::fns_core::{normalize_space, round, substring, translate};
use super::parse::parse;
use super::value::{
    NodeData, NodeKind, NodeRef, Tree, Value, element_at_mut, number_to_string, string_to_number,
};

/// Paths: r=[] a=[0] (text 0.0) comment=[1] b=[2] b/a=[2.0] pi=[2.1] c=[2.2] c=[2.3]
/// p:e=[3] n=[4].
const DOC: &str = concat!(
    r#"<r xmlns:p="urn:p" xml:lang="en-US">"#,
    r#"<a id="1" p:x="px">one</a><!--c-->"#,
    r#"<b><a id="2" xml:id="k2">two</a><?pi data here?><c>3</c><c>4</c></b>"#,
    r#"<p:e>5</p:e><n>  x  y  </n></r>"#,
);

fn doc() -> Element {
    parse_str(DOC, &Limits::default()).unwrap()
}

fn ns() -> Vec<(String, String)> {
    vec![
        ("p".to_owned(), "urn:p".to_owned()),
        ("q".to_owned(), "urn:q".to_owned()),
    ]
}

fn c1(text: &str) -> Compiled {
    compile(text, Language::XPath1, &ns()).unwrap_or_else(|e| panic!("{text}: {e:?}"))
}

/// Parsed and resolved but not checked against the function tables, for calls into a test
/// namespace only the test resolver knows.
fn unchecked(text: &str) -> Compiled {
    let mut expr = parse(text, Language::XPath1).unwrap();
    expr.resolve(&ns()).unwrap();
    Compiled {
        lang: Language::XPath1,
        expr,
    }
}

fn at(root: &Element) -> Context<'_> {
    Context::at(NodeRef::element(Tree::borrowed(root)))
}

/// Evaluates without a context node.
fn free(text: &str) -> Value<'static> {
    eval(&c1(text), &Context::none(), &NoBindings).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn s(text: &str) -> String {
    free(text).into_xpath_string()
}

fn n(text: &str) -> f64 {
    eval_number(&c1(text), &Context::none(), &NoBindings).unwrap()
}

fn b(text: &str) -> bool {
    eval_boolean(&c1(text), &Context::none(), &NoBindings).unwrap()
}

fn err(text: &str, ctx: &Context<'_>) -> XPathError {
    match eval(&c1(text), ctx, &NoBindings) {
        Ok(v) => panic!("{text}: expected an error, got {v:?}"),
        Err(e) => e,
    }
}

fn render(node: &NodeRef<'_>) -> String {
    let path: Vec<String> = node.path().iter().map(usize::to_string).collect();
    let label = match node.data() {
        Some(NodeData::Root(_)) => return "/".to_owned(),
        Some(NodeData::Element(e)) => e.name.local.clone(),
        Some(NodeData::Text(_)) => "text".to_owned(),
        Some(NodeData::Comment(_)) => "comment".to_owned(),
        Some(NodeData::ProcessingInstruction(_)) => "pi".to_owned(),
        Some(NodeData::Attribute(a)) => format!("@{}", a.name.local),
        Some(NodeData::Namespace { prefix, .. }) => format!("ns({prefix})"),
        None => "?".to_owned(),
    };
    format!("{label}:{}", path.join("."))
}

/// Evaluates `text` with the document element as context; renders the node-set.
fn sel(root: &Element, text: &str) -> String {
    let nodes =
        eval_nodes(&c1(text), &at(root), &NoBindings).unwrap_or_else(|e| panic!("{text}: {e}"));
    nodes.iter().map(render).collect::<Vec<_>>().join(" ")
}

fn sv(root: &Element, text: &str) -> String {
    eval_string(&c1(text), &at(root), &NoBindings).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn bv(root: &Element, text: &str) -> bool {
    eval_boolean(&c1(text), &at(root), &NoBindings).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn nv(root: &Element, text: &str) -> f64 {
    eval_number(&c1(text), &at(root), &NoBindings).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn is_neg_zero(x: f64) -> bool {
    x == 0.0 && x.is_sign_negative()
}

#[test]
fn number_to_string_table() {
    let cases: &[(f64, &str)] = &[
        (1.0, "1"),
        (-1.0, "-1"),
        (0.0, "0"),
        (-0.0, "0"),
        (0.5, "0.5"),
        (-2.5, "-2.5"),
        (1e21, "1000000000000000000000"),
        (1e-7, "0.0000001"),
        (123_456_789_012.0, "123456789012"),
        (0.1 + 0.2, "0.30000000000000004"),
        (f64::NAN, "NaN"),
        (f64::INFINITY, "Infinity"),
        (f64::NEG_INFINITY, "-Infinity"),
    ];
    for (x, want) in cases {
        assert_eq!(number_to_string(*x), *want, "{x}");
    }
}

#[test]
fn string_to_number_table() {
    let cases: &[(&str, f64)] = &[
        ("12", 12.0),
        (" 12 ", 12.0),
        ("\n\t3\r", 3.0),
        ("-1.5", -1.5),
        (".5", 0.5),
        ("5.", 5.0),
        ("-.5", -0.5),
        ("007", 7.0),
    ];
    for (text, want) in cases {
        assert_eq!(string_to_number(text), *want, "{text:?}");
    }
    for bad in [
        "", " ", "+1", "1e3", "abc", "- 1", "-", ".", "1.2.3", "Infinity", "NaN", "1 2", "0x10",
        "\u{a0}1",
    ] {
        assert!(string_to_number(bad).is_nan(), "{bad:?}");
    }
    assert!(is_neg_zero(string_to_number("-0")));
}

#[test]
fn conversions_in_expressions() {
    let strings: &[(&str, &str)] = &[
        ("string(1 div 0)", "Infinity"),
        ("string(-1 div 0)", "-Infinity"),
        ("string(0 div 0)", "NaN"),
        ("string(-0)", "0"),
        ("string(1.0)", "1"),
        ("string(2.50)", "2.5"),
        ("string(true())", "true"),
        ("string(false())", "false"),
        ("string('x')", "x"),
        ("string(1 = 1)", "true"),
        ("string(number('abc'))", "NaN"),
    ];
    for (e, want) in strings {
        assert_eq!(s(e), *want, "{e}");
    }
    let numbers: &[(&str, f64)] = &[
        ("number(true())", 1.0),
        ("number(false())", 0.0),
        ("number('  3  ')", 3.0),
        ("number('-4.25')", -4.25),
        ("number(7)", 7.0),
    ];
    for (e, want) in numbers {
        assert_eq!(n(e), *want, "{e}");
    }
    let bools: &[(&str, bool)] = &[
        ("boolean('')", false),
        ("boolean('0')", true),
        ("boolean('false')", true),
        ("boolean(0)", false),
        ("boolean(-0)", false),
        ("boolean(0 div 0)", false),
        ("boolean(0.1)", true),
        ("boolean(-1 div 0)", true),
        ("not('')", true),
        ("true()", true),
        ("false()", false),
    ];
    for (e, want) in bools {
        assert_eq!(b(e), *want, "{e}");
    }
}

#[test]
fn arithmetic() {
    let cases: &[(&str, f64)] = &[
        ("2 + 3 * 4", 14.0),
        ("(2 + 3) * 4", 20.0),
        ("7 - 2 - 1", 4.0),
        ("-(-3)", 3.0),
        ("- - 3", 3.0),
        ("10 div 4", 2.5),
        ("5 mod 2", 1.0),
        ("5 mod -2", 1.0),
        ("-5 mod 2", -1.0),
        ("-5 mod -2", -1.0),
        ("5.5 mod 2", 1.5),
        ("1 div 0", f64::INFINITY),
        ("-1 div 0", f64::NEG_INFINITY),
        ("1 div -0", f64::NEG_INFINITY),
        ("'3' + '4'", 7.0),
        ("true() + true()", 2.0),
    ];
    for (e, want) in cases {
        assert_eq!(n(e), *want, "{e}");
    }
    for nan in [
        "0 mod 0",
        "5 mod 0",
        "0 div 0",
        "'a' + 1",
        "(1 div 0) - (1 div 0)",
    ] {
        assert!(n(nan).is_nan(), "{nan}");
    }
    assert!(is_neg_zero(n("-0")));
    assert!(is_neg_zero(n("-5 mod 5")));
}

#[test]
fn rounding_functions() {
    let cases: &[(&str, f64)] = &[
        ("round(2.5)", 3.0),
        ("round(2.4999)", 2.0),
        ("round(-2.5)", -2.0),
        ("round(-2.6)", -3.0),
        ("round(0.49999999999999994)", 0.0),
        ("round(1 div 0)", f64::INFINITY),
        ("round(-1 div 0)", f64::NEG_INFINITY),
        ("floor(-1.5)", -2.0),
        ("floor(1.9)", 1.0),
        ("ceiling(1.1)", 2.0),
        ("ceiling(-1.1)", -1.0),
        ("round(4503599627370497)", 4_503_599_627_370_497.0),
    ];
    for (e, want) in cases {
        assert_eq!(n(e), *want, "{e}");
    }
    assert!(n("round(0 div 0)").is_nan());
    assert!(n("floor('x')").is_nan());
    // round(-0.5) and round(-0.2) are -0, which shows in division.
    assert!(is_neg_zero(n("round(-0.5)")));
    assert!(is_neg_zero(n("round(-0.2)")));
    assert!(is_neg_zero(n("round(-0)")));
    assert_eq!(s("1 div round(-0.5)"), "-Infinity");
    assert_eq!(s("1 div ceiling(-0.5)"), "-Infinity");
    assert_eq!(s("1 div round(0.2)"), "Infinity");
    assert!(is_neg_zero(round(-0.5)));
    assert_eq!(round(0.5), 1.0);
}

#[test]
fn string_functions() {
    let cases: &[(&str, &str)] = &[
        ("substring('12345', 2, 3)", "234"),
        ("substring('12345', 2)", "2345"),
        ("substring('12345', 1.5, 2.6)", "234"),
        ("substring('12345', 0, 3)", "12"),
        ("substring('12345', 0 div 0, 3)", ""),
        ("substring('12345', 1, 0 div 0)", ""),
        ("substring('12345', -42, 1 div 0)", "12345"),
        ("substring('12345', -1 div 0, 1 div 0)", ""),
        ("substring('12345', 5, 10)", "5"),
        ("substring('12345', 6)", ""),
        ("substring('h\u{e9}llo\u{20ac}x', 2, 3)", "\u{e9}ll"),
        ("substring('a\u{1F600}b', 2, 1)", "\u{1F600}"),
        ("substring-before('1999/04/01', '/')", "1999"),
        ("substring-after('1999/04/01', '/')", "04/01"),
        ("substring-after('1999/04/01', '19')", "99/04/01"),
        ("substring-after('abc', '')", "abc"),
        ("substring-before('abc', '')", ""),
        ("substring-before('abc', 'z')", ""),
        ("substring-after('abc', 'z')", ""),
        ("translate('bar', 'abc', 'ABC')", "BAr"),
        ("translate('--aaa--', 'abc-', 'ABC')", "AAA"),
        ("translate('aba', 'aa', 'xy')", "xbx"),
        ("translate('\u{e9}t\u{e9}', '\u{e9}', 'e')", "ete"),
        ("normalize-space('  a \t b\n\nc  ')", "a b c"),
        ("normalize-space('')", ""),
        ("concat('a', 'b', 'c')", "abc"),
        ("concat(1, true(), 0.5)", "1true0.5"),
    ];
    for (e, want) in cases {
        assert_eq!(s(e), *want, "{e}");
    }
    let lengths: &[(&str, f64)] = &[
        ("string-length('')", 0.0),
        ("string-length('h\u{20ac}llo')", 5.0),
        ("string-length('a\u{1F600}')", 2.0),
        ("string-length(12.5)", 4.0),
    ];
    for (e, want) in lengths {
        assert_eq!(n(e), *want, "{e}");
    }
    let bools: &[(&str, bool)] = &[
        ("contains('abc', '')", true),
        ("contains('abc', 'bc')", true),
        ("contains('abc', 'cb')", false),
        ("starts-with('abc', 'ab')", true),
        ("starts-with('abc', 'b')", false),
        ("starts-with('abc', '')", true),
    ];
    for (e, want) in bools {
        assert_eq!(b(e), *want, "{e}");
    }
    // The helpers on their own.
    assert_eq!(substring("12345", 1.5, Some(2.6)), "234");
    assert_eq!(translate("abc", "", "x"), "abc");
    assert_eq!(normalize_space("\r\n x"), "x");
}

#[test]
fn atomic_comparisons() {
    let cases: &[(&str, bool)] = &[
        ("1 = '1'", true),
        ("'1.0' = 1", true),
        ("'1.0' = '1'", false),
        ("true() = 'x'", true),
        ("false() = ''", true),
        ("true() = 1", true),
        ("false() = 0 div 0", true),
        ("1 < '2'", true),
        ("'a' < 'b'", false),
        ("'a' >= 'a'", false),
        ("true() > false()", true),
        ("0 div 0 = 0 div 0", false),
        ("0 div 0 != 0 div 0", true),
        ("2 != 3", true),
        ("2 <= 2", true),
        ("-0 = 0", true),
        ("1 < 2 < 3", true),
        ("3 > 2 > 1", false),
        ("1 = 1 and 2 = 3", false),
        ("1 = 2 or 2 = 2", true),
    ];
    for (e, want) in cases {
        assert_eq!(b(e), *want, "{e}");
    }
}

#[test]
fn node_set_comparisons() {
    let d = doc();
    let cases: &[(&str, bool)] = &[
        ("//c = 3", true),
        ("//c = 4", true),
        ("//c = 5", false),
        ("//c != 3", true),
        ("b/c[1] != 3", false),
        ("//c > 3", true),
        ("//c < 3", false),
        ("3 < //c", true),
        ("4 > //c", true),
        ("4 < //c", false),
        ("//c = '3'", true),
        ("//c = '3.0'", false),
        ("//c >= '4'", true),
        ("'4' <= //c", true),
        ("//c = //a", false),
        ("//c < //p:e", true),
        ("//p:e < //c", false),
        ("//zzz = //zzz", false),
        ("//zzz != //zzz", false),
        ("//zzz = 0", false),
        ("//zzz != 0", false),
        ("//zzz = ''", false),
        ("//zzz = false()", true),
        ("//c = true()", true),
        ("//c = false()", false),
        ("false() < //c", true),
        ("n = '  x  y  '", true),
        ("a = b/a", false),
        ("b/a = 'two'", true),
        ("a/@id = 1", true),
        ("//@id = 2", true),
    ];
    for (e, want) in cases {
        assert_eq!(bv(&d, e), *want, "{e}");
    }
}

#[test]
fn child_descendant_and_abbreviations() {
    let d = doc();
    let cases: &[(&str, &str)] = &[
        ("*", "a:0 b:2 e:3 n:4"),
        ("child::*", "a:0 b:2 e:3 n:4"),
        ("node()", "a:0 comment:1 b:2 e:3 n:4"),
        ("b/node()", "a:2.0 pi:2.1 c:2.2 c:2.3"),
        ("//a", "a:0 a:2.0"),
        ("descendant::a", "a:0 a:2.0"),
        (
            "descendant::text()",
            "text:0.0 text:2.0.0 text:2.2.0 text:2.3.0 text:3.0 text:4.0",
        ),
        ("descendant-or-self::node()[self::c]", "c:2.2 c:2.3"),
        ("descendant-or-self::r", "r:"),
        ("/", "/"),
        ("/r", "r:"),
        ("/*/b", "b:2"),
        ("/descendant::c", "c:2.2 c:2.3"),
        ("//b//c", "c:2.2 c:2.3"),
        (".", "r:"),
        ("self::r", "r:"),
        ("self::a", ""),
        ("..", "/"),
        ("../..", ""),
        ("b/c/..", "b:2"),
        ("b/./c", "c:2.2 c:2.3"),
        ("comment()", "comment:1"),
        ("b/processing-instruction()", "pi:2.1"),
        ("b/processing-instruction('pi')", "pi:2.1"),
        ("b/processing-instruction('x')", ""),
        ("//text()[. = 'two']", "text:2.0.0"),
        ("a/text()/self::node()", "text:0.0"),
    ];
    for (e, want) in cases {
        assert_eq!(sel(&d, e), *want, "{e}");
    }
}

#[test]
fn sibling_ancestor_following_preceding() {
    let d = doc();
    let cases: &[(&str, &str)] = &[
        ("b/c[1]/following-sibling::*", "c:2.3"),
        ("b/c[1]/following-sibling::node()", "c:2.3"),
        ("b/c[1]/preceding-sibling::node()", "a:2.0 pi:2.1"),
        ("b/c[2]/preceding-sibling::*[1]", "c:2.2"),
        ("b/c[2]/preceding-sibling::node()[2]", "pi:2.1"),
        ("b/c[2]/preceding-sibling::*[last()]", "a:2.0"),
        ("a/text()/following-sibling::node()", ""),
        ("comment()/following-sibling::*[1]", "b:2"),
        ("comment()/preceding-sibling::node()", "a:0"),
        ("b/c[2]/ancestor::*", "r: b:2"),
        ("b/c[2]/ancestor::*[1]", "b:2"),
        ("b/c[2]/ancestor::node()", "/ r: b:2"),
        ("b/c[2]/ancestor-or-self::*[last()]", "r:"),
        ("b/c[2]/ancestor-or-self::node()[3]", "r:"),
        ("b/c[2]/ancestor-or-self::node()[1]", "c:2.3"),
        ("b/c[2]/parent::b", "b:2"),
        ("b/c[2]/parent::a", ""),
        ("b/a/following::*", "c:2.2 c:2.3 e:3 n:4"),
        ("b/a/following::node()[1]", "pi:2.1"),
        ("b/c[1]/preceding::*", "a:0 a:2.0"),
        ("b/c[1]/preceding::*[1]", "a:2.0"),
        (
            "b/c[1]/preceding::node()",
            "a:0 text:0.0 comment:1 a:2.0 text:2.0.0 pi:2.1",
        ),
        ("b/c[1]/preceding::node()[2]", "text:2.0.0"),
        ("a/following::comment()", "comment:1"),
        ("n/following::node()", ""),
        ("a/preceding::node()", ""),
        ("/following::node()", ""),
        ("/preceding::node()", ""),
        ("a/@id/following::*", "b:2 a:2.0 c:2.2 c:2.3 e:3 n:4"),
        ("a/@id/following::node()[1]", "text:0.0"),
        ("b/a/@id/preceding::*", "a:0"),
        ("a/@id/following-sibling::node()", ""),
        ("a/@id/ancestor::*", "r: a:0"),
    ];
    for (e, want) in cases {
        assert_eq!(sel(&d, e), *want, "{e}");
    }
}

#[test]
fn the_five_axes_partition_the_document() {
    // XPath 1.0 section 2.2: ancestor, descendant, following, preceding and self partition
    // the nodes of a document other than attribute and namespace nodes.
    let d = doc();
    assert_eq!(nv(&d, "count(/descendant-or-self::node())"), 17.0);
    let all = "ancestor::node() | descendant::node() | following::node() \
               | preceding::node() | self::node()";
    let covered = format!("count(//node()[count({all}) != 17])");
    assert_eq!(nv(&d, &covered), 0.0);
    let disjoint = "count(//node()[count(ancestor::node()) + count(descendant::node()) \
                    + count(following::node()) + count(preceding::node()) + 1 != 17])";
    assert_eq!(nv(&d, disjoint), 0.0);
}

#[test]
fn attributes_and_namespaces() {
    let d = doc();
    let cases: &[(&str, &str)] = &[
        ("a/@*", "@id:0 @x:0"),
        ("a/attribute::node()", "@id:0 @x:0"),
        ("a/@id", "@id:0"),
        ("a/@p:x", "@x:0"),
        ("a/@x", ""),
        ("a/@p:*", "@x:0"),
        ("a/@q:*", ""),
        ("a/@id/..", "a:0"),
        ("a/@id/parent::a", "a:0"),
        ("a/@id/self::node()", "@id:0"),
        ("a/@id/attribute::*", ""),
        ("a/@id/child::node()", ""),
        ("//@id", "@id:0 @id:2.0"),
        ("//*[@id = 2]", "a:2.0"),
        ("//a[@id > 1]", "a:2.0"),
        ("p:*", "e:3"),
        ("p:e", "e:3"),
        ("e", ""),
        ("q:e", ""),
        ("*[self::p:e]", "e:3"),
        ("b/namespace::*", "ns(p):2 ns(xml):2"),
        ("b/namespace::p", "ns(p):2"),
        ("b/namespace::q", ""),
        ("b/namespace::p:p", ""),
        ("b/namespace::*/..", "b:2"),
        ("b/namespace::node()", "ns(p):2 ns(xml):2"),
        ("b/child::p:*", ""),
        ("a/@p:x | a/@id | a", "a:0 @id:0 @x:0"),
    ];
    for (e, want) in cases {
        assert_eq!(sel(&d, e), *want, "{e}");
    }
    assert_eq!(sv(&d, "b/namespace::p"), "urn:p");
    assert_eq!(sv(&d, "a/@p:x"), "px");
    assert_eq!(sv(&d, "name(a/@p:x)"), "p:x");
    assert_eq!(sv(&d, "local-name(a/@p:x)"), "x");
    assert_eq!(sv(&d, "namespace-uri(a/@p:x)"), "urn:p");
    assert_eq!(sv(&d, "local-name(b/namespace::*[1])"), "p");
    assert_eq!(sv(&d, "name(b/namespace::xml)"), "xml");

    // A default namespace: unprefixed name tests do not see it (XPath 1.0), prefixed ones do.
    let dd = parse_str(
        r#"<x:r xmlns:x="urn:q" xmlns="urn:q"><k/><x:k/></x:r>"#,
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(sel(&dd, "k"), "");
    assert_eq!(sel(&dd, "q:k"), "k:0 k:1");
    assert_eq!(sel(&dd, "self::q:r"), "r:");
    assert_eq!(sel(&dd, "namespace::*"), "ns(): ns(x): ns(xml):");
    assert_eq!(sv(&dd, "name(q:k[1])"), "k");
    assert_eq!(sv(&dd, "name(q:k[2])"), "x:k");
    assert_eq!(sv(&dd, "name()"), "x:r");
    // An undeclared default namespace disappears from the namespace axis.
    let undeclared =
        parse_str(r#"<r xmlns="urn:q"><k xmlns=""/></r>"#, &Limits::default()).unwrap();
    assert_eq!(sel(&undeclared, "*/namespace::*"), "ns(xml):0");
}

#[test]
fn predicates_positions_and_filters() {
    let d = doc();
    let cases: &[(&str, &str)] = &[
        ("//c[. = 4]", "c:2.3"),
        ("//c[last()]", "c:2.3"),
        ("//c[position() = 1]", "c:2.2"),
        ("(//c)[1]", "c:2.2"),
        ("(//c)[1.5]", ""),
        ("(//c)[0]", ""),
        ("(//c)[3]", ""),
        ("//*[2]", "b:2 c:2.2"),
        ("(//*)[2]", "a:0"),
        ("(//*)[last()]", "n:4"),
        ("//c[1][. = 4]", ""),
        ("//c[. = 4][1]", "c:2.3"),
        ("b/*[position() = last()]", "c:2.3"),
        ("b/*[position() < 3]", "a:2.0 c:2.2"),
        ("b/*[last() - 1]", "c:2.2"),
        ("b/*[position() mod 2 = 0]", "c:2.2"),
        ("b[c = 4]/a", "a:2.0"),
        ("b[c = 5]/a", ""),
        ("*[@id]", "a:0"),
        ("*[not(@id)]", "b:2 e:3 n:4"),
        ("*['']", ""),
        ("*['x']", "a:0 b:2 e:3 n:4"),
        ("(b/c | a)[2]", "c:2.2"),
        ("(b/c | a)[last()]/preceding-sibling::*[1]", "c:2.2"),
        ("//c[count(preceding-sibling::c) = 1]", "c:2.3"),
        ("//*[count(*) = 3]", "b:2"),
        ("//*[string-length(name()) > 2]", "e:3"),
        ("*[position() = 2 or position() = 4]", "b:2 n:4"),
    ];
    for (e, want) in cases {
        assert_eq!(sel(&d, e), *want, "{e}");
    }
}

#[test]
fn double_slash_keeps_per_parent_positions() {
    let d = parse_str(
        "<r><s><c/><c/></s><s><c/><t><c/></t></s></r>",
        &Limits::default(),
    )
    .unwrap();
    let cases: &[(&str, &str)] = &[
        ("//c", "c:0.0 c:0.1 c:1.0 c:1.1.0"),
        ("//c[1]", "c:0.0 c:1.0 c:1.1.0"),
        ("(//c)[1]", "c:0.0"),
        ("//c[last()]", "c:0.1 c:1.0 c:1.1.0"),
        ("s//c", "c:0.0 c:0.1 c:1.0 c:1.1.0"),
        ("s[2]//c", "c:1.0 c:1.1.0"),
        ("//s/c", "c:0.0 c:0.1 c:1.0"),
        ("//node()", "r: s:0 c:0.0 c:0.1 s:1 c:1.0 t:1.1 c:1.1.0"),
        ("//.", "/ r: s:0 c:0.0 c:0.1 s:1 c:1.0 t:1.1 c:1.1.0"),
        ("//*[1]", "r: s:0 c:0.0 c:1.0 c:1.1.0"),
        ("s//*", "c:0.0 c:0.1 c:1.0 t:1.1 c:1.1.0"),
        ("//t//c", "c:1.1.0"),
        ("//t/..//c", "c:1.0 c:1.1.0"),
    ];
    for (e, want) in cases {
        assert_eq!(sel(&d, e), *want, "{e}");
    }
}

#[test]
fn unions_are_in_document_order_without_duplicates() {
    let d = doc();
    let cases: &[(&str, &str)] = &[
        ("b | a", "a:0 b:2"),
        ("//c | b | //a", "a:0 b:2 a:2.0 c:2.2 c:2.3"),
        ("//c | //c", "c:2.2 c:2.3"),
        ("b/a | a/@id", "@id:0 a:2.0"),
        ("a/@id | a", "a:0 @id:0"),
        ("b/c[2] | b/c[1] | /", "/ c:2.2 c:2.3"),
        (
            "n | b/processing-instruction() | comment()",
            "comment:1 pi:2.1 n:4",
        ),
        ("(n | a)/following-sibling::*[1]", "b:2"),
        ("(b/c | b/a)/..", "b:2"),
        (
            "(b/c[2] | b/a)/following::node()",
            "pi:2.1 c:2.2 text:2.2.0 c:2.3 text:2.3.0 e:3 text:3.0 n:4 text:4.0",
        ),
    ];
    for (e, want) in cases {
        assert_eq!(sel(&d, e), *want, "{e}");
    }
}

#[test]
fn node_functions() {
    let d = doc();
    let numbers: &[(&str, f64)] = &[
        ("count(//c)", 2.0),
        ("count(//zzz)", 0.0),
        ("count(//node())", 16.0),
        ("sum(//c)", 7.0),
        ("sum(//zzz)", 0.0),
        ("number(b/c)", 3.0),
        ("b/c[2] * 2", 8.0),
        ("last()", 1.0),
        ("position()", 1.0),
        ("string-length()", 17.0),
        ("count(id('k2'))", 1.0),
        ("count(id('zz k2 k2'))", 1.0),
        ("count(id('zz'))", 0.0),
        ("count(id(b/a/@xml:id))", 1.0),
    ];
    for (e, want) in numbers {
        assert_eq!(nv(&d, e), *want, "{e}");
    }
    assert!(nv(&d, "sum(//a)").is_nan());
    assert!(nv(&d, "number(//zzz)").is_nan());
    assert!(nv(&d, "number()").is_nan());
    let strings: &[(&str, &str)] = &[
        ("name(p:e)", "p:e"),
        ("local-name(p:e)", "e"),
        ("namespace-uri(p:e)", "urn:p"),
        ("namespace-uri(b)", ""),
        ("name()", "r"),
        ("local-name()", "r"),
        ("local-name(/)", ""),
        ("name(//zzz)", ""),
        ("name(comment())", ""),
        ("name(b/processing-instruction())", "pi"),
        ("local-name(b/processing-instruction())", "pi"),
        ("name(//c)", "c"),
        ("string(b)", "two34"),
        ("string(/)", "onetwo345  x  y  "),
        ("string()", "onetwo345  x  y  "),
        ("string(b/processing-instruction())", "data here"),
        ("string(comment())", "c"),
        ("string(//zzz)", ""),
        ("string(//c)", "3"),
        ("normalize-space(n)", "x y"),
        ("string(id('k2'))", "two"),
        ("concat(a, '-', p:e)", "one-5"),
        ("translate(b, 'tw', 'TW')", "TWo34"),
    ];
    for (e, want) in strings {
        assert_eq!(sv(&d, e), *want, "{e}");
    }
    let bools: &[(&str, bool)] = &[
        ("lang('en')", true),
        ("lang('EN-us')", true),
        ("lang('en-US')", true),
        ("lang('e')", false),
        ("lang('fr')", false),
        ("lang('en-US-x')", false),
        ("boolean(b/c[lang('en')])", true),
        ("boolean(//text()[lang('en')])", true),
        ("boolean(a/@id[lang('en')])", true),
        ("boolean(//zzz)", false),
        ("not(//zzz)", true),
    ];
    for (e, want) in bools {
        assert_eq!(bv(&d, e), *want, "{e}");
    }
    let fr = parse_str(
        r#"<r xml:lang="en"><s xml:lang="fr-CA"><t/></s></r>"#,
        &Limits::default(),
    )
    .unwrap();
    assert!(bv(&fr, "s/t[lang('fr')]"));
    assert!(!bv(&fr, "s/t[lang('en')]"));
    assert!(!bv(&fr, "/*[lang('en')] and lang('fr')"));
}

#[test]
fn queries_with_a_given_context_node() {
    let d = doc();
    let tree = Tree::borrowed(&d);
    let b_node = NodeRef::new(tree.clone(), vec![2], NodeKind::Element);
    let ctx = Context::at(b_node);
    let r = eval_nodes(&c1("c"), &ctx, &NoBindings).unwrap();
    assert_eq!(r.iter().map(render).collect::<Vec<_>>(), ["c:2.2", "c:2.3"]);
    let r = eval_nodes(&c1("../a"), &ctx, &NoBindings).unwrap();
    assert_eq!(r.iter().map(render).collect::<Vec<_>>(), ["a:0"]);
    let r = eval_nodes(&c1("/r/n"), &ctx, &NoBindings).unwrap();
    assert_eq!(r.iter().map(render).collect::<Vec<_>>(), ["n:4"]);
    assert_eq!(eval_string(&c1("name()"), &ctx, &NoBindings).unwrap(), "b");
    // A text node as context.
    let t = NodeRef::new(tree, vec![2, 2, 0], NodeKind::Text);
    let ctx = Context::at(t);
    assert_eq!(eval_number(&c1(". + 1"), &ctx, &NoBindings).unwrap(), 4.0);
    assert_eq!(
        eval_string(&c1("name(..)"), &ctx, &NoBindings).unwrap(),
        "c"
    );
}

#[test]
fn errors_are_classified() {
    let none = Context::none();
    for rel in [
        "a",
        "a/b",
        "/a",
        ".",
        "..",
        "string()",
        "name()",
        "lang('en')",
        "number()",
    ] {
        assert_eq!(err(rel, &none).kind, ErrorKind::Dynamic, "{rel}");
    }
    let e = err("a/b", &none);
    assert!(e.message.contains("context node"), "{}", e.message);
    for typed in ["count('x')", "sum(1)", "name(1)", "(1)[1]", "'a' | //b"] {
        assert_eq!(err(typed, &none).kind, ErrorKind::Type, "{typed}");
    }
    let e = eval(&unchecked("p:foo(1)"), &none, &NoBindings).unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::UnknownFunction, 0));
    assert_eq!(err("$v", &none).kind, ErrorKind::UninitializedVariable);
    assert_eq!(err("$v", &none).offset, 1);
    // The same entry point evaluates XPath 2.0 (see eval2_tests for the language itself).
    let c2 = compile("1 + 1", Language::XPath2, &ns()).unwrap();
    assert_eq!(eval(&c2, &none, &NoBindings), Ok(Value::Number(2.0)));
    // Position and size are known without a context node.
    assert_eq!(n("position() + last()"), 2.0);
    let d = doc();
    let e = eval_nodes(&c1("count(*)"), &at(&d), &NoBindings).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Type);
}

// ---------------------------------------------------------------------------------------
// BPEL variables through a resolver.

const PROC_NS: &str = "urn:proc";

struct Vars {
    payload: Element,
    order: Element,
    other: Element,
    calls: Cell<usize>,
}

impl Vars {
    fn new() -> Self {
        let p = |x: &str| parse_str(x, &Limits::default()).unwrap();
        Vars {
            payload: p(r#"<payload xmlns:p="urn:p"><p:x>1</p:x><p:x>2</p:x></payload>"#),
            order: p(r#"<order><item k="a">10</item><item k="b">20</item></order>"#),
            other: p("<other>20</other>"),
            calls: Cell::new(0),
        }
    }
}

impl<'a> Resolver<'a> for &'a Vars {
    fn variable(&self, name: &QName, part: Option<&str>) -> Result<Value<'a>, XPathError> {
        self.calls.set(self.calls.get() + 1);
        let el = |e: &'a Element, tag: u64| {
            Ok(Value::Nodes(vec![NodeRef::element(
                Tree::borrowed(e).with_tag(tag),
            )]))
        };
        match (name.local.as_str(), part) {
            ("msg", Some("payload")) => el(&self.payload, 7),
            ("msg", Some(p)) => Err(XPathError::fault(
                QName::new(PROC_NS, "selectionFailure"),
                format!("message has no part {p}"),
            )),
            ("order", None) => el(&self.order, 8),
            ("other", None) => el(&self.other, 9),
            // Both variables, out of order, one repeated: the evaluator normalizes.
            ("both", None) => Ok(Value::Nodes(vec![
                NodeRef::element(Tree::borrowed(&self.other)),
                NodeRef::element(Tree::borrowed(&self.order)),
                NodeRef::element(Tree::borrowed(&self.other)),
            ])),
            ("counter", None) => Ok(Value::Number(3.0)),
            ("name", None) => Ok(Value::String("bob".into())),
            _ => Err(XPathError::uninitialized(format!(
                "variable {} is not initialized",
                name.local
            ))),
        }
    }

    fn function(
        &self,
        name: &QName,
        args: Vec<Value<'a>>,
    ) -> Option<Result<Value<'a>, XPathError>> {
        if name.ns != "urn:q" {
            return None;
        }
        Some(match name.local.as_str() {
            "twice" => Ok(Value::Number(
                args.first().map_or(f64::NAN, Value::to_number) * 2.0,
            )),
            "make" => {
                let mut root = Element::new(QName::local("made"));
                for v in ["x", "y"] {
                    let mut c = Element::new(QName::local(v));
                    c.children.push(Node::Text(v.to_uppercase()));
                    root.children.push(Node::Element(c));
                }
                Ok(Value::Nodes(vec![NodeRef::element(Tree::owned(root))]))
            }
            "fail" => Err(XPathError::dynamic(0, "asked to fail")),
            _ => return None,
        })
    }
}

fn with_vars<T>(f: impl FnOnce(&Vars) -> T) -> T {
    f(&Vars::new())
}

#[test]
fn bpel_variables_and_parts() {
    with_vars(|vars| {
        let r = vars;
        let none = Context::none();
        let nodes = eval_nodes(&c1("$msg.payload/p:x"), &none, &r).unwrap();
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes[1].string_value(), "2");
        assert_eq!(nodes[1].path(), [1]);
        assert_eq!(nodes[1].tree().tag(), 7);
        assert_eq!(
            eval_number(&c1("sum($msg.payload/p:x) + $counter"), &none, &r).unwrap(),
            6.0
        );
        assert_eq!(
            eval_string(&c1("$order/item[@k = 'b']"), &none, &r).unwrap(),
            "20"
        );
        assert_eq!(
            eval_string(&c1("$order/item[2]/@k"), &none, &r).unwrap(),
            "b"
        );
        assert!(eval_boolean(&c1("$order/item = $other"), &none, &r).unwrap());
        assert!(!eval_boolean(&c1("$order/item[1] = $other"), &none, &r).unwrap());
        assert_eq!(
            eval_string(&c1("concat($name, '!')"), &none, &r).unwrap(),
            "bob!"
        );
        assert_eq!(
            eval_number(&unchecked("q:twice($counter)"), &none, &r).unwrap(),
            6.0
        );
        assert_eq!(
            eval_string(&unchecked("q:make()/y"), &none, &r).unwrap(),
            "Y"
        );
        assert_eq!(
            eval_number(&unchecked("count(q:make()/*)"), &none, &r).unwrap(),
            2.0
        );
        assert_eq!(
            eval_string(&c1("name($msg.payload/..)"), &none, &r).unwrap(),
            ""
        );
        assert_eq!(
            eval_string(&c1("name($order/item/..)"), &none, &r).unwrap(),
            "order"
        );
        // Relative paths inside predicates of a variable path work without a context node.
        assert_eq!(
            eval_number(&c1("count($order/item[. > 15])"), &none, &r).unwrap(),
            1.0
        );

        // Two trees: one node each, document order between trees fixed, duplicates dropped.
        let both = eval_nodes(&c1("$order | $other | $order"), &none, &r).unwrap();
        assert_eq!(both.len(), 2);
        let again = eval_nodes(&c1("$other | $order"), &none, &r).unwrap();
        assert_eq!(both, again);
        let normalized = eval_nodes(&c1("$both"), &none, &r).unwrap();
        assert_eq!(normalized, again);

        // Errors from the resolver keep their kind and gain the reference's offset.
        let e = eval(&c1("1 + $missing"), &none, &r).unwrap_err();
        assert_eq!(e.kind, ErrorKind::UninitializedVariable);
        assert_eq!(e.offset, 5);
        let e = eval(&c1("$msg.nopart"), &none, &r).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Fault);
        assert_eq!(e.fault, Some(QName::new(PROC_NS, "selectionFailure")));
        assert_eq!(
            eval(&unchecked("q:fail()"), &none, &r).unwrap_err().kind,
            ErrorKind::Dynamic
        );
        assert_eq!(
            eval(&unchecked("q:nothere()"), &none, &r).unwrap_err().kind,
            ErrorKind::UnknownFunction
        );
        assert_eq!(
            eval(&c1("$name/x"), &none, &r).unwrap_err().kind,
            ErrorKind::Type
        );
        // `or`/`and` do not evaluate what they do not need.
        let before = vars.calls.get();
        assert!(eval_boolean(&c1("true() or $missing"), &none, &r).unwrap());
        assert!(!eval_boolean(&c1("false() and $missing"), &none, &r).unwrap());
        assert_eq!(vars.calls.get(), before);
    });
}

#[test]
fn selected_nodes_can_be_modified_in_place() {
    let vars = Vars::new();
    let r = &vars;
    let nodes = eval_nodes(&c1("$order/item[2]"), &Context::none(), &r).unwrap();
    assert_eq!(nodes.len(), 1);
    let (tag, path) = (nodes[0].tree().tag(), nodes[0].path().to_vec());
    assert_eq!(nodes[0].kind(), NodeKind::Element);
    assert_eq!(
        nodes[0].as_element().map(|e| e.text()),
        Some("20".to_owned())
    );
    drop(nodes);
    assert_eq!(tag, 8);
    let mut order = vars.order.clone();
    let target = element_at_mut(&mut order, &path).unwrap();
    target.children = vec![Node::Text("99".into())];
    assert_eq!(order.text(), "1099");

    // An attribute: its element's path and the attribute's index.
    let attrs = eval_nodes(&c1("$order/item[1]/@k"), &Context::none(), &r).unwrap();
    assert_eq!(attrs[0].path(), [0]);
    assert_eq!(attrs[0].kind(), NodeKind::Attribute(0));
    assert_eq!(
        attrs[0].owner_element().map(|e| e.name.local.as_str()),
        Some("item")
    );
}

#[test]
fn values_convert_like_xpath() {
    let d = doc();
    let v = eval(&c1("//c"), &at(&d), &NoBindings).unwrap();
    assert_eq!(v.type_name(), "node-set");
    assert_eq!(v.to_xpath_string(), "3");
    assert_eq!(v.to_number(), 3.0);
    assert!(v.to_boolean());
    assert!(Value::Nodes(Vec::new()).to_number().is_nan());
    assert_eq!(Value::Boolean(true).to_xpath_string(), "true");
    assert_eq!(Value::Number(-0.0).into_xpath_string(), "0");
}
