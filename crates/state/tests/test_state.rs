//! The chain state on real stores (SQLite always, PostgreSQL when `FERROCHAIN_TEST_POSTGRES_URL` is set):
//! reorgs there and back, restart, invalid blocks leaving no trace, orphans and the mempool.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};

use ferrochain_core::builder::ChainBuilder;
use ferrochain_core::check::{BlockError, TxError};
use ferrochain_core::spec::Allocation;
use ferrochain_core::{
    Amount, Block, ChainSpec, Network, PubkeyHash, SigningKey, Target, Transaction, TxKind,
};
use ferrochain_state::{BlockOutcome, MempoolError, State, StateConfig, StateError};
use support::Backend;

const COIN: u64 = 100_000_000;

fn key(b: u8) -> SigningKey {
    SigningKey::from_secret_bytes([b; 32])
}

fn addr(k: &SigningKey) -> PubkeyHash {
    k.public_key().pubkey_hash()
}

fn units(coins: u64) -> Amount {
    Amount::from_units(coins * COIN).unwrap()
}

/// An easy network with coins for alice (1) and bob (2) in several outputs.
fn network() -> Network {
    let mut spec = ChainSpec::dev();
    spec.name = "state-tests".into();
    spec.initial_bits = Target::from_leading_zero_bits(8).to_compact();
    for (k, coins) in [(1, 100), (1, 200), (1, 300), (2, 50), (2, 70)] {
        spec.genesis_allocations.push(Allocation {
            address: addr(&key(k)),
            amount: units(coins),
        });
    }
    Network::new(spec).unwrap()
}

fn config() -> StateConfig {
    // A clock far ahead of every block time, so "too far in the future" never applies here.
    StateConfig {
        clock: std::sync::Arc::new(|| 4_000_000_000_000),
        ..StateConfig::default()
    }
}

fn open(backend: &Backend) -> State {
    State::open(network(), backend.store(), config()).unwrap()
}

/// Mines a block on `chain` with `txs`, rewarding `miner`, `step` seconds after the tip.
fn mine(chain: &mut ChainBuilder, txs: Vec<Transaction>, miner: u8, step: u64) -> Block {
    let t = chain.tip().header.time_ms + step * 1000;
    chain
        .mine_block(txs, addr(&key(miner)), t, &mut rand::rng())
        .unwrap();
    chain.tip().clone()
}

/// A snapshot of what a user can see of the state, to compare two states.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    tip: ferrochain_core::BlockHash,
    height: u64,
    utxos: BTreeSet<String>,
    balances: Vec<(u64, u64)>,
    mempool: BTreeSet<ferrochain_core::Txid>,
    history: Vec<Vec<String>>,
}

fn snapshot(state: &State) -> Snapshot {
    let tip = state.tip();
    let utxos = state
        .utxo_set()
        .iter()
        .map(|(op, e)| format!("{op:?}={e:?}"))
        .collect();
    let people: Vec<SigningKey> = (1..=4).map(key).collect();
    let balances = people
        .iter()
        .map(|k| {
            let b = state.balance(&addr(k)).unwrap();
            (b.confirmed.to_units(), b.pending.to_units())
        })
        .collect();
    let history = people
        .iter()
        .map(|k| {
            state
                .history(&addr(k), 0, 1000)
                .unwrap()
                .iter()
                .map(|r| format!("{r:?}"))
                .collect()
        })
        .collect();
    Snapshot {
        tip: tip.hash,
        height: tip.height.0,
        utxos,
        balances,
        mempool: state.mempool().iter().map(|e| e.txid).collect(),
        history,
    }
}

/// Submits every block of `blocks` and expects each to be accepted.
fn submit_all(state: &State, blocks: &[Block]) {
    for b in blocks {
        let outcome = state.submit_block(b.clone()).unwrap();
        assert!(
            !matches!(outcome, BlockOutcome::Orphan { .. }),
            "orphan {outcome:?}"
        );
    }
}

/// Two branches from a common block, each with transfers spending pre-fork outputs and outputs created on
/// the branch; the state switches to the heavier one and back, and must equal a from-scratch replay.
fn reorg_there_and_back(backend: &Backend) {
    let (alice, bob, carol) = (key(1), key(2), key(3));
    let mut base = ChainBuilder::new(network());
    for i in 0..4 {
        let mut used = Vec::new();
        let tx = base
            .transfer(
                &alice,
                addr(&bob),
                units(1 + i),
                units(0),
                Vec::new(),
                &mut used,
            )
            .unwrap();
        mine(&mut base, vec![tx], 4, 10);
    }
    // Branch A: 5 blocks. Its first block spends alice's pre-fork outputs; later ones spend on-branch outputs.
    let mut a = base.clone();
    let mut a_blocks = Vec::new();
    for i in 0..5u64 {
        let mut used = Vec::new();
        let mut txs = vec![
            a.transfer(
                &alice,
                addr(&carol),
                units(10 + i),
                units(0),
                b"A".to_vec(),
                &mut used,
            )
            .unwrap(),
        ];
        if let Some(tx) = a.transfer(
            &bob,
            addr(&alice),
            units(2),
            units(0),
            Vec::new(),
            &mut used,
        ) {
            txs.push(tx);
        }
        a_blocks.push(mine(&mut a, txs, 4, 10));
    }
    // Branch B: 6 blocks, other transfers of the same pre-fork outputs (conflicting with A) and on-branch ones.
    let mut b = base.clone();
    let mut b_blocks = Vec::new();
    for i in 0..6u64 {
        let mut used = Vec::new();
        let mut txs = vec![
            b.transfer(
                &alice,
                addr(&bob),
                units(20 + i),
                units(0),
                b"B".to_vec(),
                &mut used,
            )
            .unwrap(),
        ];
        if let Some(tx) = b.transfer(
            &carol,
            addr(&bob),
            units(1),
            units(0),
            Vec::new(),
            &mut used,
        ) {
            txs.push(tx);
        }
        b_blocks.push(mine(&mut b, txs, 3, 11));
    }
    let state = open(backend);
    submit_all(&state, &base.blocks()[1..]);
    submit_all(&state, &a_blocks);
    assert_eq!(state.tip().hash, a.tip().hash());
    // B's headers come first, as a syncing node fetches them: they show more work than A, so B's bodies are
    // stored even while B's own chain is still behind.
    let b_headers: Vec<_> = b_blocks.iter().map(|blk| blk.header).collect();
    assert_eq!(state.submit_headers(&b_headers).unwrap(), 6);
    assert!(!state.header(&b_blocks[0].hash()).unwrap().has_body);
    // B overtakes A at its sixth block: one reorg of depth 5.
    for (i, blk) in b_blocks.iter().enumerate() {
        let outcome = state.submit_block(blk.clone()).unwrap();
        if i < 5 {
            assert_eq!(
                outcome,
                BlockOutcome::SideChain,
                "B block {i} has no more work than A"
            );
        } else {
            let BlockOutcome::Connected(r) = outcome else {
                panic!("expected a reorg, got {outcome:?}")
            };
            assert_eq!(r.disconnected.len(), 5);
            assert_eq!(r.connected.len(), 6);
        }
    }
    assert_eq!(state.tip().hash, b.tip().hash());
    assert_eq!(state.utxo_set(), *b.utxos());
    // A's transactions that do not conflict with B went back to the mempool.
    assert!(!state.mempool().is_empty());
    // Then A grows to 7 blocks and wins back.
    let mut a2 = a.clone();
    let a6 = mine(&mut a2, Vec::new(), 4, 10);
    let a7 = mine(&mut a2, Vec::new(), 4, 10);
    assert_eq!(state.submit_block(a6).unwrap(), BlockOutcome::SideChain);
    let BlockOutcome::Connected(r) = state.submit_block(a7).unwrap() else {
        panic!("A must win back")
    };
    assert_eq!((r.disconnected.len(), r.connected.len()), (6, 7));
    assert_eq!(state.utxo_set(), *a2.utxos());

    // From scratch: a fresh store given the final chain, then B's transactions re-submitted in chain order.
    let fresh_backend = backend.fresh();
    let fresh = State::open(network(), fresh_backend.store(), config()).unwrap();
    submit_all(&fresh, &a2.blocks()[1..]);
    for blk in &b_blocks {
        for tx in blk.transactions.iter().filter(|t| !t.is_coinbase()) {
            let _ = fresh.submit_transaction(tx.clone());
        }
    }
    assert_eq!(snapshot(&state), snapshot(&fresh));
    // And the reorged state survives a restart unchanged.
    let before = snapshot(&state);
    drop(state);
    assert_eq!(snapshot(&open(backend)), before);
}

/// A chain with blocks, transactions and a mempool is identical after closing and reopening.
fn restart_keeps_everything(backend: &Backend) {
    let (alice, bob) = (key(1), key(2));
    let mut chain = ChainBuilder::new(network());
    for i in 0..6 {
        let mut used = Vec::new();
        let tx = chain
            .transfer(
                &alice,
                addr(&bob),
                units(1 + i),
                units(0),
                b"memo".to_vec(),
                &mut used,
            )
            .unwrap();
        mine(&mut chain, vec![tx], 4, 10);
    }
    let state = open(backend);
    submit_all(&state, &chain.blocks()[1..]);
    // Pending: a transfer, a child spending its unconfirmed change, and a record.
    let mut used = Vec::new();
    let parent = chain
        .transfer(
            &alice,
            addr(&bob),
            units(5),
            units(0),
            Vec::new(),
            &mut used,
        )
        .unwrap();
    state.submit_transaction(parent.clone()).unwrap();
    let change = ferrochain_core::OutPoint {
        txid: parent.txid(),
        vout: 1,
    };
    let child = Transaction::signed_transfer(
        &[(change, &alice)],
        vec![ferrochain_core::TxOut {
            amount: units(1),
            address: addr(&bob),
        }],
        Vec::new(),
        &state.network().genesis_hash(),
    );
    state.submit_transaction(child).unwrap();
    let record = Transaction::signed_record(
        &key(3),
        b"lot 7 shipped".to_vec(),
        5,
        &state.network().genesis_hash(),
    );
    state.submit_transaction(record).unwrap();
    assert_eq!(state.mempool().len(), 3);
    let before = snapshot(&state);
    let blocks_before: Vec<_> = (0..=6)
        .map(|h| state.block_at(ferrochain_core::Height(h)).unwrap())
        .collect();
    drop(state);
    let reopened = open(backend);
    assert_eq!(snapshot(&reopened), before);
    let blocks_after: Vec<_> = (0..=6)
        .map(|h| reopened.block_at(ferrochain_core::Height(h)).unwrap())
        .collect();
    assert_eq!(blocks_after, blocks_before);
    let tx = reopened.transaction(&parent.txid()).unwrap().unwrap();
    assert!(matches!(
        tx.status,
        ferrochain_state::TxStatus::Pending { .. }
    ));
}

/// `reset_to_genesis` forgets every block, output, index row and pending transaction: the state is then the
/// same as a fresh one (genesis outputs that blocks had spent are back), stays so after a restart, and the old
/// blocks can be connected again.
fn reset_to_genesis_forgets_the_chain(backend: &Backend) {
    let (alice, bob) = (key(1), key(2));
    let mut chain = ChainBuilder::new(network());
    for i in 0..4 {
        let mut used = Vec::new();
        let tx = chain
            .transfer(
                &alice,
                addr(&bob),
                units(1 + i),
                units(0),
                Vec::new(),
                &mut used,
            )
            .unwrap();
        mine(&mut chain, vec![tx], 4, 10);
    }
    let twin = backend.fresh();
    let fresh = snapshot(&open(&twin));
    let state = open(backend);
    submit_all(&state, &chain.blocks()[1..]);
    let full = snapshot(&state);
    let record = Transaction::signed_record(
        &key(3),
        b"pending".to_vec(),
        1,
        &state.network().genesis_hash(),
    );
    state.submit_transaction(record.clone()).unwrap();
    assert_ne!(full, fresh);

    let tip = state.reset_to_genesis().unwrap();
    assert_eq!(tip.height.0, 0);
    assert_eq!(tip.hash, state.network().genesis_hash());
    assert_eq!(snapshot(&state), fresh);
    for block in &chain.blocks()[1..] {
        assert_eq!(state.block(&block.hash()).unwrap(), None);
        assert!(state.header(&block.hash()).is_none());
        for tx in &block.transactions {
            assert!(state.transaction(&tx.txid()).unwrap().is_none());
        }
    }
    assert!(state.transaction(&record.txid()).unwrap().is_none());
    drop(state);
    let reopened = open(backend);
    assert_eq!(snapshot(&reopened), fresh, "after a restart");
    // The chain it forgot is a valid chain again.
    submit_all(&reopened, &chain.blocks()[1..]);
    assert_eq!(snapshot(&reopened), full);
}

/// Invalid blocks are refused with the precise error and leave the store exactly as it was.
fn invalid_blocks_leave_no_trace(backend: &Backend) {
    let (alice, bob) = (key(1), key(2));
    let mut chain = ChainBuilder::new(network());
    mine(&mut chain, Vec::new(), 4, 10);
    let state = open(backend);
    submit_all(&state, &chain.blocks()[1..]);
    let before = snapshot(&state);

    // A coinbase claiming one unit too much, properly mined: fails in context, after the header checks.
    let t = chain.tip().header.time_ms + 10_000;
    let mut greedy = chain.template(Vec::new(), addr(&alice), t);
    greedy.transactions[0].outputs[0].amount = greedy.transactions[0].outputs[0]
        .amount
        .checked_add(Amount::from_units(1).unwrap())
        .unwrap();
    greedy.header.merkle_root = greedy.compute_merkle_root();
    ferrochain_core::builder::mine(&mut greedy.header);
    let err = state.submit_block(greedy.clone()).unwrap_err();
    assert!(
        matches!(err, StateError::InvalidBlock { ref error, .. } if matches!(**error, BlockError::CoinbaseTooLarge { .. })),
        "{err}"
    );
    // A bad signature: fails statelessly.
    let mut used = Vec::new();
    let mut tx = chain
        .transfer(
            &alice,
            addr(&bob),
            units(1),
            units(0),
            Vec::new(),
            &mut used,
        )
        .unwrap();
    if let TxKind::Transfer { inputs } = &mut tx.kind {
        let mut sig = inputs[0].signature.to_bytes();
        sig[0] ^= 1;
        inputs[0].signature = ferrochain_core::Signature::from_bytes(sig);
    }
    let mut forged = chain.template(vec![tx], addr(&alice), t);
    ferrochain_core::builder::mine(&mut forged.header);
    let err = state.submit_block(forged).unwrap_err();
    assert!(
        matches!(err, StateError::InvalidBlock { ref error, .. }
        if matches!(**error, BlockError::Transaction { source: TxError::BadSignature { .. }, .. })),
        "{err}"
    );
    // Resubmitting the greedy block is refused again, not accepted.
    assert!(state.submit_block(greedy).is_err());
    assert_eq!(snapshot(&state), before);
    drop(state);
    // Nothing of them reached the store either.
    assert_eq!(snapshot(&open(backend)), before);
}

/// Blocks arriving before their parent wait and connect when it arrives; ties keep the first-seen tip.
fn orphans_and_ties(backend: &Backend) {
    let mut chain = ChainBuilder::new(network());
    let b1 = mine(&mut chain, Vec::new(), 4, 10);
    let b2 = mine(&mut chain, Vec::new(), 4, 10);
    let b3 = mine(&mut chain, Vec::new(), 4, 10);
    let state = open(backend);
    assert_eq!(
        state.submit_block(b3.clone()).unwrap(),
        BlockOutcome::Orphan {
            missing_parent: b2.hash()
        }
    );
    assert_eq!(
        state.submit_block(b2.clone()).unwrap(),
        BlockOutcome::Orphan {
            missing_parent: b1.hash()
        }
    );
    let BlockOutcome::Connected(r) = state.submit_block(b1.clone()).unwrap() else {
        panic!("b1 connects")
    };
    assert_eq!(r.connected, vec![b1.hash(), b2.hash(), b3.hash()]);
    assert_eq!(state.tip().hash, b3.hash());
    assert_eq!(state.submit_block(b3).unwrap(), BlockOutcome::AlreadyKnown);
    // A competing block at the same height has equal work: the first seen stays the tip.
    let mut rival = ChainBuilder::new(network());
    for blk in [&b1, &b2] {
        rival
            .push(blk.clone(), 4_000_000_000_000, &mut rand::rng())
            .unwrap();
    }
    let r3 = mine(&mut rival, Vec::new(), 3, 13);
    assert_eq!(state.submit_block(r3).unwrap(), BlockOutcome::SideChain);
    assert_eq!(state.tip().height.0, 3);
    assert_ne!(state.tip().hash, rival.tip().hash());
}

/// A clock the test moves: starts at `ms`.
fn settable_clock(ms: u64) -> (std::sync::Arc<AtomicU64>, ferrochain_state::chain::Clock) {
    let now = std::sync::Arc::new(AtomicU64::new(ms));
    let read = now.clone();
    (
        now,
        std::sync::Arc::new(move || read.load(Ordering::SeqCst)),
    )
}

/// A block off genesis while the tip is far ahead keeps only its header: its body is not on disk, before or
/// after a restart. A branch sent block by block without its headers first is taken when its work shows —
/// the bodies it lacks are asked for ("orphan" of the lowest missing body) and it wins once they came.
fn low_work_side_blocks_keep_only_their_header(backend: &Backend) {
    let mut chain = ChainBuilder::new(network());
    for _ in 0..10 {
        mine(&mut chain, Vec::new(), 4, 10);
    }
    let state = open(backend);
    submit_all(&state, &chain.blocks()[1..]);
    let tip = state.tip();
    let mut rival = ChainBuilder::new(network());
    let rivals: Vec<Block> = (0..11)
        .map(|_| mine(&mut rival, Vec::new(), 3, 9))
        .collect();

    let first = rivals[0].hash();
    assert_eq!(
        state.submit_block(rivals[0].clone()).unwrap(),
        BlockOutcome::HeaderOnly
    );
    assert!(state.block(&first).unwrap().is_none(), "no body stored");
    let rec = state.header(&first).unwrap();
    assert!(!rec.has_body && !rec.invalid);
    assert_eq!(state.tip(), tip);
    // Sent again: still only its header, nothing checked twice into the store.
    assert_eq!(
        state.submit_block(rivals[0].clone()).unwrap(),
        BlockOutcome::HeaderOnly
    );
    // A restart keeps the header alone.
    drop(state);
    let state = open(backend);
    assert!(state.block(&first).unwrap().is_none());
    assert!(!state.header(&first).unwrap().has_body);

    // The rest of the branch, block by block: less work, header only; equal work (the tenth), stored.
    for blk in &rivals[1..9] {
        assert_eq!(
            state.submit_block(blk.clone()).unwrap(),
            BlockOutcome::HeaderOnly
        );
        assert!(state.block(&blk.hash()).unwrap().is_none());
    }
    assert_eq!(
        state.submit_block(rivals[9].clone()).unwrap(),
        BlockOutcome::SideChain
    );
    // The eleventh has more work than the tip, but the branch lacks bodies: stored, and the lowest missing body
    // is asked for.
    assert_eq!(
        state.submit_block(rivals[10].clone()).unwrap(),
        BlockOutcome::Orphan {
            missing_parent: first
        }
    );
    assert_eq!(state.tip(), tip);
    // The missing bodies come (as a sync from the sender fetches them): the branch could win now, so they are
    // stored, and the last one completes it: one reorg of depth 10.
    for blk in &rivals[..8] {
        assert_eq!(
            state.submit_block(blk.clone()).unwrap(),
            BlockOutcome::SideChain
        );
        assert!(state.block(&blk.hash()).unwrap().is_some());
    }
    let BlockOutcome::Connected(r) = state.submit_block(rivals[8].clone()).unwrap() else {
        panic!("the completed branch wins")
    };
    assert_eq!((r.disconnected.len(), r.connected.len()), (10, 11));
    assert_eq!(state.tip().hash, rival.tip().hash());
    assert_eq!(state.utxo_set(), *rival.utxos());
    // The old chain's blocks stay stored (they were active): a branch of equal or more work always is.
    assert!(state.block(&chain.tip().hash()).unwrap().is_some());
    // Headers of a branch with less work than the active one take no space either.
    let mut low = ChainBuilder::new(network());
    let low_headers: Vec<_> = (0..3)
        .map(|_| mine(&mut low, Vec::new(), 2, 8).header)
        .collect();
    assert_eq!(state.submit_headers(&low_headers).unwrap(), 0);
    assert!(state.header(&low_headers[0].hash()).is_none());
}

/// A block with an easy target of its own choosing (`0x207fffff`, met by half of all hashes) and an unknown
/// parent is refused on its target — before its signatures — and is neither held nor stored.
fn easy_bits_orphans_are_refused_and_not_held(backend: &Backend) {
    let mut chain = ChainBuilder::new(network());
    mine(&mut chain, Vec::new(), 4, 10);
    let state = open(backend);
    let before = snapshot(&state);
    let t = chain.tip().header.time_ms + 10_000;
    let mut easy = chain.template(Vec::new(), addr(&key(4)), t);
    easy.header.prev_hash = ferrochain_core::BlockHash::from_byte_array([7; 32]);
    easy.header.bits = ferrochain_core::CompactTarget::from_consensus(0x207f_ffff);
    assert!(ferrochain_core::builder::mine(&mut easy.header));
    let err = state.submit_block(easy.clone()).unwrap_err();
    assert!(
        matches!(err, StateError::InvalidBlock { ref error, .. } if matches!(**error, BlockError::TargetTooEasy { .. })),
        "{err}"
    );
    assert_eq!(state.orphan_pool_size(), (0, 0), "not held");
    assert!(state.header(&easy.hash()).is_none(), "not indexed");
    assert!(state.block(&easy.hash()).unwrap().is_none(), "not stored");
    // The same block with the chain's target is a real orphan: held.
    let mut fair = easy;
    fair.header.bits = network().spec().initial_bits;
    assert!(ferrochain_core::builder::mine(&mut fair.header));
    assert!(matches!(
        state.submit_block(fair).unwrap(),
        BlockOutcome::Orphan { .. }
    ));
    assert_eq!(state.orphan_pool_size().0, 1);
    assert_eq!(snapshot(&state), before);
    drop(state);
    assert_eq!(snapshot(&open(backend)), before);
}

/// The orphan pool is bounded by bytes, and a sender that sent an invalid block loses its orphans first.
fn orphans_are_bounded_by_bytes_and_bad_senders_go_first(backend: &Backend) {
    let mut chain = ChainBuilder::new(network());
    let blocks: Vec<Block> = (0..6)
        .map(|_| mine(&mut chain, Vec::new(), 4, 10))
        .collect();
    let largest = blocks.iter().map(Block::encoded_len).max().unwrap();
    let cfg = StateConfig {
        max_orphan_bytes: 3 * largest + largest / 2,
        ..config()
    };
    let state = State::open(network(), backend.store(), cfg).unwrap();
    let (good, bad) = (
        ferrochain_state::Source::new("http://good:5000"),
        ferrochain_state::Source::new("http://bad:5000"),
    );
    // The bad sender sends a block whose Merkle root does not match: refused, and counted against it.
    let mut broken = blocks[0].clone();
    broken.header.merkle_root = ferrochain_core::MerkleNode::ZERO;
    assert!(ferrochain_core::builder::mine(&mut broken.header));
    assert!(state.submit_block_from(broken, &bad).is_err());
    // Three orphans fill the pool: b3 from the good sender (the oldest), b5 and b6 from the bad one.
    for (i, from) in [(2, &good), (4, &bad), (5, &bad)] {
        assert!(matches!(
            state.submit_block_from(blocks[i].clone(), from).unwrap(),
            BlockOutcome::Orphan { .. }
        ));
    }
    assert_eq!(state.orphan_pool_size().0, 3);
    // A fourth does not fit: the bad sender's oldest (b5) goes, not the oldest of all (b3).
    state.submit_block_from(blocks[3].clone(), &good).unwrap();
    let (count, bytes) = state.orphan_pool_size();
    assert_eq!(count, 3);
    assert!(bytes <= 3 * largest + largest / 2);
    // b1 and b2 arrive: b3 and b4 follow from the pool, b5 is gone, so b6 still waits.
    submit_all(&state, &blocks[..1]);
    let BlockOutcome::Connected(r) = state.submit_block(blocks[1].clone()).unwrap() else {
        panic!("b2 connects")
    };
    assert_eq!(
        r.connected,
        blocks[1..4].iter().map(Block::hash).collect::<Vec<_>>()
    );
    assert_eq!(state.tip().height.0, 4);
    assert_eq!(state.orphan_pool_size().0, 1);
}

/// A block too far ahead of this node's clock is "not yet", not invalid: nothing of it is kept, and it is
/// accepted once the clock has caught up.
fn future_blocks_are_not_yet_valid(backend: &Backend) {
    let mut chain = ChainBuilder::new(network());
    let b1 = mine(&mut chain, Vec::new(), 4, 10);
    let drift = network().spec().max_future_drift_ms;
    let (now, clock) = settable_clock(b1.header.time_ms - drift - 60_000);
    let cfg = StateConfig { clock, ..config() };
    let state = State::open(network(), backend.store(), cfg.clone()).unwrap();
    let err = state.submit_block(b1.clone()).unwrap_err();
    assert!(
        matches!(err, StateError::NotYet { hash, time_ms, .. } if hash == b1.hash() && time_ms == b1.header.time_ms),
        "{err}"
    );
    assert!(
        state.header(&b1.hash()).is_none(),
        "not marked invalid, not kept"
    );
    assert_eq!(state.tip().height.0, 0);
    // Its header alone is refused the same way.
    assert!(matches!(
        state.submit_headers(&[b1.header]),
        Err(StateError::NotYet { .. })
    ));
    now.store(b1.header.time_ms - drift, Ordering::SeqCst);
    assert!(matches!(
        state.submit_block(b1.clone()).unwrap(),
        BlockOutcome::Connected(_)
    ));
    assert_eq!(state.tip().hash, b1.hash());
}

/// The mempool: unconfirmed change may be spent, double spends are refused, blocks take transactions in
/// fee-rate then arrival order, and mined transactions leave the pool.
fn mempool_rules(backend: &Backend) {
    let (alice, bob) = (key(1), key(2));
    let chain = ChainBuilder::new(network());
    let state = open(backend);
    let mut used = Vec::new();
    let cheap = chain
        .transfer(
            &alice,
            addr(&bob),
            units(1),
            units(0),
            Vec::new(),
            &mut used,
        )
        .unwrap();
    let rich = chain
        .transfer(
            &alice,
            addr(&bob),
            units(1),
            Amount::from_units(5000).unwrap(),
            Vec::new(),
            &mut used,
        )
        .unwrap();
    state.submit_transaction(cheap.clone()).unwrap();
    state.submit_transaction(rich.clone()).unwrap();
    // The same transaction twice, and another spending the same output: refused.
    assert!(matches!(
        state.submit_transaction(cheap.clone()),
        Err(StateError::Mempool(MempoolError::AlreadyInPool(_)))
    ));
    let mut again = Vec::new();
    let conflict = chain
        .transfer(
            &alice,
            addr(&key(3)),
            units(2),
            units(0),
            Vec::new(),
            &mut again,
        )
        .unwrap();
    assert!(matches!(
        state.submit_transaction(conflict),
        Err(StateError::Mempool(MempoolError::Conflict { .. }))
    ));
    // Higher fee rate first.
    let order: Vec<_> = state.mempool().iter().map(|e| e.txid).collect();
    assert_eq!(order, vec![rich.txid(), cheap.txid()]);
    assert_eq!(state.block_template_transactions(1), vec![rich.clone()]);
    // Balances: bob's pending balance counts both incoming transfers.
    let b = state.balance(&addr(&bob)).unwrap();
    assert_eq!(b.confirmed, units(120));
    assert_eq!(b.pending, units(122));
    // Mining the template's transactions removes them from the pool.
    let mut miner_chain = chain.clone();
    let blk = mine(
        &mut miner_chain,
        state.block_template_transactions(10),
        4,
        10,
    );
    let BlockOutcome::Connected(_) = state.submit_block(blk).unwrap() else {
        panic!("connects")
    };
    assert!(state.mempool().is_empty());
    let confirmed = state.transaction(&cheap.txid()).unwrap().unwrap();
    assert!(matches!(
        confirmed.status,
        ferrochain_state::TxStatus::Confirmed {
            confirmations: 1,
            ..
        }
    ));
    let (header, proof) = state.merkle_proof(&cheap.txid()).unwrap().unwrap();
    assert!(proof.verify(&cheap.txid(), &header.merkle_root));
}

macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            for backend in backends() {
                eprintln!("{}: {}", stringify!($name), backend.name());
                super::$name(&backend);
            }
        }
    )*};
}

mod on {
    use super::support::backends;
    on_every_backend!(
        reorg_there_and_back,
        restart_keeps_everything,
        reset_to_genesis_forgets_the_chain,
        invalid_blocks_leave_no_trace,
        orphans_and_ties,
        mempool_rules,
        low_work_side_blocks_keep_only_their_header,
        easy_bits_orphans_are_refused_and_not_held,
        orphans_are_bounded_by_bytes_and_bad_senders_go_first,
        future_blocks_are_not_yet_valid
    );
}
