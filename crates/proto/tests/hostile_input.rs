//! Hostile frames never panic the decoder: mutated valid messages, truncations, random
//! bytes, deep nesting and oversize input all end in a value or a `ProtoError`.

use huddle_proto::limits::MAX_FRAME_BYTES;
use huddle_proto::{decode_client, decode_server, ErrorCode, ProtoError};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const SEEDS: &[&str] = &[
    r#"{"type":"join","protocol_version":1,"session_name":"Weekly Sync","display_name":"Ann","passcode":"1234","resume":{"participant_id":2,"resume_key":"k"},"audio_muted":true}"#,
    r#"{"type":"request","id":5,"action":{"type":"rename","participant":2,"name":"Bo"}}"#,
    r#"{"type":"request","id":6,"action":{"type":"chat","to":3,"text":"h\u00e9llo \ud83d\ude00"}}"#,
    r#"{"type":"chat_history","id":9,"after_seq":41}"#,
    r#"{"type":"ping","nonce":18446744073709551615}"#,
    r#"{"type":"event","event":{"type":"left","participant":2,"reason":{"kind":"removed","by":1}}}"#,
];

/// A small deterministic generator, so a failure replays exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b":",
    b",",
    b"null",
    b"-1",
    b"1e999",
    b"18446744073709551616",
    b"\\u0000",
    b"\\ud800",
    b"\"type\"",
    b"\"request\"",
    b"\"action\"",
    b"true",
    b"0.5",
    b"\xff",
];

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(4) {
            0 if !out.is_empty() => {
                let end = (at + rng.below(8)).min(out.len());
                out.drain(at.min(end)..end);
            }
            1 => {
                let token = TOKENS[rng.below(TOKENS.len())];
                out.splice(at..at, token.iter().copied());
            }
            2 if at < out.len() => out[at] = (rng.next() & 0xff) as u8,
            _ => out.truncate(at),
        }
    }
    out
}

#[test]
fn mutated_messages_decode_or_fail_cleanly() -> TestResult {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut errors = 0;
    for round in 0..20_000 {
        let seed = SEEDS[round % SEEDS.len()].as_bytes();
        let bytes = mutate(&mut rng, seed);
        // Frames arrive as text; invalid UTF-8 is refused by the WebSocket layer.
        let text = String::from_utf8_lossy(&bytes);
        if decode_client(&text).is_err() {
            errors += 1;
        }
        let _ = decode_server(&text);
    }
    // Most mutations break something; the decoder must have said so rather than accepted
    // everything.
    assert!(errors > 10_000, "only {errors} mutations were refused");
    Ok(())
}

#[test]
fn random_text_is_refused() {
    let mut rng = Rng(7);
    for _ in 0..5_000 {
        let len = rng.below(200);
        let bytes: Vec<u8> = (0..len).map(|_| (rng.next() & 0xff) as u8).collect();
        let text = String::from_utf8_lossy(&bytes);
        assert!(decode_client(&text).is_err(), "{text:?}");
    }
}

#[test]
fn size_limit_holds_exactly() -> TestResult {
    let frame = |len: usize| {
        let head = r#"{"type":"ping","nonce":1,"pad":""#;
        let tail = r#""}"#;
        format!("{head}{}{tail}", "a".repeat(len - head.len() - tail.len()))
    };
    decode_client(&frame(MAX_FRAME_BYTES))?;
    let err = decode_client(&frame(MAX_FRAME_BYTES + 1));
    assert_eq!(err.map_err(|e| e.code()), Err(ErrorCode::MessageTooLarge));
    Ok(())
}

#[test]
fn numbers_out_of_range_are_field_errors() {
    for text in [
        r#"{"type":"ping","nonce":-1}"#,
        r#"{"type":"ping","nonce":18446744073709551616}"#,
        r#"{"type":"ping","nonce":1.5}"#,
        r#"{"type":"chat_history","id":1,"after_seq":null}"#,
    ] {
        assert!(
            matches!(decode_client(text), Err(ProtoError::InvalidMessage { .. })),
            "{text}"
        );
    }
}
