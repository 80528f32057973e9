//! The REST API under `/api/v1` (DESIGN §7.1): status, network, blocks, transactions with Merkle and record
//! proofs, addresses, mempool, submission of signed transactions and blocks, mining, peers, node-held
//! wallets and a server-sent-events stream — described by an OpenAPI document generated from these handlers
//! ([`ApiDoc`], served at `/api/v1/openapi.json`).
//!
//! Every failure is an [`ApiError`] (`{"error": {"code", "message"}}`), a 4xx for anything a client can send.
//! Owner operations (mining control, peers, node wallets) need the [`Owner`](crate::extract::Owner)
//! extractor: loopback, or `Authorization: Bearer <--api-token>`. Blocking work (database reads, signing,
//! mining) runs through [`Node::blocking`].
//!
//! - [`chain`]: read routes and submission of transactions and blocks.
//! - [`owner`]: mining, miner control, peers and node wallets.
//! - [`events`]: the server-sent-events stream.

pub mod chain;
pub mod events;
pub mod owner;

use ferrochain_node::ErrorCode;
use std::time::Duration;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::handler::Handler;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::routing::{MethodRouter, get, post};
use axum::{Json, Router};
use ferrochain_core::crypto::AddressError;
use ferrochain_core::{Amount, BlockHash, Network, PubkeyHash, Txid};
use serde::de::DeserializeOwned;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::error::ApiError;
use crate::extract::Body;
use crate::views;
use ferrochain_node::node::Node;

pub use views::Status;

/// Routes registered in the router, recorded as they are added, so the OpenAPI document can be checked
/// against them.
struct Routes {
    router: Router<Node>,
    list: Vec<(Method, &'static str)>,
}

impl Routes {
    fn new() -> Routes {
        Routes {
            router: Router::new(),
            list: Vec::new(),
        }
    }

    fn add(mut self, method: Method, path: &'static str, route: MethodRouter<Node>) -> Routes {
        self.router = self.router.route(path, route);
        self.list.push((method, path));
        self
    }

    fn get<H: Handler<T, Node>, T: 'static>(self, path: &'static str, handler: H) -> Routes {
        self.add(Method::GET, path, get(handler))
    }

    fn post<H: Handler<T, Node>, T: 'static>(self, path: &'static str, handler: H) -> Routes {
        self.add(Method::POST, path, post(handler))
    }
}

fn all_routes() -> Routes {
    Routes::new()
        .get("/status", chain::status)
        .get("/network", chain::network)
        .get("/blocks", chain::blocks)
        .post("/blocks", chain::submit_block)
        .get("/blocks/{id}", chain::block)
        .post("/txs", chain::submit_transaction)
        .get("/txs/{txid}", chain::transaction)
        .get("/txs/{txid}/merkle-proof", chain::merkle_proof)
        .get("/txs/{txid}/proof", chain::record_proof)
        .get("/addresses/{address}", chain::address)
        .get("/addresses/{address}/utxos", chain::address_utxos)
        .get("/addresses/{address}/history", chain::address_history)
        .get("/mempool", chain::mempool)
        .post("/mine", owner::mine)
        .get("/miner", owner::miner)
        .post("/miner/start", owner::miner_start)
        .post("/miner/stop", owner::miner_stop)
        .get("/peers", owner::peers)
        .post("/peers", owner::add_peer)
        .get("/wallets", owner::wallets)
        .post("/wallets", owner::new_wallet)
        .post("/wallets/{address}/send", owner::send)
        .post("/wallets/{address}/records", owner::record)
        .get("/events", events::events)
        .get("/openapi.json", openapi_json)
}

/// The `/api/v1` routes.
pub fn router() -> Router<Node> {
    all_routes()
        .router
        .method_not_allowed_fallback(method_not_allowed)
}

/// Every registered route as (method, path relative to `/api/v1`), in registration order.
pub fn routes() -> Vec<(String, String)> {
    all_routes()
        .list
        .into_iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect()
}

async fn method_not_allowed(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::MethodNotAllowed,
        format!(
            "{method} is not allowed on {}; see /api/v1/openapi.json",
            uri.path()
        ),
    )
}

/// Adds the bearer-token security scheme of owner operations.
struct SecurityAddon;

impl utoipa::Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The node's --api-token. Owner operations are also allowed without it from loopback.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The OpenAPI document of `/api/v1`, generated from the handlers' annotations.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "ferrochain REST API",
        description = "The node's JSON API. Paths are relative to the server URL `/api/v1`.\n\n\
            Errors: every failure answers `{\"error\": {\"code\": \"...\", \"message\": \"...\"}}` with a 4xx \
            status for anything a client can cause (400 malformed input, 403 owner_only, 404 not_found, \
            409 conflict, 413 body_too_large, 408 timeout).\n\n\
            Amounts in responses are `{\"units\": <integer smallest units>, \"display\": \"<whole units>\"}`. \
            Amounts in requests (`amount`, `fee`) are **whole units**: a JSON string with up to the network's \
            decimals (`\"1.5\"`) or a JSON integer (`5` means 5 coins, like the seed systems).\n\n\
            Owner operations (mining, miner control, adding peers, node wallets) are allowed from loopback or \
            with `Authorization: Bearer <token>` (the node's `--api-token`).",
        license(name = "MIT OR Apache-2.0")
    ),
    servers((url = "/api/v1", description = "this node")),
    paths(
        chain::status,
        chain::network,
        chain::blocks,
        chain::submit_block,
        chain::block,
        chain::submit_transaction,
        chain::transaction,
        chain::merkle_proof,
        chain::record_proof,
        chain::address,
        chain::address_utxos,
        chain::address_history,
        chain::mempool,
        owner::mine,
        owner::miner,
        owner::miner_start,
        owner::miner_stop,
        owner::peers,
        owner::add_peer,
        owner::wallets,
        owner::new_wallet,
        owner::send,
        owner::record,
        events::events,
        openapi_json,
    ),
    components(schemas(views::ErrorBody, ferrochain_node::events::Event)),
    modifiers(&SecurityAddon),
    tags(
        (name = "node", description = "status, network rules, the API document"),
        (name = "chain", description = "blocks, transactions, proofs, addresses, mempool"),
        (name = "submit", description = "signed transactions and blocks from clients"),
        (name = "mining", description = "mine blocks now, continuous mining (owner)"),
        (name = "peers", description = "known peers"),
        (name = "wallets", description = "keys held by the node (owner); keys never leave it"),
        (name = "events", description = "server-sent events"),
    )
)]
pub struct ApiDoc;

/// The OpenAPI document of this API (generated from the code).
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "node",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object))
)]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

// ---------------------------------------------------------------------------------------------------------
// Extractors and parsing shared by the handlers.

/// Query parameters read with JSON errors (`400 invalid_query`) instead of axum's plain-text rejection.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        serde_urlencoded::from_str(parts.uri.query().unwrap_or(""))
            .map(Query)
            .map_err(|e| {
                ApiError::bad_request(ErrorCode::InvalidQuery, format!("query string: {e}"))
            })
    }
}

/// A path parameter read with JSON errors (`400 invalid_path`).
#[derive(Debug)]
pub struct PathParam(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map(|p| PathParam(p.0))
            .map_err(|e| ApiError::bad_request(ErrorCode::InvalidPath, e.body_text()))
    }
}

/// A JSON body that may be left out entirely (no body, or `Content-Length: 0`): then `T::default()`.
#[derive(Debug)]
pub struct OptionalBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        use axum::body::HttpBody;
        if req.body().size_hint().exact() == Some(0) {
            return Ok(OptionalBody(T::default()));
        }
        Body::<T>::from_request(req, state)
            .await
            .map(|Body(v)| OptionalBody(v))
    }
}

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

    #[test]
    fn every_registered_route_is_in_the_document_and_back() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        let mut documented = Vec::new();
        for (path, item) in paths {
            for method in item.as_object().unwrap().keys() {
                documented.push((method.to_uppercase(), path.clone()));
            }
        }
        let mut registered = routes();
        registered.sort();
        documented.sort();
        assert_eq!(registered, documented);
    }
}
