use std::io::{Cursor, Write};

use zip::write::{SimpleFileOptions, ZipWriter};

use super::*;

/// A zip of `(entry name, content)`; a name ending in '/' is a directory entry.
fn zip_of(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, text) in entries {
        if name.ends_with('/') {
            w.add_directory(*name, opts).unwrap();
        } else {
            w.start_file(*name, opts).unwrap();
            w.write_all(text.as_bytes()).unwrap();
        }
    }
    w.finish().unwrap().into_inner()
}

fn limits() -> ArchiveLimits {
    ArchiveLimits::default()
}

fn read(dir: &Path, rel: &str) -> String {
    std::fs::read_to_string(dir.join(rel)).unwrap()
}

#[test]
fn single_top_level_directory_names_the_package() {
    let parent = tempfile::tempdir().unwrap();
    let bytes = zip_of(&[
        ("Hello/", ""),
        ("Hello/deploy.xml", "dd"),
        ("Hello/wsdl/a.wsdl", "w"),
        ("__MACOSX/Hello/._deploy.xml", "junk"),
    ]);
    let (name, staged) = unpack(&bytes, None, parent.path(), &limits()).unwrap();
    assert_eq!(name, "Hello");
    assert!(
        staged
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(".tmp-Hello-")
    );
    assert_eq!(read(&staged, "deploy.xml"), "dd");
    assert_eq!(read(&staged, "wsdl/a.wsdl"), "w");
    assert!(!staged.join("__MACOSX").exists());
    // ?name= renames it.
    let (name, staged) = unpack(&bytes, Some("Other"), parent.path(), &limits()).unwrap();
    assert_eq!(name, "Other");
    assert_eq!(read(&staged, "deploy.xml"), "dd");
}

#[test]
fn files_at_the_root_need_a_name() {
    let parent = tempfile::tempdir().unwrap();
    let bytes = zip_of(&[("deploy.xml", "dd"), ("p.bpel", "b")]);
    assert!(matches!(
        unpack(&bytes, None, parent.path(), &limits()),
        Err(ArchiveError::NoName)
    ));
    let (name, staged) = unpack(&bytes, Some("Flat"), parent.path(), &limits()).unwrap();
    assert_eq!(name, "Flat");
    assert_eq!(read(&staged, "p.bpel"), "b");
    // A root deploy.xml keeps a lone sub-directory as it is.
    let bytes = zip_of(&[("deploy.xml", "dd")]);
    let (_, staged) = unpack(&bytes, Some("X"), parent.path(), &limits()).unwrap();
    assert_eq!(read(&staged, "deploy.xml"), "dd");
}

#[test]
fn unsafe_paths_are_refused_and_nothing_is_written() {
    let parent = tempfile::tempdir().unwrap();
    for evil in [
        "P/../../evil.txt",
        "/etc/evil",
        "P/..\\evil",
        "C:/evil",
        "../evil",
    ] {
        let bytes = zip_of(&[("P/deploy.xml", "dd"), (evil, "x")]);
        let r = unpack(&bytes, None, parent.path(), &limits());
        assert!(
            matches!(r, Err(ArchiveError::UnsafePath(_))),
            "{evil}: {r:?}"
        );
    }
    assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 0);
}

#[test]
fn links_are_refused() {
    let parent = tempfile::tempdir().unwrap();
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    w.start_file("P/deploy.xml", SimpleFileOptions::default())
        .unwrap();
    w.write_all(b"dd").unwrap();
    w.add_symlink("P/passwd", "/etc/passwd", SimpleFileOptions::default())
        .unwrap();
    let bytes = w.finish().unwrap().into_inner();
    assert!(matches!(
        unpack(&bytes, None, parent.path(), &limits()),
        Err(ArchiveError::Link(_))
    ));
}

#[test]
fn size_and_entry_limits() {
    let parent = tempfile::tempdir().unwrap();
    let big = "x".repeat(5000);
    let bytes = zip_of(&[("P/deploy.xml", &big), ("P/b", &big)]);
    let small = ArchiveLimits {
        max_bytes: 8000,
        max_entries: 10,
    };
    assert!(matches!(
        unpack(&bytes, None, parent.path(), &small),
        Err(ArchiveError::TooLarge(8000))
    ));
    let few = ArchiveLimits {
        max_bytes: 1 << 20,
        max_entries: 1,
    };
    assert!(matches!(
        unpack(&bytes, None, parent.path(), &few),
        Err(ArchiveError::TooManyEntries(1))
    ));
    assert!(unpack(&bytes, None, parent.path(), &limits()).is_ok());
}

#[test]
fn garbage_empty_and_bad_names() {
    let parent = tempfile::tempdir().unwrap();
    assert!(matches!(
        unpack(b"not a zip", None, parent.path(), &limits()),
        Err(ArchiveError::NotZip(_))
    ));
    assert!(matches!(
        unpack(&zip_of(&[("P/", "")]), None, parent.path(), &limits()),
        Err(ArchiveError::Empty)
    ));
    assert!(matches!(
        unpack(
            &zip_of(&[("P/a", "")]),
            Some(".hidden"),
            parent.path(),
            &limits()
        ),
        Err(ArchiveError::InvalidName(_))
    ));
    assert!(ArchiveError::NoName.is_client_error());
}

#[test]
fn zip_dir_round_trips_through_unpack() {
    let src = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(src.path().join("xsd")).unwrap();
    std::fs::write(src.path().join("deploy.xml"), "dd").unwrap();
    std::fs::write(src.path().join("xsd/t.xsd"), "t").unwrap();
    std::fs::write(src.path().join(".hidden"), "h").unwrap();
    let bytes = zip_dir(src.path(), "Pkg", &limits()).unwrap();
    assert_eq!(package_name(&bytes, None, &limits()).unwrap(), "Pkg");
    let parent = tempfile::tempdir().unwrap();
    let (name, staged) = unpack(&bytes, None, parent.path(), &limits()).unwrap();
    assert_eq!(name, "Pkg");
    assert_eq!(read(&staged, "deploy.xml"), "dd");
    assert_eq!(read(&staged, "xsd/t.xsd"), "t");
    assert!(!staged.join(".hidden").exists());
}
