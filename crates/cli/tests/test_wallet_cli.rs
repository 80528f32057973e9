//! The command-line wallet against a real node process: create two wallets, mine to the first, send to the
//! second, sign a record, see balances and history, verify the record's proof offline — and the exit code and
//! message of each error (no funds, bad address, another network's address, wrong password, node unreachable).
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

mod support;

use support::{BIN, NodeProc, free_port};

/// Runs `ferrochain wallet ARGS` in `dir` with the password in the environment.
fn wallet(dir: &Path, password: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(dir)
        .env("FERROCHAIN_PASSWORD", password)
        .arg("wallet")
        .args(args)
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

fn fails(out: &Output, code: i32, message: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    assert!(
        stderr.contains(message),
        "{stderr:?} does not say {message:?}"
    );
}

fn address_of(new_output: &str) -> String {
    new_output
        .lines()
        .find_map(|l| l.strip_prefix("address: "))
        .unwrap()
        .trim()
        .to_string()
}

async fn mine(node: &NodeProc, address: &str, blocks: u64) {
    let (status, body) = node
        .post(
            "/api/v1/mine",
            &serde_json::json!({"blocks": blocks, "address": address}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wallet_round_trip_against_a_real_node() {
    let dir = tempfile::tempdir().unwrap();
    let node = NodeProc::start(&dir.path().join("node"), free_port(), &[], &[]).await;
    let n = ["--node", node.url.as_str()];
    let alice_new = ok(&wallet(
        dir.path(),
        "alice-pw",
        &["new", "--file", "alice.json"],
    ));
    assert!(alice_new.contains("write it down"));
    let phrase_words = alice_new.lines().nth(2).unwrap().split_whitespace().count();
    assert_eq!(phrase_words, 24);
    let alice = address_of(&alice_new);
    let bob = address_of(&ok(&wallet(
        dir.path(),
        "bob-pw",
        &["new", "--file", "bob.json"],
    )));
    // The file holds no phrase in clear: not the phrase, and no phrase word in any value (keys such as
    // "network" are BIP-39 words too, so only values are searched).
    let file = std::fs::read_to_string(dir.path().join("alice.json")).unwrap();
    let phrase = alice_new.lines().nth(2).unwrap().trim();
    assert!(!file.contains(phrase));
    fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
            serde_json::Value::Object(o) => o.values().for_each(|x| strings(x, out)),
            _ => {}
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("alice.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the wallet file must be readable by its owner only"
        );
    }
    // Restoring from the phrase gives the same address.
    let restored = ok(&wallet(
        dir.path(),
        "other-pw",
        &["restore", "--file", "restored.json", "--phrase", phrase],
    ));
    assert_eq!(address_of(&restored), alice);
    let mut values = Vec::new();
    strings(&serde_json::from_str(&file).unwrap(), &mut values);
    for word in phrase.split_whitespace().filter(|w| w.len() >= 5) {
        assert!(
            !values.iter().any(|v| v.contains(word)),
            "the phrase word {word} is in the file"
        );
    }

    mine(&node, &alice, 2).await;
    let balance = ok(&wallet(
        dir.path(),
        "alice-pw",
        &[&["balance", "--file", "alice.json"][..], &n].concat(),
    ));
    assert!(balance.contains("total: 20 FERRO"), "{balance}");

    let sent = ok(&wallet(
        dir.path(),
        "alice-pw",
        &[
            &[
                "send",
                "--file",
                "alice.json",
                "--to",
                &bob,
                "--amount",
                "3.5",
                "--fee",
                "0.01",
                "--memo",
                "rent",
            ][..],
            &n,
        ]
        .concat(),
    ));
    assert!(sent.contains("sent 3.5 FERRO"), "{sent}");
    let recorded = ok(&wallet(
        dir.path(),
        "alice-pw",
        &[
            &[
                "record",
                "--file",
                "alice.json",
                "--content",
                "lot 7: inspected",
            ][..],
            &n,
        ]
        .concat(),
    ));
    let record_txid = recorded.split_whitespace().last().unwrap().to_string();
    // Pending before the block: bob sees it as pending only.
    let bob_balance = ok(&wallet(
        dir.path(),
        "bob-pw",
        &[&["balance", "--file", "bob.json"][..], &n].concat(),
    ));
    assert!(
        bob_balance.contains("total: 0 FERRO (pending 3.5)"),
        "{bob_balance}"
    );
    mine(&node, &bob, 1).await;
    let bob_balance = ok(&wallet(
        dir.path(),
        "bob-pw",
        &[&["balance", "--file", "bob.json"][..], &n].concat(),
    ));
    // 3.5 received + 10 subsidy + 0.01 fee of the block bob mined.
    assert!(bob_balance.contains("total: 13.51 FERRO"), "{bob_balance}");
    let alice_balance = ok(&wallet(
        dir.path(),
        "alice-pw",
        &[&["balance", "--file", "alice.json"][..], &n].concat(),
    ));
    assert!(
        alice_balance.contains("total: 16.49 FERRO"),
        "{alice_balance}"
    );
    let history = ok(&wallet(
        dir.path(),
        "alice-pw",
        &[&["history", "--file", "alice.json"][..], &n].concat(),
    ));
    assert!(history.contains(&record_txid), "{history}");
    let verified = ok(&wallet(
        dir.path(),
        "alice-pw",
        &[&["verify-record", "--txid", &record_txid][..], &n].concat(),
    ));
    assert!(
        verified.contains("lot 7: inspected") && verified.contains(&alice),
        "{verified}"
    );

    // Errors: each with its exit code and a message saying what is wrong.
    let send = |pw: &str, to: &str, amount: &str, node_url: &str| {
        wallet(
            dir.path(),
            pw,
            &[
                "send", "--file", "bob.json", "--to", to, "--amount", amount, "--node", node_url,
            ],
        )
    };
    fails(
        &send("bob-pw", &alice, "1000", &node.url),
        5,
        "insufficient",
    );
    // One changed character (always a change: the replacement differs from the last character).
    let last = if alice.ends_with('x') { 'q' } else { 'x' };
    let typo = format!("{}{last}", &alice[..alice.len() - 1]);
    fails(
        &send("bob-pw", &typo, "1", &node.url),
        6,
        "not a valid address",
    );
    let lab_address = ferrochain_core::PubkeyHash::from_bytes([7; 20])
        .to_address("lab")
        .unwrap();
    fails(
        &send("bob-pw", &lab_address, "1", &node.url),
        6,
        "another network",
    );
    fails(&send("wrong", &alice, "1", &node.url), 3, "wrong password");
    fails(
        &send("bob-pw", &alice, "1", "http://127.0.0.1:1"),
        4,
        "cannot reach the node",
    );
    fails(
        &wallet(dir.path(), "x", &["balance", "--file", "missing.json"]),
        7,
        "cannot read wallet file",
    );
}

/// The supply-chain fork's wallet file: made here in the fork's layout (nonce 16 ‖ tag 16 ‖ ciphertext ‖ salt 16;
/// AES-256-EAX under the first 32 bytes of PBKDF2-HMAC-SHA512, 1,000,000 iterations, 64 bytes; the plaintext is
/// the RSA private key PEM), imported, then used to sign a record the node accepts.
#[tokio::test(flavor = "multi_thread")]
async fn import_legacy_opens_the_forks_wallet_file_and_signs_records_with_it() {
    use eax::aead::{Aead, KeyInit};
    const PRIVATE: &str = ferrochain_wallet::testing::RSA_1024_PRIVATE_PEM;
    let dir = tempfile::tempdir().unwrap();
    let salt = [3u8; 16];
    let nonce = [5u8; 16];
    let mut derived = [0u8; 64];
    pbkdf2::pbkdf2_hmac::<sha2::Sha512>(b"fork-pw", &salt, 1_000_000, &mut derived);
    let cipher = eax::Eax::<aes::Aes256>::new_from_slice(&derived[..32]).unwrap();
    let sealed = cipher
        .encrypt(
            &eax::Nonce::<eax::aead::consts::U16>::from(nonce),
            PRIVATE.as_bytes(),
        )
        .unwrap();
    let (ciphertext, tag) = sealed.split_at(sealed.len() - 16);
    std::fs::write(
        dir.path().join("wallet.bin"),
        [&nonce[..], tag, ciphertext, &salt[..]].concat(),
    )
    .unwrap();

    // A wrong password is exit code 3; the right one imports the key.
    fails(
        &wallet(
            dir.path(),
            "nope",
            &["import-legacy", "wallet.bin", "--file", "w.json"],
        ),
        3,
        "password",
    );
    let out = ok(&wallet(
        dir.path(),
        "fork-pw",
        &["import-legacy", "wallet.bin", "--file", "w.json"],
    ));
    assert!(
        out.contains("RSA-1024") && out.contains("BEGIN PUBLIC KEY"),
        "{out}"
    );
    let kept = std::fs::read_to_string(dir.path().join("w.legacy-rsa.json")).unwrap();
    assert!(!kept.contains("PRIVATE KEY"), "the imported key is sealed");

    // With the imported key the CLI signs a record, as the fork's app would.
    let node = NodeProc::start(&dir.path().join("node"), free_port(), &[], &[]).await;
    let out = ok(&wallet(
        dir.path(),
        "fork-pw",
        &[
            "record",
            "--legacy",
            "--content",
            "crate 9|store A",
            "--file",
            "w.json",
            "--node",
            node.url.as_str(),
        ],
    ));
    assert!(out.contains("legacy RSA record accepted"), "{out}");
    let pending = node.get_json("/pending_tx").await;
    let rec = pending
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["legacy_rsa"].is_object())
        .cloned()
        .unwrap_or_else(|| panic!("no legacy record in {pending}"));
    assert_eq!(rec["data"], "crate 9|store A");
    assert_eq!(rec["legacy_rsa"]["verified"], true);
}
