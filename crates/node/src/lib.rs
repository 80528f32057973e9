//! # ferrochain-node
//!
//! The running node (DESIGN §5, §7, §8): miner threads, peer-to-peer sync over HTTP, the JSON API, the
//! seed-compatible routes, the web UI, events, metrics, configuration and graceful shutdown.
//!
//! Not written yet: this crate marks the boundary. It will depend on `ferrochain-state`,
//! `ferrochain-wallet` and `ferrochain-core`.
