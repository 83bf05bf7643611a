//! The only place request bodies are read: always under a byte cap.

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Body;

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The body is larger than the cap.
    #[error("request body is larger than {limit} bytes")]
    TooLarge {
        /// The cap in bytes.
        limit: usize,
    },
    /// The connection failed while the body was read.
    #[error("cannot read request body: {0}")]
    Read(String),
}

/// Reads a whole body, refusing more than `limit` bytes.
pub async fn read_body<B>(body: B, limit: usize) -> Result<Bytes, BodyError>
where
    B: Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(BodyError::TooLarge { limit }),
        Err(e) => Err(BodyError::Read(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::Full;

    use super::*;

    #[tokio::test]
    async fn caps_the_body() {
        let ok = read_body(Full::new(Bytes::from_static(b"abcd")), 4).await;
        assert_eq!(ok.unwrap(), Bytes::from_static(b"abcd"));
        let big = read_body(Full::new(Bytes::from_static(b"abcde")), 4).await;
        assert!(matches!(big, Err(BodyError::TooLarge { limit: 4 })));
    }
}
