//! Tests of the proof module.

#![allow(clippy::unwrap_used)]
