//! mgmt.
