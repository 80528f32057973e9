//! Tests of the wallet file format.
//!
//! Most tests use [`KdfParams::insecure_fast_for_tests`] or small Argon2id settings so the suite
//! stays fast in debug builds; `full_strength_*` tests run the default settings once each.

#![allow(clippy::unwrap_used)]

use std::time::Instant;

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};

use super::*;

const PASSWORD: &str = "correct horse battery staple";
const NETWORK: &str = "ferrochain-testnet";
const CREATED_MS: u64 = 1_700_000_000_123;

/// Argon2id settings small enough for debug-build tests (weak: need AllowWeakForTests).
const SMALL_ARGON2: KdfParams = KdfParams::Argon2id {
    m_cost_kib: 256,
    t_cost: 2,
    p_cost: 1,
};

/// An edit applied to a parsed wallet file before re-serialising it.
type Edit = Box<dyn Fn(&mut serde_json::Value)>;

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn accounts_for(m: &Mnemonic, indices: &[u32]) -> Vec<Account> {
    indices
        .iter()
        .map(|&i| {
            Account::new(
                i,
                m.account_key(i).unwrap().public_key(),
                format!("addr-{i}"),
            )
        })
        .collect()
}

fn fast_file(seed: u64) -> (Mnemonic, KeyFile) {
    let mut r = rng(seed);
    let m = Mnemonic::generate(&mut r);
    let accounts = accounts_for(&m, &[0, 1, 7]);
    let file = KeyFile::encrypt(
        &m,
        PASSWORD,
        KdfParams::insecure_fast_for_tests(),
        NETWORK,
        accounts,
        CREATED_MS,
        &mut r,
    )
    .unwrap();
    (m, file)
}

fn parse_weak(bytes: &[u8]) -> Result<KeyFile, KeyFileError> {
    KeyFile::from_json_bytes_with(bytes, KdfPolicy::AllowWeakForTests)
}

fn json(file: &KeyFile) -> serde_json::Value {
    serde_json::from_slice(&file.to_json_bytes()).unwrap()
}

fn bytes_of(v: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec_pretty(v).unwrap()
}

#[test]
fn round_trip_pbkdf2_fast() {
    let (m, file) = fast_file(1);
    let bytes = file.to_json_bytes();
    let parsed = parse_weak(&bytes).unwrap();
    assert_eq!(parsed, file);
    assert_eq!(parsed.network(), NETWORK);
    assert_eq!(parsed.created_ms(), CREATED_MS);
    assert_eq!(parsed.kdf(), KdfParams::insecure_fast_for_tests());
    assert_eq!(parsed.accounts(), accounts_for(&m, &[0, 1, 7]).as_slice());
    let back = parsed.decrypt(PASSWORD).unwrap();
    assert_eq!(back, m);
    assert_eq!(back.phrase(), m.phrase());
    // Serialising again gives the same bytes.
    assert_eq!(parsed.to_json_bytes(), bytes);
}

#[test]
fn round_trip_argon2id_small() {
    let mut r = rng(2);
    let m = Mnemonic::from_entropy(&[0x42; 16]).unwrap();
    let file = KeyFile::encrypt(
        &m,
        "pässwörd ✓",
        SMALL_ARGON2,
        "dev",
        accounts_for(&m, &[0]),
        0,
        &mut r,
    )
    .unwrap();
    let bytes = file.to_json_bytes();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["kdf"]["name"], "argon2id");
    assert_eq!(v["kdf"]["m_cost_kib"], 256);
    assert_eq!(v["kdf"]["t_cost"], 2);
    assert_eq!(v["kdf"]["p_cost"], 1);
    let parsed = parse_weak(&bytes).unwrap();
    assert_eq!(parsed.decrypt("pässwörd ✓").unwrap(), m);
    assert_eq!(
        parsed.decrypt("passwort").unwrap_err(),
        KeyFileError::WrongPassword
    );
    // Weak Argon2 settings are refused by default, like weak PBKDF2.
    assert_eq!(
        KeyFile::from_json_bytes(&bytes).unwrap_err(),
        KeyFileError::WeakKdf(SMALL_ARGON2)
    );
}

#[test]
fn json_has_the_documented_fields() {
    let (m, file) = fast_file(3);
    let v = json(&file);
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    let mut expected = vec![
        "format",
        "version",
        "network",
        "kdf",
        "cipher",
        "ciphertext",
        "accounts",
        "created_ms",
    ];
    expected.sort_unstable();
    let mut keys_sorted = keys.clone();
    keys_sorted.sort_unstable();
    assert_eq!(keys_sorted, expected);
    assert_eq!(v["format"], "ferrochain-wallet");
    assert_eq!(v["version"], 1);
    assert_eq!(v["network"], NETWORK);
    assert_eq!(v["kdf"]["name"], "pbkdf2-sha256");
    assert_eq!(v["kdf"]["iterations"], 1000);
    assert_eq!(v["kdf"]["salt"].as_str().unwrap().len(), 32);
    assert_eq!(v["cipher"]["name"], "aes-256-gcm");
    assert_eq!(v["cipher"]["nonce"].as_str().unwrap().len(), 24);
    // 1 kind byte + 32 entropy bytes + 16 tag bytes.
    assert_eq!(v["ciphertext"].as_str().unwrap().len(), 2 * (1 + 32 + 16));
    assert_eq!(v["created_ms"], CREATED_MS);
    let acc = &v["accounts"][0];
    assert_eq!(acc["index"], 0);
    assert_eq!(
        acc["public_key"],
        hex::encode(m.account_key(0).unwrap().public_key())
    );
    assert_eq!(acc["address"], "addr-0");
    assert!(acc["label"].is_null());
}

/// A file written by this version with fixed inputs (phrase of entropy `7f` × 16, password
/// [`PASSWORD`], `insecure_fast_for_tests`, salt and nonce from `ChaCha20Rng` seed 99). It
/// guards the format (AAD layout, plaintext layout, field names and order) against accidental
/// change. The ciphertext was checked independently with Python's `hashlib.pbkdf2_hmac` and
/// `cryptography`'s `AESGCM` following `docs/wallet-format.md` (decrypts to `01` || `7f` × 16).
const KNOWN_FILE: &str = r#"{
  "format": "ferrochain-wallet",
  "version": 1,
  "network": "ferrochain-testnet",
  "kdf": {
    "name": "pbkdf2-sha256",
    "iterations": 1000,
    "salt": "a0ce4a8df256558162747d72543ab253"
  },
  "cipher": {
    "name": "aes-256-gcm",
    "nonce": "f6d5277908e7f1208f853e47"
  },
  "ciphertext": "3f1d29b796fe29797f7733683366f29addd980beefdfb107133d468a7a9ac1b54c",
  "accounts": [],
  "created_ms": 1700000000123
}
"#;

#[test]
fn known_answer_file() {
    let m = Mnemonic::parse(
        "legal winner thank year wave sausage worth useful legal winner thank yellow",
    )
    .unwrap();
    let file = KeyFile::encrypt(
        &m,
        PASSWORD,
        KdfParams::insecure_fast_for_tests(),
        NETWORK,
        vec![],
        CREATED_MS,
        &mut rng(99),
    )
    .unwrap();
    assert_eq!(String::from_utf8(file.to_json_bytes()).unwrap(), KNOWN_FILE);
    let parsed = parse_weak(KNOWN_FILE.as_bytes()).unwrap();
    assert_eq!(parsed, file);
    assert_eq!(parsed.decrypt(PASSWORD).unwrap(), m);
}

#[test]
fn wrong_password_is_reported() {
    let (_, file) = fast_file(4);
    let err = file.decrypt("Correct horse battery staple").unwrap_err();
    assert_eq!(err, KeyFileError::WrongPassword);
    assert_eq!(err.to_string(), "wrong password, or the file was modified");
    assert_eq!(file.decrypt("").unwrap_err(), KeyFileError::WrongPassword);
}

#[test]
fn serialized_file_contains_no_secret() {
    let (m, file) = fast_file(5);
    let bytes = file.to_json_bytes();
    let text = String::from_utf8(bytes.clone()).unwrap();
    let phrase = m.phrase();
    assert!(!text.contains(phrase.as_str()));
    let mut checked = 0;
    for word in m.words().filter(|w| w.len() >= 5) {
        assert!(!text.contains(word), "phrase word {word:?} in the file");
        checked += 1;
    }
    assert!(checked >= 5, "too few long words to check ({checked})");
    let entropy = m.entropy();
    let seed = m.to_seed(WALLET_BIP39_PASSPHRASE);
    for secret in [entropy.as_slice(), seed.as_slice()] {
        assert!(!text.contains(&hex::encode(secret)));
        assert!(!text.contains(&hex::encode_upper(secret)));
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret),
            "raw secret bytes in the file"
        );
    }
    let key = m.account_key(0).unwrap();
    assert!(!text.contains(&hex::encode(key.secret())));
    assert!(!text.contains(PASSWORD));
}

#[test]
fn every_truncation_is_malformed() {
    let (_, file) = fast_file(6);
    let bytes = file.to_json_bytes();
    // Everything short of the closing brace is invalid JSON.
    let end = bytes.iter().rposition(|&b| b == b'}').unwrap();
    for len in 0..end {
        match parse_weak(&bytes[..len]) {
            Err(KeyFileError::Malformed(_)) => {}
            other => panic!("prefix of {len} bytes: {other:?}"),
        }
    }
    assert!(parse_weak(&bytes[..=end]).is_ok());
    assert!(matches!(
        parse_weak(b"not json"),
        Err(KeyFileError::Malformed(_))
    ));
    assert!(matches!(
        parse_weak(b"[1,2]"),
        Err(KeyFileError::Malformed(_))
    ));
    assert!(matches!(
        parse_weak(&[0xff, 0xfe, 0x00]),
        Err(KeyFileError::Malformed(_))
    ));
}

#[test]
fn flipped_ciphertext_digit_is_wrong_password() {
    let (_, file) = fast_file(7);
    let mut v = json(&file);
    let ct = v["ciphertext"].as_str().unwrap().to_owned();
    // Flip one hex digit at the start, middle and end (tag).
    for pos in [0, ct.len() / 2, ct.len() - 1] {
        let mut chars: Vec<char> = ct.chars().collect();
        chars[pos] = if chars[pos] == '0' { '1' } else { '0' };
        v["ciphertext"] = serde_json::Value::String(chars.into_iter().collect());
        let edited = parse_weak(&bytes_of(&v)).unwrap();
        assert_eq!(
            edited.decrypt(PASSWORD).unwrap_err(),
            KeyFileError::WrongPassword,
            "position {pos}"
        );
    }
    // A non-hex digit is caught when parsing.
    v["ciphertext"] = serde_json::Value::String(format!("z{}", &ct[1..]));
    assert!(matches!(
        parse_weak(&bytes_of(&v)),
        Err(KeyFileError::InvalidField {
            field: "ciphertext",
            ..
        })
    ));
}

#[test]
fn edited_header_fields_fail_decryption() {
    let (_, file) = fast_file(8);
    let original = json(&file);
    let edits: Vec<(&str, Edit)> = vec![
        (
            "network",
            Box::new(|v| v["network"] = "ferrochain-mainnet".into()),
        ),
        (
            "iterations up",
            Box::new(|v| v["kdf"]["iterations"] = 1001.into()),
        ),
        (
            "salt",
            Box::new(|v| {
                let s = v["kdf"]["salt"].as_str().unwrap();
                let flipped = if s.starts_with('0') { "1" } else { "0" };
                v["kdf"]["salt"] = format!("{flipped}{}", &s[1..]).into();
            }),
        ),
        (
            "nonce",
            Box::new(|v| {
                let s = v["cipher"]["nonce"].as_str().unwrap();
                let flipped = if s.starts_with('0') { "1" } else { "0" };
                v["cipher"]["nonce"] = format!("{flipped}{}", &s[1..]).into();
            }),
        ),
        (
            "created_ms",
            Box::new(|v| v["created_ms"] = (CREATED_MS + 1).into()),
        ),
    ];
    for (what, edit) in edits {
        let mut v = original.clone();
        edit(&mut v);
        let edited = parse_weak(&bytes_of(&v)).unwrap();
        assert_eq!(
            edited.decrypt(PASSWORD).unwrap_err(),
            KeyFileError::WrongPassword,
            "{what}"
        );
    }
    // The untouched file still opens.
    assert!(
        parse_weak(&bytes_of(&original))
            .unwrap()
            .decrypt(PASSWORD)
            .is_ok()
    );
}

#[test]
fn lowered_iterations_are_weak_kdf() {
    // A full-strength header lowered below the minimum is refused before any decryption.
    let (_, file) = fast_file(9);
    let mut v = json(&file);
    v["kdf"]["iterations"] = 599_999.into();
    assert_eq!(
        KeyFile::from_json_bytes(&bytes_of(&v)).unwrap_err(),
        KeyFileError::WeakKdf(KdfParams::Pbkdf2Sha256 {
            iterations: 599_999
        })
    );
    // The test-only file itself is refused by default and accepted with the explicit policy.
    let bytes = file.to_json_bytes();
    let err = KeyFile::from_json_bytes(&bytes).unwrap_err();
    assert_eq!(
        err,
        KeyFileError::WeakKdf(KdfParams::insecure_fast_for_tests())
    );
    assert!(
        err.to_string()
            .contains("pbkdf2-sha256 with 1000 iterations")
    );
    assert!(KeyFile::from_json_bytes_with(&bytes, KdfPolicy::AllowWeakForTests).is_ok());
    // 600,000 passes the strength check (parsing only: no KDF is run).
    v["kdf"]["iterations"] = 600_000.into();
    assert!(KeyFile::from_json_bytes(&bytes_of(&v)).is_ok());
}

#[test]
fn version_format_kdf_and_cipher_names_are_checked() {
    let (_, file) = fast_file(10);
    let original = json(&file);
    let with = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut v = original.clone();
        edit(&mut v);
        parse_weak(&bytes_of(&v)).unwrap_err()
    };
    assert_eq!(
        with(&|v| v["version"] = 2.into()),
        KeyFileError::UnknownVersion(2)
    );
    // A version-2 file may have any other shape: the version is reported, not the shape.
    assert_eq!(
        parse_weak(br#"{"format":"ferrochain-wallet","version":2,"something":"else"}"#)
            .unwrap_err(),
        KeyFileError::UnknownVersion(2)
    );
    assert_eq!(
        with(&|v| v["version"] = 0.into()),
        KeyFileError::UnknownVersion(0)
    );
    assert!(matches!(
        with(&|v| v["version"] = "1".into()),
        KeyFileError::Malformed(_)
    ));
    assert!(matches!(
        with(&|v| v["version"] = (-1).into()),
        KeyFileError::Malformed(_)
    ));
    assert!(matches!(
        with(&|v| v["version"] = 1.5.into()),
        KeyFileError::Malformed(_)
    ));
    assert!(matches!(
        with(&|v| v["version"] = (u64::from(u32::MAX) + 1).into()),
        KeyFileError::Malformed(_)
    ));
    assert_eq!(
        with(&|v| v["format"] = "other-wallet".into()),
        KeyFileError::NotAWalletFile {
            format: "other-wallet".into()
        }
    );
    assert!(matches!(
        with(&|v| {
            v.as_object_mut().unwrap().remove("format");
        }),
        KeyFileError::Malformed(_)
    ));
    assert_eq!(
        with(&|v| v["kdf"]["name"] = "scrypt".into()),
        KeyFileError::UnknownKdf("scrypt".into())
    );
    assert_eq!(
        with(&|v| v["cipher"]["name"] = "chacha20-poly1305".into()),
        KeyFileError::UnknownCipher("chacha20-poly1305".into())
    );
}

#[test]
fn structural_edits_are_malformed_or_invalid_field() {
    let (_, file) = fast_file(11);
    let original = json(&file);
    let with = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut v = original.clone();
        edit(&mut v);
        parse_weak(&bytes_of(&v)).unwrap_err()
    };
    let malformed: Vec<(&str, Edit)> = vec![
        (
            "missing network",
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("network");
            }),
        ),
        ("unknown field", Box::new(|v| v["extra"] = true.into())),
        (
            "unknown kdf field",
            Box::new(|v| v["kdf"]["m_cost_kib"] = 5.into()),
        ),
        (
            "missing iterations",
            Box::new(|v| {
                v["kdf"].as_object_mut().unwrap().remove("iterations");
            }),
        ),
        (
            "iterations string",
            Box::new(|v| v["kdf"]["iterations"] = "600000".into()),
        ),
        (
            "kdf not object",
            Box::new(|v| v["kdf"] = "pbkdf2-sha256".into()),
        ),
        (
            "kdf name missing",
            Box::new(|v| {
                v["kdf"].as_object_mut().unwrap().remove("name");
            }),
        ),
        (
            "accounts not array",
            Box::new(|v| v["accounts"] = serde_json::json!({})),
        ),
        (
            "created_ms negative",
            Box::new(|v| v["created_ms"] = (-5).into()),
        ),
        ("network number", Box::new(|v| v["network"] = 5.into())),
    ];
    for (what, edit) in malformed {
        assert!(
            matches!(with(&*edit), KeyFileError::Malformed(_)),
            "{what}: {:?}",
            with(&*edit)
        );
    }
    let invalid: Vec<(&str, &str, Edit)> = vec![
        (
            "short salt",
            "kdf.salt",
            Box::new(|v| v["kdf"]["salt"] = "00ff".into()),
        ),
        (
            "odd salt",
            "kdf.salt",
            Box::new(|v| v["kdf"]["salt"] = "abc".into()),
        ),
        (
            "long nonce",
            "cipher.nonce",
            Box::new(|v| v["cipher"]["nonce"] = "00".repeat(13).into()),
        ),
        (
            "empty ciphertext",
            "ciphertext",
            Box::new(|v| v["ciphertext"] = "".into()),
        ),
        (
            "tag-only ciphertext",
            "ciphertext",
            Box::new(|v| v["ciphertext"] = "00".repeat(16).into()),
        ),
        (
            "bad public key",
            "accounts.public_key",
            Box::new(|v| v["accounts"][0]["public_key"] = "00".repeat(31).into()),
        ),
        (
            "huge index",
            "accounts.index",
            Box::new(|v| v["accounts"][0]["index"] = 0x8000_0000u32.into()),
        ),
    ];
    for (what, field, edit) in invalid {
        match with(&*edit) {
            KeyFileError::InvalidField { field: f, .. } if f == field => {}
            other => panic!("{what}: {other:?}"),
        }
    }
    assert_eq!(
        with(&|v| v["accounts"][1]["index"] = 0.into()),
        KeyFileError::DuplicateAccount { index: 0 }
    );
    assert!(matches!(
        with(&|v| v["kdf"]["iterations"] = 0.into()),
        KeyFileError::InvalidKdfParams { .. }
    ));
    assert_eq!(
        with(&|v| v["kdf"]["iterations"] = u32::MAX.into()),
        KeyFileError::KdfTooExpensive(KdfParams::Pbkdf2Sha256 {
            iterations: u32::MAX
        })
    );
}

#[test]
fn hostile_argon2_settings_are_refused_without_running() {
    let (_, file) = fast_file(12);
    let mut v = json(&file);
    let salt = v["kdf"]["salt"].clone();
    let set = |v: &mut serde_json::Value, m: u32, t: u32, p: u32| {
        v["kdf"] = serde_json::json!({
            "name": "argon2id", "m_cost_kib": m, "t_cost": t, "p_cost": p, "salt": salt.clone()
        });
    };
    set(&mut v, u32::MAX, 1, 1);
    assert!(matches!(
        KeyFile::from_json_bytes(&bytes_of(&v)).unwrap_err(),
        KeyFileError::KdfTooExpensive(_)
    ));
    set(&mut v, 65_536, 1_000_000, 1);
    assert!(matches!(
        KeyFile::from_json_bytes(&bytes_of(&v)).unwrap_err(),
        KeyFileError::KdfTooExpensive(_)
    ));
    set(&mut v, 65_536, 3, 1_000);
    assert!(matches!(
        KeyFile::from_json_bytes(&bytes_of(&v)).unwrap_err(),
        KeyFileError::KdfTooExpensive(_)
    ));
    set(&mut v, 64, 3, 16); // below 8 KiB per lane
    assert!(matches!(
        parse_weak(&bytes_of(&v)).unwrap_err(),
        KeyFileError::InvalidKdfParams { .. }
    ));
    set(&mut v, 65_536, 0, 1);
    assert!(matches!(
        KeyFile::from_json_bytes(&bytes_of(&v)).unwrap_err(),
        KeyFileError::InvalidKdfParams { .. }
    ));
    // OWASP's cheapest settings pass the strength check; slightly less does not.
    for (m, t) in [
        (47_104, 1),
        (19_456, 2),
        (12_288, 3),
        (9_216, 4),
        (7_168, 5),
    ] {
        set(&mut v, m, t, 1);
        assert!(
            KeyFile::from_json_bytes(&bytes_of(&v)).is_ok(),
            "{m} KiB × {t}"
        );
    }
    for (m, t) in [(19_456, 1), (7_167, 10), (7_168, 4)] {
        set(&mut v, m, t, 1);
        assert!(
            matches!(
                KeyFile::from_json_bytes(&bytes_of(&v)).unwrap_err(),
                KeyFileError::WeakKdf(_)
            ),
            "{m} KiB × {t}"
        );
    }
}

#[test]
fn edited_account_public_key_is_account_mismatch() {
    let (m, file) = fast_file(13);
    let mut v = json(&file);
    let other = Mnemonic::generate(&mut rng(1000));
    v["accounts"][1]["public_key"] = hex::encode(other.account_key(1).unwrap().public_key()).into();
    let edited = parse_weak(&bytes_of(&v)).unwrap();
    assert_eq!(
        edited.decrypt(PASSWORD).unwrap_err(),
        KeyFileError::AccountMismatch { index: 1 }
    );
    // The phrase can still be recovered explicitly.
    assert_eq!(edited.decrypt_unverified(PASSWORD).unwrap(), m);
    // Labels and addresses are public metadata: editing them needs no password.
    let mut v = json(&file);
    v["accounts"][0]["label"] = "savings".into();
    let relabelled = parse_weak(&bytes_of(&v)).unwrap();
    // A missing label reads as none.
    let mut unlabelled = v.clone();
    unlabelled["accounts"][0]
        .as_object_mut()
        .unwrap()
        .remove("label");
    assert_eq!(
        parse_weak(&bytes_of(&unlabelled)).unwrap().accounts()[0].label,
        None
    );
    assert_eq!(relabelled.accounts()[0].label.as_deref(), Some("savings"));
    assert_eq!(relabelled.decrypt(PASSWORD).unwrap(), m);
}

#[test]
fn encrypt_checks_password_and_accounts() {
    let mut r = rng(14);
    let m = Mnemonic::generate(&mut r);
    let fast = KdfParams::insecure_fast_for_tests();
    assert_eq!(
        KeyFile::encrypt(&m, "", fast, NETWORK, vec![], 0, &mut r).unwrap_err(),
        KeyFileError::EmptyPassword
    );
    let mut accounts = accounts_for(&m, &[0, 1]);
    accounts.push(accounts[0].clone());
    assert_eq!(
        KeyFile::encrypt(&m, PASSWORD, fast, NETWORK, accounts, 0, &mut r).unwrap_err(),
        KeyFileError::DuplicateAccount { index: 0 }
    );
    let wrong = vec![Account::new(3, m.account_key(4).unwrap().public_key(), "x")];
    assert_eq!(
        KeyFile::encrypt(&m, PASSWORD, fast, NETWORK, wrong, 0, &mut r).unwrap_err(),
        KeyFileError::AccountMismatch { index: 3 }
    );
    let huge = vec![Account::new(u32::MAX, [0; 32], "x")];
    assert!(matches!(
        KeyFile::encrypt(&m, PASSWORD, fast, NETWORK, huge, 0, &mut r).unwrap_err(),
        KeyFileError::InvalidField {
            field: "accounts.index",
            ..
        }
    ));
    let too_slow = KdfParams::Pbkdf2Sha256 {
        iterations: u32::MAX,
    };
    assert_eq!(
        KeyFile::encrypt(&m, PASSWORD, too_slow, NETWORK, vec![], 0, &mut r).unwrap_err(),
        KeyFileError::KdfTooExpensive(too_slow)
    );
    // Different RNG draws give different salts and nonces, hence different ciphertexts.
    let a = KeyFile::encrypt(&m, PASSWORD, fast, NETWORK, vec![], 0, &mut r).unwrap();
    let b = KeyFile::encrypt(&m, PASSWORD, fast, NETWORK, vec![], 0, &mut r).unwrap();
    assert_ne!(a.to_json_bytes(), b.to_json_bytes());
}

#[test]
fn accounts_can_be_added_and_labelled() {
    let (m, mut file) = fast_file(15);
    let new = Account::new(2, m.account_key(2).unwrap().public_key(), "addr-2");
    file.push_account(new.clone()).unwrap();
    assert_eq!(
        file.push_account(new).unwrap_err(),
        KeyFileError::DuplicateAccount { index: 2 }
    );
    file.set_label(2, Some("cold".into())).unwrap();
    assert_eq!(
        file.set_label(99, None).unwrap_err(),
        KeyFileError::NoSuchAccount { index: 99 }
    );
    let parsed = parse_weak(&file.to_json_bytes()).unwrap();
    assert_eq!(parsed.accounts().len(), 4);
    assert_eq!(parsed.decrypt(PASSWORD).unwrap(), m);
}

#[test]
fn change_password_keeps_the_phrase_and_accounts() {
    let (m, file) = fast_file(16);
    let changed = file
        .change_password(PASSWORD, "new password", SMALL_ARGON2, &mut rng(17))
        .unwrap();
    assert_eq!(changed.accounts(), file.accounts());
    assert_eq!(changed.network(), file.network());
    assert_eq!(changed.created_ms(), file.created_ms());
    assert_eq!(changed.kdf(), SMALL_ARGON2);
    assert_eq!(changed.decrypt("new password").unwrap(), m);
    assert_eq!(
        changed.decrypt(PASSWORD).unwrap_err(),
        KeyFileError::WrongPassword
    );
    assert_eq!(
        file.change_password("nope", "x", SMALL_ARGON2, &mut rng(18))
            .unwrap_err(),
        KeyFileError::WrongPassword
    );
}

#[test]
fn random_byte_edits_never_panic() {
    let (m, file) = fast_file(19);
    let bytes = file.to_json_bytes();
    let mut r = rng(20);
    let mut opened = 0;
    for _ in 0..400 {
        let mut edited = bytes.clone();
        let pos = (r.next_u32() as usize) % edited.len();
        edited[pos] = (r.next_u32() & 0xff) as u8;
        if let Ok(f) = parse_weak(&edited) {
            match f.decrypt(PASSWORD) {
                Ok(back) => {
                    assert_eq!(back, m);
                    opened += 1;
                }
                Err(
                    KeyFileError::WrongPassword
                    | KeyFileError::AccountMismatch { .. }
                    | KeyFileError::InvalidKdfParams { .. },
                ) => {}
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
    }
    // Some edits hit whitespace or labels/addresses and leave the file usable.
    assert!(opened > 0);
}

#[test]
fn full_strength_pbkdf2_round_trip() {
    let mut r = rng(21);
    let m = Mnemonic::generate(&mut r);
    let start = Instant::now();
    let file = KeyFile::encrypt(
        &m,
        PASSWORD,
        KdfParams::pbkdf2_default(),
        NETWORK,
        accounts_for(&m, &[0]),
        CREATED_MS,
        &mut r,
    )
    .unwrap();
    let encrypt_time = start.elapsed();
    let parsed = KeyFile::from_json_bytes(&file.to_json_bytes()).unwrap();
    assert_eq!(parsed.kdf(), KdfParams::pbkdf2_default());
    let start = Instant::now();
    assert_eq!(parsed.decrypt(PASSWORD).unwrap(), m);
    eprintln!(
        "pbkdf2-sha256 600000: encrypt {encrypt_time:?}, decrypt {:?}",
        start.elapsed()
    );
}

#[test]
fn full_strength_argon2id_round_trip() {
    let mut r = rng(22);
    let m = Mnemonic::generate(&mut r);
    let start = Instant::now();
    let file = KeyFile::encrypt(
        &m,
        PASSWORD,
        KdfParams::argon2id_default(),
        NETWORK,
        vec![],
        CREATED_MS,
        &mut r,
    )
    .unwrap();
    let encrypt_time = start.elapsed();
    let parsed = KeyFile::from_json_bytes(&file.to_json_bytes()).unwrap();
    let start = Instant::now();
    assert_eq!(
        parsed.decrypt("wrong").unwrap_err(),
        KeyFileError::WrongPassword
    );
    eprintln!(
        "argon2id 64 MiB x3: encrypt {encrypt_time:?}, decrypt {:?}",
        start.elapsed()
    );
}
