//! Parsing of the values a request carries — addresses, txids, block hashes, amounts in whole units, hex — with
//! the JSON error each bad value gets (the same on every surface), and [`blocking`]: the hop of a read to a
//! blocking thread within the node's time limit.

use std::time::Duration;

use axum::http::StatusCode;
use ferrochain_core::crypto::AddressError;
use ferrochain_core::{Amount, BlockHash, Network, PubkeyHash, Txid};
use ferrochain_node::{ErrorCode, Node};

use crate::error::ApiError;

/// Reads an address of this network: `400 invalid_address` or `400 wrong_network` with the reason.
pub fn parse_address(network: &Network, text: &str) -> Result<PubkeyHash, ApiError> {
    network.parse_address(text).map_err(|e| match e {
        AddressError::WrongNetwork { .. } => {
            ApiError::bad_request(ErrorCode::WrongNetwork, e.to_string())
        }
        _ => ApiError::bad_request(ErrorCode::InvalidAddress, e.to_string()),
    })
}

/// Reads a txid: `400 invalid_txid`.
pub fn parse_txid(text: &str) -> Result<Txid, ApiError> {
    text.parse::<Txid>().map_err(|e| {
        ApiError::bad_request(
            ErrorCode::InvalidTxid,
            format!("{text:?} is not a txid: {e}"),
        )
    })
}

/// Reads a block hash: `400 invalid_block_id`.
pub fn parse_block_hash(text: &str) -> Result<BlockHash, ApiError> {
    text.parse::<BlockHash>().map_err(|e| {
        ApiError::bad_request(
            ErrorCode::InvalidBlockId,
            format!("{text:?} is not a block hash: {e}"),
        )
    })
}

/// Reads an amount given in whole units: a JSON string (`"1.5"`, at most `decimals` decimals) or a JSON
/// integer (`5` = 5 coins). `positive` refuses zero. Errors are `400 invalid_amount` naming `field`.
pub fn parse_amount(
    value: &serde_json::Value,
    decimals: u8,
    field: &'static str,
    positive: bool,
) -> Result<Amount, ApiError> {
    let bad = |why: String| {
        ApiError::bad_request(ErrorCode::InvalidAmount, format!("{field}: {why}")).on_field(field)
    };
    let text = match value {
        serde_json::Value::String(s) => s.trim().to_string(),
        serde_json::Value::Number(n) if n.is_u64() => n.to_string(),
        serde_json::Value::Number(n) if n.is_i64() => {
            return Err(bad(format!("{n} is negative; amounts are at least 0")));
        }
        serde_json::Value::Number(n) => {
            return Err(bad(format!(
                "{n} is not a whole number; give fractions as a string, e.g. \"1.5\""
            )));
        }
        other => {
            return Err(bad(format!(
                "expected whole units as a string (\"1.5\") or an integer (5), got {other}"
            )));
        }
    };
    if text.starts_with('-') {
        return Err(bad(format!("{text:?} is negative; amounts are at least 0")));
    }
    let amount = Amount::parse_units(&text, decimals).map_err(|e| bad(e.to_string()))?;
    if positive && amount == Amount::ZERO {
        return Err(bad("must be greater than zero".into()));
    }
    Ok(amount)
}

/// How long before the server-wide request time limit (`request_timeout_secs`, an empty 408 from the outer
/// layer) the REST API gives up on blocking work itself, so that its 408 carries a JSON error.
pub const TIMEOUT_MARGIN: Duration = Duration::from_millis(100);

/// The time limit of blocking work in a request: the configured limit less [`TIMEOUT_MARGIN`].
pub fn time_limit(node: &Node) -> Duration {
    Duration::from_secs(node.config().request_timeout_secs.max(1)).saturating_sub(TIMEOUT_MARGIN)
}

/// Runs `f` off the async workers within the request time limit: `408 timeout` when it takes longer (the
/// answer does not wait for it; work that must stop, like mining, watches a flag the handler drops). A failed
/// task is a 500 (never caused by a client).
pub async fn blocking<T: Send + 'static>(
    node: &Node,
    f: impl FnOnce(Node) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let limit = time_limit(node);
    match tokio::time::timeout(limit, node.blocking(f)).await {
        Ok(done) => done.map_err(ApiError::from)?,
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            ErrorCode::Timeout,
            format!(
                "the request took longer than the node's limit of {} s (request_timeout_secs); \
                 ask for less (fewer blocks, a smaller page)",
                node.config().request_timeout_secs.max(1)
            ),
        )),
    }
}

/// Decodes hex text: `400 invalid_hex`.
pub fn decode_hex(text: &str, what: &str) -> Result<Vec<u8>, ApiError> {
    hex::decode(text.trim())
        .map_err(|e| ApiError::bad_request(ErrorCode::InvalidHex, format!("{what}: not hex: {e}")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn amounts_are_whole_units_as_text_or_integers() {
        let d = 8;
        let p = |v: serde_json::Value| parse_amount(&v, d, "amount", true);
        assert_eq!(p("1.5".into()).unwrap().to_units(), 150_000_000);
        assert_eq!(p(5.into()).unwrap().to_units(), 500_000_000);
        for bad in [
            serde_json::json!(0),
            serde_json::json!("0"),
            serde_json::json!(-1),
            serde_json::json!("-1"),
            serde_json::json!(1.5),
            serde_json::json!("0.000000001"),
            serde_json::json!("99999999999"),
            serde_json::json!(true),
            serde_json::json!("abc"),
            serde_json::json!(u64::MAX),
        ] {
            let e = p(bad.clone()).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidAmount, "{bad}");
        }
        assert_eq!(
            parse_amount(&serde_json::json!(0), d, "fee", false)
                .unwrap()
                .to_units(),
            0
        );
    }
}
