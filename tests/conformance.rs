//! Conformance ratchet (filled in later).
fn main() {}
