//! Server wiring.
