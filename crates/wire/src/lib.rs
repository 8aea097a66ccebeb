//! What the server reads from its media UDP port before anything is authenticated, as pure
//! functions over bytes: the STUN peeks that route a first packet to its connection and keep
//! the server ICE-lite ([`stun`]), the network test's probes ([`probe`]), and whether an H.264
//! RTP payload starts a keyframe ([`h264`]).
//!
//! No dependencies and no state, so that each can be fuzzed on its own in a small build
//! (`crates/server/fuzz`), and none of them can panic on any input.

// Every byte read here comes from strangers: no indexing that could panic.
#![deny(clippy::indexing_slicing)]

pub mod h264;
pub mod probe;
pub mod stun;
