//! Every complete JSON example in docs/protocol.md decodes with these types, so the document
//! cannot silently drift from the code.

use huddle_proto::{decode_client, decode_server};
use serde_json::Value;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// JSON objects written in the document: inline code spans and ```json blocks.
fn snippets(doc: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = doc;
    while let Some(start) = rest.find("```json\n") {
        let body = &rest[start + 8..];
        let Some(end) = body.find("```") else { break };
        out.push(body[..end].to_owned());
        rest = &body[end + 3..];
    }
    for (i, piece) in doc.split('`').enumerate() {
        if i % 2 == 1 && piece.starts_with('{') {
            out.push(piece.to_owned());
        }
    }
    out
}

fn check(text: &str) -> Result<bool, String> {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return Ok(false); // an abbreviated example ("...")
    };
    if value.get("type").and_then(Value::as_str).is_none() {
        return Ok(false); // a fragment such as a resume object
    }
    // Some names are shared (`chat` is an action and an event), so any reading will do.
    let ok = decode_client(text).is_ok()
        || decode_server(text).is_ok()
        || decode_client(&format!(r#"{{"type":"request","id":1,"action":{text}}}"#)).is_ok()
        || decode_server(&format!(r#"{{"type":"event","event":{text}}}"#)).is_ok();
    if ok {
        Ok(true)
    } else {
        Err(format!("example does not decode: {text}"))
    }
}

#[test]
fn protocol_document_examples_decode() -> TestResult {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/protocol.md");
    let doc = std::fs::read_to_string(path)?;
    let mut decoded = 0;
    let mut failures = Vec::new();
    for snippet in snippets(&doc) {
        match check(&snippet) {
            Ok(true) => decoded += 1,
            Ok(false) => {}
            Err(e) => failures.push(e),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Every action and most events have an example; far fewer means the extraction broke.
    assert!(decoded >= 50, "only {decoded} examples decoded");
    Ok(())
}
