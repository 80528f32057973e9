//! The web UI's pages, in process (`app(node).oneshot`): every page answers 200 with its content on a chain
//! with blocks, transfers and records; missing or malformed hashes, heights, txids and addresses give 400/404
//! HTML pages with a helpful message (never a 500); owner actions need loopback or the token and refuse
//! cross-site forms; the wallet-file flow (create, open, send, sign a record) and the node-wallet, mining and
//! network forms work without JavaScript and put their errors next to the fields that caused them.
#![allow(clippy::unwrap_used)]

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use ferrochain_core::{Amount, Block, Height};
use ferrochain_http::testing::{Answer, LOOPBACK, TestNode};
use ferrochain_node::Node;
use futures::StreamExt;
use tower::ServiceExt;

const REMOTE: [u8; 4] = [203, 0, 113, 9];

/// The UI's requests, in process (`app(node).oneshot`): pages from loopback or elsewhere, forms and the
/// wallet-file upload.
trait Pages {
    async fn page(&self, path: &str) -> Answer;
    async fn page_from(&self, from: [u8; 4], path: &str) -> Answer;
    async fn form(&self, path: &str, fields: &[(&str, &str)]) -> Answer;
    async fn form_from(
        &self,
        from: [u8; 4],
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Answer;
    async fn multipart(&self, path: &str, fields: &[(&str, &str)]) -> Answer;
}

impl Pages for TestNode {
    async fn page(&self, path: &str) -> Answer {
        self.oneshot_get(LOOPBACK, path).await
    }

    async fn page_from(&self, from: [u8; 4], path: &str) -> Answer {
        self.oneshot_get(from, path).await
    }

    async fn form(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        self.oneshot_form(LOOPBACK, path, fields, &[]).await
    }

    async fn form_from(
        &self,
        from: [u8; 4],
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Answer {
        self.oneshot_form(from, path, fields, headers).await
    }

    async fn multipart(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let boundary = "----ferrochain-test-boundary";
        let mut body = String::new();
        for (name, value) in fields {
            if *name == "wallet_file" {
                body.push_str(&format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"wallet_file\"; filename=\"w.json\"\r\n\
                     Content-Type: application/json\r\n\r\n{value}\r\n"
                ));
            } else {
                body.push_str(&format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                ));
            }
        }
        body.push_str(&format!("--{boundary}--\r\n"));
        let req = Request::post(path)
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(body))
            .unwrap();
        self.oneshot(LOOPBACK, req).await
    }
}

/// HTML-unescapes what MiniJinja escapes in attribute values.
fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&#x2f;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of the first `<input ... name="{name}" value="...">` in `html`.
fn input_value(html: &str, name: &str) -> String {
    let start = html.find(&format!("name=\"{name}\" value=\"")).unwrap() + name.len() + 15;
    let end = start + html[start..].find('"').unwrap();
    unescape(&html[start..end])
}

fn assert_page(a: &Answer, status: StatusCode, needles: &[&str]) {
    assert_eq!(
        a.status,
        status,
        "body: {}",
        &a.body[..a.body.len().min(3000)]
    );
    assert!(
        a.headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.to_str().unwrap().starts_with("text/html")),
        "not HTML: {:?}",
        a.headers.get(header::CONTENT_TYPE)
    );
    let text = unescape(&a.body);
    for n in needles {
        assert!(
            a.body.contains(n) || text.contains(n),
            "{n:?} not in page: {}",
            a.body
        );
    }
}

/// A chain with blocks, a confirmed transfer with a memo, a confirmed record and a pending transfer; returns
/// (confirmed transfer txid, record txid, pending txid, second held address).
async fn busy_chain(ui: &TestNode) -> (String, String, String, String) {
    ui.mine(2).await;
    ui.run(|node| {
        let miner = node.network().address(&node.miner_address());
        let bob = node.new_held_address().unwrap();
        let bob_hash = node.network().parse_address(&bob).unwrap();
        let tx = node
            .pay_from_held(
                &miner,
                bob_hash,
                Amount::parse_units("2.5", 8).unwrap(),
                Amount::parse_units("0.001", 8).unwrap(),
                b"coffee beans".to_vec(),
            )
            .unwrap();
        let paid = node.submit_transaction(tx).unwrap();
        let rec = node
            .record_from_held(&bob, b"lot 7 packed at plant A".to_vec())
            .unwrap();
        let rec = node.submit_transaction(rec).unwrap();
        node.mine_one(node.miner_address(), usize::MAX).unwrap();
        let pending = node
            .pay_from_held(
                &miner,
                bob_hash,
                Amount::parse_units("1", 8).unwrap(),
                Amount::ZERO,
                Vec::new(),
            )
            .unwrap();
        let pending = node.submit_transaction(pending).unwrap();
        (paid.to_string(), rec.to_string(), pending.to_string(), bob)
    })
    .await
}

#[tokio::test]
async fn every_page_answers_with_its_content() {
    let ui = TestNode::open(|_| {}).await;
    let (paid, rec, pending, bob) = busy_chain(&ui).await;
    let tip = ui.node.state().tip();

    let a = ui.page("/").await;
    assert_page(
        &a,
        StatusCode::OK,
        &[
            "Dashboard",
            "data-live=\"height\"",
            "<svg class=\"chart\"",
            "Latest blocks",
            &paid[..10],
        ],
    );
    assert!(
        a.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    assert!(!a.body.contains("<script>"), "no inline script");
    assert!(!a.body.contains(" style=\""), "no inline style");

    assert_page(
        &ui.page("/ui/blocks").await,
        StatusCode::OK,
        &["Blocks", "/ui/block/3"],
    );
    assert_page(
        &ui.page("/ui/blocks?from=1").await,
        StatusCode::OK,
        &["/ui/block/1", "/ui/block/0"],
    );
    let block = ui.page("/ui/block/3").await;
    assert_page(
        &block,
        StatusCode::OK,
        &[
            "Block 3",
            "The chain link",
            "parent #2",
            &paid[..10],
            &rec[..10],
            "The 96 header bytes",
        ],
    );
    assert_page(
        &ui.page(&format!("/ui/block/{}", tip.hash)).await,
        StatusCode::OK,
        &["Block 3"],
    );
    assert_page(
        &ui.page("/ui/block/0").await,
        StatusCode::OK,
        &["genesis has no parent"],
    );

    let tx = ui.page(&format!("/ui/tx/{paid}")).await;
    assert_page(
        &tx,
        StatusCode::OK,
        &[
            "Confirmed in block",
            "confirmation",
            "Spends output",
            "coffee beans",
            "636f66666565",
            "Merkle proof",
            "id=\"merkle-data\"",
            "Verify in this page",
            "the path leads to the header's root",
        ],
    );
    let pend = ui.page(&format!("/ui/tx/{pending}")).await;
    assert_page(
        &pend,
        StatusCode::OK,
        &["Waiting in the", "no-proof", "data-reload-on"],
    );
    assert_page(
        &ui.page(&format!("/ui/tx/{rec}")).await,
        StatusCode::OK,
        &["record", "lot 7 packed at plant A", "Signed at"],
    );

    let addr = ui.page(&format!("/ui/address/{bob}")).await;
    assert_page(
        &addr,
        StatusCode::OK,
        &[
            "Confirmed balance",
            "2.5",
            "Pending balance",
            "3.5",
            "Unspent outputs",
            &paid[..10],
        ],
    );
    assert_page(
        &ui.page(&format!("/ui/address/{bob}?page=3")).await,
        StatusCode::OK,
        &["No more transactions"],
    );

    assert_page(
        &ui.page("/ui/records").await,
        StatusCode::OK,
        &[
            "lot 7 packed at plant A",
            "By author",
            "Searched the mempool and the last 2000 blocks",
        ],
    );
    assert_page(
        &ui.page("/ui/records?q=LOT+7&order=asc").await,
        StatusCode::OK,
        &["1 record mentioning", "lot 7 packed"],
    );
    assert_page(
        &ui.page(&format!("/ui/records?q=nothing-like-this&author={bob}"))
            .await,
        StatusCode::OK,
        &["0 records", "No records match"],
    );

    assert_page(
        &ui.page("/ui/mempool").await,
        StatusCode::OK,
        &["1</b> transaction", &pending[..10]],
    );
    assert_page(
        &ui.page("/ui/network").await,
        StatusCode::OK,
        &[
            "Peers (0)",
            "Block tree",
            "<svg class=\"tree\"",
            "Add a peer",
        ],
    );
    assert_page(
        &ui.page("/ui/wallet").await,
        StatusCode::OK,
        &[
            "Keys held by this node",
            &bob,
            "Create a wallet",
            "Open a wallet file",
        ],
    );
    assert_page(
        &ui.page("/ui/mining").await,
        StatusCode::OK,
        &["Hash rate", "Mine now", "Start mining"],
    );
    assert_page(
        &ui.page("/ui/how").await,
        StatusCode::OK,
        &[
            "A chain of hashes",
            "Tamper sandbox",
            "sandbox-data",
            "proof-of-work search",
            "A real transfer of this chain",
            "signature message",
        ],
    );

    // Fragments and assets.
    let recent = ui.page("/ui/partial/recent").await;
    assert_eq!(recent.status, StatusCode::OK);
    assert!(recent.body.contains("Latest blocks") && !recent.body.contains("<html"));
    assert!(ui.page("/ui/partial/chart").await.body.starts_with("<svg"));
    assert!(
        ui.page("/ui/partial/mempool")
            .await
            .body
            .contains(&pending[..10])
    );
    let js = ui.page("/ui/static/app.js").await;
    assert_eq!(
        js.headers[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    assert!(js.body.contains("EventSource"));
    let css = ui.page("/ui/static/style.css").await;
    assert_eq!(css.headers[header::CONTENT_TYPE], "text/css; charset=utf-8");

    // Search goes to the right page.
    assert_eq!(ui.page("/ui/search?q=2").await.location(), "/ui/block/2");
    assert_eq!(
        ui.page(&format!("/ui/search?q={paid}")).await.location(),
        format!("/ui/tx/{paid}")
    );
    assert_eq!(
        ui.page(&format!("/ui/search?q={}", tip.hash))
            .await
            .location(),
        format!("/ui/block/{}", tip.hash)
    );
    assert_eq!(
        ui.page(&format!("/ui/search?q={bob}")).await.location(),
        format!("/ui/address/{bob}")
    );
}

#[tokio::test]
async fn the_live_stream_sends_the_status_at_once_and_on_new_blocks() {
    let ui = TestNode::open(|_| {}).await;
    let app = ui.app_from(LOOPBACK);
    let resp = app
        .oneshot(Request::get("/ui/live").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.headers()[header::CONTENT_TYPE], "text/event-stream");
    let mut stream = resp.into_body().into_data_stream();
    let mut text = String::new();
    let read_until =
        async |stream: &mut axum::body::BodyDataStream, text: &mut String, needle: &str| {
            tokio::time::timeout(std::time::Duration::from_secs(20), async {
                while !text.contains(needle) {
                    let chunk = stream.next().await.unwrap().unwrap();
                    text.push_str(&String::from_utf8_lossy(&chunk));
                }
            })
            .await
            .unwrap();
        };
    read_until(&mut stream, &mut text, "\"reason\":\"start\"").await;
    assert!(text.contains("event: status") && text.contains("\"height\":0"));
    ui.mine(1).await;
    read_until(&mut stream, &mut text, "\"height\":1").await;
    assert!(text.contains("\"reason\":\"block\""), "{text}");
}

#[tokio::test]
async fn bad_hashes_heights_and_addresses_give_helpful_pages() {
    let ui = TestNode::open(|_| {}).await;
    ui.mine(1).await;
    let zeros = "0".repeat(64);
    let lab = {
        let lab = ferrochain_core::Network::new(ferrochain_core::ChainSpec::preset("lab").unwrap())
            .unwrap();
        lab.address(&ferrochain_core::PubkeyHash::from_bytes([7; 20]))
    };
    let miner = ui.miner();
    let cases: Vec<(String, StatusCode, &str)> = vec![
        (
            "/ui/block/abc".into(),
            StatusCode::BAD_REQUEST,
            "is not a block hash",
        ),
        (
            "/ui/block/99999".into(),
            StatusCode::NOT_FOUND,
            "no active block at height 99999",
        ),
        (
            format!("/ui/block/{zeros}"),
            StatusCode::NOT_FOUND,
            "no block",
        ),
        (
            format!("/ui/block/{}", &zeros[..63]),
            StatusCode::BAD_REQUEST,
            "64 hex digits",
        ),
        (
            "/ui/block/99999999999999999999999".into(),
            StatusCode::BAD_REQUEST,
            "is not a block hash",
        ),
        (
            "/ui/tx/xyz".into(),
            StatusCode::BAD_REQUEST,
            "is not a txid",
        ),
        (
            format!("/ui/tx/{zeros}"),
            StatusCode::NOT_FOUND,
            "neither in the mempool nor in the active chain",
        ),
        (
            format!("/ui/tx/{}", "g".repeat(64)),
            StatusCode::BAD_REQUEST,
            "not a hex digit",
        ),
        (
            "/ui/address/notanaddress".into(),
            StatusCode::BAD_REQUEST,
            "Not understood",
        ),
        (format!("/ui/address/{lab}"), StatusCode::BAD_REQUEST, "lab"),
        (
            format!("/ui/address/{miner}?page=x"),
            StatusCode::BAD_REQUEST,
            "is not a page number",
        ),
        (
            "/ui/blocks?from=tip".into(),
            StatusCode::BAD_REQUEST,
            "is not a block height",
        ),
        (
            "/ui/records?author=nobody".into(),
            StatusCode::BAD_REQUEST,
            "Not understood",
        ),
        (
            "/ui/records?page=-1".into(),
            StatusCode::BAD_REQUEST,
            "is not a page number",
        ),
        (
            "/ui/search?q=".into(),
            StatusCode::BAD_REQUEST,
            "type a block height",
        ),
        (
            "/ui/search?q=hello".into(),
            StatusCode::BAD_REQUEST,
            "is not a block height, a 64-digit hash",
        ),
        (
            format!("/ui/search?q={zeros}"),
            StatusCode::NOT_FOUND,
            "neither a transaction",
        ),
        (
            "/ui/no-such-page".into(),
            StatusCode::NOT_FOUND,
            "there is no page /ui/no-such-page",
        ),
        (
            "/ui/blocks?from=%ZZ".into(),
            StatusCode::BAD_REQUEST,
            "Not understood",
        ),
    ];
    for (path, status, needle) in cases {
        let a = ui.page(&path).await;
        assert_eq!(a.status, status, "{path}: {}", a.body);
        assert!(
            unescape(&a.body).contains(needle),
            "{path}: {needle:?} not in {}",
            a.body
        );
        assert!(a.body.contains("<!doctype html>"), "{path} is not a page");
        assert!(
            a.body
                .contains(&format!("data-status=\"{}\"", status.as_u16())),
            "{path}"
        );
    }
    let far = ui.page("/ui/blocks?from=18446744073709551615").await;
    assert_page(&far, StatusCode::OK, &["/ui/block/1"]);
}

#[tokio::test]
async fn owner_actions_need_loopback_or_the_token_and_refuse_other_sites() {
    let ui = TestNode::open(|c| c.api_token = Some("s3cret-token".into())).await;
    // A visitor from elsewhere sees the pages, but no owner forms, and is refused owner actions.
    let wallet = ui.page_from(REMOTE, "/ui/wallet").await;
    assert_page(
        &wallet,
        StatusCode::OK,
        &["for the node's owner", "Use token"],
    );
    assert!(!wallet.body.contains("Keys held by this node"));
    assert!(
        !ui.page_from(REMOTE, "/ui/mining")
            .await
            .body
            .contains("id=\"mine-form\"")
    );
    for path in [
        "/ui/mining/mine",
        "/ui/mining/start",
        "/ui/mining/stop",
        "/ui/network/peers",
        "/ui/wallet/node/new",
        "/ui/wallet/create",
        "/ui/wallet/open",
    ] {
        let a = ui.form_from(REMOTE, path, &[("password", "x")], &[]).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}");
        assert!(a.body.contains("Owner only"), "{path}");
    }
    assert_eq!(ui.node.state().tip().height.0, 0);
    // The token: wrong is refused; right sets the cookie, which then allows owner actions.
    let wrong = ui
        .form_from(
            REMOTE,
            "/ui/token",
            &[("token", "nope"), ("next", "/ui/mining")],
            &[],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let right = ui
        .form_from(
            REMOTE,
            "/ui/token",
            &[("token", "s3cret-token"), ("next", "/ui/mining")],
            &[],
        )
        .await;
    assert_eq!(right.status, StatusCode::SEE_OTHER);
    assert_eq!(right.location(), "/ui/mining");
    let cookie = right.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let pair = cookie.split(';').next().unwrap().to_string();
    let mined = ui
        .form_from(
            REMOTE,
            "/ui/mining/mine",
            &[("blocks", "1")],
            &[("cookie", &pair)],
        )
        .await;
    assert_eq!(mined.status, StatusCode::SEE_OTHER, "{}", mined.body);
    assert_eq!(ui.node.state().tip().height.0, 1);
    // The bearer header works too, like the REST API.
    let bearer = ui
        .form_from(
            REMOTE,
            "/ui/mining/mine",
            &[],
            &[("authorization", "Bearer s3cret-token")],
        )
        .await;
    assert_eq!(bearer.status, StatusCode::SEE_OTHER);
    // Another web site's form is refused even from loopback (the browser says where it comes from).
    for headers in [
        [
            ("origin", "https://evil.example"),
            ("host", "127.0.0.1:5000"),
        ],
        [("sec-fetch-site", "cross-site"), ("host", "127.0.0.1:5000")],
    ] {
        let a = ui
            .form_from(LOOPBACK, "/ui/mining/mine", &[], &headers)
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN);
        assert!(a.body.contains("a form from another site"));
    }
    let same = ui
        .form_from(
            LOOPBACK,
            "/ui/mining/mine",
            &[],
            &[
                ("origin", "http://127.0.0.1:5000"),
                ("host", "127.0.0.1:5000"),
            ],
        )
        .await;
    assert_eq!(same.status, StatusCode::SEE_OTHER);
    assert_eq!(ui.node.state().tip().height.0, 3);
}

#[tokio::test]
async fn a_wallet_file_is_created_opened_and_signs_one_transfer_and_one_record() {
    let ui = TestNode::open(|_| {}).await;
    // Errors next to the fields.
    let short = ui
        .form(
            "/ui/wallet/create",
            &[("password", "short"), ("password2", "short")],
        )
        .await;
    assert_page(
        &short,
        StatusCode::BAD_REQUEST,
        &["id=\"err-password\"", "at least 8 characters"],
    );
    let differ = ui
        .form(
            "/ui/wallet/create",
            &[("password", "correct horse"), ("password2", "correct hose")],
        )
        .await;
    assert_page(
        &differ,
        StatusCode::BAD_REQUEST,
        &["id=\"err-password2\"", "the two passwords differ"],
    );

    let created = ui
        .form(
            "/ui/wallet/create",
            &[
                ("password", "correct horse"),
                ("password2", "correct horse"),
            ],
        )
        .await;
    assert_page(
        &created,
        StatusCode::OK,
        &[
            "Your recovery phrase",
            "shown only now",
            "data:application/json;base64,",
            "download=\"ferrochain-wallet.json\"",
        ],
    );
    assert_eq!(created.headers[header::CACHE_CONTROL], "no-store");
    let words = created.body.matches("<li>").count();
    assert!(words >= 24, "{words}");
    let wallet_json = input_value(&created.body, "wallet_json");
    let addresses: Vec<String> = created
        .body
        .split("data-address>")
        .skip(1)
        .map(|s| s[..s.find('<').unwrap()].to_string())
        .collect();
    assert_eq!(addresses.len(), 2);
    assert!(
        !std::fs::read_dir(ui.node.config().data_dir.clone())
            .unwrap()
            .any(|e| std::fs::read(e.unwrap().path())
                .is_ok_and(|b| String::from_utf8_lossy(&b).contains("ferrochain-wallet"))),
        "the wallet file is not stored on the node"
    );

    // Mine to the new wallet's first address.
    let mined = ui
        .form(
            "/ui/mining/mine",
            &[("address", &addresses[0]), ("blocks", "1")],
        )
        .await;
    assert_eq!(mined.status, StatusCode::SEE_OTHER);
    assert!(mined.location().starts_with("/ui/mining?mined=1"));

    // Open it: wrong password next to the password field; right one shows the balance.
    let wrong = ui
        .multipart(
            "/ui/wallet/open",
            &[("wallet_file", &wallet_json), ("password", "wrong horse")],
        )
        .await;
    assert_page(
        &wrong,
        StatusCode::BAD_REQUEST,
        &["id=\"err-password\"", "wrong password"],
    );
    let garbage = ui
        .multipart(
            "/ui/wallet/open",
            &[("wallet_file", "{not json"), ("password", "x")],
        )
        .await;
    assert_page(
        &garbage,
        StatusCode::BAD_REQUEST,
        &["id=\"err-wallet_file\"", "malformed wallet file"],
    );
    let opened = ui
        .multipart(
            "/ui/wallet/open",
            &[("wallet_file", &wallet_json), ("password", "correct horse")],
        )
        .await;
    assert_page(
        &opened,
        StatusCode::OK,
        &[
            "Your wallet file",
            &addresses[0][..10],
            ">10<",
            "Sign and send",
        ],
    );

    // Send: bad fields are reported next to them; a good one is signed and submitted.
    let ui_ref = &ui;
    let send = |to: String, amount: &'static str, password: &'static str| {
        let json = wallet_json.clone();
        async move {
            let ui = ui_ref;
            ui.form(
                "/ui/wallet/file/send",
                &[
                    ("wallet_json", json.as_str()),
                    ("password", password),
                    ("from", "0"),
                    ("to", to.as_str()),
                    ("amount", amount),
                    ("fee", "0.001"),
                    ("memo", "first payment"),
                ],
            )
            .await
        }
    };
    let bad_to = send("dev1nothing".into(), "1", "correct horse").await;
    assert_page(&bad_to, StatusCode::BAD_REQUEST, &["id=\"err-to\""]);
    let too_much = send(addresses[1].clone(), "1000", "correct horse").await;
    assert_page(&too_much, StatusCode::BAD_REQUEST, &["id=\"err-amount\""]);
    let bad_amount = send(addresses[1].clone(), "1.5.5", "correct horse").await;
    assert_page(&bad_amount, StatusCode::BAD_REQUEST, &["id=\"err-amount\""]);
    let wrong_pw = send(addresses[1].clone(), "1", "nope").await;
    assert_page(&wrong_pw, StatusCode::BAD_REQUEST, &["id=\"err-password\""]);
    let sent = send(addresses[1].clone(), "1.25", "correct horse").await;
    assert_page(
        &sent,
        StatusCode::OK,
        &["Payment signed and sent", "used for this request only"],
    );
    let txid = sent.body.split("/ui/tx/").nth(1).unwrap()[..64].to_string();
    let pool: Vec<String> = ui
        .node
        .state()
        .mempool()
        .iter()
        .map(|e| e.txid.to_string())
        .collect();
    assert_eq!(pool, vec![txid.clone()]);

    let record = ui
        .form(
            "/ui/wallet/file/record",
            &[
                ("wallet_json", wallet_json.as_str()),
                ("password", "correct horse"),
                ("author", "1"),
                ("content", "lot 9 shipped"),
            ],
        )
        .await;
    assert_page(&record, StatusCode::OK, &["Record signed and sent"]);
    let empty = ui
        .form(
            "/ui/wallet/file/record",
            &[
                ("wallet_json", wallet_json.as_str()),
                ("password", "correct horse"),
                ("author", "0"),
                ("content", ""),
            ],
        )
        .await;
    assert_page(&empty, StatusCode::BAD_REQUEST, &["id=\"err-content\""]);
    assert_eq!(ui.node.state().mempool().len(), 2);

    // Restore from the phrase gives the same addresses.
    let phrase: Vec<String> = created
        .body
        .split("<ol class=\"phrase\" id=\"phrase\">")
        .nth(1)
        .unwrap()
        .split("</ol>")
        .next()
        .unwrap()
        .split("<li>")
        .skip(1)
        .map(|w| w.trim_end_matches("</li>").to_string())
        .collect();
    let restored = ui
        .form(
            "/ui/wallet/restore",
            &[
                ("phrase", &phrase.join(" ")),
                ("password", "another pw"),
                ("password2", "another pw"),
            ],
        )
        .await;
    assert_page(
        &restored,
        StatusCode::OK,
        &["Wallet restored", &addresses[0], &addresses[1]],
    );
    let bad_phrase = ui
        .form(
            "/ui/wallet/restore",
            &[
                ("phrase", "abandon abandon"),
                ("password", "another pw"),
                ("password2", "another pw"),
            ],
        )
        .await;
    assert_page(&bad_phrase, StatusCode::BAD_REQUEST, &["id=\"err-phrase\""]);
}

#[tokio::test]
async fn node_wallet_and_mining_forms_work_and_report_errors_next_to_fields() {
    let ui = TestNode::open(|_| {}).await;
    ui.mine(1).await;
    let miner = ui.miner();
    let new = ui.form("/ui/wallet/node/new", &[]).await;
    assert_eq!(new.status, StatusCode::SEE_OTHER);
    let bob = new.location().split("created=").nth(1).unwrap().to_string();
    assert!(ui.node.holds(&bob));

    let bad = ui
        .form(
            "/ui/wallet/node/send",
            &[
                ("from", &miner),
                ("to", &bob),
                ("amount", "abc"),
                ("fee", "0"),
            ],
        )
        .await;
    assert_page(&bad, StatusCode::BAD_REQUEST, &["id=\"err-amount\""]);
    let bad_fee = ui
        .form(
            "/ui/wallet/node/send",
            &[
                ("from", &miner),
                ("to", &bob),
                ("amount", "1"),
                ("fee", "-1"),
            ],
        )
        .await;
    assert_page(&bad_fee, StatusCode::BAD_REQUEST, &["id=\"err-fee\""]);
    let missing = ui.form("/ui/wallet/node/send", &[("from", &miner)]).await;
    assert_page(
        &missing,
        StatusCode::BAD_REQUEST,
        &["id=\"err-to\"", "id=\"err-amount\""],
    );
    let sent = ui
        .form(
            "/ui/wallet/node/send",
            &[
                ("from", &miner),
                ("to", &bob),
                ("amount", "3"),
                ("fee", "0.01"),
                ("memo", "hi"),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    assert!(sent.location().starts_with("/ui/tx/"));
    let rec = ui
        .form(
            "/ui/wallet/node/record",
            &[("author", &bob), ("content", "lot 1 received")],
        )
        .await;
    assert_eq!(rec.status, StatusCode::SEE_OTHER, "{}", rec.body);
    let empty = ui
        .form(
            "/ui/wallet/node/record",
            &[("author", &bob), ("content", " ")],
        )
        .await;
    assert_page(&empty, StatusCode::BAD_REQUEST, &["id=\"err-content\""]);

    // Mining forms.
    let too_many = ui.form("/ui/mining/mine", &[("blocks", "50")]).await;
    assert_page(&too_many, StatusCode::BAD_REQUEST, &["id=\"err-blocks\""]);
    let bad_addr = ui.form("/ui/mining/mine", &[("address", "dev1xyz")]).await;
    assert_page(&bad_addr, StatusCode::BAD_REQUEST, &["id=\"err-address\""]);
    let mined = ui.form("/ui/mining/mine", &[("blocks", "2")]).await;
    assert_eq!(
        mined.location(),
        format!("/ui/mining?mined=3&hash={}", ui.node.state().tip().hash)
    );
    assert_page(
        &ui.page(&mined.location()).await,
        StatusCode::OK,
        &["Mined block", "#3"],
    );
    assert!(ui.node.state().mempool().is_empty());
    let bad_interval = ui
        .form("/ui/mining/start", &[("interval_secs", "soon")])
        .await;
    assert_page(
        &bad_interval,
        StatusCode::BAD_REQUEST,
        &["id=\"err-interval_secs\""],
    );
    let started = ui
        .form("/ui/mining/start", &[("interval_secs", "3600")])
        .await;
    assert_eq!(started.location(), "/ui/mining?notice=started");
    assert_page(
        &ui.page("/ui/mining?notice=started").await,
        StatusCode::OK,
        &["Stop mining", "one block per 3600 s"],
    );
    let stopped = ui.form("/ui/mining/stop", &[]).await;
    assert_eq!(stopped.location(), "/ui/mining?notice=stopped");
    assert!(ui.node.miner().continuous().is_none());
}

/// Mines a block on `parent` (not the tip): a side branch, paying the node's miner.
fn side_block(node: &Node, parent: &Block, tag: &[u8]) -> Block {
    ferrochain_core::testing::side_block(node.network(), node.miner_address(), parent, tag)
}

#[tokio::test]
async fn the_network_page_draws_forks_and_adds_peers() {
    let ui = TestNode::open(|_| {}).await;
    let blocks = ui.mine(3).await;
    let stale = ui
        .run(move |node| {
            let a = side_block(&node, &blocks[0], b"side a");
            let b = side_block(&node, &a, b"side b");
            // Headers first (as a syncing node sends them): the branch reaches the tip's work, so its bodies
            // are stored (ADR 0023: a branch that cannot win would keep only its headers).
            node.state().submit_headers(&[a.header, b.header]).unwrap();
            for blk in [&a, &b] {
                let outcome = node.submit_block(blk.clone()).unwrap();
                assert_eq!(outcome, ferrochain_state::BlockOutcome::SideChain);
            }
            (a.hash().to_string(), b.hash().to_string())
        })
        .await;
    let page = ui.page("/ui/network").await;
    assert_page(
        &page,
        StatusCode::OK,
        &[
            "<b>2</b> blocks off the active chain",
            &stale.0,
            &stale.1,
            "blk stale",
            "blk active",
        ],
    );
    assert_page(
        &ui.page(&format!("/ui/block/{}", stale.0)).await,
        StatusCode::OK,
        &["not in the active chain"],
    );
    assert_eq!(
        ui.node
            .state()
            .hash_at(Height(2))
            .map(|h| h.to_string() == stale.1),
        Some(false)
    );

    let bad = ui.form("/ui/network/peers", &[("url", "not a url")]).await;
    assert_page(
        &bad,
        StatusCode::BAD_REQUEST,
        &["id=\"err-url\"", "http://host:port"],
    );
    let unreachable = ui
        .form("/ui/network/peers", &[("url", "127.0.0.1:1")])
        .await;
    assert_page(
        &unreachable,
        StatusCode::BAD_REQUEST,
        &["id=\"err-url\"", "add anyway"],
    );
    let forced = ui
        .form(
            "/ui/network/peers",
            &[("url", "127.0.0.1:1"), ("force", "1")],
        )
        .await;
    assert_eq!(forced.location(), "/ui/network?added=http://127.0.0.1:1");
    assert_page(
        &ui.page("/ui/network").await,
        StatusCode::OK,
        &["Peers (1)", "http://127.0.0.1:1"],
    );
    let synced = ui.form("/ui/network/peers", &[("sync", "1")]).await;
    assert_page(&synced, StatusCode::OK, &["http://127.0.0.1:1:"]);
}
