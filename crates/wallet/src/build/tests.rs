//! Tests of transaction building: transfers built from a real chain pass `ferrochain-core`'s
//! stateless and contextual checks and are mined; any changed byte makes them fail; records
//! verify offline; every request error is reported before signing.

#![allow(clippy::unwrap_used)]

use ferrochain_core::builder::ChainBuilder;
use ferrochain_core::check::check_transaction_inputs;
use ferrochain_core::{ChainSpec, Decode, Encode, Height, TxKind, Txid, UtxoEntry, UtxoView};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::*;
use crate::coin_select::Candidate;
use crate::proof::{ProofError, verify_record_signature};
use crate::wallet::Wallet;

const PHRASE: &str = "legal winner thank year wave sausage worth useful legal winner thank yellow";

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn units(n: u64) -> Amount {
    Amount::from_units(n).unwrap()
}

fn block_time(chain: &ChainBuilder) -> u64 {
    chain.tip().header.time_ms + 10_000
}

fn mine(chain: &mut ChainBuilder, txs: Vec<Transaction>, to: PubkeyHash, r: &mut ChaCha20Rng) {
    let t = block_time(chain);
    chain.mine_block(txs, to, t, r).unwrap();
}

/// A dev chain where wallet account 0 mined three blocks and account 1 one block.
fn funded() -> (Wallet, ChainBuilder, ChaCha20Rng) {
    let network = Network::dev();
    let mut wallet = Wallet::restore(&network, PHRASE).unwrap();
    wallet.new_address().unwrap();
    let mut chain = ChainBuilder::new(network);
    let mut r = rng(7);
    for i in 0..4 {
        let to = wallet.pubkey_hash(u32::from(i == 3)).unwrap();
        mine(&mut chain, Vec::new(), to, &mut r);
    }
    (wallet, chain, r)
}

/// The wallet's confirmed outputs on `chain`.
fn candidates(wallet: &Wallet, chain: &ChainBuilder) -> Vec<Candidate> {
    wallet
        .accounts()
        .iter()
        .flat_map(|a| chain.spendable(&a.pubkey_hash()))
        .map(Candidate::from)
        .collect()
}

fn stranger() -> SigningKey {
    SigningKey::from_secret_bytes([42; 32])
}

fn check_all(tx: &Transaction, chain: &ChainBuilder) -> Result<Amount, TxError> {
    let network = chain.network();
    check_transaction(tx, network)?;
    let height = Height(chain.height().0 + 1);
    check_transaction_inputs(tx, &tx.txid(), chain.utxos(), height, network)
}

/// Every single-byte change of the encoding fails to decode or fails core's checks.
fn assert_every_byte_matters(tx: &Transaction, chain: &ChainBuilder) {
    let bytes = tx.to_bytes();
    for i in 0..bytes.len() {
        for flip in [0x01u8, 0x80] {
            let mut changed = bytes.clone();
            changed[i] ^= flip;
            if let Ok(decoded) = Transaction::from_bytes(&changed) {
                assert!(
                    check_all(&decoded, chain).is_err(),
                    "byte {i} ^ {flip:#04x} still passes the checks"
                );
            }
        }
    }
}

#[test]
fn a_built_transfer_passes_core_checks_and_is_mined() {
    let (wallet, mut chain, mut r) = funded();
    let to = stranger().public_key().pubkey_hash();
    let request = TransferRequest::new(
        vec![(to, units(1_500_000_000))],
        FeePolicy::PerByte(units(2)),
    )
    .with_payload(b"invoice 17".to_vec());
    let built = build_transfer_detailed(
        &wallet,
        &candidates(&wallet, &chain),
        &request,
        chain.network(),
    )
    .unwrap();
    let tx = &built.transaction;
    // Oldest first: the rewards of heights 1 and 2 (account 0) pay 15 coins plus the fee.
    assert_eq!(tx.inputs().len(), 2);
    assert_eq!(built.selection.encoded_len, tx.encoded_len());
    assert_eq!(built.selection.fee.to_units(), 2 * tx.encoded_len() as u64);
    assert_eq!(tx.outputs[0].address, to);
    assert_eq!(tx.outputs[0].amount, units(1_500_000_000));
    // Change goes to the first address.
    assert_eq!(built.change_address, Some(wallet.pubkey_hash(0).unwrap()));
    assert_eq!(tx.outputs[1].address, wallet.pubkey_hash(0).unwrap());
    assert_eq!(tx.outputs[1].amount, built.selection.change);
    assert_eq!(tx.payload, b"invoice 17");

    assert_eq!(check_all(tx, &chain), Ok(built.selection.fee));
    let txid = tx.txid();
    mine(&mut chain, vec![tx.clone()], to, &mut r);
    assert!(chain.utxos().contains_txid(&txid));
    assert_eq!(
        chain.utxos().balance(&to).to_units(),
        1_500_000_000 + 1_000_000_000 + built.selection.fee.to_units()
    );
}

#[test]
fn any_changed_byte_of_a_signed_transfer_fails() {
    let (wallet, chain, _) = funded();
    let to = stranger().public_key().pubkey_hash();
    // Two inputs from two accounts, change, and a payload: every kind of field is present.
    let request = TransferRequest::new(
        vec![(to, units(3_500_000_000))],
        FeePolicy::Fixed(units(1_000)),
    )
    .with_payload(b"memo".to_vec())
    .with_change_address(wallet.pubkey_hash(1).unwrap());
    let tx = build_transfer(
        &wallet,
        &candidates(&wallet, &chain),
        &request,
        chain.network(),
    )
    .unwrap();
    let owners: Vec<PubkeyHash> = tx
        .inputs()
        .iter()
        .map(|i| i.public_key.pubkey_hash())
        .collect();
    assert_eq!(owners.len(), 4);
    assert!(owners.contains(&wallet.pubkey_hash(1).unwrap()));
    assert_eq!(tx.outputs.len(), 2);
    assert_eq!(tx.outputs[1].address, wallet.pubkey_hash(1).unwrap());
    assert!(check_all(&tx, &chain).is_ok());
    assert_every_byte_matters(&tx, &chain);
}

#[test]
fn a_transfer_signed_for_one_network_is_invalid_on_another() {
    let (wallet, chain, _) = funded();
    let to = stranger().public_key().pubkey_hash();
    let request = TransferRequest::new(vec![(to, units(1))], FeePolicy::default());
    let tx = build_transfer(
        &wallet,
        &candidates(&wallet, &chain),
        &request,
        chain.network(),
    )
    .unwrap();
    assert!(matches!(
        check_transaction(&tx, &Network::lab()),
        Err(TxError::BadSignature { index: 0, .. })
    ));
}

#[test]
fn unconfirmed_change_can_be_spent_when_allowed() {
    let (wallet, chain, _) = funded();
    let network = chain.network();
    let to = stranger().public_key().pubkey_hash();
    let first = build_transfer_detailed(
        &wallet,
        &candidates(&wallet, &chain),
        &TransferRequest::new(vec![(to, units(100))], FeePolicy::default()),
        network,
    )
    .unwrap();
    let change = Candidate::unconfirmed(
        OutPoint {
            txid: first.transaction.txid(),
            vout: 1,
        },
        UtxoEntry {
            output: first.transaction.outputs[1],
            height: Height(0),
            is_coinbase: false,
        },
    );
    let request = TransferRequest::new(vec![(to, units(200))], FeePolicy::default());
    // Only the unconfirmed change is offered: refused unless allowed.
    assert!(matches!(
        build_transfer(&wallet, &[change], &request, network),
        Err(BuildError::Selection(SelectError::InsufficientFunds { .. }))
    ));
    let mut options = request.options;
    options.allow_unconfirmed = true;
    let second =
        build_transfer(&wallet, &[change], &request.with_options(options), network).unwrap();
    assert_eq!(second.inputs()[0].prev_out, change.outpoint);
    assert!(check_transaction(&second, network).is_ok());
}

#[test]
fn signing_keys_from_a_key_or_a_slice() {
    let network = Network::dev();
    let mut chain = ChainBuilder::new(network.clone());
    let mut r = rng(3);
    let key = SigningKey::from_secret_bytes([5; 32]);
    let owner = key.public_key().pubkey_hash();
    mine(&mut chain, Vec::new(), owner, &mut r);
    let c: Vec<Candidate> = chain
        .spendable(&owner)
        .into_iter()
        .map(Candidate::from)
        .collect();
    let to = stranger().public_key().pubkey_hash();
    let request = TransferRequest::new(vec![(to, units(5))], FeePolicy::default());
    let tx = build_transfer(&key, &c, &request, &network).unwrap();
    assert_eq!(tx.outputs[1].address, owner, "change back to the key");
    assert!(check_all(&tx, &chain).is_ok());
    let keys = [stranger(), key.clone()];
    let tx = build_transfer(&keys[..], &c, &request, &network).unwrap();
    assert_eq!(
        tx.outputs[1].address, to,
        "change to the first key of the slice"
    );
    assert!(check_all(&tx, &chain).is_ok());
}

struct NoChange(SigningKey);

impl KeySource for NoChange {
    fn key_for(&self, owner: &PubkeyHash) -> Option<&SigningKey> {
        self.0.key_for(owner)
    }
    fn default_change_address(&self) -> Option<PubkeyHash> {
        None
    }
}

#[test]
fn request_errors_are_precise_and_come_before_signing() {
    let (wallet, chain, _) = funded();
    let network = chain.network();
    let c = candidates(&wallet, &chain);
    let to = stranger().public_key().pubkey_hash();
    let send = |request: &TransferRequest| build_transfer(&wallet, &c, request, network);

    assert_eq!(
        send(&TransferRequest::new(Vec::new(), FeePolicy::default())),
        Err(BuildError::NoRecipients)
    );
    assert_eq!(
        send(&TransferRequest::new(
            vec![(to, units(1)), (to, Amount::ZERO)],
            FeePolicy::default()
        )),
        Err(BuildError::ZeroOutput { index: 1 })
    );
    assert_eq!(
        send(&TransferRequest::new(
            vec![(to, Amount::MAX), (to, units(1))],
            FeePolicy::default()
        )),
        Err(BuildError::AmountOverflow)
    );
    let max = network.spec().max_payload_bytes;
    let big = TransferRequest::new(vec![(to, units(1))], FeePolicy::default())
        .with_payload(vec![0; max as usize + 1]);
    let expected = Err(BuildError::PayloadTooLarge {
        len: max as usize + 1,
        max,
    });
    assert_eq!(send(&big), expected);
    // Checked before selection: even with no funds at all.
    assert_eq!(build_transfer(&wallet, &[], &big, network), expected);
    let at_limit = TransferRequest::new(vec![(to, units(1))], FeePolicy::default())
        .with_payload(vec![0; max as usize]);
    assert!(send(&at_limit).is_ok());

    let err = send(&TransferRequest::new(
        vec![(to, units(5_000_000_000))],
        FeePolicy::Fixed(units(1)),
    ))
    .unwrap_err();
    assert_eq!(
        err,
        BuildError::Selection(SelectError::InsufficientFunds {
            needed: units(5_000_000_001),
            available: units(4_000_000_000),
            unspendable: Amount::ZERO,
        })
    );

    // An output the wallet has no key for.
    let mut foreign = c.clone();
    foreign.sort_by_key(|c| c.entry.height);
    foreign[0].entry.output.address = to;
    assert_eq!(
        send_with(&wallet, &foreign, units(1), network),
        Err(BuildError::UnknownKey(foreign[0].outpoint))
    );
    // Change but nowhere to send it.
    let owner_key = wallet.signing_key(0).unwrap().clone();
    assert_eq!(
        send_with(&NoChange(owner_key.clone()), &c, units(1), network),
        Err(BuildError::NoChangeAddress)
    );
    // …which is fine when there is no change.
    let exact = TransferRequest::new(vec![(to, units(1_000_000_000))], FeePolicy::default());
    assert!(build_transfer(&NoChange(owner_key), &c, &exact, network).is_ok());
}

fn send_with<K: KeySource + ?Sized>(
    keys: &K,
    c: &[Candidate],
    amount: Amount,
    network: &Network,
) -> Result<Transaction, BuildError> {
    let to = stranger().public_key().pubkey_hash();
    build_transfer(
        keys,
        c,
        &TransferRequest::new(vec![(to, amount)], FeePolicy::default()),
        network,
    )
}

#[test]
fn a_transaction_larger_than_a_block_is_refused() {
    let spec = ChainSpec {
        max_block_bytes: 1024,
        max_payload_bytes: 100,
        ..ChainSpec::dev()
    };
    let network = Network::new(spec).unwrap();
    let key = stranger();
    let owner = key.public_key().pubkey_hash();
    let c: Vec<Candidate> = (0..10u8)
        .map(|i| {
            Candidate::confirmed(
                OutPoint {
                    txid: Txid::hash(&[i]),
                    vout: 0,
                },
                UtxoEntry {
                    output: TxOut {
                        amount: units(10),
                        address: owner,
                    },
                    height: Height(1),
                    is_coinbase: false,
                },
            )
        })
        .collect();
    // 8 inputs: 4 + 1 + 4 + 8 × 132 + 4 + 28 + 4 = 1,101 bytes.
    assert_eq!(
        send_with(&key, &c, units(80), &network),
        Err(BuildError::TooLarge {
            len: 1_101,
            max: 1024
        })
    );
}

#[test]
fn records_verify_offline_and_every_byte_matters() {
    let (wallet, mut chain, mut r) = funded();
    let network = chain.network().clone();
    let key = wallet.signing_key(1).unwrap();
    let record = build_record(
        key,
        b"lot 7: 40 kg coffee, Santos".to_vec(),
        1_767_225_700_000,
        &network,
    )
    .unwrap();
    assert!(matches!(record.kind, TxKind::Record { .. }));
    assert!(record.outputs.is_empty() && record.inputs().is_empty());
    assert_eq!(check_all(&record, &chain), Ok(Amount::ZERO));
    assert_eq!(
        verify_record_signature(&record, &network.genesis_hash()),
        Ok(key.public_key())
    );
    // A changed payload byte breaks the signature.
    let mut edited = record.clone();
    edited.payload[0] ^= 1;
    assert!(matches!(
        verify_record_signature(&edited, &network.genesis_hash()),
        Err(ProofError::BadSignature(_))
    ));
    // Signed for one network, not valid for another.
    assert!(matches!(
        verify_record_signature(&record, &Network::lab().genesis_hash()),
        Err(ProofError::BadSignature(_))
    ));
    assert_every_byte_matters(&record, &chain);
    mine(
        &mut chain,
        vec![record.clone()],
        wallet.pubkey_hash(0).unwrap(),
        &mut r,
    );
    assert!(chain.utxos().contains_txid(&record.txid()));
}

#[test]
fn record_errors() {
    let network = Network::dev();
    let key = stranger();
    assert_eq!(
        build_record(&key, Vec::new(), 0, &network),
        Err(BuildError::EmptyRecord)
    );
    let max = network.spec().max_payload_bytes as usize;
    assert_eq!(
        build_record(&key, vec![1; max + 1], 0, &network),
        Err(BuildError::PayloadTooLarge {
            len: max + 1,
            max: max as u32
        })
    );
    assert!(build_record(&key, vec![1; max], 0, &network).is_ok());
}
