//! # ferrochain-state
//!
//! The chain as a node holds it (DESIGN §4): block index with cumulative work, fork choice and reorgs with undo
//! data, the UTXO set, transaction and address indexes, and the mempool — persisted behind a narrow store API
//! with an embedded SQLite backend (default) and PostgreSQL.
//!
//! Not written yet: this crate marks the boundary. It depends on `ferrochain-core` only; the node depends on it.
