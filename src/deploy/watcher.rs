//! Hot deployment: the deploy directory is polled; a new package directory is deployed, a
//! changed one redeployed, a removed one undeployed. Names starting with '.' are ignored, so
//! tools copy to `.tmp-NAME` and rename.

use std::collections::BTreeMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, UNIX_EPOCH};

use tokio::sync::watch;
use tracing::{info, warn};

use bpelgate_wsdl::Pos;

use super::Error;
use super::codes;
use super::package::{BuildContext, DEPLOY_XML, DescriptorMode, PackageCompiler, build};
use super::registry::{PackageInfo, PackageState, Registry, Source};
use super::versions::content_fingerprint;
use crate::compiler::Diagnostic;

/// What one scan did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ScanReport {
    /// Packages deployed for the first time (whatever the outcome).
    pub deployed: Vec<String>,
    /// Packages redeployed because their files changed.
    pub redeployed: Vec<String>,
    /// Packages undeployed because their directory disappeared.
    pub undeployed: Vec<String>,
}

/// Deploys the packages of one directory into a [`Registry`]. All methods block (file system
/// and compiler); call them from `spawn_blocking`.
pub struct Deployer {
    registry: Arc<Registry>,
    compiler: Arc<dyn PackageCompiler>,
    deploy_dir: PathBuf,
    ctx: BuildContext,
    /// Package name → fingerprint of its files when last deployed (None: restored from the
    /// version store, not yet compared with the deploy dir). The mutex also serialises scans
    /// with management deletes.
    known: Mutex<BTreeMap<String, Option<u64>>>,
}

impl std::fmt::Debug for Deployer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deployer")
            .field("deploy_dir", &self.deploy_dir)
            .finish_non_exhaustive()
    }
}

impl Deployer {
    /// A deployer for `deploy_dir`.
    pub fn new(
        registry: Arc<Registry>,
        compiler: Arc<dyn PackageCompiler>,
        deploy_dir: PathBuf,
        ctx: BuildContext,
    ) -> Self {
        Deployer {
            registry,
            compiler,
            deploy_dir,
            ctx,
            known: Mutex::new(BTreeMap::new()),
        }
    }

    /// The registry packages are deployed into.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// The directory this deployer watches.
    pub fn deploy_dir(&self) -> &Path {
        &self.deploy_dir
    }

    /// Moves the prepared package directory `staged` (a hidden directory of the deploy dir) to
    /// package `name`, replacing an earlier copy; the next [`scan`](Self::scan) deploys it.
    /// Returns true when it replaced one. Holding the scan lock across the swap keeps a scan
    /// from seeing the package missing and undeploying it in between.
    pub fn install_dir(&self, name: &str, staged: &Path) -> Result<bool, Error> {
        if !valid_package_name(name) {
            return Err(Error::InvalidName(name.to_string()));
        }
        let _scan = self.known();
        let target = self.deploy_dir.join(name);
        let io = |path: &Path, source| Error::Io {
            path: path.display().to_string(),
            source,
        };
        if !target.exists() {
            std::fs::rename(staged, &target).map_err(|e| io(&target, e))?;
            return Ok(false);
        }
        let mut old = staged.as_os_str().to_owned();
        old.push(".old");
        let old = PathBuf::from(old);
        std::fs::rename(&target, &old).map_err(|e| io(&target, e))?;
        if let Err(e) = std::fs::rename(staged, &target) {
            // Put the previous package back rather than leave none.
            let _ = std::fs::rename(&old, &target);
            return Err(io(&target, e));
        }
        if let Err(e) = std::fs::remove_dir_all(&old) {
            warn!(dir = %old.display(), error = %e, "Cannot remove the replaced package directory.");
        }
        Ok(true)
    }

    fn known(&self) -> MutexGuard<'_, BTreeMap<String, Option<u64>>> {
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Loads every recorded version of every package from its kept copy, in the states
    /// recorded (at start-up, before the first [`scan`](Self::scan)), so instances of older
    /// versions can continue. The first scan then compares the deploy dir with them: an
    /// unchanged package keeps its version, a changed one gets a new version, a removed one
    /// is undeployed. Returns how many versions were loaded; a version that cannot be loaded
    /// is logged and listed in its package's errors.
    pub fn restore(&self) -> usize {
        let mut known = self.known();
        let store = self.registry.versions().clone();
        let mut loaded = 0;
        for name in store.packages() {
            for record in store.records(&name) {
                let result = match store.copy_dir(&name, record.version) {
                    Some(dir) if dir.is_dir() => Ok(build(
                        &dir,
                        &*self.compiler,
                        &self.ctx,
                        DescriptorMode::Required,
                    )),
                    Some(dir) => Err(Diagnostic::error(
                        codes::VERSION_STORE,
                        DEPLOY_XML,
                        Pos::default(),
                        format!("the kept copy {} is missing", dir.display()),
                    )
                    .to_string()),
                    None => continue,
                };
                let info = self.registry.restore(&name, &record, result);
                if info.processes.iter().any(|p| p.version == record.version) {
                    loaded += 1;
                }
            }
            known.insert(name, None);
        }
        if loaded > 0 {
            info!(versions = loaded, "Kept package versions loaded.");
        }
        loaded
    }

    /// Compares the deploy directory with what is deployed and acts on the differences.
    pub fn scan(&self) -> ScanReport {
        let mut known = self.known();
        let mut report = ScanReport::default();
        let entries = match std::fs::read_dir(&self.deploy_dir) {
            Ok(e) => e,
            Err(e) => {
                // An unreadable directory must not undeploy everything.
                warn!(dir = %self.deploy_dir.display(), error = %e, "Cannot read the deploy directory; skipping this scan.");
                return report;
            }
        };
        let mut present = BTreeMap::new();
        for entry in entries.flatten() {
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if name.starts_with('.') || !entry.path().is_dir() {
                continue;
            }
            // A data dir inside the deploy dir: its kept versions are not packages.
            if self.registry.versions().root() == Some(entry.path().as_path()) {
                continue;
            }
            if let Some(fp) = fingerprint(&entry.path()) {
                present.insert(name, fp);
            }
        }
        let gone: Vec<String> = known
            .keys()
            .filter(|k| !present.contains_key(*k))
            .cloned()
            .collect();
        for name in gone {
            known.remove(&name);
            self.registry.undeploy(&name);
            info!(package = %name, "Package directory removed; undeployed.");
            report.undeployed.push(name);
        }
        for (name, fp) in present {
            match known.get(&name) {
                Some(Some(old)) if *old == fp => continue,
                Some(Some(_)) => report.redeployed.push(name.clone()),
                Some(None) | None => report.deployed.push(name.clone()),
            }
            known.insert(name.clone(), Some(fp));
            self.deploy_one(&name);
        }
        report
    }

    fn deploy_one(&self, name: &str) -> PackageInfo {
        let dir = self.deploy_dir.join(name);
        // The content, not the file times: a touched or re-uploaded package with the same
        // files keeps its version, also across restarts. Unreadable files make the build fail
        // with the details, so an error here only skips the comparison.
        let fingerprint = content_fingerprint(&dir).unwrap_or_default();
        if let Some(info) = self.registry.unchanged(name, &fingerprint) {
            info!(package = %name, "Package content unchanged; its version stays.");
            return info;
        }
        let result = build(&dir, &*self.compiler, &self.ctx, DescriptorMode::Required);
        let source = Source {
            dir: &dir,
            fingerprint: &fingerprint,
        };
        let info = self.registry.deploy(name, result, Some(source));
        match info.state {
            PackageState::Deployed => {
                info!(package = %name, processes = info.processes.len(), "Package deployed.")
            }
            PackageState::Failed => {
                warn!(package = %name, errors = info.errors.len(), first = %info.errors.first().map(String::as_str).unwrap_or(""), "Package failed to deploy.")
            }
        }
        info
    }

    /// Undeploys package `name` and deletes its directory. Ok(false) when it is unknown.
    pub fn remove(&self, name: &str) -> Result<bool, Error> {
        if !valid_package_name(name) {
            return Err(Error::InvalidName(name.to_string()));
        }
        let mut known = self.known();
        let dir = self.deploy_dir.join(name);
        let was_known = self.registry.undeploy(name) | known.remove(name).is_some();
        if dir.is_dir() {
            std::fs::remove_dir_all(&dir).map_err(|source| Error::Remove {
                path: dir.display().to_string(),
                source,
            })?;
            info!(package = %name, "Package undeployed and its directory removed.");
            return Ok(true);
        }
        Ok(was_known)
    }
}

/// A package name as it may appear in a URL: one path segment, not hidden.
pub fn valid_package_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name.contains(['/', '\\'])
        && name != ".."
        && !name.contains('\0')
}

/// A hash of every file's relative path, size and modification time. Content is not read:
/// scanning hundreds of packages every second must stay cheap.
fn fingerprint(dir: &Path) -> Option<u64> {
    let mut files = Vec::new();
    collect(dir, dir, &mut files, 0).ok()?;
    files.sort();
    let mut h = DefaultHasher::new();
    files.hash(&mut h);
    Some(h.finish())
}

fn collect(
    root: &Path,
    dir: &Path,
    out: &mut Vec<(String, u64, u128)>,
    depth: usize,
) -> std::io::Result<()> {
    // Deep trees are not packages; the cap also stops symlink loops.
    if depth > 16 {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let meta = entry.metadata()?;
        if meta.is_dir() {
            collect(root, &path, out, depth + 1)?;
        } else {
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            let mtime = meta
                .modified()
                .ok()
                .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            out.push((rel, meta.len(), mtime));
        }
    }
    Ok(())
}

/// Scans every `interval` until `shutdown` turns true. Each scan runs on a blocking thread so
/// request handling never waits for a compile.
pub async fn watch(
    deployer: Arc<Deployer>,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
        let d = deployer.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || d.scan()).await {
            warn!(error = %e, "A deploy scan ended abnormally; the next scan retries.");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(valid_package_name("HelloWorld"));
        assert!(!valid_package_name(".tmp-x"));
        assert!(!valid_package_name("a/b"));
        assert!(!valid_package_name(""));
    }

    #[test]
    fn fingerprint_changes_with_files() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a"), "1").unwrap();
        let a = fingerprint(d.path()).unwrap();
        assert_eq!(a, fingerprint(d.path()).unwrap());
        std::fs::write(d.path().join("b"), "2").unwrap();
        assert_ne!(a, fingerprint(d.path()).unwrap());
    }
}
