//! Tests of record proofs, built from real mined chains: a proof verifies offline, survives JSON,
//! and fails precisely for each kind of tampering.

#![allow(clippy::unwrap_used)]

use ferrochain_core::builder::{ChainBuilder, mine};
use ferrochain_core::pow::Target;
use ferrochain_core::{Amount, ChainSpec, SigningKey};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::*;
use crate::build::{TransferRequest, build_record, build_transfer};
use crate::coin_select::{Candidate, FeePolicy};

const RECORD_HEIGHT: u64 = 3;
const TIP_HEIGHT: u64 = RECORD_HEIGHT + 5;
const PAYLOAD: &[u8] = b"lot 7: 40 kg coffee, Santos, harvested 2026-01-20";
const SIGNED_AT: u64 = 1_767_225_700_000;

fn author() -> SigningKey {
    SigningKey::from_secret_bytes([11; 32])
}

struct Fixture {
    chain: ChainBuilder,
    record: Transaction,
    transfer: Transaction,
}

/// A chain on `network` whose block 3 holds a transfer, the record and another record, with
/// five blocks on top.
fn chain_with_record(network: Network) -> Fixture {
    let mut r = ChaCha20Rng::seed_from_u64(99);
    let miner = SigningKey::from_secret_bytes([12; 32]);
    let miner_hash = miner.public_key().pubkey_hash();
    let mut chain = ChainBuilder::new(network.clone());
    let next = |chain: &mut ChainBuilder, txs: Vec<Transaction>, r: &mut ChaCha20Rng| {
        let t = chain.tip().header.time_ms + 10_000;
        chain.mine_block(txs, miner_hash, t, r).unwrap();
    };
    for _ in 1..RECORD_HEIGHT {
        next(&mut chain, Vec::new(), &mut r);
    }
    let candidates: Vec<Candidate> = chain
        .spendable(&miner_hash)
        .into_iter()
        .map(Candidate::from)
        .collect();
    let transfer = build_transfer(
        &miner,
        &candidates,
        &TransferRequest::new(
            vec![(
                author().public_key().pubkey_hash(),
                Amount::from_units(5).unwrap(),
            )],
            FeePolicy::default(),
        ),
        &network,
    )
    .unwrap();
    let record = build_record(&author(), PAYLOAD.to_vec(), SIGNED_AT, &network).unwrap();
    let other = build_record(&miner, b"another record".to_vec(), SIGNED_AT, &network).unwrap();
    next(
        &mut chain,
        vec![transfer.clone(), record.clone(), other],
        &mut r,
    );
    for _ in RECORD_HEIGHT..TIP_HEIGHT {
        next(&mut chain, Vec::new(), &mut r);
    }
    assert_eq!(chain.height(), Height(TIP_HEIGHT));
    Fixture {
        chain,
        record,
        transfer,
    }
}

fn proof_of(f: &Fixture) -> RecordProof {
    let blocks = f.chain.blocks();
    let h = RECORD_HEIGHT as usize;
    let successors: Vec<Header> = blocks[h + 1..].iter().map(|b| b.header).collect();
    RecordProof::from_block(
        &blocks[h],
        &f.record.txid(),
        &successors,
        f.chain.network().genesis_hash(),
    )
    .unwrap()
}

/// Changes the nonce until the header no longer meets its target.
fn break_pow(header: &mut Header) {
    let target = header.bits.to_target().unwrap();
    loop {
        header.nonce = header.nonce.wrapping_add(1);
        if !target.is_met_by(&header.hash()) {
            return;
        }
    }
}

#[test]
fn a_proof_from_a_real_chain_verifies_offline() {
    let f = chain_with_record(Network::dev());
    let network = f.chain.network();
    let proof = proof_of(&f);
    assert_eq!(proof.headers.len(), 5);
    assert_eq!(proof.merkle.leaf_count, 4);
    assert_eq!(proof.merkle.path.len(), 2);

    let v = proof.verify(Some(&network.genesis_hash())).unwrap();
    assert_eq!(proof.verify(None).unwrap(), v);
    assert_eq!(proof.verify_for_network(network).unwrap(), v);
    let block = &f.chain.blocks()[RECORD_HEIGHT as usize];
    assert_eq!(v.txid, f.record.txid());
    assert_eq!(v.author, author().public_key());
    assert_eq!(v.author_address_hash, author().public_key().pubkey_hash());
    assert_eq!(v.payload, PAYLOAD);
    assert_eq!(v.timestamp_ms, SIGNED_AT);
    assert_eq!(v.block_hash, block.hash());
    assert_eq!(v.height, Height(RECORD_HEIGHT));
    assert_eq!(v.block_time_ms, block.header.time_ms);
    assert_eq!(v.tip_hash, f.chain.tip().hash());
    assert_eq!(v.tip_height, Height(TIP_HEIGHT));
    assert_eq!(v.confirmations, 6);
    let one = network.spec().initial_target().unwrap().work();
    let mut six = Work::ZERO;
    for _ in 0..6 {
        six = six.checked_add(one).unwrap();
    }
    assert_eq!(v.total_work, six);

    // The block itself as the tip: one confirmation.
    let mut at_block = proof.clone();
    at_block.headers.clear();
    let v = at_block.verify(None).unwrap();
    assert_eq!((v.confirmations, v.tip_hash), (1, block.hash()));
}

#[test]
fn the_bundle_survives_json() {
    let f = chain_with_record(Network::dev());
    let proof = proof_of(&f);
    let bytes = proof.to_json_bytes();
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(value["format"], "ferrochain-record-proof");
    assert_eq!(value["version"], 1);
    assert_eq!(value["record"]["kind"]["type"], "record");
    assert_eq!(value["headers"].as_array().unwrap().len(), 5);
    let parsed = RecordProof::from_json_bytes(&bytes).unwrap();
    assert_eq!(parsed, proof);
    assert!(
        parsed
            .verify(Some(&f.chain.network().genesis_hash()))
            .is_ok()
    );
    // Serde (as the node's JSON responses use it) writes the same envelope.
    assert_eq!(serde_json::to_value(&proof).unwrap(), value);
    let via_serde: RecordProof = serde_json::from_value(value.clone()).unwrap();
    assert_eq!(via_serde, proof);

    let edit = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = value.clone();
        f(&mut v);
        RecordProof::from_json_bytes(&serde_json::to_vec(&v).unwrap())
    };
    assert_eq!(
        edit(&|v| v["format"] = "ferrochain-wallet".into()),
        Err(ProofFormatError::NotAProof {
            format: "ferrochain-wallet".into()
        })
    );
    assert_eq!(
        edit(&|v| v["version"] = 2.into()),
        Err(ProofFormatError::UnknownVersion(2))
    );
    assert!(matches!(
        edit(&|v| v["extra"] = 1.into()),
        Err(ProofFormatError::Malformed(_))
    ));
    assert!(matches!(
        edit(&|v| v["headers"][0]["prev_hash"] = "zz".into()),
        Err(ProofFormatError::Malformed(_))
    ));
    for cut in [0, 1, bytes.len() / 2, bytes.len() - 3] {
        assert!(matches!(
            RecordProof::from_json_bytes(&bytes[..cut]),
            Err(ProofFormatError::Malformed(_))
        ));
    }
    assert!(serde_json::from_value::<RecordProof>(serde_json::json!({"format": "x"})).is_err());
}

#[test]
fn a_changed_payload_byte_fails_the_signature() {
    let f = chain_with_record(Network::dev());
    let mut proof = proof_of(&f);
    proof.record.payload[5] ^= 0x20;
    assert!(matches!(
        proof.verify(None),
        Err(ProofError::BadSignature(_))
    ));
}

#[test]
fn a_changed_merkle_sibling_fails_the_path() {
    let f = chain_with_record(Network::dev());
    let proof = proof_of(&f);
    for i in 0..proof.merkle.path.len() {
        let mut bad = proof.clone();
        let mut bytes = bad.merkle.path[i].to_byte_array();
        bytes[0] ^= 1;
        bad.merkle.path[i] = MerkleNode::from_byte_array(bytes);
        assert_eq!(
            bad.verify(None),
            Err(ProofError::MerklePathMismatch {
                txid: f.record.txid(),
                merkle_root: proof.block_header.merkle_root,
            })
        );
    }
    let mut short = proof.clone();
    short.merkle.path.pop();
    assert!(matches!(
        short.verify(None),
        Err(ProofError::MerklePathMismatch { .. })
    ));
}

#[test]
fn a_broken_header_link_is_found() {
    let f = chain_with_record(Network::dev());
    let proof = proof_of(&f);
    let mut bad = proof.clone();
    bad.headers[2].prev_hash = BlockHash::hash(b"elsewhere");
    mine(&mut bad.headers[2]);
    assert_eq!(
        bad.verify(None),
        Err(ProofError::BrokenLink {
            height: Height(RECORD_HEIGHT + 3),
            expected: proof.headers[1].hash(),
            found: BlockHash::hash(b"elsewhere"),
        })
    );
    // A missing header breaks the chain too.
    let mut gap = proof.clone();
    gap.headers.remove(1);
    assert!(matches!(
        gap.verify(None),
        Err(ProofError::BrokenLink { height, .. }) if height == Height(RECORD_HEIGHT + 3)
    ));
    // Right parent, wrong height.
    let mut skip = proof.clone();
    skip.headers.truncate(1);
    skip.headers[0].height = Height(RECORD_HEIGHT + 2);
    mine(&mut skip.headers[0]);
    assert_eq!(
        skip.verify(None),
        Err(ProofError::HeightMismatch {
            index: 0,
            expected: Height(RECORD_HEIGHT + 1),
            found: Height(RECORD_HEIGHT + 2),
        })
    );
}

#[test]
fn a_header_below_its_target_is_found() {
    let f = chain_with_record(Network::dev());
    let proof = proof_of(&f);
    let mut bad = proof.clone();
    break_pow(&mut bad.headers[4]);
    assert_eq!(
        bad.verify(None),
        Err(ProofError::InsufficientWork {
            height: Height(TIP_HEIGHT),
            hash: bad.headers[4].hash(),
        })
    );
    let mut bad = proof.clone();
    break_pow(&mut bad.block_header);
    assert!(matches!(
        bad.verify(None),
        Err(ProofError::InsufficientWork { height, .. }) if height == Height(RECORD_HEIGHT)
    ));
    // A header claiming to be genesis must be the network's genesis.
    let mut bad = proof.clone();
    bad.block_header.height = Height(0);
    assert!(matches!(
        bad.verify(None),
        Err(ProofError::WrongGenesis { expected, .. }) if expected == proof.network_id
    ));
}

#[test]
fn a_proof_from_another_network_is_refused() {
    let dev = Network::dev();
    let other = Network::new(ChainSpec {
        name: "classroom".into(),
        genesis_message: "another chain".into(),
        ..ChainSpec::dev()
    })
    .unwrap();
    let f = chain_with_record(other.clone());
    let proof = proof_of(&f);
    assert!(proof.verify(Some(&other.genesis_hash())).is_ok());
    assert_eq!(
        proof.verify(Some(&dev.genesis_hash())),
        Err(ProofError::WrongNetwork {
            expected: dev.genesis_hash(),
            found: other.genesis_hash(),
        })
    );
    assert!(matches!(
        proof.verify_for_network(&dev),
        Err(ProofError::WrongNetwork { .. })
    ));
    // Relabelling the proof as a dev proof breaks the signature, which commits to the network.
    let mut relabelled = proof.clone();
    relabelled.network_id = dev.genesis_hash();
    assert!(matches!(
        relabelled.verify(Some(&dev.genesis_hash())),
        Err(ProofError::BadSignature(_))
    ));
}

#[test]
fn headers_must_follow_the_network_difficulty() {
    let f = chain_with_record(Network::dev());
    let network = f.chain.network();
    let proof = proof_of(&f);
    // An easier tip, still mined: fine offline, not for the dev network's fixed difficulty.
    let mut easy = proof.clone();
    easy.headers[4].bits = network.spec().pow_limit.to_compact();
    mine(&mut easy.headers[4]);
    assert!(easy.verify(None).is_ok());
    assert_eq!(
        easy.verify_for_network(network),
        Err(ProofError::UnexpectedTarget {
            height: Height(TIP_HEIGHT),
            expected: network.spec().initial_bits,
            found: easy.headers[4].bits,
        })
    );
    let mut easier = proof.clone();
    easier.headers[4].bits = Target::from_leading_zero_bits(4).to_compact();
    mine(&mut easier.headers[4]);
    assert!(easier.verify(None).is_ok());
    assert!(matches!(
        easier.verify_for_network(network),
        Err(ProofError::TargetAboveLimit { height, .. }) if height == Height(TIP_HEIGHT)
    ));
}

#[test]
fn only_records_have_proofs() {
    let f = chain_with_record(Network::dev());
    let genesis = f.chain.network().genesis_hash();
    let block = &f.chain.blocks()[RECORD_HEIGHT as usize];
    assert_eq!(
        RecordProof::from_block(block, &f.transfer.txid(), &[], genesis),
        Err(ProofError::NotARecord)
    );
    let absent = Txid::hash(b"absent");
    assert_eq!(
        RecordProof::from_block(block, &absent, &[], genesis),
        Err(ProofError::NotInBlock { txid: absent })
    );
    let mut proof = proof_of(&f);
    proof.record = f.transfer.clone();
    assert_eq!(proof.verify(None), Err(ProofError::NotARecord));
    assert_eq!(
        verify_record_signature(&f.transfer, &genesis),
        Err(ProofError::NotARecord)
    );
    let mut with_output = f.record.clone();
    with_output.outputs = f.transfer.outputs.clone();
    assert!(matches!(
        verify_record_signature(&with_output, &genesis),
        Err(ProofError::MalformedRecord { .. })
    ));
}
