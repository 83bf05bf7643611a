//! The function tables used for static checking: which functions exist, in which namespace,
//! with how many arguments.
//!
//! An engine can only call what it implements, so a call to anything not listed here is an
//! error; calls into namespaces no table covers get their own [`ErrorKind::ForeignFunction`]
//! so the compiler can decide how strict to be.

use super::ast::{Expr, Language, Name};
use super::error::{ErrorKind, XPathError};

/// The WS-BPEL 2.0 executable process namespace.
pub const BPEL20_NS: &str = "http://docs.oasis-open.org/wsbpel/2.0/process/executable";
/// The 2004/03 WS-BPEL 2.0 draft namespace.
pub const BPEL20_DRAFT_NS: &str = "http://schemas.xmlsoap.org/ws/2004/03/business-process/";
/// The BPEL4WS 1.1 namespace.
pub const BPEL11_NS: &str = "http://schemas.xmlsoap.org/ws/2003/03/business-process/";
/// Apache ODE's extension function namespace.
pub const ODE_EXT_NS: &str = "http://www.apache.org/ode/type/extension";
/// The deprecated XQuery 1.0/XPath 2.0 draft datatypes namespace (duration constructors).
pub const XPATH_DATATYPES_NS: &str = "http://www.w3.org/2003/11/xpath-datatypes";
/// The XPath 2.0 functions namespace (`fn:`), the default function namespace of XPath 2.0.
pub const FN_NS: &str = "http://www.w3.org/2005/xpath-functions";
/// XML Schema: in XPath 2.0 its atomic types have constructor functions (`xs:integer('1')`).
pub const XS_NS: &str = "http://www.w3.org/2001/XMLSchema";

/// How many arguments a function accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arity {
    /// Between `min` and `max` (unbounded when `None`), inclusive.
    Range(usize, Option<usize>),
    /// `fixed` arguments followed by name/value pairs, at least `min_pairs` of them.
    Pairs {
        /// Leading arguments.
        fixed: usize,
        /// Fewest pairs allowed.
        min_pairs: usize,
    },
    /// Any of the listed forms.
    OneOf(&'static [Arity]),
}

impl Arity {
    const fn exactly(n: usize) -> Arity {
        Arity::Range(n, Some(n))
    }

    /// True when a call with `n` arguments is allowed.
    pub fn accepts(&self, n: usize) -> bool {
        match *self {
            Arity::Range(min, max) => n >= min && max.is_none_or(|m| n <= m),
            Arity::Pairs { fixed, min_pairs } => {
                n >= fixed + 2 * min_pairs && (n - fixed).is_multiple_of(2)
            }
            Arity::OneOf(forms) => forms.iter().any(|a| a.accepts(n)),
        }
    }

    /// "2 arguments", "1 to 3 arguments", "2 or more arguments", …
    pub fn describe(&self) -> String {
        let args = |n: usize| if n == 1 { "argument" } else { "arguments" };
        match *self {
            Arity::Range(min, Some(max)) if min == max => format!("{min} {}", args(min)),
            Arity::Range(min, Some(max)) => format!("{min} to {max} arguments"),
            Arity::Range(min, None) => format!("{min} or more arguments"),
            Arity::Pairs { fixed, min_pairs } => format!(
                "{} {} followed by name/value pairs",
                fixed + 2 * min_pairs,
                args(fixed + 2 * min_pairs)
            ),
            Arity::OneOf(forms) => {
                let forms: Vec<String> = forms.iter().map(Arity::describe).collect();
                forms.join(", or ")
            }
        }
    }
}

/// One function of a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FunctionSig {
    /// Local name.
    pub name: &'static str,
    /// Accepted argument counts.
    pub arity: Arity,
}

const fn f(name: &'static str, min: usize, max: usize) -> FunctionSig {
    FunctionSig {
        name,
        arity: Arity::Range(min, Some(max)),
    }
}

const fn var(name: &'static str, min: usize) -> FunctionSig {
    FunctionSig {
        name,
        arity: Arity::Range(min, None),
    }
}

/// The XPath 1.0 core function library (section 4), in no namespace.
pub const XPATH1_CORE: &[FunctionSig] = &[
    f("last", 0, 0),
    f("position", 0, 0),
    f("count", 1, 1),
    f("id", 1, 1),
    f("local-name", 0, 1),
    f("namespace-uri", 0, 1),
    f("name", 0, 1),
    f("string", 0, 1),
    var("concat", 2),
    f("starts-with", 2, 2),
    f("contains", 2, 2),
    f("substring-before", 2, 2),
    f("substring-after", 2, 2),
    f("substring", 2, 3),
    f("string-length", 0, 1),
    f("normalize-space", 0, 1),
    f("translate", 3, 3),
    f("boolean", 1, 1),
    f("not", 1, 1),
    f("true", 0, 0),
    f("false", 0, 0),
    f("lang", 1, 1),
    f("number", 0, 1),
    f("sum", 1, 1),
    f("floor", 1, 1),
    f("ceiling", 1, 1),
    f("round", 1, 1),
];

const DO_XSL_TRANSFORM: FunctionSig = FunctionSig {
    name: "doXslTransform",
    arity: Arity::Pairs {
        fixed: 2,
        min_pairs: 0,
    },
};

/// WS-BPEL 2.0 functions (section 8.3).
pub const BPEL20_FUNCTIONS: &[FunctionSig] = &[f("getVariableProperty", 2, 2), DO_XSL_TRANSFORM];

/// The 2004/03 draft still had the BPEL4WS 1.1 functions next to the WS-BPEL 2.0 ones.
pub const BPEL20_DRAFT_FUNCTIONS: &[FunctionSig] = &[
    f("getVariableProperty", 2, 2),
    DO_XSL_TRANSFORM,
    f("getVariableData", 1, 3),
    f("getLinkStatus", 1, 1),
];

/// BPEL4WS 1.1 functions (section 9.1).
pub const BPEL11_FUNCTIONS: &[FunctionSig] = &[
    f("getVariableData", 1, 3),
    f("getVariableProperty", 2, 2),
    f("getLinkStatus", 1, 1),
];

/// `composeUrl(template, element)` or `composeUrl(template, name, value, …)`.
const URL_TEMPLATE: Arity = Arity::OneOf(&[
    Arity::exactly(2),
    Arity::Pairs {
        fixed: 1,
        min_pairs: 1,
    },
]);

/// Apache ODE extension functions; the camel-case names are the older spellings.
pub const ODE_FUNCTIONS: &[FunctionSig] = &[
    f("split-to-elements", 3, 4),
    f("splitToElements", 3, 4),
    f("combine-url", 2, 2),
    f("combineUrl", 2, 2),
    FunctionSig {
        name: "compose-url",
        arity: URL_TEMPLATE,
    },
    FunctionSig {
        name: "composeUrl",
        arity: URL_TEMPLATE,
    },
    FunctionSig {
        name: "expand-template",
        arity: URL_TEMPLATE,
    },
    FunctionSig {
        name: "expandTemplate",
        arity: URL_TEMPLATE,
    },
    f("dom-to-string", 1, 1),
    f("domToString", 1, 1),
    f("insert-after", 2, 3),
    f("insert-before", 2, 3),
    f("insert-as-first-into", 2, 2),
    f("insert-as-last-into", 2, 2),
    f("delete", 1, 2),
    f("rename", 2, 3),
    f("process-property", 1, 1),
];

/// Duration constructors of the deprecated 2003/11 datatypes namespace.
pub const XPATH_DATATYPES_FUNCTIONS: &[FunctionSig] =
    &[f("dayTimeDuration", 1, 1), f("yearMonthDuration", 1, 1)];

/// The XPath 2.0 / XQuery 1.0 function library (F&O, 2007).
pub const FN_FUNCTIONS: &[FunctionSig] = &[
    // Accessors.
    f("node-name", 1, 1),
    f("nilled", 1, 1),
    f("string", 0, 1),
    f("data", 1, 1),
    f("base-uri", 0, 1),
    f("document-uri", 1, 1),
    // Errors and tracing.
    f("error", 0, 3),
    f("trace", 2, 2),
    // Numbers.
    f("abs", 1, 1),
    f("ceiling", 1, 1),
    f("floor", 1, 1),
    f("round", 1, 1),
    f("round-half-to-even", 1, 2),
    f("number", 0, 1),
    // Strings.
    f("codepoints-to-string", 1, 1),
    f("string-to-codepoints", 1, 1),
    f("compare", 2, 3),
    f("codepoint-equal", 2, 2),
    var("concat", 2),
    f("string-join", 2, 2),
    f("substring", 2, 3),
    f("string-length", 0, 1),
    f("normalize-space", 0, 1),
    f("normalize-unicode", 1, 2),
    f("upper-case", 1, 1),
    f("lower-case", 1, 1),
    f("translate", 3, 3),
    f("encode-for-uri", 1, 1),
    f("iri-to-uri", 1, 1),
    f("escape-html-uri", 1, 1),
    f("contains", 2, 3),
    f("starts-with", 2, 3),
    f("ends-with", 2, 3),
    f("substring-before", 2, 3),
    f("substring-after", 2, 3),
    f("matches", 2, 3),
    f("replace", 3, 4),
    f("tokenize", 2, 3),
    // URIs.
    f("resolve-uri", 1, 2),
    // Booleans.
    f("true", 0, 0),
    f("false", 0, 0),
    f("not", 1, 1),
    f("boolean", 1, 1),
    // Durations, dates and times.
    f("years-from-duration", 1, 1),
    f("months-from-duration", 1, 1),
    f("days-from-duration", 1, 1),
    f("hours-from-duration", 1, 1),
    f("minutes-from-duration", 1, 1),
    f("seconds-from-duration", 1, 1),
    f("dateTime", 2, 2),
    f("year-from-dateTime", 1, 1),
    f("month-from-dateTime", 1, 1),
    f("day-from-dateTime", 1, 1),
    f("hours-from-dateTime", 1, 1),
    f("minutes-from-dateTime", 1, 1),
    f("seconds-from-dateTime", 1, 1),
    f("timezone-from-dateTime", 1, 1),
    f("year-from-date", 1, 1),
    f("month-from-date", 1, 1),
    f("day-from-date", 1, 1),
    f("timezone-from-date", 1, 1),
    f("hours-from-time", 1, 1),
    f("minutes-from-time", 1, 1),
    f("seconds-from-time", 1, 1),
    f("timezone-from-time", 1, 1),
    f("adjust-dateTime-to-timezone", 1, 2),
    f("adjust-date-to-timezone", 1, 2),
    f("adjust-time-to-timezone", 1, 2),
    // QNames.
    f("resolve-QName", 2, 2),
    f("QName", 2, 2),
    f("prefix-from-QName", 1, 1),
    f("local-name-from-QName", 1, 1),
    f("namespace-uri-from-QName", 1, 1),
    f("namespace-uri-for-prefix", 2, 2),
    f("in-scope-prefixes", 1, 1),
    // Nodes.
    f("name", 0, 1),
    f("local-name", 0, 1),
    f("namespace-uri", 0, 1),
    f("lang", 1, 2),
    f("root", 0, 1),
    // Sequences.
    f("index-of", 2, 3),
    f("empty", 1, 1),
    f("exists", 1, 1),
    f("distinct-values", 1, 2),
    f("insert-before", 3, 3),
    f("remove", 2, 2),
    f("reverse", 1, 1),
    f("subsequence", 2, 3),
    f("unordered", 1, 1),
    f("zero-or-one", 1, 1),
    f("one-or-more", 1, 1),
    f("exactly-one", 1, 1),
    f("deep-equal", 2, 3),
    f("count", 1, 1),
    f("avg", 1, 1),
    f("max", 1, 2),
    f("min", 1, 2),
    f("sum", 1, 2),
    f("id", 1, 2),
    f("idref", 1, 2),
    f("doc", 1, 1),
    f("doc-available", 1, 1),
    f("collection", 0, 1),
    // Context.
    f("position", 0, 0),
    f("last", 0, 0),
    f("current-dateTime", 0, 0),
    f("current-date", 0, 0),
    f("current-time", 0, 0),
    f("implicit-timezone", 0, 0),
    f("default-collation", 0, 0),
    f("static-base-uri", 0, 0),
];

/// Atomic types of XML Schema and XPath 2.0 that have a one-argument constructor function.
pub const XS_CONSTRUCTORS: &[&str] = &[
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
    "normalizedString",
    "token",
    "language",
    "NMTOKEN",
    "Name",
    "NCName",
    "ID",
    "IDREF",
    "ENTITY",
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
    "untypedAtomic",
    "yearMonthDuration",
    "dayTimeDuration",
];

/// A function library: the namespace it covers and how to name it in messages.
struct Library {
    ns: &'static str,
    title: &'static str,
    functions: &'static [FunctionSig],
}

const LIBRARIES: &[Library] = &[
    Library {
        ns: BPEL20_NS,
        title: "the BPEL namespace",
        functions: BPEL20_FUNCTIONS,
    },
    Library {
        ns: BPEL20_DRAFT_NS,
        title: "the BPEL 2.0 draft namespace",
        functions: BPEL20_DRAFT_FUNCTIONS,
    },
    Library {
        ns: BPEL11_NS,
        title: "the BPEL4WS 1.1 namespace",
        functions: BPEL11_FUNCTIONS,
    },
    Library {
        ns: ODE_EXT_NS,
        title: "the ODE extension namespace",
        functions: ODE_FUNCTIONS,
    },
    Library {
        ns: XPATH_DATATYPES_NS,
        title: "the xpath-datatypes namespace",
        functions: XPATH_DATATYPES_FUNCTIONS,
    },
];

/// What a function name refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// A known function.
    Known(Arity),
    /// No such function in a library this engine implements.
    Unknown,
    /// A namespace no library here covers.
    Foreign,
}

/// Looks up the function `{ns}local` as called from `lang` (unprefixed calls have `ns` "").
pub fn lookup(ns: &str, local: &str, lang: Language) -> Lookup {
    let find = |table: &[FunctionSig]| {
        table
            .iter()
            .find(|f| f.name == local)
            .map_or(Lookup::Unknown, |f| Lookup::Known(f.arity))
    };
    match (ns, lang) {
        ("", Language::XPath1) => find(XPATH1_CORE),
        ("", Language::XPath2) | (FN_NS, Language::XPath2) => find(FN_FUNCTIONS),
        (XS_NS, Language::XPath2) => {
            if XS_CONSTRUCTORS.contains(&local) {
                Lookup::Known(Arity::exactly(1))
            } else {
                Lookup::Unknown
            }
        }
        _ => LIBRARIES
            .iter()
            .find(|l| l.ns == ns)
            .map_or(Lookup::Foreign, |l| find(l.functions)),
    }
}

/// Joins names as "a", "a and b", "a, b and c".
fn and_list(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn unknown_message(name: &Name, ns: &str, lang: Language) -> String {
    let written = name.written();
    match (ns, lang) {
        ("", Language::XPath1) => {
            format!("unknown function {written}; it is not in the XPath 1.0 core library")
        }
        ("", Language::XPath2) | (FN_NS, Language::XPath2) => {
            format!("unknown function {written}; it is not in the XPath 2.0 function library")
        }
        (XS_NS, _) => format!("unknown function {written}; {ns} has no such constructor"),
        _ => match LIBRARIES.iter().find(|l| l.ns == ns) {
            Some(lib) => {
                let mut names: Vec<&str> = lib.functions.iter().map(|f| f.name).collect();
                names.dedup();
                format!(
                    "unknown function {written}; {} defines {}",
                    lib.title,
                    and_list(&names)
                )
            }
            None => format!("unknown function {written}"),
        },
    }
}

/// Checks every function call of `expr`: unknown functions and wrong argument counts.
///
/// Call this on a resolved expression; calls whose prefix did not resolve are skipped (the
/// resolver already reported them).
pub fn check_functions(expr: &Expr, lang: Language) -> Vec<XPathError> {
    let mut errors = Vec::new();
    expr.walk(&mut |e| {
        let Expr::Call { name, args } = e else {
            return;
        };
        let ns = match (&name.ns, name.prefix.is_empty()) {
            (Some(ns), _) => ns.as_str(),
            (None, true) => "",
            (None, false) => return,
        };
        match lookup(ns, &name.local, lang) {
            Lookup::Known(arity) => {
                if !arity.accepts(args.len()) {
                    errors.push(XPathError::new(
                        ErrorKind::Arity,
                        name.offset,
                        format!(
                            "function {} takes {}, not {}",
                            name.written(),
                            arity.describe(),
                            args.len()
                        ),
                    ));
                }
            }
            Lookup::Unknown => errors.push(XPathError::new(
                ErrorKind::UnknownFunction,
                name.offset,
                unknown_message(name, ns, lang),
            )),
            Lookup::Foreign => errors.push(XPathError::new(
                ErrorKind::ForeignFunction,
                name.offset,
                format!(
                    "unknown function {} in namespace {ns}: no function library is available for it",
                    name.written()
                ),
            )),
        }
    });
    errors
}
