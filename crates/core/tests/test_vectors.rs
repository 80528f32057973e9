//! Fixed test vectors of `ferrochain-core`, stored in `tests/data/vectors.json`.
//!
//! Every consensus-relevant value here is recomputed and compared with the committed one, so any change to
//! the encoding, hashing, signing, Merkle tree or genesis rules shows up as a failing vector and has to be a
//! deliberate decision:
//!
//! - `networks.dev` / `networks.lab`: the genesis block hash (network id), coinbase txid, Merkle root, header
//!   and full block encoding (hex);
//! - `transfer`: a transfer signed on the dev network by a fixed key (fixed outpoint, two outputs, a
//!   payload): encoding, txid, signature message (sighash) and signature; `record`: a signed record likewise;
//! - `python`: values computed independently with Python's `hashlib` by the script kept in `generator`: the
//!   RFC 6962 Merkle roots of 1, 2, 3 and 5 leaves (txid i = SHA-256 of the single byte i) and the SHA-256 of
//!   each genesis header (the block hash);
//! - `rfc8032`: RFC 8032 §7.1 Ed25519 vectors TEST 1, 2, 3 and TEST 1024 (copied from the RFC and
//!   cross-checked by signing with Python's `cryptography` package);
//! - `bip350`: BIP-350 valid bech32m strings, BIP-173 bech32 strings that must not pass as bech32m, and
//!   BIP-350 invalid strings, checked with the `bech32` crate the addresses use.
//!
//! # Regenerating after a deliberate consensus change
//!
//! ```text
//! FERROCHAIN_REGENERATE_VECTORS=1 cargo test -p ferrochain-core --test test_vectors
//! python3 -c 'import json,sys; exec("\n".join(json.load(open(sys.argv[1]))["generator"]))' \
//!     crates/core/tests/data/vectors.json
//! ```
//!
//! With `FERROCHAIN_REGENERATE_VECTORS=1` the test rewrites the code-derived sections (`networks`,
//! `transfer`, `record`) from the code instead of comparing them, and leaves the Python-, RFC- and
//! BIP-sourced sections alone (the tests that read the `python` section are skipped in that run, since it may
//! be stale until the generator is rerun). The second command recomputes the `python` section
//! independently (and re-checks the RFC 8032 and BIP-350 values). Review the diff before committing.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use bech32::primitives::decode::CheckedHrpstring;
use ferrochain_core::check::check_transaction;
use ferrochain_core::merkle::{leaf_hash, merkle_root};
use ferrochain_core::tx::SIGHASH_TAG;
use ferrochain_core::{
    Amount, Block, Decode, Encode, Network, OutPoint, PublicKey, Signature, SigningKey,
    Transaction, TxKind, TxOut, Txid,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The environment variable that switches the test from comparing to rewriting.
const REGENERATE_ENV: &str = "FERROCHAIN_REGENERATE_VECTORS";

fn vectors_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/vectors.json")
}

fn regenerating() -> bool {
    std::env::var(REGENERATE_ENV).as_deref() == Ok("1")
}

fn load() -> Value {
    let text = std::fs::read_to_string(vectors_path()).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("vectors.json has no string at {pointer}"))
}

fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

// ------------------------------------------------------------------------------------------------------------
// The code-derived vectors
// ------------------------------------------------------------------------------------------------------------

/// Secret of the key that signs the transfer (and owns the spent output and the change).
const SENDER_SECRET: [u8; 32] = [0x11; 32];
/// Secret of the key the transfer pays.
const RECIPIENT_SECRET: [u8; 32] = [0x22; 32];
/// Secret of the record's author.
const AUTHOR_SECRET: [u8; 32] = [0x33; 32];
/// The transfer spends output 1 of the transaction with this id: SHA-256 of this text.
const FUNDING_TXID_PREIMAGE: &[u8] = b"ferrochain test vector: funding transaction";
const TRANSFER_PAYMENT: u64 = 250_000_000;
const TRANSFER_CHANGE: u64 = 749_990_000;
const TRANSFER_PAYLOAD: &[u8] = b"invoice 2026-001";
const RECORD_PAYLOAD: &[u8] = b"lot 7: 120 kg of coffee received at warehouse B";
const RECORD_TIMESTAMP_MS: u64 = 1_767_225_660_000;

fn network_vector(net: &Network) -> Value {
    let g = net.genesis();
    json!({
        "genesis_hash": net.genesis_hash().to_string(),
        "coinbase_txid": g.transactions[0].txid().to_string(),
        "merkle_root": g.header.merkle_root.to_string(),
        "genesis_header_hex": hex::encode(g.header.to_array()),
        "genesis_block_hex": hex::encode(g.to_bytes()),
    })
}

fn transfer() -> Transaction {
    let net = Network::dev();
    let sender = SigningKey::from_secret_bytes(SENDER_SECRET);
    let recipient = SigningKey::from_secret_bytes(RECIPIENT_SECRET);
    let outpoint = OutPoint {
        txid: Txid::hash(FUNDING_TXID_PREIMAGE),
        vout: 1,
    };
    let outputs = vec![
        TxOut {
            amount: Amount::from_units(TRANSFER_PAYMENT).unwrap(),
            address: recipient.public_key().pubkey_hash(),
        },
        TxOut {
            amount: Amount::from_units(TRANSFER_CHANGE).unwrap(),
            address: sender.public_key().pubkey_hash(),
        },
    ];
    Transaction::signed_transfer(
        &[(outpoint, &sender)],
        outputs,
        TRANSFER_PAYLOAD.to_vec(),
        &net.genesis_hash(),
    )
}

fn record() -> Transaction {
    let net = Network::dev();
    Transaction::signed_record(
        &SigningKey::from_secret_bytes(AUTHOR_SECRET),
        RECORD_PAYLOAD.to_vec(),
        RECORD_TIMESTAMP_MS,
        &net.genesis_hash(),
    )
}

fn transfer_vector() -> Value {
    let net = Network::dev();
    let tx = transfer();
    let sender = SigningKey::from_secret_bytes(SENDER_SECRET);
    let recipient = SigningKey::from_secret_bytes(RECIPIENT_SECRET);
    json!({
        "network": "dev",
        "sender_secret": hex::encode(SENDER_SECRET),
        "sender_public_key": sender.public_key().to_string(),
        "sender_address": net.address(&sender.public_key().pubkey_hash()),
        "recipient_secret": hex::encode(RECIPIENT_SECRET),
        "recipient_address": net.address(&recipient.public_key().pubkey_hash()),
        "spends": { "txid": Txid::hash(FUNDING_TXID_PREIMAGE).to_string(), "vout": 1 },
        "outputs": tx.outputs.iter().map(|o| json!({
            "amount": o.amount.to_units(),
            "address": net.address(&o.address),
        })).collect::<Vec<_>>(),
        "payload_hex": hex::encode(TRANSFER_PAYLOAD),
        "encoding_hex": hex::encode(tx.to_bytes()),
        "txid": tx.txid().to_string(),
        "sighash_hex": hex::encode(tx.sighash(&net.genesis_hash())),
        "signature_hex": tx.signatures()[0].1.to_string(),
    })
}

fn record_vector() -> Value {
    let net = Network::dev();
    let tx = record();
    let author = SigningKey::from_secret_bytes(AUTHOR_SECRET);
    json!({
        "network": "dev",
        "author_secret": hex::encode(AUTHOR_SECRET),
        "author_public_key": author.public_key().to_string(),
        "timestamp_ms": RECORD_TIMESTAMP_MS,
        "payload_hex": hex::encode(RECORD_PAYLOAD),
        "encoding_hex": hex::encode(tx.to_bytes()),
        "txid": tx.txid().to_string(),
        "sighash_hex": hex::encode(tx.sighash(&net.genesis_hash())),
        "signature_hex": tx.signatures()[0].1.to_string(),
    })
}

/// The sections of `vectors.json` that the code computes.
fn code_vectors() -> Value {
    json!({
        "networks": {
            "dev": network_vector(&Network::dev()),
            "lab": network_vector(&Network::lab()),
        },
        "transfer": transfer_vector(),
        "record": record_vector(),
    })
}

/// Collects every difference between `stored` and `fresh` (keys missing on either side included).
fn diff(path: &str, stored: &Value, fresh: &Value, out: &mut Vec<String>) {
    match (stored, fresh) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = format!("{path}.{k}");
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => diff(&p, x, y, out),
                    (Some(_), None) => out.push(format!("{p}: in vectors.json, not computed")),
                    (None, Some(y)) => {
                        out.push(format!("{p}: missing from vectors.json (code: {y})"))
                    }
                    (None, None) => {}
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                diff(&format!("{path}[{i}]"), x, y, out);
            }
        }
        _ if stored == fresh => {}
        _ => out.push(format!(
            "{path}: vectors.json has {stored}, the code gives {fresh}"
        )),
    }
}

/// Compares the code-derived sections with `vectors.json`, or rewrites them when regenerating.
#[test]
fn code_derived_vectors_match_the_committed_ones() {
    let fresh = code_vectors();
    let mut file = load();
    if regenerating() {
        for (key, value) in fresh.as_object().unwrap() {
            file[key] = value.clone();
        }
        let text = serde_json::to_string_pretty(&file).unwrap() + "\n";
        // Write then rename, so the other tests (running in parallel) never read a half-written file.
        let tmp = vectors_path().with_extension("json.tmp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, vectors_path()).unwrap();
        eprintln!(
            "{REGENERATE_ENV}=1: rewrote the networks, transfer and record sections of {}; now rerun the \
             Python generator (see the top of tests/test_vectors.rs) and review the diff",
            vectors_path().display()
        );
        return;
    }
    let mut differences = Vec::new();
    for key in fresh.as_object().unwrap().keys() {
        diff(key, &file[key], &fresh[key], &mut differences);
    }
    assert!(
        differences.is_empty(),
        "consensus test vectors changed:\n  {}\nIf this change is deliberate, regenerate the vectors \
         (see the top of tests/test_vectors.rs).",
        differences.join("\n  ")
    );
}

// ------------------------------------------------------------------------------------------------------------
// Consistency of the stored vectors, independently of the comparison above
// ------------------------------------------------------------------------------------------------------------

#[test]
fn stored_genesis_blocks_decode_to_the_presets_and_hash_as_stated() {
    let file = load();
    for (name, net) in [("dev", Network::dev()), ("lab", Network::lab())] {
        let base = format!("/networks/{name}");
        let bytes = hex::decode(str_at(&file, &format!("{base}/genesis_block_hex"))).unwrap();
        let block = Block::from_bytes(&bytes).unwrap();
        assert_eq!(&block, net.genesis(), "{name}");
        assert_eq!(block.encoded_len(), bytes.len());
        // The block hash is SHA-256 of the first 96 bytes, which are the stored header.
        let header = hex::decode(str_at(&file, &format!("{base}/genesis_header_hex"))).unwrap();
        assert_eq!(&bytes[..96], &header[..]);
        assert_eq!(
            hex::encode(sha256(&header)),
            str_at(&file, &format!("{base}/genesis_hash"))
        );
        // One transaction: the Merkle root is its leaf hash, and its txid the hash of its bytes.
        let coinbase: Txid = str_at(&file, &format!("{base}/coinbase_txid"))
            .parse()
            .unwrap();
        assert_eq!(coinbase, Txid::from_byte_array(sha256(&bytes[100..])));
        assert_eq!(
            leaf_hash(&coinbase).to_string(),
            str_at(&file, &format!("{base}/merkle_root"))
        );
        assert!(block.transactions[0].is_coinbase());
    }
    assert_ne!(
        str_at(&file, "/networks/dev/genesis_hash"),
        str_at(&file, "/networks/lab/genesis_hash")
    );
}

/// Strips the 64-byte signatures from a transfer's or record's encoding, from the documented layout.
fn unsigned_encoding(tx: &Transaction, bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes[..5].to_vec();
    let mut at = 5;
    match &tx.kind {
        TxKind::Transfer { inputs } => {
            out.extend_from_slice(&bytes[at..at + 4]);
            at += 4;
            for _ in inputs {
                out.extend_from_slice(&bytes[at..at + 36 + 32]);
                at += 36 + 32 + 64;
            }
        }
        TxKind::Record { .. } => {
            out.extend_from_slice(&bytes[at..at + 32 + 8]);
            at += 32 + 8 + 64;
        }
        TxKind::Coinbase { .. } => unreachable!("no signatures"),
    }
    out.extend_from_slice(&bytes[at..]);
    out
}

/// The stored transaction decodes, its txid and signature message are the hashes the protocol describes,
/// its signature verifies, it is valid on `dev` and invalid on `lab` (no replay across networks).
fn check_signed_vector(section: &str, key: PublicKey, expected: &Transaction) {
    let file = load();
    let dev = Network::dev();
    let bytes = hex::decode(str_at(&file, &format!("/{section}/encoding_hex"))).unwrap();
    let tx = Transaction::from_bytes(&bytes).unwrap();
    assert_eq!(&tx, expected);
    assert_eq!(
        str_at(&file, &format!("/{section}/txid")),
        hex::encode(sha256(&bytes))
    );
    let sighash = hex::decode(str_at(&file, &format!("/{section}/sighash_hex"))).unwrap();
    let mut preimage = SIGHASH_TAG.to_vec();
    preimage.extend_from_slice(dev.genesis_hash().as_bytes());
    preimage.extend_from_slice(&unsigned_encoding(&tx, &bytes));
    assert_eq!(sighash, sha256(&preimage));
    let signature: Signature = str_at(&file, &format!("/{section}/signature_hex"))
        .parse()
        .unwrap();
    assert_eq!(tx.signatures(), vec![(key, signature)]);
    assert_eq!(key.verify(&sighash, &signature), Ok(()));
    assert_eq!(check_transaction(&tx, &dev), Ok(()));
    assert!(check_transaction(&tx, &Network::lab()).is_err());
}

#[test]
fn stored_transfer_is_valid_and_hashes_as_the_protocol_says() {
    let file = load();
    let sender = SigningKey::from_secret_bytes(SENDER_SECRET).public_key();
    assert_eq!(
        str_at(&file, "/transfer/sender_public_key"),
        sender.to_string()
    );
    check_signed_vector("transfer", sender, &transfer());
    let dev = Network::dev();
    let to = dev
        .parse_address(str_at(&file, "/transfer/recipient_address"))
        .unwrap();
    assert_eq!(
        to,
        SigningKey::from_secret_bytes(RECIPIENT_SECRET)
            .public_key()
            .pubkey_hash()
    );
}

#[test]
fn stored_record_is_valid_and_hashes_as_the_protocol_says() {
    let author = SigningKey::from_secret_bytes(AUTHOR_SECRET).public_key();
    check_signed_vector("record", author, &record());
}

// ------------------------------------------------------------------------------------------------------------
// Values computed in Python
// ------------------------------------------------------------------------------------------------------------

fn skip_python_section() -> bool {
    if regenerating() {
        eprintln!("{REGENERATE_ENV}=1: not checking the python section (rerun the generator)");
    }
    regenerating()
}

#[test]
fn merkle_roots_match_python() {
    if skip_python_section() {
        return;
    }
    let file = load();
    for n in [1u8, 2, 3, 5] {
        let txids: Vec<Txid> = (0..n).map(|i| Txid::hash(&[i])).collect();
        assert_eq!(
            merkle_root(&txids).to_string(),
            str_at(&file, &format!("/python/merkle_roots/{n}")),
            "{n} leaves"
        );
    }
}

#[test]
fn genesis_block_hashes_match_python_sha256_of_the_headers() {
    if skip_python_section() {
        return;
    }
    let file = load();
    for (name, net) in [("dev", Network::dev()), ("lab", Network::lab())] {
        assert_eq!(
            str_at(&file, &format!("/networks/{name}/genesis_header_hex")),
            hex::encode(net.genesis().header.to_array()),
            "{name}"
        );
        assert_eq!(
            net.genesis_hash().to_string(),
            str_at(&file, &format!("/python/genesis_header_sha256/{name}")),
            "{name}"
        );
    }
}

// ------------------------------------------------------------------------------------------------------------
// RFC 8032 and BIP-350
// ------------------------------------------------------------------------------------------------------------

#[test]
fn rfc8032_ed25519_vectors() {
    let file = load();
    let vectors = file["rfc8032"].as_array().unwrap();
    let names: Vec<&str> = vectors.iter().map(|v| str_at(v, "/name")).collect();
    assert_eq!(names, ["TEST 1", "TEST 2", "TEST 3", "TEST 1024"]);
    for v in vectors {
        let name = str_at(v, "/name");
        let secret: [u8; 32] = hex::decode(str_at(v, "/secret_key"))
            .unwrap()
            .try_into()
            .unwrap();
        let message = hex::decode(str_at(v, "/message")).unwrap();
        let public: PublicKey = str_at(v, "/public_key").parse().unwrap();
        let signature: Signature = str_at(v, "/signature").parse().unwrap();
        let key = SigningKey::from_secret_bytes(secret);
        assert_eq!(key.public_key(), public, "{name}: public key");
        assert_eq!(key.secret_bytes(), secret, "{name}");
        assert_eq!(key.sign(&message), signature, "{name}: signature");
        assert_eq!(public.verify(&message, &signature), Ok(()), "{name}");
        let mut other = message.clone();
        other.push(0);
        assert!(public.verify(&other, &signature).is_err(), "{name}");
    }
    assert_eq!(str_at(&vectors[3], "/message").len(), 2 * 1023);
}

#[test]
fn bip350_bech32m_vectors() {
    let file = load();
    let bip = &file["bip350"];
    let strings = |key: &str| -> Vec<String> {
        bip[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                v.as_str()
                    .or_else(|| v["string"].as_str())
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    let valid = strings("valid_bech32m");
    assert!(valid.len() >= 7);
    for s in &valid {
        assert!(
            CheckedHrpstring::new::<bech32::Bech32m>(s).is_ok(),
            "{s:?} is valid bech32m"
        );
        assert!(
            CheckedHrpstring::new::<bech32::Bech32>(s).is_err(),
            "{s:?} is not bech32"
        );
    }
    for s in strings("valid_bech32_not_bech32m") {
        assert!(CheckedHrpstring::new::<bech32::Bech32>(&s).is_ok(), "{s:?}");
        assert!(
            CheckedHrpstring::new::<bech32::Bech32m>(&s).is_err(),
            "{s:?} must not pass as bech32m"
        );
    }
    for s in strings("invalid_bech32m") {
        assert!(
            CheckedHrpstring::new::<bech32::Bech32m>(&s).is_err(),
            "{s:?} is invalid"
        );
    }
}
