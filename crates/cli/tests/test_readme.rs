//! The README cannot rot: every command in its fenced shell blocks (```` ``` ````, ```` ```sh ````) is listed
//! here, in order, with how it is run — and the test fails when the two lists differ. Runnable commands run
//! as written, with `bash`, in a fresh directory, against real node processes: the tour's ports
//! (5000–5005) become free ports, the PostgreSQL URL becomes a fresh database on the CI server, the
//! `ferrochain` on `PATH` is this build's binary, and the values the README tells readers to note
//! (`$MINER`, `$BOB`, …) are taken from the answers as a reader would. Commands that cannot run here say why.
//!
//! Also kept in sync: the configuration reference lists every setting and node flag, and the library
//! example is the `embed` module's doc-test.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod support;

use support::{BIN, free_port};

/// How a README command is run.
enum How {
    /// Run to completion: exit 0, and the output (stdout and stderr) contains each string.
    Run(&'static [&'static str]),
    /// As `Run`, then a value is taken from the output into a variable: `(variable, from)`, where `from` is a
    /// JSON pointer (`/data`) or `after:TEXT` (the word after TEXT).
    Note(
        &'static [&'static str],
        &'static [(&'static str, &'static str)],
    ),
    /// A node that keeps running: started in the background; the step waits for its API on the port the
    /// README gives (5000–5005).
    Serve(u16),
    /// `cargo run --release`: CI builds no release binary, so this build's `ferrochain` runs instead, with
    /// no arguments (the default command), in the work directory, on the port standing for 5000.
    CargoRunRelease,
    /// A stream: started in the background; a block is mined on the tour's node; the output must show it.
    Stream(&'static str),
    /// Stop the node of this README port, then `Run`.
    StopThenRun(u16, &'static [&'static str]),
    /// PostgreSQL steps: run only when `FERROCHAIN_TEST_POSTGRES_URL` names a server (CI has one).
    PgCreateDatabase,
    /// A node on PostgreSQL (see `Serve`).
    PgServe(u16),
    /// A command against the PostgreSQL node (see `Run`).
    PgRun(&'static [&'static str]),
    /// Not run, and why.
    Skip(&'static str),
}

use How::*;

/// Every command of the README, in order.
const STEPS: &[(&str, How)] = &[
    // The two commands.
    ("cargo run --release", CargoRunRelease),
    (
        "cargo test",
        Skip("this test runs inside `cargo test`, which is CI's test command"),
    ),
    // System A.
    (
        "curl http://127.0.0.1:5000/mine",
        Run(&["New Block Forged"]),
    ),
    (
        "curl http://127.0.0.1:5000/chain",
        Run(&["\"chain\"", "\"merkle_root\""]),
    ),
    (
        "curl http://127.0.0.1:5000/api/get_wallets",
        Note(&["\"data\""], &[("MINER", "/data/0/address")]),
    ),
    (
        "curl -X POST http://127.0.0.1:5000/api/new_wallet",
        Note(&["dev1"], &[("BOB", "/data")]),
    ),
    (
        "curl -X POST http://127.0.0.1:5000/transactions/new -d sender=$MINER -d recipient=$BOB -d amount=5",
        Run(&["Transaction will be added to Block"]),
    ),
    (
        "curl http://127.0.0.1:5000/mine",
        Run(&["New Block Forged"]),
    ),
    // System B.
    (
        "curl http://127.0.0.1:5000/client/wallet/new",
        Note(
            &["private_key"],
            &[
                ("CAROL", "/address"),
                ("CAROL_KEY", "/private_key"),
                ("CAROL_PK", "/public_key"),
            ],
        ),
    ),
    (
        "curl -X POST http://127.0.0.1:5000/api/mine_block -d address=$CAROL",
        Run(&["\"data\""]),
    ),
    (
        "curl -X POST http://127.0.0.1:5000/transactions/new -d sender=$CAROL -d recipient=$BOB -d amount=1",
        Run(&["holds no key", "/client/generate/transaction"]),
    ),
    (
        "curl -X POST http://127.0.0.1:5000/client/generate/transaction -o signed.json -d sender_address=$CAROL_PK -d sender_private_key=$CAROL_KEY -d recipient_address=$BOB -d amount=4",
        Run(&[]),
    ),
    (
        "curl -X POST http://127.0.0.1:5000/blockchain/transactions/new -H 'content-type: application/json' -d @signed.json",
        Run(&["Transaction will be added to Block"]),
    ),
    (
        "curl -X POST http://127.0.0.1:5000/blockchain/transactions/new -H 'content-type: application/json' -d @signed.json",
        Run(&["already waiting"]),
    ),
    (
        "curl -X POST http://127.0.0.1:5000/client/generate/transaction -d sender_address=$CAROL_PK -d sender_private_key=$CAROL_KEY -d recipient_address=$BOB -d amount=2",
        Note(
            &["\"sender_address\"", "\"value\":2"],
            &[("SIG", "/signature")],
        ),
    ),
    (
        "curl -X POST http://127.0.0.1:5000/blockchain/transactions/new -d sender_address=$CAROL -d recipient_address=$BOB -d amount=2 -d signature=$SIG",
        Run(&["Transaction will be added to Block"]),
    ),
    (
        "curl http://127.0.0.1:5000/blockchain/transactions/get",
        Run(&["\"transactions\"", "\"recipient_address\"", "\"value\":2"]),
    ),
    (
        "curl http://127.0.0.1:5000/blockchain/mine",
        Run(&["block_number"]),
    ),
    // System C.
    (
        "curl -X POST http://127.0.0.1:5000/new_transaction -d author=$MINER -d content='lot 7: inspected'",
        Run(&["Success"]),
    ),
    (
        "curl http://127.0.0.1:5000/pending_tx",
        Run(&["lot 7: inspected"]),
    ),
    (
        "curl 'http://127.0.0.1:5000/mine?format=text'",
        Run(&["is mined."]),
    ),
    ("curl http://127.0.0.1:5000/save", Run(&["Success: saved"])),
    // System D.
    (
        "curl -X POST http://127.0.0.1:5000/api/new_wallet",
        Note(&["dev1"], &[("W1", "/data")]),
    ),
    (
        "curl -X POST http://127.0.0.1:5000/api/new_wallet",
        Note(&["dev1"], &[("W2", "/data")]),
    ),
    (
        "curl -X POST http://127.0.0.1:5000/api/new_wallet",
        Note(&["dev1"], &[("W3", "/data")]),
    ),
    (
        "curl -X POST http://127.0.0.1:5000/api/mine_block -d address=$W1",
        Run(&["\"index\""]),
    ),
    (
        "curl -X POST http://127.0.0.1:5000/api/send -d from=$W1 -d to=$W2 -d amount=3",
        Run(&["Transaction is added to pool"]),
    ),
    (
        "curl -X POST http://127.0.0.1:5000/api/send -d from=$W1 -d to=$W3 -d amount=2",
        Run(&["Transaction is added to pool"]),
    ),
    (
        "curl http://127.0.0.1:5000/api/get_pool",
        Run(&["\"fee\":0"]),
    ),
    (
        "curl -X POST http://127.0.0.1:5000/api/mine_block -d address=$W2 -d txAmount=1",
        Run(&["\"data\""]),
    ),
    // The balances the README gives are checked in `the_readme_commands_run`.
    (
        "curl http://127.0.0.1:5000/api/get_wallets",
        Run(&["\"balance\""]),
    ),
    (
        "curl http://127.0.0.1:5000/api/get_chainstate",
        Run(&["\"serializedUnspentOutputs\""]),
    ),
    (
        "curl http://127.0.0.1:5000/api/get_blocks",
        Run(&["\"serializedBlock\""]),
    ),
    // REST API, events, metrics.
    (
        "curl http://127.0.0.1:5000/api/v1/status",
        Run(&["\"height\""]),
    ),
    (
        r#"curl -X POST http://127.0.0.1:5000/api/v1/mine -H 'content-type: application/json' -d '{"blocks":3}'"#,
        Run(&["\"blocks\""]),
    ),
    (
        "curl http://127.0.0.1:5000/api/v1/blocks/3",
        Run(&["\"height\":3"]),
    ),
    (
        "curl http://127.0.0.1:5000/api/v1/addresses/$BOB",
        Run(&["\"balance\""]),
    ),
    (
        "curl -N http://127.0.0.1:5000/api/v1/events",
        Stream("event: block"),
    ),
    (
        "curl http://127.0.0.1:5000/metrics",
        Run(&[
            "ferrochain_chain_height",
            "ferrochain_http_request_duration_seconds",
        ]),
    ),
    // The CLI wallet (password from FERROCHAIN_PASSWORD, node from FERROCHAIN_NODE).
    (
        "ferrochain wallet new",
        Note(&["address: "], &[("ME", "after:address: ")]),
    ),
    (
        "curl -X POST http://127.0.0.1:5000/api/mine_block -d address=$ME",
        Run(&["\"data\""]),
    ),
    ("ferrochain wallet balance", Run(&["10"])),
    (
        "ferrochain wallet send --to $BOB --amount 1.5",
        Run(&["sent 1.5"]),
    ),
    (
        r#"ferrochain wallet record --content "lot 7: inspected""#,
        Note(&["record signed by"], &[("TXID", "after:transaction ")]),
    ),
    (
        "curl http://127.0.0.1:5000/mine",
        Run(&["New Block Forged"]),
    ),
    ("ferrochain wallet history", Run(&[])),
    (
        "ferrochain wallet verify-record --txid $TXID",
        Run(&["record proof verified offline"]),
    ),
    // Three nodes.
    (
        "ferrochain devnet --nodes 3 --mine",
        Skip(
            "a long-running command (N node processes until Ctrl-C); crates/cli/tests/test_devnet.rs runs it and checks the nodes peer and stop",
        ),
    ),
    (
        "ferrochain node --listen 127.0.0.1:5001 --data-dir node-b --mine --mine-threads 1",
        Serve(5001),
    ),
    (
        "ferrochain node --listen 127.0.0.1:5002 --data-dir node-c --peer http://127.0.0.1:5001",
        Serve(5002),
    ),
    (
        r#"curl -X POST http://127.0.0.1:5000/nodes/register -H 'content-type: application/json' -d '{"nodes":["127.0.0.1:5001"]}'"#,
        Run(&["New nodes have been added"]),
    ),
    (
        "curl http://127.0.0.1:5000/nodes/resolve",
        Run(&["Our chain"]),
    ),
    (
        "curl -X POST http://127.0.0.1:5002/register_with -d node_address=http://127.0.0.1:5000",
        Run(&["Registration successful"]),
    ),
    (
        "curl http://127.0.0.1:5002/api/v1/peers",
        Run(&["127.0.0.1"]),
    ),
    (
        r#"ferrochain node --listen 0.0.0.0:5000 --public-url http://192.168.1.10:5000 --mine --api-token "$TOKEN""#,
        Skip("needs several machines; the same flags on one machine are run above"),
    ),
    (
        r#"ferrochain node --listen 0.0.0.0:5000 --public-url http://192.168.1.11:5000 --peer http://192.168.1.10:5000 --api-token "$TOKEN""#,
        Skip("needs several machines; the same flags on one machine are run above"),
    ),
    // A private network.
    ("ferrochain chain spec lab > class.toml", Run(&[])),
    (
        r#"sed -i.bak 's/^name = "lab"/name = "class"/' class.toml"#,
        Run(&[]),
    ),
    (
        "ferrochain chain genesis class.toml",
        Run(&["network:      class"]),
    ),
    (
        "FERROCHAIN_WALLET_PASSWORD=classroom ferrochain node --network class.toml --listen 127.0.0.1:5003 --data-dir class-a",
        Serve(5003),
    ),
    // PostgreSQL.
    (
        "psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE ferrochain'",
        PgCreateDatabase,
    ),
    (
        "ferrochain node --database postgres://postgres@127.0.0.1:5432/ferrochain --listen 127.0.0.1:5004 --data-dir pg-node",
        PgServe(5004),
    ),
    (
        "curl http://127.0.0.1:5004/api/v1/mine -X POST",
        PgRun(&["\"blocks\""]),
    ),
    // Chain tools.
    (
        "ferrochain chain verify --data-dir node-b",
        StopThenRun(5001, &["ok: ", "re-validated from genesis"]),
    ),
    (
        "ferrochain chain export backup.blk --data-dir node-b",
        Run(&["exported"]),
    ),
    (
        "ferrochain chain import backup.blk --data-dir node-d",
        Run(&["new; tip height"]),
    ),
    // Library use.
    (
        "cargo run --example embed",
        Skip(
            "tests/test_embed_example.rs (ferrochain-node) runs the example's own code and checks its balances",
        ),
    ),
    // Containers.
    (
        "docker build -t ferrochain .",
        Skip(
            "no Docker engine on our machines; tests/test_containers.rs checks the Dockerfile, compose.yaml and the entry point",
        ),
    ),
    (
        "docker run --rm -p 5000:5000 -v ferrochain-data:/data -e FERROCHAIN_API_TOKEN=change-me ferrochain --mine",
        Skip(
            "no Docker engine on our machines; tests/test_containers.rs runs the entry point with this build's binary",
        ),
    ),
    (
        "FERROCHAIN_API_TOKEN=change-me docker compose up --build",
        Skip(
            "no Docker engine on our machines; tests/test_containers.rs checks the services' settings",
        ),
    ),
    // Configuration.
    ("ferrochain node init-config > node.toml", Run(&[])),
    (
        "FERROCHAIN_MINE_INTERVAL_SECS=5 ferrochain node --config node.toml --listen 127.0.0.1:5005 --data-dir node-e",
        Serve(5005),
    ),
];

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md")).unwrap()
}

/// Cuts a shell comment: a `#` that starts a word outside quotes.
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' && prev.is_whitespace() => return &line[..i],
            None => {}
        }
        prev = c;
    }
    line
}

/// The commands of the fenced shell blocks (no language, `sh`, `bash`, `shell`, `console`), continuation
/// lines joined, comments cut.
fn readme_commands(text: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut in_block = false;
    let mut shell = false;
    let mut pending = String::new();
    for line in text.lines() {
        if let Some(info) = line.strip_prefix("```") {
            if !in_block {
                shell = matches!(info.trim(), "" | "sh" | "bash" | "shell" | "console");
            }
            in_block = !in_block;
            continue;
        }
        if !in_block || !shell {
            continue;
        }
        let line = if pending.is_empty() {
            line.to_string()
        } else {
            format!("{} {}", std::mem::take(&mut pending), line.trim())
        };
        if let Some(head) = line.trim_end().strip_suffix('\\') {
            pending = head.trim_end().to_string();
            continue;
        }
        let command = strip_comment(&line).trim();
        if !command.is_empty() {
            commands.push(command.to_string());
        }
    }
    commands
}

#[test]
fn every_readme_command_is_listed_here() {
    let found = readme_commands(&readme());
    let listed: Vec<&str> = STEPS.iter().map(|(c, _)| *c).collect();
    for (i, (f, l)) in found.iter().zip(&listed).enumerate() {
        assert_eq!(
            f, l,
            "README command {i} differs from the list in this test: update STEPS"
        );
    }
    assert_eq!(
        found.len(),
        listed.len(),
        "the README has {} commands, this test lists {}: update STEPS",
        found.len(),
        listed.len()
    );
}

/// Processes started by the test, killed when it ends.
struct Processes(BTreeMap<u16, Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in self.0.values_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The test's world: where commands run, the port map, the variables noted so far.
struct Tour {
    dir: PathBuf,
    path: String,
    ports: BTreeMap<u16, u16>,
    vars: BTreeMap<String, String>,
    postgres: Option<(String, String)>,
    nodes: Processes,
}

impl Tour {
    fn port(&self, readme_port: u16) -> u16 {
        self.ports[&readme_port]
    }

    /// The command with this run's ports and database.
    fn substitute(&self, command: &str) -> String {
        let mut c = command.to_string();
        for (from, to) in &self.ports {
            c = c.replace(&format!("127.0.0.1:{from}"), &format!("127.0.0.1:{to}"));
        }
        if let Some((_, url)) = &self.postgres {
            c = c.replace("postgres://postgres@127.0.0.1:5432/ferrochain", url);
        }
        c
    }

    fn command(&self, command: &str) -> Command {
        let mut cmd = Command::new("bash");
        cmd.arg("-c")
            .arg(self.substitute(command))
            .current_dir(&self.dir)
            .env("PATH", &self.path)
            .env("FERROCHAIN_PASSWORD", "readme-password")
            .env(
                "FERROCHAIN_NODE",
                format!("http://127.0.0.1:{}", self.port(5000)),
            )
            .env_remove("FERROCHAIN_LOG_FORMAT")
            .envs(&self.vars);
        cmd
    }

    /// Runs to completion (60 s at most): exit 0 and `expect` in stdout or stderr. Returns stdout.
    fn run(&self, command: &str, expect: &[&str]) -> String {
        let child = self
            .command(command)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(child.wait_with_output()));
        let Ok(output) = rx.recv_timeout(Duration::from_secs(60)) else {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("{command}: still running after 60 s");
        };
        let output = output.unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        let all = format!("{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
        assert!(
            output.status.success(),
            "{command}: {}\n{all}",
            output.status
        );
        for e in expect {
            assert!(all.contains(e), "{command}: no {e:?} in\n{all}");
        }
        stdout
    }

    /// A long-running command, with `bash` replaced by it (`exec`) so that stopping the process stops it;
    /// leading `NAME=value` assignments become its environment.
    fn exec(&self, command: &str) -> Command {
        let mut assignments = Vec::new();
        let mut rest = command;
        while let Some((word, tail)) = rest.split_once(' ') {
            match word.split_once('=') {
                Some((name, value)) if name.chars().all(|c| c.is_ascii_uppercase() || c == '_') => {
                    assignments.push((name.to_string(), value.to_string()));
                    rest = tail;
                }
                _ => break,
            }
        }
        let mut cmd = self.command(&format!("exec {rest}"));
        cmd.envs(assignments);
        cmd
    }

    fn wait_up(&mut self, command: &str, port: u16) {
        let start = Instant::now();
        let url = format!("http://127.0.0.1:{port}/api/v1/status");
        loop {
            let ok = Command::new("curl")
                .args(["-sf", "-o", "/dev/null", &url])
                .status()
                .unwrap()
                .success();
            if ok {
                return;
            }
            let exited = self
                .nodes
                .0
                .values_mut()
                .any(|c| c.try_wait().unwrap().is_some());
            let log = std::fs::read_to_string(self.dir.join(format!("node-{port}.log")))
                .unwrap_or_default();
            assert!(!exited, "{command}: the node exited\n{log}");
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{command}: no answer on {port} within 60 s\n{log}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn serve(&mut self, command: &str, readme_port: u16, mut cmd: Command) {
        let port = self.port(readme_port);
        let log = std::fs::File::create(self.dir.join(format!("node-{port}.log"))).unwrap();
        let child = cmd.stdout(Stdio::null()).stderr(log).spawn().unwrap();
        self.nodes.0.insert(readme_port, child);
        self.wait_up(command, port);
    }

    fn stop(&mut self, readme_port: u16) {
        let mut child = self.nodes.0.remove(&readme_port).unwrap();
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let start = Instant::now();
        while child.try_wait().unwrap().is_none() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the node did not stop"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn note(&mut self, out: &str, notes: &[(&str, &str)]) {
        for (var, from) in notes {
            let value = match from.strip_prefix("after:") {
                Some(marker) => out
                    .split(marker)
                    .nth(1)
                    .and_then(|rest| rest.split_whitespace().next())
                    .map(String::from),
                None => serde_json::from_str::<serde_json::Value>(out)
                    .ok()
                    .and_then(|v| v.pointer(from).and_then(|x| x.as_str()).map(String::from)),
            };
            let value = value.unwrap_or_else(|| panic!("no {from} for ${var} in\n{out}"));
            self.vars.insert(var.to_string(), value);
        }
    }

    fn balance(&self, address_var: &str) -> String {
        let out = self.run("curl -s http://127.0.0.1:5000/api/get_wallets", &[]);
        let wallets: serde_json::Value = serde_json::from_str(&out).unwrap();
        let address = &self.vars[address_var];
        let entry = wallets["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["address"] == address.as_str())
            .unwrap_or_else(|| panic!("{address_var} not in {out}"));
        entry["balance"].to_string()
    }
}

/// The test server's URL with another database name.
fn with_database(url: &str, name: &str) -> String {
    let base = url.split('?').next().unwrap_or(url);
    let (server, _) = base.rsplit_once('/').unwrap();
    format!("{server}/{name}")
}

#[test]
fn the_readme_commands_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("work");
    let bin_dir = tmp.path().join("bin");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&bin_dir).unwrap();
    std::os::unix::fs::symlink(BIN, bin_dir.join("ferrochain")).unwrap();
    assert!(
        Command::new("curl").arg("--version").output().is_ok(),
        "the README's commands use curl: install it (.ci/run does)"
    );
    let postgres = std::env::var("FERROCHAIN_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .map(|url| {
            let name = format!("ferrochain_readme_{}", std::process::id());
            let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
                .unwrap();
            admin
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .unwrap();
            (url.clone(), with_database(&url, &name))
        });
    let mut tour = Tour {
        dir,
        path: format!(
            "{}:{}",
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        ),
        ports: (5000..=5005).map(|p| (p, free_port())).collect(),
        vars: BTreeMap::new(),
        postgres,
        nodes: Processes(BTreeMap::new()),
    };
    let mut skipped = Vec::new();
    for (command, how) in STEPS {
        match how {
            Run(expect) => {
                tour.run(command, expect);
            }
            Note(expect, notes) => {
                let out = tour.run(command, expect);
                tour.note(&out, notes);
            }
            Serve(port) => {
                let cmd = tour.exec(command);
                tour.serve(command, *port, cmd);
            }
            CargoRunRelease => {
                let mut cmd = Command::new(BIN);
                cmd.current_dir(&tour.dir)
                    .env(
                        "FERROCHAIN_LISTEN",
                        format!("127.0.0.1:{}", tour.port(5000)),
                    )
                    .env("FERROCHAIN_MINE_THREADS", "1");
                tour.serve(command, 5000, cmd);
                assert!(tour.dir.join("ferrochain-data/chain.sqlite").exists());
                let home = tour.run("curl -s http://127.0.0.1:5000/", &[]);
                assert!(home.contains("<html"), "the web UI: {home}");
            }
            Stream(expect) => {
                let mut child = tour
                    .command(command)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
                std::thread::sleep(Duration::from_millis(500));
                tour.run(
                    "curl -s -X POST http://127.0.0.1:5000/api/v1/mine",
                    &["\"blocks\""],
                );
                // Read until the event shows (curl -N prints as it receives), then stop the stream.
                let mut stdout = child.stdout.take().unwrap();
                let reader = std::thread::spawn(move || {
                    let mut seen = Vec::new();
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = stdout.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        seen.extend_from_slice(&buf[..n]);
                        if String::from_utf8_lossy(&seen).contains(expect) {
                            break;
                        }
                    }
                    String::from_utf8_lossy(&seen).to_string()
                });
                let start = Instant::now();
                while !reader.is_finished() && start.elapsed() < Duration::from_secs(15) {
                    std::thread::sleep(Duration::from_millis(20));
                }
                let _ = child.kill();
                let _ = child.wait();
                let seen = reader.join().unwrap();
                assert!(seen.contains(expect), "{command}: no {expect:?} in\n{seen}");
            }
            StopThenRun(port, expect) => {
                tour.stop(*port);
                tour.run(command, expect);
            }
            PgCreateDatabase | PgServe(_) | PgRun(_) if tour.postgres.is_none() => {
                skipped.push(format!(
                    "{command}  (FERROCHAIN_TEST_POSTGRES_URL is not set: no PostgreSQL server)"
                ));
            }
            PgCreateDatabase => {} // done above, on the test server, under this run's own name
            PgServe(port) => {
                let cmd = tour.exec(command);
                tour.serve(command, *port, cmd);
            }
            PgRun(expect) => {
                tour.run(command, expect);
            }
            Skip(reason) => skipped.push(format!("{command}  ({reason})")),
        }
        // The balances the README states after system D's block.
        if command.contains("txAmount=1") {
            assert_eq!(tour.balance("W1"), "7");
            assert_eq!(tour.balance("W2"), "13");
            assert_eq!(tour.balance("W3"), "0");
        }
    }
    let stopped: Vec<u16> = tour.nodes.0.keys().copied().collect();
    for port in stopped {
        tour.stop(port);
    }
    if let Some((admin_url, url)) = &tour.postgres {
        let name = url.rsplit('/').next().unwrap();
        let mut admin = postgres::Client::connect(admin_url, postgres::NoTls).unwrap();
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .unwrap();
    }
    println!("README commands not run:");
    for s in &skipped {
        println!("  {s}");
    }
}

#[test]
fn the_configuration_reference_lists_every_setting_and_flag() {
    let text = readme();
    let section = text
        .split("## Configuration reference")
        .nth(1)
        .unwrap()
        .split("\n## ")
        .next()
        .unwrap();
    let config = ferrochain_node::Config::commented_toml();
    for line in config.lines().filter(|l| l.contains("(env FERROCHAIN_")) {
        let var = line.split("(env ").nth(1).unwrap().trim_end_matches(')');
        assert!(
            section.contains(&format!("`{var}`")),
            "{var} is not in the reference"
        );
    }
    let help = Command::new(BIN).args(["node", "--help"]).output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    for flag in help
        .split_whitespace()
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| w.trim_end_matches(|c: char| !c.is_alphanumeric()))
    {
        if ["--help", "--log-format"].contains(&flag) {
            continue;
        }
        assert!(
            section.contains(&format!("`{flag}`")),
            "{flag} is not in the reference"
        );
    }
    assert!(section.contains("--log-format"));
}

#[test]
fn the_library_example_is_the_embed_doc_test() {
    let text = readme();
    let section = text.split("## Library use").nth(1).unwrap();
    let snippet = section
        .split("```rust\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let source =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../node/src/embed.rs"))
            .unwrap();
    let doc: String = source
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    let doc_test = doc
        .split("```\n")
        .nth(1)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("# ") && *l != "#")
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(
        snippet.trim(),
        doc_test.trim(),
        "the README's library example must be the doc-test of ferrochain_node::embed"
    );
}
