//! Configuration errors: every problem at once.

use std::fmt;

/// The configuration could not be used; lists every problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The file the problems come from, if one was read.
    pub file: Option<String>,
    /// One line per problem, e.g. `server.http-port: invalid type: ...`.
    pub problems: Vec<String>,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(file) => write!(f, "invalid configuration in {file}:")?,
            None => write!(f, "invalid configuration:")?,
        }
        for p in &self.problems {
            write!(f, "\n  {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}
