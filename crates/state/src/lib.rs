//! # ferrochain-state
//!
//! The chain as a node holds it (DESIGN §4): block index with cumulative work, fork choice and reorgs with undo
//! data, the UTXO set, transaction and address indexes, and the mempool — persisted behind a narrow store API
//! with an embedded SQLite backend (default) and PostgreSQL.
//!
//! # Layout
//! - [`store`]: the [`store::Store`] trait and the [`store::ChangeSet`] each atomic write applies.
//! - [`schema`]: the relational schema both backends share, its versioned migrations (`migrations/`) and the
//!   `u64` → `i64` column mapping.
//! - [`sqlite`]: [`sqlite::SqliteStore`], the embedded default (WAL, `synchronous=FULL`).
//! - [`postgres`]: [`postgres::PostgresStore`], the same schema on a PostgreSQL server.

pub mod postgres;
pub mod schema;
pub mod sqlite;
pub mod store;
