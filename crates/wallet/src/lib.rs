//! ferrochain wallet library: recovery phrases, key derivation and the encrypted wallet file.
//!
//! Work in progress; see the module docs.

pub mod mnemonic;
pub mod slip10;
