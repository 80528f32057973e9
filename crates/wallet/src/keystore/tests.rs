//! Tests of the keystore module.

#![allow(clippy::unwrap_used)]
