//! The network test's UDP probe and its reply: 32 bytes each, `HNT1`, a kind byte (1 probe,
//! 2 reply), three reserved bytes (zero in replies), then big-endian run id (8 bytes), sequence number (4), the
//! client's send time (8, opaque to the server) and, in a reply, how many probes of the run the
//! server has received from that source (4). See docs/nettest.md.

/// Size of a UDP probe and of its reply, in bytes.
pub const PROBE_LEN: usize = 32;
/// First bytes of every probe and reply.
pub const PROBE_MAGIC: [u8; 4] = *b"HNT1";
/// `kind` byte of a probe.
pub const KIND_PROBE: u8 = 1;
/// `kind` byte of a reply.
pub const KIND_REPLY: u8 = 2;

/// A decoded UDP probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// Random id of one test run, chosen by the client.
    pub run: u64,
    /// Sequence number within the run.
    pub seq: u32,
    /// Client's send time, opaque to the server.
    pub sent: u64,
}

/// Parses a probe; anything else (wrong size, magic or kind) is `None`.
pub fn parse_probe(packet: &[u8]) -> Option<Probe> {
    // A probe must be at least as large as its reply, so the echo never amplifies.
    if packet.len() < PROBE_LEN
        || packet.get(..4) != Some(&PROBE_MAGIC[..])
        || packet.get(4) != Some(&KIND_PROBE)
    {
        return None;
    }
    Some(Probe {
        run: u64::from_be_bytes(packet.get(8..16)?.try_into().ok()?),
        seq: u32::from_be_bytes(packet.get(16..20)?.try_into().ok()?),
        sent: u64::from_be_bytes(packet.get(20..28)?.try_into().ok()?),
    })
}

/// The reply to `probe`: its run, sequence number and send time, plus how many probes of
/// this run the server has received from this source so far.
pub fn encode_reply(probe: &Probe, received: u32) -> [u8; PROBE_LEN] {
    let mut out = [0u8; PROBE_LEN];
    let fields: [(usize, &[u8]); 6] = [
        (0, &PROBE_MAGIC),
        (4, &[KIND_REPLY]),
        (8, &probe.run.to_be_bytes()),
        (16, &probe.seq.to_be_bytes()),
        (20, &probe.sent.to_be_bytes()),
        (28, &received.to_be_bytes()),
    ];
    for (at, bytes) in fields {
        for (slot, byte) in out.iter_mut().skip(at).zip(bytes) {
            *slot = *byte;
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, reason = "tests build their inputs by hand")]
mod tests {
    use super::*;

    #[test]
    fn a_reply_carries_its_probe() {
        let probe = Probe {
            run: 0x0102_0304_0506_0708,
            seq: 9,
            sent: 77,
        };
        let mut packet = encode_reply(&probe, 3);
        assert_eq!(parse_probe(&packet), None, "a reply is not a probe");
        packet[4] = KIND_PROBE;
        assert_eq!(parse_probe(&packet), Some(probe));
        assert_eq!(parse_probe(&packet[..PROBE_LEN - 1]), None);
        packet[0] = b'X';
        assert_eq!(parse_probe(&packet), None);
        assert_eq!(parse_probe(&[]), None);
    }
}
