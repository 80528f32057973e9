//! The miner on an opened node: blocks found by the threads connect, carry the mempool's transactions and pay
//! subsidy plus fees; continuous mining with an interval produces blocks and stops on request.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use ferrochain_core::Amount;
use ferrochain_node::{Config, Node};

fn node(dir: &std::path::Path, threads: usize) -> Node {
    let config = Config {
        data_dir: dir.to_path_buf(),
        mine_threads: threads,
        ..Config::default()
    };
    Node::open(config).unwrap()
}

#[test]
fn mined_blocks_connect_and_pay_subsidy_plus_fees() {
    let dir = tempfile::tempdir().unwrap();
    let node = node(dir.path(), 2);
    let miner = node.miner_address();
    let b1 = node.mine_one(miner, 100).unwrap();
    assert_eq!(node.state().tip().hash, b1.hash());
    assert_eq!(
        b1.transactions[0].outputs[0].amount,
        Amount::parse_units("10", 8).unwrap()
    );
    assert!(b1.header.nonce < ferrochain_node::NONCE_LIMIT);
    // A transfer with a fee, from the node-held miner key, is mined into the next block with its fee.
    let to = node
        .network()
        .parse_address(&node.new_held_address().unwrap())
        .unwrap();
    let from = node.network().address(&miner);
    let fee = Amount::from_units(1234).unwrap();
    let tx = node
        .pay_from_held(
            &from,
            to,
            Amount::parse_units("3", 8).unwrap(),
            fee,
            b"hi".to_vec(),
        )
        .unwrap();
    let txid = node.submit_transaction(tx).unwrap();
    let b2 = node.mine_one(miner, 100).unwrap();
    assert_eq!(b2.transactions[1].txid(), txid);
    let reward = b2.transactions[0].outputs[0].amount;
    assert_eq!(
        reward,
        Amount::parse_units("10", 8)
            .unwrap()
            .checked_add(fee)
            .unwrap()
    );
    assert!(node.state().mempool().is_empty());
    assert!(node.miner().total_hashes() > 0);
    // The reopened node has the same chain.
    let tip = node.state().tip();
    drop(node);
    assert_eq!(self::node(dir.path(), 1).state().tip(), tip);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continuous_mining_with_an_interval_and_stop() {
    let dir = tempfile::tempdir().unwrap();
    let node = node(dir.path(), 1);
    node.start_mining(node.miner_address(), 1).await.unwrap();
    let start = Instant::now();
    while node.state().tip().height.0 < 2 {
        assert!(start.elapsed() < Duration::from_secs(20), "no blocks mined");
        std::thread::sleep(Duration::from_millis(50));
    }
    // One block per second: two blocks take at least about two seconds.
    assert!(
        start.elapsed() >= Duration::from_millis(1900),
        "{:?}",
        start.elapsed()
    );
    let stopping = Instant::now();
    node.stop_mining().await.unwrap();
    assert!(stopping.elapsed() < Duration::from_secs(1));
    assert_eq!(node.miner().continuous(), None);
    let height = node.state().tip().height;
    std::thread::sleep(Duration::from_millis(1300));
    assert_eq!(
        node.state().tip().height,
        height,
        "mining went on after stop"
    );
}
