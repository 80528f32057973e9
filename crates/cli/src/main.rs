//! The `ferrochain` binary: parses the command line and hands over to the library crates.
//! Parsing, prompts and printing only — every capability lives in a library (DESIGN §2, ADR 0014):
//! `ferrochain node` opens a [`ferrochain_node::Node`] and serves it with [`ferrochain_http::serve`]; the
//! wallet, chain and devnet commands use the wallet, state and node crates.

use std::io::Write as _;
use std::process::ExitCode;

mod chain_cmd;
mod devnet_cmd;
mod logging;
mod wallet_cmd;

use anyhow::Context;
use clap::{Parser, Subcommand};
use ferrochain_node::Config;

/// A proof-of-work blockchain node, wallet, block explorer and network lab in one binary.
#[derive(Debug, Parser)]
#[command(name = "ferrochain", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Log lines as readable text or as one JSON object per line (on standard error; level from RUST_LOG).
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "human",
        env = "FERROCHAIN_LOG_FORMAT"
    )]
    log_format: logging::LogFormat,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a node: chain, miner, HTTP API, seed routes and web UI (the default command).
    Node(Box<NodeArgs>),
    /// The command-line wallet: keys from a recovery phrase in an encrypted file; talks to a node.
    Wallet(Box<wallet_cmd::WalletArgs>),
    /// Chain tools: verify, export and import the stored chain; print a chain spec; show a genesis.
    Chain(Box<chain_cmd::ChainArgs>),
    /// Start N peered nodes on consecutive ports (own data dirs); Ctrl-C stops them all.
    Devnet(Box<devnet_cmd::DevnetArgs>),
}

/// `ferrochain node` flags. Flags override the config file and `FERROCHAIN_*` variables.
#[derive(Debug, Default, clap::Args)]
struct NodeArgs {
    #[command(subcommand)]
    command: Option<NodeCommand>,
    /// Address and port to listen on [default: 127.0.0.1:5000].
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<std::net::SocketAddr>,
    /// Directory for the chain database and node keystore [default: ./ferrochain-data].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<std::path::PathBuf>,
    /// Store the chain in PostgreSQL at this URL instead of SQLite.
    #[arg(long, value_name = "URL")]
    database: Option<String>,
    /// The network: dev, lab, or a chain spec TOML file [default: dev].
    #[arg(long, value_name = "dev|lab|FILE")]
    network: Option<String>,
    /// A peer to connect to (repeatable).
    #[arg(long = "peer", value_name = "URL")]
    peers: Vec<String>,
    /// The URL other nodes reach this one at.
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// A web origin whose pages may act as the owner from a browser (repeatable).
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    allowed_origins: Vec<String>,
    /// A host name accepted in the Host header besides loopback, IP addresses and the public URL (repeatable).
    #[arg(long = "allowed-host", value_name = "HOST")]
    allowed_hosts: Vec<String>,
    /// Mine continuously.
    #[arg(long)]
    mine: bool,
    /// With --mine: one block every SECONDS.
    #[arg(long, value_name = "SECONDS")]
    mine_interval: Option<u64>,
    /// Mining threads [default: all cores].
    #[arg(long, value_name = "N")]
    mine_threads: Option<usize>,
    /// Where block rewards go [default: the node's own address].
    #[arg(long, value_name = "ADDR")]
    miner_address: Option<String>,
    /// Bearer token allowing owner operations from anywhere (else loopback only).
    #[arg(long, value_name = "TOKEN")]
    api_token: Option<String>,
    /// Owner operations need the API token even from loopback (needs --api-token).
    #[arg(long)]
    require_token_on_loopback: bool,
    /// Most keys the node keystore holds [default: 1000].
    #[arg(long, value_name = "N")]
    max_keys: Option<usize>,
    /// Most open HTTP connections [default: 512].
    #[arg(long, value_name = "N")]
    max_connections: Option<usize>,
    /// A TOML config file (see `ferrochain node init-config`).
    #[arg(long, value_name = "FILE")]
    config: Option<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
enum NodeCommand {
    /// Print every setting with its default and meaning, as a config file.
    InitConfig,
}

impl NodeArgs {
    /// The configuration: defaults < file < environment < flags.
    fn config(&self) -> anyhow::Result<Config> {
        let mut config = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                Config::from_toml(&text)?
            }
            None => Config::default(),
        };
        config.apply_env(|name| std::env::var(name).ok())?;
        if let Some(v) = self.listen {
            config.listen = v;
        }
        if let Some(v) = &self.data_dir {
            config.data_dir = v.clone();
        }
        if let Some(v) = &self.database {
            config.database = Some(v.clone());
        }
        if let Some(v) = &self.network {
            config.network = v.clone();
        }
        if !self.peers.is_empty() {
            config.peers = self.peers.clone();
        }
        if let Some(v) = &self.public_url {
            config.public_url = Some(v.clone());
        }
        if !self.allowed_origins.is_empty() {
            config.allowed_origins = self.allowed_origins.clone();
        }
        if !self.allowed_hosts.is_empty() {
            config.allowed_hosts = self.allowed_hosts.clone();
        }
        if self.mine {
            config.mine = true;
        }
        if let Some(v) = self.mine_interval {
            config.mine_interval_secs = v;
        }
        if let Some(v) = self.mine_threads {
            config.mine_threads = v;
        }
        if let Some(v) = &self.miner_address {
            config.miner_address = Some(v.clone());
        }
        if let Some(v) = &self.api_token {
            config.api_token = Some(v.clone());
        }
        if self.require_token_on_loopback {
            config.require_token_on_loopback = true;
        }
        if let Some(v) = self.max_keys {
            config.max_keys = v;
        }
        if let Some(v) = self.max_connections {
            config.max_connections = v;
        }
        Ok(config)
    }
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

fn run_node(args: &NodeArgs) -> anyhow::Result<()> {
    let config = args.config()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| {
                format!(
                    "cannot listen on {} (is another node running there? use --listen)",
                    config.listen
                )
            })?;
        let addr = listener.local_addr()?;
        let node =
            tokio::task::spawn_blocking(move || ferrochain_node::Node::open(config)).await??;
        tracing::info!(
            network = %node.network().spec().name,
            network_id = %node.network().genesis_hash(),
            height = node.state().tip().height.0,
            data_dir = %node.config().data_dir.display(),
            "ferrochain node started"
        );
        tracing::info!(
            url = %format!("http://{addr}"),
            "listening: web UI at /, API at /api/v1, metrics at /metrics, seed routes; Ctrl-C stops"
        );
        tokio::spawn(sync_progress(node.clone()));
        ferrochain_http::serve(node, listener, shutdown_signal()).await?;
        tracing::info!("stopped");
        anyhow::Ok(())
    })
}

/// Shows a progress bar on a terminal while the node catches up with a peer that is ahead: our height against
/// the highest tip a peer announced in its handshake (a claim, used for display only — the sync itself trusts
/// only checked headers).
async fn sync_progress(node: ferrochain_node::Node) {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return;
    }
    let mut closing = node.closing();
    let mut bar: Option<indicatif::ProgressBar> = None;
    loop {
        let ours = node.state().tip().height.0;
        let best = node
            .peers()
            .all()
            .iter()
            .filter_map(|p| p.tip_height)
            .max()
            .unwrap_or(0);
        if best > ours + 1 {
            let b = bar.get_or_insert_with(|| {
                let b = indicatif::ProgressBar::new(best);
                b.set_style(
                    indicatif::ProgressStyle::with_template(
                        "initial sync {bar:40} {pos}/{len} blocks ({per_sec}, eta {eta})",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                b
            });
            b.set_length(best);
            b.set_position(ours);
        } else if let Some(b) = bar.take() {
            b.finish_with_message("in sync");
        }
        tokio::select! {
            _ = closing.changed() => break,
            () = tokio::time::sleep(std::time::Duration::from_millis(200)) => {}
        }
    }
    if let Some(b) = bar {
        b.abandon();
    }
}

/// Runs a command and returns what it prints.
fn run(cli: Cli) -> anyhow::Result<String> {
    let mut out = String::new();
    match cli.command {
        Some(Command::Chain(args)) => out.push_str(&chain_cmd::run(&args)?),
        Some(Command::Node(args)) => match args.command {
            Some(NodeCommand::InitConfig) => out.push_str(&Config::commented_toml()),
            None => run_node(&args)?,
        },
        Some(Command::Wallet(args)) => out.push_str(&wallet_cmd::run(&args)?),
        Some(Command::Devnet(args)) => out.push_str(&devnet_cmd::run(&args)?),
        None => run_node(&NodeArgs::default())?,
    }
    Ok(out)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log_format);
    match run(cli) {
        Ok(text) => {
            // A closed pipe (`ferrochain chain spec | head`) is not an error.
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            match e.downcast_ref::<wallet_cmd::CliError>() {
                Some(cli) => ExitCode::from(cli.exit_code()),
                None => ExitCode::FAILURE,
            }
        }
    }
}
