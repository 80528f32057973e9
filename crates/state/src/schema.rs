//! The relational schema both backends share, its versioned migrations, and the conversions between
//! columns and the store's records.
//!
//! # Tables
//! | table     | key                     | columns                                                            |
//! |-----------|-------------------------|--------------------------------------------------------------------|
//! | `meta`    | `key`                   | `value` (text): `schema_version` (decimal), `network`, `tip` (hex)  |
//! | `headers` | `hash`                  | `height`, `prev_hash`, `header` (96 B), `chain_work` (32 B BE), `seq`, `has_body`, `invalid` |
//! | `bodies`  | `hash`                  | `bytes` (canonical block encoding)                                 |
//! | `active`  | `height`                | `hash` (unique)                                                     |
//! | `undo`    | `hash`                  | `bytes` (encoded [`BlockChanges`])                                  |
//! | `utxos`   | `(txid, vout)`          | `address` (indexed), `amount`, `height`, `coinbase`                |
//! | `txs`     | `txid`                  | `block_hash`, `height` (indexed), `idx`                            |
//! | `history` | `(address, height, idx)`| `txid`; indexed on `height`                                        |
//! | `mempool` | `txid`                  | `bytes`, `seq`                                                      |
//!
//! The SQL lives in `migrations/{sqlite,postgres}/NNNN_*.sql`, one file per version and backend; the two
//! files of a version describe the same tables, keys and indexes, only the column types differ (SQLite
//! `BLOB`/`INTEGER`/0-1 flags, PostgreSQL `BYTEA`/`BIGINT`/`BOOLEAN`).
//!
//! # Integers
//! Both databases have only signed 64-bit integers, so every `u64` (heights, `seq`, amounts) is stored as an
//! `i64`. Heights and sequence numbers never come near 2^63 in practice and amounts are at most 2^53 − 1
//! ([`ferrochain_core::Amount::MAX`]); a value that does not fit is refused with [`StoreError::Database`]
//! when written (the commit is then rolled back), and a negative or oversized value read back is
//! [`StoreError::Corrupt`].
//!
//! # Migrations
//! The `meta` table is created by the runner itself (it holds `schema_version`, absent = 0). Migration N
//! (`MIGRATIONS[N - 1]`) runs, with the update of `schema_version` to N, in one transaction that first
//! re-reads the version under a write lock, so two processes opening a fresh store at once cannot both apply
//! it. A store whose version is newer than [`SCHEMA_VERSION`] is refused with [`StoreError::SchemaTooNew`]
//! before anything is written.

use ferrochain_core::hash::{BlockHash, Txid};
use ferrochain_core::pow::Work;
use ferrochain_core::tx::{OutPoint, TxOut};
use ferrochain_core::utxo::{BlockChanges, UtxoEntry};
use ferrochain_core::{Amount, Decode, Header, Height, PubkeyHash};

use crate::store::{HeaderRecord, HistoryRow, StoreError, TxLocation};

/// The newest schema version this program knows (and creates).
pub const SCHEMA_VERSION: u32 = 1;

/// The SQLite migrations: entry N − 1 brings the schema from version N − 1 to N.
pub(crate) const SQLITE_MIGRATIONS: [&str; SCHEMA_VERSION as usize] =
    [include_str!("../migrations/sqlite/0001_initial.sql")];

/// The PostgreSQL migrations, version for version the same schema as [`SQLITE_MIGRATIONS`].
pub(crate) const POSTGRES_MIGRATIONS: [&str; SCHEMA_VERSION as usize] =
    [include_str!("../migrations/postgres/0001_initial.sql")];

/// Creates the `meta` table if it is missing (the same SQL on both backends).
pub(crate) const CREATE_META: &str =
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)";

/// `meta` key of the schema version (decimal).
pub(crate) const KEY_SCHEMA_VERSION: &str = "schema_version";
/// `meta` key of the network id: the genesis hash (hex).
pub(crate) const KEY_NETWORK: &str = "network";
/// `meta` key of the active tip (hex).
pub(crate) const KEY_TIP: &str = "tip";

/// A `u64` as the `i64` column it is stored in.
///
/// # Errors
/// [`StoreError::Database`] if it exceeds `i64::MAX`.
pub(crate) fn to_i64(value: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| {
        StoreError::Database(format!(
            "{what} {value} does not fit the store's signed 64-bit column (largest: {})",
            i64::MAX
        ))
    })
}

/// A stored `i64` column read back as the `u64` it was written from.
///
/// # Errors
/// [`StoreError::Corrupt`] if it is negative.
pub(crate) fn to_u64(value: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("{what} is negative ({value})")))
}

/// A stored `i64` column read back as the `u32` it was written from (vout, position in a block).
///
/// # Errors
/// [`StoreError::Corrupt`] if it is out of range.
pub(crate) fn to_u32(value: i64, what: &str) -> Result<u32, StoreError> {
    u32::try_from(value)
        .map_err(|_| StoreError::Corrupt(format!("{what} is out of range ({value})")))
}

/// A fixed-size byte column.
///
/// # Errors
/// [`StoreError::Corrupt`] if it has another length.
pub(crate) fn fixed<const N: usize>(bytes: &[u8], what: &str) -> Result<[u8; N], StoreError> {
    <[u8; N]>::try_from(bytes)
        .map_err(|_| StoreError::Corrupt(format!("{what} has {} bytes, not {N}", bytes.len())))
}

/// A block hash column.
pub(crate) fn block_hash(bytes: &[u8], what: &str) -> Result<BlockHash, StoreError> {
    fixed(bytes, what).map(BlockHash::from_byte_array)
}

/// A txid column.
pub(crate) fn txid(bytes: &[u8], what: &str) -> Result<Txid, StoreError> {
    fixed(bytes, what).map(Txid::from_byte_array)
}

/// A block hash stored as hex text in `meta`.
pub(crate) fn parse_meta_hash(text: &str, key: &str) -> Result<BlockHash, StoreError> {
    text.parse()
        .map_err(|e| StoreError::Corrupt(format!("meta {key} {text:?}: {e}")))
}

/// The schema version stored in `meta` (absent = 0, a store not yet migrated).
pub(crate) fn parse_version(text: Option<&str>) -> Result<u32, StoreError> {
    match text {
        None => Ok(0),
        Some(text) => text.trim().parse().map_err(|_| {
            StoreError::Corrupt(format!(
                "meta {KEY_SCHEMA_VERSION} is {text:?}, not a number"
            ))
        }),
    }
}

/// Refuses a schema newer than this program.
pub(crate) fn check_version(found: u32) -> Result<(), StoreError> {
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(())
}

/// Compares the stored network id with the one asked for.
pub(crate) fn check_network(stored: &str, expected: &BlockHash) -> Result<(), StoreError> {
    let found = parse_meta_hash(stored, KEY_NETWORK)?;
    if found != *expected {
        return Err(StoreError::WrongNetwork {
            expected: *expected,
            found,
        });
    }
    Ok(())
}

/// The raw columns of one `headers` row.
pub(crate) struct HeaderRow<'a> {
    pub(crate) hash: &'a [u8],
    pub(crate) header: &'a [u8],
    pub(crate) chain_work: &'a [u8],
    pub(crate) seq: i64,
    pub(crate) has_body: bool,
    pub(crate) invalid: bool,
}

impl HeaderRow<'_> {
    /// Decodes the row, checking that the header hashes to its key.
    pub(crate) fn decode(&self) -> Result<HeaderRecord, StoreError> {
        let hash = block_hash(self.hash, "header hash")?;
        let header = Header::from_bytes(self.header)
            .map_err(|e| StoreError::Corrupt(format!("header {hash}: {e}")))?;
        if header.hash() != hash {
            return Err(StoreError::Corrupt(format!(
                "header stored under {hash} hashes to {}",
                header.hash()
            )));
        }
        let chain_work = Work::from_be_bytes(fixed(self.chain_work, "header chain work")?);
        Ok(HeaderRecord {
            hash,
            header,
            chain_work,
            seq: to_u64(self.seq, "header seq")?,
            has_body: self.has_body,
            invalid: self.invalid,
        })
    }
}

/// The raw columns of one `utxos` row.
pub(crate) struct UtxoRow<'a> {
    pub(crate) txid: &'a [u8],
    pub(crate) vout: i64,
    pub(crate) address: &'a [u8],
    pub(crate) amount: i64,
    pub(crate) height: i64,
    pub(crate) coinbase: bool,
}

impl UtxoRow<'_> {
    /// Decodes the row.
    pub(crate) fn decode(&self) -> Result<(OutPoint, UtxoEntry), StoreError> {
        let outpoint = OutPoint {
            txid: txid(self.txid, "utxo txid")?,
            vout: to_u32(self.vout, "utxo vout")?,
        };
        let units = to_u64(self.amount, "utxo amount")?;
        let amount = Amount::from_units(units)
            .map_err(|e| StoreError::Corrupt(format!("utxo {outpoint:?} amount: {e}")))?;
        let address = PubkeyHash::from_bytes(fixed(self.address, "utxo address")?);
        Ok((
            outpoint,
            UtxoEntry {
                output: TxOut { amount, address },
                height: Height(to_u64(self.height, "utxo height")?),
                is_coinbase: self.coinbase,
            },
        ))
    }
}

/// Decodes an `undo` row.
pub(crate) fn decode_undo(hash: &BlockHash, bytes: &[u8]) -> Result<BlockChanges, StoreError> {
    let changes = BlockChanges::from_bytes(bytes)
        .map_err(|e| StoreError::Corrupt(format!("undo data of {hash}: {e}")))?;
    if changes.block_hash != *hash {
        return Err(StoreError::Corrupt(format!(
            "undo data stored under {hash} is that of {}",
            changes.block_hash
        )));
    }
    Ok(changes)
}

/// Decodes a `txs` row.
pub(crate) fn decode_tx_location(
    block: &[u8],
    height: i64,
    index: i64,
) -> Result<TxLocation, StoreError> {
    Ok(TxLocation {
        block: block_hash(block, "tx block hash")?,
        height: Height(to_u64(height, "tx height")?),
        index: to_u32(index, "tx position")?,
    })
}

/// Decodes a `history` row.
pub(crate) fn decode_history(
    txid_bytes: &[u8],
    height: i64,
    index: i64,
) -> Result<HistoryRow, StoreError> {
    Ok(HistoryRow {
        txid: txid(txid_bytes, "history txid")?,
        height: Height(to_u64(height, "history height")?),
        index: to_u32(index, "history position")?,
    })
}

/// Checks that the `active` rows, read by height, are exactly heights 0, 1, 2, … with no gap.
pub(crate) fn check_active(rows: Vec<(i64, BlockHash)>) -> Result<Vec<BlockHash>, StoreError> {
    let mut chain = Vec::with_capacity(rows.len());
    for (expected, (height, hash)) in rows.into_iter().enumerate() {
        if usize::try_from(height).ok() != Some(expected) {
            return Err(StoreError::Corrupt(format!(
                "active chain has a gap: height {expected} is missing (next stored: {height})"
            )));
        }
        chain.push(hash);
    }
    Ok(chain)
}

/// The error of a commit whose change set does not fit the stored rows (the transaction is rolled back).
pub(crate) fn mismatch(message: String) -> StoreError {
    StoreError::Database(format!("commit refused, nothing written: {message}"))
}

/// `items` with only the last of each run of equal keys kept (a later entry replaces an earlier one), in
/// the order of those last occurrences — for batched upserts, which cannot touch one row twice.
pub(crate) fn last_per_key<T, K: Eq + std::hash::Hash>(
    items: &[T],
    key: impl Fn(&T) -> K,
) -> Vec<&T> {
    let mut seen = std::collections::HashSet::new();
    let mut out: Vec<&T> = items.iter().rev().filter(|t| seen.insert(key(t))).collect();
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_exist_for_every_version() {
        assert_eq!(SQLITE_MIGRATIONS.len(), SCHEMA_VERSION as usize);
        assert_eq!(POSTGRES_MIGRATIONS.len(), SCHEMA_VERSION as usize);
        assert!(check_version(SCHEMA_VERSION).is_ok());
        assert!(matches!(
            check_version(SCHEMA_VERSION + 1),
            Err(StoreError::SchemaTooNew { .. })
        ));
    }

    #[test]
    fn integers_outside_the_columns_are_refused() {
        assert_eq!(to_i64(i64::MAX as u64, "x").ok(), Some(i64::MAX));
        assert!(matches!(
            to_i64(u64::MAX, "x"),
            Err(StoreError::Database(_))
        ));
        assert!(matches!(to_u64(-1, "x"), Err(StoreError::Corrupt(_))));
        assert!(matches!(to_u32(1 << 32, "x"), Err(StoreError::Corrupt(_))));
        assert!(matches!(
            fixed::<32>(&[0; 31], "x"),
            Err(StoreError::Corrupt(_))
        ));
    }

    #[test]
    fn later_entries_replace_earlier_ones() {
        let items = [(1, 'a'), (2, 'b'), (1, 'c'), (3, 'd')];
        let kept: Vec<_> = last_per_key(&items, |t| t.0).into_iter().copied().collect();
        assert_eq!(kept, vec![(2, 'b'), (1, 'c'), (3, 'd')]);
    }

    #[test]
    fn the_active_chain_has_no_gaps() {
        let h = BlockHash::ZERO;
        assert_eq!(
            check_active(vec![(0, h), (1, h)]).ok().map(|v| v.len()),
            Some(2)
        );
        assert!(matches!(
            check_active(vec![(0, h), (2, h)]),
            Err(StoreError::Corrupt(_))
        ));
    }
}
