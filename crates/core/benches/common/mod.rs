//! Helpers shared by the benchmarks: whether criterion is really benchmarking, and a short timed loop for
//! the plain summary lines each benchmark prints after criterion's own report (criterion prints rates, not
//! the ratios between them that the project's benchmarks are about).

// Each benchmark uses only some of these helpers.
#![allow(dead_code)]

use std::hint::black_box;
use std::time::{Duration, Instant};

/// How long each summary measurement runs.
pub const SUMMARY_TIME: Duration = Duration::from_millis(500);

/// Whether this run measures (`cargo bench`), rather than smoke-testing each benchmark once
/// (`cargo test --benches`, `cargo bench -- --test`) or listing them: the summary is only worth its time
/// when measuring.
pub fn benchmarking() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test" || a == "--list")
}

/// Calls `f` repeatedly for at least `min_time` (after one warm-up call) and returns calls per second.
pub fn calls_per_sec<T>(min_time: Duration, mut f: impl FnMut() -> T) -> f64 {
    black_box(f());
    let start = Instant::now();
    let mut calls: u64 = 0;
    let mut chunk: u64 = 1;
    loop {
        for _ in 0..chunk {
            black_box(f());
        }
        calls += chunk;
        let elapsed = start.elapsed();
        if elapsed >= min_time {
            return calls as f64 / elapsed.as_secs_f64();
        }
        // Next chunk: about the time that remains, at most twice the last one, so the clock is read rarely
        // and the loop overshoots `min_time` by little.
        let per_call = elapsed.as_secs_f64() / calls as f64;
        let remaining = (min_time - elapsed).as_secs_f64();
        chunk = ((remaining / per_call) as u64).clamp(1, chunk.saturating_mul(2));
    }
}

/// A rate in millions per second, two decimals.
pub fn mega(rate: f64) -> String {
    format!("{:.2} M/s", rate / 1e6)
}

/// A rate in thousands per second, one decimal.
pub fn kilo(rate: f64) -> String {
    format!("{:.1} k/s", rate / 1e3)
}
