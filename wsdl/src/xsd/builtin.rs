//! The built-in datatypes of XML Schema.

use crate::xml::QName;

use super::model::XSD_NS;

/// Every built-in type of XML Schema 1.0 (plus the XSD 1.1 additions XPath 2.0 uses), with the
/// type it is derived from. `anyType` is the root; `anySimpleType` derives from it.
const BUILTINS: &[(&str, &str)] = &[
    ("anyType", ""),
    ("anySimpleType", "anyType"),
    ("anyAtomicType", "anySimpleType"),
    ("string", "anySimpleType"),
    ("boolean", "anySimpleType"),
    ("decimal", "anySimpleType"),
    ("float", "anySimpleType"),
    ("double", "anySimpleType"),
    ("duration", "anySimpleType"),
    ("dateTime", "anySimpleType"),
    ("time", "anySimpleType"),
    ("date", "anySimpleType"),
    ("gYearMonth", "anySimpleType"),
    ("gYear", "anySimpleType"),
    ("gMonthDay", "anySimpleType"),
    ("gDay", "anySimpleType"),
    ("gMonth", "anySimpleType"),
    ("hexBinary", "anySimpleType"),
    ("base64Binary", "anySimpleType"),
    ("anyURI", "anySimpleType"),
    ("QName", "anySimpleType"),
    ("NOTATION", "anySimpleType"),
    ("normalizedString", "string"),
    ("token", "normalizedString"),
    ("language", "token"),
    ("NMTOKEN", "token"),
    ("NMTOKENS", "NMTOKEN"),
    ("Name", "token"),
    ("NCName", "Name"),
    ("ID", "NCName"),
    ("IDREF", "NCName"),
    ("IDREFS", "IDREF"),
    ("ENTITY", "NCName"),
    ("ENTITIES", "ENTITY"),
    ("integer", "decimal"),
    ("nonPositiveInteger", "integer"),
    ("negativeInteger", "nonPositiveInteger"),
    ("long", "integer"),
    ("int", "long"),
    ("short", "int"),
    ("byte", "short"),
    ("nonNegativeInteger", "integer"),
    ("unsignedLong", "nonNegativeInteger"),
    ("unsignedInt", "unsignedLong"),
    ("unsignedShort", "unsignedInt"),
    ("unsignedByte", "unsignedShort"),
    ("positiveInteger", "nonNegativeInteger"),
    ("dateTimeStamp", "dateTime"),
    ("dayTimeDuration", "duration"),
    ("yearMonthDuration", "duration"),
];

/// True when `name` is a built-in type of the `http://www.w3.org/2001/XMLSchema` namespace.
pub fn is_builtin(name: &QName) -> bool {
    name.ns == XSD_NS && BUILTINS.iter().any(|(l, _)| *l == name.local)
}

/// True when `name` is a built-in simple type (every built-in except `xsd:anyType`).
pub fn is_builtin_simple(name: &QName) -> bool {
    is_builtin(name) && name.local != "anyType"
}

/// The built-in type `name` derives from (None for `anyType` and non-built-ins).
pub fn builtin_base(name: &QName) -> Option<QName> {
    if name.ns != XSD_NS {
        return None;
    }
    BUILTINS
        .iter()
        .find(|(l, _)| *l == name.local)
        .filter(|(_, b)| !b.is_empty())
        .map(|(_, b)| QName::new(XSD_NS, *b))
}

/// The primitive type a built-in simple type is derived from (`xsd:string` for `xsd:token`,
/// `xsd:decimal` for `xsd:int`); None for `anyType`, `anySimpleType`, `anyAtomicType` and
/// non-built-ins. Primitives are their own primitive.
pub fn builtin_primitive(name: &QName) -> Option<QName> {
    let mut cur = name.clone();
    loop {
        let base = builtin_base(&cur)?;
        if matches!(base.local.as_str(), "anySimpleType" | "anyAtomicType") {
            return (cur.local != "anyAtomicType").then_some(cur);
        }
        cur = base;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivation_chain() {
        let q = |l: &str| QName::new(XSD_NS, l);
        assert_eq!(builtin_primitive(&q("unsignedByte")), Some(q("decimal")));
        assert_eq!(builtin_primitive(&q("ID")), Some(q("string")));
        assert_eq!(builtin_primitive(&q("dateTime")), Some(q("dateTime")));
        assert_eq!(builtin_primitive(&q("anySimpleType")), None);
        assert_eq!(builtin_primitive(&q("anyType")), None);
        assert!(!is_builtin(&QName::new("urn:x", "string")));
    }
}
