//! The README's "Samples" section, replayed: a server with the real compiler deploys
//! `examples/` into its default deploy dir, every curl line of the section is sent as written
//! (same URL path, headers and body), and each reply is compared with the block the README
//! shows after the line. XML replies are compared by expanded names and text, so namespace
//! prefixes and indentation may differ; a `text` block is curl's printed output.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bpelgate::config::Config;
use bpelgate::deploy::{BpelCompiler, PackageState};
use bpelgate::server::{self, Running};
use bpelgate_wsdl::xml::{Element, Limits, Node, parse_str};

use crate::support::{Response, request};

const SOAP_ENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// Where the README's lines send their requests; replaced by the test server's address.
const README_BASE: &str = "http://127.0.0.1:9763";

/// Every operation a client calls in the samples: the README must show each one at least once.
const OPERATIONS: &[&str] = &[
    "http://bpelgate.example/hello/wsdl/hello",
    "http://bpelgate.example/loan/wsdl/request",
    "http://bpelgate.example/loan/wsdl/status",
    "http://bpelgate.example/loan/wsdl/approve",
    "http://bpelgate.example/loan/client/wsdl/lastCallback",
    "http://bpelgate.example/order/wsdl/placeOrder",
    "http://bpelgate.example/payment/wsdl/charge",
    "http://bpelgate.example/inventory/wsdl/reserve",
    "http://bpelgate.example/inventory/wsdl/release",
    "http://bpelgate.example/shipping/wsdl/book",
    "http://bpelgate.example/shipping/wsdl/cancel",
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One curl command as the README writes it.
#[derive(Debug, Default)]
struct Curl {
    url: String,
    headers: Vec<(String, String)>,
    body: String,
    /// `-w FORMAT`: printed after the body.
    write_out: Option<String>,
    /// `-o /dev/null`: the body is not printed.
    discard_body: bool,
}

/// A curl line and the reply block that follows it.
#[derive(Debug)]
struct Step {
    curl: Curl,
    lang: String,
    expected: String,
}

/// The text between `## Samples` and the next `## ` heading.
fn samples_section(readme: &str) -> &str {
    let start = readme
        .find("\n## Samples\n")
        .expect("README has a \"## Samples\" section");
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    &rest[..end]
}

/// Fenced code blocks as `(language, text)`.
fn fenced_blocks(text: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        match (&mut current, line.strip_prefix("```")) {
            (None, Some(lang)) => current = Some((lang.trim().to_string(), String::new())),
            (Some(_), Some(_)) => blocks.extend(current.take()),
            (Some((_, body)), None) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(
        current.is_none(),
        "unclosed code block in the Samples section"
    );
    blocks
}

/// Splits a command line into words as a POSIX shell would for the quoting the README
/// uses: single quotes, double quotes with backslash escapes, backslash-newline.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    w.push(c);
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' if matches!(chars.peek(), Some('"' | '\\' | '$' | '`')) => {
                            w.extend(chars.next());
                        }
                        _ => w.push(c),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') | None => {}
                Some(c) => word.get_or_insert_with(String::new).push(c),
            },
            c if c.is_whitespace() => words.extend(word.take()),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

fn parse_curl(command: &str) -> Curl {
    let words = shell_words(command);
    assert_eq!(words.first().map(String::as_str), Some("curl"), "{command}");
    let mut curl = Curl::default();
    let mut it = words.into_iter().skip(1);
    while let Some(w) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{w} needs a value"));
        match w.as_str() {
            "-s" | "--silent" => {}
            "-H" | "--header" => {
                let h = value();
                let (k, v) = h.split_once(':').expect("header is `Name: value`");
                curl.headers
                    .push((k.trim().to_string(), v.trim().to_string()));
            }
            "-d" | "--data" => curl.body = value(),
            "-w" | "--write-out" => curl.write_out = Some(value()),
            "-o" | "--output" => {
                assert_eq!(value(), "/dev/null", "only -o /dev/null is understood");
                curl.discard_body = true;
            }
            u if u.starts_with("http://") => curl.url = u.to_string(),
            other => panic!("curl option {other:?} is not understood by this test: {command}"),
        }
    }
    assert!(!curl.url.is_empty(), "no URL in {command}");
    curl
}

/// The curl lines of the Samples section, each with the reply block that follows it.
fn readme_steps() -> Vec<Step> {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let blocks = fenced_blocks(samples_section(&readme));
    let mut steps = Vec::new();
    let mut it = blocks.into_iter();
    while let Some((lang, text)) = it.next() {
        if lang != "sh" {
            continue;
        }
        let (reply_lang, expected) = it
            .next()
            .unwrap_or_else(|| panic!("no reply block after:\n{text}"));
        assert!(
            reply_lang == "xml" || reply_lang == "text",
            "the block after a curl line must be `xml` or `text`, got {reply_lang:?}:\n{text}"
        );
        steps.push(Step {
            curl: parse_curl(&text),
            lang: reply_lang,
            expected,
        });
    }
    steps
}

/// An element as `{ns}local[attrs](children or text)`, blind to prefixes and to
/// whitespace between elements.
fn canonical(e: &Element) -> String {
    let mut out = e.name.clark();
    let mut attrs: Vec<String> = e
        .attrs
        .iter()
        .map(|a| format!("{}={:?}", a.name.clark(), a.value))
        .collect();
    attrs.sort();
    if !attrs.is_empty() {
        out.push_str(&format!("[{}]", attrs.join(" ")));
    }
    out.push('(');
    if e.has_element_children() {
        for n in &e.children {
            if let Node::Element(c) = n {
                out.push_str(&canonical(c));
            }
        }
    } else {
        out.push_str(&format!("{:?}", e.text().trim()));
    }
    out.push(')');
    out
}

/// The first element inside the SOAP 1.1 Body of a reply.
fn body_payload(envelope: &str) -> Element {
    let env = parse_str(envelope, &Limits::default())
        .unwrap_or_else(|e| panic!("reply is not XML ({e}): {envelope}"));
    assert!(
        env.is(SOAP_ENV, "Envelope"),
        "not a SOAP 1.1 envelope: {envelope}"
    );
    env.child(SOAP_ENV, "Body")
        .and_then(Element::first_element)
        .cloned()
        .unwrap_or_else(|| panic!("empty SOAP Body: {envelope}"))
}

/// What curl prints for this response with the command's `-o`/`-w` options.
fn curl_output(curl: &Curl, r: &Response) -> String {
    let mut out = String::new();
    if !curl.discard_body {
        out.push_str(&r.body);
    }
    if let Some(w) = &curl.write_out {
        out.push_str(
            &w.replace("%{http_code}", &r.status.to_string())
                .replace("\\n", "\n"),
        );
    }
    out
}

async fn start_with_examples(data_dir: &Path) -> Running {
    let mut config = Config::default();
    config.server.http_port = 0;
    config.server.data_dir = data_dir.to_path_buf();
    config.server.deploy_dir = config.server.default_deploy_dir();
    config.server.samples_dir = repo().join("examples");
    config.server.scan_interval_ms = 50;
    server::start(config, Arc::new(BpelCompiler))
        .await
        .expect("server starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_readme_sample_request_gets_the_reply_the_readme_shows() {
    let steps = readme_steps();
    for op in OPERATIONS {
        assert!(
            steps.iter().any(|s| s
                .curl
                .headers
                .iter()
                .any(|(k, v)| k.eq_ignore_ascii_case("SOAPAction") && v.trim_matches('"') == *op)),
            "the README's Samples section has no curl line for {op}"
        );
    }

    let data = tempfile::tempdir().unwrap();
    let running = start_with_examples(data.path()).await;
    let addr = running.local_addr();

    // Every sample package deploys, with neither errors nor warnings.
    let mut samples: Vec<String> = std::fs::read_dir(repo().join("examples"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().join("deploy.xml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    samples.sort();
    assert!(samples.len() >= 3, "samples found: {samples:?}");
    for name in &samples {
        let info = running
            .registry()
            .package(name)
            .unwrap_or_else(|| panic!("sample {name} was not deployed"));
        assert_eq!(
            info.state,
            PackageState::Deployed,
            "{name}: {:?}",
            info.errors
        );
        assert!(info.warnings.is_empty(), "{name}: {:?}", info.warnings);
    }

    for (i, step) in steps.iter().enumerate() {
        let what = format!("README sample request #{} ({})", i + 1, step.curl.url);
        let path = step
            .curl
            .url
            .strip_prefix(README_BASE)
            .unwrap_or_else(|| panic!("{what}: the URL must start with {README_BASE}"));
        let headers: Vec<(&str, &str)> = step
            .curl
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let r = tokio::time::timeout(
            Duration::from_secs(30),
            request(addr, "POST", path, &headers, &step.curl.body),
        )
        .await
        .unwrap_or_else(|_| panic!("{what}: no reply within 30 s"));
        match step.lang.as_str() {
            "text" => assert_eq!(
                curl_output(&step.curl, &r).trim(),
                step.expected.trim(),
                "{what}: body {:?}",
                r.body
            ),
            _ => {
                let got = body_payload(&r.body);
                let want = parse_str(&step.expected, &Limits::default())
                    .unwrap_or_else(|e| panic!("{what}: the README's reply is not XML: {e}"));
                assert_eq!(canonical(&got), canonical(&want), "{what}: {}", r.body);
                let status = if got.is(SOAP_ENV, "Fault") { 500 } else { 200 };
                assert_eq!(r.status, status, "{what}: {}", r.body);
                assert_eq!(
                    r.header("content-type"),
                    Some("text/xml; charset=utf-8"),
                    "{what}"
                );
            }
        }
    }
    running.shutdown().await.unwrap();
}

#[test]
fn shell_words_follow_the_readme_quoting() {
    let words = shell_words(
        "curl -s http://h/x -H 'SOAPAction: \"urn:a\"' \\\n  -H \"A: \\\"b\\\"\" -d '<a\n b=\"1\"/>'",
    );
    assert_eq!(
        words,
        [
            "curl",
            "-s",
            "http://h/x",
            "-H",
            "SOAPAction: \"urn:a\"",
            "-H",
            "A: \"b\"",
            "-d",
            "<a\n b=\"1\"/>"
        ]
    );
}

#[test]
fn canonical_form_ignores_prefixes_and_indentation() {
    let a = parse_str(
        r#"<r xmlns="urn:x"><a>1</a><b k="v">two words</b></r>"#,
        &Limits::default(),
    )
    .unwrap();
    let b = parse_str(
        "<p:r xmlns:p=\"urn:x\">\n  <p:a> 1 </p:a>\n  <p:b k=\"v\">two words</p:b>\n</p:r>",
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(canonical(&a), canonical(&b));
    let c = parse_str(
        r#"<r xmlns="urn:x"><a>1</a><b k="v">two</b></r>"#,
        &Limits::default(),
    )
    .unwrap();
    assert_ne!(canonical(&a), canonical(&c));
}
