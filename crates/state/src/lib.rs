//! # ferrochain-state
//!
//! The chain as a node holds it (DESIGN §4): block index with cumulative work, fork choice and reorgs with undo
//! data, the UTXO set, transaction and address indexes, and the mempool — persisted behind a narrow store API
//! with an embedded SQLite backend (default) and PostgreSQL.
//!
//! # Layout
//! - [`chain`]: [`State`], the cheap-to-clone handle: submit blocks and transactions, fork choice and reorgs,
//!   queries (tip, blocks, transactions with confirmations, balances, UTXOs, history, mempool).
//! - [`mempool`]: the pool of unconfirmed transactions (unconfirmed parents allowed, fee-rate order, bounded).
//! - [`orphans`]: blocks waiting for their parent, bounded by count and bytes, and the bad-data count of each
//!   sender ([`orphans::Source`]) that decides whose go first.
//! - [`ops`]: whole-chain operations: `verify` from genesis, `export` and `import` of a portable block file.
//! - [`store`]: the [`store::Store`] trait and the [`store::ChangeSet`] each atomic write applies.
//! - [`schema`]: the relational schema both backends share, its versioned migrations (`migrations/`) and the
//!   `u64` → `i64` column mapping.
//! - [`sqlite`]: [`sqlite::SqliteStore`], the embedded default (WAL, `synchronous=FULL`).
//! - [`postgres`]: [`postgres::PostgresStore`], the same schema on a PostgreSQL server.
//! - `verified`: the signature cache, a bounded set of txids whose signatures were verified here, so a
//!   block's transactions the mempool already took (or a relayed transaction seen again) are not verified
//!   twice.

pub mod chain;
pub mod mempool;
pub mod ops;
pub mod orphans;
pub mod postgres;
pub mod schema;
pub mod sqlite;
pub mod store;
mod verified;

pub use chain::{
    Admission, Balance, BatchOutcome, BlockOutcome, Reorged, State, StateConfig, StateError, Tip,
    TxInfo, TxStatus,
};
pub use mempool::{ChainLimits, Mempool, MempoolEntry, MempoolError};
pub use orphans::Source;
pub use store::{ChangeSet, Store, StoreError};
