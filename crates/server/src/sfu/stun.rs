//! Just enough STUN to route a first packet: the local half of a binding request's USERNAME.

/// STUN magic cookie (RFC 5389).
const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];
/// Binding request message type.
const BINDING_REQUEST: u16 = 0x0001;
/// USERNAME attribute type.
const USERNAME: u16 = 0x0006;
/// STUN header length.
const HEADER: usize = 20;

/// For a STUN binding request, the part of USERNAME before the colon: the ICE ufrag of the
/// receiving side (RFC 8445 §7.2.2), which names the connection the packet is for. `None` for
/// anything else, malformed input included.
#[must_use]
pub fn binding_request_ufrag(packet: &[u8]) -> Option<&str> {
    if packet.len() < HEADER || packet[4..8] != MAGIC_COOKIE {
        return None;
    }
    if u16::from_be_bytes([packet[0], packet[1]]) != BINDING_REQUEST {
        return None;
    }
    let body_len = usize::from(u16::from_be_bytes([packet[2], packet[3]]));
    let body = packet.get(HEADER..HEADER + body_len)?;
    let mut rest = body;
    while rest.len() >= 4 {
        let kind = u16::from_be_bytes([rest[0], rest[1]]);
        let len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        let value = rest.get(4..4 + len)?;
        if kind == USERNAME {
            let text = std::str::from_utf8(value).ok()?;
            return text.split(':').next().filter(|u| !u.is_empty());
        }
        // Attributes are padded to 4 bytes.
        let padded = 4 + len.div_ceil(4) * 4;
        rest = rest.get(padded..)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(attrs: &[(u16, &[u8])]) -> Vec<u8> {
        let mut body = Vec::new();
        for (kind, value) in attrs {
            body.extend_from_slice(&kind.to_be_bytes());
            body.extend_from_slice(&u16::try_from(value.len()).unwrap_or(0).to_be_bytes());
            body.extend_from_slice(value);
            while body.len() % 4 != 0 {
                body.push(0);
            }
        }
        let mut p = Vec::new();
        p.extend_from_slice(&BINDING_REQUEST.to_be_bytes());
        p.extend_from_slice(&u16::try_from(body.len()).unwrap_or(0).to_be_bytes());
        p.extend_from_slice(&MAGIC_COOKIE);
        p.extend_from_slice(&[7; 12]);
        p.extend_from_slice(&body);
        p
    }

    #[test]
    fn finds_the_local_ufrag() {
        let p = request(&[(0x8022, b"agent"), (USERNAME, b"srvfrag:cli")]);
        assert_eq!(binding_request_ufrag(&p), Some("srvfrag"));
    }

    #[test]
    fn ignores_everything_else() {
        assert_eq!(binding_request_ufrag(&[]), None);
        assert_eq!(binding_request_ufrag(&[0x80; 40]), None);
        let mut p = request(&[(USERNAME, b"a:b")]);
        p[1] = 0x11; // not a binding request
        assert_eq!(binding_request_ufrag(&p), None);
        let p = request(&[(0x8022, b"agent")]);
        assert_eq!(binding_request_ufrag(&p), None);
        let mut p = request(&[(USERNAME, b"a:b")]);
        p[3] = 200; // body length past the end
        assert_eq!(binding_request_ufrag(&p), None);
        let p = request(&[(USERNAME, b":b")]);
        assert_eq!(binding_request_ufrag(&p), None);
        let mut p = request(&[(USERNAME, b"abc:d")]);
        p[HEADER + 2] = 0xff; // attribute length past the end
        p[HEADER + 3] = 0xff;
        assert_eq!(binding_request_ufrag(&p), None);
    }
}
