//! Huddle desktop app.
fn main() {}
