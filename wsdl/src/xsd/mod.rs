//! XML Schema.
