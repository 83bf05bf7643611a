//! Stylesheets of the kinds BPEL processes use, with exact output.

use std::collections::HashMap;

use bpelgate_wsdl::xml::{Element, Limits, QName, parse_str, to_string};

use super::{Stylesheet, XsltErrorKind};
use crate::xpath::{NodeRef, Tree, Value};

fn xml(s: &str) -> Element {
    match parse_str(s, &Limits::default()) {
        Ok(e) => e,
        Err(e) => panic!("test document does not parse: {e}\n{s}"),
    }
}

fn sheet(body: &str) -> String {
    format!(
        r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">{body}</xsl:stylesheet>"#
    )
}

fn run_params(xsl: &str, src: &str, params: &[(&str, &str)]) -> String {
    let s = match Stylesheet::compile(xml(xsl)) {
        Ok(s) => s,
        Err(e) => panic!("stylesheet does not compile: {e}"),
    };
    let params: Vec<(String, String)> = params
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    match s.transform(&xml(src), &params) {
        Ok(out) => to_string(&out),
        Err(e) => panic!("transform failed: {e}"),
    }
}

fn run(xsl: &str, src: &str) -> String {
    run_params(xsl, src, &[])
}

fn run_err(xsl: &str, src: &str) -> super::XsltError {
    let s = match Stylesheet::compile(xml(xsl)) {
        Ok(s) => s,
        Err(e) => return e,
    };
    match s.transform(&xml(src), &[]) {
        Ok(out) => panic!("expected an error, got {}", to_string(&out)),
        Err(e) => e,
    }
}

#[test]
fn identity_transform_with_one_change() {
    let xsl = sheet(
        r#"
        <xsl:template match="@*|node()">
          <xsl:copy><xsl:apply-templates select="@*|node()"/></xsl:copy>
        </xsl:template>
        <xsl:template match="price/text()">
          <xsl:value-of select=". * 2"/>
        </xsl:template>
        <xsl:template match="comment()"/>"#,
    );
    let src = r#"<p:order xmlns:p="urn:po" id="7"><!-- drop --><p:item sku="a&amp;b">x<price>21</price></p:item><?keep me?></p:order>"#;
    assert_eq!(
        run(&xsl, src),
        r#"<p:order xmlns:p="urn:po" id="7"><p:item sku="a&amp;b">x<price>42</price></p:item><?keep me?></p:order>"#
    );
}

#[test]
fn copy_of_keeps_namespaces_used_only_in_content() {
    let xsl =
        sheet(r#"<xsl:template match="/"><out><xsl:copy-of select="/*/*"/></out></xsl:template>"#);
    let src = r#"<r xmlns:t="urn:t" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><v xsi:type="t:Money">5</v></r>"#;
    let out = xml(&run(&xsl, src));
    let v = out.first_element().map(|v| {
        let mut s = bpelgate_wsdl::NsScope::new();
        s.push(&out.ns_decls);
        s.push(&v.ns_decls);
        s.resolve(
            v.attr_ns("http://www.w3.org/2001/XMLSchema-instance", "type")
                .unwrap_or(""),
            true,
        )
    });
    assert_eq!(v, Some(Ok(QName::new("urn:t", "Money"))));
}

#[test]
fn muenchian_grouping_with_keys() {
    let xsl = sheet(
        r#"
        <xsl:key name="by-customer" match="order" use="@customer"/>
        <xsl:template match="/orders">
          <summary>
            <xsl:for-each select="order[generate-id() = generate-id(key('by-customer', @customer)[1])]">
              <xsl:sort select="@customer"/>
              <customer name="{@customer}" orders="{count(key('by-customer', @customer))}"
                        total="{sum(key('by-customer', @customer)/@amount)}"/>
            </xsl:for-each>
          </summary>
        </xsl:template>"#,
    );
    let src = r#"<orders>
        <order customer="zed" amount="5"/>
        <order customer="amy" amount="10"/>
        <order customer="zed" amount="7.5"/>
        <order customer="bob" amount="1"/>
        <order customer="amy" amount="2"/>
      </orders>"#;
    assert_eq!(
        run(&xsl, src),
        r#"<summary><customer name="amy" orders="2" total="12"/><customer name="bob" orders="1" total="1"/><customer name="zed" orders="2" total="12.5"/></summary>"#
    );
}

#[test]
fn key_pattern_and_current() {
    let xsl = sheet(
        r#"
        <xsl:key name="item" match="item" use="@id"/>
        <xsl:template match="/">
          <r><xsl:apply-templates select="//ref"/></r>
        </xsl:template>
        <xsl:template match="ref">
          <xsl:for-each select="//item[@id = current()/@to]">
            <hit><xsl:value-of select="."/></hit>
          </xsl:for-each>
          <xsl:apply-templates select="key('item', @to)" mode="k"/>
        </xsl:template>
        <xsl:template match="key('item', 'b')" mode="k"><special/></xsl:template>
        <xsl:template match="item" mode="k"><plain/></xsl:template>"#,
    );
    let src = r#"<d><item id="a">A</item><item id="b">B</item><ref to="b"/><ref to="a"/></d>"#;
    assert_eq!(
        run(&xsl, src),
        "<r><hit>B</hit><special/><hit>A</hit><plain/></r>"
    );
}

#[test]
fn parameters_global_template_and_recursive() {
    let xsl = sheet(
        r#"
        <xsl:param name="greeting" select="'Hello'"/>
        <xsl:param name="who">nobody</xsl:param>
        <xsl:variable name="line" select="concat($greeting, ', ', $who)"/>
        <xsl:template match="/">
          <out>
            <line><xsl:value-of select="$line"/></line>
            <stars><xsl:call-template name="repeat"><xsl:with-param name="n" select="count(//x)"/></xsl:call-template></stars>
            <xsl:apply-templates select="//x"><xsl:with-param name="suffix" select="'!'"/></xsl:apply-templates>
          </out>
        </xsl:template>
        <xsl:template name="repeat">
          <xsl:param name="n"/>
          <xsl:param name="s" select="'*'"/>
          <xsl:if test="$n &gt; 0">
            <xsl:value-of select="$s"/>
            <xsl:call-template name="repeat"><xsl:with-param name="n" select="$n - 1"/></xsl:call-template>
          </xsl:if>
        </xsl:template>
        <xsl:template match="x">
          <xsl:param name="suffix" select="'?'"/>
          <x><xsl:value-of select="concat(., $suffix)"/></x>
        </xsl:template>"#,
    );
    let src = "<d><x>a</x><x>b</x><x>c</x></d>";
    assert_eq!(
        run(&xsl, src),
        "<out><line>Hello, nobody</line><stars>***</stars><x>a!</x><x>b!</x><x>c!</x></out>"
    );
    assert_eq!(
        run_params(&xsl, src, &[("who", "world"), ("greeting", "Hi")]),
        "<out><line>Hi, world</line><stars>***</stars><x>a!</x><x>b!</x><x>c!</x></out>"
    );
}

#[test]
fn node_set_parameters() {
    let xsl = sheet(
        r#"<xsl:param name="extra"/>
        <xsl:template match="/"><r><xsl:copy-of select="$extra"/><n><xsl:value-of select="count($extra/*)"/></n></r></xsl:template>"#,
    );
    let s = Stylesheet::compile(xml(&xsl)).unwrap_or_else(|e| panic!("{e}"));
    let extra = xml("<e><a/><b/></e>");
    let param = Value::Nodes(vec![NodeRef::element(Tree::borrowed(&extra))]);
    let src = xml("<d/>");
    let out = s
        .transform_values(&src, &[(QName::local("extra"), param)])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(to_string(&out), "<r><e><a/><b/></e><n>2</n></r>");
}

#[test]
fn sorting_numbers_text_and_multiple_keys() {
    let xsl = sheet(
        r#"<xsl:template match="/list">
          <r>
            <by-price><xsl:for-each select="p"><xsl:sort select="@price" data-type="number" order="descending"/><xsl:value-of select="@n"/></xsl:for-each></by-price>
            <by-name><xsl:apply-templates select="p"><xsl:sort select="@n"/></xsl:apply-templates></by-name>
            <two-keys><xsl:for-each select="p"><xsl:sort select="@cat"/><xsl:sort select="@price" data-type="number"/><xsl:value-of select="concat(@cat, @price, ' ')"/></xsl:for-each></two-keys>
          </r>
        </xsl:template>
        <xsl:template match="p"><xsl:value-of select="concat(position(), @n)"/></xsl:template>"#,
    );
    let src = r#"<list><p n="b" price="10" cat="y"/><p n="D" price="9" cat="x"/><p n="a" price="100" cat="y"/><p n="c" price="x" cat="x"/></list>"#;
    assert_eq!(
        run(&xsl, src),
        "<r><by-price>abDc</by-price><by-name>1a2b3c4D</by-name><two-keys>xx x9 y10 y100 </two-keys></r>"
    );
}

#[test]
fn attribute_value_templates_and_namespaces() {
    let xsl = r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
            xmlns:src="urn:source" xmlns:tns="urn:target" xmlns:junk="urn:junk"
            exclude-result-prefixes="src junk">
        <xsl:attribute-set name="common"><xsl:attribute name="version">2</xsl:attribute></xsl:attribute-set>
        <xsl:template match="/src:person">
          <tns:customer id="{@id}" label="{{literal}} {src:name}-{string-length(src:name)}" xsl:use-attribute-sets="common">
            <xsl:element name="tns:{local-name(src:name)}"><xsl:value-of select="src:name"/></xsl:element>
            <xsl:element name="plain" namespace=""><xsl:attribute name="tns:kind">x</xsl:attribute><xsl:attribute name="k2" namespace="urn:other">y</xsl:attribute></xsl:element>
            <xsl:comment>made by <xsl:value-of select="system-property('xsl:vendor')"/></xsl:comment>
            <xsl:processing-instruction name="pi">a="b"</xsl:processing-instruction>
          </tns:customer>
        </xsl:template>
      </xsl:stylesheet>"#;
    let src = r#"<p:person xmlns:p="urn:source" id="42"><p:name>Ann</p:name></p:person>"#;
    let out = run(xsl, src);
    assert_eq!(
        out,
        r#"<tns:customer xmlns:tns="urn:target" version="2" id="42" label="{literal} Ann-3"><tns:name>Ann</tns:name><plain xmlns:ns0="urn:other" tns:kind="x" ns0:k2="y"/><!--made by bpelgate--><?pi a="b"?></tns:customer>"#
    );
}

#[test]
fn conflict_resolution_priorities_and_modes() {
    let xsl = sheet(
        r#"<xsl:template match="/"><r><xsl:apply-templates select="//n"/>|<xsl:apply-templates select="//n" mode="m"/></r></xsl:template>
        <xsl:template match="*">any</xsl:template>
        <xsl:template match="n">name</xsl:template>
        <xsl:template match="n[@k]">pred</xsl:template>
        <xsl:template match="a/n">path</xsl:template>
        <xsl:template match="n[@k='lo']" priority="1">low</xsl:template>
        <xsl:template match="n" mode="m">M<xsl:value-of select="position()"/>/<xsl:value-of select="last()"/> </xsl:template>"#,
    );
    let src = r#"<a><n/><n k="2"/><b><n k="1"/><n k="lo"/></b></a>"#;
    // a/n and n[@k] both have priority 0.5 (the later one would win); an explicit priority
    // beats both; the whitespace-only text before </xsl:template> is stripped.
    assert_eq!(run(&xsl, src), "<r>pathpathpredlow|M1/4M2/4M3/4M4/4</r>");
}

#[test]
fn built_in_rules_copy_text() {
    let xsl = sheet(
        r#"<xsl:template match="/"><all><xsl:apply-templates/></all></xsl:template><xsl:template match="skip"/>"#,
    );
    assert_eq!(
        run(&xsl, "<a>one<skip>no</skip><b x='1'>two</b><!--c--></a>"),
        "<all>onetwo</all>"
    );
}

#[test]
fn control_flow_and_formatting() {
    let xsl = sheet(
        r#"<xsl:decimal-format name="eu" decimal-separator="," grouping-separator="."/>
        <xsl:template match="/items">
          <r>
            <xsl:for-each select="i">
              <xsl:choose>
                <xsl:when test=". &gt; 100"><big n="{position()}" of="{last()}"><xsl:value-of select="format-number(., '#,##0.00')"/></big></xsl:when>
                <xsl:when test=". = 0"><zero/></xsl:when>
                <xsl:otherwise><small><xsl:value-of select="format-number(., '#.##0,0', 'eu')"/></small></xsl:otherwise>
              </xsl:choose>
            </xsl:for-each>
            <xsl:if test="not(i[. &lt; 0])"><no-negatives/></xsl:if>
          </r>
        </xsl:template>"#,
    );
    assert_eq!(
        run(&xsl, "<items><i>1234.5</i><i>0</i><i>7.25</i></items>"),
        r#"<r><big n="1" of="3">1,234.50</big><zero/><small>7,2</small><no-negatives/></r>"#
    );
}

#[test]
fn xsl_number_levels() {
    let xsl = sheet(
        r#"<xsl:template match="/"><r><xsl:apply-templates select="//s"/></r></xsl:template>
        <xsl:template match="s"><n single="{0}"><xsl:number/>|<xsl:number level="multiple" count="c|s" format="1.a"/>|<xsl:number level="any" format="(i)"/></n></xsl:template>"#,
    );
    let src = "<book><c><s/><s/></c><c><s/></c></book>";
    assert_eq!(
        run(&xsl, src),
        r#"<r><n single="0">1|1.a|(i)</n><n single="0">2|1.b|(ii)</n><n single="0">1|2.a|(iii)</n></r>"#
    );
}

#[test]
fn result_tree_fragments_in_variables() {
    let xsl = sheet(
        r#"<xsl:variable name="codes"><c k="a">Alpha</c><c k="b">Beta</c></xsl:variable>
        <xsl:template match="/in">
          <xsl:variable name="frag"><x>1</x><x>2</x></xsl:variable>
          <out total="{sum($frag/x)}" text="{$frag}">
            <xsl:copy-of select="$frag"/>
            <xsl:for-each select="v"><xsl:variable name="k" select="."/><name><xsl:value-of select="$codes/c[@k = $k]"/></name></xsl:for-each>
          </out>
        </xsl:template>"#,
    );
    assert_eq!(
        run(&xsl, "<in><v>b</v><v>a</v></in>"),
        r#"<out total="3" text="12"><x>1</x><x>2</x><name>Beta</name><name>Alpha</name></out>"#
    );
}

#[test]
fn strip_space_and_text() {
    let xsl = sheet(
        r#"<xsl:strip-space elements="*"/><xsl:preserve-space elements="keep"/>
        <xsl:template match="/"><r><xsl:for-each select="/*/node()"><xsl:text>[</xsl:text><xsl:value-of select="name()"/><xsl:text>]</xsl:text></xsl:for-each></r></xsl:template>"#,
    );
    assert_eq!(
        run(&xsl, "<a>\n  <b/>\n  <keep> </keep>\n</a>"),
        "<r>[b][keep]</r>"
    );
}

#[test]
fn message_terminate_is_an_error() {
    let xsl = sheet(
        r#"<xsl:template match="/"><r><xsl:message>just a note</xsl:message><xsl:if test="not(/a/@ok)"><xsl:message terminate="yes">missing <xsl:value-of select="name(/*)"/>/@ok</xsl:message></xsl:if></r></xsl:template>"#,
    );
    let e = run_err(&xsl, "<a/>");
    assert_eq!(e.kind, XsltErrorKind::Terminated);
    assert!(e.message.contains("missing a/@ok"), "{e}");
    assert_eq!(run(&xsl, "<a ok='1'/>"), "<r/>");
}

#[test]
fn result_must_be_one_element() {
    let two = sheet(r#"<xsl:template match="/"><a/><b/></xsl:template>"#);
    assert_eq!(run_err(&two, "<x/>").kind, XsltErrorKind::NoDocumentElement);
    let text = sheet(r#"<xsl:template match="/">just text</xsl:template>"#);
    assert_eq!(
        run_err(&text, "<x/>").kind,
        XsltErrorKind::NoDocumentElement
    );
    let none = sheet("");
    assert_eq!(
        run_err(&none, "<x>t</x>").kind,
        XsltErrorKind::NoDocumentElement
    );
}

#[test]
fn static_and_dynamic_errors() {
    for bad in [
        sheet(r#"<xsl:template match="a["/>"#),
        sheet(r#"<xsl:template match="a"><xsl:frobnicate/></xsl:template>"#),
        sheet(r#"<xsl:template match="ancestor::a"/>"#),
        sheet(r#"<xsl:template match="a"><xsl:value-of/></xsl:template>"#),
        sheet(r#"<xsl:template match="a"><b x="{1 + }"/></xsl:template>"#),
        sheet(r#"<xsl:template><x/></xsl:template>"#),
        "<notxsl/>".to_owned(),
    ] {
        let e = Stylesheet::compile(xml(&bad)).err();
        assert_eq!(e.map(|e| e.kind), Some(XsltErrorKind::Compile), "{bad}");
    }
    let missing =
        sheet(r#"<xsl:template match="/"><r><xsl:call-template name="nope"/></r></xsl:template>"#);
    assert_eq!(run_err(&missing, "<x/>").kind, XsltErrorKind::Dynamic);
    let forever = sheet(
        r#"<xsl:template name="f"><xsl:call-template name="f"/></xsl:template><xsl:template match="/"><r><xsl:call-template name="f"/></r></xsl:template>"#,
    );
    let e = run_err(&forever, "<x/>");
    assert!(e.message.contains("deeper"), "{e}");
    let undeclared =
        sheet(r#"<xsl:template match="/"><r><xsl:value-of select="$nope"/></r></xsl:template>"#);
    assert_eq!(run_err(&undeclared, "<x/>").kind, XsltErrorKind::Dynamic);
}

#[test]
fn imports_includes_and_apply_imports() {
    let mut files: HashMap<&str, String> = HashMap::new();
    files.insert(
        "xsl/base.xsl",
        sheet(r#"<xsl:template match="item"><base><xsl:value-of select="."/></base></xsl:template><xsl:variable name="v" select="'base'"/>"#),
    );
    files.insert(
        "xsl/lib/inc.xsl",
        sheet(r#"<xsl:template name="wrap"><w><xsl:value-of select="$v"/></w></xsl:template>"#),
    );
    let main = r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
        <xsl:import href="base.xsl"/>
        <xsl:include href="lib/inc.xsl"/>
        <xsl:variable name="v" select="'main'"/>
        <xsl:template match="item"><main><xsl:apply-imports/></main></xsl:template>
        <xsl:template match="/"><r><xsl:apply-templates select="//item"/><xsl:call-template name="wrap"/></r></xsl:template>
      </xsl:stylesheet>"#;
    let mut loaded = Vec::new();
    let mut load = |p: &str| -> Result<Element, String> {
        loaded.push(p.to_owned());
        files
            .get(p)
            .map(|s| xml(s))
            .ok_or_else(|| format!("no file {p}"))
    };
    let s = Stylesheet::compile_with(xml(main), "xsl/main.xsl", &mut load)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded, ["xsl/lib/inc.xsl", "xsl/base.xsl"]);
    let out = s
        .transform(&xml("<d><item>1</item></d>"), &[])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        to_string(&out),
        "<r><main><base>1</base></main><w>main</w></r>"
    );
    let plain = Stylesheet::compile(xml(main)).err();
    assert_eq!(plain.map(|e| e.kind), Some(XsltErrorKind::Compile));
}

#[test]
fn literal_result_element_as_stylesheet_and_document_self() {
    let xsl = r#"<doc xsl:version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" xmlns:m="urn:meta" xmlns:k="urn:kept" xsl:exclude-result-prefixes="m"><title><xsl:value-of select="/in/@t"/></title><n><xsl:value-of select="count(document('')//title)"/></n></doc>"#;
    assert_eq!(
        run(xsl, "<in t='T'/>"),
        r#"<doc xmlns:k="urn:kept"><title>T</title><n>1</n></doc>"#
    );
}

#[test]
fn functions_available_and_node_set_extension() {
    let xsl = r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" xmlns:exsl="http://exslt.org/common" exclude-result-prefixes="exsl">
        <xsl:template match="/">
          <xsl:variable name="rtf"><a>1</a><a>2</a></xsl:variable>
          <r f="{function-available('key')}" g="{function-available('exsl:nope')}" e="{element-available('xsl:for-each')}" v="{system-property('xsl:version')}">
            <xsl:value-of select="count(exsl:node-set($rtf)/a)"/>
          </r>
        </xsl:template></xsl:stylesheet>"#;
    assert_eq!(
        run(xsl, "<x/>"),
        r#"<r f="true" g="false" e="true" v="1">2</r>"#
    );
}

#[test]
fn bpel_style_message_mapping() {
    // The shape of a typical doXslTransform: map one service's request into another's.
    let xsl = r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
            xmlns:a="http://example.com/a" xmlns:b="http://example.com/b" exclude-result-prefixes="a">
        <xsl:output method="xml" indent="yes"/>
        <xsl:param name="currency" select="'EUR'"/>
        <xsl:template match="/a:purchaseOrder">
          <b:invoice b:currency="{$currency}">
            <b:lines>
              <xsl:for-each select="a:items/a:item[a:qty &gt; 0]">
                <b:line no="{position()}">
                  <b:sku><xsl:value-of select="@sku"/></b:sku>
                  <b:amount><xsl:value-of select="format-number(a:qty * a:price, '0.00')"/></b:amount>
                </b:line>
              </xsl:for-each>
            </b:lines>
            <b:total><xsl:value-of select="format-number(sum(a:items/a:item/a:price), '0.00')"/></b:total>
          </b:invoice>
        </xsl:template>
      </xsl:stylesheet>"#;
    let src = r#"<po:purchaseOrder xmlns:po="http://example.com/a"><po:items>
        <po:item sku="X1"><po:qty>2</po:qty><po:price>1.5</po:price></po:item>
        <po:item sku="X2"><po:qty>0</po:qty><po:price>9</po:price></po:item>
        <po:item sku="X3"><po:qty>1</po:qty><po:price>10</po:price></po:item>
      </po:items></po:purchaseOrder>"#;
    assert_eq!(
        run_params(xsl, src, &[("currency", "USD")]),
        r#"<b:invoice xmlns:b="http://example.com/b" b:currency="USD"><b:lines><b:line no="1"><b:sku>X1</b:sku><b:amount>3.00</b:amount></b:line><b:line no="2"><b:sku>X3</b:sku><b:amount>10.00</b:amount></b:line></b:lines><b:total>20.50</b:total></b:invoice>"#
    );
}

#[test]
fn deep_source_trees_are_an_error_not_a_crash() {
    let mut deep = Element::new(QName::local("leaf"));
    for _ in 0..5000 {
        let mut parent = Element::new(QName::local("n"));
        parent.children.push(bpelgate_wsdl::Node::Element(deep));
        deep = parent;
    }
    let xsl = sheet(r#"<xsl:template match="/"><r><xsl:apply-templates/></r></xsl:template>"#);
    let s = Stylesheet::compile(xml(&xsl)).unwrap_or_else(|e| panic!("{e}"));
    let e = s.transform(&deep, &[]).err();
    assert_eq!(e.map(|e| e.kind), Some(XsltErrorKind::Dynamic));
}
