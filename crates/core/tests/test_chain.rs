//! End-to-end test of the consensus core: a 50-block chain with transfers, change, payloads, records, fees and
//! matured block rewards is built in memory and replayed from scratch; then each kind of tampering is applied to
//! one block and the replay must stop at exactly that block with the precise error.
#![allow(clippy::unwrap_used)]

use ferrochain_core::block::Block;
use ferrochain_core::builder::{ChainBuilder, mine};
use ferrochain_core::check::{BlockError, TxError};
use ferrochain_core::crypto::{PubkeyHash, SigningKey};
use ferrochain_core::spec::{Allocation, median_time_past};
use ferrochain_core::tx::{OutPoint, Transaction, TxKind, TxOut};
use ferrochain_core::{Amount, ChainSpec, Decode, Encode, Height, Network, Target};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha20Rng;

const FEE: u64 = 1_000;
const BLOCKS: u64 = 50;
const MATURITY: u64 = 3;

struct Actors {
    alice: SigningKey,
    bob: SigningKey,
    carol: SigningKey,
    miner: SigningKey,
}

impl Actors {
    fn new() -> Self {
        let k = |b| SigningKey::from_secret_bytes([b; 32]);
        Actors {
            alice: k(1),
            bob: k(2),
            carol: k(3),
            miner: k(4),
        }
    }
    fn all(&self) -> [&SigningKey; 4] {
        [&self.alice, &self.bob, &self.carol, &self.miner]
    }
}

fn addr(key: &SigningKey) -> PubkeyHash {
    key.public_key().pubkey_hash()
}

fn network(actors: &Actors) -> Network {
    let mut spec = ChainSpec::dev();
    spec.name = "e2e".into();
    spec.initial_bits = Target::from_leading_zero_bits(10).to_compact();
    spec.coinbase_maturity = MATURITY;
    spec.genesis_allocations = vec![Allocation {
        address: addr(&actors.alice),
        amount: Amount::parse_units("1000", 8).unwrap(),
    }];
    Network::new(spec).unwrap()
}

fn time_of(net: &Network, height: u64) -> u64 {
    net.spec().genesis_time_ms + height * 10_000
}

/// Pays `amount` from `from` to `to` with change back to `from`, spending outputs not in `used`.
fn pay(
    chain: &ChainBuilder,
    from: &SigningKey,
    to: PubkeyHash,
    amount: u64,
    payload: &[u8],
    used: &mut Vec<OutPoint>,
) -> Option<Transaction> {
    let units = |u| Amount::from_units(u).unwrap();
    chain.transfer(from, to, units(amount), units(FEE), payload.to_vec(), used)
}

/// Builds the 50-block chain; returns it with counts of what it contains.
fn build_chain(actors: &Actors) -> (ChainBuilder, usize, usize) {
    let net = network(actors);
    let mut chain = ChainBuilder::new(net.clone());
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let (mut transfers, mut records) = (0, 0);
    for h in 1..=BLOCKS {
        let mut used = Vec::new();
        let mut txs = Vec::new();
        let coin = 100_000_000;
        if let Some(tx) = pay(
            &chain,
            &actors.alice,
            addr(&actors.bob),
            rng.random_range(1..20) * coin,
            b"",
            &mut used,
        ) {
            txs.push(tx);
        }
        if let Some(tx) = pay(
            &chain,
            &actors.bob,
            addr(&actors.carol),
            rng.random_range(1..5) * coin,
            b"invoice 42",
            &mut used,
        ) {
            txs.push(tx);
        }
        if let Some(tx) = pay(
            &chain,
            &actors.miner,
            addr(&actors.alice),
            3 * coin,
            b"",
            &mut used,
        ) {
            txs.push(tx);
        }
        if h % 5 == 0 {
            let content = format!("lot {h}: inspected, temperature ok");
            txs.push(Transaction::signed_record(
                &actors.carol,
                content.into_bytes(),
                time_of(&net, h),
                &net.genesis_hash(),
            ));
            records += 1;
        }
        transfers += txs
            .iter()
            .filter(|t| matches!(t.kind, TxKind::Transfer { .. }))
            .count();
        chain
            .mine_block(txs, addr(&actors.miner), time_of(&net, h), &mut rand::rng())
            .unwrap();
    }
    (chain, transfers, records)
}

/// Replays `blocks` (genesis excluded) on a fresh chain; returns the first failure with its height.
fn replay(
    net: &Network,
    blocks: &[Block],
    now: impl Fn(&Block) -> u64,
) -> Result<ChainBuilder, (u64, BlockError)> {
    let mut chain = ChainBuilder::new(net.clone());
    for block in blocks {
        let h = block.header.height.0;
        chain
            .push(block.clone(), now(block), &mut rand::rng())
            .map_err(|e| (h, e))?;
    }
    Ok(chain)
}

fn remine(block: &mut Block) {
    block.header.merkle_root = block.compute_merkle_root();
    assert!(mine(&mut block.header));
}

#[test]
fn a_fifty_block_chain_is_valid_and_every_tampering_is_caught_at_its_block() {
    let actors = Actors::new();
    let (chain, transfers, records) = build_chain(&actors);
    let net = chain.network().clone();
    assert_eq!(chain.height(), Height(BLOCKS));
    assert!(transfers >= 100, "only {transfers} transfers");
    assert_eq!(records, 10);
    // Fees were paid and collected: every transfer paid FEE, and the coinbases claimed subsidy + fees.
    let fees: u64 = chain.changes().iter().map(|c| c.fees.to_units()).sum();
    assert_eq!(fees, transfers as u64 * FEE);
    // The money adds up: allocations + subsidies = everything unspent (fees moved to the miner).
    let total: u64 = actors
        .all()
        .iter()
        .map(|k| chain.utxos().balance(&addr(k)).to_units())
        .sum();
    let issued = 1000 * 100_000_000 + BLOCKS * 10 * 100_000_000;
    assert_eq!(total, issued);
    assert!(chain.utxos().balance(&addr(&actors.carol)).to_units() > 0);

    let blocks: Vec<Block> = chain.blocks()[1..].to_vec();
    let at_own_time = |b: &Block| b.header.time_ms;
    let replayed = replay(&net, &blocks, at_own_time).unwrap();
    assert_eq!(replayed.utxos(), chain.utxos());

    let k = 20usize; // the tampered block's height
    let expect = |tampered: Block, now: &dyn Fn(&Block) -> u64| -> BlockError {
        let mut bs = blocks.clone();
        bs[k - 1] = tampered;
        match replay(&net, &bs, now) {
            Ok(_) => panic!("tampered chain accepted"),
            Err((h, e)) => {
                assert_eq!(h, k as u64, "failed at the wrong block: {e}");
                e
            }
        }
    };
    let original = blocks[k - 1].clone();
    let transfer_index = original
        .transactions
        .iter()
        .position(|t| !t.inputs().is_empty())
        .unwrap();

    // 1. One byte of a transaction changed: the Merkle root no longer matches the header.
    let mut b = original.clone();
    b.transactions[transfer_index].payload.push(b'!');
    assert!(matches!(
        expect(b, &at_own_time),
        BlockError::MerkleRootMismatch { .. }
    ));

    // 2. A signature changed (root recomputed and block re-mined, so only the signature is wrong).
    let mut b = original.clone();
    if let TxKind::Transfer { inputs } = &mut b.transactions[transfer_index].kind {
        let mut sig = inputs[0].signature.to_bytes();
        sig[10] ^= 0x40;
        inputs[0].signature = ferrochain_core::Signature::from_bytes(sig);
    }
    remine(&mut b);
    let e = expect(b, &at_own_time);
    assert!(
        matches!(e, BlockError::Transaction { index, source: TxError::BadSignature { index: 0, .. }, .. } if index == transfer_index),
        "{e:?}"
    );

    // 3. An amount raised (and properly re-signed): outputs now exceed inputs.
    let mut b = original.clone();
    let parent = replay(&net, &blocks[..k - 1], at_own_time).unwrap();
    let tx = &b.transactions[transfer_index];
    let owner = actors
        .all()
        .into_iter()
        .find(|key| key.public_key() == tx.inputs()[0].public_key)
        .unwrap();
    let spends: Vec<_> = tx.inputs().iter().map(|i| (i.prev_out, owner)).collect();
    let mut outputs = tx.outputs.clone();
    outputs[0].amount = outputs[0]
        .amount
        .checked_add(Amount::from_units(FEE + 1).unwrap())
        .unwrap();
    b.transactions[transfer_index] =
        Transaction::signed_transfer(&spends, outputs, tx.payload.clone(), &net.genesis_hash());
    remine(&mut b);
    assert!(matches!(
        expect(b, &at_own_time),
        BlockError::Transaction {
            source: TxError::InsufficientInputs { .. },
            ..
        }
    ));

    // 4. The coinbase inflated by one unit.
    let mut b = original.clone();
    b.transactions[0].outputs[0].amount = b.transactions[0].outputs[0]
        .amount
        .checked_add(Amount::from_units(1).unwrap())
        .unwrap();
    remine(&mut b);
    assert!(matches!(
        expect(b, &at_own_time),
        BlockError::CoinbaseTooLarge { .. }
    ));

    // 5. A double spend inside the block: a second transaction spends the same output.
    let mut b = original.clone();
    let first = b.transactions[transfer_index].clone();
    let spends: Vec<_> = first.inputs().iter().map(|i| (i.prev_out, owner)).collect();
    let again = Transaction::signed_transfer(
        &spends,
        vec![TxOut {
            amount: Amount::from_units(1).unwrap(),
            address: addr(&actors.carol),
        }],
        Vec::new(),
        &net.genesis_hash(),
    );
    b.transactions.push(again);
    remine(&mut b);
    assert!(matches!(
        expect(b, &at_own_time),
        BlockError::Transaction {
            source: TxError::DoubleSpendInBlock { .. },
            ..
        }
    ));

    // 6. A double spend across blocks: spend an output that block 10 already spent.
    let spent_earlier = blocks[9]
        .transactions
        .iter()
        .find(|t| !t.inputs().is_empty())
        .unwrap();
    let spender = actors
        .all()
        .into_iter()
        .find(|key| key.public_key() == spent_earlier.inputs()[0].public_key)
        .unwrap();
    let replay_tx = Transaction::signed_transfer(
        &[(spent_earlier.inputs()[0].prev_out, spender)],
        vec![TxOut {
            amount: Amount::from_units(1).unwrap(),
            address: addr(&actors.carol),
        }],
        Vec::new(),
        &net.genesis_hash(),
    );
    let mut b = original.clone();
    b.transactions.push(replay_tx);
    remine(&mut b);
    assert!(matches!(
        expect(b, &at_own_time),
        BlockError::Transaction {
            source: TxError::MissingOrSpentInput { .. },
            ..
        }
    ));

    // 7. A timestamp not after the median of the previous 11 blocks.
    let times: Vec<u64> = blocks[k - 12..k - 1]
        .iter()
        .map(|b| b.header.time_ms)
        .collect();
    let mut b = original.clone();
    b.header.time_ms = median_time_past(&times);
    remine(&mut b);
    assert!(matches!(
        expect(b, &at_own_time),
        BlockError::TimeTooEarly { .. }
    ));

    // 8. A timestamp too far ahead of the validating node's clock.
    let drift = net.spec().max_future_drift_ms;
    let mut b = original.clone();
    b.header.time_ms = original.header.time_ms + drift + 1;
    remine(&mut b);
    let e = expect(b, &|blk: &Block| {
        if blk.header.height.0 == k as u64 {
            original.header.time_ms
        } else {
            blk.header.time_ms
        }
    });
    assert!(matches!(e, BlockError::TimeTooFarInFuture { .. }));

    // 9. A block whose hash is above its target.
    let mut b = original.clone();
    let target = b.header.bits.to_target().unwrap();
    while target.is_met_by(&b.header.hash()) {
        b.header.nonce = b.header.nonce.wrapping_add(1);
    }
    assert!(matches!(
        expect(b, &at_own_time),
        BlockError::InsufficientWork { .. }
    ));

    // 10. A block reward spent before it matured.
    let young = &blocks[k - 2]; // mined one block earlier: needs MATURITY blocks
    let reward = OutPoint {
        txid: young.transactions[0].txid(),
        vout: 0,
    };
    let mut b = original.clone();
    b.transactions.push(Transaction::signed_transfer(
        &[(reward, &actors.miner)],
        vec![TxOut {
            amount: Amount::from_units(1).unwrap(),
            address: addr(&actors.carol),
        }],
        Vec::new(),
        &net.genesis_hash(),
    ));
    remine(&mut b);
    assert!(matches!(
        expect(b, &at_own_time),
        BlockError::Transaction {
            source: TxError::ImmatureCoinbase { .. },
            ..
        }
    ));

    // 11. Spending someone else's output with one's own key.
    let bobs = parent
        .spendable(&addr(&actors.bob))
        .into_iter()
        .map(|(op, _)| op)
        .find(|op| {
            !original
                .transactions
                .iter()
                .any(|t| t.inputs().iter().any(|i| i.prev_out == *op))
        });
    let op = bobs.expect("bob has an output that block k does not spend");
    {
        let mut b = original.clone();
        b.transactions.push(Transaction::signed_transfer(
            &[(op, &actors.carol)],
            vec![TxOut {
                amount: Amount::from_units(1).unwrap(),
                address: addr(&actors.carol),
            }],
            Vec::new(),
            &net.genesis_hash(),
        ));
        remine(&mut b);
        assert!(matches!(
            expect(b, &at_own_time),
            BlockError::Transaction {
                source: TxError::KeyMismatch { .. },
                ..
            }
        ));
    }

    // 12. A record replayed: the same signed record again in a later block.
    let record = blocks[9]
        .transactions
        .iter()
        .find(|t| matches!(t.kind, TxKind::Record { .. }))
        .unwrap();
    let mut b = original.clone();
    b.transactions.push(record.clone());
    remine(&mut b);
    assert!(matches!(
        expect(b, &at_own_time),
        BlockError::Transaction {
            source: TxError::AlreadyInChain(_),
            ..
        }
    ));

    // 13. Wrong parent and wrong bits are refused too.
    let mut b = original.clone();
    b.header.prev_hash = blocks[k - 3].hash();
    remine(&mut b);
    assert!(matches!(
        expect(b, &at_own_time),
        BlockError::WrongParent { .. }
    ));
    let mut b = original;
    b.header.bits = Target::from_leading_zero_bits(11).to_compact();
    remine(&mut b);
    assert!(matches!(
        expect(b, &at_own_time),
        BlockError::WrongBits { .. }
    ));
}

#[test]
fn undoing_every_block_returns_to_genesis() {
    let actors = Actors::new();
    let (mut chain, _, _) = build_chain(&actors);
    // The undo data survives its stored form exactly.
    for changes in chain.changes() {
        assert_eq!(
            ferrochain_core::BlockChanges::from_bytes(&changes.to_bytes()).as_ref(),
            Ok(changes)
        );
    }
    let genesis_only = ChainBuilder::new(chain.network().clone());
    while chain.pop().is_some() {}
    assert_eq!(chain.utxos(), genesis_only.utxos());
    assert_eq!(chain.height(), Height(0));
}

#[test]
fn retargeting_follows_block_times() {
    // On the lab preset, blocks twice as fast as the target make the next window twice as hard.
    let mut spec = ChainSpec::lab();
    spec.initial_bits = Target::from_leading_zero_bits(12).to_compact();
    let net = Network::new(spec).unwrap();
    let mut chain = ChainBuilder::new(net.clone());
    let miner = addr(&SigningKey::from_secret_bytes([9; 32]));
    let interval = net.spec().retarget_interval;
    // Blocks up to the first retarget (at 2 × interval) come at half the target interval.
    for h in 1..2 * interval {
        let t = net.spec().genesis_time_ms + h * net.spec().target_block_time_ms / 2;
        chain
            .mine_block(Vec::new(), miner, t, &mut rand::rng())
            .unwrap();
    }
    let before = chain.tip().header.bits.to_target().unwrap();
    let after = chain.next_bits().unwrap().to_target().unwrap();
    assert!(after < before, "faster blocks must lower the target");
    // Gaps of half the target time: the target halves (the clamp is not reached).
    assert_eq!(after.leading_zero_bits(), before.leading_zero_bits() + 1);
    // The retarget block itself must carry the new bits: it connects, and one with the old bits does not.
    let t = net.spec().genesis_time_ms + 2 * interval * net.spec().target_block_time_ms / 2;
    let mut stale = chain.template(Vec::new(), miner, t);
    stale.header.bits = before.to_compact();
    assert!(mine(&mut stale.header));
    assert!(matches!(
        chain.push(stale, t, &mut rand::rng()),
        Err(BlockError::WrongBits { .. })
    ));
    chain
        .mine_block(Vec::new(), miner, t, &mut rand::rng())
        .unwrap();
    assert_eq!(chain.tip().header.bits, after.to_compact());
}

#[test]
fn an_easy_target_is_refused_before_the_parent_is_known_and_before_any_signature() {
    // A block with the easiest encodable target (met by half of all hashes) and an unknown parent, carrying a
    // transfer with a bad signature: it must fail on its target, which is checked before the signatures.
    let actors = Actors::new();
    let net = network(&actors);
    let mut chain = ChainBuilder::new(net.clone());
    chain
        .mine_block(
            Vec::new(),
            addr(&actors.miner),
            time_of(&net, 1),
            &mut rand::rng(),
        )
        .unwrap();
    let mut used = Vec::new();
    let mut tx = chain
        .transfer(
            &actors.alice,
            addr(&actors.bob),
            Amount::from_units(5).unwrap(),
            Amount::ZERO,
            Vec::new(),
            &mut used,
        )
        .unwrap();
    if let TxKind::Transfer { inputs } = &mut tx.kind {
        inputs[0].signature = ferrochain_core::Signature::from_bytes([7; 64]);
    }
    let mut block = chain.template(vec![tx], addr(&actors.miner), time_of(&net, 2));
    block.header.prev_hash = ferrochain_core::BlockHash::from_byte_array([1; 32]);
    block.header.bits = ferrochain_core::CompactTarget::from_consensus(0x207f_ffff);
    assert!(mine(&mut block.header));
    let easy = block.header.bits.to_target().unwrap();
    assert!(
        ferrochain_core::check::check_header(&block.header).is_ok(),
        "it meets its own target"
    );
    let err =
        ferrochain_core::check::check_block(block.clone(), &net, &mut rand::rng()).unwrap_err();
    assert_eq!(
        err,
        BlockError::TargetTooEasy {
            height: Height(2),
            target: easy,
            easiest: net.spec().initial_target().unwrap(),
        }
    );
    // Even the chain's pow_limit is too easy on a fixed-difficulty chain: only the initial target is allowed.
    block.header.bits = net.spec().pow_limit.to_compact();
    assert!(mine(&mut block.header));
    assert!(matches!(
        ferrochain_core::check::check_header_for(&block.header, &net),
        Err(BlockError::TargetTooEasy { .. })
    ));
    // With the right target, the same block gets as far as its signatures.
    block.header.bits = net.spec().initial_bits;
    assert!(mine(&mut block.header));
    assert!(matches!(
        ferrochain_core::check::check_block(block.clone(), &net, &mut rand::rng()),
        Err(BlockError::Transaction {
            source: TxError::BadSignature { .. },
            ..
        })
    ));
    // A caller vouching for the transaction (its signature cache knows the txid) skips its signature only;
    // the other checks still run.
    let vouched = block.transactions[1].txid();
    let known = |t: &ferrochain_core::Txid| *t == vouched;
    assert!(
        ferrochain_core::check::check_block_known(block.clone(), &net, &mut rand::rng(), known)
            .is_ok()
    );
    let mut bad_root = block;
    bad_root.header.merkle_root = ferrochain_core::MerkleNode::from_byte_array([3; 32]);
    assert!(mine(&mut bad_root.header));
    assert!(matches!(
        ferrochain_core::check::check_block_known(bad_root, &net, &mut rand::rng(), known),
        Err(BlockError::MerkleRootMismatch { .. })
    ));
}

#[test]
fn the_easiest_target_grows_at_most_fourfold_per_retarget_up_to_the_pow_limit() {
    // The lab preset's rules with easy targets, so that mining 30 blocks is quick.
    let lab = ChainSpec {
        initial_bits: Target::from_leading_zero_bits(10).to_compact(),
        pow_limit: Target::from_leading_zero_bits(2),
        ..ChainSpec::lab()
    };
    let n = lab.retarget_interval;
    let initial = lab.initial_target().unwrap();
    // Before the first retarget (at 2 × interval) only the initial target is possible.
    for h in [0, 1, n, 2 * n - 1] {
        assert_eq!(lab.easiest_target_at(Height(h)), initial, "height {h}");
    }
    // Each retarget may make it 4× easier (two leading zero bits fewer), until the pow_limit.
    let zeros = |h: u64| lab.easiest_target_at(Height(h)).leading_zero_bits();
    let start = initial.leading_zero_bits();
    assert_eq!(zeros(2 * n), start - 2);
    assert_eq!(zeros(3 * n - 1), start - 2);
    assert_eq!(zeros(3 * n), start - 4);
    assert_eq!(lab.easiest_target_at(Height(u64::MAX)), lab.pow_limit);
    assert!((0..40 * n).all(|h| lab.easiest_target_at(Height(h)) <= lab.pow_limit));
    // A chain whose retargets all went the easiest way stays within the bound: the rule never refuses a
    // valid chain.
    let net = Network::new(lab.clone()).unwrap();
    let mut chain = ChainBuilder::new(net.clone());
    let miner = addr(&SigningKey::from_secret_bytes([9; 32]));
    let mut t = lab.genesis_time_ms;
    for _ in 1..=3 * n {
        // Blocks far slower than the target: every retarget eases by the full ×4.
        t += lab.target_block_time_ms * 10;
        chain
            .mine_block(Vec::new(), miner, t, &mut rand::rng())
            .unwrap();
        let header = chain.tip().header;
        assert!(header.bits.to_target().unwrap() <= lab.easiest_target_at(header.height));
    }
    assert_eq!(
        chain
            .tip()
            .header
            .bits
            .to_target()
            .unwrap()
            .leading_zero_bits(),
        start - 4
    );
}

#[test]
fn a_batch_of_blocks_is_checked_as_one_and_stops_at_the_first_bad_block() {
    use ferrochain_core::check::{check_block, check_blocks_known};
    let actors = Actors::new();
    let (chain, _, _) = build_chain(&actors);
    let net = chain.network().clone();
    let blocks: Vec<Block> = chain.blocks()[1..].to_vec();
    // All 50 pass together, the same blocks one by one pass.
    let (checked, failure) = check_blocks_known(blocks.clone(), &net, &mut rand::rng(), |_| false);
    assert!(failure.is_none(), "{failure:?}");
    assert_eq!(checked.len(), 50);
    assert!(
        checked
            .iter()
            .zip(&blocks)
            .all(|(c, b)| c.hash() == b.hash())
    );
    // Block 20 with a damaged signature and block 30 with a broken proof of work: the batch stops at block
    // 20 (its signature is the first bad one; block 30's work is checked before any signature, but fails
    // later in the batch), and keeps the 19 before it.
    let mut bad = blocks.clone();
    if let TxKind::Transfer { inputs } = &mut bad[19].transactions[1].kind {
        inputs[0].signature = ferrochain_core::Signature::from_bytes([7; 64]);
    }
    remine(&mut bad[19]);
    bad[29].header.nonce ^= 1;
    let (checked, failure) = check_blocks_known(bad.clone(), &net, &mut rand::rng(), |_| false);
    assert_eq!(checked.len(), 19);
    let (position, error) = failure.unwrap();
    assert_eq!(position, 19);
    assert_eq!(
        Err(error),
        check_block(bad[19].clone(), &net, &mut rand::rng()).map(|c| c.hash()),
        "the same error as the block alone"
    );
    // Without the bad signature, the batch stops at block 30's proof of work, before verifying anything.
    let mut bad_work = blocks;
    bad_work[29].header.nonce ^= 1;
    if ferrochain_core::check::check_header(&bad_work[29].header).is_ok() {
        bad_work[29].header.nonce ^= 2; // (a nonce that still met the target: try another)
    }
    let (checked, failure) = check_blocks_known(bad_work, &net, &mut rand::rng(), |_| false);
    assert_eq!(checked.len(), 29);
    assert!(matches!(
        failure,
        Some((29, BlockError::InsufficientWork { .. }))
    ));
}

#[test]
fn the_address_index_of_the_utxo_set_follows_every_block_and_undo() {
    let actors = Actors::new();
    let (mut chain, _, _) = build_chain(&actors);
    // What the index answers equals a scan of the whole set, for every actor, at every height going back.
    loop {
        for key in actors.all() {
            let address = addr(key);
            let mut scanned: Vec<_> = chain
                .utxos()
                .iter()
                .filter(|(_, e)| e.output.address == address)
                .map(|(o, e)| (*o, *e))
                .collect();
            scanned.sort_by_key(|(o, _)| *o);
            assert_eq!(chain.utxos().outputs_of(&address), scanned);
            let total: u64 = scanned
                .iter()
                .map(|(_, e)| e.output.amount.to_units())
                .sum();
            assert_eq!(chain.utxos().balance(&address).to_units(), total);
        }
        if chain.pop().is_none() {
            break;
        }
    }
}
