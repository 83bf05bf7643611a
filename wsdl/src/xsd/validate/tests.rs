//! A pass and a fail case for each rule.

use super::*;
use crate::wsdl::MemLoader;
use crate::xml::{Limits, parse_str};

const SCHEMA: &str = r###"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
    xmlns:t="urn:t" targetNamespace="urn:t" elementFormDefault="qualified">

  <xs:element name="order" type="t:Order"/>
  <xs:complexType name="Order">
    <xs:sequence>
      <xs:element name="id" type="xs:int"/>
      <xs:element name="note" type="xs:string" minOccurs="0"/>
      <xs:element name="item" type="t:Item" maxOccurs="3"/>
      <xs:choice>
        <xs:element name="card" type="xs:string"/>
        <xs:element name="invoice" type="xs:boolean"/>
      </xs:choice>
    </xs:sequence>
    <xs:attribute name="status" type="t:Status" use="required"/>
    <xs:attribute name="created" type="xs:dateTime"/>
  </xs:complexType>

  <xs:complexType name="Item">
    <xs:all>
      <xs:element name="sku" type="t:Sku"/>
      <xs:element name="qty" type="t:Qty"/>
      <xs:element name="price" type="t:Price" minOccurs="0"/>
    </xs:all>
  </xs:complexType>

  <xs:simpleType name="Status">
    <xs:restriction base="xs:token">
      <xs:enumeration value="open"/>
      <xs:enumeration value="closed"/>
    </xs:restriction>
  </xs:simpleType>
  <xs:simpleType name="Sku">
    <xs:restriction base="xs:string">
      <xs:pattern value="[A-Z]{2}-\d{3}"/>
      <xs:maxLength value="6"/>
    </xs:restriction>
  </xs:simpleType>
  <xs:simpleType name="Qty">
    <xs:restriction base="xs:positiveInteger">
      <xs:maxInclusive value="100"/>
    </xs:restriction>
  </xs:simpleType>
  <xs:simpleType name="Price">
    <xs:restriction base="xs:decimal">
      <xs:minExclusive value="0"/>
      <xs:totalDigits value="5"/>
      <xs:fractionDigits value="2"/>
    </xs:restriction>
  </xs:simpleType>

  <xs:element name="money" type="t:Money"/>
  <xs:complexType name="Money">
    <xs:simpleContent>
      <xs:extension base="t:Price">
        <xs:attribute name="currency" type="xs:string" use="required"/>
      </xs:extension>
    </xs:simpleContent>
  </xs:complexType>

  <xs:complexType name="Base">
    <xs:sequence><xs:element name="a" type="xs:string"/></xs:sequence>
  </xs:complexType>
  <xs:complexType name="Derived">
    <xs:complexContent>
      <xs:extension base="t:Base">
        <xs:sequence><xs:element name="b" type="xs:string"/></xs:sequence>
        <xs:attribute name="k" type="xs:int"/>
      </xs:extension>
    </xs:complexContent>
  </xs:complexType>
  <xs:element name="derived" type="t:Derived"/>
  <xs:element name="base" type="t:Base"/>

  <xs:element name="open">
    <xs:complexType>
      <xs:sequence>
        <xs:any namespace="##other" processContents="lax" minOccurs="0" maxOccurs="unbounded"/>
      </xs:sequence>
      <xs:anyAttribute/>
    </xs:complexType>
  </xs:element>
  <xs:element name="strictAny">
    <xs:complexType>
      <xs:sequence><xs:any processContents="strict"/></xs:sequence>
    </xs:complexType>
  </xs:element>

  <xs:element name="maybe" type="xs:int" nillable="true"/>
  <xs:element name="never" type="xs:int"/>

  <xs:element name="head" type="xs:string" abstract="true"/>
  <xs:element name="member" type="xs:string" substitutionGroup="t:head"/>
  <xs:element name="holder">
    <xs:complexType><xs:sequence><xs:element ref="t:head"/></xs:sequence></xs:complexType>
  </xs:element>

  <xs:element name="list">
    <xs:simpleType><xs:list itemType="xs:int"/></xs:simpleType>
  </xs:element>
  <xs:element name="either">
    <xs:simpleType><xs:union memberTypes="xs:int xs:boolean"/></xs:simpleType>
  </xs:element>
  <xs:element name="qn" type="xs:QName"/>
  <xs:element name="fixed" type="xs:string" fixed="v1"/>
</xs:schema>"###;

const UNQUALIFIED: &str = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
    targetNamespace="urn:u">
  <xs:element name="root">
    <xs:complexType><xs:sequence><xs:element name="child" type="xs:string"/></xs:sequence></xs:complexType>
  </xs:element>
</xs:schema>"#;

fn set() -> WsdlSet {
    let loader = MemLoader::new()
        .with("t.xsd", SCHEMA)
        .with("u.xsd", UNQUALIFIED);
    let (set, errors) = WsdlSet::load(&loader, &["t.xsd".to_owned(), "u.xsd".to_owned()]);
    assert!(errors.is_empty(), "{errors:?}");
    set
}

fn el(s: &str) -> Element {
    match parse_str(s, &Limits::default()) {
        Ok(e) => e,
        Err(e) => panic!("{e}: {s}"),
    }
}

fn check(s: &WsdlSet, doc: &str) -> Result<(), Vec<ValidationError>> {
    validate_element(s, &el(doc))
}

fn assert_valid(s: &WsdlSet, doc: &str) {
    if let Err(e) = check(s, doc) {
        panic!("expected valid: {doc}\n{e:?}");
    }
}

/// Asserts the document is invalid with an error whose path and reason contain the given text.
fn assert_invalid(s: &WsdlSet, doc: &str, path: &str, reason: &str) {
    match check(s, doc) {
        Ok(()) => panic!("expected invalid: {doc}"),
        Err(errs) => assert!(
            errs.iter()
                .any(|e| e.path == path && e.reason.contains(reason)),
            "no error at {path} containing '{reason}' in {errs:?}"
        ),
    }
}

const GOOD: &str = r#"<t:order xmlns:t="urn:t" status="open" created="2024-02-29T10:00:00Z"><t:id>1</t:id><t:item><t:qty>2</t:qty><t:sku>AB-123</t:sku></t:item><t:card>x</t:card></t:order>"#;

#[test]
fn a_valid_order() {
    assert_valid(&set(), GOOD);
}

#[test]
fn unknown_root_element() {
    assert_invalid(
        &set(),
        "<x:nope xmlns:x='urn:t'/>",
        "/x:nope",
        "no global element",
    );
}

#[test]
fn sequence_order_and_missing_elements() {
    let s = set();
    assert_invalid(
        &s,
        r#"<t:order xmlns:t="urn:t" status="open"><t:item><t:qty>2</t:qty><t:sku>AB-123</t:sku></t:item><t:id>1</t:id><t:card>x</t:card></t:order>"#,
        "/t:order",
        "{urn:t}item is not expected here; expected {urn:t}id",
    );
    assert_invalid(
        &s,
        r#"<t:order xmlns:t="urn:t" status="open"><t:id>1</t:id><t:item><t:qty>2</t:qty><t:sku>AB-123</t:sku></t:item></t:order>"#,
        "/t:order",
        "content is incomplete",
    );
}

#[test]
fn max_occurs() {
    let s = set();
    let item = "<t:item><t:qty>2</t:qty><t:sku>AB-123</t:sku></t:item>";
    let doc = |n: usize| {
        format!(
            r#"<t:order xmlns:t="urn:t" status="open"><t:id>1</t:id>{}<t:invoice>true</t:invoice></t:order>"#,
            item.repeat(n)
        )
    };
    assert_valid(&s, &doc(3));
    assert_invalid(&s, &doc(4), "/t:order", "{urn:t}item is not expected here");
}

#[test]
fn choice_takes_one_branch() {
    let s = set();
    let base = r#"<t:order xmlns:t="urn:t" status="open"><t:id>1</t:id><t:item><t:qty>2</t:qty><t:sku>AB-123</t:sku></t:item>"#;
    assert_valid(&s, &format!("{base}<t:invoice>1</t:invoice></t:order>"));
    assert_invalid(
        &s,
        &format!("{base}<t:card>c</t:card><t:invoice>1</t:invoice></t:order>"),
        "/t:order",
        "{urn:t}invoice is not expected here",
    );
}

#[test]
fn all_group_any_order_required_members() {
    let s = set();
    let doc = |item: &str| {
        format!(
            r#"<t:order xmlns:t="urn:t" status="open"><t:id>1</t:id>{item}<t:card>c</t:card></t:order>"#
        )
    };
    assert_valid(
        &s,
        &doc("<t:item><t:price>1.5</t:price><t:sku>AB-123</t:sku><t:qty>1</t:qty></t:item>"),
    );
    assert_invalid(
        &s,
        &doc("<t:item><t:sku>AB-123</t:sku></t:item>"),
        "/t:order/t:item",
        "incomplete",
    );
    assert_invalid(
        &s,
        &doc("<t:item><t:sku>AB-123</t:sku><t:sku>AB-124</t:sku><t:qty>1</t:qty></t:item>"),
        "/t:order/t:item",
        "not expected",
    );
}

#[test]
fn attributes_required_types_and_unknown() {
    let s = set();
    let body =
        "<t:id>1</t:id><t:item><t:qty>2</t:qty><t:sku>AB-123</t:sku></t:item><t:card>x</t:card>";
    assert_invalid(
        &s,
        &format!(r#"<t:order xmlns:t="urn:t">{body}</t:order>"#),
        "/t:order",
        "required attribute status is missing",
    );
    assert_invalid(
        &s,
        &format!(r#"<t:order xmlns:t="urn:t" status="pending">{body}</t:order>"#),
        "/t:order/@status",
        "not one of the enumerated values",
    );
    // Token whitespace collapses before the enumeration is checked.
    assert_valid(
        &s,
        &format!(r#"<t:order xmlns:t="urn:t" status="  closed ">{body}</t:order>"#),
    );
    assert_invalid(
        &s,
        &format!(r#"<t:order xmlns:t="urn:t" status="open" extra="1">{body}</t:order>"#),
        "/t:order/@extra",
        "not allowed",
    );
    assert_invalid(
        &s,
        &format!(
            r#"<t:order xmlns:t="urn:t" status="open" created="2023-02-29T10:00:00">{body}</t:order>"#
        ),
        "/t:order/@created",
        "xsd:dateTime",
    );
}

#[test]
fn simple_type_facets() {
    let s = set();
    let doc = |sku: &str, qty: &str, price: &str| {
        format!(
            r#"<t:order xmlns:t="urn:t" status="open"><t:id>1</t:id><t:item><t:sku>{sku}</t:sku><t:qty>{qty}</t:qty><t:price>{price}</t:price></t:item><t:card>c</t:card></t:order>"#
        )
    };
    assert_valid(&s, &doc("ZZ-999", "100", "999.99"));
    let p = "/t:order/t:item/t:";
    assert_invalid(
        &s,
        &doc("zz-999", "1", "1"),
        &format!("{p}sku"),
        "does not match the pattern",
    );
    assert_invalid(&s, &doc("ZZ-9999", "1", "1"), &format!("{p}sku"), "pattern");
    assert_invalid(
        &s,
        &doc("ZZ-999", "101", "1"),
        &format!("{p}qty"),
        "at most 100",
    );
    assert_invalid(
        &s,
        &doc("ZZ-999", "0", "1"),
        &format!("{p}qty"),
        "xsd:positiveInteger",
    );
    assert_invalid(
        &s,
        &doc("ZZ-999", "1.5", "1"),
        &format!("{p}qty"),
        "xsd:positiveInteger",
    );
    assert_invalid(
        &s,
        &doc("ZZ-999", "1", "0"),
        &format!("{p}price"),
        "greater than 0",
    );
    assert_invalid(
        &s,
        &doc("ZZ-999", "1", "1.234"),
        &format!("{p}price"),
        "fraction digits",
    );
    assert_invalid(
        &s,
        &doc("ZZ-999", "1", "12345.6"),
        &format!("{p}price"),
        "more than 5 digits",
    );
    assert_invalid(
        &s,
        &doc("ZZ-999", "1", "abc"),
        &format!("{p}price"),
        "xsd:decimal",
    );
}

#[test]
fn int_range() {
    let s = set();
    let doc = |id: &str| {
        format!(
            r#"<t:order xmlns:t="urn:t" status="open"><t:id>{id}</t:id><t:item><t:qty>2</t:qty><t:sku>AB-123</t:sku></t:item><t:card>x</t:card></t:order>"#
        )
    };
    assert_valid(&s, &doc(" -2147483648 "));
    assert_invalid(
        &s,
        &doc("2147483648"),
        "/t:order/t:id",
        "out of the range of xsd:int",
    );
}

#[test]
fn simple_content_extension() {
    let s = set();
    assert_valid(
        &s,
        r#"<t:money xmlns:t="urn:t" currency="EUR">12.50</t:money>"#,
    );
    assert_invalid(
        &s,
        r#"<t:money xmlns:t="urn:t">12.50</t:money>"#,
        "/t:money",
        "currency",
    );
    assert_invalid(
        &s,
        r#"<t:money xmlns:t="urn:t" currency="EUR">-1</t:money>"#,
        "/t:money",
        "greater than 0",
    );
    assert_invalid(
        &s,
        r#"<t:money xmlns:t="urn:t" currency="EUR"><t:x/></t:money>"#,
        "/t:money",
        "cannot contain elements",
    );
}

#[test]
fn complex_content_extension_and_xsi_type() {
    let s = set();
    assert_valid(
        &s,
        r#"<t:derived xmlns:t="urn:t" k="3"><t:a>x</t:a><t:b>y</t:b></t:derived>"#,
    );
    assert_invalid(
        &s,
        r#"<t:derived xmlns:t="urn:t"><t:b>y</t:b></t:derived>"#,
        "/t:derived",
        "expected {urn:t}a",
    );
    // xsi:type switches a Base element to the derived type.
    assert_valid(
        &s,
        r#"<t:base xmlns:t="urn:t" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="t:Derived"><t:a>x</t:a><t:b>y</t:b></t:base>"#,
    );
    assert_invalid(
        &s,
        r#"<t:base xmlns:t="urn:t"><t:a>x</t:a><t:b>y</t:b></t:base>"#,
        "/t:base",
        "{urn:t}b is not expected",
    );
    assert_invalid(
        &s,
        r#"<t:base xmlns:t="urn:t" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="t:Nope"><t:a>x</t:a></t:base>"#,
        "/t:base",
        "undefined type",
    );
}

#[test]
fn text_in_element_only_content() {
    assert_invalid(
        &set(),
        r#"<t:base xmlns:t="urn:t">oops<t:a>x</t:a></t:base>"#,
        "/t:base",
        "text is not allowed",
    );
}

#[test]
fn wildcards_lax_other_and_strict() {
    let s = set();
    assert_valid(
        &s,
        r#"<t:open xmlns:t="urn:t" xmlns:o="urn:o" o:any="1" plain="2"><o:whatever><deep/></o:whatever></t:open>"#,
    );
    // ##other excludes the target namespace.
    assert_invalid(
        &s,
        r#"<t:open xmlns:t="urn:t"><t:id>1</t:id></t:open>"#,
        "/t:open",
        "not expected",
    );
    // Lax: a known global element is validated.
    assert_invalid(
        &s,
        r#"<t:open xmlns:t="urn:t" xmlns:u="urn:u"><u:root><child>1</child><child>2</child></u:root></t:open>"#,
        "/t:open/u:root",
        "not expected",
    );
    assert_valid(
        &s,
        r#"<t:strictAny xmlns:t="urn:t"><t:never>5</t:never></t:strictAny>"#,
    );
    assert_invalid(
        &s,
        r#"<t:strictAny xmlns:t="urn:t"><x:unknown xmlns:x="urn:x"/></t:strictAny>"#,
        "/t:strictAny/x:unknown",
        "strict",
    );
}

#[test]
fn nillable() {
    let s = set();
    let xsi = r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance""#;
    assert_valid(
        &s,
        &format!(r#"<t:maybe xmlns:t="urn:t" {xsi} xsi:nil="true"/>"#),
    );
    assert_invalid(
        &s,
        &format!(r#"<t:never xmlns:t="urn:t" {xsi} xsi:nil="true"/>"#),
        "/t:never",
        "not nillable",
    );
    assert_invalid(
        &s,
        &format!(r#"<t:maybe xmlns:t="urn:t" {xsi} xsi:nil="true">3</t:maybe>"#),
        "/t:maybe",
        "must be empty",
    );
    assert_invalid(&s, r#"<t:maybe xmlns:t="urn:t"/>"#, "/t:maybe", "xsd:int");
}

#[test]
fn substitution_groups_and_abstract() {
    let s = set();
    assert_valid(
        &s,
        r#"<t:holder xmlns:t="urn:t"><t:member>m</t:member></t:holder>"#,
    );
    assert_invalid(
        &s,
        r#"<t:holder xmlns:t="urn:t"><t:head>h</t:head></t:holder>"#,
        "/t:holder/t:head",
        "abstract",
    );
    assert_invalid(
        &s,
        r#"<t:holder xmlns:t="urn:t"><t:never>1</t:never></t:holder>"#,
        "/t:holder",
        "not expected",
    );
}

#[test]
fn lists_unions_qnames_fixed() {
    let s = set();
    assert_valid(&s, r#"<t:list xmlns:t="urn:t"> 1 2  3 </t:list>"#);
    assert_invalid(
        &s,
        r#"<t:list xmlns:t="urn:t">1 two</t:list>"#,
        "/t:list",
        "xsd:int",
    );
    assert_valid(&s, r#"<t:either xmlns:t="urn:t">false</t:either>"#);
    assert_invalid(
        &s,
        r#"<t:either xmlns:t="urn:t">maybe</t:either>"#,
        "/t:either",
        "union",
    );
    assert_valid(&s, r#"<t:qn xmlns:t="urn:t">t:order</t:qn>"#);
    assert_invalid(
        &s,
        r#"<t:qn xmlns:t="urn:t">zz:order</t:qn>"#,
        "/t:qn",
        "not declared",
    );
    assert_valid(&s, r#"<t:fixed xmlns:t="urn:t">v1</t:fixed>"#);
    assert_invalid(
        &s,
        r#"<t:fixed xmlns:t="urn:t">v2</t:fixed>"#,
        "/t:fixed",
        "fixed value",
    );
}

#[test]
fn element_form_unqualified() {
    let s = set();
    assert_valid(&s, r#"<u:root xmlns:u="urn:u"><child>c</child></u:root>"#);
    assert_invalid(
        &s,
        r#"<root xmlns="urn:u"><child>c</child></root>"#,
        "/root",
        "{urn:u}child is not expected here; expected child",
    );
}

#[test]
fn repeated_names_get_indexes_in_paths() {
    let s = set();
    assert_invalid(
        &s,
        r#"<t:order xmlns:t="urn:t" status="open"><t:id>1</t:id><t:item><t:qty>2</t:qty><t:sku>AB-123</t:sku></t:item><t:item><t:qty>x</t:qty><t:sku>AB-123</t:sku></t:item><t:card>x</t:card></t:order>"#,
        "/t:order/t:item[2]/t:qty",
        "xsd:positiveInteger",
    );
}

#[test]
fn typed_values() {
    let s = set();
    let v = el(
        r#"<var><t:id xmlns:t="urn:t">1</t:id><t:item xmlns:t="urn:t"><t:qty>2</t:qty><t:sku>AB-123</t:sku></t:item><t:card xmlns:t="urn:t">c</t:card></var>"#,
    );
    let mut ok = v.clone();
    ok.set_attr("status", "open");
    assert_eq!(
        validate_value(&s, &QName::new("urn:t", "Order"), &ok),
        Ok(())
    );
    let errs = validate_value(&s, &QName::new("urn:t", "Order"), &v)
        .err()
        .unwrap_or_default();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].path, "/var");
    let int = QName::new(XSD_NS, "int");
    assert_eq!(validate_value(&s, &int, &el("<n>42</n>")), Ok(()));
    assert!(validate_value(&s, &int, &el("<n>4.2</n>")).is_err());
    assert!(validate_value(&s, &QName::new("urn:t", "Nope"), &el("<n/>")).is_err());
    // A wrapper carrying xsi:type is checked against that type.
    let typed = el(
        r#"<n xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xs="http://www.w3.org/2001/XMLSchema" xsi:type="xs:int">42</n>"#,
    );
    assert_eq!(
        validate_value(&s, &QName::new(XSD_NS, "string"), &typed),
        Ok(())
    );
    let typed_bad = el(
        r#"<n xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xs="http://www.w3.org/2001/XMLSchema" xsi:type="xs:int">x</n>"#,
    );
    assert!(validate_value(&s, &QName::new(XSD_NS, "string"), &typed_bad).is_err());
}

#[test]
fn builtin_lexical_spaces() {
    let scope = NsScope::new();
    let good = [
        ("boolean", "1"),
        ("decimal", "-.5"),
        ("double", "1.5E-3"),
        ("double", "INF"),
        ("date", "2024-12-31Z"),
        ("date", "-0044-03-15"),
        ("time", "23:59:59.999+05:30"),
        ("duration", "P1Y2M3DT4H5M6.7S"),
        ("duration", "-PT1S"),
        ("dayTimeDuration", "P1DT2H"),
        ("yearMonthDuration", "P1Y2M"),
        ("gYearMonth", "2024-02"),
        ("gMonthDay", "--02-29"),
        ("gDay", "---31"),
        ("gMonth", "--12"),
        ("hexBinary", "0aFF"),
        ("base64Binary", "aGVsbG8="),
        ("NCName", "a-b.c"),
        ("language", "en-GB"),
        ("unsignedByte", "255"),
        ("long", "-9223372036854775808"),
        ("NMTOKENS", "a b c"),
    ];
    for (t, v) in good {
        assert_eq!(check_builtin(t, v, &scope), Ok(()), "{t} {v}");
    }
    let bad = [
        ("boolean", "yes"),
        ("decimal", "1e3"),
        ("decimal", "."),
        ("double", "1.5E"),
        ("date", "2024-13-01"),
        ("date", "2023-02-29"),
        ("time", "24:00:01"),
        ("duration", "P"),
        ("duration", "PT"),
        ("duration", "P1S"),
        ("dayTimeDuration", "P1Y"),
        ("yearMonthDuration", "P1D"),
        ("dateTimeStamp", "2024-01-01T00:00:00"),
        ("hexBinary", "abc"),
        ("base64Binary", "abc"),
        ("NCName", "a:b"),
        ("unsignedByte", "256"),
        ("unsignedInt", "-1"),
        ("negativeInteger", "0"),
        ("date", "2024-01-0\u{e9}:00"),
        ("time", "\u{e9}\u{e9}\u{e9}"),
    ];
    for (t, v) in bad {
        assert!(check_builtin(t, v, &scope).is_err(), "{t} {v}");
    }
}

#[test]
fn pattern_translation() {
    assert_eq!(translate_pattern("a^b$"), r"^(?:a\^b\$)$");
    assert_eq!(translate_pattern("[a-z-[aeiou]]+"), "^(?:[a-z--[aeiou]]+)$");
    let re = |p: &str| xsd_regex(p).unwrap_or_else(|| panic!("{p} does not compile"));
    assert!(re(r"\i\c*").is_match("xs:name-1"));
    assert!(!re(r"\i\c*").is_match("1abc"));
    assert!(re("[a-z-[aeiou]]+").is_match("bcd"));
    assert!(!re("[a-z-[aeiou]]+").is_match("bad"));
    // Anchored: a match inside the value is not enough.
    assert!(!re(r"\d{3}").is_match("x123"));
    // Untranslatable block escapes are not checked rather than failing valid data.
    assert!(xsd_regex(r"\p{IsBasicLatin}+").is_none());
}
