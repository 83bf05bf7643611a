//! The XPath 2.0 data model the 2.0 evaluator works on: sequences of items, each a node or
//! an atomic value, with casting, comparison and arithmetic of atomic values.
//!
//! Without schema validation every node is untyped: atomizing it gives `xs:untypedAtomic`.
//! Derived built-in types are kept as their primitive (an `xs:int` is an [`Atomic::Integer`]
//! checked against the `xs:int` range when cast).

use std::cmp::Ordering;

use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};

use bpelgate_wsdl::xml::QName;

use super::datetime::{DateTime, Duration};
use super::error::XPathError;
use super::value::{NodeRef, Value, is_xml_space, number_to_string};

/// An atomic value.
#[derive(Clone, Debug, PartialEq)]
pub enum Atomic {
    /// `xs:string` (and the string-derived types).
    String(String),
    /// `xs:untypedAtomic`: the typed value of every node here.
    Untyped(String),
    /// `xs:anyURI`.
    AnyUri(String),
    /// `xs:boolean`.
    Boolean(bool),
    /// `xs:integer` (and the integer-derived types), within 64 bits.
    Integer(i64),
    /// `xs:decimal`.
    Decimal(Decimal),
    /// `xs:float`.
    Float(f32),
    /// `xs:double`.
    Double(f64),
    /// `xs:dateTime`.
    DateTime(DateTime),
    /// `xs:date`.
    Date(DateTime),
    /// `xs:time`.
    Time(DateTime),
    /// `xs:duration`.
    Duration(Duration),
    /// `xs:yearMonthDuration`.
    YearMonthDuration(Duration),
    /// `xs:dayTimeDuration`.
    DayTimeDuration(Duration),
    /// `xs:QName`: prefix (may be empty) and expanded name.
    QName(String, QName),
    /// A type kept as its canonical lexical form: the `xs:g*` types, `xs:hexBinary`,
    /// `xs:base64Binary`.
    Other(AtomicType, String),
}

/// An item: a node or an atomic value.
#[derive(Clone, Debug, PartialEq)]
pub enum Item<'a> {
    /// A node.
    Node(NodeRef<'a>),
    /// An atomic value.
    Atomic(Atomic),
}

/// An XPath 2.0 sequence.
pub type Sequence<'a> = Vec<Item<'a>>;

/// The built-in primitive atomic types (plus the two duration subtypes and untyped).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AtomicType {
    /// `xs:anyAtomicType`, only as a target of `instance of`.
    AnyAtomic,
    /// `xs:string`
    String,
    /// `xs:untypedAtomic`
    Untyped,
    /// `xs:anyURI`
    AnyUri,
    /// `xs:boolean`
    Boolean,
    /// `xs:integer`
    Integer,
    /// `xs:decimal`
    Decimal,
    /// `xs:float`
    Float,
    /// `xs:double`
    Double,
    /// `xs:dateTime`
    DateTime,
    /// `xs:date`
    Date,
    /// `xs:time`
    Time,
    /// `xs:duration`
    Duration,
    /// `xs:yearMonthDuration`
    YearMonthDuration,
    /// `xs:dayTimeDuration`
    DayTimeDuration,
    /// `xs:QName`
    QName,
    /// `xs:gYear`
    GYear,
    /// `xs:gYearMonth`
    GYearMonth,
    /// `xs:gMonth`
    GMonth,
    /// `xs:gMonthDay`
    GMonthDay,
    /// `xs:gDay`
    GDay,
    /// `xs:hexBinary`
    HexBinary,
    /// `xs:base64Binary`
    Base64Binary,
}

/// A restriction a derived built-in type adds to its primitive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Facet {
    /// None: the primitive itself.
    None,
    /// An integer range, inclusive.
    Range(i128, i128),
    /// Whitespace replaced (`xs:normalizedString`).
    Replace,
    /// Whitespace collapsed (`xs:token` and the types derived from it).
    Collapse,
}

/// A cast target: a built-in atomic type by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TypeRef {
    /// The primitive the value is kept as.
    pub base: AtomicType,
    /// The derived type's restriction.
    pub facet: Facet,
    /// The type's local name in the XML Schema namespace.
    pub name: &'static str,
}

const I64: (i128, i128) = (i64::MIN as i128, i64::MAX as i128);

/// The built-in atomic type with local name `local` in the XML Schema namespace.
pub fn type_by_name(local: &str) -> Option<TypeRef> {
    use AtomicType as T;
    let (name, base, facet): (&'static str, AtomicType, Facet) = match local {
        "anyAtomicType" => ("anyAtomicType", T::AnyAtomic, Facet::None),
        "string" => ("string", T::String, Facet::None),
        "normalizedString" => ("normalizedString", T::String, Facet::Replace),
        "token" => ("token", T::String, Facet::Collapse),
        "language" => ("language", T::String, Facet::Collapse),
        "NMTOKEN" => ("NMTOKEN", T::String, Facet::Collapse),
        "Name" => ("Name", T::String, Facet::Collapse),
        "NCName" => ("NCName", T::String, Facet::Collapse),
        "ID" => ("ID", T::String, Facet::Collapse),
        "IDREF" => ("IDREF", T::String, Facet::Collapse),
        "ENTITY" => ("ENTITY", T::String, Facet::Collapse),
        "untypedAtomic" => ("untypedAtomic", T::Untyped, Facet::None),
        "anyURI" => ("anyURI", T::AnyUri, Facet::None),
        "boolean" => ("boolean", T::Boolean, Facet::None),
        "decimal" => ("decimal", T::Decimal, Facet::None),
        "integer" => ("integer", T::Integer, Facet::Range(I64.0, I64.1)),
        "long" => ("long", T::Integer, Facet::Range(I64.0, I64.1)),
        "int" => ("int", T::Integer, Facet::Range(-(1 << 31), (1 << 31) - 1)),
        "short" => ("short", T::Integer, Facet::Range(-(1 << 15), (1 << 15) - 1)),
        "byte" => ("byte", T::Integer, Facet::Range(-128, 127)),
        "nonPositiveInteger" => ("nonPositiveInteger", T::Integer, Facet::Range(I64.0, 0)),
        "negativeInteger" => ("negativeInteger", T::Integer, Facet::Range(I64.0, -1)),
        "nonNegativeInteger" => ("nonNegativeInteger", T::Integer, Facet::Range(0, I64.1)),
        "positiveInteger" => ("positiveInteger", T::Integer, Facet::Range(1, I64.1)),
        "unsignedLong" => ("unsignedLong", T::Integer, Facet::Range(0, I64.1)),
        "unsignedInt" => ("unsignedInt", T::Integer, Facet::Range(0, (1 << 32) - 1)),
        "unsignedShort" => ("unsignedShort", T::Integer, Facet::Range(0, (1 << 16) - 1)),
        "unsignedByte" => ("unsignedByte", T::Integer, Facet::Range(0, 255)),
        "float" => ("float", T::Float, Facet::None),
        "double" => ("double", T::Double, Facet::None),
        "dateTime" => ("dateTime", T::DateTime, Facet::None),
        "date" => ("date", T::Date, Facet::None),
        "time" => ("time", T::Time, Facet::None),
        "duration" => ("duration", T::Duration, Facet::None),
        "yearMonthDuration" => ("yearMonthDuration", T::YearMonthDuration, Facet::None),
        "dayTimeDuration" => ("dayTimeDuration", T::DayTimeDuration, Facet::None),
        "QName" => ("QName", T::QName, Facet::None),
        "gYear" => ("gYear", T::GYear, Facet::None),
        "gYearMonth" => ("gYearMonth", T::GYearMonth, Facet::None),
        "gMonth" => ("gMonth", T::GMonth, Facet::None),
        "gMonthDay" => ("gMonthDay", T::GMonthDay, Facet::None),
        "gDay" => ("gDay", T::GDay, Facet::None),
        "hexBinary" => ("hexBinary", T::HexBinary, Facet::None),
        "base64Binary" => ("base64Binary", T::Base64Binary, Facet::None),
        _ => return None,
    };
    Some(TypeRef { base, facet, name })
}

/// `[FORG0001]`: a value that cannot be cast.
pub fn invalid_value(what: &str, ty: &str) -> XPathError {
    XPathError::dynamic(0, format!("[FORG0001] cannot cast {what} to xs:{ty}"))
}

/// `[XPTY0004]`: an operand of the wrong type.
pub fn type_mismatch(message: impl Into<String>) -> XPathError {
    XPathError::type_error(0, format!("[XPTY0004] {}", message.into()))
}

fn overflow() -> XPathError {
    XPathError::dynamic(0, "[FOAR0002] numeric overflow")
}

fn div_zero() -> XPathError {
    XPathError::dynamic(0, "[FOAR0001] division by zero")
}

/// A numeric value, for promotion.
#[derive(Clone, Copy, Debug)]
enum Num {
    I(i64),
    D(Decimal),
    F(f32),
    X(f64),
}

impl Num {
    fn rank(self) -> u8 {
        match self {
            Num::I(_) => 0,
            Num::D(_) => 1,
            Num::F(_) => 2,
            Num::X(_) => 3,
        }
    }

    fn to_decimal(self) -> Option<Decimal> {
        match self {
            Num::I(i) => Some(Decimal::from(i)),
            Num::D(d) => Some(d),
            Num::F(f) => Decimal::from_f32(f),
            Num::X(x) => Decimal::from_f64(x),
        }
    }

    fn to_f64(self) -> f64 {
        match self {
            Num::I(i) => i as f64,
            Num::D(d) => d.to_f64().unwrap_or(f64::NAN),
            Num::F(f) => f64::from(f),
            Num::X(x) => x,
        }
    }
}

/// The arithmetic operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArithOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `div`
    Div,
    /// `idiv`
    IDiv,
    /// `mod`
    Mod,
}

/// Parses an `xs:decimal` lexical form (no exponent).
pub fn parse_decimal(s: &str) -> Option<Decimal> {
    let t = s.trim_matches(is_xml_space);
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || !digits(frac) || (int.is_empty() && frac.is_empty()) {
        return None;
    }
    // `Decimal` refuses a leading '+' and a bare trailing '.' in some forms; rebuild the text.
    let neg = t.starts_with('-');
    let text = format!(
        "{}{}{}{}",
        if neg { "-" } else { "" },
        if int.is_empty() { "0" } else { int },
        if frac.is_empty() { "" } else { "." },
        frac
    );
    Decimal::from_str_exact(&text)
        .ok()
        .or_else(|| text.parse().ok())
}

/// Parses an `xs:double` lexical form.
pub fn parse_double(s: &str) -> Option<f64> {
    let t = s.trim_matches(is_xml_space);
    match t {
        "INF" => return Some(f64::INFINITY),
        "-INF" => return Some(f64::NEG_INFINITY),
        "NaN" => return Some(f64::NAN),
        _ => {}
    }
    let ok = !t.is_empty()
        && t.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'))
        && t.bytes().any(|b| b.is_ascii_digit());
    if !ok {
        return None;
    }
    t.parse().ok()
}

/// Parses an `xs:integer` lexical form.
pub fn parse_integer(s: &str) -> Result<i64, XPathError> {
    let t = s.trim_matches(is_xml_space);
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid_value(&format!("\"{t}\""), "integer"));
    }
    t.strip_prefix('+')
        .unwrap_or(t)
        .parse()
        .map_err(|_| overflow())
}

/// The canonical form of an `xs:double`/`xs:float` (F&O 17.1.2): plain decimal notation
/// from 1e-6 up to 1e6, scientific notation outside.
fn format_double(x: f64, float: bool) -> String {
    if x.is_nan() {
        return "NaN".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "INF" } else { "-INF" }.to_owned();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    let a = x.abs();
    if (1e-6..1e6).contains(&a) {
        return if float {
            format!("{}", x as f32)
        } else {
            number_to_string(x)
        };
    }
    let e = if float {
        format!("{:e}", x as f32)
    } else {
        format!("{x:e}")
    };
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let mant = if mant.contains('.') {
        mant.to_owned()
    } else {
        format!("{mant}.0")
    };
    format!("{mant}E{exp}")
}

/// The canonical form of an `xs:decimal`: no exponent, no trailing zeros, no point for
/// integral values.
pub fn format_decimal(d: Decimal) -> String {
    let n = d.normalize();
    if n.is_zero() {
        "0".to_owned()
    } else {
        n.to_string()
    }
}

fn collapse(s: &str) -> String {
    s.split(is_xml_space)
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

impl Atomic {
    /// The value's type.
    pub fn type_of(&self) -> AtomicType {
        match self {
            Atomic::String(_) => AtomicType::String,
            Atomic::Untyped(_) => AtomicType::Untyped,
            Atomic::AnyUri(_) => AtomicType::AnyUri,
            Atomic::Boolean(_) => AtomicType::Boolean,
            Atomic::Integer(_) => AtomicType::Integer,
            Atomic::Decimal(_) => AtomicType::Decimal,
            Atomic::Float(_) => AtomicType::Float,
            Atomic::Double(_) => AtomicType::Double,
            Atomic::DateTime(_) => AtomicType::DateTime,
            Atomic::Date(_) => AtomicType::Date,
            Atomic::Time(_) => AtomicType::Time,
            Atomic::Duration(_) => AtomicType::Duration,
            Atomic::YearMonthDuration(_) => AtomicType::YearMonthDuration,
            Atomic::DayTimeDuration(_) => AtomicType::DayTimeDuration,
            Atomic::QName(..) => AtomicType::QName,
            Atomic::Other(t, _) => *t,
        }
    }

    /// The type's name, for messages.
    pub fn type_name(&self) -> &'static str {
        match self.type_of() {
            AtomicType::AnyAtomic => "xs:anyAtomicType",
            AtomicType::String => "xs:string",
            AtomicType::Untyped => "xs:untypedAtomic",
            AtomicType::AnyUri => "xs:anyURI",
            AtomicType::Boolean => "xs:boolean",
            AtomicType::Integer => "xs:integer",
            AtomicType::Decimal => "xs:decimal",
            AtomicType::Float => "xs:float",
            AtomicType::Double => "xs:double",
            AtomicType::DateTime => "xs:dateTime",
            AtomicType::Date => "xs:date",
            AtomicType::Time => "xs:time",
            AtomicType::Duration => "xs:duration",
            AtomicType::YearMonthDuration => "xs:yearMonthDuration",
            AtomicType::DayTimeDuration => "xs:dayTimeDuration",
            AtomicType::QName => "xs:QName",
            AtomicType::GYear => "xs:gYear",
            AtomicType::GYearMonth => "xs:gYearMonth",
            AtomicType::GMonth => "xs:gMonth",
            AtomicType::GMonthDay => "xs:gMonthDay",
            AtomicType::GDay => "xs:gDay",
            AtomicType::HexBinary => "xs:hexBinary",
            AtomicType::Base64Binary => "xs:base64Binary",
        }
    }

    /// The canonical lexical form (what `fn:string` gives).
    pub fn to_string_value(&self) -> String {
        match self {
            Atomic::String(s) | Atomic::Untyped(s) | Atomic::AnyUri(s) | Atomic::Other(_, s) => {
                s.clone()
            }
            Atomic::Boolean(b) => if *b { "true" } else { "false" }.to_owned(),
            Atomic::Integer(i) => i.to_string(),
            Atomic::Decimal(d) => format_decimal(*d),
            Atomic::Float(f) => format_double(f64::from(*f), true),
            Atomic::Double(x) => format_double(*x, false),
            Atomic::DateTime(d) => d.format_date_time(),
            Atomic::Date(d) => d.format_date(),
            Atomic::Time(d) => d.format_time(),
            Atomic::Duration(d) | Atomic::DayTimeDuration(d) => d.format("PT0S"),
            Atomic::YearMonthDuration(d) => d.format("P0M"),
            Atomic::QName(p, q) => {
                if p.is_empty() {
                    q.local.clone()
                } else {
                    format!("{p}:{}", q.local)
                }
            }
        }
    }

    /// True for the numeric types.
    pub fn is_numeric(&self) -> bool {
        matches!(
            self,
            Atomic::Integer(_) | Atomic::Decimal(_) | Atomic::Float(_) | Atomic::Double(_)
        )
    }

    /// True for `xs:string`, `xs:anyURI` and `xs:untypedAtomic`: values compared as strings.
    pub fn is_stringlike(&self) -> bool {
        matches!(
            self,
            Atomic::String(_) | Atomic::Untyped(_) | Atomic::AnyUri(_)
        )
    }

    fn num(&self) -> Option<Num> {
        Some(match self {
            Atomic::Integer(i) => Num::I(*i),
            Atomic::Decimal(d) => Num::D(*d),
            Atomic::Float(f) => Num::F(*f),
            Atomic::Double(x) => Num::X(*x),
            _ => return None,
        })
    }

    /// The value as a double (`fn:number` on one atomic value): NaN when it is not a number.
    pub fn to_double(&self) -> f64 {
        match self {
            Atomic::Boolean(b) => f64::from(u8::from(*b)),
            a => match a.num() {
                Some(n) => n.to_f64(),
                None => parse_double(&a.to_string_value()).unwrap_or(f64::NAN),
            },
        }
    }

    /// Casts to `target` (F&O section 17). `[FORG0001]` for a value that does not fit,
    /// `[XPTY0004]` for a cast the types do not allow.
    pub fn cast(&self, target: &TypeRef) -> Result<Atomic, XPathError> {
        let base = self.cast_primitive(target.base, target.name)?;
        match (target.facet, base) {
            (Facet::None, v) => Ok(v),
            (Facet::Range(lo, hi), Atomic::Integer(i)) => {
                if (lo..=hi).contains(&i128::from(i)) {
                    Ok(Atomic::Integer(i))
                } else {
                    Err(invalid_value(&i.to_string(), target.name))
                }
            }
            (Facet::Replace, Atomic::String(s)) => Ok(Atomic::String(
                s.chars()
                    .map(|c| if is_xml_space(c) { ' ' } else { c })
                    .collect(),
            )),
            (Facet::Collapse, Atomic::String(s)) => Ok(Atomic::String(collapse(&s))),
            (_, v) => Ok(v),
        }
    }

    fn cast_primitive(&self, to: AtomicType, name: &str) -> Result<Atomic, XPathError> {
        use AtomicType as T;
        let bad = || invalid_value(&format!("\"{}\"", self.to_string_value()), name);
        let forbidden = || type_mismatch(format!("cannot cast {} to xs:{name}", self.type_name()));
        if self.is_stringlike() {
            let s = self.to_string_value();
            let t = s.trim_matches(is_xml_space);
            return Ok(match to {
                T::AnyAtomic => return Err(forbidden()),
                T::String => Atomic::String(s),
                T::Untyped => Atomic::Untyped(s),
                T::AnyUri => Atomic::AnyUri(collapse(&s)),
                T::Boolean => match t {
                    "true" | "1" => Atomic::Boolean(true),
                    "false" | "0" => Atomic::Boolean(false),
                    _ => return Err(bad()),
                },
                T::Integer => Atomic::Integer(
                    parse_integer(t)
                        .map_err(|e| if e.message.contains("FOAR") { e } else { bad() })?,
                ),
                T::Decimal => Atomic::Decimal(parse_decimal(t).ok_or_else(bad)?),
                T::Double => Atomic::Double(parse_double(t).ok_or_else(bad)?),
                T::Float => Atomic::Float(parse_double(t).ok_or_else(bad)? as f32),
                T::DateTime => Atomic::DateTime(DateTime::parse_date_time(t).ok_or_else(bad)?),
                T::Date => Atomic::Date(DateTime::parse_date(t).ok_or_else(bad)?),
                T::Time => Atomic::Time(DateTime::parse_time(t).ok_or_else(bad)?),
                T::Duration => Atomic::Duration(Duration::parse(t).ok_or_else(bad)?),
                T::YearMonthDuration => {
                    let d = Duration::parse(t).ok_or_else(bad)?;
                    if !d.seconds.is_zero() {
                        return Err(bad());
                    }
                    Atomic::YearMonthDuration(d)
                }
                T::DayTimeDuration => {
                    let d = Duration::parse(t).ok_or_else(bad)?;
                    if d.months != 0 {
                        return Err(bad());
                    }
                    Atomic::DayTimeDuration(d)
                }
                T::QName => {
                    // No namespace context survives compilation, so only unprefixed names
                    // can be cast; `fn:QName` takes the URI explicitly.
                    if t.contains(':') || !is_ncname(t) {
                        return Err(bad());
                    }
                    Atomic::QName(String::new(), QName::local(t))
                }
                T::HexBinary => {
                    if !t.len().is_multiple_of(2) || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(bad());
                    }
                    Atomic::Other(T::HexBinary, t.to_ascii_uppercase())
                }
                T::Base64Binary => {
                    let ok = t.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b' ')
                    });
                    if !ok {
                        return Err(bad());
                    }
                    Atomic::Other(T::Base64Binary, t.replace(' ', ""))
                }
                T::GYear | T::GYearMonth | T::GMonth | T::GMonthDay | T::GDay => {
                    if !g_type_ok(to, t) {
                        return Err(bad());
                    }
                    Atomic::Other(to, t.to_owned())
                }
            });
        }
        if to == T::String {
            return Ok(Atomic::String(self.to_string_value()));
        }
        if to == T::Untyped {
            return Ok(Atomic::Untyped(self.to_string_value()));
        }
        if self.type_of() == to {
            return Ok(self.clone());
        }
        let num = self.num();
        Ok(match (self, to) {
            (Atomic::Boolean(b), T::Integer) => Atomic::Integer(i64::from(*b)),
            (Atomic::Boolean(b), T::Decimal) => Atomic::Decimal(Decimal::from(u8::from(*b))),
            (Atomic::Boolean(b), T::Double) => Atomic::Double(f64::from(u8::from(*b))),
            (Atomic::Boolean(b), T::Float) => Atomic::Float(f32::from(u8::from(*b))),
            (_, T::Boolean) if num.is_some() => Atomic::Boolean(match num {
                Some(Num::I(i)) => i != 0,
                Some(Num::D(d)) => !d.is_zero(),
                Some(n) => {
                    let x = n.to_f64();
                    x != 0.0 && !x.is_nan()
                }
                None => false,
            }),
            (_, T::Integer) if num.is_some() => Atomic::Integer(match num {
                Some(Num::I(i)) => i,
                Some(Num::D(d)) => d.trunc().to_i64().ok_or_else(overflow)?,
                Some(n) => {
                    let x = n.to_f64();
                    if !x.is_finite() {
                        return Err(XPathError::dynamic(
                            0,
                            format!(
                                "[FOCA0002] cannot cast {} to xs:integer",
                                format_double(x, false)
                            ),
                        ));
                    }
                    let t = x.trunc();
                    if !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&t) {
                        return Err(overflow());
                    }
                    t as i64
                }
                None => 0,
            }),
            (_, T::Decimal) if num.is_some() => {
                let n = num.ok_or_else(forbidden)?;
                if matches!(n, Num::F(_) | Num::X(_)) && !n.to_f64().is_finite() {
                    return Err(XPathError::dynamic(
                        0,
                        "[FOCA0002] cannot cast INF or NaN to xs:decimal",
                    ));
                }
                Atomic::Decimal(n.to_decimal().ok_or_else(overflow)?)
            }
            (_, T::Double) if num.is_some() => Atomic::Double(num.map_or(f64::NAN, Num::to_f64)),
            (_, T::Float) if num.is_some() => {
                Atomic::Float(num.map_or(f64::NAN, Num::to_f64) as f32)
            }
            (Atomic::DateTime(d), T::Date) => Atomic::Date(d.date_only()),
            (Atomic::DateTime(d), T::Time) => Atomic::Time(d.time_only()),
            (Atomic::Date(d), T::DateTime) => Atomic::DateTime(d.clone()),
            (Atomic::DateTime(d) | Atomic::Date(d), T::GYear) => {
                Atomic::Other(T::GYear, format!("{:04}{}", d.year, tz_suffix(d)))
            }
            (Atomic::DateTime(d) | Atomic::Date(d), T::GYearMonth) => Atomic::Other(
                T::GYearMonth,
                format!("{:04}-{:02}{}", d.year, d.month, tz_suffix(d)),
            ),
            (Atomic::DateTime(d) | Atomic::Date(d), T::GMonth) => {
                Atomic::Other(T::GMonth, format!("--{:02}{}", d.month, tz_suffix(d)))
            }
            (Atomic::DateTime(d) | Atomic::Date(d), T::GMonthDay) => Atomic::Other(
                T::GMonthDay,
                format!("--{:02}-{:02}{}", d.month, d.day, tz_suffix(d)),
            ),
            (Atomic::DateTime(d) | Atomic::Date(d), T::GDay) => {
                Atomic::Other(T::GDay, format!("---{:02}{}", d.day, tz_suffix(d)))
            }
            (
                Atomic::Duration(d) | Atomic::DayTimeDuration(d) | Atomic::YearMonthDuration(d),
                T::Duration | T::YearMonthDuration | T::DayTimeDuration,
            ) => match to {
                T::Duration => Atomic::Duration(*d),
                T::YearMonthDuration => Atomic::YearMonthDuration(Duration {
                    months: d.months,
                    seconds: Decimal::ZERO,
                }),
                _ => Atomic::DayTimeDuration(Duration {
                    months: 0,
                    seconds: d.seconds,
                }),
            },
            (Atomic::Other(T::HexBinary, _), T::Base64Binary)
            | (Atomic::Other(T::Base64Binary, _), T::HexBinary) => return Err(forbidden()),
            _ => return Err(forbidden()),
        })
    }

    /// True when the value is an instance of `t` (derived types checked by their facet).
    pub fn instance_of(&self, t: &TypeRef) -> bool {
        if t.base == AtomicType::AnyAtomic {
            return true;
        }
        let mine = self.type_of();
        let base_ok = mine == t.base
            || (t.base == AtomicType::Decimal && mine == AtomicType::Integer)
            || (t.base == AtomicType::Duration
                && matches!(
                    mine,
                    AtomicType::YearMonthDuration | AtomicType::DayTimeDuration
                ));
        match (base_ok, t.facet, self) {
            (false, ..) => false,
            (true, Facet::None, _) => true,
            (true, Facet::Range(lo, hi), Atomic::Integer(i)) => {
                t.name == "integer" || (lo..=hi).contains(&i128::from(*i))
            }
            // String-derived types are not tracked on values.
            (true, ..) => false,
        }
    }
}

fn tz_suffix(d: &DateTime) -> String {
    super::datetime::format_tz(d.tz)
}

/// True for an XML NCName.
pub fn is_ncname(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '\u{B7}'))
}

fn g_type_ok(t: AtomicType, s: &str) -> bool {
    // The lexical shapes only; tz suffixes allowed.
    let body = s
        .strip_suffix('Z')
        .or_else(|| {
            let n = s.len();
            (n > 6 && matches!(s.as_bytes()[n - 6], b'+' | b'-') && s.as_bytes()[n - 3] == b':')
                .then(|| &s[..n - 6])
        })
        .unwrap_or(s);
    let digits = |x: &str, n: usize| x.len() == n && x.bytes().all(|b| b.is_ascii_digit());
    match t {
        AtomicType::GYear => {
            let y = body.strip_prefix('-').unwrap_or(body);
            y.len() >= 4 && y.bytes().all(|b| b.is_ascii_digit())
        }
        AtomicType::GYearMonth => body
            .rsplit_once('-')
            .is_some_and(|(y, m)| digits(m, 2) && y.trim_start_matches('-').len() >= 4),
        AtomicType::GMonth => body.strip_prefix("--").is_some_and(|m| digits(m, 2)),
        AtomicType::GMonthDay => body
            .strip_prefix("--")
            .and_then(|r| r.split_once('-'))
            .is_some_and(|(m, d)| digits(m, 2) && digits(d, 2)),
        AtomicType::GDay => body.strip_prefix("---").is_some_and(|d| digits(d, 2)),
        _ => false,
    }
}

/// The value comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    /// `eq`
    Eq,
    /// `ne`
    Ne,
    /// `lt`
    Lt,
    /// `le`
    Le,
    /// `gt`
    Gt,
    /// `ge`
    Ge,
}

impl CmpOp {
    /// True when an ordering (`None`: unordered, e.g. NaN) satisfies the operator.
    pub fn holds(self, o: Option<Ordering>) -> bool {
        match o {
            None => self == CmpOp::Ne,
            Some(o) => match self {
                CmpOp::Eq => o == Ordering::Equal,
                CmpOp::Ne => o != Ordering::Equal,
                CmpOp::Lt => o == Ordering::Less,
                CmpOp::Le => o != Ordering::Greater,
                CmpOp::Gt => o == Ordering::Greater,
                CmpOp::Ge => o != Ordering::Less,
            },
        }
    }

    fn is_equality(self) -> bool {
        matches!(self, CmpOp::Eq | CmpOp::Ne)
    }
}

fn cmp_num(a: Num, b: Num) -> Option<Ordering> {
    match (a, b) {
        (Num::I(x), Num::I(y)) => Some(x.cmp(&y)),
        _ if a.rank().max(b.rank()) <= 1 => Some(a.to_decimal()?.cmp(&b.to_decimal()?)),
        _ => a.to_f64().partial_cmp(&b.to_f64()),
    }
}

/// Compares two atomic values for a value comparison; untyped values compare as strings.
/// `Ok(None)` means unordered (NaN); an error means the types are not comparable with `op`.
pub fn compare_atomic(
    a: &Atomic,
    b: &Atomic,
    op: CmpOp,
    implicit_tz: i16,
) -> Result<Option<Ordering>, XPathError> {
    let incomparable = || {
        type_mismatch(format!(
            "{} and {} cannot be compared with '{}'",
            a.type_name(),
            b.type_name(),
            match op {
                CmpOp::Eq => "eq",
                CmpOp::Ne => "ne",
                CmpOp::Lt => "lt",
                CmpOp::Le => "le",
                CmpOp::Gt => "gt",
                CmpOp::Ge => "ge",
            }
        ))
    };
    if let (Some(x), Some(y)) = (a.num(), b.num()) {
        return Ok(cmp_num(x, y));
    }
    if a.is_stringlike() && b.is_stringlike() {
        return Ok(Some(a.to_string_value().cmp(&b.to_string_value())));
    }
    Ok(Some(match (a, b) {
        (Atomic::Boolean(x), Atomic::Boolean(y)) => x.cmp(y),
        (Atomic::DateTime(x), Atomic::DateTime(y))
        | (Atomic::Date(x), Atomic::Date(y))
        | (Atomic::Time(x), Atomic::Time(y)) => x.cmp_timeline(y, implicit_tz),
        (Atomic::YearMonthDuration(x), Atomic::YearMonthDuration(y)) => x.months.cmp(&y.months),
        (Atomic::DayTimeDuration(x), Atomic::DayTimeDuration(y)) => x.seconds.cmp(&y.seconds),
        (
            Atomic::Duration(x) | Atomic::YearMonthDuration(x) | Atomic::DayTimeDuration(x),
            Atomic::Duration(y) | Atomic::YearMonthDuration(y) | Atomic::DayTimeDuration(y),
        ) if op.is_equality() => {
            if x == y {
                Ordering::Equal
            } else {
                Ordering::Less
            }
        }
        (Atomic::QName(_, x), Atomic::QName(_, y)) if op.is_equality() => {
            if x == y {
                Ordering::Equal
            } else {
                Ordering::Less
            }
        }
        (Atomic::Other(t, x), Atomic::Other(u, y)) if t == u && op.is_equality() => {
            if x == y {
                Ordering::Equal
            } else {
                Ordering::Less
            }
        }
        _ => return Err(incomparable()),
    }))
}

fn int_arith(op: ArithOp, x: i64, y: i64) -> Result<Atomic, XPathError> {
    Ok(match op {
        ArithOp::Add => Atomic::Integer(x.checked_add(y).ok_or_else(overflow)?),
        ArithOp::Sub => Atomic::Integer(x.checked_sub(y).ok_or_else(overflow)?),
        ArithOp::Mul => Atomic::Integer(x.checked_mul(y).ok_or_else(overflow)?),
        ArithOp::Div => {
            if y == 0 {
                return Err(div_zero());
            }
            Atomic::Decimal(
                Decimal::from(x)
                    .checked_div(Decimal::from(y))
                    .ok_or_else(overflow)?,
            )
        }
        ArithOp::IDiv => {
            if y == 0 {
                return Err(div_zero());
            }
            Atomic::Integer(x.checked_div(y).ok_or_else(overflow)?)
        }
        ArithOp::Mod => {
            if y == 0 {
                return Err(div_zero());
            }
            Atomic::Integer(x.checked_rem(y).unwrap_or(0))
        }
    })
}

fn dec_arith(op: ArithOp, x: Decimal, y: Decimal) -> Result<Atomic, XPathError> {
    if matches!(op, ArithOp::Div | ArithOp::IDiv | ArithOp::Mod) && y.is_zero() {
        return Err(div_zero());
    }
    let r = match op {
        ArithOp::Add => x.checked_add(y),
        ArithOp::Sub => x.checked_sub(y),
        ArithOp::Mul => x.checked_mul(y),
        ArithOp::Div => x.checked_div(y),
        ArithOp::Mod => x.checked_rem(y),
        ArithOp::IDiv => {
            let q = x.checked_div(y).ok_or_else(overflow)?.trunc();
            return Ok(Atomic::Integer(q.to_i64().ok_or_else(overflow)?));
        }
    };
    Ok(Atomic::Decimal(r.ok_or_else(overflow)?))
}

fn dbl_arith(op: ArithOp, x: f64, y: f64) -> Result<f64, XPathError> {
    Ok(match op {
        ArithOp::Add => x + y,
        ArithOp::Sub => x - y,
        ArithOp::Mul => x * y,
        ArithOp::Div => x / y,
        ArithOp::Mod => x % y,
        ArithOp::IDiv => {
            if y == 0.0 {
                return Err(div_zero());
            }
            if x.is_nan() || y.is_nan() || x.is_infinite() {
                return Err(XPathError::dynamic(
                    0,
                    "[FOAR0002] idiv of NaN or INF has no integer result",
                ));
            }
            (x / y).trunc()
        }
    })
}

/// Numeric arithmetic with type promotion (F&O 6.2).
fn num_arith(op: ArithOp, a: Num, b: Num) -> Result<Atomic, XPathError> {
    match (a, b) {
        (Num::I(x), Num::I(y)) => int_arith(op, x, y),
        _ if a.rank().max(b.rank()) <= 1 => dec_arith(
            op,
            a.to_decimal().ok_or_else(overflow)?,
            b.to_decimal().ok_or_else(overflow)?,
        ),
        _ => {
            let r = dbl_arith(op, a.to_f64(), b.to_f64())?;
            if op == ArithOp::IDiv {
                return Atomic::Double(r).cast_primitive(AtomicType::Integer, "integer");
            }
            Ok(if a.rank().max(b.rank()) == 2 {
                Atomic::Float(r as f32)
            } else {
                Atomic::Double(r)
            })
        }
    }
}

fn scale_duration(d: &Duration, f: f64, op: ArithOp) -> Result<Duration, XPathError> {
    if f.is_nan() {
        return Err(XPathError::dynamic(0, "[FOCA0005] NaN duration factor"));
    }
    let f = if op == ArithOp::Div {
        if f == 0.0 {
            return Err(XPathError::dynamic(
                0,
                "[FODT0002] duration divided by zero",
            ));
        }
        1.0 / f
    } else {
        f
    };
    if f.is_infinite() {
        return Err(XPathError::dynamic(0, "[FODT0002] duration overflow"));
    }
    let fd = Decimal::from_f64(f).ok_or_else(overflow)?;
    Ok(Duration {
        months: (d.months as f64 * f).round() as i64,
        seconds: d.seconds.checked_mul(fd).ok_or_else(overflow)?.round_dp(6),
    })
}

/// Arithmetic on two atomic values: numbers (untyped as double), and the date, time and
/// duration combinations of F&O 10.
pub fn arithmetic(
    op: ArithOp,
    a: &Atomic,
    b: &Atomic,
    implicit_tz: i16,
) -> Result<Atomic, XPathError> {
    let as_num = |x: &Atomic| -> Result<Num, XPathError> {
        match x {
            Atomic::Untyped(s) => parse_double(s)
                .map(Num::X)
                .ok_or_else(|| invalid_value(&format!("\"{s}\""), "double")),
            other => other
                .num()
                .ok_or_else(|| type_mismatch("a numeric operand is required")),
        }
    };
    let a_num = matches!(a, Atomic::Untyped(_)) || a.is_numeric();
    let b_num = matches!(b, Atomic::Untyped(_)) || b.is_numeric();
    if a_num && b_num {
        return num_arith(op, as_num(a)?, as_num(b)?);
    }
    let mismatch = || {
        type_mismatch(format!(
            "arithmetic on {} and {} is not defined",
            a.type_name(),
            b.type_name()
        ))
    };
    let ovf = |o: Option<Duration>| o.ok_or_else(overflow);
    use Atomic as A;
    Ok(match (op, a, b) {
        (ArithOp::Add, A::YearMonthDuration(x), A::YearMonthDuration(y)) => {
            A::YearMonthDuration(ovf(x.checked_add(y))?)
        }
        (ArithOp::Sub, A::YearMonthDuration(x), A::YearMonthDuration(y)) => {
            A::YearMonthDuration(ovf(x.checked_add(&y.negate()))?)
        }
        (ArithOp::Add, A::DayTimeDuration(x), A::DayTimeDuration(y)) => {
            A::DayTimeDuration(ovf(x.checked_add(y))?)
        }
        (ArithOp::Sub, A::DayTimeDuration(x), A::DayTimeDuration(y)) => {
            A::DayTimeDuration(ovf(x.checked_add(&y.negate()))?)
        }
        (ArithOp::Div, A::YearMonthDuration(x), A::YearMonthDuration(y)) => {
            if y.months == 0 {
                return Err(div_zero());
            }
            A::Decimal(Decimal::from(x.months) / Decimal::from(y.months))
        }
        (ArithOp::Div, A::DayTimeDuration(x), A::DayTimeDuration(y)) => {
            if y.seconds.is_zero() {
                return Err(div_zero());
            }
            A::Decimal(x.seconds.checked_div(y.seconds).ok_or_else(overflow)?)
        }
        (ArithOp::Mul | ArithOp::Div, A::YearMonthDuration(d), n) if b_num => {
            A::YearMonthDuration(scale_duration(d, n.to_double(), op)?)
        }
        (ArithOp::Mul | ArithOp::Div, A::DayTimeDuration(d), n) if b_num => {
            A::DayTimeDuration(scale_duration(d, n.to_double(), op)?)
        }
        (ArithOp::Mul, n, A::YearMonthDuration(d)) if a_num => {
            A::YearMonthDuration(scale_duration(d, n.to_double(), op)?)
        }
        (ArithOp::Mul, n, A::DayTimeDuration(d)) if a_num => {
            A::DayTimeDuration(scale_duration(d, n.to_double(), op)?)
        }
        (ArithOp::Sub, A::DateTime(x), A::DateTime(y))
        | (ArithOp::Sub, A::Date(x), A::Date(y))
        | (ArithOp::Sub, A::Time(x), A::Time(y)) => A::DayTimeDuration(Duration {
            months: 0,
            seconds: x.utc_seconds(implicit_tz) - y.utc_seconds(implicit_tz),
        }),
        (
            ArithOp::Add | ArithOp::Sub,
            A::DateTime(x) | A::Date(x),
            A::YearMonthDuration(d) | A::DayTimeDuration(d),
        ) => {
            let d = if op == ArithOp::Sub { d.negate() } else { *d };
            let r = x.add_duration(&d).ok_or_else(overflow)?;
            if matches!(a, A::Date(_)) {
                A::Date(r.date_only())
            } else {
                A::DateTime(r)
            }
        }
        (
            ArithOp::Add,
            A::YearMonthDuration(d) | A::DayTimeDuration(d),
            A::DateTime(x) | A::Date(x),
        ) => {
            let r = x.add_duration(d).ok_or_else(overflow)?;
            if matches!(b, A::Date(_)) {
                A::Date(r.date_only())
            } else {
                A::DateTime(r)
            }
        }
        (ArithOp::Add | ArithOp::Sub, A::Time(x), A::DayTimeDuration(d)) => {
            let d = if op == ArithOp::Sub { d.negate() } else { *d };
            A::Time(x.add_to_time(&d))
        }
        (ArithOp::Add, A::DayTimeDuration(d), A::Time(x)) => A::Time(x.add_to_time(d)),
        _ => return Err(mismatch()),
    })
}

/// Negates a numeric value (unary minus); untyped values become doubles.
pub fn negate(a: &Atomic) -> Result<Atomic, XPathError> {
    Ok(match a {
        Atomic::Integer(i) => Atomic::Integer(i.checked_neg().ok_or_else(overflow)?),
        Atomic::Decimal(d) => Atomic::Decimal(-*d),
        Atomic::Float(f) => Atomic::Float(-f),
        Atomic::Double(x) => Atomic::Double(-x),
        Atomic::Untyped(s) => Atomic::Double(
            -parse_double(s).ok_or_else(|| invalid_value(&format!("\"{s}\""), "double"))?,
        ),
        Atomic::DayTimeDuration(d) => Atomic::DayTimeDuration(d.negate()),
        Atomic::YearMonthDuration(d) => Atomic::YearMonthDuration(d.negate()),
        _ => {
            return Err(type_mismatch(format!(
                "unary minus is not defined on {}",
                a.type_name()
            )));
        }
    })
}

/// The typed value of a node: untyped, as nothing here is schema-validated.
pub fn atomize_node(n: &NodeRef<'_>) -> Atomic {
    Atomic::Untyped(n.string_value())
}

impl Item<'_> {
    /// The item's string value.
    pub fn string_value(&self) -> String {
        match self {
            Item::Node(n) => n.string_value(),
            Item::Atomic(a) => a.to_string_value(),
        }
    }

    /// The atomized item.
    pub fn atomize(&self) -> Atomic {
        match self {
            Item::Node(n) => atomize_node(n),
            Item::Atomic(a) => a.clone(),
        }
    }
}

/// Atomizes a sequence.
pub fn atomize(seq: &[Item<'_>]) -> Vec<Atomic> {
    seq.iter().map(Item::atomize).collect()
}

/// The effective boolean value (XPath 2.0 section 2.4.3).
pub fn effective_boolean(seq: &[Item<'_>]) -> Result<bool, XPathError> {
    match seq {
        [] => Ok(false),
        [Item::Node(_), ..] => Ok(true),
        [Item::Atomic(a)] => match a {
            Atomic::Boolean(b) => Ok(*b),
            Atomic::String(s) | Atomic::Untyped(s) | Atomic::AnyUri(s) => Ok(!s.is_empty()),
            Atomic::Integer(i) => Ok(*i != 0),
            Atomic::Decimal(d) => Ok(!d.is_zero()),
            Atomic::Float(f) => Ok(*f != 0.0 && !f.is_nan()),
            Atomic::Double(x) => Ok(*x != 0.0 && !x.is_nan()),
            other => Err(XPathError::type_error(
                0,
                format!(
                    "[FORG0006] {} has no effective boolean value",
                    other.type_name()
                ),
            )),
        },
        _ => Err(XPathError::type_error(
            0,
            "[FORG0006] a sequence of more than one atomic value has no effective boolean value",
        )),
    }
}

/// Converts an XPath 1.0 value (a resolver's variable or function result) into a sequence.
/// Strings become `xs:untypedAtomic`, as the text of a node would, so a BPEL variable given
/// as text can be used as a number or date without a cast.
pub fn value_to_sequence(v: Value<'_>) -> Sequence<'_> {
    match v {
        Value::Nodes(n) => n.into_iter().map(Item::Node).collect(),
        Value::String(s) => vec![Item::Atomic(Atomic::Untyped(s))],
        Value::Number(x) => vec![Item::Atomic(Atomic::Double(x))],
        Value::Boolean(b) => vec![Item::Atomic(Atomic::Boolean(b))],
    }
}

/// Converts a sequence to an XPath 1.0 value, at the boundary to the engine: nodes become a
/// node-set (document order), the empty sequence an empty node-set, one boolean a boolean,
/// one number a number, one other atomic value its string; several atomic values become
/// their strings joined by spaces. A mix of nodes and atomic values is a type error.
pub fn sequence_to_value(seq: Sequence<'_>) -> Result<Value<'_>, XPathError> {
    if seq.iter().all(|i| matches!(i, Item::Node(_))) {
        let nodes = seq
            .into_iter()
            .filter_map(|i| match i {
                Item::Node(n) => Some(n),
                Item::Atomic(_) => None,
            })
            .collect();
        return Ok(Value::nodes(nodes));
    }
    if seq.iter().any(|i| matches!(i, Item::Node(_))) {
        return Err(type_mismatch(
            "the result mixes nodes and atomic values; it has no XPath 1.0 equivalent",
        ));
    }
    if let [Item::Atomic(a)] = seq.as_slice() {
        return Ok(match a {
            Atomic::Boolean(b) => Value::Boolean(*b),
            n if n.is_numeric() => Value::Number(n.to_double()),
            other => Value::String(other.to_string_value()),
        });
    }
    Ok(Value::String(
        seq.iter()
            .map(Item::string_value)
            .collect::<Vec<_>>()
            .join(" "),
    ))
}
