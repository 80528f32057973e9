//! A ferrochain chain embedded in a program, walking through the UTXO seed system's usage example: three
//! wallets, each funded by one mined block; payments between them, spending unconfirmed change; a block
//! that takes at most two of the pending transactions (`txAmount` there); balances after each step.
//!
//! Run it with `cargo run --example embed`. The test `crates/node/tests/test_embed_example.rs` runs
//! [`tour`] and checks what it prints.

use std::error::Error;
use std::io::Write;

use ferrochain_node::embed::{Chain, Storage, Wallet};

fn main() -> Result<(), Box<dyn Error>> {
    let balances = tour(&mut std::io::stdout().lock())?;
    assert_eq!(balances, EXPECTED, "the tour's arithmetic changed");
    Ok(())
}

/// The balances the tour ends with (alice, bob, carol), in whole units.
pub const EXPECTED: [&str; 3] = ["18", "18", "14"];

/// Runs the walk-through on an in-memory `dev` chain (block reward 10, no fees), printing each step to
/// `out`; returns the final confirmed balances of alice, bob and carol.
///
/// # Errors
/// Any failure of the chain (none is expected).
pub fn tour(out: &mut dyn Write) -> Result<[String; 3], Box<dyn Error>> {
    // An SQLite file works the same: Storage::Sqlite("chain.sqlite".into()).
    let chain = Chain::open("dev", &Storage::Memory)?;
    let names = ["alice", "bob", "carol"];
    let wallets: Vec<Wallet> = names.iter().map(|_| chain.new_wallet()).collect();
    let (alice, bob, carol) = (&wallets[0], &wallets[1], &wallets[2]);
    for (name, w) in names.iter().zip(&wallets) {
        writeln!(out, "{name:<5} {}", w.address())?;
    }

    // 1. Fund every wallet: one block each, the reward (10) to the wallet.
    for w in &wallets {
        let block = chain.mine_block(w.address(), 5)?;
        writeln!(
            out,
            "mined block {} ({} transaction) -> {}",
            block.header.height.0,
            block.transactions.len(),
            block.hash()
        )?;
    }
    print_balances(out, &chain, &names, &wallets, "after funding")?;

    // 2. Three payments wait in the mempool.
    chain.send(alice, bob.address(), "3")?;
    chain.send(bob, carol.address(), "5")?;
    chain.send(carol, alice.address(), "1")?;
    writeln!(
        out,
        "sent alice->bob 3, bob->carol 5, carol->alice 1: {} pending",
        chain.pending().len()
    )?;

    // 3. A block with at most two of them (the first two, in arrival order: no fees on `dev`).
    let block = chain.mine_block(alice.address(), 2)?;
    writeln!(
        out,
        "mined block {} with txAmount 2: {} transactions, {} still pending",
        block.header.height.0,
        block.transactions.len() - 1,
        chain.pending().len()
    )?;
    print_balances(out, &chain, &names, &wallets, "after block 4")?;

    // 4. The next block takes the rest.
    let block = chain.mine_block(bob.address(), 5)?;
    writeln!(
        out,
        "mined block {}: {} transaction, {} pending",
        block.header.height.0,
        block.transactions.len() - 1,
        chain.pending().len()
    )?;
    let balances = print_balances(out, &chain, &names, &wallets, "final")?;
    writeln!(
        out,
        "{} blocks after genesis; 5 rewards of 10 = 50 in circulation",
        chain.height()
    )?;
    Ok(balances)
}

fn print_balances(
    out: &mut dyn Write,
    chain: &Chain,
    names: &[&str; 3],
    wallets: &[Wallet],
    when: &str,
) -> Result<[String; 3], Box<dyn Error>> {
    let mut balances: [String; 3] = Default::default();
    write!(out, "balances {when}:")?;
    for (i, (name, w)) in names.iter().zip(wallets).enumerate() {
        balances[i] = chain.balance_text(w.address())?;
        write!(out, " {name} {}", balances[i])?;
    }
    writeln!(out)?;
    Ok(balances)
}
