//! Tests of the node keystore: dev and encrypted round trips, no secret in encrypted JSON, and a
//! precise error for every kind of bad input.

#![allow(clippy::unwrap_used)]

use ferrochain_core::builder::ChainBuilder;
use ferrochain_core::check::check_transaction;
use ferrochain_core::{Amount, ChainSpec};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::*;
use crate::build::{TransferRequest, build_transfer};
use crate::coin_select::{Candidate, FeePolicy};

const PASSWORD: &str = "node wallet password";

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn fast() -> KdfParams {
    KdfParams::insecure_fast_for_tests()
}

fn open(
    bytes: &[u8],
    network: &Network,
    password: Option<&str>,
) -> Result<Keystore, KeystoreError> {
    Keystore::from_json_bytes_with(bytes, network, password, KdfPolicy::AllowWeakForTests)
}

fn encrypted(seed: u64, keys: usize) -> (Keystore, Network) {
    let network = Network::lab();
    let mut r = rng(seed);
    let mut store = Keystore::new_encrypted(&network, PASSWORD, fast(), &mut r).unwrap();
    for _ in 0..keys {
        store.generate(&mut r).unwrap();
    }
    (store, network)
}

fn same_keys(a: &Keystore, b: &Keystore) {
    assert_eq!(a.addresses(), b.addresses());
    for address in a.addresses() {
        assert_eq!(
            a.get_signing_key(address).unwrap().secret_bytes(),
            b.get_signing_key(address).unwrap().secret_bytes()
        );
        assert_eq!(a.label(address).unwrap(), b.label(address).unwrap());
    }
}

fn json(store: &Keystore) -> serde_json::Value {
    serde_json::from_slice(&store.to_json_bytes()).unwrap()
}

fn bytes(v: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec_pretty(v).unwrap()
}

#[test]
fn dev_plaintext_round_trip() {
    let network = Network::dev();
    let mut r = rng(1);
    let mut store = Keystore::new_dev(&network).unwrap();
    assert_eq!(store.protection(), Protection::DevPlaintext);
    let a = store.generate(&mut r).unwrap();
    let b = store.generate(&mut r).unwrap();
    assert!(a.starts_with("dev1") && a != b);
    let imported = SigningKey::from_secret_bytes([3; 32]);
    let c = store
        .import(imported.clone(), Some("faucet".into()), &mut r)
        .unwrap();
    assert_eq!(c, network.address(&imported.public_key().pubkey_hash()));
    assert_eq!(store.len(), 3);

    let text = store.to_json_bytes();
    let value: serde_json::Value = serde_json::from_slice(&text).unwrap();
    assert_eq!(value["format"], "ferrochain-keystore");
    assert_eq!(value["protection"], "dev-plaintext");
    assert!(value.get("kdf").is_none());
    assert_eq!(
        value["keys"][2]["dev_secret"],
        hex::encode(imported.secret_bytes())
    );
    let reopened = Keystore::from_json_bytes(&text, &network, None).unwrap();
    same_keys(&store, &reopened);
    assert_eq!(reopened.label(&c).unwrap(), Some("faucet"));
    // A password is not needed, and ignored if given.
    same_keys(
        &store,
        &Keystore::from_json_bytes(&text, &network, Some("x")).unwrap(),
    );
}

#[test]
fn encrypted_round_trip_and_keys_added_after_reopening() {
    let (mut store, network) = encrypted(2, 3);
    assert_eq!(store.protection(), Protection::Encrypted);
    let first = store.addresses()[0].to_owned();
    store.set_label(&first, Some("shop".into())).unwrap();
    let reopened = open(&store.to_json_bytes(), &network, Some(PASSWORD)).unwrap();
    same_keys(&store, &reopened);
    assert_eq!(reopened.label(&first).unwrap(), Some("shop"));

    // The derived key stays in memory: new keys are sealed without the password again.
    let mut reopened = reopened;
    let added = reopened.generate(&mut rng(9)).unwrap();
    let again = open(&reopened.to_json_bytes(), &network, Some(PASSWORD)).unwrap();
    same_keys(&reopened, &again);
    assert!(again.get_signing_key(&added).is_ok());
}

#[test]
fn encrypted_json_never_contains_a_secret() {
    let (store, _) = encrypted(3, 5);
    let text = store.to_json_bytes();
    let value = json(&store);
    assert_eq!(value["protection"], "encrypted");
    assert_eq!(value["kdf"]["name"], "pbkdf2-sha256");
    assert_eq!(value["cipher"]["name"], "aes-256-gcm");
    let text_str = String::from_utf8(text.clone()).unwrap();
    assert!(!text_str.contains("dev_secret"));
    for address in store.addresses() {
        let secret = store.get_signing_key(address).unwrap().secret_bytes();
        assert!(
            !text_str.contains(&hex::encode(secret)),
            "secret hex of {address}"
        );
        assert!(!text_str.contains(&hex::encode_upper(secret)));
        assert!(
            !text.windows(32).any(|w| w == secret),
            "raw secret of {address}"
        );
    }
    // Debug shows addresses, not secrets.
    let debug = format!("{store:?}");
    for address in store.addresses() {
        let secret = store.get_signing_key(address).unwrap().secret_bytes();
        assert!(!debug.contains(&hex::encode(secret)));
        assert!(debug.contains(address));
    }
}

#[test]
fn password_errors() {
    let (store, network) = encrypted(4, 2);
    let text = store.to_json_bytes();
    assert_eq!(
        open(&text, &network, Some("wrong")).unwrap_err(),
        KeystoreError::WrongPassword
    );
    assert_eq!(
        open(&text, &network, None).unwrap_err(),
        KeystoreError::PasswordRequired
    );
    // With no keys at all, a wrong password still fails (the password-check tag).
    let (empty, _) = encrypted(5, 0);
    assert_eq!(
        open(&empty.to_json_bytes(), &network, Some("wrong")).unwrap_err(),
        KeystoreError::WrongPassword
    );
    // Weak settings are refused by the normal reader.
    assert_eq!(
        Keystore::from_json_bytes(&text, &network, Some(PASSWORD)).unwrap_err(),
        KeystoreError::WeakKdf(fast())
    );
    assert_eq!(
        Keystore::new_encrypted(&network, "", fast(), &mut rng(1)).unwrap_err(),
        KeystoreError::EmptyPassword
    );
    // Edited header fields are bound: wrong password, or the file was modified.
    let mut v = json(&store);
    v["kdf"]["iterations"] = 1_001.into();
    assert_eq!(
        open(&bytes(&v), &network, Some(PASSWORD)).unwrap_err(),
        KeystoreError::WrongPassword
    );
}

#[test]
fn plaintext_only_on_dev_and_only_for_its_own_network() {
    let lab = Network::lab();
    assert_eq!(
        Keystore::new_dev(&lab).unwrap_err(),
        KeystoreError::PlaintextNotAllowed {
            network: "lab".into()
        }
    );
    let dev = Network::dev();
    let mut store = Keystore::new_dev(&dev).unwrap();
    store.generate(&mut rng(6)).unwrap();
    let mut v = json(&store);
    v["network"] = "lab".into();
    assert_eq!(
        open(&bytes(&v), &lab, None).unwrap_err(),
        KeystoreError::PlaintextNotAllowed {
            network: "lab".into()
        }
    );
    assert_eq!(
        open(&store.to_json_bytes(), &lab, None).unwrap_err(),
        KeystoreError::NetworkMismatch {
            file: "dev".into(),
            expected: "lab".into()
        }
    );
    // A custom chain is not `dev`, whatever its rules.
    let custom = Network::new(ChainSpec {
        name: "dev-copy".into(),
        ..ChainSpec::dev()
    })
    .unwrap();
    assert!(matches!(
        Keystore::new_dev(&custom),
        Err(KeystoreError::PlaintextNotAllowed { .. })
    ));
    // Nor is a private chain merely *named* `dev`: the genesis hash decides.
    let named_dev = Network::new(ChainSpec {
        genesis_message: "a private chain that calls itself dev".into(),
        ..ChainSpec::dev()
    })
    .unwrap();
    assert_eq!(named_dev.spec().name, "dev");
    assert_eq!(
        Keystore::new_dev(&named_dev).unwrap_err(),
        KeystoreError::PlaintextNotAllowed {
            network: "dev".into()
        }
    );
    assert!(matches!(
        open(&store.to_json_bytes(), &named_dev, None),
        Err(KeystoreError::PlaintextNotAllowed { .. })
    ));
}

#[test]
fn edited_keys_are_found() {
    let (store, network) = encrypted(7, 2);
    let v = json(&store);

    let mut flipped = v.clone();
    let ct = flipped["keys"][0]["ciphertext"]
        .as_str()
        .unwrap()
        .to_owned();
    let last = if ct.ends_with('0') { "1" } else { "0" };
    flipped["keys"][0]["ciphertext"] = format!("{}{last}", &ct[..ct.len() - 1]).into();
    assert_eq!(
        open(&bytes(&flipped), &network, Some(PASSWORD)).unwrap_err(),
        KeystoreError::CorruptKey {
            address: store.addresses()[0].to_owned()
        }
    );

    // Ciphertexts moved between entries do not decrypt: each is bound to its public key.
    let mut swapped = v.clone();
    for field in ["nonce", "ciphertext"] {
        let a = swapped["keys"][0][field].clone();
        swapped["keys"][0][field] = swapped["keys"][1][field].clone();
        swapped["keys"][1][field] = a;
    }
    assert!(matches!(
        open(&bytes(&swapped), &network, Some(PASSWORD)),
        Err(KeystoreError::CorruptKey { .. })
    ));

    // A public part that does not match the secret.
    let mut dev = Keystore::new_dev(&Network::dev()).unwrap();
    dev.generate(&mut rng(8)).unwrap();
    dev.generate(&mut rng(9)).unwrap();
    let mut v = json(&dev);
    v["keys"][0]["public_key"] = v["keys"][1]["public_key"].clone();
    assert_eq!(
        open(&bytes(&v), &Network::dev(), None).unwrap_err(),
        KeystoreError::KeyMismatch {
            address: dev.addresses()[0].to_owned()
        }
    );
    let mut v = json(&dev);
    v["keys"][0]["address"] = v["keys"][1]["address"].clone();
    assert!(matches!(
        open(&bytes(&v), &Network::dev(), None),
        Err(KeystoreError::KeyMismatch { .. })
    ));
    // The same key twice.
    let mut v = json(&dev);
    let copy = v["keys"][0].clone();
    v["keys"].as_array_mut().unwrap().push(copy);
    assert_eq!(
        open(&bytes(&v), &Network::dev(), None).unwrap_err(),
        KeystoreError::DuplicateKey {
            address: dev.addresses()[0].to_owned()
        }
    );
    let key = dev.get_signing_key(dev.addresses()[0]).unwrap().clone();
    assert!(matches!(
        dev.import(key, None, &mut rng(1)),
        Err(KeystoreError::DuplicateKey { .. })
    ));
}

#[test]
fn structural_errors() {
    let (store, network) = encrypted(10, 1);
    let v = json(&store);
    let try_edit = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut e = v.clone();
        f(&mut e);
        open(&bytes(&e), &network, Some(PASSWORD))
    };
    assert_eq!(
        try_edit(&|e| e["format"] = "ferrochain-wallet".into()).unwrap_err(),
        KeystoreError::NotAKeystore {
            format: "ferrochain-wallet".into()
        }
    );
    assert_eq!(
        try_edit(&|e| e["version"] = 2.into()).unwrap_err(),
        KeystoreError::UnknownVersion(2)
    );
    assert_eq!(
        try_edit(&|e| e["protection"] = "rot13".into()).unwrap_err(),
        KeystoreError::UnknownProtection("rot13".into())
    );
    assert_eq!(
        try_edit(&|e| e["kdf"]["name"] = "scrypt".into()).unwrap_err(),
        KeystoreError::UnknownKdf("scrypt".into())
    );
    assert_eq!(
        try_edit(&|e| e["cipher"]["name"] = "chacha20".into()).unwrap_err(),
        KeystoreError::UnknownCipher("chacha20".into())
    );
    assert!(matches!(
        try_edit(&|e| e["kdf"]["salt"] = "abcd".into()),
        Err(KeystoreError::InvalidField {
            field: "kdf.salt",
            ..
        })
    ));
    assert!(matches!(
        try_edit(&|e| e["keys"][0]["public_key"] = "xyz".into()),
        Err(KeystoreError::InvalidField {
            field: "keys.public_key",
            ..
        })
    ));
    assert!(matches!(
        try_edit(&|e| e["kdf"]["iterations"] = 0.into()),
        Err(KeystoreError::InvalidKdfParams { .. })
    ));
    assert!(matches!(
        try_edit(&|e| e["kdf"]["iterations"] = u32::MAX.into()),
        Err(KeystoreError::KdfTooExpensive(_))
    ));
    assert!(matches!(
        try_edit(&|e| e["surprise"] = true.into()),
        Err(KeystoreError::Malformed(_))
    ));
    assert!(matches!(
        try_edit(&|e| e["keys"][0]["dev_secret"] = "00".into()),
        Err(KeystoreError::Malformed(_))
    ));
    assert!(matches!(
        try_edit(&|e| {
            e.as_object_mut().unwrap().remove("cipher");
        }),
        Err(KeystoreError::Malformed(_))
    ));
    let text = store.to_json_bytes();
    // Every cut before the final `}` (the last byte is a newline).
    for cut in 0..text.len() - 2 {
        assert!(matches!(
            open(&text[..cut], &network, Some(PASSWORD)),
            Err(KeystoreError::Malformed(_))
        ));
    }
}

#[test]
fn addresses_are_checked_when_asking_for_a_key() {
    let (store, network) = encrypted(11, 1);
    let other = Keystore::new_dev(&Network::dev()).map(|mut s| {
        let a = s.generate(&mut rng(12)).unwrap();
        (s, a)
    });
    let (_, dev_address) = other.unwrap();
    assert!(matches!(
        store.get_signing_key(&dev_address),
        Err(KeystoreError::InvalidAddress(
            AddressError::WrongNetwork { .. }
        ))
    ));
    assert!(matches!(
        store.get_signing_key("lab1notanaddress"),
        Err(KeystoreError::InvalidAddress(_))
    ));
    let stranger = network.address(
        &SigningKey::from_secret_bytes([1; 32])
            .public_key()
            .pubkey_hash(),
    );
    assert_eq!(
        store.get_signing_key(&stranger).unwrap_err(),
        KeystoreError::UnknownAddress {
            address: stranger.clone()
        }
    );
    assert!(store.public_key(store.addresses()[0]).is_ok());
}

#[test]
fn the_node_signs_transfers_with_held_keys() {
    let network = Network::dev();
    let mut r = rng(13);
    let mut store = Keystore::new_dev(&network).unwrap();
    let from = store.generate(&mut r).unwrap();
    let from_hash = network.parse_address(&from).unwrap();
    let mut chain = ChainBuilder::new(network.clone());
    let t = chain.tip().header.time_ms + 10_000;
    chain.mine_block(Vec::new(), from_hash, t, &mut r).unwrap();
    let candidates: Vec<Candidate> = chain
        .spendable(&from_hash)
        .into_iter()
        .map(Candidate::from)
        .collect();
    let to = SigningKey::from_secret_bytes([2; 32])
        .public_key()
        .pubkey_hash();
    let request = TransferRequest::new(
        vec![(to, Amount::from_units(7).unwrap())],
        FeePolicy::default(),
    )
    .with_change_address(from_hash);
    let tx = build_transfer(&store, &candidates, &request, &network).unwrap();
    assert!(check_transaction(&tx, &network).is_ok());
    assert_eq!(tx.outputs[1].address, from_hash);
}

#[test]
fn a_full_keystore_refuses_one_more_key_and_keeps_what_it_holds() {
    let network = Network::dev();
    let mut r = rng(7);
    let mut store = Keystore::new_dev(&network).unwrap();
    store.set_max_keys(2);
    store.generate(&mut r).unwrap();
    store.generate(&mut r).unwrap();
    assert!(matches!(
        store.generate(&mut r),
        Err(KeystoreError::Full { max: 2 })
    ));
    let extra = ferrochain_core::SigningKey::from_secret_bytes([9; 32]);
    assert!(matches!(
        store.import(extra, None, &mut r),
        Err(KeystoreError::Full { max: 2 })
    ));
    assert_eq!(store.addresses().len(), 2);
    // Read back without a cap, it holds the same two keys.
    let back = open(&store.to_json_bytes(), &network, None).unwrap();
    assert_eq!(back.addresses(), store.addresses());
}
