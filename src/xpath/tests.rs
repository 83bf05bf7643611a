//! Parser, resolver and function-table tests.

use super::ast::{Axis, Expr, KindTest, Language, NodeTest, PathStart, SequenceType, Step};
use super::error::ErrorKind;
use super::parse::parse;

use Language::{XPath1, XPath2};

/// A compact rendering of the tree so precedence is visible: `(op lhs rhs)`.
fn sx(e: &Expr) -> String {
    match e {
        Expr::Binary { op, lhs, rhs } => format!("({} {} {})", op.symbol(), sx(lhs), sx(rhs)),
        Expr::Neg(e) => format!("(neg {})", sx(e)),
        Expr::Plus(e) => format!("(plus {})", sx(e)),
        Expr::Literal(s) => format!("'{s}'"),
        Expr::Number(n) => format!("{n}"),
        Expr::Var(v) => match &v.part {
            Some(p) => format!("${}.{p}", v.name.written()),
            None => format!("${}", v.name.written()),
        },
        Expr::Call { name, args } => {
            let args: Vec<String> = args.iter().map(sx).collect();
            format!("{}({})", name.written(), args.join(","))
        }
        Expr::Filter {
            primary,
            predicates,
        } => {
            let preds: String = predicates.iter().map(|p| format!("[{}]", sx(p))).collect();
            format!("{}{preds}", sx(primary))
        }
        Expr::Path { start, steps } => {
            let mut s = match start {
                PathStart::Context => String::new(),
                PathStart::Root => "/".to_owned(),
                PathStart::Expr(e) => format!("{{{}}}/", sx(e)),
            };
            let steps: Vec<String> = steps.iter().map(step).collect();
            s.push_str(&steps.join("/"));
            s
        }
        Expr::ContextItem => ".".to_owned(),
        Expr::Sequence(items) => {
            let items: Vec<String> = items.iter().map(sx).collect();
            format!("(seq {})", items.join(" "))
        }
        Expr::If { cond, then, els } => format!("(if {} {} {})", sx(cond), sx(then), sx(els)),
        Expr::For { bindings, ret } => {
            let b: Vec<String> = bindings
                .iter()
                .map(|b| format!("${} in {}", b.var.written(), sx(&b.seq)))
                .collect();
            format!("(for {} return {})", b.join(", "), sx(ret))
        }
        Expr::Quantified {
            every,
            bindings,
            satisfies,
        } => {
            let b: Vec<String> = bindings
                .iter()
                .map(|b| format!("${} in {}", b.var.written(), sx(&b.seq)))
                .collect();
            let q = if *every { "every" } else { "some" };
            format!("({q} {} satisfies {})", b.join(", "), sx(satisfies))
        }
        Expr::InstanceOf(e, t) => format!("(instance-of {} {t:?})", sx(e)),
        Expr::TreatAs(e, t) => format!("(treat-as {} {t:?})", sx(e)),
        Expr::CastableAs(e, n, o) => format!("(castable {} {} {o})", sx(e), n.written()),
        Expr::CastAs(e, n, o) => format!("(cast {} {} {o})", sx(e), n.written()),
        Expr::XQuery(_) => "(xquery)".to_owned(),
    }
}

fn step(s: &Step) -> String {
    match s {
        Step::Axis {
            axis,
            test,
            predicates,
        } => {
            let test = match test {
                NodeTest::Any => "*".to_owned(),
                NodeTest::Namespace(n) => format!("{}:*", n.prefix),
                NodeTest::LocalName(l) => format!("*:{l}"),
                NodeTest::Name(n) => n.written(),
                NodeTest::Kind(k) => format!("{k:?}"),
            };
            let preds: String = predicates.iter().map(|p| format!("[{}]", sx(p))).collect();
            format!("{axis:?}::{test}{preds}")
        }
        Step::Filter(e) => format!("<{}>", sx(e)),
    }
}

fn p1(s: &str) -> String {
    sx(&parse(s, XPath1).unwrap_or_else(|e| panic!("{s}: {e}")))
}

fn p2(s: &str) -> String {
    sx(&parse(s, XPath2).unwrap_or_else(|e| panic!("{s}: {e}")))
}

fn err1(s: &str) -> String {
    match parse(s, XPath1) {
        Ok(e) => panic!("{s} parsed as {}", sx(&e)),
        Err(e) => {
            assert_eq!(e.kind, ErrorKind::Syntax);
            e.to_string()
        }
    }
}

fn err2(s: &str) -> String {
    match parse(s, XPath2) {
        Ok(e) => panic!("{s} parsed as {}", sx(&e)),
        Err(e) => e.to_string(),
    }
}

#[test]
fn precedence_xpath1() {
    assert_eq!(p1("1 + 2 * 3"), "(+ 1 (* 2 3))");
    assert_eq!(p1("1 - 2 - 3"), "(- (- 1 2) 3)");
    assert_eq!(p1("a or b and c"), "(or Child::a (and Child::b Child::c))");
    assert_eq!(p1("1 = 2 < 3"), "(= 1 (< 2 3))");
    assert_eq!(p1("1 < 2 = 3 > 4"), "(= (< 1 2) (> 3 4))");
    assert_eq!(p1("1 = 2 = 3"), "(= (= 1 2) 3)");
    assert_eq!(p1("6 div 2 mod 4"), "(mod (div 6 2) 4)");
    assert_eq!(p1("(1 + 2) * 3"), "(* (+ 1 2) 3)");
    assert_eq!(p1("1 != 2 or 3 >= 4"), "(or (!= 1 2) (>= 3 4))");
    assert_eq!(p1("- - 1"), "(neg (neg 1))");
    // Unary minus binds looser than union in XPath 1.0.
    assert_eq!(p1("-a|b"), "(neg (| Child::a Child::b))");
    assert_eq!(p1("-1 + 2"), "(+ (neg 1) 2)");
    assert_eq!(p1("a|b|c"), "(| (| Child::a Child::b) Child::c)");
    assert_eq!(p1("2*-3"), "(* 2 (neg 3))");
}

#[test]
fn star_and_operator_names_disambiguation() {
    assert_eq!(p1("* * *"), "(* Child::* Child::*)");
    assert_eq!(p1("*"), "Child::*");
    assert_eq!(p1("a/*"), "Child::a/Child::*");
    assert_eq!(p1("@*"), "Attribute::*");
    assert_eq!(p1("2*3"), "(* 2 3)");
    // Operator names are names where an operand is expected.
    assert_eq!(p1("and and or"), "(and Child::and Child::or)");
    assert_eq!(p1("div div div"), "(div Child::div Child::div)");
    assert_eq!(p1("mod mod mod"), "(mod Child::mod Child::mod)");
    assert_eq!(p1("a/and"), "Child::a/Child::and");
    assert_eq!(p1("div/mod"), "Child::div/Child::mod");
    assert_eq!(p1("p:*"), "Child::p:*");
    assert_eq!(p1("p:or or q:and"), "(or Child::p:or Child::q:and)");
    // A name with a hyphen is one name, not a subtraction.
    assert_eq!(p1("a-b"), "Child::a-b");
    assert_eq!(p1("a -b"), "(- Child::a Child::b)");
    assert_eq!(p1("a - b"), "(- Child::a Child::b)");
    assert_eq!(p1("$x*2"), "(* $x 2)");
    assert_eq!(p1("count(*)*2"), "(* count(Child::*) 2)");
    assert_eq!(p1("text() * 2"), "(* Child::Text 2)");
}

#[test]
fn axes_and_node_tests() {
    assert_eq!(p1("child::a"), "Child::a");
    assert_eq!(p1("child :: a"), "Child::a");
    assert_eq!(p1("ancestor-or-self::node()"), "AncestorOrSelf::AnyNode");
    assert_eq!(p1("following-sibling::*[1]"), "FollowingSibling::*[1]");
    assert_eq!(p1("preceding::comment()"), "Preceding::Comment");
    assert_eq!(p1("namespace::*"), "Namespace::*");
    assert_eq!(
        p1("processing-instruction('xml-stylesheet')"),
        "Child::Pi(Some(\"xml-stylesheet\"))"
    );
    assert_eq!(p1("processing-instruction()"), "Child::Pi(None)");
    assert_eq!(p1("self::text()"), "SelfAxis::Text");
    assert_eq!(p1("attribute::p:id"), "Attribute::p:id");
    // `node` without parentheses is a name test; with an axis it is still a name.
    assert_eq!(p1("node"), "Child::node");
    assert_eq!(p1("child::text"), "Child::text");
    assert!(err1("foo::a").contains("unknown axis 'foo'"));
}

#[test]
fn abbreviated_steps() {
    assert_eq!(p1("."), "SelfAxis::AnyNode");
    assert_eq!(p1(".."), "Parent::AnyNode");
    assert_eq!(p1("../a"), "Parent::AnyNode/Child::a");
    assert_eq!(p1("./a"), "SelfAxis::AnyNode/Child::a");
    assert_eq!(p1("@id"), "Attribute::id");
    assert_eq!(p1("@ id"), "Attribute::id");
    assert_eq!(p1("/"), "/");
    assert_eq!(p1("/a/b"), "/Child::a/Child::b");
    assert_eq!(p1("//a"), "/DescendantOrSelf::AnyNode/Child::a");
    assert_eq!(p1("a//b"), "Child::a/DescendantOrSelf::AnyNode/Child::b");
    assert_eq!(
        p1("a//@c"),
        "Child::a/DescendantOrSelf::AnyNode/Attribute::c"
    );
    assert_eq!(p1(".5"), "0.5");
    assert_eq!(p1("5."), "5");
    assert_eq!(p1("/ | /a"), "(| / /Child::a)");
    assert_eq!(p1("a[1][@b='c']"), "Child::a[1][(= Attribute::b 'c')]");
    assert!(err1(".[1]").contains("offset 1"));
    assert!(err1("//").contains("expected a node test"));
}

#[test]
fn filter_expressions_and_calls() {
    assert_eq!(p1("$v/a"), "{$v}/Child::a");
    assert_eq!(p1("$v//a"), "{$v}/DescendantOrSelf::AnyNode/Child::a");
    assert_eq!(p1("$v[1]/a"), "{$v[1]}/Child::a");
    assert_eq!(p1("(a|b)[2]"), "(| Child::a Child::b)[2]");
    assert_eq!(p1("f()"), "f()");
    assert_eq!(p1("concat('a', \"b\", 1.5)"), "concat('a','b',1.5)");
    assert_eq!(p1("p:f($x)/y"), "{p:f($x)}/Child::y");
    assert_eq!(p1("string(.)"), "string(SelfAxis::AnyNode)");
    assert_eq!(p1("id('x')/a"), "{id('x')}/Child::a");
    // XPath 1.0 has no function call after '/'.
    assert_eq!(
        err1("a/f()"),
        "a function call cannot be a step of a location path: 'f' at offset 2"
    );
}

#[test]
fn bpel_variable_parts() {
    assert_eq!(p1("$msg.payload/x"), "{$msg.payload}/Child::x");
    assert_eq!(p1("$msg"), "$msg");
    assert_eq!(p1("$a.b.c"), "$a.b.c");
    let e = parse("$msg.payload/x", XPath1).unwrap();
    let Expr::Path {
        start: PathStart::Expr(v),
        ..
    } = e
    else {
        panic!("not a path");
    };
    let Expr::Var(v) = *v else {
        panic!("not a var")
    };
    assert_eq!(v.name.local, "msg");
    assert_eq!(v.name.offset, 1);
    assert_eq!(v.part.as_deref(), Some("payload"));
    // A trailing '.' names the whole variable.
    let Expr::Var(v) = parse("$myVar.", XPath1).unwrap() else {
        panic!()
    };
    assert_eq!((v.name.local.as_str(), v.part), ("myVar", None));
    // XPath 2.0 range variables keep their full name.
    assert_eq!(
        p2("for $a.b in (1,2) return $a.b"),
        "(for $a.b in (seq 1 2) return $a.b)"
    );
    assert_eq!(
        p2("for $a in (1,2) return $a.b"),
        "(for $a in (seq 1 2) return $a.b)"
    );
}

#[test]
fn literals_and_numbers() {
    assert!(err1("'it''s'").contains("unexpected string literal"));
    assert_eq!(p2("'it''s'"), "'it's'");
    assert_eq!(p2("\"say \"\"hi\"\"\""), "'say \"hi\"'");
    assert_eq!(p1("\"it's\""), "'it's'");
    assert_eq!(p1("12.50"), "12.5");
    assert_eq!(p2("1.5e3"), "1500");
    assert_eq!(p2("1E-2"), "0.01");
    assert_eq!(err1("'abc"), "unterminated string literal at offset 0");
    assert_eq!(
        err1("1e3"),
        "a name cannot follow the number '1' without a space at offset 1"
    );
}

#[test]
fn error_messages_have_offsets() {
    assert_eq!(err1("count(a"), "expected ',' or ')' at offset 7");
    assert_eq!(err1("(1 + 2"), "expected ')' at offset 6");
    assert_eq!(err1("(1 + 2]"), "expected ')' but found ']' at offset 6");
    assert_eq!(err1("a[1"), "expected ']' at offset 3");
    assert_eq!(err1("1 +"), "expected an expression at offset 3");
    assert_eq!(err1(""), "expected an expression at offset 0");
    assert_eq!(
        err1("a b"),
        "unexpected 'b' after the end of the expression at offset 2"
    );
    assert_eq!(err1("1 # 2"), "unexpected character '#' at offset 2");
    assert_eq!(err1("$"), "expected a variable name after '$' at offset 0");
    assert_eq!(
        err1("f(1,)"),
        "expected an expression but found ')' at offset 4"
    );
    assert_eq!(
        err1("a = = b"),
        "expected an expression but found '=' at offset 4"
    );
    assert!(err1("1 << 2").contains("offset 3"));
    // XPath 2.0 syntax is refused in XPath 1.0.
    assert!(err1("(1, 2)").contains("expected ')' but found ','"));
    assert!(err1("()").contains("expected an expression but found ')'"));
}

#[test]
fn deep_nesting_is_refused() {
    // Runs on a 2 MiB thread, the smallest stack a caller is likely to use.
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let ok = format!("{}1{}", "(".repeat(30), ")".repeat(30));
            assert_eq!(p1(&ok), "1");
            let ok = format!("{}1{}", "f(".repeat(30), ")".repeat(30));
            assert!(p1(&ok).starts_with("f(f("));
            for (open, close) in [("(", ")"), ("a[", "]"), ("f(", ")"), ("-", "")] {
                let deep = format!("{}1{}", open.repeat(5000), close.repeat(5000));
                assert!(err1(&deep).contains("nested deeper than 32"), "{open}");
            }
            let deep = format!("{}1{}", "if (1) then 1 else ".repeat(5000), "1");
            assert!(err2(&deep).contains("nested deeper than 32"));
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn xpath2_conditionals_and_iteration() {
    assert_eq!(p2("if ($a) then 1 else 2"), "(if $a 1 2)");
    assert_eq!(
        p2("if (a) then b else if (c) then d else e"),
        "(if Child::a Child::b (if Child::c Child::d Child::e))"
    );
    assert_eq!(
        p2("for $x in a, $y in $x/b return $y + 1"),
        "(for $x in Child::a, $y in {$x}/Child::b return (+ $y 1))"
    );
    assert_eq!(
        p2("some $x in (1, 2) satisfies $x > 1"),
        "(some $x in (seq 1 2) satisfies (> $x 1))"
    );
    assert_eq!(
        p2("every $x in a satisfies $x eq 1"),
        "(every $x in Child::a satisfies (eq $x 1))"
    );
    // Without the keyword shape they are names.
    assert_eq!(p2("if"), "Child::if");
    assert_eq!(p2("for + some"), "(+ Child::for Child::some)");
    assert!(err2("if (a) then b").contains("expected 'else'"));
    // In XPath 1.0 `if(…)` is just an (unknown) function call.
    assert_eq!(p1("if(1)"), "if(1)");
}

#[test]
fn xpath2_operators() {
    assert_eq!(p2("1 to 3"), "(to 1 3)");
    assert_eq!(p2("1 + 1 to 2 * 3"), "(to (+ 1 1) (* 2 3))");
    assert_eq!(p2("7 idiv 2"), "(idiv 7 2)");
    assert_eq!(
        p2("a eq b and c ne d"),
        "(and (eq Child::a Child::b) (ne Child::c Child::d))"
    );
    assert_eq!(p2("1 lt 2 or 1 ge 2"), "(or (lt 1 2) (ge 1 2))");
    assert_eq!(p2("a is b"), "(is Child::a Child::b)");
    assert_eq!(p2("a << b"), "(<< Child::a Child::b)");
    assert_eq!(
        p2("a union b intersect c"),
        "(| Child::a (intersect Child::b Child::c))"
    );
    assert_eq!(p2("a except b"), "(except Child::a Child::b)");
    assert_eq!(p2("()"), "(seq )");
    assert_eq!(p2("1, 2, 3"), "(seq 1 2 3)");
    assert_eq!(p2("count((1, 2))"), "count((seq 1 2))");
    assert_eq!(p2("concat('a', 'b')"), "concat('a','b')");
    assert_eq!(p2(". + 1"), "(+ . 1)");
    assert_eq!(p2("(1,2)[. > 1]"), "(seq 1 2)[(> . 1)]");
    assert_eq!(p2("./a"), "SelfAxis::AnyNode/Child::a");
    assert_eq!(p2("a/(b|c)"), "Child::a/<(| Child::b Child::c)>");
    assert_eq!(p2("a/string()"), "Child::a/<string()>");
    assert_eq!(p2("*:item"), "Child::*:item");
    // XPath 2.0 unary minus binds tighter than union and multiplication operands.
    assert_eq!(p2("-a|b"), "(| (neg Child::a) Child::b)");
    assert_eq!(p2("+1"), "(plus 1)");
    assert_eq!(p2("eq eq eq"), "(eq Child::eq Child::eq)");
    assert!(err2("1 = 2 = 3").contains("do not chain"));
    assert_eq!(p2("1 (: a (: nested :) comment :) + 2"), "(+ 1 2)");
    assert!(err2("1 (: open").contains("unterminated comment at offset 2"));
}

#[test]
fn xpath2_types() {
    assert_eq!(p2("$x cast as xs:integer"), "(cast $x xs:integer false)");
    assert_eq!(
        p2("$x cast as xs:integer? + 1"),
        "(+ (cast $x xs:integer true) 1)"
    );
    assert_eq!(p2("'1' castable as xs:int"), "(castable '1' xs:int false)");
    let Expr::InstanceOf(_, t) = parse("$x instance of xs:string*", XPath2).unwrap() else {
        panic!()
    };
    assert!(matches!(
        *t,
        SequenceType::Items(super::ast::ItemType::Atomic(ref n), super::ast::Occurrence::ZeroOrMore) if n.written() == "xs:string"
    ));
    let Expr::TreatAs(_, t) = parse("$x treat as element(p:a)+", XPath2).unwrap() else {
        panic!()
    };
    assert!(matches!(
        *t,
        SequenceType::Items(
            super::ast::ItemType::Kind(KindTest::Element(Some(_), None)),
            super::ast::Occurrence::OneOrMore
        )
    ));
    assert!(matches!(
        parse("$x instance of empty-sequence()", XPath2).unwrap(),
        Expr::InstanceOf(_, t) if *t == SequenceType::Empty
    ));
    assert!(matches!(
        parse("$x instance of item()?", XPath2).unwrap(),
        Expr::InstanceOf(_, t) if *t == SequenceType::Items(
            super::ast::ItemType::Item,
            super::ast::Occurrence::ZeroOrOne
        )
    ));
    assert_eq!(
        p2("a/element(*, xs:anyType)"),
        "Child::a/Child::Element(None, Some(Name { prefix: \"xs\", local: \"anyType\", ns: None, offset: 13 }))"
    );
    assert_eq!(p2("document-node()"), "Child::Document(None)");
    assert!(p2("attribute::attribute(id)").starts_with("Attribute::Attribute(Some"));
    let e = parse("//p:a", XPath2).unwrap();
    let Expr::Path { steps, .. } = e else {
        panic!()
    };
    assert!(matches!(
        &steps[0],
        Step::Axis {
            axis: Axis::DescendantOrSelf,
            ..
        }
    ));
}

fn ns() -> Vec<(String, String)> {
    vec![
        ("p".to_owned(), "urn:p".to_owned()),
        (
            "bpel".to_owned(),
            "http://docs.oasis-open.org/wsbpel/2.0/process/executable".to_owned(),
        ),
        ("p".to_owned(), "urn:inner".to_owned()),
    ]
}

#[test]
fn resolve_prefixes() {
    let mut e = parse("p:a/@p:b[q:c = $r:v] | xml:lang | p:*", XPath1).unwrap();
    let errs = e.resolve(&ns()).unwrap_err();
    let msgs: Vec<String> = errs.iter().map(ToString::to_string).collect();
    assert_eq!(
        msgs,
        [
            "namespace prefix 'q' of 'q:c' is not declared at offset 9",
            "namespace prefix 'r' of 'r:v' is not declared at offset 16",
        ]
    );
    assert!(errs.iter().all(|e| e.kind == ErrorKind::UndeclaredPrefix));
    let mut e = parse("p:a/@p:b", XPath1).unwrap();
    e.resolve(&ns()).unwrap();
    let Expr::Path { steps, .. } = e else {
        panic!()
    };
    let Step::Axis {
        test: NodeTest::Name(n),
        ..
    } = &steps[1]
    else {
        panic!()
    };
    // The innermost declaration wins.
    assert_eq!(n.qname(), bpelgate_wsdl::xml::QName::new("urn:inner", "b"));
    let mut e = parse("a", XPath1).unwrap();
    e.resolve(&[("".to_owned(), "urn:default".to_owned())])
        .unwrap();
    let Expr::Path { steps, .. } = e else {
        panic!()
    };
    let Step::Axis {
        test: NodeTest::Name(n),
        ..
    } = &steps[0]
    else {
        panic!()
    };
    // XPath 1.0 name tests never take the default namespace.
    assert_eq!(n.ns.as_deref(), Some(""));
}

fn check(text: &str, lang: Language) -> Vec<(ErrorKind, String)> {
    let mut ns = ns();
    ns.extend([
        ("ode".to_owned(), super::functions::ODE_EXT_NS.to_owned()),
        ("b11".to_owned(), super::functions::BPEL11_NS.to_owned()),
        (
            "b04".to_owned(),
            super::functions::BPEL20_DRAFT_NS.to_owned(),
        ),
        ("xs".to_owned(), super::functions::XS_NS.to_owned()),
        ("fn".to_owned(), super::functions::FN_NS.to_owned()),
        (
            "xdt".to_owned(),
            super::functions::XPATH_DATATYPES_NS.to_owned(),
        ),
    ]);
    let mut e = parse(text, lang).unwrap();
    e.resolve(&ns).unwrap();
    super::functions::check_functions(&e, lang)
        .into_iter()
        .map(|e| (e.kind, e.to_string()))
        .collect()
}

#[test]
fn function_table() {
    use super::functions::{Arity, XPATH1_CORE};
    assert_eq!(XPATH1_CORE.len(), 27);
    assert!(check("concat('a', substring('abc', 1, 2), string())", XPath1).is_empty());
    assert!(check("bpel:getVariableProperty('v', 'p:x')", XPath1).is_empty());
    assert!(check("bpel:doXslTransform('u', $v)", XPath1).is_empty());
    assert!(check("bpel:doXslTransform('u', $v, 'a', 1, 'b', 2)", XPath1).is_empty());
    assert!(
        check(
            "b11:getVariableData('v', 'p', '/a') + b11:getLinkStatus('l')",
            XPath1
        )
        .is_empty()
    );
    assert!(check("b04:getVariableData('v')", XPath1).is_empty());
    assert!(check("ode:splitToElements($v, ',', 'chunk')", XPath1).is_empty());
    assert!(
        check(
            "ode:composeUrl($t, $pairs) | ode:composeUrl($t, 'n', 'v')",
            XPath1
        )
        .is_empty()
    );
    assert!(check("ode:insert-before($a, $b, $c) | ode:delete($a)", XPath1).is_empty());
    assert!(check("xdt:dayTimeDuration('PT1H')", XPath2).is_empty());
    assert!(check("fn:upper-case('a') eq upper-case(xs:string(1))", XPath2).is_empty());

    assert_eq!(
        check("bpel:getBadFunction()", XPath1),
        [(
            ErrorKind::UnknownFunction,
            "unknown function bpel:getBadFunction; the BPEL namespace defines \
             getVariableProperty and doXslTransform at offset 0"
                .to_owned()
        )]
    );
    assert_eq!(
        check("b11:doXslTransform('a', 'b')", XPath1)[0].1,
        "unknown function b11:doXslTransform; the BPEL4WS 1.1 namespace defines \
         getVariableData, getVariableProperty and getLinkStatus at offset 0"
    );
    assert_eq!(
        check("1 + bpel:getVariableProperty('v')", XPath1),
        [(
            ErrorKind::Arity,
            "function bpel:getVariableProperty takes 2 arguments, not 1 at offset 4".to_owned()
        )]
    );
    assert_eq!(
        check("bpel:doXslTransform('u', $v, 'a')", XPath1)[0].1,
        "function bpel:doXslTransform takes 2 arguments followed by name/value pairs, not 3 at offset 0"
    );
    assert_eq!(
        check("ode:composeUrl($t, 'n', 'v', 'x')", XPath1)[0].0,
        ErrorKind::Arity
    );
    assert_eq!(
        check("concat('a')", XPath1)[0].1,
        "function concat takes 2 or more arguments, not 1 at offset 0"
    );
    assert_eq!(
        check("substring('a')", XPath1)[0].1,
        "function substring takes 2 to 3 arguments, not 1 at offset 0"
    );
    // XPath 2.0 names are not XPath 1.0 core functions, and the reverse.
    assert_eq!(
        check("upper-case('a')", XPath1)[0].1,
        "unknown function upper-case; it is not in the XPath 1.0 core library at offset 0"
    );
    assert_eq!(
        check("fn:upper-case('a')", XPath1)[0].0,
        ErrorKind::ForeignFunction
    );
    assert_eq!(check("xs:foo(1)", XPath2)[0].0, ErrorKind::UnknownFunction);
    assert_eq!(check("ode:nope()", XPath1)[0].0, ErrorKind::UnknownFunction);
    assert_eq!(
        check("p:ext(1)", XPath1),
        [(
            ErrorKind::ForeignFunction,
            "unknown function p:ext in namespace urn:inner: no function library is available for it at offset 0"
                .to_owned()
        )]
    );
    // Nested calls are all checked.
    assert_eq!(check("count(f(g()))", XPath1).len(), 2);
    assert!(
        Arity::Pairs {
            fixed: 2,
            min_pairs: 0
        }
        .accepts(2)
    );
    assert!(
        !Arity::Pairs {
            fixed: 2,
            min_pairs: 0
        }
        .accepts(1)
    );
}

fn compiled(text: &str, lang: Language) -> super::compile::Compiled {
    let mut ns = ns();
    ns.push(("b11".to_owned(), super::functions::BPEL11_NS.to_owned()));
    super::compile::compile(text, lang, &ns).unwrap_or_else(|e| panic!("{text}: {e:?}"))
}

#[test]
fn compile_facade() {
    use super::compile::compile;
    let c = compiled(
        "count($msg.payload/p:item[@n = $limit]) > $limit + string-length($msg.payload)",
        XPath1,
    );
    let vars: Vec<(String, Option<String>)> = c
        .variable_refs()
        .into_iter()
        .map(|v| (v.name.local, v.part))
        .collect();
    assert_eq!(
        vars,
        [
            ("msg".to_owned(), Some("payload".to_owned())),
            ("limit".to_owned(), None)
        ]
    );
    let calls: Vec<String> = c
        .function_calls()
        .iter()
        .map(|(q, n)| format!("{q}/{n}"))
        .collect();
    assert_eq!(calls, ["count/1", "string-length/1"]);
    assert!(!c.is_path_to_node());

    let c = compiled("for $i in $items/x return $i + $base", XPath2);
    let vars: Vec<String> = c
        .variable_refs()
        .into_iter()
        .map(|v| v.name.local)
        .collect();
    assert_eq!(vars, ["items", "base"]);
    assert_eq!(
        compiled("upper-case('a')", XPath2).function_calls()[0].0,
        bpelgate_wsdl::xml::QName::new(super::functions::FN_NS, "upper-case")
    );

    for lvalue in [
        "$v",
        "$v.part",
        "$v.part/p:a[1]/@b",
        "p:a/p:b",
        "/p:a",
        "$v[1]",
        "b11:getVariableData('v','p')/a",
    ] {
        assert!(compiled(lvalue, XPath1).is_path_to_node(), "{lvalue}");
    }
    for rvalue in [
        "1",
        "$a | $b",
        "concat($a, 'x')",
        "$v/p:a + 1",
        "count($v)",
        "'x'",
    ] {
        assert!(!compiled(rvalue, XPath1).is_path_to_node(), "{rvalue}");
    }
    assert!(!compiled("$v/(a|b)", XPath2).is_path_to_node());

    let c = compiled(
        "bpel:getVariableProperty('order', 'p:id') = bpel:getVariableProperty($x, 'q')",
        XPath1,
    );
    let props = c.variable_properties();
    assert_eq!(props.len(), 2);
    assert_eq!(props[0].variable.as_deref(), Some("order"));
    assert_eq!(props[0].property.as_deref(), Some("p:id"));
    assert_eq!(props[1].variable, None);
    assert_eq!(props[1].offset, 44);
    let c = compiled("bpel:doXslTransform('urn:xsl:a', $v, 'p', 1)", XPath1);
    assert_eq!(c.xsl_stylesheets(), [(0, Some("urn:xsl:a".to_owned()))]);

    // All errors at once, sorted by offset.
    let errs = compile("bpel:nope(q:a) + concat(1)", XPath1, &ns()).unwrap_err();
    let kinds: Vec<ErrorKind> = errs.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            ErrorKind::UnknownFunction,
            ErrorKind::UndeclaredPrefix,
            ErrorKind::Arity
        ]
    );
    let errs = compile("count(", XPath1, &ns()).unwrap_err();
    assert_eq!(errs[0].to_string(), "expected an expression at offset 6");
    // The compiled form round-trips through serde for the process model.
    let c = compiled("$v.part/p:a[position() < 3]", XPath1);
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(
        serde_json::from_str::<super::compile::Compiled>(&json).unwrap(),
        c
    );
}
