//! Node events — new blocks, transactions and reorgs — broadcast to the server-sent-events stream, the web
//! UI and peer relay.

use ferrochain_core::{BlockHash, Txid};

/// Something that happened to the chain or the mempool.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A block joined the active chain.
    Block {
        /// Its hash.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        hash: BlockHash,
        /// Its height.
        height: u64,
    },
    /// A transaction entered the mempool.
    Transaction {
        /// Its id.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        txid: Txid,
    },
    /// The active chain switched branches.
    Reorg {
        /// Blocks that left the active chain, old tip first.
        #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
        disconnected: Vec<BlockHash>,
        /// Blocks that joined it, lowest first.
        #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
        connected: Vec<BlockHash>,
    },
}

impl Event {
    /// The event's name in the SSE stream (`block`, `transaction`, `reorg`).
    pub fn name(&self) -> &'static str {
        match self {
            Event::Block { .. } => "block",
            Event::Transaction { .. } => "transaction",
            Event::Reorg { .. } => "reorg",
        }
    }
}
