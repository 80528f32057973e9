//! Owner security (issue 13), the parts that have landed: a bearer token proves ownership by itself — a wrong
//! one is a 401 even from loopback, and so is any token when the node has none — and `dev` behaviour (open
//! mining, plaintext keys, reset) follows the `dev` preset's genesis hash, not a chain spec's name.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::http::StatusCode;
use ferrochain_core::ChainSpec;
use ferrochain_http::testing::{LOOPBACK, TestNode, request};

#[tokio::test]
async fn a_token_sent_to_a_node_without_one_is_refused_even_from_loopback() {
    let t = TestNode::open(|_| {}).await;
    let a = t
        .oneshot(
            LOOPBACK,
            request("GET", "/api/v1/wallets", None, Some("anything")),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);
    assert_eq!(a.json()["error"]["code"], "bad_token");
    let a = t
        .oneshot(LOOPBACK, request("GET", "/api/v1/wallets", None, None))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    // The seed routes answer in their own shape with the same status.
    let a = t
        .oneshot(
            LOOPBACK,
            request("POST", "/api/new_wallet", None, Some("x")),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);
}

#[tokio::test]
async fn a_private_chain_named_dev_gets_none_of_devs_openness() {
    let dir = tempfile::tempdir().unwrap();
    let spec = ChainSpec {
        genesis_message: "a private chain that calls itself dev".into(),
        ..ChainSpec::dev()
    };
    assert_eq!(spec.name, "dev");
    let path = ferrochain_core::testing::write_spec(dir.path(), &spec);
    let miner = ferrochain_core::testing::someone();
    let t = TestNode::open(move |c| {
        c.network = path.display().to_string();
        c.miner_address = Some(
            ferrochain_core::Network::new(spec.clone())
                .unwrap()
                .address(&miner),
        );
    })
    .await;
    assert!(!t.node.is_dev_chain());
    // No plaintext node-held keys: without a wallet password, keys are disabled.
    assert!(t.node.held_addresses().is_empty());
    let remote = [10, 0, 0, 9];
    // Mining through the seed routes is owner-only off dev.
    let a = t.oneshot(remote, request("GET", "/mine", None, None)).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    // reset_system is for the dev preset only, even for the owner.
    let a = t
        .oneshot(LOOPBACK, request("POST", "/api/reset_system", None, None))
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    assert_eq!(t.node.state().tip().height.0, 0);
}
