//! Fuzzes what the server reads from its media UDP port before anything is authenticated:
//! the STUN peeks that route a first packet and keep the server ICE-lite, the network test's
//! probe, and H.264 keyframe detection on forwarded payloads. None may panic, and their
//! answers must agree with each other.
#![no_main]

use huddle_wire::{h264, probe, stun};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let txid = stun::transaction_id(data);
    if let Some(request) = stun::binding_request_txid(data) {
        assert_eq!(Some(request), txid);
        assert_eq!(stun::binding_success_txid(data), None);
    }
    if stun::binding_success_txid(data).is_some() {
        assert!(txid.is_some());
        assert!(!stun::nominates(data));
    }
    if stun::nominates(data) || stun::binding_request_ufrag(data).is_some() {
        assert!(stun::binding_request_txid(data).is_some());
    }
    if let Some(found) = probe::parse_probe(data) {
        // A probe's reply carries it back, at its own size: the echo never amplifies.
        let reply = probe::encode_reply(&found, 1);
        assert!(reply.len() <= data.len());
        let mut again = reply;
        again[4] = probe::KIND_PROBE;
        assert_eq!(probe::parse_probe(&again), Some(found));
    }
    let _ = h264::is_keyframe(data);
    let _ = h264::is_keyframe_annexb(data);
});
