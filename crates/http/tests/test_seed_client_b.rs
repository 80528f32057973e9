//! Contract test of system B's own client: the node + client wallet pages (jQuery), as `SEED-ROUTES.md`
//! ("What their own clients read" → B) describes them. The page's journey, with the page's own requests: a new
//! wallet, its public key pasted as the sender ("Your Public Key"), the generated transaction's
//! `transaction.sender_address` / `.recipient_address` / `.value` and `signature` copied into the confirmation
//! form, that form posted exactly, and the pending table's cells filled. Plus the cross-origin rules of the
//! original two-port layout (CORS on public reads and signed submission, never on owner routes), the refusals
//! of a confirmation form that disagrees with the generated transaction, and A's answer to an unsigned
//! transfer from a name.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Request, StatusCode, header};
use ferrochain_http::testing::{Answer, LOOPBACK, TestNode, request};
use serde_json::{Value, json};
use tower::ServiceExt;

/// A visitor on another machine (not the node's owner).
const VISITOR: [u8; 4] = [192, 168, 1, 20];
/// Where the original served its wallet pages: another port than the node's.
const PAGES: &str = "http://127.0.0.1:8080";

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A node and one application of it (one memory of generated transactions), called in process by a visitor
/// on another machine or by the node's owner.
struct App {
    t: TestNode,
    visitor: Router,
    owner: Router,
}

impl App {
    async fn open() -> App {
        let t = TestNode::open(|_| {}).await;
        let app = ferrochain_http::app(t.node.clone());
        let from = |ip: [u8; 4]| MockConnectInfo(SocketAddr::from((ip, 40000)));
        App {
            visitor: app.clone().layer(from(VISITOR)),
            owner: app.layer(from(LOOPBACK)),
            t,
        }
    }

    async fn oneshot(&self, from: [u8; 4], req: Request<Body>) -> Answer {
        let app = if from == LOOPBACK {
            &self.owner
        } else {
            &self.visitor
        };
        let resp = app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), 8 << 20)
            .await
            .unwrap();
        Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn oneshot_get(&self, from: [u8; 4], path: &str) -> Answer {
        self.oneshot(from, Request::get(path).body(Body::empty()).unwrap())
            .await
    }

    fn miner(&self) -> String {
        self.t.miner()
    }
}

/// Posts a form as the page's `$.ajax({type: "POST", data: {...}})` does, from the wallet pages' origin.
async fn page_post(t: &App, path: &str, fields: &[(&str, &str)]) -> Answer {
    let req = Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ORIGIN, PAGES)
        .body(Body::from(serde_urlencoded::to_string(fields).unwrap()))
        .unwrap();
    t.oneshot(VISITOR, req).await
}

/// A new client wallet as `GET /client/wallet/new` shows it.
async fn new_wallet(t: &App) -> Value {
    let w = t.oneshot_get(VISITOR, "/client/wallet/new").await;
    assert_eq!(w.status, StatusCode::OK, "{}", w.body);
    w.json()
}

/// Mines one block paying `address` through the node's own route (the page has no mine button for a client
/// wallet).
async fn mine_to(t: &App, address: &str) {
    let body = json!({ "address": address }).to_string();
    let r = t
        .oneshot(LOOPBACK, request("POST", "/api/v1/mine", Some(&body), None))
        .await;
    assert!(r.status.is_success(), "{}", r.body);
}

/// Generates a transaction exactly as the page's form does (every value a string).
async fn generate(t: &App, wallet: &Value, recipient: &str, amount: &str) -> Value {
    let r = page_post(
        t,
        "/client/generate/transaction",
        &[
            ("sender_address", wallet["public_key"].as_str().unwrap()),
            (
                "sender_private_key",
                wallet["private_key"].as_str().unwrap(),
            ),
            ("recipient_address", recipient),
            ("amount", amount),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()
}

/// The confirmation form the page fills from a generated transaction.
fn confirmation(generated: &Value) -> Vec<(&'static str, String)> {
    vec![
        (
            "sender_address",
            text(&generated["transaction"]["sender_address"]),
        ),
        (
            "recipient_address",
            text(&generated["transaction"]["recipient_address"]),
        ),
        ("amount", text(&generated["transaction"]["value"])),
        ("signature", text(&generated["signature"])),
    ]
}

async fn confirm(t: &App, form: &[(&'static str, String)]) -> Answer {
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    page_post(t, "/blockchain/transactions/new", &fields).await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pages_two_posts_give_a_pending_row_with_every_cell_filled() {
    let t = App::open().await;
    let alice = new_wallet(&t).await;
    let bob = new_wallet(&t).await;
    assert_eq!(alice["public_key"].as_str().unwrap().len(), 64);
    mine_to(&t, alice["address"].as_str().unwrap()).await;

    // The page pastes the public key as the sender, and here the recipient's public key too.
    let generated = generate(&t, &alice, bob["public_key"].as_str().unwrap(), "4").await;
    let tx = &generated["transaction"];
    assert_eq!(tx["sender_address"], alice["address"]);
    assert_eq!(tx["recipient_address"], bob["address"]);
    assert_eq!(tx["value"], 4);
    // The real transaction is there too: version, kind with signed inputs, outputs.
    assert_eq!(tx["kind"]["type"], "transfer");
    assert_eq!(tx["kind"]["inputs"][0]["signature"], generated["signature"]);
    assert!(tx["outputs"].is_array());
    // Generating submits nothing.
    let pool = t.oneshot_get(VISITOR, "/blockchain/transactions/get").await;
    assert_eq!(pool.json()["transactions"], json!([]));

    // The confirmation form, exactly the four fields the page posts.
    let r = confirm(&t, &confirmation(&generated)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.json()["message"], "Transaction will be added to Block 3");
    assert_eq!(r.json()["txid"], generated["txid"]);

    // The pending table: Sender, Recipient, Amount.
    let pool = t.oneshot_get(VISITOR, "/blockchain/transactions/get").await;
    assert_eq!(pool.status, StatusCode::OK);
    let rows = pool.json()["transactions"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    for cell in ["sender_address", "recipient_address", "value"] {
        assert!(
            !text(&row[cell]).is_empty() && !row[cell].is_null(),
            "{cell}: {row}"
        );
    }
    assert_eq!(row["sender_address"], alice["address"]);
    assert_eq!(row["recipient_address"], bob["address"]);
    assert_eq!(row["value"], 4);
    // The fallback fields of the transactions view stay.
    assert_eq!(row["sender"], alice["address"]);
    assert_eq!(row["amount"], 4);

    // The same form again does not spend twice.
    let again = confirm(&t, &confirmation(&generated)).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);

    // Mined: the chain view carries B's fields on every transaction, coinbases included.
    mine_to(&t, alice["address"].as_str().unwrap()).await;
    let chain = t.oneshot_get(VISITOR, "/blockchain/chain").await.json();
    let block = &chain["chain"][2];
    assert_eq!(block["transactions"].as_array().unwrap().len(), 2);
    let coinbase = &block["transactions"][0];
    assert_eq!(coinbase["sender_address"], "0");
    assert_eq!(coinbase["recipient_address"], alice["address"]);
    assert_eq!(coinbase["value"], 10);
    let paid = &block["transactions"][1];
    assert_eq!(paid["sender_address"], alice["address"]);
    assert_eq!(paid["recipient_address"], bob["address"]);
    assert_eq!(paid["value"], 4);
    assert_eq!(paid["recipient"], bob["address"]);

    // Fractions: the page copies `value` as shown and posts it back.
    let generated = generate(&t, &alice, bob["address"].as_str().unwrap(), "0.5").await;
    assert_eq!(generated["transaction"]["value"], json!(0.5));
    let r = confirm(&t, &confirmation(&generated)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_confirmation_form_that_disagrees_with_the_generated_transaction_names_the_field() {
    let t = App::open().await;
    let alice = new_wallet(&t).await;
    let bob = new_wallet(&t).await;
    let carol = new_wallet(&t).await;
    mine_to(&t, alice["address"].as_str().unwrap()).await;
    let generated = generate(&t, &alice, bob["address"].as_str().unwrap(), "3").await;
    let form = confirmation(&generated);
    let with = |field: &str, value: &str| {
        let mut f = form.clone();
        for (k, v) in &mut f {
            if *k == field {
                *v = value.to_string();
            }
        }
        f
    };
    let cases = [
        ("recipient_address", carol["address"].as_str().unwrap()),
        ("amount", "30"),
        ("sender_address", carol["public_key"].as_str().unwrap()),
    ];
    for (field, value) in cases {
        let r = confirm(&t, &with(field, value)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{field}: {}", r.body);
        let message = text(&r.json()["message"]);
        assert!(message.starts_with(field), "{field}: {message}");
        assert!(message.contains("does not match"), "{message}");
    }
    // The sender's private key pasted as the sender.
    let r = confirm(
        &t,
        &with("sender_address", alice["private_key"].as_str().unwrap()),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body.contains("private key"), "{}", r.body);

    // A signature this node never generated: generate first.
    let mut unknown = form.clone();
    unknown[3].1 = "00".repeat(64);
    let r = confirm(&t, &unknown).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(
        r.body.contains("generate the transaction first"),
        "{}",
        r.body
    );
    let mut malformed = form.clone();
    malformed[3].1 = "xyz".into();
    let r = confirm(&t, &malformed).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body.contains("signature"), "{}", r.body);

    // Nothing of the above was submitted; the matching form still is.
    let pool = t.oneshot_get(VISITOR, "/blockchain/transactions/get").await;
    assert_eq!(pool.json()["transactions"], json!([]));
    let r = confirm(&t, &form).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn generation_takes_public_keys_and_refuses_private_keys_where_addresses_go() {
    let t = App::open().await;
    let alice = new_wallet(&t).await;
    let bob = new_wallet(&t).await;
    let key = alice["private_key"].as_str().unwrap();
    let post = |sender: String, recipient: String| {
        let t = &t;
        async move {
            page_post(
                t,
                "/client/generate/transaction",
                &[
                    ("sender_address", &sender),
                    ("sender_private_key", key),
                    ("recipient_address", &recipient),
                    ("amount", "1"),
                ],
            )
            .await
        }
    };
    let pk = |w: &Value| w["public_key"].as_str().unwrap().to_string();
    // The private key pasted as the sender, or as the recipient.
    for r in [
        post(key.to_string(), pk(&bob)).await,
        post(pk(&alice), key.to_string()).await,
    ] {
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        assert!(r.body.contains("private key"), "{}", r.body);
    }
    // Hex that is not a public key (or an address).
    let r = post("ab".repeat(20), pk(&bob)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body.contains("public key (64 hex digits)"), "{}", r.body);
    // A name, as B's original allowed.
    let r = post("alice".into(), pk(&bob)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(
        r.body.contains("neither an address of this network"),
        "{}",
        r.body
    );
    // Another wallet's public key as the sender.
    let r = post(pk(&bob), pk(&alice)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(
        r.body.contains("not the key of sender_address"),
        "{}",
        r.body
    );
    // The right public key: it gets as far as the funds (Alice has none yet).
    let r = post(pk(&alice), pk(&bob)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body.contains("Not enough units"), "{}", r.body);
}

/// A CORS preflight from the wallet pages' origin (or `origin`).
async fn preflight(t: &App, path: &str, method: &str, origin: &str) -> Answer {
    let req = Request::builder()
        .method("OPTIONS")
        .uri(path)
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, method)
        .header(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            "access-control-allow-origin,content-type",
        )
        .body(Body::empty())
        .unwrap();
    t.oneshot(VISITOR, req).await
}

fn allowed_origin(a: &Answer) -> Option<String> {
    a.headers
        .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        .map(|v| v.to_str().unwrap().to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn public_reads_and_signed_submission_answer_other_origins_and_owner_routes_never_do() {
    let t = App::open().await;
    for path in [
        "/blockchain/chain",
        "/blockchain/transactions/get",
        "/blockchain/nodes/get",
        "/chain",
        "/client/wallet/new",
    ] {
        let req = Request::get(path)
            .header(header::ORIGIN, PAGES)
            .body(Body::empty())
            .unwrap();
        let r = t.oneshot(VISITOR, req).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
        assert_eq!(allowed_origin(&r).as_deref(), Some("*"), "{path}");
        assert!(
            r.headers
                .get(header::ACCESS_CONTROL_ALLOW_CREDENTIALS)
                .is_none(),
            "{path}"
        );
    }
    for path in [
        "/blockchain/transactions/new",
        "/client/generate/transaction",
    ] {
        let r = preflight(&t, path, "POST", PAGES).await;
        assert!(r.status.is_success(), "{path}: {}", r.status);
        assert_eq!(allowed_origin(&r).as_deref(), Some("*"), "{path}");
        let methods = r.headers[header::ACCESS_CONTROL_ALLOW_METHODS]
            .to_str()
            .unwrap()
            .to_string();
        assert!(methods.contains("POST"), "{path}: {methods}");
        // The original page's stray `Access-Control-Allow-Origin` request header is allowed.
        assert!(
            r.headers
                .get(header::ACCESS_CONTROL_ALLOW_HEADERS)
                .is_some(),
            "{path}"
        );
        // The POST itself (here a bad one) carries the header too, so the page can read the answer.
        let r = page_post(&t, path, &[("sender_address", "x")]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.body);
        assert_eq!(allowed_origin(&r).as_deref(), Some("*"), "{path}");
    }

    // Owner routes: no CORS, neither on a preflight nor on the request itself (even from the owner's machine).
    let evil = "http://evil.example";
    for (path, method) in [
        ("/api/send", "POST"),
        ("/transactions/new", "POST"),
        ("/api/new_wallet", "POST"),
        ("/blockchain/mine", "GET"),
        ("/mine", "GET"),
        ("/blockchain/nodes/register", "POST"),
        ("/api/v1/mine", "POST"),
    ] {
        let r = preflight(&t, path, method, evil).await;
        assert_eq!(
            allowed_origin(&r),
            None,
            "preflight {path}: {:?}",
            r.headers
        );
        for from in [VISITOR, LOOPBACK] {
            let req = Request::builder()
                .method(method)
                .uri(path)
                .header(header::ORIGIN, evil)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("from=x"))
                .unwrap();
            let r = t.oneshot(from, req).await;
            assert_eq!(allowed_origin(&r), None, "{method} {path}: {:?}", r.headers);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unsigned_transfer_from_a_name_says_to_sign_it_and_how() {
    let t = App::open().await;
    let bob = new_wallet(&t).await;
    let post = |sender: String| {
        let t = &t;
        let body = json!({"sender": sender, "recipient": bob["address"], "amount": 1}).to_string();
        async move {
            t.oneshot(
                LOOPBACK,
                request("POST", "/transactions/new", Some(&body), None),
            )
            .await
        }
    };
    let r = post("alice".into()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let message = text(&r.json()["message"]);
    for says in [
        "not an address",
        "must be signed by the sender's key",
        "/client/generate/transaction",
        "POST /api/new_wallet",
        "ferrochain wallet send",
    ] {
        assert!(message.contains(says), "{says}: {message}");
    }
    assert!(!message.contains("typos"), "{message}");

    // An address of this network with a typo keeps the precise address error.
    let mut typo = t.miner();
    let last = typo.pop().unwrap();
    typo.push(if last == 'q' { 'p' } else { 'q' });
    let r = post(typo).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let message = text(&r.json()["message"]);
    assert!(message.contains("check for typos"), "{message}");
}
