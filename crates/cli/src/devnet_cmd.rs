//! `ferrochain devnet`: N peered nodes on consecutive loopback ports in one command, for a classroom or a test
//! (DESIGN §5). Each node is a child process of this binary (`ferrochain node ...`) with its own data
//! directory and log file; they are started one after the other, each given the previous one as a peer (ring,
//! line or mesh), and the command prints a line per node with its URL. Ctrl-C (or SIGTERM) stops them all.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// How the nodes are peered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Topology {
    /// Each node with its two neighbours, the last with the first.
    Ring,
    /// Each node with the one before it.
    Line,
    /// Every node with every other.
    Mesh,
}

/// `ferrochain devnet` options.
#[derive(Debug, clap::Args)]
pub struct DevnetArgs {
    /// How many nodes (1 to 64).
    #[arg(long, default_value_t = 3, value_name = "N")]
    nodes: usize,
    /// Port of the first node; node i listens on 127.0.0.1:(P + i).
    #[arg(long, default_value_t = 5001, value_name = "P")]
    base_port: u16,
    /// Mine: the first node (or the first --miners nodes) mines a block every --mine-interval seconds.
    #[arg(long)]
    mine: bool,
    /// With --mine: how many nodes mine.
    #[arg(long, default_value_t = 1, value_name = "N")]
    miners: usize,
    /// With --mine: seconds between blocks on each miner (0: as fast as the difficulty allows).
    #[arg(long, default_value_t = 2, value_name = "SECONDS")]
    mine_interval: u64,
    /// The network: dev, lab, or a chain spec TOML file.
    #[arg(long, default_value = "dev", value_name = "dev|lab|FILE")]
    network: String,
    /// Directory for the nodes' data (node-0, node-1, ...) and logs (node-0.log, ...); a second run on the
    /// same directory continues the same chains.
    #[arg(long, default_value = "ferrochain-devnet", value_name = "DIR")]
    data_dir: PathBuf,
    /// How the nodes are peered.
    #[arg(long, value_enum, default_value_t = Topology::Ring)]
    topology: Topology,
}

/// Most nodes one devnet starts.
const MAX_NODES: usize = 64;
/// How long a node may take to answer after it was started.
const START_LIMIT: Duration = Duration::from_secs(60);
/// How long the nodes may take to list the peers they were given.
const PEERING_LIMIT: Duration = Duration::from_secs(15);
/// How long a node may take to stop after SIGTERM before it is killed.
const STOP_LIMIT: Duration = Duration::from_secs(10);
/// The keystore password of devnet nodes on networks other than `dev`, unless FERROCHAIN_WALLET_PASSWORD is
/// set.
const DEFAULT_PASSWORD: &str = "devnet";

/// One node of the devnet.
struct Member {
    index: usize,
    url: String,
    data: PathBuf,
    log: PathBuf,
    peers: Vec<String>,
    mining: bool,
    child: Option<Child>,
}

/// The running nodes; dropping it stops them all.
struct Devnet {
    members: Vec<Member>,
}

impl Drop for Devnet {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Devnet {
    /// SIGTERM to every node still running, then waits; a node that does not stop in time is killed.
    fn stop(&mut self) -> usize {
        let mut stopped = 0;
        for m in &mut self.members {
            if let Some(child) = &mut m.child {
                terminate(child);
            }
        }
        let deadline = Instant::now() + STOP_LIMIT;
        for m in &mut self.members {
            let Some(mut child) = m.child.take() else {
                continue;
            };
            loop {
                match child.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(20))
                    }
                    _ => {
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                }
            }
            stopped += 1;
        }
        stopped
    }
}

/// Asks a child to stop (SIGTERM on Unix; killed elsewhere).
fn terminate(child: &mut Child) {
    #[cfg(unix)]
    {
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if sent {
            return;
        }
    }
    let _ = child.kill();
}

/// The peers node `i` of `n` is started with, by topology.
fn peers_of(i: usize, n: usize, topology: Topology) -> Vec<usize> {
    match topology {
        Topology::Line => (i > 0).then(|| i - 1).into_iter().collect(),
        Topology::Ring => {
            let mut p: Vec<usize> = (i > 0).then(|| i - 1).into_iter().collect();
            if i == n - 1 && n > 2 {
                p.push(0);
            }
            p
        }
        Topology::Mesh => (0..i).collect(),
    }
}

/// The peers node `i` should list once everyone is up (it also learns those that name it).
fn expected_peers(i: usize, n: usize, topology: Topology) -> Vec<usize> {
    let mut p: Vec<usize> = (0..n)
        .filter(|&j| {
            j != i
                && (peers_of(i, n, topology).contains(&j) || peers_of(j, n, topology).contains(&i))
        })
        .collect();
    p.sort_unstable();
    p
}

/// The last lines of a log, to show why a node did not start.
fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}

/// Shows progress on one line when stderr is a terminal, a line per step otherwise.
struct Progress {
    tty: bool,
}

impl Progress {
    fn show(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r\x1b[2K{text}");
        } else {
            let _ = writeln!(err, "{text}");
        }
        let _ = err.flush();
    }

    fn done(&self) {
        if self.tty {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}

/// Ctrl-C and SIGTERM, listened to from the moment this is made (so a signal during start-up is not lost).
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> anyhow::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// Completes on the next Ctrl-C or SIGTERM.
    async fn recv(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.term.recv() => {},
            _ = self.int.recv() => {},
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// `GET url/path` as JSON, with a short time limit.
async fn get_json(client: &reqwest::Client, url: &str, path: &str) -> Option<serde_json::Value> {
    let r = client
        .get(format!("{url}{path}"))
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .ok()?;
    if !r.status().is_success() {
        return None;
    }
    r.json().await.ok()
}

/// Starts the nodes one after the other, each once the one before answers, then waits until each lists the
/// peers it was given (or that named it); returns how many do.
async fn start_all(
    devnet: &mut Devnet,
    args: &DevnetArgs,
    exe: &Path,
    client: &reqwest::Client,
    progress: &Progress,
) -> anyhow::Result<usize> {
    let n = devnet.members.len();
    let password_needed =
        args.network != "dev" && std::env::var_os("FERROCHAIN_WALLET_PASSWORD").is_none();
    for m in &mut devnet.members {
        progress.show(&format!(
            "starting node {}/{n} on {} ...",
            m.index + 1,
            m.url
        ));
        let log = std::fs::File::create(&m.log)
            .with_context(|| format!("creating {}", m.log.display()))?;
        let mut command = Command::new(exe);
        command
            .arg("node")
            .args(["--listen", m.url.trim_start_matches("http://")])
            .arg("--data-dir")
            .arg(&m.data)
            .args(["--network", &args.network, "--mine-threads", "1"]);
        for p in &m.peers {
            command.args(["--peer", p]);
        }
        if m.mining {
            command.args(["--mine", "--mine-interval", &args.mine_interval.to_string()]);
        }
        if password_needed {
            command.env("FERROCHAIN_WALLET_PASSWORD", DEFAULT_PASSWORD);
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", exe.display()))?;
        m.child = Some(child);
        let started = Instant::now();
        loop {
            if let Some(child) = &mut m.child
                && let Ok(Some(status)) = child.try_wait()
            {
                m.child = None;
                progress.done();
                bail!(
                    "node {} exited ({status}) while starting; the end of {}:\n{}",
                    m.index,
                    m.log.display(),
                    log_tail(&m.log)
                );
            }
            if get_json(client, &m.url, "/api/v1/status").await.is_some() {
                break;
            }
            if started.elapsed() > START_LIMIT {
                progress.done();
                bail!(
                    "node {} did not answer within {START_LIMIT:?}; the end of {}:\n{}",
                    m.index,
                    m.log.display(),
                    log_tail(&m.log)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let started = Instant::now();
    let mut peered = 0;
    while peered < n && started.elapsed() < PEERING_LIMIT {
        peered = 0;
        for m in &devnet.members {
            let listed: Vec<String> = get_json(client, &m.url, "/p2p/v1/peers")
                .await
                .and_then(|v| {
                    v["peers"].as_array().map(|a| {
                        a.iter()
                            .filter_map(|p| p["url"].as_str().map(str::to_string))
                            .collect()
                    })
                })
                .unwrap_or_default();
            let expected = expected_peers(m.index, n, args.topology);
            if expected
                .iter()
                .all(|&j| listed.iter().any(|u| *u == devnet_url(args.base_port, j)))
            {
                peered += 1;
            }
        }
        progress.show(&format!("peering: {peered}/{n} nodes list their peers ..."));
        if peered < n {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    progress.done();
    Ok(peered)
}

/// The URL of node `i`.
fn devnet_url(base_port: u16, i: usize) -> String {
    format!("http://127.0.0.1:{}", usize::from(base_port) + i)
}

/// Runs `ferrochain devnet` until Ctrl-C or SIGTERM; returns what to print at the end.
///
/// # Errors
/// Bad options, a port in use, a node that does not start (its log is shown).
pub fn run(args: &DevnetArgs) -> anyhow::Result<String> {
    let n = args.nodes;
    if !(1..=MAX_NODES).contains(&n) {
        bail!("--nodes {n}: start 1 to {MAX_NODES} nodes");
    }
    let last = usize::from(args.base_port) + n - 1;
    if args.base_port == 0 || last > usize::from(u16::MAX) {
        bail!(
            "--base-port {}: ports {}..={last} are not all valid ports",
            args.base_port,
            args.base_port
        );
    }
    for i in 0..n {
        let port = args.base_port + i as u16;
        std::net::TcpListener::bind(("127.0.0.1", port)).with_context(|| {
            format!("port {port} (node {i}) is in use: choose another --base-port")
        })?;
    }
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating {}", args.data_dir.display()))?;
    let exe = std::env::current_exe().context("finding this program to start the nodes")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let url = |i: usize| devnet_url(args.base_port, i);
    let mut devnet = Devnet {
        members: (0..n)
            .map(|i| Member {
                index: i,
                url: url(i),
                data: args.data_dir.join(format!("node-{i}")),
                log: args.data_dir.join(format!("node-{i}.log")),
                peers: peers_of(i, n, args.topology).into_iter().map(url).collect(),
                mining: args.mine && i < args.miners.max(1),
                child: None,
            })
            .collect(),
    };
    let progress = Progress {
        tty: std::io::stderr().is_terminal(),
    };
    eprintln!(
        "devnet: {n} nodes on network {} ({} topology), data in {}",
        args.network,
        format!("{:?}", args.topology).to_lowercase(),
        args.data_dir.display()
    );
    runtime.block_on(async {
        let mut signals = Signals::new()?;
        let client = reqwest::Client::builder().no_proxy().build()?;
        let peered = tokio::select! {
            started = start_all(&mut devnet, args, &exe, &client, &progress) => started?,
            () = signals.recv() => {
                progress.done();
                eprintln!("interrupted while starting");
                return anyhow::Ok(());
            }
        };
        let mut out = std::io::stdout().lock();
        for m in &devnet.members {
            let peers: Vec<String> = expected_peers(m.index, n, args.topology)
                .into_iter()
                .map(|j| format!("node-{j}"))
                .collect();
            writeln!(
                out,
                "node-{:<3} {:<24} peers: {:<20} data: {}  log: {}{}",
                m.index,
                m.url,
                if peers.is_empty() {
                    "-".to_string()
                } else {
                    peers.join(",")
                },
                m.data.display(),
                m.log.display(),
                if m.mining { "  (mining)" } else { "" }
            )?;
        }
        if peered < n {
            writeln!(
                out,
                "note: only {peered} of {n} nodes list all their peers so far; see the logs"
            )?;
        }
        writeln!(out, "devnet up: {n} nodes. Ctrl-C stops them all.")?;
        out.flush()?;
        drop(out);
        // Run until a signal; report nodes that stop on their own.
        let mut check = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                () = signals.recv() => break,
                _ = check.tick() => {
                    for m in &mut devnet.members {
                        if let Some(child) = &mut m.child
                            && let Ok(Some(status)) = child.try_wait()
                        {
                            eprintln!("node-{} exited ({status}); see {}", m.index, m.log.display());
                            m.child = None;
                        }
                    }
                    if devnet.members.iter().all(|m| m.child.is_none()) {
                        bail!("every node has exited");
                    }
                }
            }
        }
        anyhow::Ok(())
    })?;
    eprintln!("stopping ...");
    let stopped = devnet.stop();
    Ok(format!("stopped {stopped} nodes\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topologies_name_the_right_peers() {
        assert_eq!(peers_of(0, 4, Topology::Ring), Vec::<usize>::new());
        assert_eq!(peers_of(3, 4, Topology::Ring), vec![2, 0]);
        assert_eq!(expected_peers(0, 4, Topology::Ring), vec![1, 3]);
        assert_eq!(expected_peers(1, 2, Topology::Ring), vec![0]);
        assert_eq!(expected_peers(0, 3, Topology::Line), vec![1]);
        assert_eq!(expected_peers(1, 3, Topology::Line), vec![0, 2]);
        assert_eq!(expected_peers(2, 3, Topology::Mesh), vec![0, 1]);
        assert_eq!(expected_peers(0, 1, Topology::Mesh), Vec::<usize>::new());
    }
}
