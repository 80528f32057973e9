//! Owner operations of the REST API — mining now, continuous mining, adding peers, node-held wallets — and
//! the read-only views that go with them (miner, peers). Owner routes take the
//! [`Owner`] extractor: loopback, or the `--api-token` bearer token.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ferrochain_core::Amount;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use ferrochain_node::{ErrorCode, MAX_INTERVAL_SECS};

use crate::error::ApiError;
use crate::extract::{Body, Owner};
use crate::extract::{OptionalBody, PathParam};
use crate::parse::{parse_address, parse_amount};
use crate::views::{AmountView, BlockSummary, ErrorBody, MinerView, WalletView};
use ferrochain_node::Node;

/// What to mine.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MineRequest {
    /// How many blocks, 1 to 100 (default 1).
    pub blocks: Option<u32>,
    /// Where the rewards go (default: the node's miner address).
    pub address: Option<String>,
    /// Most mempool transactions per block (default: as many as fit).
    pub max_txs: Option<usize>,
}

/// Blocks just mined.
#[derive(Debug, Serialize, ToSchema)]
pub struct Mined {
    /// The blocks, lowest first.
    pub blocks: Vec<BlockSummary>,
}

/// Mines blocks now on the tip, with the mempool's transactions (owner).
#[utoipa::path(
    post,
    path = "/mine",
    tag = "mining",
    request_body(content = Option<MineRequest>, description = "Optional; an empty body mines one block to the node's address"),
    security(("api_token" = []), ()),
    responses(
        (status = 200, description = "The mined blocks", body = Mined),
        (status = 400, description = "Bad count or address", body = ErrorBody),
        (status = 403, description = "Not the owner", body = ErrorBody),
    )
)]
pub async fn mine(
    State(node): State<Node>,
    _owner: Owner,
    OptionalBody(req): OptionalBody<MineRequest>,
) -> Result<Json<Mined>, ApiError> {
    let reward_to = match &req.address {
        Some(a) => Some(parse_address(node.network(), a)?),
        None => None,
    };
    let blocks = node
        .mine_blocks(req.blocks.unwrap_or(1), reward_to, req.max_txs)
        .await?;
    Ok(Json(Mined {
        blocks: blocks.iter().map(BlockSummary::new).collect(),
    }))
}

/// The miner: threads, hash rate, whether continuous mining runs.
#[utoipa::path(
    get,
    path = "/miner",
    tag = "mining",
    responses((status = 200, description = "The miner", body = MinerView))
)]
pub async fn miner(State(node): State<Node>) -> Json<MinerView> {
    Json(MinerView::of(&node))
}

/// How to mine continuously.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MinerStart {
    /// Where the rewards go (default: the node's miner address).
    pub address: Option<String>,
    /// Seconds between blocks, 0 to 86400 (default 0: as fast as the difficulty allows).
    #[schema(minimum = 0, maximum = 86_400)]
    pub interval_secs: Option<u64>,
}

/// Starts (or restarts) continuous mining (owner).
#[utoipa::path(
    post,
    path = "/miner/start",
    tag = "mining",
    request_body(content = Option<MinerStart>, description = "Optional"),
    security(("api_token" = []), ()),
    responses(
        (status = 200, description = "The miner, running", body = MinerView),
        (status = 400, description = "Bad address, or interval_secs out of range", body = ErrorBody),
        (status = 403, description = "Not the owner", body = ErrorBody),
    )
)]
pub async fn miner_start(
    State(node): State<Node>,
    _owner: Owner,
    OptionalBody(req): OptionalBody<MinerStart>,
) -> Result<Json<MinerView>, ApiError> {
    let reward_to = match &req.address {
        Some(a) => parse_address(node.network(), a)?,
        None => node.miner_address(),
    };
    let interval = req.interval_secs.unwrap_or(0);
    if interval > MAX_INTERVAL_SECS {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidRequest,
            format!("interval_secs {interval} is out of range: give 0 to {MAX_INTERVAL_SECS}"),
        )
        .on_field("interval_secs"));
    }
    node.start_mining(reward_to, interval).await?;
    Ok(Json(MinerView::of(&node)))
}

/// Stops continuous mining (owner).
#[utoipa::path(
    post,
    path = "/miner/stop",
    tag = "mining",
    security(("api_token" = []), ()),
    responses(
        (status = 200, description = "The miner, stopped", body = MinerView),
        (status = 403, description = "Not the owner", body = ErrorBody),
    )
)]
pub async fn miner_stop(
    State(node): State<Node>,
    _owner: Owner,
) -> Result<Json<MinerView>, ApiError> {
    node.stop_mining().await?;
    Ok(Json(MinerView::of(&node)))
}

/// Known peers.
#[derive(Debug, Serialize, ToSchema)]
pub struct PeerList {
    /// Their URLs, sorted.
    pub peers: Vec<String>,
}

/// The known peers.
#[utoipa::path(
    get,
    path = "/peers",
    tag = "peers",
    responses((status = 200, description = "Known peers", body = PeerList))
)]
pub async fn peers(State(node): State<Node>) -> Json<PeerList> {
    Json(PeerList {
        peers: node.peers().list(),
    })
}

/// A peer to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddPeer {
    /// Its URL (`http://host:port`; `host:port` is read as http).
    #[schema(example = "http://127.0.0.1:5001")]
    pub url: String,
}

/// A peer added.
#[derive(Debug, Serialize, ToSchema)]
pub struct PeerAdded {
    /// Its normalised URL.
    pub url: String,
    /// Whether it was new.
    pub added: bool,
}

/// Adds a peer (owner).
#[utoipa::path(
    post,
    path = "/peers",
    tag = "peers",
    request_body = AddPeer,
    security(("api_token" = []), ()),
    responses(
        (status = 201, description = "Added", body = PeerAdded),
        (status = 200, description = "Already known", body = PeerAdded),
        (status = 400, description = "Not a URL (`invalid_url`)", body = ErrorBody),
        (status = 403, description = "Not the owner", body = ErrorBody),
    )
)]
pub async fn add_peer(
    State(node): State<Node>,
    _owner: Owner,
    Body(req): Body<AddPeer>,
) -> Result<(StatusCode, Json<PeerAdded>), ApiError> {
    let (url, added) = node.add_peer(&req.url).map_err(ApiError::from)?;
    let status = if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(PeerAdded { url, added })))
}

/// The node-held wallet addresses with their balances (owner). Keys are never shown.
#[utoipa::path(
    get,
    path = "/wallets",
    tag = "wallets",
    security(("api_token" = []), ()),
    responses(
        (status = 200, description = "Node-held addresses", body = Vec<WalletView>),
        (status = 403, description = "Not the owner", body = ErrorBody),
    )
)]
pub async fn wallets(
    State(node): State<Node>,
    _owner: Owner,
) -> Result<Json<Vec<WalletView>>, ApiError> {
    Ok(Json(crate::read::held_wallets(node).await?))
}

/// A new node-held address.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewWallet {
    /// The address.
    pub address: String,
}

/// Creates a node-held key (owner) and answers its address.
#[utoipa::path(
    post,
    path = "/wallets",
    tag = "wallets",
    security(("api_token" = []), ()),
    responses(
        (status = 201, description = "Created", body = NewWallet),
        (status = 403, description = "Not the owner, or node-held keys are disabled (`keys_disabled`)", body = ErrorBody),
    )
)]
pub async fn new_wallet(
    State(node): State<Node>,
    _owner: Owner,
) -> Result<(StatusCode, Json<NewWallet>), ApiError> {
    let address = node.new_address().await?;
    Ok((StatusCode::CREATED, Json(NewWallet { address })))
}

/// A payment from a node-held key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    /// The recipient's address.
    pub to: String,
    /// Whole units: a string with up to the network's decimals (`"1.5"`) or an integer (`5` = 5 coins).
    #[schema(value_type = String, example = "1.5")]
    pub amount: serde_json::Value,
    /// The fee in whole units, as `amount` (default 0).
    #[schema(value_type = Option<String>, example = "0.0001")]
    pub fee: Option<serde_json::Value>,
    /// A text payload (a memo) carried by the transaction.
    pub payload: Option<String>,
}

/// A payment submitted.
#[derive(Debug, Serialize, ToSchema)]
pub struct Sent {
    /// The transaction id.
    pub txid: String,
    /// The payer.
    pub from: String,
    /// The recipient.
    pub to: String,
    /// The amount paid.
    pub amount: AmountView,
    /// The fee.
    pub fee: AmountView,
}

/// Pays from a node-held key: builds, signs and submits a transfer (owner).
#[utoipa::path(
    post,
    path = "/wallets/{address}/send",
    tag = "wallets",
    params(("address" = String, Path, description = "A node-held address", pattern = r"^[0-9A-Za-z]{1,83}1[02-9ac-hj-np-zAC-HJ-NP-Z]{6,}$")),
    request_body = SendRequest,
    security(("api_token" = []), ()),
    responses(
        (status = 201, description = "Signed and accepted into the mempool", body = Sent),
        (status = 400, description = "Bad address or amount, insufficient funds (`insufficient_funds`), refused", body = ErrorBody),
        (status = 403, description = "Not the owner", body = ErrorBody),
        (status = 404, description = "The node holds no key for the address (`key_not_held`)", body = ErrorBody),
    )
)]
pub async fn send(
    State(node): State<Node>,
    _owner: Owner,
    PathParam(from): PathParam,
    Body(req): Body<SendRequest>,
) -> Result<(StatusCode, Json<Sent>), ApiError> {
    let network = node.network();
    let d = network.spec().decimals;
    let from_hash = crate::read::path_address(network, &from)?;
    let to = parse_address(network, &req.to)?;
    let amount = parse_amount(&req.amount, d, "amount", true)?;
    let fee = match &req.fee {
        Some(v) => parse_amount(v, d, "fee", false)?,
        None => Amount::ZERO,
    };
    let payload = req.payload.unwrap_or_default().into_bytes();
    let from = network.address(&from_hash);
    let txid = node
        .pay(from.clone(), to, amount, fee, payload)
        .await?
        .txid();
    Ok((
        StatusCode::CREATED,
        Json(Sent {
            txid: txid.to_string(),
            from,
            to: network.address(&to),
            amount: AmountView::new(amount, d),
            fee: AmountView::new(fee, d),
        }),
    ))
}

/// A record to sign.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordRequest {
    /// The record's content (text, at most the network's payload limit).
    pub content: String,
}

/// A record submitted.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordSubmitted {
    /// The record's transaction id (its proof is at `/txs/{txid}/proof` once mined).
    pub txid: String,
    /// The author.
    pub author: String,
}

/// Signs a record with a node-held key and submits it (owner).
#[utoipa::path(
    post,
    path = "/wallets/{address}/records",
    tag = "wallets",
    params(("address" = String, Path, description = "A node-held address, the record's author", pattern = r"^[0-9A-Za-z]{1,83}1[02-9ac-hj-np-zAC-HJ-NP-Z]{6,}$")),
    request_body = RecordRequest,
    security(("api_token" = []), ()),
    responses(
        (status = 201, description = "Signed and accepted into the mempool", body = RecordSubmitted),
        (status = 400, description = "Bad address, empty or too large content", body = ErrorBody),
        (status = 403, description = "Not the owner", body = ErrorBody),
        (status = 404, description = "The node holds no key for the address (`key_not_held`)", body = ErrorBody),
    )
)]
pub async fn record(
    State(node): State<Node>,
    _owner: Owner,
    PathParam(author): PathParam,
    Body(req): Body<RecordRequest>,
) -> Result<(StatusCode, Json<RecordSubmitted>), ApiError> {
    let hash = crate::read::path_address(node.network(), &author)?;
    let author = node.network().address(&hash);
    let txid = node
        .sign_record(author.clone(), req.content.into_bytes())
        .await?
        .txid();
    Ok((
        StatusCode::CREATED,
        Json(RecordSubmitted {
            txid: txid.to_string(),
            author,
        }),
    ))
}
