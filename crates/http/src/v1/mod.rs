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

use axum::handler::Handler;
use axum::http::{Method, StatusCode};
use axum::routing::{MethodRouter, get, post};
use axum::{Json, Router};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::error::ApiError;
use crate::views;
use ferrochain_node::Node;

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
    components(schemas(views::ErrorBody, ferrochain_node::Event)),
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

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

    /// Every parameter of `doc` named `name` (path and query), as (path, method, parameter).
    fn parameters<'a>(
        doc: &'a serde_json::Value,
        name: &str,
    ) -> Vec<(String, String, &'a serde_json::Value)> {
        let mut out = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                for p in op["parameters"].as_array().into_iter().flatten() {
                    if p["name"] == name {
                        out.push((path.clone(), method.clone(), p));
                    }
                }
            }
        }
        out
    }

    #[test]
    fn optional_bodies_are_documented_optional() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        for path in ["/mine", "/miner/start"] {
            let body = &doc["paths"][path]["post"]["requestBody"];
            assert_ne!(body["required"], true, "{path}: {body}");
        }
        for path in ["/txs", "/blocks", "/peers"] {
            let body = &doc["paths"][path]["post"]["requestBody"];
            assert_eq!(body["required"], true, "{path}: {body}");
        }
    }

    #[test]
    fn documented_patterns_and_ranges_are_the_ones_the_code_checks() {
        use crate::read::{ADDRESS_PATTERN, BLOCK_ID_PATTERN, MAX_OFFSET, MAX_PAGE, TXID_PATTERN};
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        for (name, pattern, uses) in [
            ("txid", TXID_PATTERN, 3),
            ("id", BLOCK_ID_PATTERN, 1),
            ("address", ADDRESS_PATTERN, 5),
        ] {
            let found = parameters(&doc, name);
            assert_eq!(found.len(), uses, "{name}: {found:?}");
            for (path, method, p) in found {
                assert_eq!(p["schema"]["pattern"], pattern, "{method} {path} {name}");
                assert_eq!(p["required"], true, "{method} {path} {name}");
            }
        }
        for (path, method, p) in parameters(&doc, "limit") {
            assert_eq!(p["schema"]["minimum"], 1, "{method} {path}");
            assert_eq!(p["schema"]["maximum"], MAX_PAGE, "{method} {path}");
        }
        for name in ["offset", "from"] {
            for (path, method, p) in parameters(&doc, name) {
                assert_eq!(p["schema"]["minimum"], 0, "{method} {path} {name}");
                assert_eq!(p["schema"]["maximum"], MAX_OFFSET, "{method} {path} {name}");
            }
        }
        let order = &parameters(&doc, "order")[0].2["schema"];
        assert_eq!(order["enum"], serde_json::json!(["asc", "desc"]), "{order}");
        let interval = &doc["components"]["schemas"]["MinerStart"]["properties"]["interval_secs"];
        assert_eq!(interval["minimum"], 0, "{interval}");
        assert_eq!(
            interval["maximum"],
            ferrochain_node::MAX_INTERVAL_SECS,
            "{interval}"
        );
    }

    #[test]
    fn the_path_checks_refuse_what_the_patterns_refuse() {
        let net = ferrochain_core::Network::dev();
        let address = net.address(&ferrochain_core::PubkeyHash::from_bytes([7; 20]));
        assert!(crate::read::path_address(&net, &address).is_ok());
        assert!(crate::read::path_address(&net, &address.to_uppercase()).is_ok());
        for bad in [
            format!(" {address}"),
            format!("{address}\n"),
            {
                // Mixed case: the prefix upper, the data lower.
                let (hrp, data) = address.rsplit_once('1').unwrap();
                format!("{}1{data}", hrp.to_uppercase())
            },
            String::new(),
            "1qqqqqq".to_string(),
        ] {
            assert!(crate::read::path_address(&net, &bad).is_err(), "{bad:?}");
        }
    }
}
