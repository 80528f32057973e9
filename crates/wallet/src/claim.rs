//! Claimed authors: a record whose payload says who wrote it, signed by a key that vouches only that it
//! received it (ADR 0017).
//!
//! The seed records app lets anyone post as a free name (`Alice`). Such a name has no key, so the node signs
//! the record with its own key and the payload carries the name as a *claim*:
//! `{"ferrochain_claim":1,"author":"Alice","content":"…"}` (compact JSON, these three keys). Views show the
//! author as "Alice (claimed)" next to the signing key's address; a proof of such a record proves that the
//! signer published this claim at that time, nothing about Alice.

use serde::{Deserialize, Serialize};

/// Longest claimed author name, in characters.
pub const MAX_CLAIMED_AUTHOR_CHARS: usize = 64;

/// A claimed author and the content of a record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// The format version (1).
    pub ferrochain_claim: u32,
    /// The name the author gave.
    pub author: String,
    /// The record's content.
    pub content: String,
}

/// Why a name cannot be a claimed author.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    /// The name is empty or only spaces.
    #[error("the author's name is empty")]
    Empty,
    /// The name is longer than [`MAX_CLAIMED_AUTHOR_CHARS`].
    #[error("the author's name is longer than {MAX_CLAIMED_AUTHOR_CHARS} characters")]
    TooLong,
    /// The name holds control characters (new lines, tabs, ...).
    #[error("the author's name holds control characters")]
    ControlCharacters,
}

impl Claim {
    /// A claim by `author` (trimmed) of `content`.
    ///
    /// # Errors
    /// [`ClaimError`] for an empty, too long or multi-line name.
    pub fn new(author: &str, content: &str) -> Result<Claim, ClaimError> {
        let author = author.trim();
        if author.is_empty() {
            return Err(ClaimError::Empty);
        }
        if author.chars().count() > MAX_CLAIMED_AUTHOR_CHARS {
            return Err(ClaimError::TooLong);
        }
        if author.chars().any(char::is_control) {
            return Err(ClaimError::ControlCharacters);
        }
        Ok(Claim {
            ferrochain_claim: 1,
            author: author.to_string(),
            content: content.to_string(),
        })
    }

    /// The payload bytes (compact JSON).
    pub fn to_payload(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The claim a payload carries, if it is one (version 1, exactly these keys, a valid name).
    pub fn from_payload(payload: &[u8]) -> Option<Claim> {
        let claim: Claim = serde_json::from_slice(payload).ok()?;
        (claim.ferrochain_claim == 1
            && Claim::new(&claim.author, &claim.content).as_ref() == Ok(&claim))
        .then_some(claim)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_claim_round_trips_and_other_payloads_are_not_claims() {
        let c = Claim::new(" Alice ", "hello").unwrap();
        assert_eq!(c.author, "Alice");
        let bytes = c.to_payload();
        assert_eq!(
            std::str::from_utf8(&bytes).unwrap(),
            r#"{"ferrochain_claim":1,"author":"Alice","content":"hello"}"#
        );
        assert_eq!(Claim::from_payload(&bytes), Some(c));
        for other in [
            &b"hello"[..],
            br#"{"ferrochain_claim":2,"author":"Alice","content":"x"}"#,
            br#"{"ferrochain_claim":1,"author":"","content":"x"}"#,
            br#"{"ferrochain_claim":1,"author":"A\nB","content":"x"}"#,
            br#"{"ferrochain_claim":1,"author":"Alice","content":"x","extra":1}"#,
        ] {
            assert_eq!(Claim::from_payload(other), None, "{other:?}");
        }
        assert_eq!(Claim::new("  ", "x"), Err(ClaimError::Empty));
        assert_eq!(Claim::new(&"a".repeat(65), "x"), Err(ClaimError::TooLong));
    }
}
