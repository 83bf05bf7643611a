//! Configuration layers and the shipped conf/bpelgate.toml.

use std::path::{Path, PathBuf};

use bpelgate::config::{Config, Overrides, load, load_str};

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("conf/bpelgate.toml")
}

#[test]
fn shipped_file_equals_the_defaults_and_lists_every_key() {
    let text = std::fs::read_to_string(shipped()).unwrap();
    assert_eq!(load_str(&text).unwrap(), Config::default());
    let file: toml::Table = text.parse().unwrap();
    let defaults = toml::Table::try_from(Config::default()).unwrap();
    for (section, keys) in &defaults {
        // A list of tables (`[[cleanup-schedule]]`) is empty by default: the file shows an
        // example in comments.
        let Some(keys) = keys.as_table() else {
            assert!(
                text.contains(&format!("# [[{section}]]")),
                "conf/bpelgate.toml lacks an example of [[{section}]]"
            );
            continue;
        };
        let in_file = file.get(section).and_then(|v| v.as_table());
        for key in keys.keys() {
            assert!(
                in_file.is_some_and(|t| t.contains_key(key)),
                "conf/bpelgate.toml lacks [{section}] {key}"
            );
        }
    }
}

#[test]
fn layers_file_then_env_then_flags() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    std::fs::write(
        &file,
        "[server]\nhttp-port = 8000\nport-offset = 1\ndeploy-dir = \"from-file\"\n[management]\ntoken = \"t\"\n",
    )
    .unwrap();
    let env = vec![
        (
            "BPELGATE__SERVER__HTTP_PORT".to_string(),
            "8500".to_string(),
        ),
        (
            "BPELGATE__HTTP_CLIENT__MAX_CONNECTIONS_PER_HOST".to_string(),
            "5".to_string(),
        ),
        (
            "BPELGATE__MANAGEMENT__TOKEN".to_string(),
            "12345".to_string(),
        ),
        ("UNRELATED".to_string(), "x".to_string()),
    ];
    let flags = Overrides {
        http_port: Some(9000),
        database_url: Some("sqlite:x.db".into()),
        ..Overrides::default()
    };
    let c = load(Some(&file), env, &flags).unwrap();
    assert_eq!(c.server.http_port, 9000);
    assert_eq!(c.server.port_offset, 1);
    assert_eq!(c.server.effective_http_port(), Some(9001));
    assert_eq!(c.server.deploy_dir, PathBuf::from("from-file"));
    assert_eq!(c.http_client.max_connections_per_host, 5);
    // A numeric-looking value stays a string where the key takes a string.
    assert_eq!(c.management.token.as_deref(), Some("12345"));
    assert_eq!(c.database.url.as_deref(), Some("sqlite:x.db"));
    assert_eq!(c.server.scan_interval_ms, 1000);
}

#[test]
fn deploy_dir_follows_the_data_dir_unless_set() {
    let flags = Overrides {
        data_dir: Some("/srv/bpel".into()),
        ..Overrides::default()
    };
    let c = load(None, Vec::new(), &flags).unwrap();
    assert_eq!(c.server.deploy_dir, PathBuf::from("/srv/bpel/deploy"));
    assert!(c.server.deploy_dir_is_default());
    // The shipped file leaves deploy-dir empty, which means the same.
    let c = load(Some(&shipped()), Vec::new(), &flags).unwrap();
    assert_eq!(c.server.deploy_dir, PathBuf::from("/srv/bpel/deploy"));
    let c = load_str("[server]\ndeploy-dir = \"pkgs\"\n").unwrap();
    assert_eq!(c.server.deploy_dir, PathBuf::from("pkgs"));
    assert!(!c.server.deploy_dir_is_default());
    let c = load_str("[compiler]\nstrict-expressions = true\n").unwrap();
    assert!(c.compiler.strict_expressions);
}

#[test]
fn ode_compat_comes_from_the_file_the_environment_or_the_flag() {
    let c = load(None, Vec::new(), &Overrides::default()).unwrap();
    assert!(!c.compiler.ode_compat, "the specification first by default");
    let c = load_str("[compiler]\node-compat = true\n").unwrap();
    assert!(c.compiler.ode_compat);
    let env = vec![(
        "BPELGATE__COMPILER__ODE_COMPAT".to_string(),
        "true".to_string(),
    )];
    let c = load(None, env, &Overrides::default()).unwrap();
    assert!(c.compiler.ode_compat);
    let flag = Overrides {
        ode_compat: Some(true),
        ..Overrides::default()
    };
    let c = load(None, Vec::new(), &flag).unwrap();
    assert!(c.compiler.ode_compat);
    let ctx = bpelgate::deploy::BuildContext::from_config(&c);
    assert!(ctx.compiler.ode_compat);
}

#[test]
fn every_problem_is_reported_at_once_with_the_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "[server]\nhttp-port = \"x\"\nbogus = 1\n[nope]\n[limits]\nmax-xml-depth = -1\n",
    )
    .unwrap();
    let env = vec![("BPELGATE__ONLYONE".to_string(), "1".to_string())];
    let e = load(Some(&file), env, &Overrides::default()).unwrap_err();
    assert_eq!(e.file.as_deref(), Some(file.display().to_string().as_str()));
    let all = e.to_string();
    assert!(all.contains("bad.toml"), "{all}");
    assert!(all.contains("server.http-port"), "{all}");
    assert!(all.contains("server.bogus"), "{all}");
    assert!(all.contains("unknown section [nope]"), "{all}");
    assert!(all.contains("limits.max-xml-depth"), "{all}");
    assert!(all.contains("BPELGATE__ONLYONE"), "{all}");
    assert_eq!(e.problems.len(), 5, "{all}");
}

#[test]
fn semantic_checks() {
    let e = load_str("[server]\nhttp-port = 65000\nport-offset = 1000\n[http-client]\nmax-total-connections = 1\n").unwrap_err();
    let all = e.to_string();
    assert!(all.contains("beyond 65535"), "{all}");
    assert!(all.contains("max-total-connections"), "{all}");
    assert!(load_str("[database]\nurl = \"mysql://x\"\n").is_err());
    assert!(
        load(
            Some(Path::new("/nonexistent/c.toml")),
            Vec::new(),
            &Overrides::default()
        )
        .is_err()
    );
}

#[test]
fn cleanup_schedules_are_read_and_checked() {
    let c = load_str(
        "[[cleanup-schedule]]\nwhen = \"0 0 3 * * ?\"\nfilters = [\"status=completed started<-30d\"]\n\n[[cleanup-schedule]]\nwhen = \"0 30 * * * ?\"\nfilters = [\"status=failed\"]\ncategories = [\"events\"]\n",
    )
    .unwrap();
    assert_eq!(c.cleanup_schedule.len(), 2);
    assert_eq!(c.cleanup_schedule[0].categories, vec!["all".to_string()]);
    assert_eq!(c.cleanup_schedule[1].categories, vec!["events".to_string()]);
    let e = load_str(
        "[[cleanup-schedule]]\nwhen = \"0 0 3 L * ?\"\nfilters = [\"colour=red\"]\ncategories = [\"things\"]\n\n[[cleanup-schedule]]\nwhen = \"0 0 3 * * ?\"\nfilters = []\n",
    )
    .unwrap_err();
    let all = e.to_string();
    assert!(all.contains("cleanup-schedule[0].when"), "{all}");
    assert!(all.contains("cleanup-schedule[0].filters"), "{all}");
    assert!(all.contains("cleanup-schedule[0].categories"), "{all}");
    assert!(all.contains("cleanup-schedule[1].filters"), "{all}");
}
