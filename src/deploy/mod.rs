//! Deployment: packages (a directory with deploy.xml), their validation against the compiled
//! processes, process versions (kept across restarts), endpoint activation and hot deployment.

pub mod archive;
pub mod codes;
pub mod descriptor;
pub mod epr;
pub mod package;
pub mod registry;
pub mod samples;
pub mod versions;
pub mod watcher;

pub use package::{
    BpelCompiler, BuildContext, BuildResult, BuiltPackage, DescriptorMode, PackageCompiler, build,
};
pub use registry::{
    Endpoint, PackageInfo, PackageState, ProcessInfo, ProcessListing, ProcessState, Registry,
    Source, StateError,
};
pub use samples::seed_samples;
pub use versions::{VersionError, VersionStore, content_fingerprint};
pub use watcher::{Deployer, ScanReport, valid_package_name};

/// Deployment failures that are not package diagnostics.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A package name that cannot be a directory of the deploy dir.
    #[error("'{0}' is not a valid package name")]
    InvalidName(String),
    /// The package directory could not be removed.
    #[error("cannot remove {path}: {source}")]
    Remove {
        /// The directory.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
}
