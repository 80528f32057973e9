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

/// A request as a browser on another site (or a rebinding page) would send it.
fn hostile(
    method: &str,
    uri: &str,
    body: Option<&str>,
    header: (&str, &str),
) -> axum::http::Request<axum::body::Body> {
    let mut req = request(method, uri, body, None);
    req.headers_mut().insert(
        axum::http::HeaderName::from_bytes(header.0.as_bytes()).unwrap(),
        axum::http::HeaderValue::from_str(header.1).unwrap(),
    );
    if header.0 != "host" {
        req.headers_mut().insert(
            "host",
            axum::http::HeaderValue::from_static("127.0.0.1:5000"),
        );
    }
    req
}

#[tokio::test]
async fn other_sites_and_foreign_hosts_cannot_act_as_the_owner_on_any_surface() {
    let t = TestNode::open(|c| c.allowed_origins = vec!["http://localhost:5173".into()]).await;
    let miner = t.miner();
    let send = format!(r#"{{"from": "{miner}", "to": "{miner}", "amount": 1}}"#);
    let wsend =
        r#"{"to": "dev1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq", "amount": "1"}"#.to_string();
    let routes: Vec<(&str, String, Option<String>)> = vec![
        ("GET", "/mine".into(), None),
        ("GET", "/blockchain/mine".into(), None),
        ("GET", "/nodes/resolve".into(), None),
        ("GET", "/save".into(), None),
        ("GET", "/supply-chain/mine".into(), None),
        ("POST", "/transactions/new".into(), Some(send.clone())),
        (
            "POST",
            "/new_transaction".into(),
            Some(r#"{"author": "Mallory", "content": "x"}"#.into()),
        ),
        (
            "POST",
            "/nodes/register".into(),
            Some(r#"{"nodes": ["http://10.1.1.1:5000"]}"#.into()),
        ),
        (
            "POST",
            "/register_with".into(),
            Some(r#"{"node_address": "http://10.1.1.1:5000"}"#.into()),
        ),
        ("POST", "/api/new_wallet".into(), None),
        ("POST", "/api/send".into(), Some(send.clone())),
        (
            "POST",
            "/api/mine_block".into(),
            Some(format!(r#"{{"address": "{miner}"}}"#)),
        ),
        ("POST", "/api/reset_system".into(), None),
        ("POST", "/api/v1/mine".into(), Some("{}".into())),
        ("POST", "/api/v1/miner/start".into(), Some("{}".into())),
        (
            "POST",
            "/api/v1/peers".into(),
            Some(r#"{"url": "10.1.1.1:5000"}"#.into()),
        ),
        ("POST", "/api/v1/wallets".into(), None),
        ("POST", format!("/api/v1/wallets/{miner}/send"), Some(wsend)),
        (
            "POST",
            format!("/api/v1/wallets/{miner}/records"),
            Some(r#"{"content": "x"}"#.into()),
        ),
        (
            "POST",
            "/p2p/v1/peers/ban".into(),
            Some(r#"{"url": "10.1.1.1:5000"}"#.into()),
        ),
    ];
    let before = (
        t.node.state().tip(),
        t.node.peers().list(),
        t.node.held_addresses(),
        t.node.miner().continuous(),
    );
    for (method, uri, body) in &routes {
        for (header, value, status, code) in [
            ("origin", "http://evil.example", 403, "cross_site"),
            ("origin", "null", 403, "cross_site"),
            ("sec-fetch-site", "cross-site", 403, "cross_site"),
            ("host", "evil.example:5000", 421, "foreign_host"),
        ] {
            let a = t
                .oneshot(
                    LOOPBACK,
                    hostile(method, uri, body.as_deref(), (header, value)),
                )
                .await;
            assert_eq!(
                a.status.as_u16(),
                status,
                "{method} {uri} with {header}: {value}: {}",
                a.body
            );
            assert_eq!(
                a.json()["error"]["code"],
                code,
                "{method} {uri}: {}",
                a.body
            );
            assert!(
                a.body.contains("allowed_origins") || a.body.contains("allowed_hosts"),
                "the refusal names the setting: {}",
                a.body
            );
        }
    }
    // Nothing changed: chain, peers, keystore, miner.
    let after = (
        t.node.state().tip(),
        t.node.peers().list(),
        t.node.held_addresses(),
        t.node.miner().continuous(),
    );
    assert_eq!(before, after);

    // The allowed origin (a seed client's dev server) may act; the node's own origin too; scripts send none.
    for origin in ["http://localhost:5173", "http://127.0.0.1:5000"] {
        let a = t
            .oneshot(
                LOOPBACK,
                hostile("POST", "/api/new_wallet", None, ("origin", origin)),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{origin}: {}", a.body);
    }
    // Other sites may still read and submit signed transactions (system B's two-port pages).
    let a = t
        .oneshot(
            LOOPBACK,
            hostile(
                "GET",
                "/blockchain/chain",
                None,
                ("origin", "http://evil.example"),
            ),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    // Reads need no proof, and IP-literal hosts (another machine of the classroom) are answered.
    let a = t
        .oneshot(
            LOOPBACK,
            hostile("GET", "/api/v1/status", None, ("host", "192.168.1.10:5000")),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
}
