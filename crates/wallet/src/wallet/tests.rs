//! Tests of the unlocked wallet: create → lock → unlock, restore from the phrase, network and
//! address checks.

#![allow(clippy::unwrap_used)]

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::*;
use crate::keyfile::KdfPolicy;

const PASSWORD: &str = "correct horse battery staple";
const PHRASE: &str = "legal winner thank year wave sausage worth useful legal winner thank yellow";

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn fast() -> KdfParams {
    KdfParams::insecure_fast_for_tests()
}

fn reopen(file: &KeyFile) -> KeyFile {
    KeyFile::from_json_bytes_with(&file.to_json_bytes(), KdfPolicy::AllowWeakForTests).unwrap()
}

fn addresses(w: &Wallet) -> Vec<String> {
    w.accounts()
        .iter()
        .map(|a| a.address().to_owned())
        .collect()
}

#[test]
fn create_lock_unlock_round_trip() {
    let network = Network::dev();
    let mut r = rng(1);
    let mut wallet = Wallet::create(&network, &mut r).unwrap();
    assert_eq!(wallet.mnemonic().word_count(), 24);
    assert_eq!(wallet.accounts().len(), 1);
    let second = wallet.new_address().unwrap();
    assert_eq!(second.index(), 1);
    wallet.new_address().unwrap();
    wallet.set_label(1, Some("savings".into())).unwrap();

    let file = reopen(
        &wallet
            .lock(PASSWORD, fast(), 1_700_000_000_000, &mut r)
            .unwrap(),
    );
    assert_eq!(file.network(), "dev");
    assert_eq!(file.created_ms(), 1_700_000_000_000);
    assert_eq!(
        file.accounts()
            .iter()
            .map(|a| a.address.clone())
            .collect::<Vec<_>>(),
        addresses(&wallet)
    );
    let unlocked = Wallet::unlock(&file, PASSWORD, &network).unwrap();
    assert_eq!(unlocked.mnemonic(), wallet.mnemonic());
    assert_eq!(addresses(&unlocked), addresses(&wallet));
    assert_eq!(unlocked.account(1).unwrap().label(), Some("savings"));
    for i in 0..3 {
        assert_eq!(
            unlocked.signing_key(i).unwrap().secret_bytes(),
            wallet.signing_key(i).unwrap().secret_bytes()
        );
    }
}

#[test]
fn restore_from_the_phrase_gives_the_same_addresses() {
    let network = Network::dev();
    let mut wallet = Wallet::create(&network, &mut rng(2)).unwrap();
    for _ in 0..4 {
        wallet.new_address().unwrap();
    }
    let phrase = wallet.mnemonic().phrase();
    let mut restored = Wallet::restore(&network, &phrase).unwrap();
    restored.ensure_accounts(5).unwrap();
    assert_eq!(addresses(&restored), addresses(&wallet));
    // Typed sloppily: case and spacing do not matter.
    let sloppy = format!("  {}  ", phrase.to_uppercase().replace(' ', "   "));
    let again = Wallet::restore(&network, &sloppy).unwrap();
    assert_eq!(again.address(0).unwrap(), wallet.address(0).unwrap());
    assert!(matches!(
        Wallet::restore(&network, "legal winner thank"),
        Err(WalletError::Mnemonic(_))
    ));
}

#[test]
fn accounts_are_the_derived_keys_and_their_bech32m_addresses() {
    let network = Network::dev();
    let wallet = Wallet::from_mnemonic(&network, Mnemonic::parse(PHRASE).unwrap(), 3).unwrap();
    let mnemonic = Mnemonic::parse(PHRASE).unwrap();
    for a in wallet.accounts() {
        let expected = mnemonic.account_key(a.index()).unwrap();
        assert_eq!(a.public_key().to_bytes(), expected.public_key());
        assert_eq!(a.pubkey_hash(), a.public_key().pubkey_hash());
        assert!(a.address().starts_with("dev1"), "{}", a.address());
        assert_eq!(network.parse_address(a.address()), Ok(a.pubkey_hash()));
        assert_eq!(
            wallet.account_for(&a.pubkey_hash()).unwrap().index(),
            a.index()
        );
        assert_eq!(
            wallet.key_for(&a.pubkey_hash()).unwrap().public_key(),
            a.public_key()
        );
    }
    assert_eq!(
        wallet.default_change_address(),
        Some(wallet.pubkey_hash(0).unwrap())
    );
    assert_eq!(
        wallet.address(3),
        Err(WalletError::NoSuchAccount { index: 3 })
    );
    assert!(wallet.key_for(&PubkeyHash::default()).is_none());
    // The same phrase gives other addresses (other prefix) on another network, same keys.
    let lab = Wallet::from_mnemonic(&Network::lab(), mnemonic, 1).unwrap();
    assert!(lab.address(0).unwrap().starts_with("lab1"));
    assert_eq!(lab.pubkey_hash(0), wallet.pubkey_hash(0));
    // Debug shows addresses, never the phrase or keys.
    let debug = format!("{wallet:?}");
    assert!(
        !debug.contains("legal") && !debug.contains("winner"),
        "{debug}"
    );
    assert!(debug.contains(wallet.address(0).unwrap()));
}

#[test]
fn unlock_checks_network_password_and_addresses() {
    let network = Network::dev();
    let mut r = rng(3);
    let wallet = Wallet::from_mnemonic(&network, Mnemonic::parse(PHRASE).unwrap(), 2).unwrap();
    let file = reopen(&wallet.lock(PASSWORD, fast(), 0, &mut r).unwrap());
    assert_eq!(
        Wallet::unlock(&file, PASSWORD, &Network::lab()).unwrap_err(),
        WalletError::NetworkMismatch {
            file: "dev".into(),
            expected: "lab".into()
        }
    );
    assert_eq!(
        Wallet::unlock(&file, "wrong", &network).unwrap_err(),
        WalletError::KeyFile(KeyFileError::WrongPassword)
    );
    // An address string edited in the (unbound) public part is caught.
    let mut json: serde_json::Value = serde_json::from_slice(&file.to_json_bytes()).unwrap();
    let other = wallet.address(0).unwrap().to_owned();
    json["accounts"][1]["address"] = other.clone().into();
    let edited = KeyFile::from_json_bytes_with(
        &serde_json::to_vec(&json).unwrap(),
        KdfPolicy::AllowWeakForTests,
    )
    .unwrap();
    assert_eq!(
        Wallet::unlock(&edited, PASSWORD, &network).unwrap_err(),
        WalletError::AddressMismatch {
            index: 1,
            stored: other,
            expected: wallet.address(1).unwrap().to_owned(),
        }
    );
    assert_eq!(
        wallet.lock("", fast(), 0, &mut r).unwrap_err(),
        WalletError::KeyFile(KeyFileError::EmptyPassword)
    );
}

#[test]
fn files_without_or_with_sparse_accounts() {
    let network = Network::dev();
    let mut r = rng(4);
    let mnemonic = Mnemonic::parse(PHRASE).unwrap();
    let empty =
        KeyFile::encrypt(&mnemonic, PASSWORD, fast(), "dev", Vec::new(), 0, &mut r).unwrap();
    let wallet = Wallet::unlock(&empty, PASSWORD, &network).unwrap();
    assert_eq!(wallet.accounts().len(), 1);
    assert_eq!(wallet.first_account().unwrap().index(), 0);

    let full = Wallet::from_mnemonic(&network, mnemonic.clone(), 8).unwrap();
    let sparse_accounts = [7u32, 2]
        .iter()
        .map(|&i| {
            let a = full.account(i).unwrap();
            Account::new(i, a.public_key().to_bytes(), a.address())
        })
        .collect();
    let sparse = KeyFile::encrypt(
        &mnemonic,
        PASSWORD,
        fast(),
        "dev",
        sparse_accounts,
        0,
        &mut r,
    )
    .unwrap();
    let mut wallet = Wallet::unlock(&sparse, PASSWORD, &network).unwrap();
    assert_eq!(
        wallet
            .accounts()
            .iter()
            .map(WalletAccount::index)
            .collect::<Vec<_>>(),
        vec![2, 7]
    );
    assert_eq!(
        wallet.first_account().unwrap().index(),
        2,
        "change goes to index 2"
    );
    assert_eq!(wallet.new_address().unwrap().index(), 8);
    assert_eq!(
        wallet.address(8).unwrap(),
        full_address(&network, &mnemonic, 8)
    );
    wallet.ensure_accounts(3).unwrap();
    assert_eq!(
        wallet
            .accounts()
            .iter()
            .map(WalletAccount::index)
            .collect::<Vec<_>>(),
        vec![0, 1, 2, 7, 8]
    );
}

fn full_address(network: &Network, m: &Mnemonic, i: u32) -> String {
    let key = m.account_key(i).unwrap().signing_key();
    network.address(&key.public_key().pubkey_hash())
}
