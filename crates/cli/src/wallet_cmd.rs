//! `ferrochain wallet …`: the command-line wallet. Parsing, prompts and printing here; keys, files, coin
//! selection and signing in `ferrochain-wallet`; the node is reached over its REST API (`--node`).
//!
//! Exit codes (scripts rely on them): 0 success, 1 other error, 2 usage, 3 wrong password, 4 node unreachable
//! or refusing, 5 insufficient funds, 6 invalid address (typo or another network), 7 wallet file problem.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;
use ferrochain_core::{Amount, Network, PubkeyHash};
use ferrochain_wallet::build::{TransferRequest, build_record, build_transfer};
use ferrochain_wallet::coin_select::{Candidate, FeePolicy, SelectionOptions};
use ferrochain_wallet::proof::RecordProof;
use ferrochain_wallet::{
    ForkWalletError, KdfParams, KeyFile, KeyFileError, LegacyRsaKey, Wallet, WalletError,
};

/// A wallet failure with the exit code it maps to.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Wrong password (exit 3).
    #[error("wrong password, or the wallet file was modified")]
    WrongPassword,
    /// The node cannot be reached or refused the request (exit 4).
    #[error("node: {0}")]
    Node(String),
    /// Not enough coins (exit 5).
    #[error("{0}")]
    Funds(String),
    /// An address that is not valid here (exit 6).
    #[error("{0}")]
    Address(String),
    /// The wallet file is missing, exists already, or is damaged (exit 7).
    #[error("{0}")]
    File(String),
}

impl CliError {
    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::WrongPassword => 3,
            CliError::Node(_) => 4,
            CliError::Funds(_) => 5,
            CliError::Address(_) => 6,
            CliError::File(_) => 7,
        }
    }
}

/// Options shared by the wallet commands.
#[derive(Debug, clap::Args)]
pub struct WalletArgs {
    #[command(subcommand)]
    command: WalletCommand,
    /// The wallet file [default: `ferrochain-data/wallet-NETWORK.json`].
    #[arg(long, global = true, value_name = "PATH")]
    file: Option<PathBuf>,
    /// The network: dev, lab or a chain spec file [default: dev].
    #[arg(
        long,
        global = true,
        value_name = "dev|lab|FILE",
        default_value = "dev"
    )]
    network: String,
    /// The node to talk to.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        default_value = "http://127.0.0.1:5000",
        env = "FERROCHAIN_NODE"
    )]
    node: String,
    /// Read the password from this file (else FERROCHAIN_PASSWORD, else a prompt).
    #[arg(long, global = true, value_name = "FILE")]
    password_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum WalletCommand {
    /// Create a wallet with a new 24-word recovery phrase.
    New,
    /// Restore a wallet from its recovery phrase (typed at a prompt, or --phrase).
    Restore {
        /// The phrase (avoid: it lands in your shell history).
        #[arg(long)]
        phrase: Option<String>,
    },
    /// List the wallet's addresses (no password needed), or derive a new one.
    Address {
        /// Derive and store a new address.
        #[arg(long)]
        new: bool,
    },
    /// Show the balance of every address (confirmed and pending).
    Balance,
    /// Send coins.
    Send {
        /// The recipient's address.
        #[arg(long)]
        to: String,
        /// How much, in whole units ("1.5").
        #[arg(long)]
        amount: String,
        /// The fee, in whole units.
        #[arg(long, default_value = "0")]
        fee: String,
        /// A memo carried by the transaction.
        #[arg(long)]
        memo: Option<String>,
    },
    /// Sign a record (a piece of data) onto the chain with the wallet's first key (or --address), or with
    /// the imported legacy RSA key (--legacy, see import-legacy).
    Record {
        /// The content.
        #[arg(long)]
        content: String,
        /// Which of the wallet's addresses signs.
        #[arg(long)]
        address: Option<String>,
        /// Sign with the RSA key imported by `import-legacy`, as the seed's supply-chain fork does.
        #[arg(long, conflicts_with = "address")]
        legacy: bool,
    },
    /// Import the RSA key of a wallet file of the records app's supply-chain fork (opened with its password)
    /// into a key file of ferrochain's own, sealed with the same password; `record --legacy` then signs with it.
    ImportLegacy {
        /// The fork's wallet file (nonce, tag, ciphertext, salt; AES-EAX under PBKDF2-HMAC-SHA512).
        fork_file: PathBuf,
    },
    /// Show the transaction history of every address.
    History,
    /// Check a record's proof offline: a proof file (from `/api/v1/txs/TXID/proof`), or --txid to fetch one.
    VerifyRecord {
        /// The proof file.
        file: Option<PathBuf>,
        /// Fetch the proof of this record from --node.
        #[arg(long)]
        txid: Option<String>,
    },
}

fn network(name: &str) -> anyhow::Result<Network> {
    ferrochain_node::load_network(name).map_err(Into::into)
}

/// Where `import-legacy` keeps the imported RSA key: beside the wallet file.
fn legacy_key_file(wallet_file: &Path) -> PathBuf {
    wallet_file.with_extension("legacy-rsa.json")
}

fn default_file(network: &Network) -> PathBuf {
    Path::new("ferrochain-data").join(format!("wallet-{}.json", network.spec().name))
}

fn password(args: &WalletArgs, confirm: bool) -> anyhow::Result<String> {
    if let Some(path) = &args.password_file {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        return Ok(text.trim_end_matches(['\n', '\r']).to_string());
    }
    if let Ok(p) = std::env::var("FERROCHAIN_PASSWORD") {
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "no password: use --password-file, FERROCHAIN_PASSWORD, or run in a terminal"
        );
    }
    let first = rpassword::prompt_password("wallet password: ")?;
    if confirm {
        let again = rpassword::prompt_password("again: ")?;
        anyhow::ensure!(first == again, "the passwords differ");
    }
    Ok(first)
}

fn write_new(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    ferrochain_node::write_atomically(path, bytes)
        .with_context(|| format!("writing {}", path.display()))
}

fn read_file(path: &Path) -> Result<KeyFile, CliError> {
    let bytes = std::fs::read(path).map_err(|e| {
        CliError::File(format!(
            "cannot read wallet file {}: {e} (create one with `ferrochain wallet new`)",
            path.display()
        ))
    })?;
    KeyFile::from_json_bytes(&bytes).map_err(|e| CliError::File(format!("{}: {e}", path.display())))
}

fn unlock(file: &KeyFile, password: &str, network: &Network) -> anyhow::Result<Wallet> {
    Wallet::unlock(file, password, network).map_err(|e| match e {
        WalletError::KeyFile(KeyFileError::WrongPassword) => CliError::WrongPassword.into(),
        other => anyhow::Error::from(CliError::File(other.to_string())),
    })
}

fn save(wallet: &Wallet, password: &str, path: &Path) -> anyhow::Result<()> {
    let file = wallet.lock(
        password,
        KdfParams::pbkdf2_default(),
        ferrochain_node::now_ms(),
        &mut rand::rng(),
    )?;
    write_new(path, &file.to_json_bytes())
}

/// A small JSON client of the node's REST API.
struct Client {
    base: String,
    http: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl Client {
    fn new(base: &str) -> anyhow::Result<Client> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(Client {
            base: base.trim_end_matches('/').to_string(),
            http,
            runtime,
        })
    }

    fn send(&self, request: reqwest::RequestBuilder) -> Result<serde_json::Value, CliError> {
        self.runtime.block_on(async {
            let response = request.send().await.map_err(|e| {
                CliError::Node(format!("cannot reach the node at {}: {e}", self.base))
            })?;
            let status = response.status();
            let body: serde_json::Value = response.json().await.unwrap_or(serde_json::Value::Null);
            if status.is_success() {
                Ok(body)
            } else {
                let message = body["error"]["message"]
                    .as_str()
                    .unwrap_or("no message")
                    .to_string();
                let code = body["error"]["code"].as_str().unwrap_or("");
                Err(match code {
                    "insufficient_funds" => CliError::Funds(message),
                    "invalid_address" | "wrong_network" => CliError::Address(message),
                    _ => CliError::Node(format!("{status}: {message}")),
                })
            }
        })
    }

    /// `POST path` with a JSON body; the status and the answer's text (the seed routes answer text).
    fn post_text(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<(reqwest::StatusCode, String), CliError> {
        self.runtime.block_on(async {
            let response = self
                .http
                .post(format!("{}{path}", self.base))
                .json(body)
                .send()
                .await
                .map_err(|e| {
                    CliError::Node(format!("cannot reach the node at {}: {e}", self.base))
                })?;
            let status = response.status();
            Ok((status, response.text().await.unwrap_or_default()))
        })
    }

    fn get(&self, path: &str) -> Result<serde_json::Value, CliError> {
        self.send(self.http.get(format!("{}{path}", self.base)))
    }

    fn post(&self, path: &str, body: &serde_json::Value) -> Result<serde_json::Value, CliError> {
        self.send(self.http.post(format!("{}{path}", self.base)).json(body))
    }

    /// Checks that the node runs the wallet's network.
    fn check_network(&self, network: &Network) -> Result<(), CliError> {
        let status = self.get("/api/v1/status")?;
        let id = status["network_id"].as_str().unwrap_or_default();
        if id != network.genesis_hash().to_string() {
            return Err(CliError::Node(format!(
                "the node runs network {} (id {id}), the wallet is for {} — use --network or another --node",
                status["network"].as_str().unwrap_or("?"),
                network.spec().name
            )));
        }
        Ok(())
    }
}

fn units(v: &serde_json::Value) -> u64 {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(0)
}

/// The spendable outputs of the wallet's addresses, as the node reports them.
fn candidates(client: &Client, wallet: &Wallet) -> Result<Vec<Candidate>, CliError> {
    let mut out = Vec::new();
    for account in wallet.accounts() {
        let list = client.get(&format!(
            "/api/v1/addresses/{}/utxos?spendable=true",
            account.address()
        ))?;
        let items = list["utxos"].as_array().cloned().unwrap_or_default();
        for u in items {
            let parse = || -> Option<Candidate> {
                let txid = u["txid"].as_str()?.parse().ok()?;
                let vout = u["vout"].as_u64()? as u32;
                let amount = Amount::from_units(units(&u["amount"]["units"])).ok()?;
                let entry = ferrochain_core::UtxoEntry {
                    output: ferrochain_core::TxOut {
                        amount,
                        address: account.pubkey_hash(),
                    },
                    height: ferrochain_core::Height(u["height"].as_u64().unwrap_or(0)),
                    is_coinbase: u["coinbase"].as_bool().unwrap_or(false),
                };
                let op = ferrochain_core::OutPoint { txid, vout };
                // Unconfirmed change has 0 confirmations.
                Some(if u["confirmations"].as_u64().unwrap_or(0) > 0 {
                    Candidate::confirmed(op, entry)
                } else {
                    Candidate::unconfirmed(op, entry)
                })
            };
            if let Some(c) = parse() {
                out.push(c);
            }
        }
    }
    Ok(out)
}

fn parse_address(network: &Network, text: &str) -> Result<PubkeyHash, CliError> {
    network
        .parse_address(text)
        .map_err(|e| CliError::Address(e.to_string()))
}

fn parse_amount(network: &Network, text: &str, what: &str) -> anyhow::Result<Amount> {
    Amount::parse_units(text, network.spec().decimals).with_context(|| format!("--{what} {text:?}"))
}

fn submit(client: &Client, tx: &ferrochain_core::Transaction) -> Result<String, CliError> {
    let hex = hex::encode(ferrochain_core::Encode::to_bytes(tx));
    let answer = client.post("/api/v1/txs", &serde_json::json!({ "hex": hex }))?;
    Ok(answer["txid"]
        .as_str()
        .map(String::from)
        .unwrap_or_else(|| tx.txid().to_string()))
}

/// Runs a wallet command and returns what it prints.
///
/// # Errors
/// A [`CliError`] (inside the `anyhow::Error`) for the failures with their own exit code.
pub fn run(args: &WalletArgs) -> anyhow::Result<String> {
    let net = network(&args.network)?;
    let path = args.file.clone().unwrap_or_else(|| default_file(&net));
    let unit = net.spec().unit.clone();
    let d = net.spec().decimals;
    let mut out = String::new();
    match &args.command {
        WalletCommand::New | WalletCommand::Restore { .. } => {
            if path.exists() {
                return Err(CliError::File(format!(
                    "{} exists already: choose another --file",
                    path.display()
                ))
                .into());
            }
            let wallet = match &args.command {
                WalletCommand::Restore { phrase } => {
                    let phrase = match phrase {
                        Some(p) => p.clone(),
                        None => {
                            eprint!("recovery phrase: ");
                            std::io::stderr().flush()?;
                            let mut line = String::new();
                            std::io::stdin().lock().read_line(&mut line)?;
                            line
                        }
                    };
                    Wallet::restore(&net, &phrase)?
                }
                _ => Wallet::create(&net, &mut rand::rng())?,
            };
            let pw = password(args, true)?;
            save(&wallet, &pw, &path)?;
            if matches!(args.command, WalletCommand::New) {
                out.push_str("Your recovery phrase — write it down and keep it safe; it is shown only this once:\n\n");
                out.push_str(&format!("    {}\n\n", wallet.mnemonic().phrase().as_str()));
            }
            out.push_str(&format!(
                "wallet {} for network {}\n",
                path.display(),
                net.spec().name
            ));
            out.push_str(&format!("address: {}\n", wallet.accounts()[0].address()));
        }
        WalletCommand::Address { new } => {
            let file = read_file(&path)?;
            if *new {
                let pw = password(args, false)?;
                let mut wallet = unlock(&file, &pw, &net)?;
                let address = wallet.new_address()?.address().to_string();
                save(&wallet, &pw, &path)?;
                out.push_str(&format!("{address}\n"));
            } else {
                for account in file.accounts() {
                    out.push_str(&format!("{}\n", account.address));
                }
            }
        }
        WalletCommand::Balance | WalletCommand::History => {
            let file = read_file(&path)?;
            let client = Client::new(&args.node)?;
            client.check_network(&net)?;
            let (mut confirmed, mut pending) = (0u64, 0u64);
            for account in file.accounts() {
                if matches!(args.command, WalletCommand::Balance) {
                    let a = client.get(&format!("/api/v1/addresses/{}", account.address))?;
                    let c = units(&a["balance"]["confirmed"]["units"]);
                    let p = units(&a["balance"]["pending"]["units"]);
                    confirmed += c;
                    pending += p;
                    out.push_str(&format!(
                        "{}  {} {unit} (pending {})\n",
                        account.address,
                        Amount::from_units(c).unwrap_or_default().format_units(d),
                        Amount::from_units(p).unwrap_or_default().format_units(d)
                    ));
                } else {
                    let h = client.get(&format!(
                        "/api/v1/addresses/{}/history?limit=100",
                        account.address
                    ))?;
                    let rows = h["items"].as_array().cloned().unwrap_or_default();
                    for r in rows {
                        out.push_str(&format!(
                            "{}  height {}  {}\n",
                            account.address,
                            r["height"].as_u64().unwrap_or(0),
                            r["txid"].as_str().unwrap_or("?")
                        ));
                    }
                }
            }
            if matches!(args.command, WalletCommand::Balance) {
                let fmt = |v| Amount::from_units(v).unwrap_or_default().format_units(d);
                out.push_str(&format!(
                    "total: {} {unit} (pending {})\n",
                    fmt(confirmed),
                    fmt(pending)
                ));
            }
        }
        WalletCommand::Send {
            to,
            amount,
            fee,
            memo,
        } => {
            let to = parse_address(&net, to)?;
            let amount = parse_amount(&net, amount, "amount")?;
            let fee = parse_amount(&net, fee, "fee")?;
            let file = read_file(&path)?;
            let client = Client::new(&args.node)?;
            client.check_network(&net)?;
            let pw = password(args, false)?;
            let wallet = unlock(&file, &pw, &net)?;
            let candidates = candidates(&client, &wallet)?;
            let options = SelectionOptions {
                allow_unconfirmed: true,
                ..SelectionOptions::default()
            };
            let request = TransferRequest::new(vec![(to, amount)], FeePolicy::Fixed(fee))
                .with_payload(memo.clone().unwrap_or_default().into_bytes())
                .with_options(options);
            let tx = build_transfer(&wallet, &candidates, &request, &net).map_err(|e| match e {
                ferrochain_wallet::build::BuildError::Selection(s) => {
                    anyhow::Error::from(CliError::Funds(s.to_string()))
                }
                other => other.into(),
            })?;
            let txid = submit(&client, &tx)?;
            out.push_str(&format!(
                "sent {} {unit} — transaction {txid}\n",
                amount.format_units(d)
            ));
        }
        WalletCommand::ImportLegacy { fork_file } => {
            let bytes = std::fs::read(fork_file)
                .map_err(|e| CliError::File(format!("cannot read {}: {e}", fork_file.display())))?;
            let pw = password(args, false)?;
            let key = LegacyRsaKey::open_fork_wallet(&bytes, &pw).map_err(|e| match e {
                ForkWalletError::WrongPassword => CliError::WrongPassword,
                other => CliError::File(other.to_string()),
            })?;
            let sealed = key
                .to_sealed_json(&pw, KdfParams::pbkdf2_default(), &mut rand::rng())
                .map_err(|e| CliError::File(e.to_string()))?;
            let out_path = legacy_key_file(&path);
            write_new(&out_path, &sealed)?;
            let info = key.info();
            out.push_str(&format!(
                "imported an RSA-{} key (legacy: weak by today's standards) into {}\nfingerprint: {}\n{}",
                info.bits,
                out_path.display(),
                info.fingerprint,
                key.public_pem()
            ));
        }
        WalletCommand::Record {
            content,
            legacy: true,
            ..
        } => {
            let key_path = legacy_key_file(&path);
            let bytes = std::fs::read(&key_path).map_err(|e| {
                CliError::File(format!(
                    "no imported legacy key at {} ({e}): run `ferrochain wallet import-legacy FILE` first",
                    key_path.display()
                ))
            })?;
            let pw = password(args, false)?;
            let key = LegacyRsaKey::from_sealed_json(&bytes, &pw).map_err(|e| match e {
                ForkWalletError::WrongPassword => CliError::WrongPassword,
                other => CliError::File(other.to_string()),
            })?;
            let record = key.sign(content);
            let client = Client::new(&args.node)?;
            client.check_network(&net)?;
            let body = serde_json::json!({
                "senderPK": record.sender_pem,
                "signature": record.signature_latin1(),
                "data": record.data,
            });
            let (status, text) = client.post_text("/new_transaction", &body)?;
            if !status.is_success() {
                return Err(CliError::Node(format!("{status}: {text}")).into());
            }
            out.push_str(&format!(
                "legacy RSA record accepted: {} (the node co-signs it; its RSA signature stays checkable)\n",
                text.trim()
            ));
        }
        WalletCommand::Record {
            content, address, ..
        } => {
            let file = read_file(&path)?;
            let client = Client::new(&args.node)?;
            client.check_network(&net)?;
            let pw = password(args, false)?;
            let wallet = unlock(&file, &pw, &net)?;
            let account = match address {
                Some(a) => {
                    let hash = parse_address(&net, a)?;
                    wallet.account_for(&hash).ok_or_else(|| {
                        CliError::Address(format!("{a} is not an address of this wallet"))
                    })?
                }
                None => wallet
                    .accounts()
                    .first()
                    .ok_or_else(|| CliError::File("the wallet has no address".into()))?,
            };
            let tx = build_record(
                account.signing_key(),
                content.clone().into_bytes(),
                ferrochain_node::now_ms(),
                &net,
            )?;
            let txid = submit(&client, &tx)?;
            out.push_str(&format!(
                "record signed by {} — transaction {txid}\n",
                account.address()
            ));
        }
        WalletCommand::VerifyRecord { file, txid } => {
            let bytes = match (file, txid) {
                (Some(f), _) => {
                    std::fs::read(f).with_context(|| format!("reading {}", f.display()))?
                }
                (None, Some(t)) => {
                    let client = Client::new(&args.node)?;
                    serde_json::to_vec(&client.get(&format!("/api/v1/txs/{t}/proof"))?)?
                }
                (None, None) => anyhow::bail!("give a proof file or --txid"),
            };
            let proof = RecordProof::from_json_bytes(&bytes)?;
            let v = proof.verify_for_network(&net)?;
            out.push_str("record proof verified offline: signature, Merkle path, header links, proof of work\n");
            if let Some(legacy) = ferrochain_wallet::LegacyRsaRecord::from_payload(&v.payload) {
                // The seed fork's RSA record (ADR 0018): the author's own signature, checked here too.
                let info = legacy
                    .verify()
                    .map_err(|e| anyhow::anyhow!("legacy RSA record: {e}"))?;
                out.push_str(&format!(
                    "legacy RSA:    RSA-{} signature verified, key {} (weak by today's standards)\n",
                    info.bits, info.fingerprint
                ));
                out.push_str(&format!(
                    "co-signed by:  {}\n",
                    net.address(&v.author_address_hash)
                ));
                out.push_str(&format!("data:          {}\n", legacy.data));
            } else {
                match ferrochain_wallet::Claim::from_payload(&v.payload) {
                    // A name without a key: the signer vouches only that it received the record (ADR 0017).
                    Some(claim) => {
                        out.push_str(&format!(
                            "claimed author: {} (a name without a key; not proven)\n",
                            claim.author
                        ));
                        out.push_str(&format!(
                            "signed by:     {} (vouches that it received this record)\n",
                            net.address(&v.author_address_hash)
                        ));
                        out.push_str(&format!("content:       {}\n", claim.content));
                    }
                    None => {
                        out.push_str(&format!(
                            "author:        {}\n",
                            net.address(&v.author_address_hash)
                        ));
                        out.push_str(&format!(
                            "content:       {}\n",
                            String::from_utf8_lossy(&v.payload)
                        ));
                    }
                }
            }
            out.push_str(&format!(
                "block:         {} at height {}\n",
                v.block_hash, v.height
            ));
            out.push_str(&format!("confirmations: {}\n", v.confirmations));
        }
    }
    Ok(out)
}
