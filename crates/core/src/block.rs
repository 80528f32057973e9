//! Block headers, blocks, the block hash and the midstate hasher used by miners (`docs/protocol.md` §2).
//!
//! A header is 96 bytes: version, height, previous block hash, Merkle root, timestamp, compact target and,
//! last, the nonce. SHA-256 works on 64-byte blocks, so a 96-byte header is two compressions; the first 64
//! bytes hold no nonce and stay fixed while a miner searches, so [`HeaderHasher`] compresses them once (the
//! *midstate*) and then only the final block per nonce — half the work of hashing the header from scratch,
//! with exactly the same result as [`Header::hash`].

use sha2::block_api::compress256;

use crate::encode::{Decode, DecodeError, Encode, MAX_BLOCK_BYTES, MAX_LIST_LEN, Reader};
use crate::hash::{BlockHash, MerkleNode, Txid};
use crate::merkle::merkle_root;
use crate::pow::{CompactTarget, Target};
use crate::tx::Transaction;
use crate::units::Height;

/// The only block version defined so far.
pub const BLOCK_VERSION: u32 = 1;
/// Encoded size of a header.
pub const HEADER_BYTES: usize = 96;
/// Offset of the nonce in the encoded header.
pub const NONCE_OFFSET: usize = 88;
/// Smallest possible encoded transaction: a transfer with no inputs, no outputs and no payload (version, tag and
/// three empty length prefixes). It is invalid, but it decodes, so decoding must not assume anything larger.
pub const MIN_TX_BYTES: usize = 4 + 1 + 4 + 4 + 4;

/// A block header.
#[derive(Clone, Copy, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
pub struct Header {
    /// Format version ([`BLOCK_VERSION`]).
    pub version: u32,
    /// Distance from genesis.
    pub height: Height,
    /// Hash of the parent block (zero for genesis).
    pub prev_hash: BlockHash,
    /// Merkle root of the block's transaction ids.
    pub merkle_root: MerkleNode,
    /// Time the miner claims, in ms since the Unix epoch.
    pub time_ms: u64,
    /// The proof-of-work target in compact form.
    pub bits: CompactTarget,
    /// The value the miner varies to find a hash below the target.
    pub nonce: u64,
}

impl Header {
    /// The 96-byte canonical encoding.
    pub fn to_array(&self) -> [u8; HEADER_BYTES] {
        let mut out = [0u8; HEADER_BYTES];
        out[0..4].copy_from_slice(&self.version.to_le_bytes());
        out[4..12].copy_from_slice(&self.height.0.to_le_bytes());
        out[12..44].copy_from_slice(self.prev_hash.as_bytes());
        out[44..76].copy_from_slice(self.merkle_root.as_bytes());
        out[76..84].copy_from_slice(&self.time_ms.to_le_bytes());
        out[84..88].copy_from_slice(&self.bits.to_consensus().to_le_bytes());
        out[NONCE_OFFSET..96].copy_from_slice(&self.nonce.to_le_bytes());
        out
    }

    /// The block hash: SHA-256 of the 96 header bytes.
    pub fn hash(&self) -> BlockHash {
        BlockHash::hash(&self.to_array())
    }
}

impl Encode for Header {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_array());
    }
}

impl Decode for Header {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Header {
            version: r.u32("header version")?,
            height: Height(r.u64("header height")?),
            prev_hash: BlockHash::from_byte_array(r.array("header previous hash")?),
            merkle_root: MerkleNode::from_byte_array(r.array("header merkle root")?),
            time_ms: r.u64("header time")?,
            bits: CompactTarget::from_consensus(r.u32("header bits")?),
            nonce: r.u64("header nonce")?,
        })
    }
}

/// SHA-256's initial state.
const SHA256_IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// Hashes one header for many nonces, compressing the fixed first 64 bytes only once.
#[derive(Clone, Debug)]
pub struct HeaderHasher {
    midstate: [u32; 8],
    tail: [u8; 64],
}

impl HeaderHasher {
    /// Prepares to hash `header` with varying nonces (its own nonce is ignored).
    pub fn new(header: &Header) -> HeaderHasher {
        let bytes = header.to_array();
        let mut midstate = SHA256_IV;
        let mut first = [0u8; 64];
        first.copy_from_slice(&bytes[..64]);
        compress256(&mut midstate, &[first]);
        // Final block: the last 32 header bytes, SHA-256 padding and the message length in bits (768).
        let mut tail = [0u8; 64];
        tail[..32].copy_from_slice(&bytes[64..]);
        tail[32] = 0x80;
        tail[56..].copy_from_slice(&((HEADER_BYTES as u64) * 8).to_be_bytes());
        HeaderHasher { midstate, tail }
    }

    /// The block hash the header would have with `nonce`.
    #[inline]
    pub fn hash_with_nonce(&self, nonce: u64) -> BlockHash {
        let mut block = self.tail;
        block[NONCE_OFFSET - 64..NONCE_OFFSET - 64 + 8].copy_from_slice(&nonce.to_le_bytes());
        let mut state = self.midstate;
        compress256(&mut state, &[block]);
        let mut out = [0u8; 32];
        for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        BlockHash::from_byte_array(out)
    }

    /// Searches `nonces` in order for one whose hash meets `target`; returns it with the hash.
    ///
    /// Miners call this on a chunk of nonces at a time and check for a new tip between chunks. The loop does
    /// what a raw compression loop does and little more: one 64-byte block kept across nonces (only the
    /// nonce's 8 bytes change), one compression, and a comparison of the state words themselves (the hash's
    /// big-endian bytes compare like its words in order, so nothing is serialized until a hit).
    pub fn find_nonce(
        &self,
        target: &Target,
        nonces: std::ops::Range<u64>,
    ) -> Option<(u64, BlockHash)> {
        let limit_bytes = target.to_be_bytes();
        let mut limit = [0u32; 8];
        for (word, chunk) in limit.iter_mut().zip(limit_bytes.chunks_exact(4)) {
            *word = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
        let mut block = self.tail;
        let at = NONCE_OFFSET - 64;
        for n in nonces {
            block[at..at + 8].copy_from_slice(&n.to_le_bytes());
            let mut state = self.midstate;
            compress256(&mut state, &[block]);
            // Almost every hash fails on its first word.
            if state[0] > limit[0] || state > limit {
                continue;
            }
            let mut out = [0u8; 32];
            for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
                chunk.copy_from_slice(&word.to_be_bytes());
            }
            return Some((n, BlockHash::from_byte_array(out)));
        }
        None
    }
}

/// A block: a header and its transactions, the coinbase first.
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
pub struct Block {
    /// The header.
    pub header: Header,
    /// The transactions; a valid block's first is its coinbase.
    pub transactions: Vec<Transaction>,
}

impl Block {
    /// The block hash (the header's hash).
    pub fn hash(&self) -> BlockHash {
        self.header.hash()
    }

    /// The ids of the transactions, in order.
    pub fn txids(&self) -> Vec<Txid> {
        self.transactions.iter().map(Transaction::txid).collect()
    }

    /// The Merkle root of the transactions as they are (to compare with the header's).
    pub fn compute_merkle_root(&self) -> MerkleNode {
        merkle_root(&self.txids())
    }

    /// The encoded size in bytes.
    pub fn encoded_len(&self) -> usize {
        HEADER_BYTES
            + 4
            + self
                .transactions
                .iter()
                .map(Transaction::encoded_len)
                .sum::<usize>()
    }
}

impl Encode for Block {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        self.header.encode_to(out);
        crate::encode::put_list(out, &self.transactions);
    }
}

impl Decode for Block {
    /// Decodes one whole block, refusing input above [`MAX_BLOCK_BYTES`] before reading it.
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() > MAX_BLOCK_BYTES {
            return Err(DecodeError::TooLong {
                what: "block",
                len: bytes.len() as u64,
                max: MAX_BLOCK_BYTES as u64,
            });
        }
        let mut r = Reader::new(bytes);
        let block = Block::decode_from(&mut r)?;
        r.finish()?;
        Ok(block)
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Block {
            header: Header::decode_from(r)?,
            transactions: r.list("block transactions", MAX_LIST_LEN, MIN_TX_BYTES)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            version: BLOCK_VERSION,
            height: Height(42),
            prev_hash: BlockHash::hash(b"parent"),
            merkle_root: MerkleNode::from_byte_array(crate::hash::sha256(b"root")),
            time_ms: 1_700_000_000_000,
            bits: CompactTarget::from_consensus(0x1f00ffff),
            nonce: 0,
        }
    }

    #[test]
    fn midstate_hash_equals_plain_hash() {
        let mut h = header();
        let hasher = HeaderHasher::new(&h);
        for nonce in [0, 1, 255, 256, 1 << 32, u64::MAX] {
            h.nonce = nonce;
            assert_eq!(hasher.hash_with_nonce(nonce), h.hash(), "nonce {nonce}");
        }
    }

    #[test]
    fn find_nonce_finds_the_first_hash_below_the_target() {
        let h = header();
        let target = Target::from_leading_zero_bits(8);
        let (nonce, hash) = HeaderHasher::new(&h)
            .find_nonce(&target, 0..1 << 20)
            .expect("8 bits take ~256 tries");
        assert!(target.is_met_by(&hash));
        assert!((0..nonce).all(|n| !target.is_met_by(&HeaderHasher::new(&h).hash_with_nonce(n))));
        assert_eq!(
            HeaderHasher::new(&h).find_nonce(&target, nonce + 1..nonce + 1),
            None
        );
    }

    #[test]
    fn find_nonce_agrees_with_hashing_each_nonce_even_at_a_target_equal_to_a_hash() {
        let h = header();
        let hasher = HeaderHasher::new(&h);
        // A target exactly equal to nonce 300's hash is met by it (hash <= target), and by nothing lower
        // unless some earlier hash is smaller still: the search must agree with hashing one by one.
        let exact = Target::from_be_bytes(*hasher.hash_with_nonce(300).as_bytes());
        for target in [
            exact,
            Target::from_leading_zero_bits(4),
            Target::from_leading_zero_bits(12),
        ] {
            let expected = (0..5_000u64)
                .map(|n| (n, hasher.hash_with_nonce(n)))
                .find(|(_, hash)| target.is_met_by(hash));
            assert_eq!(hasher.find_nonce(&target, 0..5_000), expected);
        }
    }

    #[test]
    fn the_nonce_is_last_and_every_field_changes_the_hash() {
        let h = header();
        let bytes = h.to_array();
        assert_eq!(Header::from_bytes(&bytes), Ok(h));
        let mut with_nonce = h;
        with_nonce.nonce = 0x0102030405060708;
        assert_eq!(
            &with_nonce.to_array()[..NONCE_OFFSET],
            &bytes[..NONCE_OFFSET]
        );
        // Flipping any bit of the encoding gives a different hash.
        for i in 0..HEADER_BYTES {
            let mut b = bytes;
            b[i] ^= 1;
            let changed = Header::from_bytes(&b).expect("any 96 bytes decode");
            assert_ne!(changed.hash(), h.hash(), "byte {i}");
        }
        assert!(matches!(
            Header::from_bytes(&bytes[..95]),
            Err(DecodeError::UnexpectedEnd { .. })
        ));
    }
}
