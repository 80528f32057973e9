//! The machine's own limits, measured in the same run as the node's figures so the benches can print ratios
//! (issue 15): fsync'd commits per second of this disk, Ed25519 verifies per second on one core, and an axum
//! hello-world's requests per second over loopback with the same client as the node benches.
#![allow(dead_code)]

use std::io::Write;
use std::time::{Duration, Instant};

use ferrochain_core::SigningKey;

/// The limits measured.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// `write` + `fsync` of a small record on a temporary file, per second (the data directory's disk).
    pub fsyncs_per_s: f64,
    /// Single Ed25519 signature verifications per second on one thread.
    pub verifies_per_s: f64,
}

/// Measures the disk's fsync rate in the system temporary directory for about `span`.
pub fn fsyncs_per_s(span: Duration) -> f64 {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut file = std::fs::File::create(dir.path().join("fsync.bin")).expect("temp file");
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < span {
        file.write_all(&[n as u8; 512]).expect("write");
        file.sync_all().expect("fsync");
        n += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// Measures single Ed25519 verifications per second on this thread for about `span`.
pub fn verifies_per_s(span: Duration) -> f64 {
    let key = SigningKey::from_secret_bytes([7; 32]);
    let public = key.public_key();
    let msg = [42u8; 64];
    let sig = key.sign(&msg);
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < span {
        for _ in 0..100 {
            assert!(public.verify(&msg, &sig).is_ok());
        }
        n += 100;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// Measures both limits (about a second each).
pub fn measure() -> Limits {
    Limits {
        fsyncs_per_s: fsyncs_per_s(Duration::from_secs(1)),
        verifies_per_s: verifies_per_s(Duration::from_secs(1)),
    }
}

/// Sends `total` GET requests to `url` from `clients` concurrent tasks sharing one client; returns
/// (successful requests per second, failures).
pub async fn get_rate(
    client: &reqwest::Client,
    url: &str,
    clients: usize,
    total: usize,
) -> (f64, usize) {
    // Open the connections first.
    let warm: Vec<_> = (0..clients)
        .map(|_| {
            let (client, url) = (client.clone(), url.to_string());
            tokio::spawn(async move {
                if let Ok(r) = client.get(&url).send().await {
                    let _ = r.bytes().await;
                }
            })
        })
        .collect();
    for w in warm {
        let _ = w.await;
    }
    let per = total.div_ceil(clients);
    let start = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (client, url) = (client.clone(), url.to_string());
            tokio::spawn(async move {
                let (mut ok, mut bad) = (0usize, 0usize);
                for _ in 0..per {
                    match client.get(&url).send().await {
                        Ok(r) if r.status().is_success() => {
                            let _ = r.bytes().await;
                            ok += 1;
                        }
                        _ => bad += 1,
                    }
                }
                (ok, bad)
            })
        })
        .collect();
    let (mut ok, mut bad) = (0, 0);
    for t in tasks {
        let (o, b) = t.await.unwrap_or((0, per));
        ok += o;
        bad += b;
    }
    (ok as f64 / start.elapsed().as_secs_f64(), bad)
}

/// An axum hello-world on `127.0.0.1:0`, measured with [`get_rate`] for `clients`; returns req/s.
pub async fn hello_world_rate(clients: usize, total: usize) -> f64 {
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello, world" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let client = reqwest::Client::new();
    let (rate, _) = get_rate(&client, &format!("http://{addr}/"), clients, total).await;
    server.abort();
    rate
}

/// `a / b` as a ratio for printing.
pub fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}×", a / b)
    } else {
        "n/a".into()
    }
}
