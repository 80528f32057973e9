//! Proof of work (placeholder, being written).
