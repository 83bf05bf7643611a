//! The `bpelgate db` commands and the database failing at start, through the real binary.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn bpelgate() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bpelgate"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

#[test]
fn db_init_creates_the_sqlite_schema_and_migrate_is_then_a_no_op() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = bpelgate()
        .args(["db", "init", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("run bpelgate db init");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("sqlite database initialised: schema version 1"),
        "{stdout}"
    );
    assert!(dir.path().join("bpelgate.db").is_file());
    let again = bpelgate()
        .args(["db", "migrate", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("run bpelgate db migrate");
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success(), "{stdout}");
    assert!(stdout.contains("already at schema version 1"), "{stdout}");
}

#[test]
fn serve_stops_with_status_3_when_the_database_cannot_be_reached() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    let mut child = bpelgate()
        .args(["serve", "--http-port", "0", "--data-dir"])
        .arg(dir.path())
        .args(["--database-url", "postgres://postgres@127.0.0.1:1/none"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start bpelgate serve");
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if t0.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("serve kept running without its database");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = std::io::read_to_string(child.stderr.take().expect("stderr")).unwrap_or_default();
    assert_eq!(status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("database postgres://postgres@127.0.0.1:1/none")
            && stderr.contains("unavailable"),
        "{stderr}"
    );
}
