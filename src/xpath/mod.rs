//! xpath.
