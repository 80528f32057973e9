//! `ferrochain chain …`: whole-chain tools over the state crate's operations (`ferrochain_state::ops`) —
//! `verify` re-validates the stored chain from genesis, `export` and `import` write and read a portable block
//! file (what the seeds' `/save` wrote) — and the chain spec tools `spec` and `genesis`.
//!
//! `verify`, `export` and `import` open the chain a node keeps (`--data-dir`, `--database`, `--network`, or
//! the same `FERROCHAIN_*` variables the node reads): stop the node using it first. Long work shows a
//! progress bar on a terminal (none when the output is redirected).

use std::fmt::Write as _;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;
use ferrochain_core::ChainSpec;
use ferrochain_node::embed::{Chain, Storage};
use ferrochain_state::ops::{self, VerifyError};
use indicatif::{ProgressBar, ProgressStyle};

/// `ferrochain chain` and its subcommands.
#[derive(Debug, clap::Args)]
pub struct ChainArgs {
    #[command(subcommand)]
    command: ChainCommand,
}

/// Where the chain is stored: the node's own settings.
#[derive(Debug, clap::Args)]
struct StoreArgs {
    /// The node's data directory (its chain is DIR/chain.sqlite).
    #[arg(
        long,
        value_name = "DIR",
        env = "FERROCHAIN_DATA_DIR",
        default_value = "ferrochain-data"
    )]
    data_dir: PathBuf,
    /// The node's PostgreSQL database instead of SQLite.
    #[arg(long, value_name = "URL", env = "FERROCHAIN_DATABASE")]
    database: Option<String>,
    /// The network: dev, lab, or a chain spec TOML file.
    #[arg(
        long,
        value_name = "dev|lab|FILE",
        env = "FERROCHAIN_NETWORK",
        default_value = "dev"
    )]
    network: String,
}

#[derive(Debug, Subcommand)]
enum ChainCommand {
    /// Re-validate every stored block from genesis and check the UTXO set; exits 1 naming the first bad height.
    Verify {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Write the active chain, genesis first, to a portable block file.
    Export {
        /// The file to write.
        file: PathBuf,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Read a block file (from `chain export` or `/save`) and connect its blocks, validating each.
    Import {
        /// The file to read.
        file: PathBuf,
        #[command(flatten)]
        store: StoreArgs,
    },
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

impl StoreArgs {
    /// Opens the chain. `must_exist`: refuse a data directory without a chain instead of starting one there.
    fn open(&self, must_exist: bool) -> anyhow::Result<Chain> {
        if self.database.is_none() {
            let file = self.data_dir.join(ferrochain_node::embed::SQLITE_FILE);
            if must_exist && !file.exists() {
                anyhow::bail!(
                    "no chain at {} (give the node's --data-dir, or --database for PostgreSQL)",
                    file.display()
                );
            }
            std::fs::create_dir_all(&self.data_dir)
                .with_context(|| format!("creating {}", self.data_dir.display()))?;
        }
        let storage = Storage::for_node(&self.data_dir, self.database.as_deref());
        Ok(Chain::open(&self.network, &storage)?)
    }

    fn describe(&self) -> String {
        match &self.database {
            Some(_) => "the PostgreSQL database".to_string(),
            None => self.data_dir.display().to_string(),
        }
    }
}

fn progress_bar(total: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg} [{bar:40.cyan/blue}] {pos}/{len} blocks ({per_sec}, {eta} left)",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}

/// Runs a `chain` command and returns what it prints.
pub fn run(args: &ChainArgs) -> anyhow::Result<String> {
    let mut out = String::new();
    match &args.command {
        ChainCommand::Spec { preset } => {
            let spec = ChainSpec::preset(preset)
                .with_context(|| format!("unknown preset {preset:?}: use dev or lab"))?;
            out.push_str(&spec.to_toml()?);
        }
        ChainCommand::Genesis { network } => {
            let net = ferrochain_node::load_network(network)?;
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
        ChainCommand::Verify { store } => verify(store, &mut out)?,
        ChainCommand::Export { file, store } => export(store, file, &mut out)?,
        ChainCommand::Import { file, store } => import(store, file, &mut out)?,
    }
    Ok(out)
}

fn verify(store: &StoreArgs, out: &mut String) -> anyhow::Result<()> {
    let chain = store.open(true)?;
    let tip = chain.state().tip();
    tracing::info!(height = tip.height.0, data = %store.describe(), "verifying the stored chain from genesis");
    let bar = progress_bar(tip.height.0, "verifying");
    let started = std::time::Instant::now();
    let mut verified = 0;
    let result = ops::verify(chain.state(), ferrochain_node::now_ms(), &mut |done, _| {
        verified = done;
        bar.set_position(done);
    });
    bar.finish_and_clear();
    let report = result.map_err(|e| match &e {
        VerifyError::Invalid { height, .. } | VerifyError::Missing(height) => {
            anyhow::anyhow!("chain verification failed at height {height}: {e}")
        }
        VerifyError::UtxoMismatch { .. } => anyhow::anyhow!(
            "chain verification failed at the tip (height {}): {e}",
            tip.height
        ),
        VerifyError::State(_) => anyhow::anyhow!(
            "chain verification failed at height {}: the block could not be read: {e}",
            verified + 1
        ),
    })?;
    writeln!(
        out,
        "ok: {} blocks and {} transactions of network {} re-validated from genesis in {:.1} s",
        report.blocks,
        report.transactions,
        chain.network().spec().name,
        started.elapsed().as_secs_f64()
    )?;
    writeln!(out, "tip: height {} hash {}", tip.height, report.tip)?;
    writeln!(out, "the stored UTXO set equals a replay of the blocks")?;
    Ok(())
}

fn export(store: &StoreArgs, file: &Path, out: &mut String) -> anyhow::Result<()> {
    let chain = store.open(true)?;
    let tip = chain.state().tip();
    let f = std::fs::File::create(file).with_context(|| format!("creating {}", file.display()))?;
    let bar = ProgressBar::new_spinner();
    bar.set_message(format!("exporting to {}", file.display()));
    let mut writer = bar.wrap_write(BufWriter::new(f));
    let result = ops::export(chain.state(), &mut writer);
    bar.finish_and_clear();
    let count = result.with_context(|| format!("exporting to {}", file.display()))?;
    let bytes = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    writeln!(
        out,
        "exported {count} blocks (genesis to height {}) of network {} to {} ({bytes} bytes)",
        tip.height,
        chain.network().spec().name,
        file.display()
    )?;
    Ok(())
}

fn import(store: &StoreArgs, file: &Path, out: &mut String) -> anyhow::Result<()> {
    let f = std::fs::File::open(file).with_context(|| format!("reading {}", file.display()))?;
    let chain = store.open(false)?;
    let bar = progress_bar(0, "importing");
    let result = ops::import(chain.state(), &mut BufReader::new(f), &mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    });
    bar.finish_and_clear();
    let report = result.with_context(|| format!("importing {}", file.display()))?;
    let tip = chain.state().tip();
    writeln!(
        out,
        "imported {}: {} blocks, {} new; tip height {} hash {}",
        file.display(),
        report.blocks,
        report.added,
        tip.height,
        tip.hash
    )?;
    Ok(())
}
