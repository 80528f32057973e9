//! "How it works", told with this chain's own data:
//!
//! 1. **The chain of hashes**, with a tamper sandbox: the page gets the 96 header bytes, the txids and the
//!    coinbase bytes of the last blocks, and its script changes a field of a *copy* (time, nonce, bits, the
//!    coinbase reward), recomputes the hashes with the browser's SHA-256 and shows which checks fail — proof
//!    of work, Merkle root, the next block's link — and why every later block breaks; it can re-mine the copy
//!    to show that the break only moves one block up.
//! 2. **The proof-of-work search** at the live difficulty: the target, the expected number of hashes, this
//!    node's hash rate, and the tip's hash with the zeros it needed.
//! 3. **UTXOs and signatures** on the newest transfer of this chain: the outputs it spends, the outputs it
//!    creates, the signature message its inputs sign, and how a key becomes an address.

use axum::extract::State;
use axum::response::Response;
use ferrochain_core::{Amount, Block, Encode, Height, TxKind};
use minijinja::context;
use serde::Serialize;

use crate::ui::{IsOwner, Page, UiError, blocking, respond, v};
use crate::views::leading_zero_bits;
use ferrochain_node::Node;

/// Blocks given to the tamper sandbox.
pub const SANDBOX_BLOCKS: u64 = 6;
/// Blocks searched for a transfer to explain.
pub const EXAMPLE_SCAN_BLOCKS: u64 = 500;

/// One block as the sandbox script sees it.
#[derive(Debug, Clone, Serialize)]
pub struct SandboxBlock {
    /// Height.
    pub height: u64,
    /// Hash (hex).
    pub hash: String,
    /// The 96 header bytes (hex).
    pub header_hex: String,
    /// The full target its hash must not exceed (64 hex digits).
    pub target_hex: String,
    /// Leading zero bits of the target.
    pub zero_bits: u32,
    /// Its txids in order (hex).
    pub txids: Vec<String>,
    /// The coinbase's canonical encoding (hex).
    pub coinbase_hex: String,
    /// Byte offset of the coinbase's first output amount (8 bytes little-endian), if it has an output.
    pub amount_offset: Option<usize>,
    /// That amount in smallest units.
    pub amount_units: Option<u64>,
}

/// The sandbox view of `block`.
pub fn sandbox_block(block: &Block) -> SandboxBlock {
    let coinbase = block.transactions.first();
    let coinbase_bytes = coinbase.map(Encode::to_bytes).unwrap_or_default();
    let (amount_offset, amount_units) = coinbase
        .and_then(|cb| {
            let out = cb.outputs.first()?;
            let units = out.amount.to_units();
            let mut changed = cb.clone();
            let other = Amount::from_units(units ^ 1).ok()?;
            changed.outputs[0].amount = other;
            let changed_bytes = changed.to_bytes();
            let offset = coinbase_bytes
                .iter()
                .zip(&changed_bytes)
                .position(|(a, b)| a != b)?;
            Some((Some(offset), Some(units)))
        })
        .unwrap_or((None, None));
    let h = &block.header;
    SandboxBlock {
        height: h.height.0,
        hash: block.hash().to_string(),
        header_hex: hex::encode(h.to_array()),
        target_hex: h
            .bits
            .to_target()
            .map(|t| t.to_string())
            .unwrap_or_default(),
        zero_bits: leading_zero_bits(h.bits),
        txids: block.txids().iter().map(|t| t.to_string()).collect(),
        coinbase_hex: hex::encode(&coinbase_bytes),
        amount_offset,
        amount_units,
    }
}

/// The "how it works" page.
pub async fn page(State(node): State<Node>, owner: IsOwner) -> Result<Response, UiError> {
    let status = crate::ui::status(&node).await?;
    blocking(&node, move |node| {
        let state = node.state();
        let network = node.network();
        let spec = network.spec();
        let tip = state.tip();
        let internal =
            |e: ferrochain_state::StateError| UiError::from(crate::error::ApiError::internal(e));
        let mut sandbox = Vec::new();
        for h in tip.height.0.saturating_sub(SANDBOX_BLOCKS - 1)..=tip.height.0 {
            if let Some(block) = state.block_at(Height(h)).map_err(internal)? {
                sandbox.push(sandbox_block(&block));
            }
        }
        let sandbox_json = serde_json::json!({
            "blocks": sandbox,
            "decimals": spec.decimals,
            "unit": spec.unit,
        })
        .to_string();
        // The newest transfer (confirmed, or else waiting in the mempool) and the newest coinbase.
        let mut example = None;
        for e in state.mempool() {
            if matches!(e.tx.kind, TxKind::Transfer { .. }) {
                example = Some(e.tx);
            }
        }
        if example.is_none() {
            let lowest = tip.height.0.saturating_sub(EXAMPLE_SCAN_BLOCKS);
            for h in (lowest..=tip.height.0).rev() {
                let Some(block) = state.block_at(Height(h)).map_err(internal)? else {
                    continue;
                };
                if let Some(tx) = block
                    .transactions
                    .iter()
                    .rev()
                    .find(|t| matches!(t.kind, TxKind::Transfer { .. }))
                {
                    example = Some(tx.clone());
                    break;
                }
            }
        }
        let example_ctx = example.map(|tx| {
            let mut lookup = crate::views::SpentLookup::new(state);
            let status = state
                .transaction(&tx.txid())
                .ok()
                .flatten()
                .map(|i| i.status);
            let view = crate::views::TxView::new(&tx, network, &mut lookup, status.as_ref());
            let first_key = tx.inputs().first().map(|i| {
                context! {
                    public_key => i.public_key.to_string(),
                    pubkey_hash => i.public_key.pubkey_hash().to_string(),
                    address => network.address(&i.public_key.pubkey_hash()),
                }
            });
            context! {
                tx => v(&view),
                sighash => hex::encode(tx.sighash(&network.genesis_hash())),
                key => first_key,
            }
        });
        let tip_block = state.block_at(tip.height).map_err(internal)?;
        let coinbase = tip_block
            .as_ref()
            .and_then(|b| b.transactions.first())
            .map(|cb| {
                context! {
                    txid => cb.txid().to_string(),
                    total => cb.output_total().unwrap_or_default().format_units(spec.decimals),
                    subsidy => spec.subsidy_at(tip.height).format_units(spec.decimals),
                }
            });
        let zero_hex_digits = tip
            .hash
            .to_string()
            .chars()
            .take_while(|c| *c == '0')
            .count();
        let expected = 2f64.powi(status.leading_zero_bits as i32);
        let expected_secs = if status.hash_rate > 0.0 {
            Some(format!("{:.1}", expected / status.hash_rate))
        } else {
            None
        };
        let target = ferrochain_core::CompactTarget::from_consensus(
            u32::from_str_radix(&status.bits, 16).unwrap_or(0),
        )
        .to_target()
        .map(|t| t.to_string())
        .unwrap_or_default();
        let tip_hash = tip.hash.to_string();
        let ctx = context! {
            sandbox_json => sandbox_json,
            sandbox => v(&sandbox),
            status => v(&status),
            target => target,
            expected => format!("{expected:.0}"),
            expected_secs => expected_secs,
            rate => crate::ui::format_rate(status.hash_rate),
            tip_zeros => tip_hash[..zero_hex_digits].to_string(),
            tip_rest => tip_hash[zero_hex_digits..].to_string(),
            tip_nonce => tip.header.nonce,
            tip_height => tip.height.0,
            example => example_ctx,
            coinbase => coinbase,
            target_secs => spec.target_block_time_ms / 1000,
            retarget => spec.retarget_interval,
            maturity => spec.coinbase_maturity,
        };
        respond(
            &node,
            owner,
            Page::new("how.html", "How it works", "how", ctx),
        )
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sandbox_finds_the_coinbase_amount_bytes() {
        let network = ferrochain_core::Network::dev();
        let block = network.genesis().clone();
        let view = sandbox_block(&block);
        assert_eq!(view.header_hex.len(), 192);
        assert_eq!(view.txids.len(), block.transactions.len());
        if let (Some(offset), Some(units)) = (view.amount_offset, view.amount_units) {
            let bytes = hex::decode(&view.coinbase_hex).unwrap_or_default();
            let mut le = [0u8; 8];
            le.copy_from_slice(&bytes[offset..offset + 8]);
            assert_eq!(u64::from_le_bytes(le), units);
        }
    }
}
