//! bpelgate.
