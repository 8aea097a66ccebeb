//! Fuzzes what the server reads from untrusted clients: frame decoding (including the size
//! limit and nesting depth), re-encoding of whatever decodes, and join-token verification.
#![no_main]

use huddle_proto::{decode_client, encode, ClientMessage};
use huddle_auth::TokenVerifier;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(message) = decode_client(text) {
        // What decodes must survive a round trip unchanged, or the server and the client
        // would disagree about what was sent.
        let again = encode(&message).expect("decoded messages encode");
        let back: ClientMessage = decode_client(&again).expect("encoded messages decode");
        assert_eq!(back, message);
    }
    let verifier = TokenVerifier::new(b"fuzz-secret");
    let _ = verifier.verify(text, "fuzz", 1_700_000_000);
});
