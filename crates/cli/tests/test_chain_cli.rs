//! `ferrochain chain verify|export|import|spec|genesis` through the real binary, on a data directory made by
//! the library (`ferrochain_node::embed`, the same store a node keeps): verify a good chain, export it,
//! import it elsewhere and verify that; a tampered block makes `verify` fail naming its height; foreign,
//! malformed and missing inputs are refused with a message. Also `--log-format json`.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use ferrochain_core::encode::{Decode, Encode};
use ferrochain_core::{Amount, Block, Height};
use ferrochain_node::embed::{Chain, Storage};

mod support;

use support::BIN;

fn ferrochain(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("FERROCHAIN_DATA_DIR")
        .env_remove("FERROCHAIN_DATABASE")
        .env_remove("FERROCHAIN_NETWORK")
        .env_remove("FERROCHAIN_LOG_FORMAT")
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "failed: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn fails(out: &Output, message: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stderr.contains(message),
        "{stderr:?} does not say {message:?}"
    );
    stderr
}

/// A `dev` chain of 5 blocks with 3 payments in `dir`, made with the library; returns its tip hash.
fn make_chain(dir: &Path) -> String {
    let chain = Chain::open("dev", &Storage::for_node(dir, None)).unwrap();
    let (a, b) = (chain.new_wallet(), chain.new_wallet());
    chain.mine_block(a.address(), 10).unwrap();
    chain.mine_block(a.address(), 10).unwrap();
    for amount in ["1", "2", "3"] {
        chain.send(&a, b.address(), amount).unwrap();
    }
    chain.mine_block(b.address(), 2).unwrap();
    chain.mine_block(b.address(), 10).unwrap();
    chain.mine_block(a.address(), 10).unwrap();
    assert_eq!(chain.height(), 5);
    chain.tip_hash().to_string()
}

#[test]
fn verify_export_import_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let tip = make_chain(&a);
    let a_dir = a.to_str().unwrap();
    let b_dir = b.to_str().unwrap();

    let verified = ok(&ferrochain(&["chain", "verify", "--data-dir", a_dir]));
    assert!(
        verified.contains("ok: 5 blocks and 8 transactions of network dev"),
        "{verified}"
    );
    assert!(verified.contains(&format!("tip: height 5 hash {tip}")));

    let file = tmp.path().join("chain.blk");
    let file = file.to_str().unwrap();
    let exported = ok(&ferrochain(&["chain", "export", file, "--data-dir", a_dir]));
    assert!(
        exported.contains("exported 6 blocks (genesis to height 5) of network dev"),
        "{exported}"
    );

    let imported = ok(&ferrochain(&["chain", "import", file, "--data-dir", b_dir]));
    assert!(
        imported.contains(&format!("6 blocks, 5 new; tip height 5 hash {tip}")),
        "{imported}"
    );
    let again = ok(&ferrochain(&["chain", "import", file, "--data-dir", b_dir]));
    assert!(again.contains("6 blocks, 0 new"), "{again}");
    assert!(ok(&ferrochain(&["chain", "verify", "--data-dir", b_dir])).contains("ok: 5 blocks"));

    // The environment variables a node reads choose the chain too.
    let by_env = Command::new(BIN)
        .args(["chain", "verify"])
        .env("FERROCHAIN_DATA_DIR", b_dir)
        .output()
        .unwrap();
    assert!(ok(&by_env).contains("ok: 5 blocks"));

    // Another network's export is refused; so is a file that is no export, and a missing chain.
    fails(
        &ferrochain(&[
            "chain",
            "import",
            file,
            "--network",
            "lab",
            "--data-dir",
            tmp.path().join("c").to_str().unwrap(),
        ]),
        "the export is of network",
    );
    let junk = tmp.path().join("junk.blk");
    std::fs::write(&junk, b"not blocks").unwrap();
    fails(
        &ferrochain(&[
            "chain",
            "import",
            junk.to_str().unwrap(),
            "--data-dir",
            b_dir,
        ]),
        "not a ferrochain block export",
    );
    fails(
        &ferrochain(&[
            "chain",
            "verify",
            "--data-dir",
            tmp.path().join("nothing").to_str().unwrap(),
        ]),
        "no chain at",
    );
    assert!(!tmp.path().join("nothing").exists());
}

#[test]
fn verify_names_the_height_of_a_tampered_block() {
    let tmp = tempfile::tempdir().unwrap();
    make_chain(tmp.path());
    // Rewrite block 3's body in the database: its coinbase pays one unit more than it did.
    let hash = {
        let chain = Chain::open("dev", &Storage::for_node(tmp.path(), None)).unwrap();
        chain.state().hash_at(Height(3)).unwrap()
    };
    let db = rusqlite::Connection::open(tmp.path().join("chain.sqlite")).unwrap();
    let bytes: Vec<u8> = db
        .query_row(
            "SELECT bytes FROM bodies WHERE hash = ?1",
            [hash.as_bytes().to_vec()],
            |row| row.get(0),
        )
        .unwrap();
    let mut block = Block::from_bytes(&bytes).unwrap();
    let out = &mut block.transactions[0].outputs[0];
    out.amount = out
        .amount
        .checked_add(Amount::from_units(1).unwrap())
        .unwrap();
    db.execute(
        "UPDATE bodies SET bytes = ?1 WHERE hash = ?2",
        (block.to_bytes(), hash.as_bytes().to_vec()),
    )
    .unwrap();
    drop(db);

    let stderr = fails(
        &ferrochain(&[
            "chain",
            "verify",
            "--data-dir",
            tmp.path().to_str().unwrap(),
        ]),
        "chain verification failed at height 3",
    );
    assert!(stderr.contains("is invalid"), "{stderr}");
}

#[test]
fn spec_and_genesis_print_the_network() {
    let spec = ok(&ferrochain(&["chain", "spec", "lab"]));
    assert!(spec.contains("name = \"lab\""), "{spec}");
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("class.toml");
    std::fs::write(&file, spec.replace("name = \"lab\"", "name = \"class\"")).unwrap();
    let genesis = ok(&ferrochain(&["chain", "genesis", file.to_str().unwrap()]));
    assert!(genesis.contains("network:      class"), "{genesis}");
    let lab = ok(&ferrochain(&["chain", "genesis", "lab"]));
    let id = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("network id:"))
            .unwrap()
            .to_string()
    };
    assert_ne!(id(&genesis), id(&lab), "another name is another network");
    fails(&ferrochain(&["chain", "spec", "nope"]), "unknown preset");
}

#[test]
fn logs_are_human_by_default_and_json_on_request() {
    let tmp = tempfile::tempdir().unwrap();
    make_chain(tmp.path());
    let dir = tmp.path().to_str().unwrap();
    let human = ferrochain(&["chain", "verify", "--data-dir", dir]);
    let text = String::from_utf8_lossy(&human.stderr);
    assert!(
        text.contains("INFO") && text.contains("verifying the stored chain from genesis"),
        "{text}"
    );
    let json = ferrochain(&["--log-format", "json", "chain", "verify", "--data-dir", dir]);
    ok(&json);
    let text = String::from_utf8_lossy(&json.stderr);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    assert!(
        lines.iter().any(|l| l["level"] == "INFO"
            && l["fields"]["message"] == "verifying the stored chain from genesis"
            && l["fields"]["height"] == 5),
        "{text}"
    );
    // The flag is global: it may follow the subcommand too; a bad value is a usage error.
    ok(&ferrochain(&[
        "chain",
        "verify",
        "--data-dir",
        dir,
        "--log-format",
        "json",
    ]));
    assert_eq!(
        ferrochain(&["--log-format", "xml", "chain", "spec"])
            .status
            .code(),
        Some(2)
    );
}
