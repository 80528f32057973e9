//! The seed-compatible routes (`SEED-ROUTES.md`, DESIGN §7.3): the paths, methods, field names and answer
//! shapes of the four Python/Flask systems ferrochain replaces — (A) the tutorial node, (B) the node with a
//! client wallet, (C) the multi-node records app and (D) the UTXO system with PostgreSQL tables — answered by a
//! real node, so that their curl commands, Postman collections and front ends keep working. Where a seed
//! accepted something unsafe (an unsigned transfer from any name, a trusted chain length), the route does the
//! safe thing and otherwise answers 4xx with a message that says what to do instead.
//!
//! # Routes
//!
//! "Owner" routes are allowed from loopback or with `Authorization: Bearer <--api-token>` (DESIGN §7);
//! "owner off dev" routes are open to anyone on `dev` chains (the seeds let anyone mine) and owner-only on
//! every other chain. Bodies are JSON or, everywhere, `application/x-www-form-urlencoded`. "CORS" routes answer
//! browsers on any other origin (no credentials), for B's wallet pages served on another port; no other route
//! sends CORS headers.
//!
//! | path | method | request | answer | who |
//! |---|---|---|---|---|
//! | **A** `/mine` | GET | `?format=text` or `Accept: text/plain` selects C's text answer | 200 `{"message":"New Block Forged", <block>}`; text mode: 200 `Block #N is mined.` / `No transactions to mine` | owner off dev |
//! | **A** `/transactions/new` | POST | `{sender, recipient, amount[, fee]}` with `sender` a node-held address; or `{transaction}` (signed) | 201 `{"message":"Transaction will be added to Block N","txid"}`; 400 text `Missing values: …`; 400 `{"message"}` (a `sender` that is no address, e.g. `alice`: transfers must be signed, and how) | owner (held key) / anyone (signed) |
//! | **A/C** `/chain` | GET | `?from=<index>&limit=<n>` (optional) | 200 `{"chain":[<block>…],"length","peers"}` | anyone, CORS |
//! | **A** `/nodes/register` | POST | `{"nodes":[url…]}` or `nodes=url,url` | 201 `{"message":"New nodes have been added","total_nodes","results"}`; 400 text `Error: Please supply a valid list of nodes`; 400 `{"message":"No nodes were added",…}` | owner |
//! | **A** `/nodes/resolve` | GET | — | 200 `{"message":"Our chain was replaced","new_chain"}` or `{"message":"Our chain is authoritative","chain"}`, plus `peers` (each peer's result) | owner off dev |
//! | **B** `/blockchain/chain` | GET | as `/chain` | as `/chain` | anyone, CORS |
//! | **B** `/blockchain/mine` | GET | — | as `/mine` (JSON) | owner off dev |
//! | **B** `/blockchain/transactions/new` | POST | `{"transaction":{…}}`, the transaction itself, or B's confirmation form `sender_address, recipient_address, amount, signature` (addresses or public keys) of a transaction made by `/client/generate/transaction` | 201 `{"message":"Transaction will be added to Block N","txid"}`; 406 `{"message":"Invalid Transaction!","reason"}`; 409 `{"message"}` (already submitted / conflicting); 400 `{"message"}` naming the form field that disagrees with the generated transaction, or saying to generate it first (unknown signature); 400 text `Missing values: …` | anyone, CORS |
//! | **B** `/blockchain/transactions/get` | GET | — | 200 `{"transactions":[<tx>…]}` (pending; each with B's `sender_address`, `recipient_address`, `value`) | anyone, CORS |
//! | **B** `/blockchain/nodes/register` | POST | as `/nodes/register` | as `/nodes/register` | owner |
//! | **B** `/blockchain/nodes/resolve` | GET | — | as `/nodes/resolve` | owner off dev |
//! | **B** `/blockchain/nodes/get` | GET | — | 200 `{"nodes":[url…]}` | anyone, CORS |
//! | **B** `/client/wallet/new` | GET | — | 200 `{"private_key","public_key","address"}` (hex, hex, address); not stored | anyone, CORS |
//! | **B** `/client/generate/transaction` | POST | `sender_address, sender_private_key, recipient_address, amount[, fee]`; addresses or public keys (64 hex digits) | 200 `{"transaction":<signed tx + sender_address, recipient_address, value>,"signature","txid","summary":<tx>}`; 400 `{"message"}` (also: a private key where an address goes) | anyone, CORS |
//! | **C** `/new_transaction` | POST | `{author, content}` (author = a node-held address, or a plain name the node signs as a claim — ADR 0017) or `{senderPK, signature, data[, timestamp_ms]}` | 201 `Success`; 400 text `Invalid transaction data: …`; 409 text (duplicate) | owner (author form) / anyone (signed) |
//! | **C fork** `/supply-chain/chain`, `/supply-chain/new_transaction`, `/supply-chain/mine`, `/supply-chain/pending_tx` | as C's | as C's; the chain keeps only the fork's RSA records (its page can read nothing else) | as C's | as C's |
//! | **C** `/pending_tx` | GET | — | 200 `[<tx>…]` | anyone |
//! | **C** `/register_node` | POST | `{node_address}` | 200 the chain as `/chain`; 400 text | anyone (it is how nodes introduce themselves) |
//! | **C** `/register_with` | POST | `{node_address}` | 200 `Registration successful` (this node registers with the remote one and syncs from it); 400 text | owner |
//! | **C** `/add_block` | POST | `{"hex": <canonical block encoding>}` (every block view carries `hex`; view fields sent beside it must match it, else 400 naming the field) or ferrochain's block JSON `{header, transactions}` | 201 `Block added to the chain`; 200 `Block already known`; 202 side chain / parent unknown; 400 `The block was discarded by the node: …` | anyone (validated in full) |
//! | **C** `/save` | GET | — | 201 `Success: saved N blocks to <path>` (a `chain export` file in the data dir) | owner |
//! | **D** `/api/get_wallets` | GET | — | `{"data":[{address, balance, pending, wallet:{publicKey, privateKey}}],"error":null}` (node-held addresses, confirmed balance, public key in hex; `privateKey` is a text saying the node keeps it — never key material) | anyone |
//! | **D** `/api/get_blocks` | GET | — | bare `[{hash, serializedBlock, txsRootNode, height, bits, hex}…]`, `serializedBlock` a JSON string (see "Views") | anyone |
//! | **D** `/api/get_chainstate` | GET | — | bare `{"<txid>":{"serializedUnspentOutputs":"<JSON string of [{outputID, val, publicKeyHash, amount_units, height, coinbase}…]>"}}` | anyone |
//! | **D** `/api/get_pool` | GET | — | bare `[{txID, fromAddr, toAddr, amount, fee, serializedTransaction, error, errorText}…]` in mempool order | anyone |
//! | **D** `/api/new_wallet` | POST | — | `{"data":"<address>"}` (a new node-held key) | owner |
//! | **D** `/api/send` | POST | `{from, to, amount[, fee]}` | `{"data":"Transaction is added to pool"}`; 4xx `{"data":null,"error":"Units: Not enough units: …"}`; 400 `Request: invalid request parameters: …` when `from == to` | owner |
//! | **D** `/api/mine_block` | POST | `{address[, txAmount = 5]}` | `{"data":<block>}`: reward to `address`, at most `txAmount` pending transactions in mempool order | owner off dev |
//! | **D** `/api/reset_system` | POST | — | `{"data":{"wiped":true,"height","wallets":[…],"message"}}`: the chain back to genesis, then three new funded sample wallets (see below) | owner, dev only |
//!
//! # Views
//! **Block** (`/chain`, `/mine`, `/api/get_blocks`): `index` and `block_number` (position counting genesis as
//! 1, as A and B did), `height` (genesis 0), `timestamp` (seconds since the Unix epoch as a float, like Python's
//! `time.time()`), `timestamp_ms` (the exact header time), `transactions`, `proof` and `nonce` (the nonce),
//! `previous_hash`, `hash`, `merkle_root` (hex), `bits` (compact target, 8 hex digits), `difficulty` (leading
//! zero bits) and `hex` (the canonical encoding: what `/add_block` takes back, and what the hash is over).
//!
//! **Transaction**: `txid`, `type` (`coinbase`, `transfer`, `record`), `sender` (`"0"` for a coinbase, like the
//! tutorial's mint; the address of the first input's key for a transfer; the author's address for a record),
//! `recipient` (the first output not paying back to an input's owner, else the first output; `null` for a
//! record), `amount` (what goes to others — outputs not paying back to an input's owner, or all outputs of a
//! payment to oneself or a coinbase — in whole units as a JSON number) with `amount_units` (smallest units,
//! exact), `inputs`, `outputs`, `payload` (hex). Every transaction — coinbases and genesis included — also
//! carries the keys the seed clients read (ADR 0017): `timestamp` (seconds; the block's time, a record's own
//! time, or now for a pending transaction) with `timestamp_ms`, `author` (a record's author or claimed name, a
//! transfer's sender, `coinbase`), `content` (the payload as text, or a short description), `senderPK` (the
//! signing public key, hex; empty for a coinbase) and `data` (`content|receiver`, as the supply-chain fork
//! splits it). Records also carry `public_key` and `signature`, and `author_claimed`/`signed_by` when the
//! author is a claimed name. Pending transactions carry `fee`.
//! Every transaction also carries B's `sender_address` (as `sender`), `recipient_address` (the first output
//! paying someone other than the sender, else the first output; `null` for a record or an output-less
//! coinbase) and `value` (what those outputs carry, whole units; 0 for a record), which B's pages show.
//!
//! **D's pocket views** (`/api/get_blocks`, `/api/get_pool`, `/api/get_chainstate`; the `pocket_*` functions
//! of `view`, `docs/adr/0015-seed-compat-views-pocket.md`): the shapes D's Vue test stand
//! parses. `serializedBlock` is the JSON string of `{timeStamp, transactions, txsRootNode, prevHash ("" for
//! genesis), hash, nonce, height, timestamp_ms}`; each transaction is a JSON string of `{id, txid, type,
//! inputs, outputs, created, created_ms, included_in_block, payload}`, each input a JSON string of `{id (spent
//! txid), output (its index), sig, publicKey, address}` and each output of `{val (whole units), publicKeyHash
//! (the address), amount_units}`. `created` is ISO 8601 UTC: a record's own time, else its block's time,
//! `null` for a pending transfer.
//!
//! **Amounts** in requests are whole units as the seeds used them: `5`, `"5"`, `0.5` or `"0.5"`; negative,
//! zero, non-numeric (`"-7abc"`), too precise or too large amounts are refused with a 400 saying which.
//!
//! # Decisions
//! - **`GET /mine` clash** — A answered JSON and C answered text on the same path. It answers A's JSON (with
//!   B's `block_number`/`nonce` too) by default, and C's text when the request says `Accept: text/plain`
//!   (without `application/json`) or `?format=text`. In text mode an empty mempool answers `No transactions
//!   to mine` without mining, as C did; in JSON mode a block is mined even with no transactions, as A did.
//!   C's `Block #N` counts genesis as 0 (N = height), as C did.
//! - **Reset** — on a `dev` chain, for the owner, `/api/reset_system` throws the chain away as D's did: back to
//!   the genesis block, every other block, unspent output, index row and pending transaction removed in one
//!   store transaction (`State::reset_to_genesis`; nothing changes if it fails), then three new node-held
//!   wallets with one block mined to each (one block subsidy each). Node-held keys and peers are kept. It
//!   answers `"wiped": true`.
//! - **Signed records** (`{senderPK, signature, data, timestamp_ms}`): the signature must be over
//!   `Transaction::sighash(genesis)` of the record transaction `{version: 1, kind: Record{author: senderPK,
//!   timestamp_ms, signature}, outputs: [], payload: data as UTF-8}` (`timestamp_ms` defaults to 0), i.e. what
//!   `Transaction::signed_record` / `ferrochain_wallet::build::build_record` produce.
//! - **Private keys over HTTP** — `/client/generate/transaction` receives the sender's private key, as B's did;
//!   the key is used for that one signature and stored nowhere. Use it only with a node you trust (your own);
//!   the CLI wallet signs without sending keys anywhere.
//! - **Peer failures** — a peer that is not a URL, is this node, is on another network, is down or answers
//!   nonsense makes these routes answer 400 (the request named a peer that cannot be used; `/nodes/resolve`
//!   reports each peer's failure and still answers 200); only this node failing to store what a peer sent is a
//!   500.
//! - **Fees** — transfers the node builds here (`/transactions/new`, `/api/send`,
//!   `/client/generate/transaction`) pay no fee unless the request has a `fee` field (whole units), so the
//!   seeds' arithmetic carries over on the `dev` chain.
//! - **B's original front end** posted the form fields of a generated transaction plus its signature, not the
//!   transaction. The node keeps the last [`GENERATED_KEPT`] transactions `/client/generate/transaction` made
//!   (in the memory of this application, lost on restart) and accepts such a form when its signature names one
//!   of them and its `sender_address`, `recipient_address` and `amount` are that transaction's
//!   `sender_address`, `recipient_address` and `value`; otherwise it names the field that disagrees.
//! - **Public keys as addresses** — B's page labels the sender "Your Public Key", so B's routes take a public
//!   key (64 hex digits) wherever they take an address, and stand it for the address it hashes to. A private
//!   key is also 64 hex digits: one pasted as the sender or recipient of its own transaction is recognised and
//!   refused, and hex that is no Ed25519 point is refused. Answers show addresses.
//! - **CORS** — only on public reads and the routes of signed transactions (see the table; ADR 0016), so the
//!   original two-port layout works and no other site can drive the owner's routes from a browser.

mod peering;
mod records;
pub use records::SAVE_FILE;
mod request;
mod tutorial;
mod utxo;
mod view;

use std::time::Duration;

use axum::Router;
use axum::http::Method;
use axum::routing::{MethodRouter, get, post};
use tower_http::cors::{Any, CorsLayer};

use ferrochain_node::Node;

/// Cross-origin access for B's wallet pages served on another port (as the original ran them): any origin,
/// no credentials, GET and POST with any request header (the original page sends a stray
/// `Access-Control-Allow-Origin` request header, which makes browsers ask first). Only on the [`cross_origin`]
/// routes: public reads and the submission of signed transactions — never an owner route.
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers(Any)
        .max_age(Duration::from_secs(600))
}

/// The routes that answer other origins ([`cors`]): the public reads B's pages (and A's `/chain`) make and
/// the routes of signed transactions, none of which acts with the node's keys or changes the node beyond
/// accepting a transaction its sender signed.
fn cross_origin() -> Router<Node> {
    CROSS_ORIGIN
        .iter()
        .fold(Router::new(), |router, (path, route)| {
            router.route(path, route())
        })
        .layer(cors())
}

/// Makes one route's method router.
type MakeRoute = fn() -> MethodRouter<Node>;

/// The routes other sites may call, with their handlers. The authorization layer exempts the same paths
/// ([`crate::auth::CROSS_ORIGIN_ROUTES`]) from its cross-site refusal; a test keeps the two lists equal.
const CROSS_ORIGIN: &[(&str, MakeRoute)] = &[
    ("/chain", || get(tutorial::chain)),
    ("/blockchain/chain", || get(tutorial::chain)),
    ("/blockchain/transactions/new", || {
        post(tutorial::submit_signed)
    }),
    ("/blockchain/transactions/get", || get(tutorial::pending)),
    ("/blockchain/nodes/get", || get(peering::list_nodes)),
    ("/client/wallet/new", || get(tutorial::client_wallet)),
    ("/client/generate/transaction", || {
        post(tutorial::generate_transaction)
    }),
];

/// The seed-compatible routes of the module table.
pub fn router() -> Router<Node> {
    Router::new()
        .merge(cross_origin())
        // A (its /chain, shared with C, is a cross-origin route)
        .route("/mine", get(tutorial::mine))
        .route("/transactions/new", post(tutorial::new_transaction))
        .route("/nodes/register", post(peering::register_nodes))
        .route("/nodes/resolve", get(peering::resolve))
        // B (its public reads and signed submissions are cross-origin routes)
        .route("/blockchain/mine", get(tutorial::mine_json))
        .route("/blockchain/nodes/register", post(peering::register_nodes))
        .route("/blockchain/nodes/resolve", get(peering::resolve))
        // C
        .route("/new_transaction", post(records::new_transaction))
        .route("/pending_tx", get(records::pending))
        .route("/register_node", post(peering::register_node))
        .route("/register_with", post(peering::register_with))
        .route("/add_block", post(records::add_block))
        .route("/save", get(records::save))
        // C's supply-chain fork, pointed at `http://host:port/supply-chain` (ADR 0018)
        .route("/supply-chain/chain", get(records::supply_chain))
        .route(
            "/supply-chain/new_transaction",
            post(records::new_transaction),
        )
        .route("/supply-chain/pending_tx", get(records::pending))
        .route("/supply-chain/mine", get(tutorial::mine))
        // D
        .route("/api/get_wallets", get(utxo::get_wallets))
        .route("/api/get_blocks", get(utxo::get_blocks))
        .route("/api/get_chainstate", get(utxo::get_chainstate))
        .route("/api/get_pool", get(utxo::get_pool))
        .route("/api/new_wallet", post(utxo::new_wallet))
        .route("/api/send", post(utxo::send))
        .route("/api/mine_block", post(utxo::mine_block))
        .route("/api/reset_system", post(utxo::reset_system))
        .layer(axum::Extension(tutorial::Generated::shared()))
}

#[cfg(test)]
mod cross_origin_tests {
    #[test]
    fn the_routes_with_cors_are_the_ones_the_authorization_layer_lets_other_sites_call() {
        let ours: Vec<&str> = super::CROSS_ORIGIN.iter().map(|(p, _)| *p).collect();
        assert_eq!(ours, crate::auth::CROSS_ORIGIN_ROUTES);
    }
}
