//! [`ErrorCode`]: the stable, machine-readable codes of every error a surface can answer with. Handlers and
//! the web UI match these, never a message; each surface maps a code to its own form once (the HTTP crate to
//! a status and `{"error": {"code", "message"}}`), so the same input error gets the same code everywhere.

use ferrochain_state::{MempoolError, StateError};

macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident = $text:literal,)*) => {
        /// A stable error code (`invalid_address`, `conflict`, ...), written in snake case in every answer.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $($(#[$doc])* $name,)*
        }

        impl ErrorCode {
            /// Every code.
            pub const ALL: &[ErrorCode] = &[$(ErrorCode::$name,)*];

            /// The code written as `text` in an answer, if it is one of these.
            pub fn parse(text: &str) -> Option<ErrorCode> {
                ErrorCode::ALL.iter().copied().find(|c| c.as_str() == text)
            }

            /// The code as written in answers (`invalid_address`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$name => $text,)*
                }
            }
        }
    };
}

codes! {
    /// A request that is well-formed but asks for something not allowed (a count out of range, ...).
    InvalidRequest = "invalid_request",
    /// The body is not valid JSON or not of the expected shape.
    InvalidJson = "invalid_json",
    /// The form body does not have the expected fields.
    InvalidForm = "invalid_form",
    /// The body could not be read.
    InvalidBody = "invalid_body",
    /// The query string is not of the expected shape.
    InvalidQuery = "invalid_query",
    /// A path parameter is malformed.
    InvalidPath = "invalid_path",
    /// The body is larger than the route accepts.
    BodyTooLarge = "body_too_large",
    /// The body's content type is not one the route reads.
    UnsupportedMediaType = "unsupported_media_type",
    /// The route exists but not with this method.
    MethodNotAllowed = "method_not_allowed",
    /// Nothing is there (a route, a block, a transaction).
    NotFound = "not_found",
    /// Only the node's owner may do this.
    OwnerOnly = "owner_only",
    /// The API token given is wrong.
    BadToken = "bad_token",
    /// A browser request from another site.
    CrossSite = "cross_site",
    /// A `Host` this node does not answer to (DNS rebinding).
    ForeignHost = "foreign_host",
    /// Too many requests of this kind from this client address: wait and retry (`Retry-After`).
    RateLimited = "rate_limited",
    /// Text that is not an address of this network.
    InvalidAddress = "invalid_address",
    /// An address, block or peer of another network.
    WrongNetwork = "wrong_network",
    /// An amount that is not a valid amount of this network's unit.
    InvalidAmount = "invalid_amount",
    /// Text that is not hex.
    InvalidHex = "invalid_hex",
    /// Bytes that are not a canonical encoding of what was expected.
    InvalidEncoding = "invalid_encoding",
    /// Text that is not a block hash.
    InvalidHash = "invalid_hash",
    /// Text that is not a transaction id.
    InvalidTxid = "invalid_txid",
    /// Neither a height nor a block hash.
    InvalidBlockId = "invalid_block_id",
    /// A block that breaks a consensus rule.
    InvalidBlock = "invalid_block",
    /// A block whose time is too far ahead of this node's clock: not invalid, not yet valid (send it later).
    BlockNotYet = "block_not_yet",
    /// A transaction that breaks a rule (signature, amounts, payload, inputs).
    InvalidTransaction = "invalid_transaction",
    /// A transaction that is not a record where a record was asked for.
    NotARecord = "not_a_record",
    /// A transaction that conflicts with one in the mempool or the chain, or is already there.
    Conflict = "conflict",
    /// The mempool is full and the transaction pays too little to replace anything.
    MempoolFull = "mempool_full",
    /// The sender's spendable coins do not cover amount and fee.
    InsufficientFunds = "insufficient_funds",
    /// The node holds no key for the address.
    KeyNotHeld = "key_not_held",
    /// Node-held keys are disabled on this network.
    KeysDisabled = "keys_disabled",
    /// The node keystore holds as many keys as it may (setting `max_keys`).
    KeystoreFull = "keystore_full",
    /// The route is at its limit of concurrent answers or subscribers; retry later.
    Busy = "busy",
    /// The node is shutting down.
    ShuttingDown = "shutting_down",
    /// The operation took longer than the time limit.
    Timeout = "timeout",
    /// Too many hashes asked for in one request.
    TooManyHashes = "too_many_hashes",
    /// Too many transactions in one announcement.
    TooManyTransactions = "too_many_transactions",
    /// A block locator with too many hashes.
    LocatorTooLong = "locator_too_long",
    /// Not a peer origin (`http://host:port`).
    InvalidUrl = "invalid_url",
    /// The peer is this node itself.
    PeerIsSelf = "peer_is_self",
    /// The peer could not be reached.
    PeerUnreachable = "peer_unreachable",
    /// The peer speaks another protocol version.
    WrongProtocol = "wrong_protocol",
    /// The peer answered with an HTTP error.
    PeerHttpError = "peer_http_error",
    /// The peer sent malformed or invalid data.
    PeerInvalidData = "peer_invalid_data",
    /// The peer's answer was too large.
    PeerAnswerTooLarge = "peer_answer_too_large",
    /// The peer is banned.
    PeerBanned = "peer_banned",
    /// The node failed (details only in its log).
    Internal = "internal",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ErrorCode {
    /// The code of a chain-state error.
    pub fn of_state(e: &StateError) -> ErrorCode {
        match e {
            StateError::InvalidBlock { .. } | StateError::KnownInvalid(_) => {
                ErrorCode::InvalidBlock
            }
            StateError::NotYet { .. } => ErrorCode::BlockNotYet,
            StateError::Mempool(
                MempoolError::Conflict { .. }
                | MempoolError::AlreadyInPool(_)
                | MempoolError::AlreadyInChain(_),
            ) => ErrorCode::Conflict,
            StateError::Mempool(MempoolError::Full) => ErrorCode::MempoolFull,
            StateError::Mempool(_) => ErrorCode::InvalidTransaction,
            _ => ErrorCode::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "{s} twice");
            assert!(
                s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{s}"
            );
        }
    }
}
