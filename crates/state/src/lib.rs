//! # ferrochain-state
//!
//! The chain as a node holds it (DESIGN §4): block index with cumulative work, fork choice and reorgs with undo
//! data, the UTXO set, transaction and address indexes, and the mempool — persisted behind a narrow store API
//! with an embedded SQLite backend (default) and PostgreSQL.
//!
//! # Layout
//! - [`store`]: the [`store::Store`] trait and the [`store::ChangeSet`] each atomic write applies.

pub mod store;
