//! The forwarding unit's randomness: a deterministic generator the router is given at
//! construction, so that everything it draws (ICE credentials, slot SSRCs) follows from one
//! seed. The forwarding task seeds it from the operating system; tests seed it with a constant
//! and get the same connections on every run.
//!
//! The generator is HMAC-SHA256 keyed with the seed, over a counter: a pseudo-random
//! function, so without the seed one output says nothing about the next. That matters because
//! the ICE password it draws is what authenticates a member's checks, and one member must not
//! be able to work out another's from its own credentials and slot SSRCs.

use ring::hmac;

/// Bytes in a seed.
pub const SEED_LEN: usize = 32;

/// A seeded source of random bytes.
pub struct Random {
    key: hmac::Key,
    counter: u64,
    block: [u8; 32],
    /// Bytes of `block` already handed out.
    used: usize,
}

impl Random {
    /// A generator whose output follows from `seed`.
    #[must_use]
    pub fn from_seed(seed: [u8; SEED_LEN]) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, &seed),
            counter: 0,
            block: [0; 32],
            used: 32,
        }
    }

    /// A generator seeded from the operating system's random source.
    ///
    /// # Errors
    /// When the operating system's random source fails.
    pub fn from_os() -> Result<Self, getrandom::Error> {
        let mut seed = [0u8; SEED_LEN];
        getrandom::fill(&mut seed)?;
        Ok(Self::from_seed(seed))
    }

    /// Fills `out` with the next bytes.
    pub fn fill(&mut self, out: &mut [u8]) {
        for byte in out {
            if self.used == self.block.len() {
                let tag = hmac::sign(&self.key, &self.counter.to_be_bytes());
                self.block.copy_from_slice(tag.as_ref());
                self.counter = self.counter.wrapping_add(1);
                self.used = 0;
            }
            *byte = self.block[self.used];
            self.used += 1;
        }
    }

    /// The next 32 bits.
    pub fn next_u32(&mut self) -> u32 {
        let mut bytes = [0u8; 4];
        self.fill(&mut bytes);
        u32::from_be_bytes(bytes)
    }

    /// Random lowercase hex of `len` characters (the ICE ufrag/pwd alphabet allows it).
    pub fn hex(&mut self, len: usize) -> String {
        let mut bytes = vec![0u8; len.div_ceil(2)];
        self.fill(&mut bytes);
        let mut out: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        out.truncate(len);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_seed_one_sequence() {
        let mut a = Random::from_seed([7; SEED_LEN]);
        let mut b = Random::from_seed([7; SEED_LEN]);
        let mut c = Random::from_seed([8; SEED_LEN]);
        let (x, y, z) = (a.hex(40), b.hex(40), c.hex(40));
        assert_eq!(x, y);
        assert_ne!(x, z);
        assert_eq!(x.len(), 40);
        assert!(x
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        // Crossing a block boundary keeps the stream the same however it is read.
        let mut whole = [0u8; 70];
        Random::from_seed([1; SEED_LEN]).fill(&mut whole);
        let mut parts = Random::from_seed([1; SEED_LEN]);
        let mut split = [0u8; 70];
        let (head, tail) = split.split_at_mut(31);
        parts.fill(head);
        parts.fill(tail);
        assert_eq!(whole, split);
        assert_ne!(whole[..32], whole[32..64]);
    }
}
