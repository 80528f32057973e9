//! The embedded SQLite backend (the default): one file under the data directory, through `rusqlite` with
//! SQLite compiled in (the `bundled` feature), so nothing needs to be installed.
//!
//! # Durability
//! The file runs in WAL journal mode with `synchronous=FULL`: every commit fsyncs the write-ahead log before
//! [`Store::commit`] returns, so a committed change set survives `SIGKILL` *and* power loss, and an
//! interrupted one is rolled back on the next open. (`synchronous=NORMAL`, the usual WAL setting, is safe
//! against a process crash but may lose the last commits on power loss — while the node may already have
//! announced them — so it is not used.) Each [`Store::commit`] (and each [`Store::reset`]) is one
//! `BEGIN IMMEDIATE … COMMIT` transaction; statements are prepared once per connection (`prepare_cached`).
//!
//! Another process (say `sqlite3` for a look) may read the file while the node runs; writers wait up to
//! [`BUSY_TIMEOUT`] for each other.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use ferrochain_core::hash::{BlockHash, Txid};
use ferrochain_core::tx::OutPoint;
use ferrochain_core::utxo::{BlockChanges, UtxoEntry};
use ferrochain_core::{Encode, PubkeyHash};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::schema::{
    self, CREATE_META, HeaderRow, KEY_NETWORK, KEY_SCHEMA_VERSION, KEY_TIP, SQLITE_MIGRATIONS,
    UtxoRow, mismatch, to_i64,
};
use crate::store::{
    ChangeSet, ConnectRecord, HeaderRecord, HistoryRow, MempoolRecord, RESET_TABLES, Store,
    StoreError, TxLocation,
};

/// How long a write waits for another connection's write to finish before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The chain state in an SQLite database.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
    /// The file, for [`Store::connector`] (`None` in memory).
    path: Option<std::path::PathBuf>,
}

/// Maps an SQLite error: a column of the wrong type or range means the file was modified.
fn sql_err(e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::IntegralValueOutOfRange(..)
        | rusqlite::Error::Utf8Error(..) => StoreError::Corrupt(e.to_string()),
        e => StoreError::Database(e.to_string()),
    }
}

/// Maps the error of a write that a change set inconsistent with the stored rows makes fail (a key
/// already taken): such a commit is refused with `context`; any other error is the database's.
fn constraint(e: rusqlite::Error, context: impl FnOnce() -> String) -> StoreError {
    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) {
        mismatch(format!("{}: {e}", context()))
    } else {
        sql_err(e)
    }
}

impl SqliteStore {
    /// Opens (creating it and its parent directory if needed) the database file at `path`. Call
    /// [`Store::open`] next: it creates or migrates the tables.
    ///
    /// # Errors
    /// [`StoreError::Database`] if the directory or file cannot be created or opened.
    pub fn open_path(path: &Path) -> Result<SqliteStore, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                StoreError::Database(format!("cannot create {}: {e}", parent.display()))
            })?;
        }
        let conn = Connection::open(path)
            .map_err(|e| StoreError::Database(format!("cannot open {}: {e}", path.display())))?;
        // A new database gets 16 KiB pages: a batch of blocks is written in a quarter of the page writes
        // (each WAL page is its own write). An existing file keeps its page size (SQLite ignores this then).
        conn.pragma_update(None, "page_size", 16_384)
            .map_err(sql_err)?;
        // journal_mode answers with the mode in force; a file system without shared memory keeps the
        // rollback journal, which is just as atomic and durable with synchronous=FULL.
        conn.query_row("PRAGMA journal_mode = WAL", [], |row| {
            row.get::<_, String>(0)
        })
        .map_err(sql_err)?;
        let mut store = Self::configure(conn)?;
        store.path = Some(path.to_path_buf());
        Ok(store)
    }

    /// A private database in memory, gone when the store is dropped (tests, tools).
    ///
    /// # Errors
    /// [`StoreError::Database`] if SQLite cannot allocate it.
    pub fn open_in_memory() -> Result<SqliteStore, StoreError> {
        Self::configure(Connection::open_in_memory().map_err(sql_err)?)
    }

    fn configure(conn: Connection) -> Result<SqliteStore, StoreError> {
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sql_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql_err)?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(SqliteStore { conn, path: None })
    }
}

fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>, StoreError> {
    conn.prepare_cached("SELECT value FROM meta WHERE key = ?1")
        .and_then(|mut s| s.query_row([key], |row| row.get(0)).optional())
        .map_err(sql_err)
}

fn meta_set(conn: &Connection, key: &str, value: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .and_then(|mut s| s.execute([key, value]))
    .map_err(sql_err)?;
    Ok(())
}

fn insert_utxo(
    conn: &Connection,
    outpoint: &OutPoint,
    entry: &UtxoEntry,
) -> Result<(), StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO utxos (txid, vout, address, amount, height, coinbase) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(sql_err)?;
    stmt.execute(params![
        outpoint.txid.as_bytes(),
        i64::from(outpoint.vout),
        entry.output.address.as_bytes(),
        to_i64(entry.output.amount.to_units(), "amount")?,
        to_i64(entry.height.0, "height")?,
        entry.is_coinbase,
    ])
    .map_err(|e| constraint(e, || format!("output {outpoint:?} cannot be added")))?;
    Ok(())
}

/// Deletes one unspent output, which must exist.
fn delete_utxo(conn: &Connection, outpoint: &OutPoint, why: &str) -> Result<(), StoreError> {
    let deleted = conn
        .prepare_cached("DELETE FROM utxos WHERE txid = ?1 AND vout = ?2")
        .and_then(|mut s| s.execute(params![outpoint.txid.as_bytes(), i64::from(outpoint.vout)]))
        .map_err(sql_err)?;
    if deleted != 1 {
        return Err(mismatch(format!(
            "{why} output {outpoint:?}, which is not in the stored UTXO set"
        )));
    }
    Ok(())
}

fn put_header(conn: &Connection, record: &HeaderRecord) -> Result<(), StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO headers (hash, height, prev_hash, header, chain_work, seq, has_body, invalid) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
             ON CONFLICT (hash) DO UPDATE SET height = excluded.height, prev_hash = excluded.prev_hash, \
             header = excluded.header, chain_work = excluded.chain_work, seq = excluded.seq, \
             has_body = excluded.has_body, invalid = excluded.invalid",
        )
        .map_err(sql_err)?;
    stmt.execute(params![
        record.hash.as_bytes(),
        to_i64(record.header.height.0, "header height")?,
        record.header.prev_hash.as_bytes(),
        record.header.to_array().as_slice(),
        record.chain_work.to_be_bytes().as_slice(),
        to_i64(record.seq, "header seq")?,
        record.has_body,
        record.invalid,
    ])
    .map_err(sql_err)?;
    Ok(())
}

fn disconnect(conn: &Connection, changes: &BlockChanges) -> Result<(), StoreError> {
    let hash = changes.block_hash;
    let height = to_i64(changes.height.0, "height")?;
    let removed = conn
        .prepare_cached("DELETE FROM active WHERE height = ?1 AND hash = ?2")
        .and_then(|mut s| s.execute(params![height, hash.as_bytes()]))
        .map_err(sql_err)?;
    if removed != 1 {
        return Err(mismatch(format!(
            "cannot disconnect {hash}: it is not the active block at height {}",
            changes.height.0
        )));
    }
    let why = format!("disconnecting {hash} deletes its created");
    for (outpoint, _) in &changes.created {
        delete_utxo(conn, outpoint, &why)?;
    }
    for (outpoint, entry) in &changes.spent {
        insert_utxo(conn, outpoint, entry)?;
    }
    for sql in [
        "DELETE FROM txs WHERE height = ?1",
        "DELETE FROM history WHERE height = ?1",
    ] {
        conn.prepare_cached(sql)
            .and_then(|mut s| s.execute([height]))
            .map_err(sql_err)?;
    }
    conn.prepare_cached("DELETE FROM undo WHERE hash = ?1")
        .and_then(|mut s| s.execute([hash.as_bytes()]))
        .map_err(sql_err)?;
    Ok(())
}

/// Connects one block's rows; outputs in `transient` (created and spent within the same store transaction)
/// get no row at all.
fn connect(
    conn: &Connection,
    record: &ConnectRecord,
    transient: &HashSet<OutPoint>,
) -> Result<(), StoreError> {
    let changes = &record.changes;
    let hash = changes.block_hash;
    let height = to_i64(changes.height.0, "height")?;
    let why = format!("block {hash} spends");
    for (outpoint, _) in &changes.spent {
        if !transient.contains(outpoint) {
            delete_utxo(conn, outpoint, &why)?;
        }
    }
    for (outpoint, entry) in &changes.created {
        if !transient.contains(outpoint) {
            insert_utxo(conn, outpoint, entry)?;
        }
    }
    conn.prepare_cached("INSERT INTO undo (hash, bytes) VALUES (?1, ?2)")
        .and_then(|mut s| s.execute(params![hash.as_bytes(), changes.to_bytes()]))
        .map_err(|e| constraint(e, || format!("undo data of {hash}")))?;
    let mut stmt = conn
        .prepare_cached("INSERT INTO txs (txid, block_hash, height, idx) VALUES (?1, ?2, ?3, ?4)")
        .map_err(sql_err)?;
    for (txid, index) in &record.txs {
        stmt.execute(params![
            txid.as_bytes(),
            hash.as_bytes(),
            height,
            i64::from(*index)
        ])
        .map_err(|e| constraint(e, || format!("transaction {txid} of {hash}")))?;
    }
    let mut stmt = conn
        .prepare_cached("INSERT INTO history (address, height, idx, txid) VALUES (?1, ?2, ?3, ?4)")
        .map_err(sql_err)?;
    for (address, txid, index) in &record.history {
        stmt.execute(params![
            address.as_bytes(),
            height,
            i64::from(*index),
            txid.as_bytes()
        ])
        .map_err(|e| constraint(e, || format!("history row of {txid} in {hash}")))?;
    }
    conn.prepare_cached("INSERT INTO active (height, hash) VALUES (?1, ?2)")
        .and_then(|mut s| s.execute(params![height, hash.as_bytes()]))
        .map_err(|e| {
            constraint(e, || {
                format!("cannot connect {hash} at height {}", changes.height.0)
            })
        })?;
    Ok(())
}

/// The outputs a series of change sets creates in one block and spends in a later one: in a single store
/// transaction they need no row (their insert and delete cancel out; the undo data keeps both). Empty if any
/// change set disconnects blocks (a reorg inside the series keeps the plain order).
fn created_then_spent(changes: &[ChangeSet]) -> HashSet<OutPoint> {
    let mut transient = HashSet::new();
    if changes.len() < 2 || changes.iter().any(|c| !c.disconnect.is_empty()) {
        return transient;
    }
    let mut created = HashSet::new();
    for record in changes.iter().flat_map(|c| &c.connect) {
        for (outpoint, _) in &record.changes.spent {
            if created.contains(outpoint) {
                transient.insert(*outpoint);
            }
        }
        created.extend(record.changes.created.iter().map(|(o, _)| *o));
    }
    transient
}

/// Applies one change set; `transient` outputs get no row ([`created_then_spent`]), and the tip is written
/// only when `write_tip` (once per store transaction, for the last change set that moves it).
fn apply(
    conn: &Connection,
    changes: &ChangeSet,
    transient: &HashSet<OutPoint>,
    write_tip: bool,
) -> Result<(), StoreError> {
    for record in &changes.headers {
        put_header(conn, record)?;
    }
    for (hash, bytes) in &changes.bodies {
        conn.prepare_cached(
            "INSERT INTO bodies (hash, bytes) VALUES (?1, ?2) \
             ON CONFLICT (hash) DO UPDATE SET bytes = excluded.bytes",
        )
        .and_then(|mut s| s.execute(params![hash.as_bytes(), bytes]))
        .map_err(sql_err)?;
    }
    for block in &changes.disconnect {
        disconnect(conn, block)?;
    }
    for record in &changes.connect {
        connect(conn, record, transient)?;
    }
    for txid in &changes.mempool_remove {
        conn.prepare_cached("DELETE FROM mempool WHERE txid = ?1")
            .and_then(|mut s| s.execute([txid.as_bytes()]))
            .map_err(sql_err)?;
    }
    for tx in &changes.mempool_add {
        let seq = to_i64(tx.seq, "mempool seq")?;
        conn.prepare_cached(
            "INSERT INTO mempool (txid, bytes, seq) VALUES (?1, ?2, ?3) \
             ON CONFLICT (txid) DO UPDATE SET bytes = excluded.bytes, seq = excluded.seq",
        )
        .and_then(|mut s| s.execute(params![tx.txid.as_bytes(), tx.bytes, seq]))
        .map_err(sql_err)?;
    }
    if let Some(tip) = changes.tip.as_ref().filter(|_| write_tip) {
        meta_set(conn, KEY_TIP, &tip.to_string())?;
    }
    Ok(())
}

fn utxo_row(row: &rusqlite::Row<'_>) -> Result<(OutPoint, UtxoEntry), StoreError> {
    let txid: Vec<u8> = row.get(0).map_err(sql_err)?;
    let address: Vec<u8> = row.get(2).map_err(sql_err)?;
    UtxoRow {
        txid: &txid,
        vout: row.get(1).map_err(sql_err)?,
        address: &address,
        amount: row.get(3).map_err(sql_err)?,
        height: row.get(4).map_err(sql_err)?,
        coinbase: row.get(5).map_err(sql_err)?,
    }
    .decode()
}

const UTXO_COLUMNS: &str = "txid, vout, address, amount, height, coinbase";

impl SqliteStore {
    /// Runs `query` with `params` and decodes every row with `decode`.
    fn rows<T>(
        &self,
        query: &str,
        params: impl rusqlite::Params,
        decode: impl Fn(&rusqlite::Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut stmt = self.conn.prepare_cached(query).map_err(sql_err)?;
        let mut rows = stmt.query(params).map_err(sql_err)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(sql_err)? {
            out.push(decode(row)?);
        }
        Ok(out)
    }
}

impl Store for SqliteStore {
    fn open(&mut self, network: &BlockHash) -> Result<(), StoreError> {
        loop {
            // IMMEDIATE takes the write lock at once: the version read below cannot change under us.
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_err)?;
            tx.execute_batch(CREATE_META).map_err(sql_err)?;
            let version = schema::parse_version(meta_get(&tx, KEY_SCHEMA_VERSION)?.as_deref())?;
            schema::check_version(version)?;
            if let Some(migration) = SQLITE_MIGRATIONS.get(version as usize) {
                tx.execute_batch(migration).map_err(|e| {
                    StoreError::Database(format!("migration to version {}: {e}", version + 1))
                })?;
                meta_set(&tx, KEY_SCHEMA_VERSION, &(version + 1).to_string())?;
                tx.commit().map_err(sql_err)?;
                continue;
            }
            match meta_get(&tx, KEY_NETWORK)? {
                Some(stored) => schema::check_network(&stored, network)?,
                None => meta_set(&tx, KEY_NETWORK, &network.to_string())?,
            }
            tx.commit().map_err(sql_err)?;
            return Ok(());
        }
    }

    fn headers(&mut self) -> Result<Vec<HeaderRecord>, StoreError> {
        self.rows(
            "SELECT hash, header, chain_work, seq, has_body, invalid FROM headers ORDER BY seq, hash",
            [],
            |row| {
                let hash: Vec<u8> = row.get(0).map_err(sql_err)?;
                let header: Vec<u8> = row.get(1).map_err(sql_err)?;
                let chain_work: Vec<u8> = row.get(2).map_err(sql_err)?;
                HeaderRow {
                    hash: &hash,
                    header: &header,
                    chain_work: &chain_work,
                    seq: row.get(3).map_err(sql_err)?,
                    has_body: row.get(4).map_err(sql_err)?,
                    invalid: row.get(5).map_err(sql_err)?,
                }
                .decode()
            },
        )
    }

    fn active_chain(&mut self) -> Result<Vec<BlockHash>, StoreError> {
        let rows = self.rows(
            "SELECT height, hash FROM active ORDER BY height",
            [],
            |row| {
                let hash: Vec<u8> = row.get(1).map_err(sql_err)?;
                Ok((
                    row.get::<_, i64>(0).map_err(sql_err)?,
                    schema::block_hash(&hash, "active hash")?,
                ))
            },
        )?;
        schema::check_active(rows)
    }

    fn tip(&mut self) -> Result<Option<BlockHash>, StoreError> {
        meta_get(&self.conn, KEY_TIP)?
            .map(|text| schema::parse_meta_hash(&text, KEY_TIP))
            .transpose()
    }

    fn block(&mut self, hash: &BlockHash) -> Result<Option<Vec<u8>>, StoreError> {
        self.conn
            .prepare_cached("SELECT bytes FROM bodies WHERE hash = ?1")
            .and_then(|mut s| s.query_row([hash.as_bytes()], |row| row.get(0)).optional())
            .map_err(sql_err)
    }

    fn undo(&mut self, hash: &BlockHash) -> Result<Option<BlockChanges>, StoreError> {
        let bytes: Option<Vec<u8>> = self
            .conn
            .prepare_cached("SELECT bytes FROM undo WHERE hash = ?1")
            .and_then(|mut s| s.query_row([hash.as_bytes()], |row| row.get(0)).optional())
            .map_err(sql_err)?;
        bytes
            .map(|bytes| schema::decode_undo(hash, &bytes))
            .transpose()
    }

    fn utxo(&mut self, outpoint: &OutPoint) -> Result<Option<UtxoEntry>, StoreError> {
        let rows = self.rows(
            &format!("SELECT {UTXO_COLUMNS} FROM utxos WHERE txid = ?1 AND vout = ?2"),
            params![outpoint.txid.as_bytes(), i64::from(outpoint.vout)],
            utxo_row,
        )?;
        Ok(rows.into_iter().next().map(|(_, entry)| entry))
    }

    fn utxos(&mut self) -> Result<Vec<(OutPoint, UtxoEntry)>, StoreError> {
        self.rows(
            &format!("SELECT {UTXO_COLUMNS} FROM utxos ORDER BY txid, vout"),
            [],
            utxo_row,
        )
    }

    fn address_utxos(
        &mut self,
        address: &PubkeyHash,
    ) -> Result<Vec<(OutPoint, UtxoEntry)>, StoreError> {
        self.rows(
            &format!("SELECT {UTXO_COLUMNS} FROM utxos WHERE address = ?1 ORDER BY txid, vout"),
            [address.as_bytes()],
            utxo_row,
        )
    }

    fn tx_location(&mut self, txid: &Txid) -> Result<Option<TxLocation>, StoreError> {
        let rows = self.rows(
            "SELECT block_hash, height, idx FROM txs WHERE txid = ?1",
            [txid.as_bytes()],
            |row| {
                let block: Vec<u8> = row.get(0).map_err(sql_err)?;
                schema::decode_tx_location(
                    &block,
                    row.get(1).map_err(sql_err)?,
                    row.get(2).map_err(sql_err)?,
                )
            },
        )?;
        Ok(rows.into_iter().next())
    }

    fn txids(&mut self) -> Result<Vec<Txid>, StoreError> {
        self.rows("SELECT txid FROM txs ORDER BY height, idx", [], |row| {
            let txid: Vec<u8> = row.get(0).map_err(sql_err)?;
            schema::txid(&txid, "tx txid")
        })
    }

    fn address_history(
        &mut self,
        address: &PubkeyHash,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<HistoryRow>, StoreError> {
        // Clamped: SQLite reads a negative LIMIT as "no limit", and nothing has 2^63 rows.
        let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.rows(
            "SELECT txid, height, idx FROM history WHERE address = ?1 \
             ORDER BY height DESC, idx DESC LIMIT ?2 OFFSET ?3",
            params![address.as_bytes(), clamp(limit), clamp(offset)],
            |row| {
                let txid: Vec<u8> = row.get(0).map_err(sql_err)?;
                schema::decode_history(
                    &txid,
                    row.get(1).map_err(sql_err)?,
                    row.get(2).map_err(sql_err)?,
                )
            },
        )
    }

    fn mempool(&mut self) -> Result<Vec<MempoolRecord>, StoreError> {
        self.rows(
            "SELECT txid, bytes, seq FROM mempool ORDER BY seq, txid",
            [],
            |row| {
                let txid: Vec<u8> = row.get(0).map_err(sql_err)?;
                Ok(MempoolRecord {
                    txid: schema::txid(&txid, "mempool txid")?,
                    bytes: row.get(1).map_err(sql_err)?,
                    seq: schema::to_u64(row.get(2).map_err(sql_err)?, "mempool seq")?,
                })
            },
        )
    }

    fn commit_all(&mut self, changes: &[ChangeSet]) -> Result<(), StoreError> {
        if changes.iter().all(ChangeSet::is_empty) {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql_err)?;
        // On any error `tx` is dropped here, which rolls every change set back.
        let transient = created_then_spent(changes);
        let last_tip = changes.iter().rposition(|c| c.tip.is_some());
        for (i, cs) in changes.iter().enumerate() {
            apply(&tx, cs, &transient, Some(i) == last_tip)?;
        }
        tx.commit().map_err(sql_err)
    }

    fn connector(&self) -> Option<crate::store::Connector> {
        let path = self.path.clone()?;
        Some(std::sync::Arc::new(move || {
            let store = SqliteStore::open_path(&path)?;
            // A reader never writes: refuse it outright rather than take the write lock by mistake.
            store
                .conn
                .pragma_update(None, "query_only", true)
                .map_err(sql_err)?;
            Ok(Box::new(store) as Box<dyn Store>)
        }))
    }

    fn reset(&mut self, fresh: &ChangeSet) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql_err)?;
        // On any error `tx` is dropped here, which rolls the deletions back too.
        for table in RESET_TABLES {
            tx.execute(&format!("DELETE FROM {table}"), [])
                .map_err(sql_err)?;
        }
        tx.execute("DELETE FROM meta WHERE key = ?1", [KEY_TIP])
            .map_err(sql_err)?;
        apply(&tx, fresh, &HashSet::new(), true)?;
        tx.commit().map_err(sql_err)
    }
}
