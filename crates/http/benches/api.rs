//! HTTP API benchmarks of a real node served in-process on `127.0.0.1:0` and called with `reqwest` over
//! loopback, each scenario on a fresh node with its own temporary data directory (SQLite, `synchronous=FULL`):
//!
//! - **Transaction submissions** (`POST /api/v1/txs` with `{"hex": <canonical encoding>}`): signed transfers
//!   per second and latency, from one client sending them one after another, and from 32 concurrent clients
//!   (tasks sharing one `reqwest::Client`) splitting the set. The transfers are built and signed before the
//!   timing starts: a block is mined to a key of the bench, a fan-out transaction (submitted and mined before
//!   timing) gives each of [`TRANSFERS`] keys one output, and each transfer spends one of those outputs — so
//!   they are independent and all valid, and every scenario has its own node and outputs.
//! - **`GET /mine` latency** on the `dev` chain (16-bit difficulty, one mining thread per core), sequential
//!   requests with an empty mempool: mean, median and p95, the hash rate that implies (2^16 expected hashes
//!   per block over the mean latency) and the miner's own hash count over the same time.
//! - **`GET /chain` of a 10,000-block chain** (a coinbase in every block, a transfer in every tenth), built
//!   with `ChainBuilder` on an easy copy of the `dev` spec and submitted to the node before timing: the full
//!   chain (size, time per request) and a page of 100 blocks (`?from=9900&limit=100`).
//!
//! - **Node-built transfers** (`POST /transactions/new`, the seed tutorial's form, from the node-held miner
//!   key): 16 concurrent clients, every answer counted (201, 409, other).
//! - **`GET /api/v1/status`** with 1, 16 and 32 concurrent clients.
//! - **The machine's limits** in the same run ([`common`]): fsync'd commits per second of the disk, Ed25519
//!   verifies per second on one core, an axum hello-world's requests per second with the same clients — and
//!   the ratios of our figures to them.
//!
//! Run with `cargo bench -p ferrochain-http --bench api`; it prints figures and a summary and never fails on a
//! figure. `FERROCHAIN_BENCH_ONLY=txs,node-built,status,mine,chain` (any of them) runs only those
//! scenarios. With `FERROCHAIN_TEST_POSTGRES_URL` set, the submission scenarios also run on PostgreSQL (a
//! fresh database `ferrochain_bench` on that server, made with `psql`). Without `--bench` among the
//! arguments (`cargo test --benches`) it returns at once.

use std::time::{Duration, Instant};

use ferrochain_core::builder::ChainBuilder;
use ferrochain_core::{
    Amount, Block, ChainSpec, Encode, Network, OutPoint, SigningKey, Target, Transaction, TxOut,
};
use ferrochain_http::testing::TestNode;
use ferrochain_node::{Config, Node};
use tokio::runtime::Runtime;

mod common;

/// Signed transfers submitted in each submission scenario.
const TRANSFERS: usize = 2_000;
/// Concurrent clients of the concurrent submission scenarios.
const CLIENTS: [usize; 3] = [1, 16, 32];
/// Node-built transfers through `/transactions/new`.
const NODE_BUILT: usize = 2_000;
/// Concurrent clients of the node-built transfer scenario.
const NODE_BUILT_CLIENTS: usize = 16;
/// `GET /api/v1/status` requests per client count.
const STATUS_REQUESTS: usize = 20_000;
/// Sequential `GET /mine` requests.
const MINE_REQUESTS: usize = 100;
/// Blocks after genesis of the `/chain` scenario.
const CHAIN_BLOCKS: usize = 10_000;
/// Full `GET /chain` requests timed (after one untimed warm-up).
const FULL_CHAIN_REQUESTS: usize = 5;
/// Paged `GET /chain?from=9900&limit=100` requests timed.
const PAGE_REQUESTS: usize = 50;

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Opens a fresh `dev` node (one mining thread per core) in a new temporary data directory, unserved.
fn dev_node(rt: &Runtime) -> TestNode {
    dev_node_on(rt, None)
}

/// [`dev_node`], storing its chain in the PostgreSQL database `database` when given.
fn dev_node_on(rt: &Runtime, database: Option<String>) -> TestNode {
    rt.block_on(TestNode::open(move |c| {
        c.network = "dev".into();
        c.mine_threads = cores();
        c.database = database;
    }))
}

/// Where a scenario stores its chain: SQLite in the node's data directory, or a fresh PostgreSQL database.
#[derive(Clone, Copy, PartialEq)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }

    /// The backends of this run: SQLite, and PostgreSQL when `FERROCHAIN_TEST_POSTGRES_URL` is set.
    fn all() -> Vec<Backend> {
        let mut all = vec![Backend::Sqlite];
        if std::env::var("FERROCHAIN_TEST_POSTGRES_URL").is_ok() {
            all.push(Backend::Postgres);
        }
        all
    }

    /// A fresh node on this backend: for PostgreSQL, the database `ferrochain_bench` on the server of
    /// `FERROCHAIN_TEST_POSTGRES_URL`, dropped and created again with `psql` (every scenario starts empty).
    fn node(self, rt: &Runtime) -> TestNode {
        if self == Backend::Sqlite {
            return dev_node(rt);
        }
        let url = std::env::var("FERROCHAIN_TEST_POSTGRES_URL").expect("checked in all()");
        let server = url
            .rsplit_once('/')
            .map_or(url.as_str(), |(server, _)| server);
        for sql in [
            "DROP DATABASE IF EXISTS ferrochain_bench WITH (FORCE)",
            "CREATE DATABASE ferrochain_bench",
        ] {
            let done = std::process::Command::new("psql")
                .args([url.as_str(), "-qc", sql])
                .status();
            assert!(
                matches!(done, Ok(s) if s.success()),
                "psql could not run {sql:?} on {url}"
            );
        }
        dev_node_on(rt, Some(format!("{server}/ferrochain_bench")))
    }
}

/// A deterministic key: `tag` tells the bench's key sets apart, `i` the keys within one.
fn key(tag: u8, i: usize) -> SigningKey {
    let mut secret = [tag; 32];
    secret[..8].copy_from_slice(&(i as u64).to_le_bytes());
    SigningKey::from_secret_bytes(secret)
}

/// Funds [`TRANSFERS`] keys on `node` (a mined block, then a mined fan-out transaction) and returns the
/// `{"hex"}` bodies of one signed transfer from each, all independent of one another.
fn prepare_transfers(node: &Node) -> Vec<String> {
    let funder = key(1, 0);
    let funder_hash = funder.public_key().pubkey_hash();
    let genesis = node.network().genesis_hash();
    let funding = node
        .mine_one(funder_hash, 0)
        .expect("mines the funding block");
    let coinbase = &funding.transactions[0];
    let total = coinbase.outputs[0].amount.to_units();
    let each = total / TRANSFERS as u64;
    let keys: Vec<SigningKey> = (0..TRANSFERS).map(|i| key(2, i)).collect();
    let mut outputs: Vec<TxOut> = keys
        .iter()
        .map(|k| TxOut {
            amount: Amount::from_units(each).expect("a share of one subsidy"),
            address: k.public_key().pubkey_hash(),
        })
        .collect();
    let change = total - each * TRANSFERS as u64;
    if change > 0 {
        outputs.push(TxOut {
            amount: Amount::from_units(change).expect("less than one subsidy"),
            address: funder_hash,
        });
    }
    let spend = OutPoint {
        txid: coinbase.txid(),
        vout: 0,
    };
    let fan_out = Transaction::signed_transfer(&[(spend, &funder)], outputs, Vec::new(), &genesis);
    let fan_out_id = node
        .submit_transaction(fan_out)
        .expect("the fan-out transaction is valid");
    let block = node
        .mine_one(funder_hash, usize::MAX)
        .expect("mines the fan-out block");
    assert!(
        block.transactions.iter().any(|tx| tx.txid() == fan_out_id),
        "the fan-out transaction is in the next block"
    );
    keys.iter()
        .enumerate()
        .map(|(i, k)| {
            let prev_out = OutPoint {
                txid: fan_out_id,
                vout: i as u32,
            };
            let out = TxOut {
                amount: Amount::from_units(each).expect("a share of one subsidy"),
                address: funder_hash,
            };
            let tx =
                Transaction::signed_transfer(&[(prev_out, k)], vec![out], Vec::new(), &genesis);
            serde_json::json!({ "hex": hex::encode(tx.to_bytes()) }).to_string()
        })
        .collect()
}

/// Request latencies (of every answered request), the successes, and the failures seen (with the first
/// failure's text).
#[derive(Default)]
struct Outcome {
    latencies: Vec<Duration>,
    successes: usize,
    failures: usize,
    first_failure: Option<String>,
}

impl Outcome {
    fn merge(&mut self, other: Outcome) {
        self.latencies.extend(other.latencies);
        self.successes += other.successes;
        self.failures += other.failures;
        if self.first_failure.is_none() {
            self.first_failure = other.first_failure;
        }
    }

    fn fail(&mut self, why: String) {
        self.failures += 1;
        self.first_failure.get_or_insert(why);
    }
}

/// POSTs each body to `url` in turn, timing each request until its whole answer is read.
async fn post_all(client: reqwest::Client, url: String, bodies: Vec<String>) -> Outcome {
    let mut out = Outcome::default();
    for body in bodies {
        let start = Instant::now();
        let sent = client
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
        match sent {
            Ok(resp) => {
                let status = resp.status();
                let text = resp.text().await;
                out.latencies.push(start.elapsed());
                if status == reqwest::StatusCode::CREATED {
                    out.successes += 1;
                } else {
                    out.fail(format!("{status}: {}", text.unwrap_or_default()));
                }
            }
            Err(e) => out.fail(e.to_string()),
        }
    }
    out
}

/// Mean, median and 95th percentile of `latencies`, in ms.
fn stats(latencies: &[Duration]) -> (f64, f64, f64) {
    if latencies.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let mut ms: Vec<f64> = latencies.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    let mean = ms.iter().sum::<f64>() / ms.len() as f64;
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    (mean, at(0.5), at(0.95))
}

/// One submission scenario with `clients` concurrent clients on a fresh node; returns its summary line.
fn submissions(rt: &Runtime, clients: usize, backend: Backend) -> (String, f64) {
    let setup = Instant::now();
    let node = backend.node(rt);
    let bodies = prepare_transfers(&node.node);
    let served = rt.block_on(node.serve());
    println!(
        "  setup (fund {TRANSFERS} keys, sign {TRANSFERS} transfers): {:.2} s",
        setup.elapsed().as_secs_f64()
    );
    let client = reqwest::Client::new();
    let url = format!("{}/api/v1/txs", served.root());
    let (outcome, wall) = rt.block_on(async {
        // Open the connections before timing.
        let warm: Vec<_> = (0..clients)
            .map(|_| {
                let (client, status) = (client.clone(), format!("{}/api/v1/status", served.root()));
                tokio::spawn(async move {
                    if let Ok(resp) = client.get(status).send().await {
                        let _ = resp.bytes().await;
                    }
                })
            })
            .collect();
        for w in warm {
            let _ = w.await;
        }
        let per_client = TRANSFERS.div_ceil(clients);
        let start = Instant::now();
        let tasks: Vec<_> = bodies
            .chunks(per_client)
            .map(|chunk| tokio::spawn(post_all(client.clone(), url.clone(), chunk.to_vec())))
            .collect();
        let mut all = Outcome::default();
        for t in tasks {
            match t.await {
                Ok(o) => all.merge(o),
                Err(e) => all.fail(format!("client task failed: {e}")),
            }
        }
        (all, start.elapsed())
    });
    let in_mempool = served.node.state().mempool().len();
    drop(client);
    rt.block_on(served.stop());
    let accepted = outcome.successes;
    let rate = accepted as f64 / wall.as_secs_f64();
    let (mean, median, p95) = stats(&outcome.latencies);
    let who = if clients == 1 {
        format!("1 client, {}", backend.name())
    } else {
        format!("{clients} clients, {}", backend.name())
    };
    println!(
        "  {who}: {accepted}/{TRANSFERS} accepted in {:.2} s = {rate:.0} tx/s; latency mean {mean:.2} ms, \
         median {median:.2} ms, p95 {p95:.2} ms; mempool holds {in_mempool}",
        wall.as_secs_f64()
    );
    if let Some(why) = &outcome.first_failure {
        println!("  {} requests failed; the first: {why}", outcome.failures);
    }
    (
        format!(
            "POST /api/v1/txs, {who:<22} {rate:>8.0} tx/s   latency mean {mean:.2} ms, median {median:.2} ms, p95 {p95:.2} ms ({accepted}/{TRANSFERS} accepted)"
        ),
        rate,
    )
}

/// Node-built transfers from the miner's held key through the seed route `/transactions/new`, from
/// `clients` concurrent clients; returns the summary line and the rate of 201s.
fn node_built(rt: &Runtime, clients: usize, backend: Backend) -> (String, f64) {
    let node = backend.node(rt);
    let miner = node.node.miner_address();
    for _ in 0..2 {
        node.node.mine_one(miner, 0).expect("a block");
    }
    let sender = node.node.network().address(&miner);
    let recipient = node
        .node
        .network()
        .address(&key(9, 0).public_key().pubkey_hash());
    let served = rt.block_on(node.serve());
    let url = format!("{}/transactions/new", served.root());
    let body = serde_json::json!({"sender": sender, "recipient": recipient, "amount": "0.001"})
        .to_string();
    let client = reqwest::Client::new();
    let (created, conflicts, other, first_other, wall) = rt.block_on(async {
        let per = NODE_BUILT.div_ceil(clients);
        let start = Instant::now();
        let tasks: Vec<_> = (0..clients)
            .map(|_| {
                let (client, url, body) = (client.clone(), url.clone(), body.clone());
                tokio::spawn(async move {
                    let (mut created, mut conflicts, mut other, mut first) = (0, 0, 0, None);
                    for _ in 0..per {
                        match client
                            .post(&url)
                            .header("content-type", "application/json")
                            .body(body.clone())
                            .send()
                            .await
                        {
                            Ok(r) => {
                                let status = r.status();
                                let text = r.text().await.unwrap_or_default();
                                match status.as_u16() {
                                    201 => created += 1,
                                    409 => conflicts += 1,
                                    _ => {
                                        other += 1;
                                        first.get_or_insert(format!("{status}: {text}"));
                                    }
                                }
                            }
                            Err(e) => {
                                other += 1;
                                first.get_or_insert(e.to_string());
                            }
                        }
                    }
                    (created, conflicts, other, first)
                })
            })
            .collect();
        let (mut c, mut k, mut o, mut f) = (0usize, 0usize, 0usize, None);
        for t in tasks {
            if let Ok((a, b, d, e)) = t.await {
                c += a;
                k += b;
                o += d;
                f = f.or(e);
            }
        }
        (c, k, o, f, start.elapsed())
    });
    drop(client);
    rt.block_on(served.stop());
    let rate = created as f64 / wall.as_secs_f64();
    println!(
        "  {clients} clients: {created} created, {conflicts} answered 409, {other} other, in {:.2} s = {rate:.0} tx/s",
        wall.as_secs_f64()
    );
    if let Some(why) = first_other {
        println!("  first other answer: {why}");
    }
    (
        format!(
            "POST /transactions/new (node-built), {clients} clients, {} {rate:>8.0} tx/s   ({created} created, {conflicts} × 409, {other} other)",
            backend.name()
        ),
        rate,
    )
}

/// `GET /api/v1/status` and an axum hello-world, each with 1, 16 and 32 clients; returns summary lines.
fn status_rates(rt: &Runtime) -> Vec<String> {
    let served = rt.block_on(dev_node(rt).serve());
    let url = format!("{}/api/v1/status", served.root());
    let client = reqwest::Client::new();
    let mut lines = Vec::new();
    for clients in CLIENTS {
        let (rate, failures) =
            rt.block_on(common::get_rate(&client, &url, clients, STATUS_REQUESTS));
        let hello = rt.block_on(common::hello_world_rate(clients, STATUS_REQUESTS));
        println!(
            "  {clients} clients: status {rate:.0} req/s ({failures} failed), axum hello-world {hello:.0} req/s, ratio {}",
            common::ratio(rate, hello)
        );
        lines.push(format!(
            "GET /api/v1/status, {clients:>2} clients {rate:>8.0} req/s   hello-world {hello:.0} req/s, ratio {}",
            common::ratio(rate, hello)
        ));
    }
    drop(client);
    rt.block_on(served.stop());
    lines
}

/// `GET /mine` latency on a fresh `dev` node; returns its summary lines.
fn mine_latency(rt: &Runtime) -> Vec<String> {
    let served = rt.block_on(dev_node(rt).serve());
    let client = reqwest::Client::new();
    let url = format!("{}/mine", served.root());
    let hashes_before = served.node.miner().total_hashes();
    let (outcome, wall) = rt.block_on(async {
        let start = Instant::now();
        let mut out = Outcome::default();
        for _ in 0..MINE_REQUESTS {
            let t = Instant::now();
            match client.get(&url).send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let text = resp.text().await;
                    out.latencies.push(t.elapsed());
                    if status.is_success() {
                        out.successes += 1;
                    } else {
                        out.fail(format!("{status}: {}", text.unwrap_or_default()));
                    }
                }
                Err(e) => out.fail(e.to_string()),
            }
        }
        (out, start.elapsed())
    });
    let hashes = served.node.miner().total_hashes() - hashes_before;
    let height = served.node.state().tip().height.0;
    let threads = served.node.miner().threads();
    drop(client);
    rt.block_on(served.stop());
    let (mean, median, p95) = stats(&outcome.latencies);
    let expected_hashes = 2f64.powi(16);
    let implied = expected_hashes / (mean / 1e3);
    let measured = hashes as f64 / wall.as_secs_f64();
    println!(
        "  {MINE_REQUESTS} requests, {threads} mining threads, tip now at height {height}: mean {mean:.2} ms, \
         median {median:.2} ms, p95 {p95:.2} ms"
    );
    println!(
        "  implied hash rate (2^16 per block / mean): {:.2} MH/s; miner's count: {hashes} hashes in {:.2} s = \
         {:.2} MH/s ({:.0} per block)",
        implied / 1e6,
        wall.as_secs_f64(),
        measured / 1e6,
        hashes as f64 / MINE_REQUESTS as f64
    );
    if let Some(why) = &outcome.first_failure {
        println!("  {} requests failed; the first: {why}", outcome.failures);
    }
    vec![
        format!(
            "GET /mine (dev, 16 bits, {threads} threads) latency mean {mean:.2} ms, median {median:.2} ms, p95 {p95:.2} ms"
        ),
        format!(
            "GET /mine hash rate                 implied {:.2} MH/s, miner-counted {:.2} MH/s",
            implied / 1e6,
            measured / 1e6
        ),
    ]
}

/// An easy copy of the `dev` spec (1-bit difficulty), so a long chain is built in seconds.
fn easy_network() -> Network {
    let mut spec = ChainSpec::dev();
    spec.name = "bench-api-chain".into();
    spec.initial_bits = Target::from_leading_zero_bits(1).to_compact();
    spec.pow_limit = Target::from_leading_zero_bits(1);
    Network::new(spec).expect("valid bench spec")
}

/// [`CHAIN_BLOCKS`] blocks after genesis: a coinbase in each, a transfer in every tenth.
fn long_chain(net: &Network, miner: &SigningKey) -> Vec<Block> {
    let mut chain = ChainBuilder::new(net.clone());
    let miner_hash = miner.public_key().pubkey_hash();
    let other = key(3, 0).public_key().pubkey_hash();
    for i in 0..CHAIN_BLOCKS {
        let mut txs = Vec::new();
        if i % 10 == 1 {
            let mut used = Vec::new();
            if let Some(tx) = chain.transfer(
                miner,
                other,
                Amount::from_units(1).expect("small"),
                Amount::ZERO,
                Vec::new(),
                &mut used,
            ) {
                txs.push(tx);
            }
        }
        let t = chain.tip().header.time_ms + 10_000;
        chain
            .mine_block(txs, miner_hash, t, &mut rand::rng())
            .expect("bench blocks are valid");
    }
    chain.blocks()[1..].to_vec()
}

/// Times `count` GETs of `url`; returns the latencies and the size of the last answer.
async fn get_times(client: &reqwest::Client, url: &str, count: usize) -> (Outcome, usize) {
    let mut out = Outcome::default();
    let mut size = 0;
    for _ in 0..count {
        let t = Instant::now();
        match client.get(url).send().await {
            Ok(resp) => {
                let status = resp.status();
                let body = resp.bytes().await;
                out.latencies.push(t.elapsed());
                match body {
                    Ok(b) if status.is_success() => {
                        out.successes += 1;
                        size = b.len();
                    }
                    Ok(b) => out.fail(format!("{status}: {}", String::from_utf8_lossy(&b))),
                    Err(e) => out.fail(e.to_string()),
                }
            }
            Err(e) => out.fail(e.to_string()),
        }
    }
    (out, size)
}

/// `GET /chain` of a [`CHAIN_BLOCKS`]-block chain; returns its summary lines.
fn chain_reads(rt: &Runtime) -> Vec<String> {
    let net = easy_network();
    let miner = key(4, 0);
    let dir = tempfile::tempdir().expect("temp dir");
    let spec_file = dir.path().join("bench-api-chain.toml");
    std::fs::write(&spec_file, net.spec().to_toml().expect("the spec writes"))
        .expect("write the spec file");
    let build = Instant::now();
    let blocks = long_chain(&net, &miner);
    println!(
        "  built {CHAIN_BLOCKS} blocks with ChainBuilder in {:.2} s",
        build.elapsed().as_secs_f64()
    );
    let (network, miner_address) = (
        spec_file.display().to_string(),
        net.address(&miner.public_key().pubkey_hash()),
    );
    let opened = rt.block_on(
        TestNode::builder()
            .data_dir(dir.path().join("data"))
            .config(move |c| {
                c.network = network;
                c.miner_address = Some(miner_address);
                c.mine_threads = Config::default().mine_threads;
            })
            .open(),
    );
    let node = &opened.node;
    let submit = Instant::now();
    for block in blocks {
        node.submit_block(block).expect("bench blocks are valid");
    }
    println!(
        "  submitted them to the node in {:.2} s (SQLite, synchronous=FULL)",
        submit.elapsed().as_secs_f64()
    );
    let served = rt.block_on(opened.serve());
    let client = reqwest::Client::new();
    let full_url = format!("{}/chain", served.root());
    let page_from = CHAIN_BLOCKS - 100;
    let page_url = format!("{}/chain?from={page_from}&limit=100", served.root());
    let (full, full_size, page, page_size, length, page_len) = rt.block_on(async {
        // Untimed warm-up, also checking the answer's shape.
        let (mut length, mut page_len) = (0, 0);
        if let Ok(resp) = client.get(&full_url).send().await
            && let Ok(v) = resp.json::<serde_json::Value>().await
        {
            length = v["chain"].as_array().map_or(0, Vec::len);
        }
        if let Ok(resp) = client.get(&page_url).send().await
            && let Ok(v) = resp.json::<serde_json::Value>().await
        {
            page_len = v["chain"].as_array().map_or(0, Vec::len);
        }
        let (full, full_size) = get_times(&client, &full_url, FULL_CHAIN_REQUESTS).await;
        let (page, page_size) = get_times(&client, &page_url, PAGE_REQUESTS).await;
        (full, full_size, page, page_size, length, page_len)
    });
    drop(client);
    rt.block_on(served.stop());
    let mb = full_size as f64 / 1e6;
    let (mean, median, _) = stats(&full.latencies);
    println!(
        "  full GET /chain: {length} blocks, {mb:.2} MB; {FULL_CHAIN_REQUESTS} requests: mean {mean:.1} ms, \
         median {median:.1} ms = {:.1} MB/s, {:.0} blocks/s",
        mb / (mean / 1e3),
        length as f64 / (mean / 1e3)
    );
    let (pmean, pmedian, pp95) = stats(&page.latencies);
    println!(
        "  paged GET /chain?from={page_from}&limit=100: {page_len} blocks, {:.1} KB; {PAGE_REQUESTS} requests: \
         mean {pmean:.2} ms, median {pmedian:.2} ms, p95 {pp95:.2} ms",
        page_size as f64 / 1e3
    );
    for (what, o) in [("full", &full), ("paged", &page)] {
        if let Some(why) = &o.first_failure {
            println!("  {what}: {} requests failed; the first: {why}", o.failures);
        }
    }
    vec![
        format!(
            "GET /chain, {length} blocks ({mb:.2} MB)   mean {mean:.1} ms, median {median:.1} ms per request"
        ),
        format!(
            "GET /chain?from={page_from}&limit=100      mean {pmean:.2} ms, median {pmedian:.2} ms, p95 {pp95:.2} ms ({:.1} KB)",
            page_size as f64 / 1e3
        ),
    ]
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return; // `cargo test --benches` only checks that it builds
    }
    let started = Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    // `FERROCHAIN_BENCH_ONLY=txs,node-built,status,mine,chain` runs some scenarios only (to profile one).
    let only = std::env::var("FERROCHAIN_BENCH_ONLY").ok();
    let run = |name: &str| {
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|x| x == name))
    };
    let limits = common::measure();
    println!(
        "machine limits: {:.0} fsync'd commits/s (temp dir), {:.0} Ed25519 verifies/s on one core",
        limits.fsyncs_per_s, limits.verifies_per_s
    );
    let mut summary = vec![format!(
        "machine: {:.0} fsync'd commits/s, {:.0} Ed25519 verifies/s/core, {} cores",
        limits.fsyncs_per_s,
        limits.verifies_per_s,
        cores()
    )];
    let runs = Backend::all()
        .into_iter()
        .flat_map(|b| CLIENTS.into_iter().map(move |c| (b, c)));
    for (backend, clients) in runs.filter(|_| run("txs")) {
        println!(
            "transaction submissions, {TRANSFERS} signed transfers, {clients} client(s), {}:",
            backend.name()
        );
        let (line, rate) = submissions(&rt, clients, backend);
        summary.push(line);
        summary.push(format!(
            "  ratios: {} of one fsync per tx, {} of one core's verifies",
            common::ratio(rate, limits.fsyncs_per_s),
            common::ratio(rate, limits.verifies_per_s)
        ));
    }
    for backend in Backend::all().into_iter().filter(|_| run("node-built")) {
        println!(
            "node-built transfers, {NODE_BUILT} through /transactions/new, {}:",
            backend.name()
        );
        let (line, rate) = node_built(&rt, NODE_BUILT_CLIENTS, backend);
        summary.push(line);
        summary.push(format!(
            "  ratio to one fsync per tx: {}",
            common::ratio(rate, limits.fsyncs_per_s)
        ));
    }
    if run("status") {
        println!("GET /api/v1/status:");
        summary.extend(status_rates(&rt));
    }
    if run("mine") {
        println!("GET /mine on dev:");
        summary.extend(mine_latency(&rt));
    }
    if run("chain") {
        println!("GET /chain of a {CHAIN_BLOCKS}-block chain:");
        summary.extend(chain_reads(&rt));
    }
    println!();
    println!(
        "summary ({} cores, {:.1} s in all):",
        cores(),
        started.elapsed().as_secs_f64()
    );
    for line in summary {
        println!("  {line}");
    }
}
