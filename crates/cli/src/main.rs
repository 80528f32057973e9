//! The `ferrochain` binary: parses the command line and hands over to the library crates.
//! Parsing, prompts and printing only — every capability lives in a library (DESIGN §2).

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use ferrochain_core::{ChainSpec, Network};

/// A proof-of-work blockchain node, wallet, block explorer and network lab in one binary.
#[derive(Debug, Parser)]
#[command(name = "ferrochain", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Chain tools: print a chain spec, show a network's genesis.
    Chain {
        #[command(subcommand)]
        command: ChainCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ChainCommand {
    /// Print a preset chain spec as TOML, to start a private network from.
    Spec {
        /// The preset: `dev` or `lab`.
        #[arg(default_value = "dev")]
        preset: String,
    },
    /// Show the genesis block and network id of a preset or a chain spec file.
    Genesis {
        /// `dev`, `lab` or the path of a chain spec TOML file.
        #[arg(default_value = "dev")]
        network: String,
    },
}

fn load_network(name: &str) -> anyhow::Result<Network> {
    let spec = match ChainSpec::preset(name) {
        Some(spec) => spec,
        None => {
            let text = std::fs::read_to_string(name).with_context(|| {
                format!("{name:?} is neither a preset (dev, lab) nor a readable chain spec file")
            })?;
            ChainSpec::from_toml(&text)?
        }
    };
    Ok(Network::new(spec)?)
}

/// Runs a command and returns what it prints.
fn run(cli: Cli) -> anyhow::Result<String> {
    let mut out = String::new();
    match cli.command {
        Some(Command::Chain {
            command: ChainCommand::Spec { preset },
        }) => {
            let spec = ChainSpec::preset(&preset)
                .with_context(|| format!("unknown preset {preset:?}: use dev or lab"))?;
            out.push_str(&spec.to_toml()?);
        }
        Some(Command::Chain {
            command: ChainCommand::Genesis { network },
        }) => {
            let net = load_network(&network)?;
            let g = net.genesis();
            writeln!(out, "network:      {}", net.spec().name)?;
            writeln!(
                out,
                "network id:   {} (the genesis block hash)",
                net.genesis_hash()
            )?;
            writeln!(out, "merkle root:  {}", g.header.merkle_root)?;
            writeln!(out, "time (ms):    {}", g.header.time_ms)?;
            writeln!(out, "bits:         {}", g.header.bits)?;
            writeln!(
                out,
                "allocations:  {}",
                net.spec().genesis_allocations.len()
            )?;
        }
        None => {
            let net = Network::dev();
            writeln!(out, "ferrochain {}", env!("CARGO_PKG_VERSION"))?;
            writeln!(
                out,
                "The node (HTTP API, miner, web UI on http://127.0.0.1:5000) is not built yet."
            )?;
            writeln!(
                out,
                "What works today: the consensus core, and these commands:"
            )?;
            writeln!(
                out,
                "  ferrochain chain spec [dev|lab]        print a chain spec to start a private network"
            )?;
            writeln!(
                out,
                "  ferrochain chain genesis [dev|lab|FILE] show a network's genesis and id"
            )?;
            writeln!(out, "dev network id: {}", net.genesis_hash())?;
        }
    }
    Ok(out)
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(text) => {
            // A closed pipe (`ferrochain chain spec | head`) is not an error.
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
