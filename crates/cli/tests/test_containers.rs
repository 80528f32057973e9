//! The container files, tested without a Docker engine: `docker/entrypoint.sh` under the POSIX shells
//! found here (what it runs, the variables it sets, secrets from files, the health check, refusals);
//! `compose.yaml` parses to PostgreSQL plus three nodes whose settings the node accepts and that reach each
//! other; the `Dockerfile` is multi-stage, runs as a non-root user with a data volume and a health check,
//! and sets only settings the node knows.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use ferrochain_node::Config;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_ferrochain");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn entrypoint() -> PathBuf {
    repo().join("docker/entrypoint.sh")
}

/// The POSIX shells available here to run the entry point with (Alpine's busybox `sh` in the image).
fn shells() -> Vec<&'static str> {
    let shells: Vec<_> = ["sh", "dash", "bash", "busybox"]
        .into_iter()
        .filter(|s| {
            Command::new("sh")
                .args(["-c", &format!("command -v {s}")])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|st| st.success())
        })
        .collect();
    assert!(!shells.is_empty(), "no POSIX shell found");
    shells
}

/// A directory with a fake `ferrochain` (prints its arguments and FERROCHAIN_* variables) and fake `wget`
/// and `curl` (print the URL, exit with $FAKE_HTTP_EXIT).
fn fakes(dir: &Path) -> PathBuf {
    let bin = dir.join("fake-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let write = |name: &str, text: &str| {
        let path = bin.join(name);
        std::fs::write(&path, text).unwrap();
        Command::new("chmod").arg("+x").arg(&path).status().unwrap();
    };
    write(
        "ferrochain",
        "#!/bin/sh\necho \"args:$*\"\nenv | grep '^FERROCHAIN_' | sort\n",
    );
    for tool in ["wget", "curl"] {
        write(
            tool,
            &format!("#!/bin/sh\necho \"{tool} $*\"\nexit ${{FAKE_HTTP_EXIT:-0}}\n"),
        );
    }
    bin
}

/// Runs the entry point with `shell`, a clean environment plus `env`, and the fakes first on PATH.
fn run(shell: &str, fake_bin: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(shell);
    if shell == "busybox" {
        cmd.arg("sh");
    }
    cmd.arg(entrypoint())
        .args(args)
        .env_clear()
        .env(
            "PATH",
            format!("{}:/usr/local/bin:/usr/bin:/bin", fake_bin.display()),
        )
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect()
}

fn hostname() -> String {
    let out = Command::new("hostname").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn the_entrypoint_runs_a_node_by_default_and_passes_other_commands_through() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = fakes(tmp.path());
    let data = tmp.path().join("data");
    let data = data.to_str().unwrap();
    for shell in shells() {
        // No arguments: a node, listening on all interfaces, its public URL from the host name.
        let out = run(shell, &fake, &[("FERROCHAIN_DATA_DIR", data)], &[]);
        assert!(out.status.success(), "{shell}: {out:?}");
        let got = lines(&out);
        assert_eq!(got[0], "args:node", "{shell}");
        for expected in [
            "FERROCHAIN_LISTEN=0.0.0.0:5000".to_string(),
            format!("FERROCHAIN_DATA_DIR={data}"),
            format!("FERROCHAIN_PUBLIC_URL=http://{}:5000", hostname()),
        ] {
            assert!(
                got.contains(&expected),
                "{shell}: {expected} not in {got:?}"
            );
        }

        // Flags go to the node; settings already given are kept.
        let out = run(
            shell,
            &fake,
            &[
                ("FERROCHAIN_DATA_DIR", data),
                ("FERROCHAIN_LISTEN", "0.0.0.0:6000"),
                ("FERROCHAIN_PUBLIC_URL", "http://node9:6000"),
            ],
            &["--mine", "--peer", "http://node1:5000"],
        );
        let got = lines(&out);
        assert_eq!(got[0], "args:node --mine --peer http://node1:5000");
        assert!(got.contains(&"FERROCHAIN_LISTEN=0.0.0.0:6000".to_string()));
        assert!(got.contains(&"FERROCHAIN_PUBLIC_URL=http://node9:6000".to_string()));

        // Other ferrochain commands run as they are, without node defaults.
        for args in [
            &["wallet", "balance"][..],
            &["chain", "verify"],
            &["--version"],
        ] {
            let got = lines(&run(shell, &fake, &[], args));
            assert_eq!(got, vec![format!("args:{}", args.join(" "))], "{shell}");
        }
        // Anything else is executed as given.
        let out = run(shell, &fake, &[], &["sh", "-c", "echo plain command"]);
        assert_eq!(lines(&out), vec!["plain command".to_string()]);
    }
}

#[test]
fn the_entrypoint_reads_secrets_from_files_and_refuses_bad_setups() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = fakes(tmp.path());
    let data = tmp.path().join("data");
    let data = data.to_str().unwrap();
    let token = tmp.path().join("token");
    std::fs::write(&token, "s3cret\n").unwrap();
    let token = token.to_str().unwrap();
    let db = tmp.path().join("db-url");
    std::fs::write(&db, "postgres://u:p@postgres/node1").unwrap();
    let db = db.to_str().unwrap();
    let a_file = tmp.path().join("a-file");
    std::fs::write(&a_file, "").unwrap();
    let under_a_file = a_file.join("data");
    for shell in shells() {
        let out = run(
            shell,
            &fake,
            &[
                ("FERROCHAIN_DATA_DIR", data),
                ("FERROCHAIN_API_TOKEN_FILE", token),
                ("FERROCHAIN_DATABASE_FILE", db),
            ],
            &[],
        );
        assert!(out.status.success(), "{shell}: {out:?}");
        let got = lines(&out);
        assert!(
            got.contains(&"FERROCHAIN_API_TOKEN=s3cret".to_string()),
            "{got:?}"
        );
        assert!(got.contains(&"FERROCHAIN_DATABASE=postgres://u:p@postgres/node1".to_string()));
        assert!(
            !got.iter().any(|l| l.contains("_FILE=")),
            "the _FILE variables are not passed on: {got:?}"
        );

        let refused = |env: &[(&str, &str)], message: &str| {
            let out = run(shell, &fake, env, &[]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{shell}: {out:?}");
            assert!(stderr.contains(message), "{shell}: {stderr}");
            assert!(lines(&out).is_empty(), "nothing ran: {out:?}");
        };
        refused(
            &[
                ("FERROCHAIN_DATA_DIR", data),
                ("FERROCHAIN_API_TOKEN", "a"),
                ("FERROCHAIN_API_TOKEN_FILE", token),
            ],
            "both FERROCHAIN_API_TOKEN and FERROCHAIN_API_TOKEN_FILE are set",
        );
        refused(
            &[
                ("FERROCHAIN_DATA_DIR", data),
                ("FERROCHAIN_WALLET_PASSWORD_FILE", "/no/such/file"),
            ],
            "is not a readable file",
        );
        refused(
            &[("FERROCHAIN_DATA_DIR", under_a_file.to_str().unwrap())],
            "is not writable",
        );
    }
}

#[test]
fn the_health_check_asks_the_api_on_the_listen_port() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = fakes(tmp.path());
    for shell in shells() {
        let out = run(
            shell,
            &fake,
            &[("FERROCHAIN_LISTEN", "0.0.0.0:6123")],
            &["healthcheck"],
        );
        assert!(out.status.success());
        let got = lines(&out).join("\n");
        assert!(
            got.contains("http://127.0.0.1:6123/api/v1/status"),
            "{shell}: {got}"
        );
        let down = run(shell, &fake, &[("FAKE_HTTP_EXIT", "1")], &["healthcheck"]);
        assert_eq!(
            down.status.code(),
            Some(1),
            "{shell}: a failing probe fails"
        );
    }
}

/// The entry point with the real binary: a node that comes up from FERROCHAIN_* variables alone, and a
/// health check that passes against it (with the wget or curl installed here).
#[test]
fn the_entrypoint_starts_a_real_node_that_passes_the_health_check() {
    let tmp = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let data = tmp.path().join("data");
    let env = [
        ("FERROCHAIN_BIN", BIN),
        ("FERROCHAIN_LISTEN", listen.as_str()),
        ("FERROCHAIN_DATA_DIR", data.to_str().unwrap()),
        ("PATH", "/usr/local/bin:/usr/bin:/bin"),
    ];
    let mut node = Command::new("sh")
        .arg(entrypoint())
        .args(["--mine-threads", "1"])
        .env_clear()
        .envs(env)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let health = || {
        Command::new("sh")
            .arg(entrypoint())
            .arg("healthcheck")
            .env_clear()
            .envs(env)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
    };
    let start = Instant::now();
    let mut up = false;
    while start.elapsed() < Duration::from_secs(30) {
        if health() {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = node.kill();
    let _ = node.wait();
    assert!(up, "the node did not pass the health check within 30 s");
    assert!(data.join("chain.sqlite").exists());
    assert!(!health(), "the health check fails once the node is gone");
}

/// `${NAME:-default}` as Compose interpolates it with NAME unset.
fn interpolate(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let end = rest[i..].find('}').unwrap() + i;
        let inner = &rest[i + 2..end];
        out.push_str(inner.split_once(":-").map_or("", |(_, d)| d));
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Settings a container may set besides the node's own: read by the CLI or the entry point.
const EXTRA_VARIABLES: &[&str] = &["FERROCHAIN_LOG_FORMAT", "FERROCHAIN_BIN"];

fn assert_known_setting(name: &str) {
    let documented = Config::commented_toml();
    let base = name.strip_suffix("_FILE").unwrap_or(name);
    assert!(
        EXTRA_VARIABLES.contains(&name) || documented.contains(&format!("(env {base})")),
        "{name} is not a setting the node or the CLI reads"
    );
}

#[test]
fn compose_runs_postgres_and_three_nodes_that_reach_each_other() {
    let text = std::fs::read_to_string(repo().join("compose.yaml")).unwrap();
    let compose: Value = serde_yaml_ng::from_str(&text).unwrap();
    let services = compose["services"].as_object().unwrap();
    let nodes: BTreeMap<&String, &Value> = services
        .iter()
        .filter(|(_, s)| s["image"].as_str().unwrap_or("").starts_with("ferrochain"))
        .collect();
    assert_eq!(
        nodes.keys().map(|k| k.as_str()).collect::<Vec<_>>(),
        ["node1", "node2", "node3"]
    );
    let postgres = &services["postgres"];
    assert!(postgres["image"].as_str().unwrap().starts_with("postgres:"));
    assert!(postgres["healthcheck"]["test"].is_array());
    let pg_env = &postgres["environment"];
    let pg_user = pg_env["POSTGRES_USER"].as_str().unwrap();
    let pg_password = interpolate(pg_env["POSTGRES_PASSWORD"].as_str().unwrap());
    let init = std::fs::read_to_string(repo().join("docker/postgres-init.sql")).unwrap();
    assert!(
        postgres["volumes"].as_array().unwrap().iter().any(|v| v
            .as_str()
            .unwrap()
            .starts_with("./docker/postgres-init.sql:")),
        "the init script creates the node databases"
    );
    let declared_volumes = compose["volumes"].as_object().unwrap();

    let mut urls = BTreeMap::new();
    let mut configs = BTreeMap::new();
    let mut host_ports = Vec::new();
    for (name, service) in &nodes {
        assert_eq!(service["build"], ".", "{name} builds the image");
        assert_eq!(
            service["depends_on"]["postgres"]["condition"], "service_healthy",
            "{name} waits for PostgreSQL"
        );
        let env: BTreeMap<String, String> = service["environment"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), interpolate(v.as_str().unwrap())))
            .collect();
        env.keys().for_each(|k| assert_known_setting(k));
        // The image's own settings, then the service's: what the node reads.
        let mut config = Config::default();
        config
            .apply_env(|k| match k {
                "FERROCHAIN_LISTEN" => Some("0.0.0.0:5000".to_string()),
                "FERROCHAIN_DATA_DIR" => Some("/data".to_string()),
                _ => env.get(k).cloned(),
            })
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let database = config.database.clone().unwrap();
        let expected = format!("postgres://{pg_user}:{pg_password}@postgres:5432/{name}");
        assert_eq!(database, expected, "{name} has its own database");
        assert!(init.contains(&format!("CREATE DATABASE {name};")));
        assert_eq!(config.public_url(), format!("http://{name}:5000"));
        assert_eq!(service["hostname"], name.as_str());
        assert!(
            config.api_token.is_some(),
            "{name}: owner routes need a token from the host"
        );
        let ports = service["ports"].as_array().unwrap();
        let port = ports[0].as_str().unwrap();
        assert!(
            port.starts_with("127.0.0.1:") && port.ends_with(":5000"),
            "{port}"
        );
        host_ports.push(port.to_string());
        for v in service["volumes"].as_array().unwrap() {
            let volume = v.as_str().unwrap().split(':').next().unwrap();
            assert!(declared_volumes.contains_key(volume), "{volume}");
            assert!(v.as_str().unwrap().ends_with(":/data"));
        }
        urls.insert(name.to_string(), config.public_url());
        configs.insert(name.to_string(), config);
    }
    host_ports.sort();
    host_ports.dedup();
    assert_eq!(host_ports.len(), 3, "distinct host ports");
    assert!(configs["node1"].mine, "node1 mines");
    assert!(configs["node1"].peers.is_empty());
    assert_eq!(configs["node2"].peers, vec![urls["node1"].clone()]);
    assert_eq!(
        configs["node3"].peers,
        vec![urls["node1"].clone(), urls["node2"].clone()]
    );
}

#[test]
fn the_dockerfile_builds_in_stages_and_runs_unprivileged_with_a_volume_and_a_health_check() {
    let text = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    // Instructions with their continuation lines joined.
    let joined = text.replace("\\\n", " ");
    let instructions: Vec<(String, String)> = joined
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (op, rest) = l.split_once(' ').unwrap_or((l, ""));
            (op.to_uppercase(), rest.trim().to_string())
        })
        .collect();
    let all = |op: &str| -> Vec<&str> {
        instructions
            .iter()
            .filter(|(o, _)| o == op)
            .map(|(_, r)| r.as_str())
            .collect()
    };
    let froms = all("FROM");
    assert_eq!(froms.len(), 2, "a build stage and a runtime stage");
    assert!(froms[0].starts_with("rust:") && froms[0].ends_with(" AS build"));
    // The build stage's Rust is at least the workspace's rust-version.
    let workspace = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    let msrv = workspace
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .unwrap()
        .trim_matches('"');
    assert!(
        all("ARG").contains(&format!("RUST_VERSION={msrv}").as_str()),
        "the image builds with rust {msrv}"
    );
    assert!(
        all("RUN")
            .iter()
            .any(|r| r.contains("cargo build --release --locked -p ferrochain"))
    );
    assert!(
        all("COPY")
            .iter()
            .any(|c| c.starts_with("--from=build ") && c.ends_with("/usr/local/bin/ferrochain"))
    );

    // The runtime stage (everything after the second FROM).
    let runtime_user = all("USER");
    assert_eq!(runtime_user.len(), 1);
    let uid = runtime_user[0].split(':').next().unwrap();
    assert!(uid != "root" && uid != "0", "runs as a non-root user");
    assert!(
        all("RUN").iter().any(|r| r.contains(&format!("-u {uid}"))),
        "the user {uid} is created"
    );
    assert_eq!(all("VOLUME"), ["[\"/data\"]"]);
    let entry = all("ENTRYPOINT");
    assert_eq!(entry, ["[\"/usr/local/bin/entrypoint.sh\"]"]);
    assert!(
        all("COPY")
            .iter()
            .any(|c| c.ends_with("docker/entrypoint.sh /usr/local/bin/entrypoint.sh"))
    );
    let health = all("HEALTHCHECK");
    assert_eq!(health.len(), 1);
    assert!(health[0].contains("CMD [\"/usr/local/bin/entrypoint.sh\", \"healthcheck\"]"));

    // ENV sets known settings, and EXPOSE matches the listen port.
    let env = all("ENV").join(" ");
    let settings: BTreeMap<&str, &str> = env
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .collect();
    settings.keys().for_each(|k| assert_known_setting(k));
    assert_eq!(settings["FERROCHAIN_DATA_DIR"], "/data");
    let port = settings["FERROCHAIN_LISTEN"].rsplit(':').next().unwrap();
    assert_eq!(all("EXPOSE"), [port]);

    // The build context leaves out build output and local chains.
    let ignore = std::fs::read_to_string(repo().join(".dockerignore")).unwrap();
    for entry in ["target", "ferrochain-data", ".git"] {
        assert!(ignore.lines().any(|l| l == entry), "{entry} not ignored");
    }
}
