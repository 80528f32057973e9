//! Merkle trees (placeholder, being written).
