//! Errors of the transport layer.

use std::net::SocketAddr;

/// Something the wire could not do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The listener failed while running.
    #[error("listener failed: {0}")]
    Io(#[from] std::io::Error),
}
