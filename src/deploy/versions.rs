//! The version store: which versions of each package exist, their content fingerprints and the
//! state of every process version, plus a copy of each version's files (ODE/WSO2 keep one per
//! version), so version numbers stay stable and old versions come back after a restart.
//!
//! On disk (`<data-dir>/versions/`): `versions.json` (replaced atomically: temp file, fsync,
//! rename, fsync of the directory) and one directory `<package>-<version>` per version.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tracing::warn;

use super::registry::ProcessState;

/// The index file inside the store directory.
const INDEX: &str = "versions.json";
/// A version's copy is written under this prefix, then renamed.
const STAGING_PREFIX: &str = ".staging-";
/// Deeper trees are not packages; the cap also stops symlink loops.
const MAX_DEPTH: usize = 16;

/// Why the version store failed.
#[derive(Debug, thiserror::Error)]
pub enum VersionError {
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The index file is not what this server writes.
    #[error("{path} is damaged: {reason}")]
    Corrupt {
        /// The index file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

fn io(path: &Path, source: std::io::Error) -> VersionError {
    VersionError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// One deployed version of a package.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionRecord {
    /// The global version number, shared by every process of the version (ODE's DU version).
    pub version: u64,
    /// [`content_fingerprint`] of the package files it was built from (empty when unknown).
    pub fingerprint: String,
    /// Its processes and their states.
    pub processes: Vec<ProcessRecord>,
}

/// A process of a recorded version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessRecord {
    /// `{ns}local`.
    pub qname: String,
    /// Its state (changed by redeploys and by the management API).
    pub state: ProcessState,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Data {
    /// The next version number handed out; numbers are never reused.
    next_version: u64,
    /// Package name → its versions, oldest first.
    packages: BTreeMap<String, Vec<VersionRecord>>,
}

impl Default for Data {
    fn default() -> Self {
        Data {
            next_version: 1,
            packages: BTreeMap::new(),
        }
    }
}

/// Package versions, in memory (tests, [`Registry::default`](super::Registry)) or persisted
/// under a directory.
#[derive(Debug)]
pub struct VersionStore {
    root: Option<PathBuf>,
    data: Mutex<Data>,
}

impl Default for VersionStore {
    fn default() -> Self {
        VersionStore::in_memory()
    }
}

impl VersionStore {
    /// A store that forgets everything when dropped (numbers start at 1).
    pub fn in_memory() -> Self {
        VersionStore {
            root: None,
            data: Mutex::new(Data::default()),
        }
    }

    /// Opens (creating it when missing) the store in `root`. Copies left half-written by a
    /// crash, and copies no record names, are deleted.
    pub fn open(root: &Path) -> Result<Self, VersionError> {
        std::fs::create_dir_all(root).map_err(|e| io(root, e))?;
        let index = root.join(INDEX);
        let data = match std::fs::read(&index) {
            Ok(bytes) => {
                let data: Data =
                    serde_json::from_slice(&bytes).map_err(|e| VersionError::Corrupt {
                        path: index.display().to_string(),
                        reason: e.to_string(),
                    })?;
                let highest = data
                    .packages
                    .values()
                    .flatten()
                    .map(|r| r.version)
                    .max()
                    .unwrap_or(0);
                if data.next_version <= highest {
                    return Err(VersionError::Corrupt {
                        path: index.display().to_string(),
                        reason: format!(
                            "next_version {} is not above the highest version {highest}",
                            data.next_version
                        ),
                    });
                }
                data
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Data::default(),
            Err(e) => return Err(io(&index, e)),
        };
        let store = VersionStore {
            root: Some(root.to_path_buf()),
            data: Mutex::new(data),
        };
        store.remove_strays(root);
        Ok(store)
    }

    fn remove_strays(&self, root: &Path) {
        let data = self.lock();
        let kept: std::collections::HashSet<String> = data
            .packages
            .iter()
            .flat_map(|(name, recs)| recs.iter().map(move |r| copy_name(name, r.version)))
            .collect();
        drop(data);
        let Ok(entries) = std::fs::read_dir(root) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if !path.is_dir() || kept.contains(&name) {
                continue;
            }
            // Only what this store writes: a staging copy, or `<name>-<digits>` (a copy whose
            // record never got written).
            let ours = name.starts_with(STAGING_PREFIX)
                || name
                    .rsplit_once('-')
                    .is_some_and(|(_, v)| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()));
            if ours && let Err(e) = std::fs::remove_dir_all(&path) {
                warn!(dir = %path.display(), error = %e, "Cannot remove a stray package version copy.");
            }
        }
    }

    // A panic while holding the lock leaves `Data` as it was before the failed change (every
    // change is computed on a copy and swapped in after the write succeeds).
    fn lock(&self) -> MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The directory of the store, when persisted.
    pub fn root(&self) -> Option<&Path> {
        self.root.as_deref()
    }

    /// Packages with recorded versions, by name.
    pub fn packages(&self) -> Vec<String> {
        self.lock().packages.keys().cloned().collect()
    }

    /// The versions of `package`, oldest first.
    pub fn records(&self, package: &str) -> Vec<VersionRecord> {
        self.lock()
            .packages
            .get(package)
            .cloned()
            .unwrap_or_default()
    }

    /// The newest recorded version of `package`.
    pub fn latest(&self, package: &str) -> Option<VersionRecord> {
        self.lock()
            .packages
            .get(package)
            .and_then(|v| v.last().cloned())
    }

    /// Where the copy of `package` version `version` lives (persisted stores only).
    pub fn copy_dir(&self, package: &str, version: u64) -> Option<PathBuf> {
        self.root
            .as_ref()
            .map(|r| r.join(copy_name(package, version)))
    }

    /// Records a new version of `package`: takes the next number, copies `source` (the package
    /// directory) to the version's copy when the store is persisted, and writes the record.
    /// Nothing is recorded when any step fails.
    pub fn create(
        &self,
        package: &str,
        fingerprint: &str,
        source: Option<&Path>,
        processes: Vec<ProcessRecord>,
    ) -> Result<u64, VersionError> {
        let mut data = self.lock();
        let version = data.next_version;
        let copy = match (&self.root, source) {
            (Some(root), Some(src)) => Some(make_copy(root, src, package, version)?),
            _ => None,
        };
        let mut next = data.clone();
        next.next_version = version + 1;
        next.packages
            .entry(package.to_string())
            .or_default()
            .push(VersionRecord {
                version,
                fingerprint: fingerprint.to_string(),
                processes,
            });
        if let Err(e) = self.persist(&next) {
            if let Some(c) = copy {
                let _ = std::fs::remove_dir_all(c);
            }
            return Err(e);
        }
        *data = next;
        Ok(version)
    }

    /// Makes the copy of a recorded version again from `source` when it is missing (the same
    /// content came back after its copy was lost).
    pub fn ensure_copy(
        &self,
        package: &str,
        version: u64,
        source: &Path,
    ) -> Result<(), VersionError> {
        let Some(root) = &self.root else {
            return Ok(());
        };
        let _data = self.lock();
        if root.join(copy_name(package, version)).is_dir() {
            return Ok(());
        }
        make_copy(root, source, package, version).map(|_| ())
    }

    /// Sets process states: `(package, version, process qname, state)`; unknown entries are
    /// ignored.
    pub fn set_states(
        &self,
        changes: &[(String, u64, String, ProcessState)],
    ) -> Result<(), VersionError> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut data = self.lock();
        let mut next = data.clone();
        let mut changed = false;
        for (package, version, qname, state) in changes {
            let Some(p) = next
                .packages
                .get_mut(package)
                .and_then(|v| v.iter_mut().find(|r| r.version == *version))
                .and_then(|r| r.processes.iter_mut().find(|p| p.qname == *qname))
            else {
                continue;
            };
            if p.state != *state {
                p.state = *state;
                changed = true;
            }
        }
        if changed {
            self.persist(&next)?;
            *data = next;
        }
        Ok(())
    }

    /// Forgets every version of `package` and deletes their copies. The counter is kept: a
    /// later deploy of the same name gets new numbers.
    pub fn remove_package(&self, package: &str) -> Result<(), VersionError> {
        let mut data = self.lock();
        let mut next = data.clone();
        let Some(records) = next.packages.remove(package) else {
            return Ok(());
        };
        // The record goes first: a copy without a record is removed at the next start, a
        // record without its copy would be reported as a broken version.
        self.persist(&next)?;
        *data = next;
        drop(data);
        for r in records {
            if let Some(dir) = self.copy_dir(package, r.version)
                && dir.exists()
                && let Err(e) = std::fs::remove_dir_all(&dir)
            {
                warn!(dir = %dir.display(), error = %e, "Cannot remove a package version copy; it is removed at the next start.");
            }
        }
        Ok(())
    }

    fn persist(&self, data: &Data) -> Result<(), VersionError> {
        let Some(root) = &self.root else {
            return Ok(());
        };
        let bytes = serde_json::to_vec_pretty(data).map_err(|e| VersionError::Corrupt {
            path: root.join(INDEX).display().to_string(),
            reason: e.to_string(),
        })?;
        write_atomically(&root.join(INDEX), &bytes)
    }
}

fn copy_name(package: &str, version: u64) -> String {
    format!("{package}-{version}")
}

fn make_copy(
    root: &Path,
    src: &Path,
    package: &str,
    version: u64,
) -> Result<PathBuf, VersionError> {
    let staging = root.join(format!("{STAGING_PREFIX}{version}"));
    let target = root.join(copy_name(package, version));
    for stale in [&staging, &target] {
        if stale.exists() {
            std::fs::remove_dir_all(stale).map_err(|e| io(stale, e))?;
        }
    }
    let copied = copy_tree(src, &staging)
        .and_then(|()| std::fs::rename(&staging, &target).map_err(|e| io(&target, e)));
    if let Err(e) = copied {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    sync_dir(root);
    Ok(target)
}

fn copy_tree(src: &Path, dst: &Path) -> Result<(), VersionError> {
    std::fs::create_dir_all(dst).map_err(|e| io(dst, e))?;
    for (rel, from) in files(src)? {
        let to = dst.join(&rel);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        std::fs::copy(&from, &to).map_err(|e| io(&from, e))?;
        // The record that names this copy is written right after: the files must be on disk
        // before it is.
        std::fs::File::open(&to)
            .and_then(|f| f.sync_all())
            .map_err(|e| io(&to, e))?;
    }
    Ok(())
}

/// Every file under `dir` (symlinks followed, [`MAX_DEPTH`] levels) as (relative path, path),
/// sorted by relative path.
fn files(dir: &Path) -> Result<Vec<(PathBuf, PathBuf)>, VersionError> {
    fn walk(
        root: &Path,
        dir: &Path,
        depth: usize,
        out: &mut Vec<(PathBuf, PathBuf)>,
    ) -> Result<(), VersionError> {
        if depth > MAX_DEPTH {
            return Ok(());
        }
        for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
            let path = entry.map_err(|e| io(dir, e))?.path();
            let meta = std::fs::metadata(&path).map_err(|e| io(&path, e))?;
            if meta.is_dir() {
                walk(root, &path, depth + 1, out)?;
            } else {
                let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
                out.push((rel, path));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, 0, &mut out)?;
    out.sort();
    Ok(out)
}

/// A SHA-256 over every file of the package directory (relative path, length, content), as
/// `sha256:<hex>`. Unlike the deploy watcher's change detector it reads the content, so a
/// package copied or touched without changes keeps its fingerprint (and its version).
pub fn content_fingerprint(dir: &Path) -> Result<String, VersionError> {
    let mut h = Sha256::new();
    for (rel, path) in files(dir)? {
        let content = std::fs::read(&path).map_err(|e| io(&path, e))?;
        // Separators are portable, and lengths keep (path, content) pairs unambiguous.
        let rel = rel.to_string_lossy().replace('\\', "/");
        h.update((rel.len() as u64).to_le_bytes());
        h.update(rel.as_bytes());
        h.update((content.len() as u64).to_le_bytes());
        h.update(&content);
    }
    let digest = h.finalize();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in digest.iter() {
        out.push_str(&format!("{b:02x}"));
    }
    Ok(out)
}

/// Replaces `path` with `bytes` so a crash leaves either the old or the new content: write a
/// temp file beside it, fsync it, rename it over, fsync the directory.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), VersionError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp = dir.join(tmp_name);
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(&tmp, e));
    }
    std::fs::rename(&tmp, path).map_err(|e| io(path, e))?;
    sync_dir(dir);
    Ok(())
}

/// A rename is durable only once the directory entry is; not every platform can open a
/// directory for this, and there the rename is as durable as it gets.
fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn procs(names: &[&str]) -> Vec<ProcessRecord> {
        names
            .iter()
            .map(|n| ProcessRecord {
                qname: n.to_string(),
                state: ProcessState::Active,
            })
            .collect()
    }

    fn package(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (f, text) in files {
            let p = d.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        d
    }

    #[test]
    fn fingerprint_follows_content_not_times() {
        let a = package(&[("deploy.xml", "<d/>"), ("sub/p.bpel", "<p/>")]);
        let b = package(&[("deploy.xml", "<d/>"), ("sub/p.bpel", "<p/>")]);
        let fa = content_fingerprint(a.path()).unwrap();
        assert!(fa.starts_with("sha256:") && fa.len() == 7 + 64, "{fa}");
        assert_eq!(fa, content_fingerprint(b.path()).unwrap());
        std::fs::write(b.path().join("sub/p.bpel"), "<q/>").unwrap();
        assert_ne!(fa, content_fingerprint(b.path()).unwrap());
        // Moving content between files changes it too.
        let c = package(&[("deploy.xml", "<d/><p/>"), ("sub/p.bpel", "")]);
        assert_ne!(fa, content_fingerprint(c.path()).unwrap());
    }

    #[test]
    fn versions_and_states_survive_reopening() {
        let root = tempfile::tempdir().unwrap();
        let pkg = package(&[("deploy.xml", "<d/>")]);
        let fp = content_fingerprint(pkg.path()).unwrap();
        let store = VersionStore::open(root.path()).unwrap();
        let v1 = store
            .create(
                "Hello",
                &fp,
                Some(pkg.path()),
                procs(&["{urn:p}A", "{urn:p}B"]),
            )
            .unwrap();
        assert_eq!(v1, 1);
        store
            .set_states(&[("Hello".into(), v1, "{urn:p}B".into(), ProcessState::Retired)])
            .unwrap();
        drop(store);

        let store = VersionStore::open(root.path()).unwrap();
        let latest = store.latest("Hello").unwrap();
        assert_eq!(latest.version, v1);
        assert_eq!(latest.fingerprint, fp, "same fingerprint, same version");
        assert_eq!(latest.processes[1].state, ProcessState::Retired);
        let copy = store.copy_dir("Hello", v1).unwrap();
        assert_eq!(
            std::fs::read_to_string(copy.join("deploy.xml")).unwrap(),
            "<d/>"
        );
        assert_eq!(content_fingerprint(&copy).unwrap(), fp);
    }

    #[test]
    fn the_counter_is_global_and_never_reused() {
        let root = tempfile::tempdir().unwrap();
        let pkg = package(&[("deploy.xml", "1")]);
        let store = VersionStore::open(root.path()).unwrap();
        let a1 = store
            .create("A", "f1", Some(pkg.path()), procs(&["{u}A"]))
            .unwrap();
        let b = store
            .create("B", "f", Some(pkg.path()), procs(&["{u}B"]))
            .unwrap();
        std::fs::write(pkg.path().join("deploy.xml"), "2").unwrap();
        let a2 = store
            .create("A", "f2", Some(pkg.path()), procs(&["{u}A"]))
            .unwrap();
        assert_eq!((a1, b, a2), (1, 2, 3));
        assert_eq!(
            store
                .records("A")
                .iter()
                .map(|r| r.version)
                .collect::<Vec<_>>(),
            vec![1, 3]
        );
        store.remove_package("A").unwrap();
        assert!(!store.copy_dir("A", a1).unwrap().exists());
        assert!(!store.copy_dir("A", a2).unwrap().exists());
        assert!(store.copy_dir("B", b).unwrap().exists());
        drop(store);

        let store = VersionStore::open(root.path()).unwrap();
        assert!(store.records("A").is_empty());
        let again = store
            .create("A", "f1", Some(pkg.path()), procs(&["{u}A"]))
            .unwrap();
        assert_eq!(
            again, 4,
            "numbers of removed versions are not handed out again"
        );
    }

    #[test]
    fn the_index_is_replaced_atomically() {
        let root = tempfile::tempdir().unwrap();
        let store = VersionStore::open(root.path()).unwrap();
        store.create("A", "f1", None, procs(&["{u}A"])).unwrap();
        let index = root.path().join(INDEX);
        let before = std::fs::read(&index).unwrap();
        assert!(!root.path().join("versions.json.tmp").exists());
        drop(store);

        // A crash while writing the next index leaves a partial temp file and an untouched
        // index, plus a copy whose record was never written.
        std::fs::write(root.path().join("versions.json.tmp"), "{\"next_ver").unwrap();
        std::fs::create_dir_all(root.path().join("A-2")).unwrap();
        std::fs::create_dir_all(root.path().join(".staging-3")).unwrap();
        std::fs::create_dir_all(root.path().join("keep-me")).unwrap();
        let store = VersionStore::open(root.path()).unwrap();
        assert_eq!(std::fs::read(&index).unwrap(), before);
        assert_eq!(store.records("A").len(), 1);
        assert!(!root.path().join("A-2").exists(), "unrecorded copy removed");
        assert!(!root.path().join(".staging-3").exists());
        assert!(root.path().join("keep-me").exists(), "not ours: left alone");

        // The next write replaces both.
        store.create("A", "f2", None, procs(&["{u}A"])).unwrap();
        assert!(!root.path().join("versions.json.tmp").exists());
        let text = std::fs::read_to_string(&index).unwrap();
        assert!(text.contains("\"f2\""), "{text}");
    }

    #[test]
    fn a_damaged_index_is_an_error_not_an_empty_store() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join(INDEX), "{not json").unwrap();
        let e = VersionStore::open(root.path()).unwrap_err();
        assert!(matches!(e, VersionError::Corrupt { .. }), "{e}");
        std::fs::write(
            root.path().join(INDEX),
            r#"{"next_version":2,"packages":{"A":[{"version":5,"fingerprint":"","processes":[]}]}}"#,
        )
        .unwrap();
        assert!(VersionStore::open(root.path()).is_err());
    }

    #[test]
    fn a_failed_copy_records_nothing() {
        let root = tempfile::tempdir().unwrap();
        let store = VersionStore::open(root.path()).unwrap();
        let missing = root.path().join("no-such-package");
        assert!(
            store
                .create("A", "f", Some(&missing), procs(&["{u}A"]))
                .is_err()
        );
        assert!(store.records("A").is_empty());
        assert_eq!(store.create("A", "f", None, procs(&["{u}A"])).unwrap(), 1);
    }
}
