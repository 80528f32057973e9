//! `verify`, `export` and `import`: a chain exported from one store imports into another with full
//! validation; foreign, truncated and tampered files are refused precisely; `verify` finds a damaged store.
#![allow(clippy::unwrap_used)]

mod support;

use ferrochain_core::builder::ChainBuilder;
use ferrochain_core::spec::Allocation;
use ferrochain_core::{Amount, ChainSpec, Height, Network, PubkeyHash, SigningKey, Target};
use ferrochain_state::ops::{TransferError, VerifyError, export, import, verify};
use ferrochain_state::sqlite::SqliteStore;
use ferrochain_state::{State, StateConfig};
use support::backends;

const NOW: u64 = 4_000_000_000_000;

fn key(b: u8) -> SigningKey {
    SigningKey::from_secret_bytes([b; 32])
}

fn addr(k: &SigningKey) -> PubkeyHash {
    k.public_key().pubkey_hash()
}

fn network(name: &str) -> Network {
    let mut spec = ChainSpec::dev();
    spec.name = name.into();
    spec.initial_bits = Target::from_leading_zero_bits(8).to_compact();
    spec.genesis_allocations.push(Allocation {
        address: addr(&key(1)),
        amount: Amount::from_units(1_000_000).unwrap(),
    });
    Network::new(spec).unwrap()
}

fn config() -> StateConfig {
    StateConfig {
        clock: std::sync::Arc::new(|| NOW),
        ..StateConfig::default()
    }
}

/// A 12-block chain with a transfer in every block.
fn chain() -> ChainBuilder {
    let mut chain = ChainBuilder::new(network("ops"));
    for i in 0..12u64 {
        let mut used = Vec::new();
        let tx = chain
            .transfer(
                &key(1),
                addr(&key(2)),
                Amount::from_units(100 + i).unwrap(),
                Amount::from_units(1).unwrap(),
                Vec::new(),
                &mut used,
            )
            .unwrap();
        let t = chain.tip().header.time_ms + 10_000;
        chain
            .mine_block(vec![tx], addr(&key(3)), t, &mut rand::rng())
            .unwrap();
    }
    chain
}

fn filled_state(store: Box<dyn ferrochain_state::Store>) -> State {
    let state = State::open(network("ops"), store, config()).unwrap();
    for b in &chain().blocks()[1..] {
        state.submit_block(b.clone()).unwrap();
    }
    state
}

#[test]
fn export_then_import_reproduces_the_chain_on_every_backend() {
    for backend in backends() {
        let source = filled_state(backend.store());
        let mut file = Vec::new();
        assert_eq!(export(&source, &mut file).unwrap(), 13);
        let target_backend = backend.fresh();
        let target = State::open(network("ops"), target_backend.store(), config()).unwrap();
        let mut calls = Vec::new();
        let report = import(&target, &mut file.as_slice(), &mut |done, total| {
            calls.push((done, total));
        })
        .unwrap();
        assert_eq!((report.blocks, report.added), (13, 12));
        // Progress after genesis, then after each batch (the 12 blocks are one): the last call is the end.
        assert_eq!(calls, vec![(1, 13), (13, 13)]);
        assert_eq!(target.tip(), source.tip());
        assert_eq!(target.utxo_set(), source.utxo_set());
        let v = verify(&target, NOW, &mut |_, _| {}).unwrap();
        assert_eq!(
            (v.blocks, v.transactions, v.tip),
            (12, 24, source.tip().hash)
        );
        // Importing the same file again adds nothing.
        assert_eq!(
            import(&target, &mut file.as_slice(), &mut |_, _| {})
                .unwrap()
                .added,
            0
        );
    }
}

#[test]
fn foreign_truncated_and_tampered_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let source = filled_state(Box::new(
        SqliteStore::open_path(&dir.path().join("a.sqlite")).unwrap(),
    ));
    let mut file = Vec::new();
    export(&source, &mut file).unwrap();
    let fresh = |name: &str| {
        State::open(
            network("ops"),
            Box::new(SqliteStore::open_path(&dir.path().join(name)).unwrap()),
            config(),
        )
        .unwrap()
    };

    let target = fresh("magic.sqlite");
    assert!(matches!(
        import(&target, &mut &b"GARBAGE!and more"[..], &mut |_, _| {}),
        Err(TransferError::NotAnExport)
    ));

    let mut other_net = Vec::new();
    let other = State::open(
        network("other"),
        Box::new(SqliteStore::open_in_memory().unwrap()),
        config(),
    )
    .unwrap();
    export(&other, &mut other_net).unwrap();
    assert!(matches!(
        import(&target, &mut other_net.as_slice(), &mut |_, _| {}),
        Err(TransferError::WrongNetwork { .. })
    ));

    let mut version = file.clone();
    version[8] = 9;
    assert!(matches!(
        import(&target, &mut version.as_slice(), &mut |_, _| {}),
        Err(TransferError::UnknownVersion(9))
    ));

    let target = fresh("truncated.sqlite");
    let cut = &file[..file.len() - 10];
    let err = import(&target, &mut &cut[..], &mut |_, _| {}).unwrap_err();
    assert!(
        matches!(err, TransferError::BadBlock { index: 12, .. }),
        "{err}"
    );
    assert_eq!(
        target.tip().height,
        Height(11),
        "the blocks before the cut stay"
    );

    // Flip one byte inside the last block's body: its Merkle root no longer matches (or it no longer decodes).
    let target = fresh("tampered.sqlite");
    let mut tampered = file.clone();
    let at = tampered.len() - 5;
    tampered[at] ^= 0x55;
    let err = import(&target, &mut tampered.as_slice(), &mut |_, _| {}).unwrap_err();
    assert!(
        matches!(err, TransferError::BadBlock { index: 12, .. }),
        "{err}"
    );
    assert_eq!(target.tip().height, Height(11));
    verify(&target, NOW, &mut |_, _| {}).unwrap();
}

#[test]
fn verify_finds_a_damaged_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.sqlite");
    let state = filled_state(Box::new(SqliteStore::open_path(&path).unwrap()));
    let tip = state.tip();
    let block5 = state.hash_at(Height(5)).unwrap();
    let body3 = ferrochain_core::Encode::to_bytes(&state.block_at(Height(3)).unwrap().unwrap());
    drop(state);

    // An unspent output deleted behind the node's back: the replay no longer matches.
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute(
        "DELETE FROM utxos WHERE (txid, vout) IN (SELECT txid, vout FROM utxos LIMIT 1)",
        [],
    )
    .unwrap();
    let state = State::open(
        network("ops"),
        Box::new(SqliteStore::open_path(&path).unwrap()),
        config(),
    )
    .unwrap();
    assert!(matches!(
        verify(&state, NOW, &mut |_, _| {}),
        Err(VerifyError::UtxoMismatch { .. })
    ));
    drop(state);

    // Block 5's body replaced by block 3's: verify names height 5.
    db.execute(
        "UPDATE bodies SET bytes = ?1 WHERE hash = ?2",
        rusqlite::params![body3, block5.as_bytes().to_vec()],
    )
    .unwrap();
    let state = State::open(
        network("ops"),
        Box::new(SqliteStore::open_path(&path).unwrap()),
        config(),
    )
    .unwrap();
    let err = verify(&state, NOW, &mut |_, _| {}).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Invalid {
                height: Height(5),
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(state.tip(), tip);
}
