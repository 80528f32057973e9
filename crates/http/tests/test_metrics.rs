//! `/metrics` of a served node, scraped after mining and payments and parsed as Prometheus text: the chain
//! height, mempool, miner, block validation timings and per-route HTTP latencies say what happened.
#![allow(clippy::unwrap_used)]

use ferrochain_http::testing::TestNode;
use prometheus_parse::{Sample, Scrape, Value};
use serde_json::{Value as Json, json};

fn find<'a>(scrape: &'a Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<&'a Sample> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
}

/// A gauge's or counter's value.
fn value(scrape: &Scrape, metric: &str) -> f64 {
    match find(scrape, metric, &[]).map(|s| &s.value) {
        Some(Value::Gauge(v) | Value::Counter(v) | Value::Untyped(v)) => *v,
        other => panic!("{metric}: {other:?}"),
    }
}

/// A histogram's observation count (its `+Inf` bucket).
fn count(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    match find(scrape, metric, labels).map(|s| &s.value) {
        Some(Value::Histogram(buckets)) => buckets
            .iter()
            .find(|b| b.less_than.is_infinite())
            .map_or(0.0, |b| b.count),
        None => 0.0,
        other => panic!("{metric}: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_prometheus_text_that_tells_what_the_node_did() {
    let t = TestNode::start(|_| {}).await;
    let url = t.root().to_string();
    let client = t.client.clone();
    let post = |path: &str, body: Json| client.post(format!("{url}{path}")).json(&body).send();

    // Three blocks to the node's own address, two payments from it, a few reads and a 404.
    let mined = post("/api/v1/mine", json!({"blocks": 3})).await.unwrap();
    assert_eq!(mined.status(), 200);
    let wallets: Json = client
        .get(format!("{url}/api/get_wallets"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let miner = wallets["data"][0]["address"].as_str().unwrap().to_string();
    let to: Json = post("/api/new_wallet", json!({}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let to = to["data"].as_str().unwrap().to_string();
    for amount in [1, 2] {
        let r = post(
            "/transactions/new",
            json!({"sender": miner, "recipient": to, "amount": amount}),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    }
    for path in ["/api/v1/blocks/1", "/api/v1/blocks/2", "/no/such/route"] {
        client.get(format!("{url}{path}")).send().await.unwrap();
    }
    // Methods nobody routes share one label, whatever their name.
    for method in ["FROB", "XYZZY"] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        client
            .request(method, format!("{url}/api/v1/status"))
            .send()
            .await
            .unwrap();
    }

    let scraped = client.get(format!("{url}/metrics")).send().await.unwrap();
    assert_eq!(scraped.status(), 200);
    let content_type = scraped.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(content_type, "text/plain; version=0.0.4");
    let text = scraped.text().await.unwrap();
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();

    assert_eq!(value(&scrape, "ferrochain_chain_height"), 3.0, "{text}");
    assert_eq!(value(&scrape, "ferrochain_mempool_transactions"), 2.0);
    assert!(value(&scrape, "ferrochain_mempool_bytes") > 100.0);
    assert_eq!(value(&scrape, "ferrochain_peers"), 0.0);
    assert_eq!(value(&scrape, "ferrochain_miner_running"), 0.0);
    assert!(value(&scrape, "ferrochain_miner_hashes_total") > 0.0);
    assert!(value(&scrape, "ferrochain_miner_hash_rate") >= 0.0);
    assert!(value(&scrape, "ferrochain_uptime_seconds") > 0.0);
    let info = find(&scrape, "ferrochain_build_info", &[("network", "dev")]).unwrap();
    assert_eq!(info.labels.get("version"), Some(env!("CARGO_PKG_VERSION")));

    // Every mined block went through validation once.
    let validation = "ferrochain_block_validation_seconds";
    assert_eq!(count(&scrape, validation, &[("outcome", "connected")]), 3.0);
    assert_eq!(count(&scrape, validation, &[("outcome", "invalid")]), 0.0);
    assert!(scrape.docs.contains_key("ferrochain_sync_seconds"));

    // HTTP latencies by route pattern, method and status; unknown paths share one label.
    let http = "ferrochain_http_request_duration_seconds";
    let route = |method, route, status| {
        count(
            &scrape,
            http,
            &[("method", method), ("route", route), ("status", status)],
        )
    };
    assert_eq!(route("POST", "/api/v1/mine", "200"), 1.0, "{text}");
    assert_eq!(route("GET", "/api/v1/blocks/:id", "200"), 2.0, "{text}");
    assert_eq!(route("POST", "/transactions/new", "201"), 2.0);
    assert_eq!(route("GET", "unmatched", "404"), 1.0);
    assert!(!text.contains("/no/such/route"));
    let other: f64 = ["405", "404"]
        .iter()
        .map(|status| {
            route("other", "/api/v1/status", status) + route("other", "unmatched", status)
        })
        .sum();
    assert_eq!(other, 2.0, "{text}");
    assert!(!text.contains("FROB") && !text.contains("XYZZY"), "{text}");

    t.stop().await;
}
