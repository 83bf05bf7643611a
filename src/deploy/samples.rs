//! Sample packages: with no `deploy-dir` setting the server deploys from `<data-dir>/deploy`
//! and copies the packages of `samples-dir` (`examples/`) there at start, so undeploying a
//! sample (which deletes its directory) never touches the source tree.

use std::path::Path;

use tracing::{info, warn};

use super::Error;
use super::watcher::valid_package_name;
use crate::config::ServerSection;

/// Deeper trees are not packages; the cap also stops symlink loops.
const MAX_DEPTH: usize = 16;

/// Prepares the deploy dir at server start: when it is the default one, creates it and copies
/// in the sample packages (see [`seed_samples`]). Problems are logged, never fatal: a server
/// without samples is still a server.
pub fn prepare(server: &ServerSection) -> Vec<String> {
    if !server.deploy_dir_is_default() {
        return Vec::new();
    }
    if let Err(e) = std::fs::create_dir_all(&server.deploy_dir) {
        warn!(dir = %server.deploy_dir.display(), error = %e, "Cannot create the deploy directory.");
        return Vec::new();
    }
    match seed_samples(&server.samples_dir, &server.deploy_dir) {
        Ok(copied) => {
            if !copied.is_empty() {
                info!(samples = ?copied, dir = %server.deploy_dir.display(), "Sample packages copied into the deploy directory.");
            }
            copied
        }
        Err(e) => {
            warn!(error = %e, "Cannot copy the sample packages.");
            Vec::new()
        }
    }
}

/// Copies every package directory of `samples_dir` into `deploy_dir` unless a package of that
/// name is already there; returns the names copied, sorted. A missing `samples_dir` copies
/// nothing. Each copy is written to `.tmp-NAME` and renamed, so a running deploy watcher never
/// sees half a package.
pub fn seed_samples(samples_dir: &Path, deploy_dir: &Path) -> Result<Vec<String>, Error> {
    let entries = match std::fs::read_dir(samples_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(io_error(samples_dir, source)),
    };
    let mut copied = Vec::new();
    for entry in entries.flatten() {
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let src = entry.path();
        if !valid_package_name(&name) || !src.is_dir() {
            continue;
        }
        let target = deploy_dir.join(&name);
        if target.exists() {
            continue;
        }
        let tmp = deploy_dir.join(format!(".tmp-{name}"));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|e| io_error(&tmp, e))?;
        }
        copy_dir(&src, &tmp, 0)?;
        std::fs::rename(&tmp, &target).map_err(|e| io_error(&target, e))?;
        copied.push(name);
    }
    copied.sort();
    Ok(copied)
}

fn copy_dir(src: &Path, dst: &Path, depth: usize) -> Result<(), Error> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    std::fs::create_dir_all(dst).map_err(|e| io_error(dst, e))?;
    for entry in std::fs::read_dir(src).map_err(|e| io_error(src, e))? {
        let entry = entry.map_err(|e| io_error(src, e))?;
        let from = entry.path();
        let to = dst.join(entry.file_name());
        // Follows symlinks, so a sample may link to shared files.
        let meta = std::fs::metadata(&from).map_err(|e| io_error(&from, e))?;
        if meta.is_dir() {
            copy_dir(&from, &to, depth + 1)?;
        } else {
            std::fs::copy(&from, &to).map_err(|e| io_error(&from, e))?;
        }
    }
    Ok(())
}

fn io_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_missing_samples_only() {
        let samples = tempfile::tempdir().unwrap();
        let deploy = tempfile::tempdir().unwrap();
        for name in ["A", "B"] {
            std::fs::create_dir_all(samples.path().join(name).join("sub")).unwrap();
            std::fs::write(samples.path().join(name).join("deploy.xml"), name).unwrap();
            std::fs::write(samples.path().join(name).join("sub/x.wsdl"), "w").unwrap();
        }
        std::fs::create_dir(samples.path().join(".hidden")).unwrap();
        std::fs::write(samples.path().join("README"), "not a package").unwrap();
        std::fs::create_dir(deploy.path().join("B")).unwrap();
        std::fs::write(deploy.path().join("B/deploy.xml"), "mine").unwrap();

        let copied = seed_samples(samples.path(), deploy.path()).unwrap();
        assert_eq!(copied, vec!["A".to_string()]);
        let read = |p: &str| std::fs::read_to_string(deploy.path().join(p)).unwrap();
        assert_eq!(read("A/deploy.xml"), "A");
        assert_eq!(read("A/sub/x.wsdl"), "w");
        assert_eq!(read("B/deploy.xml"), "mine", "an existing package is kept");
        assert!(!deploy.path().join(".hidden").exists());
        assert!(!deploy.path().join(".tmp-A").exists());
        // Nothing left to copy the second time.
        assert!(
            seed_samples(samples.path(), deploy.path())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn missing_samples_dir_copies_nothing() {
        let deploy = tempfile::tempdir().unwrap();
        let none = deploy.path().join("no-such-dir");
        assert!(seed_samples(&none, deploy.path()).unwrap().is_empty());
    }

    #[test]
    fn prepare_acts_only_on_the_default_deploy_dir() {
        let data = tempfile::tempdir().unwrap();
        let samples = tempfile::tempdir().unwrap();
        std::fs::create_dir(samples.path().join("S")).unwrap();
        std::fs::write(samples.path().join("S/deploy.xml"), "s").unwrap();
        let mut server = ServerSection {
            data_dir: data.path().to_path_buf(),
            samples_dir: samples.path().to_path_buf(),
            ..ServerSection::default()
        };
        server.deploy_dir = data.path().join("elsewhere");
        assert!(prepare(&server).is_empty());
        assert!(!data.path().join("elsewhere").exists());
        server.deploy_dir = server.default_deploy_dir();
        assert_eq!(prepare(&server), vec!["S".to_string()]);
        assert!(data.path().join("deploy/S/deploy.xml").is_file());
    }
}
