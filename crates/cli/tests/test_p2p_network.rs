//! The network with real `ferrochain node` processes on 127.0.0.1 (issue 6, DESIGN §5):
//!
//! - relay along a line A–B–C: a transaction submitted at A is in C's mempool, and a block mined at C is the
//!   tip of C, B and A, each within 2 s; nothing is sent back to where it came from;
//! - catch-up: an empty node next to a node with 2,000 blocks reaches its tip by headers-first sync;
//! - crash: a node killed with SIGKILL during that sync restarts and finishes it;
//! - partition and heal: two groups mine apart (cut by the nodes' own ban controls), the one with more work
//!   wins once they reconnect, the losing side's confirmed transactions return to the mempool and are
//!   confirmed again, none is lost;
//! - scale: 12 nodes in a ring with one miner, every node at the same tip within 3 s of each block, 50 blocks.
//!
//! The tests run one at a time (they measure time, and share two cores). Peer exchange is turned off
//! (`FERROCHAIN_P2P_TARGET_PEERS=0`) where a topology must stay as built.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use ferrochain_core::{Network, PubkeyHash};
use serde_json::{Value, json};
use support::{
    NodeProc, build_chain, easy_spec, free_ports, prefill, url_of, wait_for, write_spec,
};

/// One network test at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Keeps a topology as built: no peer exchange.
const FIXED: &[(&str, &str)] = &[("FERROCHAIN_P2P_TARGET_PEERS", "0")];

fn someone() -> String {
    Network::dev().address(&PubkeyHash::from_bytes([5; 20]))
}

/// The entry of `peer` in `node`'s peer list.
async fn peer_entry(node: &NodeProc, peer: &str) -> Value {
    let peers = node.get_json("/p2p/v1/peers").await;
    peers["peers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["url"] == peer)
        .cloned()
        .unwrap_or_else(|| panic!("{} does not list {peer}: {peers}", node.url))
}

/// Waits until every node has `hash` as its tip; returns how long it took.
async fn all_at(nodes: &[&NodeProc], hash: &str, limit: Duration, what: &str) -> Duration {
    let start = Instant::now();
    wait_for(limit, what, || async {
        for n in nodes {
            if n.try_status().await?["tip"] != hash {
                return None;
            }
        }
        Some(())
    })
    .await;
    start.elapsed()
}

async fn wait_peers(node: &NodeProc, expected: &[&str]) {
    let mut expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    expected.sort();
    wait_for(Duration::from_secs(15), "the peers register", || async {
        let mut urls = node.peer_urls().await;
        urls.sort();
        (urls == expected).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_and_a_block_cross_a_line_of_three_nodes_within_two_seconds() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let p = free_ports(3);
    let a = NodeProc::start(&dir.path().join("a"), p[0], &[], FIXED).await;
    let b = NodeProc::start(&dir.path().join("b"), p[1], &["--peer", &a.url], FIXED).await;
    let c = NodeProc::start(&dir.path().join("c"), p[2], &["--peer", &b.url], FIXED).await;
    wait_peers(&a, &[&b.url]).await;
    wait_peers(&b, &[&a.url, &c.url]).await;
    wait_peers(&c, &[&b.url]).await;

    // A mines a block for coins; it crosses the line.
    let first = a.mine(1).await;
    let took = all_at(
        &[&a, &b, &c],
        &first,
        Duration::from_secs(2),
        "A's block at C",
    )
    .await;
    eprintln!("a block from A reached C in {took:?}");

    // A transaction submitted at A reaches C's mempool, through B.
    let started = Instant::now();
    let txid = a.pay(&someone(), 1).await;
    wait_for(
        Duration::from_secs(2),
        "the transaction in C's mempool",
        || async { (c.tx_status(&txid).await?.0 == "pending").then_some(()) },
    )
    .await;
    eprintln!(
        "a transaction from A reached C's mempool in {:?}",
        started.elapsed()
    );

    // A block mined at C (with that transaction) becomes the tip of C, B and A.
    let started = Instant::now();
    let block = c.mine(1).await;
    let took = all_at(
        &[&c, &b, &a],
        &block,
        Duration::from_secs(2),
        "C's block at A",
    )
    .await;
    eprintln!(
        "a block from C reached A in {took:?} ({:?} with mining)",
        started.elapsed()
    );
    for n in [&a, &b, &c] {
        assert_eq!(
            n.tx_status(&txid).await,
            Some(("confirmed".to_string(), Some(block.clone())))
        );
    }

    // Each item went to every peer once, never back to its sender: A's block and transaction went A→B→C,
    // C's block C→B→A.
    let count = |v: &Value| (v["blocks_announced"].as_u64(), v["txs_announced"].as_u64());
    assert_eq!(count(&peer_entry(&a, &b.url).await), (Some(1), Some(1)));
    assert_eq!(count(&peer_entry(&b, &c.url).await), (Some(1), Some(1)));
    assert_eq!(count(&peer_entry(&c, &b.url).await), (Some(1), Some(0)));
    assert_eq!(count(&peer_entry(&b, &a.url).await), (Some(1), Some(0)));
    // The line stayed a line.
    assert!(!c.peer_urls().await.contains(&a.url));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_node_catches_up_2000_blocks_and_one_killed_mid_sync_finishes_after_a_restart() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let spec = easy_spec();
    let spec_path = write_spec(dir.path(), &spec);
    let network = Network::new(spec).unwrap();
    let started = Instant::now();
    let blocks = build_chain(&network, 2000, 1);
    let built = started.elapsed();
    prefill(&dir.path().join("a"), &spec_path, &blocks);
    eprintln!(
        "built 2,000 blocks in {built:?}, stored them in {:?}",
        started.elapsed() - built
    );
    let tip = blocks.last().unwrap().hash().to_string();
    let miner = Network::dev().address(&PubkeyHash::from_bytes([8; 20]));
    let spec_arg = spec_path.display().to_string();
    let args = |peer: Option<&str>| {
        let mut v = vec![
            "--network".to_string(),
            spec_arg.clone(),
            "--miner-address".to_string(),
            miner.clone(),
        ];
        if let Some(p) = peer {
            v.push("--peer".into());
            v.push(p.to_string());
        }
        v
    };
    let p = free_ports(3);
    let a_args = args(None);
    let a_refs: Vec<&str> = a_args.iter().map(String::as_str).collect();
    let a = NodeProc::start(&dir.path().join("a"), p[0], &a_refs, FIXED).await;
    assert_eq!(a.tip().await, (2000, tip.clone()));

    // Catch-up: B starts empty with A as its peer and syncs at start.
    let b_args = args(Some(&a.url));
    let b_refs: Vec<&str> = b_args.iter().map(String::as_str).collect();
    let started = Instant::now();
    let b = NodeProc::start(&dir.path().join("b"), p[1], &b_refs, FIXED).await;
    let took = all_at(&[&b], &tip, Duration::from_secs(90), "B catches up").await;
    eprintln!(
        "catch-up of 2,000 blocks: {:?} after start ({:.0} blocks/s)",
        started.elapsed(),
        2000.0 / took.as_secs_f64()
    );
    // Headers first: B checked all 2,000 headers and took the 2,000 bodies from A.
    let entry = peer_entry(&b, &a.url).await;
    assert!(entry["headers_synced"].as_u64().unwrap() >= 2000, "{entry}");
    assert_eq!(entry["blocks_synced"], 2000, "{entry}");

    // Crash: C is killed with SIGKILL while it syncs, then restarted on the same data directory.
    let c_args = args(Some(&a.url));
    let c_refs: Vec<&str> = c_args.iter().map(String::as_str).collect();
    let mut c = NodeProc::start(&dir.path().join("c"), p[2], &c_refs, FIXED).await;
    let height = wait_for(Duration::from_secs(60), "C starts syncing", || async {
        let h = c.try_status().await?["height"].as_u64()?;
        (h >= 100).then_some(h)
    })
    .await;
    c.kill9();
    assert!(
        height < 2000,
        "the sync was over before the kill ({height})"
    );
    eprintln!("killed C at height {height} or a little above");
    c.restart().await;
    let after = c.tip().await.0;
    assert!(after >= height, "C lost blocks: {after} < {height}");
    all_at(&[&c], &tip, Duration::from_secs(90), "C finishes the sync").await;
    assert_eq!(c.tip().await, (2000, tip));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_partition_the_side_with_more_work_wins_and_no_transaction_is_lost() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let p = free_ports(4);
    // A line a1 – a2 – b1 – b2; the link a2 – b1 is the one to cut.
    let a1 = NodeProc::start(&dir.path().join("a1"), p[0], &[], FIXED).await;
    let a2 = NodeProc::start(&dir.path().join("a2"), p[1], &["--peer", &a1.url], FIXED).await;
    let b1 = NodeProc::start(&dir.path().join("b1"), p[2], &["--peer", &a2.url], FIXED).await;
    let b2 = NodeProc::start(&dir.path().join("b2"), p[3], &["--peer", &b1.url], FIXED).await;
    wait_peers(&a2, &[&a1.url, &b1.url]).await;
    wait_peers(&b1, &[&a2.url, &b2.url]).await;
    let all = [&a1, &a2, &b1, &b2];
    // Coins for a1 and b2, on the common chain (b2 mines once a1's block reached it, or the two blocks
    // would compete at the same height, each side keeping the one it saw first).
    let first = a1.mine(1).await;
    all_at(&all, &first, Duration::from_secs(5), "a1's block").await;
    let common = b2.mine(1).await;
    all_at(&all, &common, Duration::from_secs(5), "the common chain").await;

    // Cut the link with the nodes' own controls: each bans the other.
    for (node, other) in [(&a2, &b1), (&b1, &a2)] {
        let (status, answer) = node
            .post(
                "/p2p/v1/peers/ban",
                &json!({"url": other.url, "reason": "partition test"}),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
    }
    assert!(!a2.peer_urls().await.contains(&b1.url));

    // Side A: two payments (the second spends the first's change), confirmed in one block.
    let tx_a1 = a1.pay(&someone(), 1).await;
    let tx_a2 = a1.pay(&someone(), 2).await;
    wait_for(
        Duration::from_secs(5),
        "side A's payments reach a2",
        || async { (a2.tx_status(&tx_a2).await?.0 == "pending").then_some(()) },
    )
    .await;
    let a_tip = a2.mine(1).await;
    all_at(
        &[&a1, &a2],
        &a_tip,
        Duration::from_secs(5),
        "side A's block",
    )
    .await;
    // Side B: one payment and more blocks, so more work.
    let tx_b = b2.pay(&someone(), 3).await;
    wait_for(
        Duration::from_secs(5),
        "side B's payment reaches b1",
        || async { (b1.tx_status(&tx_b).await?.0 == "pending").then_some(()) },
    )
    .await;
    b1.mine(1).await;
    let b_tip = b1.mine(1).await;
    all_at(
        &[&b1, &b2],
        &b_tip,
        Duration::from_secs(5),
        "side B's blocks",
    )
    .await;
    for tx in [&tx_a1, &tx_a2] {
        assert_eq!(a1.tx_status(tx).await.unwrap().0, "confirmed");
        assert_eq!(b1.tx_status(tx).await, None, "the partition leaked");
    }

    // Heal: lift the bans; each side registers the other again.
    for (node, other) in [(&a2, &b1), (&b1, &a2)] {
        let (status, answer) = node
            .post("/p2p/v1/peers/unban", &json!({"url": other.url}))
            .await;
        assert_eq!(status, 200, "{answer}");
    }
    let took = all_at(
        &all,
        &b_tip,
        Duration::from_secs(15),
        "everyone on side B's chain",
    )
    .await;
    eprintln!("the partition healed in {took:?}");

    // Side A's payments are pending again everywhere — back in the mempools, relayed to side B.
    for tx in [&tx_a1, &tx_a2] {
        assert_eq!(a1.tx_status(tx).await.unwrap().0, "pending");
        wait_for(
            Duration::from_secs(5),
            "a returned payment reaches b2",
            || async { (b2.tx_status(tx).await?.0 == "pending").then_some(()) },
        )
        .await;
    }
    // They are confirmed again by the next block, and nothing is lost.
    let last = b2.mine(1).await;
    all_at(&all, &last, Duration::from_secs(5), "the last block").await;
    for node in all {
        for tx in [&tx_a1, &tx_a2, &tx_b] {
            let (state, _) = node.tx_status(tx).await.unwrap();
            assert_eq!(state, "confirmed", "{tx} at {}", node.url);
        }
        assert_eq!(node.status().await["mempool"], 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twelve_nodes_in_a_ring_reach_each_new_tip_within_three_seconds() {
    let _serial = SERIAL.lock().await;
    const NODES: usize = 12;
    const BLOCKS: usize = 50;
    let dir = tempfile::tempdir().unwrap();
    let ports = free_ports(NODES);
    let started = Instant::now();
    let mut nodes: Vec<NodeProc> = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let mut args = Vec::new();
        if i > 0 {
            args.push("--peer".to_string());
            args.push(url_of(ports[i - 1]));
        }
        if i == NODES - 1 {
            args.push("--peer".to_string());
            args.push(url_of(ports[0]));
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let data = dir.path().join(format!("n{i}"));
        nodes.push(NodeProc::start(&data, *port, &refs, FIXED).await);
    }
    for (i, node) in nodes.iter().enumerate() {
        let left = url_of(ports[(i + NODES - 1) % NODES]);
        let right = url_of(ports[(i + 1) % NODES]);
        wait_peers(node, &[&left, &right]).await;
    }
    eprintln!(
        "{NODES} nodes up and in a ring after {:?}",
        started.elapsed()
    );

    let refs: Vec<&NodeProc> = nodes.iter().collect();
    let mut worst = Duration::ZERO;
    let mut total = Duration::ZERO;
    let run = Instant::now();
    for i in 0..BLOCKS {
        let mined = Instant::now();
        let hash = nodes[0].mine(1).await;
        let spread = all_at(
            &refs,
            &hash,
            Duration::from_secs(3),
            &format!("block {} at every node", i + 1),
        )
        .await;
        let took = mined.elapsed();
        worst = worst.max(took);
        total += took;
        let _ = spread;
    }
    eprintln!(
        "{BLOCKS} blocks across a ring of {NODES}: mean {:?}, worst {worst:?} from mining to the last node, \
         {:?} in all",
        total / BLOCKS as u32,
        run.elapsed()
    );
    assert!(worst <= Duration::from_secs(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_learn_peers_from_their_peers_and_remember_them() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let p = free_ports(3);
    let fast = [("FERROCHAIN_P2P_POLL_SECS", "1")];
    let mut a = NodeProc::start(&dir.path().join("a"), p[0], &[], &fast).await;
    let b = NodeProc::start(&dir.path().join("b"), p[1], &["--peer", &a.url], &fast).await;
    let c = NodeProc::start(&dir.path().join("c"), p[2], &["--peer", &b.url], &fast).await;
    // A and C never named each other: they learn of each other from B's list.
    let started = Instant::now();
    wait_peers(&a, &[&b.url, &c.url]).await;
    wait_peers(&c, &[&a.url, &b.url]).await;
    eprintln!(
        "A and C found each other through B in {:?}",
        started.elapsed()
    );
    // A remembers its peers across a restart (peers.json), without --peer.
    a.terminate();
    a.restart().await;
    let mut listed = a.peer_urls().await;
    listed.sort();
    let mut expected = vec![b.url.clone(), c.url.clone()];
    expected.sort();
    assert_eq!(listed, expected);
}
