//! Concurrent payments from one node-held key: each is built (coins chosen) and admitted under the sender's
//! payment lock, so none picks coins another is spending — all are accepted while funds suffice, and the
//! balances come out exact.
#![allow(clippy::unwrap_used)]

use ferrochain_core::Amount;
use ferrochain_node::{Config, Node};

const THREADS: usize = 16;
const PER_THREAD: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 16)]
async fn sixteen_concurrent_payments_from_one_held_key_are_all_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::open(Config {
        data_dir: dir.path().to_path_buf(),
        mine_threads: 1,
        ..Config::default()
    })
    .unwrap();
    let miner = node.miner_address();
    let from = node.network().address(&miner);
    // Two block rewards of 10: two outputs, so the payments spend unconfirmed change.
    for _ in 0..2 {
        node.mine_one(miner, 0).unwrap();
    }
    let to_text = node.new_held_address().unwrap();
    let to = node.network().parse_address(&to_text).unwrap();
    let each = Amount::parse_units("0.1", 8).unwrap();
    // Each round starts all payments at once, so they overlap as much as they can.
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(THREADS));
    let mut tasks = Vec::new();
    for _ in 0..THREADS {
        let (node, from, barrier) = (node.clone(), from.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let mut txids = Vec::new();
            for _ in 0..PER_THREAD {
                barrier.wait().await;
                // Errors are collected, not unwrapped here: a panicking task would leave the others at the
                // barrier.
                let paid = node
                    .pay(from.clone(), to, each, Amount::ZERO, Vec::new())
                    .await;
                txids.push(paid.map(|tx| tx.txid()).map_err(|e| e.to_string()));
            }
            txids
        }));
    }
    let mut txids = Vec::new();
    for t in tasks {
        txids.extend(t.await.unwrap());
    }
    let refused: Vec<&String> = txids.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(refused.is_empty(), "payments refused: {refused:?}");
    let n = (THREADS * PER_THREAD) as u64;
    assert_eq!(txids.len() as u64, n);
    assert_eq!(
        node.state().mempool().len() as u64,
        n,
        "every payment waits in the pool"
    );
    let paid = Amount::from_units(each.to_units() * n).unwrap();
    let twenty = Amount::parse_units("20", 8).unwrap();
    let sender = node.state().balance(&miner).unwrap();
    assert_eq!(sender.confirmed, twenty);
    assert_eq!(sender.pending, twenty.checked_sub(paid).unwrap());
    assert_eq!(node.state().balance(&to).unwrap().pending, paid);
    // One block confirms them all: the balances are exact.
    let block = node.mine_one(miner, 1_000).unwrap();
    assert_eq!(block.transactions.len() as u64, n + 1);
    assert!(node.state().mempool().is_empty());
    let ten = Amount::parse_units("10", 8).unwrap();
    assert_eq!(
        node.state().balance(&miner).unwrap().confirmed,
        twenty.checked_sub(paid).unwrap().checked_add(ten).unwrap()
    );
    assert_eq!(node.state().balance(&to).unwrap().confirmed, paid);
}
