//! `ferrochain devnet` as a process: three nodes on consecutive ports, each answering its status and listing
//! the other two as peers, a line per node with its URL; SIGTERM to the devnet stops every node.
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod support;

use support::{BIN, free_base_port, get_blocking as get};

fn peers(url: &str) -> Vec<String> {
    get(&format!("{url}/p2p/v1/peers"))
        .map(|v| {
            v["peers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["url"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn devnet_starts_three_peered_nodes_and_sigterm_stops_them_all() {
    let dir = tempfile::tempdir().unwrap();
    let base = free_base_port(3);
    let mut devnet = Command::new(BIN)
        .args(["devnet", "--nodes", "3", "--base-port", &base.to_string()])
        .arg("--data-dir")
        .arg(dir.path())
        .env("FERROCHAIN_P2P_TARGET_PEERS", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let urls: Vec<String> = (0..3)
        .map(|i| format!("http://127.0.0.1:{}", base + i))
        .collect();
    let started = Instant::now();
    loop {
        let ready = urls.iter().all(|u| {
            let status = get(&format!("{u}/api/v1/status"));
            let mut listed = peers(u);
            listed.sort();
            let mut others: Vec<String> = urls.iter().filter(|o| *o != u).cloned().collect();
            others.sort();
            status.is_some() && listed == others
        });
        if ready {
            break;
        }
        if let Some(status) = devnet.try_wait().unwrap() {
            let mut err = String::new();
            devnet
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("devnet exited ({status}):\n{err}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the devnet did not come up"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Every data directory is separate.
    for i in 0..3 {
        assert!(
            dir.path()
                .join(format!("node-{i}"))
                .join("chain.sqlite")
                .exists()
        );
    }
    // Give the devnet a moment to print its table, then stop it with SIGTERM.
    std::thread::sleep(Duration::from_millis(500));
    let ok = Command::new("kill")
        .args(["-TERM", &devnet.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = devnet.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the devnet did not stop"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = String::new();
    devnet
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let mut err = String::new();
    devnet
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "{status}\n{out}\n{err}");
    for u in &urls {
        assert!(out.contains(u.as_str()), "{u} not printed:\n{out}");
        assert!(
            get(&format!("{u}/api/v1/status")).is_none(),
            "{u} still answers"
        );
    }
    assert!(out.contains("stopped 3 nodes"), "{out}");
    assert!(err.contains("starting node 3/3"), "{err}");
}
