//! Owner security (issue 13), the peer side: a peer is an origin, so whatever a stranger names as a peer, the
//! node only ever calls the peer protocol's own `/p2p/v1/…` paths there and passes on none of the text it gets
//! back; junk and URLs with paths are refused with the reason on every route; the node knows itself by its
//! handshake nonce; strangers are limited per address (peer work, token guesses) and scored by address when
//! they send bad data without naming themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use ferrochain_http::testing::{LOOPBACK, TestNode, request};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

const SECRET: &str = "SECRET-INTRANET-TEXT-7f3a";

/// A plain HTTP server that is no node: it records the request line of every request and answers each with
/// `status` and `body` (both carrying [`SECRET`]).
async fn foreign_server(status: &'static str, body: String) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let log = log.clone();
            let body = body.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                    if head.len() > 64 * 1024 {
                        break;
                    }
                }
                let text = String::from_utf8_lossy(&head);
                if let Some(line) = text.lines().next() {
                    log.lock().unwrap().push(line.to_string());
                }
                let answer = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (origin, seen)
}

async fn send(t: &TestNode, method: &str, path: &str, body: Value) -> (StatusCode, String) {
    let r = t
        .client
        .request(method.parse().unwrap(), format!("{}{path}", t.url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

fn handshake_naming(t: &TestNode, url: &str) -> Value {
    let mut hello =
        serde_json::to_value(ferrochain_node::p2p::wire::Handshake::of(&t.node, None)).unwrap();
    hello["url"] = json!(url);
    // Not the node's own nonce: a stranger's handshake.
    hello["nonce"] = json!(1);
    hello
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_peer_address_makes_the_node_call_only_p2p_paths_and_echo_nothing() {
    let t = TestNode::start(|_| {}).await;
    let not_found = foreign_server(
        "404 Not Found",
        format!("{{\"error\":{{\"code\":\"not_found\",\"message\":\"{SECRET}\"}},\"text\":\"{SECRET}\"}}"),
    )
    .await;
    let bad_json = foreign_server(
        "200 OK",
        format!("{{\"network_id\":\"{SECRET}\",\"protocol_version\":\"{SECRET}\"}}"),
    )
    .await;
    for (origin, _) in [&not_found, &bad_json] {
        let attempts = [
            ("POST", "/register_with", json!({ "node_address": origin })),
            ("POST", "/register_node", json!({ "node_address": origin })),
            ("POST", "/nodes/register", json!({ "nodes": [origin] })),
            (
                "POST",
                "/blockchain/nodes/register",
                json!({ "nodes": [origin] }),
            ),
            ("POST", "/api/v1/peers", json!({ "url": origin })),
            ("POST", "/p2p/v1/handshake", handshake_naming(&t, origin)),
        ];
        for (method, path, body) in attempts {
            let (status, text) = send(&t, method, path, body).await;
            assert!(
                !text.contains(SECRET),
                "{method} {path} passed the foreign server's text on ({status}): {text}"
            );
            assert!(
                status != StatusCode::INTERNAL_SERVER_ERROR,
                "{path}: {text}"
            );
        }
    }
    let (_, text) = send(&t, "GET", "/nodes/resolve", Value::Null).await;
    assert!(!text.contains(SECRET), "/nodes/resolve: {text}");
    for path in ["/p2p/v1/peers", "/api/v1/peers", "/blockchain/nodes/get"] {
        let (_, text) = send(&t, "GET", path, Value::Null).await;
        assert!(!text.contains(SECRET), "{path}: {text}");
    }
    for (origin, seen) in [&not_found, &bad_json] {
        let lines = seen.lock().unwrap().clone();
        assert!(!lines.is_empty(), "{origin} was never contacted");
        for line in &lines {
            let path = line.split(' ').nth(1).unwrap_or_default();
            assert!(
                path.starts_with("/p2p/v1/"),
                "the node requested {line:?} at {origin}"
            );
        }
    }
}

#[tokio::test]
async fn junk_and_urls_with_more_than_an_origin_are_refused_with_the_reason_on_every_route() {
    let t = TestNode::open(|_| {}).await;
    let cases = [
        ("http://127.0.0.1:5000/mine?", "path"),
        ("http://127.0.0.1:5000/?x=1", "query"),
        ("http://user:pw@127.0.0.1:5000", "user info"),
        ("http://)", "not a host name"),
        ("ftp://127.0.0.1:21", "scheme"),
        ("http://127.0.0.1:5000#top", "fragment"),
    ];
    for (url, reason) in cases {
        let routes = [
            ("/register_with", json!({ "node_address": url })),
            ("/register_node", json!({ "node_address": url })),
            ("/nodes/register", json!({ "nodes": [url] })),
            ("/blockchain/nodes/register", json!({ "nodes": [url] })),
            ("/api/v1/peers", json!({ "url": url })),
            ("/p2p/v1/handshake", handshake_naming(&t, url)),
            ("/p2p/v1/peers/ban", json!({ "url": url })),
        ];
        for (path, body) in routes {
            let a = t
                .oneshot(
                    LOOPBACK,
                    request("POST", path, Some(&body.to_string()), None),
                )
                .await;
            assert_eq!(
                a.status,
                StatusCode::BAD_REQUEST,
                "{path} {url}: {}",
                a.body
            );
            assert!(
                a.body.contains(reason),
                "{path} {url}: the answer does not say why ({reason}): {}",
                a.body
            );
        }
    }
    assert!(t.node.peers().is_empty(), "{:?}", t.node.peers().list());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_node_recognises_itself_by_its_nonce_under_any_name() {
    let t = TestNode::start(|_| {}).await;
    // The public URL says 127.0.0.1; localhost is the same node under another name.
    let other_name = format!("http://localhost:{}", t.addr().port());
    let e = ferrochain_node::p2p::register_peer(&t.node, &other_name)
        .await
        .unwrap_err();
    assert!(
        matches!(e, ferrochain_node::p2p::PeerError::Itself(_)),
        "{e}"
    );
    // A handshake carrying the node's own nonce does not make it a peer of itself.
    let mut hello =
        serde_json::to_value(ferrochain_node::p2p::wire::Handshake::of(&t.node, None)).unwrap();
    hello["url"] = json!(other_name);
    let (status, text) = send(&t, "POST", "/p2p/v1/handshake", hello).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(t.node.peers().is_empty(), "{:?}", t.node.peers().list());
}

#[tokio::test]
async fn with_require_token_on_loopback_the_owners_machine_proves_itself_too() {
    let t = TestNode::open(|c| {
        c.api_token = Some("s3cret-token".into());
        c.require_token_on_loopback = true;
    })
    .await;
    let before = t.node.held_addresses().len();
    let a = t
        .oneshot(
            LOOPBACK,
            request("POST", "/api/v1/wallets", Some("{}"), None),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);
    assert!(a.body.contains("require_token_on_loopback"), "{}", a.body);
    let a = t
        .oneshot(
            LOOPBACK,
            request("POST", "/api/v1/miner/start", Some("{}"), None),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);
    assert_eq!(t.node.miner().continuous(), None);
    assert_eq!(t.node.held_addresses().len(), before);
    let a = t
        .oneshot(
            LOOPBACK,
            request("POST", "/api/v1/wallets", Some("{}"), Some("s3cret-token")),
        )
        .await;
    assert!(a.status.is_success(), "{}", a.body);
    assert_eq!(t.node.held_addresses().len(), before + 1);
    // Public reads stay open.
    let a = t
        .oneshot(LOOPBACK, request("GET", "/api/v1/status", None, None))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
}

#[tokio::test]
async fn the_setting_without_a_token_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = ferrochain_node::Config {
        data_dir: dir.path().to_path_buf(),
        require_token_on_loopback: true,
        ..ferrochain_node::Config::default()
    };
    let e = ferrochain_node::Node::open(config).unwrap_err();
    assert!(e.to_string().contains("api_token"), "{e}");
}

async fn call(
    app: &axum::Router,
    req: axum::http::Request<axum::body::Body>,
) -> (StatusCode, Value) {
    let r = app.clone().oneshot(req).await.unwrap();
    let status = r.status();
    let bytes = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// `req` as if it came from `from` (one server, many clients: the limits are per client address).
fn from(
    from: [u8; 4],
    mut req: axum::http::Request<axum::body::Body>,
) -> axum::http::Request<axum::body::Body> {
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            from, 40000,
        ))));
    req
}

#[tokio::test]
async fn token_guesses_are_limited_per_address_and_a_right_guess_does_not_show_during_a_lockout() {
    let t = TestNode::open(|c| c.api_token = Some("the-right-token".into())).await;
    let server = ferrochain_http::app(t.node.clone());
    let guesser = [203, 0, 113, 5];
    for i in 0..ferrochain_http::TOKEN_FAILURES {
        let guess = format!("guess-{i}");
        let (status, _) = call(
            &server,
            from(
                guesser,
                request("GET", "/api/v1/wallets", None, Some(&guess)),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, body) = call(
        &server,
        from(
            guesser,
            request("GET", "/api/v1/wallets", None, Some("the-right-token")),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited");
    // The UI's token form is refused during the lockout too, right token or not.
    let form = axum::http::Request::post("/ui/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from("token=the-right-token&next=/"))
        .unwrap();
    let r = server.clone().oneshot(from(guesser, form)).await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // Another address, on the same server, is not locked out.
    let (status, _) = call(
        &server,
        from(
            [198, 51, 100, 7],
            request("GET", "/api/v1/wallets", None, Some("the-right-token")),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn strangers_can_start_only_so_much_peer_work() {
    let t = TestNode::open(|_| {}).await;
    let stranger = t.app_from([203, 0, 113, 6]);
    // Handshakes that name no URL: the cheapest peer work, still counted.
    let hello = serde_json::to_string(&ferrochain_node::p2p::wire::Handshake::of(&t.node, None))
        .unwrap()
        .replace(&t.node.nonce().to_string(), "1");
    let mut limited = None;
    for i in 0..=ferrochain_http::PEER_WORK_PER_MINUTE {
        let (status, body) = call(
            &stranger,
            request("POST", "/p2p/v1/handshake", Some(&hello), None),
        )
        .await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(body["error"]["code"], "rate_limited");
            limited = Some(i);
            break;
        }
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(limited, Some(ferrochain_http::PEER_WORK_PER_MINUTE));
    // The owner's own machine is not throttled.
    let own = t.app_from(LOOPBACK);
    for _ in 0..=ferrochain_http::PEER_WORK_PER_MINUTE {
        let (status, body) = call(
            &own,
            request("POST", "/p2p/v1/handshake", Some(&hello), None),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

#[tokio::test]
async fn a_sender_of_bad_data_that_names_no_peer_is_banned_by_its_address() {
    let t = TestNode::open(|_| {}).await;
    let stranger = t.app_from([203, 0, 113, 8]);
    let (status, _) = call(
        &stranger,
        request(
            "POST",
            "/p2p/v1/blocks",
            Some(r#"{"hex":"00ff00ff"}"#),
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let bans = t.node.peers().bans();
    assert!(
        bans.iter().any(|b| b.url == "client 203.0.113.8"),
        "{bans:?}"
    );
    let (status, body) = call(&stranger, request("GET", "/p2p/v1/handshake", None, None)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "peer_banned");
    // Others, and the owner's machine, are not affected.
    let (status, _) = call(
        &t.app_from([203, 0, 113, 9]),
        request("GET", "/p2p/v1/handshake", None, None),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(t.node.peers().list().is_empty());
}

#[tokio::test]
async fn held_key_routes_tell_strangers_nothing_about_which_keys_the_node_holds() {
    let t = TestNode::open(|_| {}).await;
    let held = t.miner();
    let not_held = t
        .node
        .network()
        .address(&ferrochain_core::testing::someone());
    let stranger = [203, 0, 113, 10];
    for (path, body) in [
        (
            "/transactions/new",
            json!({ "sender": "{}", "recipient": not_held.clone(), "amount": 1 }),
        ),
        (
            "/api/send",
            json!({ "from": "{}", "to": not_held.clone(), "amount": 1 }),
        ),
        (
            "/new_transaction",
            json!({ "author": "{}", "content": "x" }),
        ),
    ] {
        let mut answers = Vec::new();
        for sender in [&held, &not_held] {
            let text = body.to_string().replace("{}", sender);
            let a = t
                .oneshot(stranger, request("POST", path, Some(&text), None))
                .await;
            answers.push((a.status, a.body.replace(sender.as_str(), "<sender>")));
        }
        assert_eq!(answers[0].0, StatusCode::FORBIDDEN, "{path}: {answers:?}");
        assert_eq!(answers[0], answers[1], "{path}");
    }
}
