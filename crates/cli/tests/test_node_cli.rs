//! `ferrochain node` as a process: SIGTERM and Ctrl-C (SIGINT) stop a mining node within a second with the
//! chain kept; settings come from defaults < config file < `FERROCHAIN_*` environment < flags; `init-config`
//! prints a file that reads back.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod support;

use support::{BIN, free_port, get_blocking, url_of};

fn status(port: u16) -> Option<serde_json::Value> {
    get_blocking(&format!("{}/api/v1/status", url_of(port)))
}

fn wait_up(port: u16) -> serde_json::Value {
    let start = Instant::now();
    loop {
        if let Some(s) = status(port) {
            return s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the node did not come up on {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn node(dir: &Path, args: &[&str]) -> Child {
    Command::new(BIN)
        .arg("node")
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// Waits for the process to exit; returns how long it took.
fn wait_exit(child: &mut Child) -> (Duration, std::process::ExitStatus) {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (start.elapsed(), status);
        }
        if start.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("the node did not stop within 10 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn sigterm_and_ctrl_c_stop_a_mining_node_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    for sig in ["-TERM", "-INT"] {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut child = node(
            dir.path(),
            &["--listen", &listen, "--mine", "--mine-threads", "1"],
        );
        wait_up(port);
        // Let it mine a few blocks, then stop it in the middle of searching the next.
        let start = Instant::now();
        while status(port).unwrap()["height"].as_u64().unwrap() < 3 {
            assert!(start.elapsed() < Duration::from_secs(30), "no blocks mined");
            std::thread::sleep(Duration::from_millis(50));
        }
        let height = status(port).unwrap()["height"].as_u64().unwrap();
        signal(&child, sig);
        let (took, exit) = wait_exit(&mut child);
        assert!(exit.success(), "{sig}: exit {exit}");
        assert!(took < Duration::from_secs(1), "{sig}: took {took:?}");
        // Everything connected before the signal is still there.
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut again = node(dir.path(), &["--listen", &listen]);
        assert!(wait_up(port)["height"].as_u64().unwrap() >= height);
        signal(&again, "-TERM");
        assert!(wait_exit(&mut again).1.success());
    }
}

#[test]
fn flags_override_environment_override_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let init = Command::new(BIN)
        .args(["node", "init-config"])
        .output()
        .unwrap();
    assert!(init.status.success());
    let text = String::from_utf8(init.stdout).unwrap();
    assert!(
        text.contains("listen = \"127.0.0.1:5000\"") && text.contains("FERROCHAIN_MINE_THREADS"),
        "{text}"
    );
    let (p_file, p_env, p_flag) = (free_port(), free_port(), free_port());
    let config = dir.path().join("node.toml");
    std::fs::write(
        &config,
        text.replace("127.0.0.1:5000", &format!("127.0.0.1:{p_file}")),
    )
    .unwrap();
    let run = |env: Option<u16>, flag: Option<u16>| {
        let mut cmd = Command::new(BIN);
        cmd.arg("node")
            .arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(dir.path().join("data"));
        if let Some(p) = env {
            cmd.env("FERROCHAIN_LISTEN", format!("127.0.0.1:{p}"));
        }
        if let Some(p) = flag {
            cmd.arg("--listen").arg(format!("127.0.0.1:{p}"));
        }
        cmd.stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    for (env, flag, expected) in [
        (None, None, p_file),
        (Some(p_env), None, p_env),
        (Some(p_env), Some(p_flag), p_flag),
    ] {
        let mut child = run(env, flag);
        wait_up(expected);
        signal(&child, "-TERM");
        assert!(wait_exit(&mut child).1.success());
    }
    // A bad setting is refused with a message, not a crash.
    let bad = Command::new(BIN)
        .args(["node", "--network", "nowhere.toml", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("nowhere.toml"));
}
