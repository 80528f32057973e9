//! Runs the embedding example (`cargo run --example embed`) as a test: the example's own [`tour`] function,
//! compiled from `examples/embed.rs`, must print the balances of the UTXO seed system's usage example.
#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "../examples/embed.rs"]
mod example;

#[test]
fn the_embedding_example_prints_the_balances_it_expects() {
    let mut out = Vec::new();
    let balances = example::tour(&mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(balances, example::EXPECTED, "{text}");
    for line in [
        "balances after funding: alice 10 bob 10 carol 10",
        "3 pending",
        "mined block 4 with txAmount 2: 2 transactions, 1 still pending",
        "balances after block 4: alice 17 bob 8 carol 15",
        "mined block 5: 1 transaction, 0 pending",
        "balances final: alice 18 bob 18 carol 14",
        "5 blocks after genesis",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
}
