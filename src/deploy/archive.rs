//! Package archives: unpacking an uploaded zip into the deploy dir (safely: no absolute paths,
//! no `..`, no links, capped in size and entry count) and zipping a package directory for upload.
//!
//! Layout: either the archive holds one top-level directory with the package inside (what
//! zipping a folder gives; the directory names the package), or the package files sit at the
//! archive's root and the caller names the package. `__MACOSX/` resource-fork entries are skipped.

use std::io::{Cursor, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use zip::ZipArchive;
use zip::write::{SimpleFileOptions, ZipWriter};

use super::package::DEPLOY_XML;
use super::watcher::valid_package_name;
use crate::config::LimitsSection;

/// Caps on an archive (`[limits] max-package-bytes`, `max-package-files`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// Most bytes all files may hold once unpacked.
    pub max_bytes: u64,
    /// Most entries (files and directories).
    pub max_entries: usize,
}

impl ArchiveLimits {
    /// The limits the configuration sets.
    pub fn from_config(limits: &LimitsSection) -> Self {
        ArchiveLimits {
            max_bytes: limits.max_package_bytes,
            max_entries: limits.max_package_files,
        }
    }
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits {
            max_bytes: 64 * 1024 * 1024,
            max_entries: 10_000,
        }
    }
}

/// Why an archive was refused or could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The bytes are not a readable zip archive.
    #[error("not a readable zip archive: {0}")]
    NotZip(String),
    /// More entries than allowed.
    #[error("the archive has more than {0} entries")]
    TooManyEntries(usize),
    /// More bytes than allowed once unpacked.
    #[error("the archive unpacks to more than {0} bytes")]
    TooLarge(u64),
    /// An entry path that is absolute, climbs with `..`, or is otherwise not a plain relative path.
    #[error("entry '{0}' has an unsafe path (absolute, '..' or a drive prefix)")]
    UnsafePath(String),
    /// A symbolic link entry.
    #[error("entry '{0}' is a symbolic link, which packages may not contain")]
    Link(String),
    /// The package name is neither given nor implied by a single top-level directory.
    #[error(
        "cannot tell the package name: the archive does not hold exactly one top-level directory; pass ?name=NAME"
    )]
    NoName,
    /// The archive holds no files.
    #[error("the archive holds no files")]
    Empty,
    /// The package name cannot be a deploy dir entry.
    #[error("'{0}' is not a valid package name")]
    InvalidName(String),
    /// An entry could not be read (corrupt, encrypted, unsupported compression).
    #[error("cannot read entry '{name}': {reason}")]
    Entry {
        /// The entry.
        name: String,
        /// What went wrong.
        reason: String,
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

impl ArchiveError {
    /// True when the archive itself is at fault (a client error), false for server-side I/O.
    pub fn is_client_error(&self) -> bool {
        !matches!(self, ArchiveError::Io { .. })
    }
}

fn io(path: &Path, source: std::io::Error) -> ArchiveError {
    ArchiveError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The relative path of an entry as components, or an error when it is not a plain relative
/// path. Directory entries end with '/', which leaves no empty component here.
fn safe_components(raw: &str) -> Result<Vec<String>, ArchiveError> {
    let unsafe_path = || ArchiveError::UnsafePath(raw.to_string());
    if raw.starts_with('/') || raw.contains('\\') || raw.contains('\0') {
        return Err(unsafe_path());
    }
    let mut out = Vec::new();
    for c in Path::new(raw).components() {
        match c {
            Component::Normal(s) => {
                let s = s.to_str().ok_or_else(unsafe_path)?;
                // "C:" style prefixes mean nothing on Unix but something on Windows.
                if s.contains(':') {
                    return Err(unsafe_path());
                }
                out.push(s.to_string());
            }
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(unsafe_path());
            }
        }
    }
    Ok(out)
}

struct Entry {
    index: usize,
    path: Vec<String>,
    is_dir: bool,
}

/// What an archive holds, checked: the package name and its entries relative to the package.
struct Plan {
    name: String,
    strip: bool,
    entries: Vec<Entry>,
}

fn plan(
    zip: &mut ZipArchive<Cursor<&[u8]>>,
    name: Option<&str>,
    limits: &ArchiveLimits,
) -> Result<Plan, ArchiveError> {
    if zip.len() > limits.max_entries {
        return Err(ArchiveError::TooManyEntries(limits.max_entries));
    }
    let mut entries = Vec::new();
    let mut declared: u64 = 0;
    for index in 0..zip.len() {
        let file = zip.by_index_raw(index).map_err(|e| ArchiveError::Entry {
            name: format!("#{index}"),
            reason: e.to_string(),
        })?;
        let raw = file
            .name()
            .map_err(|e| ArchiveError::Entry {
                name: format!("#{index}"),
                reason: e.to_string(),
            })?
            .into_owned();
        let path = safe_components(&raw)?;
        if path.first().is_some_and(|c| c == "__MACOSX") || path.is_empty() {
            continue;
        }
        if file.is_symlink() {
            return Err(ArchiveError::Link(raw));
        }
        declared = declared.saturating_add(file.size());
        if declared > limits.max_bytes {
            return Err(ArchiveError::TooLarge(limits.max_bytes));
        }
        entries.push(Entry {
            index,
            path,
            is_dir: file.is_dir(),
        });
    }
    if !entries.iter().any(|e| !e.is_dir) {
        return Err(ArchiveError::Empty);
    }
    let descriptor_at_root = entries
        .iter()
        .any(|e| !e.is_dir && e.path.len() == 1 && e.path[0] == DEPLOY_XML);
    let single_top = {
        let first = &entries[0].path[0];
        entries
            .iter()
            .all(|e| &e.path[0] == first && (e.is_dir || e.path.len() > 1))
            .then(|| first.clone())
    };
    let (name, strip) = match (name, single_top) {
        (Some(n), _) if descriptor_at_root => (n.to_string(), false),
        (Some(n), Some(_)) => (n.to_string(), true),
        (Some(n), None) => (n.to_string(), false),
        (None, Some(top)) => (top, true),
        (None, None) => return Err(ArchiveError::NoName),
    };
    if !valid_package_name(&name) {
        return Err(ArchiveError::InvalidName(name));
    }
    Ok(Plan {
        name,
        strip,
        entries,
    })
}

/// The package name an upload of `bytes` would get: `name` when given, else the archive's
/// single top-level directory. Checks the whole archive the way [`unpack`] does.
pub fn package_name(
    bytes: &[u8],
    name: Option<&str>,
    limits: &ArchiveLimits,
) -> Result<String, ArchiveError> {
    let mut zip = open(bytes)?;
    Ok(plan(&mut zip, name, limits)?.name)
}

fn open(bytes: &[u8]) -> Result<ZipArchive<Cursor<&[u8]>>, ArchiveError> {
    ZipArchive::new(Cursor::new(bytes)).map_err(|e| ArchiveError::NotZip(e.to_string()))
}

/// Distinguishes concurrent uploads' staging directories.
static STAGING: AtomicU64 = AtomicU64::new(0);

/// Unpacks `bytes` into a new hidden staging directory of `parent` (`.tmp-NAME-n`, ignored by
/// the deploy watcher) and returns the package name and that directory. The caller moves it
/// into place ([`super::Deployer::install_dir`]); on error nothing is left behind.
pub fn unpack(
    bytes: &[u8],
    name: Option<&str>,
    parent: &Path,
    limits: &ArchiveLimits,
) -> Result<(String, PathBuf), ArchiveError> {
    let mut zip = open(bytes)?;
    let plan = plan(&mut zip, name, limits)?;
    let n = STAGING.fetch_add(1, Ordering::Relaxed);
    let staging = parent.join(format!(".tmp-{}-{}-{n}", plan.name, std::process::id()));
    let result = write_entries(&mut zip, &plan, &staging, limits);
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    Ok((plan.name, staging))
}

fn write_entries(
    zip: &mut ZipArchive<Cursor<&[u8]>>,
    plan: &Plan,
    staging: &Path,
    limits: &ArchiveLimits,
) -> Result<(), ArchiveError> {
    std::fs::create_dir_all(staging).map_err(|e| io(staging, e))?;
    let mut remaining = limits.max_bytes;
    for entry in &plan.entries {
        let rel = if plan.strip {
            &entry.path[1..]
        } else {
            &entry.path[..]
        };
        if rel.is_empty() {
            continue;
        }
        let target = rel.iter().fold(staging.to_path_buf(), |p, c| p.join(c));
        if entry.is_dir {
            std::fs::create_dir_all(&target).map_err(|e| io(&target, e))?;
            continue;
        }
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        }
        let file = zip.by_index(entry.index).map_err(|e| ArchiveError::Entry {
            name: rel.join("/"),
            reason: e.to_string(),
        })?;
        // Declared sizes can lie: read at most one byte past what is left.
        let mut data = Vec::new();
        file.take(remaining.saturating_add(1))
            .read_to_end(&mut data)
            .map_err(|e| ArchiveError::Entry {
                name: rel.join("/"),
                reason: e.to_string(),
            })?;
        let len = data.len() as u64;
        if len > remaining {
            return Err(ArchiveError::TooLarge(limits.max_bytes));
        }
        remaining -= len;
        std::fs::write(&target, &data).map_err(|e| io(&target, e))?;
    }
    Ok(())
}

/// Zips package directory `dir` in memory, its files under one top-level directory `name` (the
/// layout [`unpack`] names the package from). Hidden files and directories are left out;
/// symbolic links are followed.
pub fn zip_dir(dir: &Path, name: &str, limits: &ArchiveLimits) -> Result<Vec<u8>, ArchiveError> {
    let mut files = Vec::new();
    collect_files(dir, &[], &mut files, 0)?;
    files.sort();
    if files.is_empty() {
        return Err(ArchiveError::Empty);
    }
    if files.len() > limits.max_entries {
        return Err(ArchiveError::TooManyEntries(limits.max_entries));
    }
    let mut out = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut total: u64 = 0;
    for rel in &files {
        let path = rel.iter().fold(dir.to_path_buf(), |p, c| p.join(c));
        let data = std::fs::read(&path).map_err(|e| io(&path, e))?;
        total = total.saturating_add(data.len() as u64);
        if total > limits.max_bytes {
            return Err(ArchiveError::TooLarge(limits.max_bytes));
        }
        let entry = format!("{name}/{}", rel.join("/"));
        let zip_err = |e: zip::result::ZipError| ArchiveError::Entry {
            name: entry.clone(),
            reason: e.to_string(),
        };
        out.start_file(entry.as_str(), options).map_err(zip_err)?;
        out.write_all(&data).map_err(|e| io(&path, e))?;
    }
    let cursor = out.finish().map_err(|e| ArchiveError::Entry {
        name: name.to_string(),
        reason: e.to_string(),
    })?;
    Ok(cursor.into_inner())
}

fn collect_files(
    dir: &Path,
    prefix: &[String],
    out: &mut Vec<Vec<String>>,
    depth: usize,
) -> Result<(), ArchiveError> {
    // Deeper trees are not packages; the cap also stops symlink loops.
    if depth > 16 {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
        let entry = entry.map_err(|e| io(dir, e))?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let meta = std::fs::metadata(&path).map_err(|e| io(&path, e))?;
        let mut rel = prefix.to_vec();
        rel.push(name);
        if meta.is_dir() {
            collect_files(&path, &rel, out, depth + 1)?;
        } else {
            out.push(rel);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
