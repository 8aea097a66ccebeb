//! ICE-lite on top of the connection's ICE agent.
//!
//! The server is an ICE-lite agent (RFC 8445 §2.5): it only answers checks, never sends
//! them, and takes a pair as valid once an authenticated check arrived over it. The agent
//! inside each `rtc` connection handles an incoming check as a *full* controlled agent does
//! (§7.3.1.4–7.3.1.5): it answers a plain check and queues a triggered check of its own
//! back to the sender, and it leaves a nominating check (USE-CANDIDATE) unanswered until its
//! own triggered check has succeeded. A client that nominates on its first check — or right
//! after its first plain check, before our triggered check came back — then waits for its
//! retransmission, about half a second, on every media set-up.
//!
//! This module makes the connection behave as lite: a check the agent wants to send is not
//! put on the wire but answered here at once, from the address the authenticated request just
//! came from (which is what validates a pair for a lite agent, §7.3.2), and a nomination the
//! agent left unanswered is handed to it again once the pair is valid. The remote password
//! needed to sign that answer is the one in the member's offer.

use std::net::SocketAddr;

use bytes::BytesMut;
use huddle_rtp::rtc::crypto::default_provider;
use huddle_rtp::rtc::stun::fingerprint::FINGERPRINT;
use huddle_rtp::rtc::stun::integrity::MessageIntegrity;
use huddle_rtp::rtc::stun::message::{Message, Setter, BINDING_SUCCESS};
use huddle_rtp::rtc::stun::xoraddr::XorMappedAddress;

/// The answer the peer would give to `request`, a binding request our agent addressed to it:
/// a binding success with the same transaction, signed with the peer's password. `None` when
/// `request` does not decode as STUN.
#[must_use]
pub fn answer_own_check(request: &[u8], remote_pwd: &str, mapped: SocketAddr) -> Option<BytesMut> {
    let mut check = Message::new();
    check.unmarshal_binary(request).ok()?;
    let provider = default_provider().ok()?;
    let mut answer = Message::new();
    let setters: [Box<dyn Setter + '_>; 5] = [
        Box::new(check),
        Box::new(BINDING_SUCCESS),
        Box::new(XorMappedAddress {
            ip: mapped.ip(),
            port: mapped.port(),
        }),
        Box::new(MessageIntegrity::new_short_term_integrity_with_provider(
            remote_pwd.to_owned(),
            provider.crypto(),
        )),
        Box::new(FINGERPRINT),
    ];
    answer.build(&setters).ok()?;
    Some(BytesMut::from(answer.raw.as_slice()))
}

/// The ICE password (`a=ice-pwd`) of an SDP: the session-level one, else the first media
/// section's (bundle puts every section on one transport).
#[must_use]
pub fn ice_pwd(sdp: &str) -> Option<&str> {
    sdp.lines()
        .find_map(|line| line.trim_end().strip_prefix("a=ice-pwd:"))
        .filter(|pwd| !pwd.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sfu::stun;

    #[test]
    fn reads_the_password() {
        let sdp = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:ab\r\na=ice-pwd:secretsecretsecretsecret\r\n";
        assert_eq!(ice_pwd(sdp), Some("secretsecretsecretsecret"));
        assert_eq!(ice_pwd("v=0\r\na=ice-pwd:\r\n"), None);
        assert_eq!(ice_pwd(""), None);
    }

    #[test]
    fn answers_with_the_same_transaction() {
        let request = stun::binding_request(&[(0x0006, b"peer:us")]);
        let from: SocketAddr = "127.0.0.1:5000".parse().expect("a literal address");
        let answer = answer_own_check(&request, "pw", from).expect("a well-formed request");
        assert_eq!(
            stun::binding_success_txid(&answer),
            stun::transaction_id(&request)
        );
        assert!(answer_own_check(b"not stun", "pw", from).is_none());
    }
}
