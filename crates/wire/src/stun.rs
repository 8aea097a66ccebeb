//! Just enough STUN to route a first packet (the local half of a binding request's USERNAME)
//! and to tell requests, answers and nominations apart (RFC 8489, RFC 8445).

/// STUN magic cookie (RFC 5389).
const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];
/// Binding request message type.
const BINDING_REQUEST: u16 = 0x0001;
/// USERNAME attribute type.
pub const USERNAME: u16 = 0x0006;
/// STUN header length.
const HEADER: usize = 20;

/// BINDING_SUCCESS (response) message type.
const BINDING_SUCCESS: u16 = 0x0101;
/// USE-CANDIDATE attribute type (RFC 8445 §16.1).
pub const USE_CANDIDATE: u16 = 0x0025;
/// Transaction id length.
const TXID: usize = 12;

/// The message type and attributes of a STUN message, or `None` when `packet` is not STUN.
fn parse(packet: &[u8]) -> Option<(u16, &[u8])> {
    let [k0, k1, l0, l1, c0, c1, c2, c3, ..] = *packet.get(..HEADER)? else {
        return None;
    };
    if [c0, c1, c2, c3] != MAGIC_COOKIE {
        return None;
    }
    let kind = u16::from_be_bytes([k0, k1]);
    let body_len = usize::from(u16::from_be_bytes([l0, l1]));
    let body = packet.get(HEADER..HEADER + body_len)?;
    Some((kind, body))
}

/// The attributes of a STUN body as `(type, value)`; stops at the first malformed one.
fn attributes(body: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut rest = body;
    std::iter::from_fn(move || {
        let [k0, k1, l0, l1, ..] = *rest else {
            return None;
        };
        let kind = u16::from_be_bytes([k0, k1]);
        let len = usize::from(u16::from_be_bytes([l0, l1]));
        let value = rest.get(4..4 + len)?;
        // Attributes are padded to 4 bytes.
        let padded = 4 + len.div_ceil(4) * 4;
        rest = rest.get(padded..).unwrap_or(&[]);
        Some((kind, value))
    })
}

/// For a STUN binding request, the part of USERNAME before the colon: the ICE ufrag of the
/// receiving side (RFC 8445 §7.2.2), which names the connection the packet is for. `None` for
/// anything else, malformed input included.
#[must_use]
pub fn binding_request_ufrag(packet: &[u8]) -> Option<&str> {
    let (BINDING_REQUEST, body) = parse(packet)? else {
        return None;
    };
    let (_, value) = attributes(body).find(|(kind, _)| *kind == USERNAME)?;
    let text = std::str::from_utf8(value).ok()?;
    text.split(':').next().filter(|u| !u.is_empty())
}

/// The transaction id of any well-formed STUN message.
#[must_use]
pub fn transaction_id(packet: &[u8]) -> Option<[u8; TXID]> {
    parse(packet)?;
    packet.get(8..HEADER)?.try_into().ok()
}

/// The transaction id of a binding request, `None` for anything else.
#[must_use]
pub fn binding_request_txid(packet: &[u8]) -> Option<[u8; TXID]> {
    matches!(parse(packet)?, (BINDING_REQUEST, _))
        .then(|| transaction_id(packet))
        .flatten()
}

/// The transaction id of a binding success response, `None` for anything else.
#[must_use]
pub fn binding_success_txid(packet: &[u8]) -> Option<[u8; TXID]> {
    matches!(parse(packet)?, (BINDING_SUCCESS, _))
        .then(|| transaction_id(packet))
        .flatten()
}

/// Whether a binding request nominates its pair (carries USE-CANDIDATE).
#[must_use]
pub fn nominates(packet: &[u8]) -> bool {
    match parse(packet) {
        Some((BINDING_REQUEST, body)) => attributes(body).any(|(kind, _)| kind == USE_CANDIDATE),
        _ => false,
    }
}

/// A binding request with these attributes and transaction id `[7; 12]`, without integrity:
/// for tests of code that peeks at STUN.
#[doc(hidden)]
#[must_use]
pub fn binding_request(attrs: &[(u16, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (kind, value) in attrs {
        body.extend_from_slice(&kind.to_be_bytes());
        body.extend_from_slice(&u16::try_from(value.len()).unwrap_or(u16::MAX).to_be_bytes());
        body.extend_from_slice(value);
        while body.len() % 4 != 0 {
            body.push(0);
        }
    }
    let mut p = Vec::new();
    p.extend_from_slice(&BINDING_REQUEST.to_be_bytes());
    p.extend_from_slice(&u16::try_from(body.len()).unwrap_or(u16::MAX).to_be_bytes());
    p.extend_from_slice(&MAGIC_COOKIE);
    p.extend_from_slice(&[7; 12]);
    p.extend_from_slice(&body);
    p
}
#[cfg(test)]
#[allow(clippy::indexing_slicing, reason = "tests build their inputs by hand")]
mod tests {
    use super::*;

    #[test]
    fn finds_the_local_ufrag() {
        let p = binding_request(&[(0x8022, b"agent"), (USERNAME, b"srvfrag:cli")]);
        assert_eq!(binding_request_ufrag(&p), Some("srvfrag"));
    }

    #[test]
    fn ignores_everything_else() {
        assert_eq!(binding_request_ufrag(&[]), None);
        assert_eq!(binding_request_ufrag(&[0x80; 40]), None);
        let mut p = binding_request(&[(USERNAME, b"a:b")]);
        p[1] = 0x11; // not a binding request
        assert_eq!(binding_request_ufrag(&p), None);
        let p = binding_request(&[(0x8022, b"agent")]);
        assert_eq!(binding_request_ufrag(&p), None);
        let mut p = binding_request(&[(USERNAME, b"a:b")]);
        p[3] = 200; // body length past the end
        assert_eq!(binding_request_ufrag(&p), None);
        let p = binding_request(&[(USERNAME, b":b")]);
        assert_eq!(binding_request_ufrag(&p), None);
        let mut p = binding_request(&[(USERNAME, b"abc:d")]);
        p[HEADER + 2] = 0xff; // attribute length past the end
        p[HEADER + 3] = 0xff;
        assert_eq!(binding_request_ufrag(&p), None);
    }

    #[test]
    fn tells_requests_answers_and_nominations_apart() {
        let plain = binding_request(&[(USERNAME, b"a:b")]);
        let nominating = binding_request(&[(USERNAME, b"a:b"), (USE_CANDIDATE, b"")]);
        assert_eq!(binding_request_txid(&plain), Some([7; 12]));
        assert_eq!(binding_success_txid(&plain), None);
        assert!(!nominates(&plain));
        assert!(nominates(&nominating));
        let mut answer = plain.clone();
        answer[0..2].copy_from_slice(&BINDING_SUCCESS.to_be_bytes());
        assert_eq!(binding_success_txid(&answer), Some([7; 12]));
        assert_eq!(binding_request_txid(&answer), None);
        assert!(!nominates(&answer));
        assert_eq!(transaction_id(&[0; 19]), None);
        assert!(!nominates(&[0x80; 40]));
    }
}
