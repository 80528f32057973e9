//! Tests of the build module.

#![allow(clippy::unwrap_used)]
