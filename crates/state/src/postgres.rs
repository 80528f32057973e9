//! The PostgreSQL backend (`--database postgres://…`): the same schema as SQLite on a server, through the
//! synchronous `postgres` client.
//!
//! Each [`Store::commit`] (and each [`Store::reset`]) is one transaction. Statements are prepared once per
//! connection, and rows go in batches: all UTXOs a block creates (or spends, or restores), all its index
//! rows, all headers, bodies and mempool entries of a change set are each written by one statement whose
//! parameters are arrays (`INSERT … SELECT * FROM UNNEST($1::bytea[], …)`), so a commit costs a few round
//! trips per block, not one per row.
//!
//! Tests and tools can keep several stores in one database: [`PostgresStore::connect_with_schema`] puts a
//! store's tables in its own PostgreSQL schema (created if missing). The connection does not use TLS: the
//! database is expected on the same machine or a trusted network.

use std::collections::HashMap;
use std::error::Error as _;

use ::postgres::error::SqlState;
use ::postgres::types::ToSql;
use ::postgres::{Client, GenericClient, NoTls, Row, Statement};
use ferrochain_core::hash::{BlockHash, Txid};
use ferrochain_core::tx::OutPoint;
use ferrochain_core::utxo::{BlockChanges, UtxoEntry};
use ferrochain_core::{Encode, PubkeyHash};

use crate::schema::{
    self, CREATE_META, HeaderRow, KEY_NETWORK, KEY_SCHEMA_VERSION, KEY_TIP, POSTGRES_MIGRATIONS,
    UtxoRow, last_per_key, mismatch, to_i64,
};
use crate::store::{
    ChangeSet, ConnectRecord, HeaderRecord, HistoryRow, MempoolRecord, RESET_TABLES, Store,
    StoreError, TxLocation,
};

/// The chain state in a PostgreSQL database.
pub struct PostgresStore {
    /// Always `Some` until the store is dropped (see its `Drop`).
    client: Option<Client>,
    /// Prepared statements by SQL text, for this connection.
    statements: HashMap<&'static str, Statement>,
    /// Where it connected, for [`Store::connector`].
    url: String,
    /// Its schema, if not the default.
    schema: Option<String>,
}

/// The connection of a store (a field apart, so the store's other fields stay borrowable).
fn open_client(client: &mut Option<Client>) -> Result<&mut Client, StoreError> {
    client
        .as_mut()
        .ok_or_else(|| StoreError::Database("the PostgreSQL connection is closed".into()))
}

impl Drop for PostgresStore {
    /// Closing the synchronous client blocks on its own runtime, which panics on a tokio worker (a node
    /// dropped at the end of its server); it is closed on a thread of its own instead.
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            // If no thread can be started, the closure (and the client) is dropped here after all.
            let _ = std::thread::Builder::new()
                .name("postgres-close".into())
                .spawn(move || drop(client));
        }
    }
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("prepared", &self.statements.len())
            .finish_non_exhaustive()
    }
}

/// The message of a client error with its causes (the server's own message is the cause of "db error").
fn message(e: &::postgres::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn pg_err(e: ::postgres::Error) -> StoreError {
    StoreError::Database(message(&e))
}

/// Maps the error of a write that a change set inconsistent with the stored rows makes fail (a key
/// already taken): such a commit is refused with `context`; any other error is the database's.
fn constraint(e: ::postgres::Error, context: impl FnOnce() -> String) -> StoreError {
    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        mismatch(format!("{}: {}", context(), message(&e)))
    } else {
        pg_err(e)
    }
}

/// A column of the wrong type or a NULL: the table was modified.
fn column<'a, T: ::postgres::types::FromSql<'a>>(
    row: &'a Row,
    index: usize,
) -> Result<T, StoreError> {
    row.try_get(index).map_err(|e| {
        let name = row.columns().get(index).map_or("?", |c| c.name());
        StoreError::Corrupt(format!("column {name}: {}", message(&e)))
    })
}

/// A PostgreSQL identifier, quoted.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user@host:port/db`; TLS is not used) and keeps the
    /// tables in the connection's default schema (usually `public`). Call [`Store::open`] next: it creates
    /// or migrates the tables.
    ///
    /// # Errors
    /// [`StoreError::Database`] if the server cannot be reached or refuses the login.
    pub fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        Self::connect_with_schema(url, None)
    }

    /// As [`PostgresStore::connect`], with the tables in the PostgreSQL schema `schema` (created if
    /// missing) when one is given — so several stores, say one per test, can share one database.
    ///
    /// # Errors
    /// [`StoreError::Database`] if the server cannot be reached, refuses the login or the schema cannot be
    /// created.
    pub fn connect_with_schema(
        url: &str,
        schema: Option<&str>,
    ) -> Result<PostgresStore, StoreError> {
        let mut client = Client::connect(url, NoTls).map_err(|e| {
            StoreError::Database(format!("cannot connect to PostgreSQL: {}", message(&e)))
        })?;
        if let Some(schema) = schema {
            let name = quote_ident(schema);
            client
                .batch_execute(&format!(
                    "CREATE SCHEMA IF NOT EXISTS {name}; SET search_path TO {name}"
                ))
                .map_err(pg_err)?;
        }
        Ok(PostgresStore {
            client: Some(client),
            statements: HashMap::new(),
            url: url.to_string(),
            schema: schema.map(str::to_string),
        })
    }

    /// The prepared statement for `sql`, prepared on first use.
    fn statement(&mut self, sql: &'static str) -> Result<Statement, StoreError> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = open_client(&mut self.client)?
            .prepare(sql)
            .map_err(pg_err)?;
        self.statements.insert(sql, statement.clone());
        Ok(statement)
    }

    /// Runs the prepared `sql` with `params`.
    fn query(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let statement = self.statement(sql)?;
        open_client(&mut self.client)?
            .query(&statement, params)
            .map_err(pg_err)
    }

    fn meta_get(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        let rows = self.query(META_GET, &[&key])?;
        rows.first().map(|row| column(row, 0)).transpose()
    }

    /// Runs every pending migration, each in its own transaction, then binds the network.
    fn migrate_and_bind(&mut self, network: &BlockHash) -> Result<(), StoreError> {
        loop {
            let mut tx = open_client(&mut self.client)?
                .transaction()
                .map_err(pg_err)?;
            tx.batch_execute(CREATE_META).map_err(pg_err)?;
            // Serialises concurrent opens: the version read below cannot change until we commit.
            tx.batch_execute("LOCK TABLE meta IN SHARE ROW EXCLUSIVE MODE")
                .map_err(pg_err)?;
            let version = meta_get_in(&mut tx, KEY_SCHEMA_VERSION)?;
            let version = schema::parse_version(version.as_deref())?;
            schema::check_version(version)?;
            if let Some(migration) = POSTGRES_MIGRATIONS.get(version as usize) {
                tx.batch_execute(migration).map_err(|e| {
                    StoreError::Database(format!(
                        "migration to version {}: {}",
                        version + 1,
                        message(&e)
                    ))
                })?;
                meta_set_in(&mut tx, KEY_SCHEMA_VERSION, &(version + 1).to_string())?;
                tx.commit().map_err(pg_err)?;
                continue;
            }
            match meta_get_in(&mut tx, KEY_NETWORK)? {
                Some(stored) => schema::check_network(&stored, network)?,
                None => meta_set_in(&mut tx, KEY_NETWORK, &network.to_string())?,
            }
            tx.commit().map_err(pg_err)?;
            return Ok(());
        }
    }
}

const META_GET: &str = "SELECT value FROM meta WHERE key = $1";
const META_SET: &str = "INSERT INTO meta (key, value) VALUES ($1, $2) \
     ON CONFLICT (key) DO UPDATE SET value = excluded.value";

fn meta_get_in(client: &mut impl GenericClient, key: &str) -> Result<Option<String>, StoreError> {
    let rows = client.query(META_GET, &[&key]).map_err(pg_err)?;
    rows.first().map(|row| column(row, 0)).transpose()
}

fn meta_set_in(client: &mut impl GenericClient, key: &str, value: &str) -> Result<(), StoreError> {
    client.execute(META_SET, &[&key, &value]).map_err(pg_err)?;
    Ok(())
}

const HEADERS_PUT: &str = "INSERT INTO headers \
     (hash, height, prev_hash, header, chain_work, seq, has_body, invalid) \
     SELECT * FROM UNNEST($1::bytea[], $2::bigint[], $3::bytea[], $4::bytea[], $5::bytea[], \
     $6::bigint[], $7::boolean[], $8::boolean[]) \
     ON CONFLICT (hash) DO UPDATE SET height = excluded.height, prev_hash = excluded.prev_hash, \
     header = excluded.header, chain_work = excluded.chain_work, seq = excluded.seq, \
     has_body = excluded.has_body, invalid = excluded.invalid";
const BODIES_PUT: &str = "INSERT INTO bodies (hash, bytes) \
     SELECT * FROM UNNEST($1::bytea[], $2::bytea[]) \
     ON CONFLICT (hash) DO UPDATE SET bytes = excluded.bytes";
const ACTIVE_DELETE: &str = "DELETE FROM active WHERE height = $1 AND hash = $2";
const ACTIVE_INSERT: &str = "INSERT INTO active (height, hash) VALUES ($1, $2)";
const UTXOS_DELETE: &str = "DELETE FROM utxos u USING UNNEST($1::bytea[], $2::bigint[]) AS d (txid, vout) \
     WHERE u.txid = d.txid AND u.vout = d.vout";
const UTXOS_INSERT: &str = "INSERT INTO utxos (txid, vout, address, amount, height, coinbase) \
     SELECT * FROM UNNEST($1::bytea[], $2::bigint[], $3::bytea[], $4::bigint[], $5::bigint[], $6::boolean[])";
const TXS_DELETE: &str = "DELETE FROM txs WHERE height = $1";
const TXS_INSERT: &str = "INSERT INTO txs (txid, block_hash, height, idx) \
     SELECT t.txid, $2, $3, t.idx FROM UNNEST($1::bytea[], $4::bigint[]) AS t (txid, idx)";
const HISTORY_DELETE: &str = "DELETE FROM history WHERE height = $1";
const HISTORY_INSERT: &str = "INSERT INTO history (address, height, idx, txid) \
     SELECT h.address, $2, h.idx, h.txid FROM UNNEST($1::bytea[], $3::bigint[], $4::bytea[]) \
     AS h (address, idx, txid)";
const UNDO_DELETE: &str = "DELETE FROM undo WHERE hash = $1";
const UNDO_INSERT: &str = "INSERT INTO undo (hash, bytes) VALUES ($1, $2)";
const MEMPOOL_DELETE: &str = "DELETE FROM mempool WHERE txid = ANY($1::bytea[])";
const MEMPOOL_PUT: &str = "INSERT INTO mempool (txid, bytes, seq) \
     SELECT * FROM UNNEST($1::bytea[], $2::bytea[], $3::bigint[]) \
     ON CONFLICT (txid) DO UPDATE SET bytes = excluded.bytes, seq = excluded.seq";

/// Every statement a commit may run, prepared before its transaction starts.
const COMMIT_STATEMENTS: [&str; 15] = [
    HEADERS_PUT,
    BODIES_PUT,
    ACTIVE_DELETE,
    ACTIVE_INSERT,
    UTXOS_DELETE,
    UTXOS_INSERT,
    TXS_DELETE,
    TXS_INSERT,
    HISTORY_DELETE,
    HISTORY_INSERT,
    UNDO_DELETE,
    UNDO_INSERT,
    MEMPOOL_DELETE,
    MEMPOOL_PUT,
    META_SET,
];

const UTXO_GET: &str =
    "SELECT txid, vout, address, amount, height, coinbase FROM utxos WHERE txid = $1 AND vout = $2";
const UTXOS_ALL: &str =
    "SELECT txid, vout, address, amount, height, coinbase FROM utxos ORDER BY txid, vout";
const UTXOS_OF: &str = "SELECT txid, vout, address, amount, height, coinbase FROM utxos \
     WHERE address = $1 ORDER BY txid, vout";

/// A transaction with the statements prepared for it.
struct Writer<'a, 'c> {
    tx: &'a mut ::postgres::Transaction<'c>,
    statements: &'a HashMap<&'static str, Statement>,
}

impl Writer<'_, '_> {
    fn execute(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, ::postgres::Error> {
        match self.statements.get(sql) {
            Some(statement) => self.tx.execute(statement, params),
            None => self.tx.execute(sql, params),
        }
    }

    fn run(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        self.execute(sql, params).map_err(pg_err)
    }

    fn insert_utxos(
        &mut self,
        entries: &[(OutPoint, UtxoEntry)],
        context: impl FnOnce() -> String,
    ) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut txids = Vec::with_capacity(entries.len());
        let mut vouts = Vec::with_capacity(entries.len());
        let mut addresses = Vec::with_capacity(entries.len());
        let mut amounts = Vec::with_capacity(entries.len());
        let mut heights = Vec::with_capacity(entries.len());
        let mut coinbase = Vec::with_capacity(entries.len());
        for (outpoint, entry) in entries {
            txids.push(&outpoint.txid.as_bytes()[..]);
            vouts.push(i64::from(outpoint.vout));
            addresses.push(&entry.output.address.as_bytes()[..]);
            amounts.push(to_i64(entry.output.amount.to_units(), "amount")?);
            heights.push(to_i64(entry.height.0, "height")?);
            coinbase.push(entry.is_coinbase);
        }
        self.execute(
            UTXOS_INSERT,
            &[&txids, &vouts, &addresses, &amounts, &heights, &coinbase],
        )
        .map_err(|e| constraint(e, context))?;
        Ok(())
    }

    /// Deletes unspent outputs, which must all exist.
    fn delete_utxos(
        &mut self,
        entries: &[(OutPoint, UtxoEntry)],
        why: impl FnOnce() -> String,
    ) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let txids: Vec<&[u8]> = entries
            .iter()
            .map(|(o, _)| &o.txid.as_bytes()[..])
            .collect();
        let vouts: Vec<i64> = entries.iter().map(|(o, _)| i64::from(o.vout)).collect();
        let deleted = self.run(UTXOS_DELETE, &[&txids, &vouts])?;
        if deleted != entries.len() as u64 {
            return Err(mismatch(format!(
                "{} {} outputs, of which {} are in the stored UTXO set",
                why(),
                entries.len(),
                deleted
            )));
        }
        Ok(())
    }

    fn disconnect(&mut self, changes: &BlockChanges) -> Result<(), StoreError> {
        let hash = changes.block_hash;
        let height = to_i64(changes.height.0, "height")?;
        if self.run(ACTIVE_DELETE, &[&height, &&hash.as_bytes()[..]])? != 1 {
            return Err(mismatch(format!(
                "cannot disconnect {hash}: it is not the active block at height {}",
                changes.height.0
            )));
        }
        self.delete_utxos(&changes.created, || {
            format!("disconnecting {hash} deletes the")
        })?;
        self.insert_utxos(&changes.spent, || {
            format!("disconnecting {hash} restores outputs it spent")
        })?;
        self.run(TXS_DELETE, &[&height])?;
        self.run(HISTORY_DELETE, &[&height])?;
        self.run(UNDO_DELETE, &[&&hash.as_bytes()[..]])?;
        Ok(())
    }

    fn connect(&mut self, record: &ConnectRecord) -> Result<(), StoreError> {
        let changes = &record.changes;
        let hash = changes.block_hash;
        let hash_bytes = &hash.as_bytes()[..];
        let height = to_i64(changes.height.0, "height")?;
        self.delete_utxos(&changes.spent, || format!("block {hash} spends"))?;
        self.insert_utxos(&changes.created, || format!("block {hash} creates outputs"))?;
        self.execute(UNDO_INSERT, &[&hash_bytes, &changes.to_bytes()])
            .map_err(|e| constraint(e, || format!("undo data of {hash}")))?;
        if !record.txs.is_empty() {
            let txids: Vec<&[u8]> = record.txs.iter().map(|(t, _)| &t.as_bytes()[..]).collect();
            let positions: Vec<i64> = record.txs.iter().map(|(_, i)| i64::from(*i)).collect();
            self.execute(TXS_INSERT, &[&txids, &hash_bytes, &height, &positions])
                .map_err(|e| constraint(e, || format!("transactions of {hash}")))?;
        }
        if !record.history.is_empty() {
            let addresses: Vec<&[u8]> = record
                .history
                .iter()
                .map(|(a, _, _)| &a.as_bytes()[..])
                .collect();
            let positions: Vec<i64> = record
                .history
                .iter()
                .map(|(_, _, i)| i64::from(*i))
                .collect();
            let txids: Vec<&[u8]> = record
                .history
                .iter()
                .map(|(_, t, _)| &t.as_bytes()[..])
                .collect();
            self.execute(HISTORY_INSERT, &[&addresses, &height, &positions, &txids])
                .map_err(|e| constraint(e, || format!("history rows of {hash}")))?;
        }
        self.execute(ACTIVE_INSERT, &[&height, &hash_bytes])
            .map_err(|e| {
                constraint(e, || {
                    format!("cannot connect {hash} at height {}", changes.height.0)
                })
            })?;
        Ok(())
    }

    fn apply(&mut self, changes: &ChangeSet) -> Result<(), StoreError> {
        let headers = last_per_key(&changes.headers, |h| h.hash);
        if !headers.is_empty() {
            let mut hashes = Vec::with_capacity(headers.len());
            let mut heights = Vec::with_capacity(headers.len());
            let mut prev = Vec::with_capacity(headers.len());
            let mut bytes = Vec::with_capacity(headers.len());
            let mut work = Vec::with_capacity(headers.len());
            let mut seqs = Vec::with_capacity(headers.len());
            let mut has_body = Vec::with_capacity(headers.len());
            let mut invalid = Vec::with_capacity(headers.len());
            for record in headers {
                hashes.push(&record.hash.as_bytes()[..]);
                heights.push(to_i64(record.header.height.0, "header height")?);
                prev.push(&record.header.prev_hash.as_bytes()[..]);
                bytes.push(record.header.to_array().to_vec());
                work.push(record.chain_work.to_be_bytes().to_vec());
                seqs.push(to_i64(record.seq, "header seq")?);
                has_body.push(record.has_body);
                invalid.push(record.invalid);
            }
            self.run(
                HEADERS_PUT,
                &[
                    &hashes, &heights, &prev, &bytes, &work, &seqs, &has_body, &invalid,
                ],
            )?;
        }
        let bodies = last_per_key(&changes.bodies, |(hash, _)| *hash);
        if !bodies.is_empty() {
            let hashes: Vec<&[u8]> = bodies.iter().map(|(h, _)| &h.as_bytes()[..]).collect();
            let bytes: Vec<&[u8]> = bodies.iter().map(|(_, b)| b.as_slice()).collect();
            self.run(BODIES_PUT, &[&hashes, &bytes])?;
        }
        for block in &changes.disconnect {
            self.disconnect(block)?;
        }
        for record in &changes.connect {
            self.connect(record)?;
        }
        if !changes.mempool_remove.is_empty() {
            let txids: Vec<&[u8]> = changes
                .mempool_remove
                .iter()
                .map(|t| &t.as_bytes()[..])
                .collect();
            self.run(MEMPOOL_DELETE, &[&txids])?;
        }
        let added = last_per_key(&changes.mempool_add, |m| m.txid);
        if !added.is_empty() {
            let txids: Vec<&[u8]> = added.iter().map(|m| &m.txid.as_bytes()[..]).collect();
            let bytes: Vec<&[u8]> = added.iter().map(|m| m.bytes.as_slice()).collect();
            let seqs = added
                .iter()
                .map(|m| to_i64(m.seq, "mempool seq"))
                .collect::<Result<Vec<_>, _>>()?;
            self.run(MEMPOOL_PUT, &[&txids, &bytes, &seqs])?;
        }
        if let Some(tip) = &changes.tip {
            self.run(META_SET, &[&KEY_TIP, &tip.to_string()])?;
        }
        Ok(())
    }
}

fn utxo_row(row: &Row) -> Result<(OutPoint, UtxoEntry), StoreError> {
    UtxoRow {
        txid: column(row, 0)?,
        vout: column(row, 1)?,
        address: column(row, 2)?,
        amount: column(row, 3)?,
        height: column(row, 4)?,
        coinbase: column(row, 5)?,
    }
    .decode()
}

impl Store for PostgresStore {
    fn open(&mut self, network: &BlockHash) -> Result<(), StoreError> {
        // Statements prepared against an older schema must not outlive a migration.
        self.statements.clear();
        self.migrate_and_bind(network)
    }

    fn headers(&mut self) -> Result<Vec<HeaderRecord>, StoreError> {
        let rows = self.query(
            "SELECT hash, header, chain_work, seq, has_body, invalid FROM headers ORDER BY seq, hash",
            &[],
        )?;
        rows.iter()
            .map(|row| {
                HeaderRow {
                    hash: column(row, 0)?,
                    header: column(row, 1)?,
                    chain_work: column(row, 2)?,
                    seq: column(row, 3)?,
                    has_body: column(row, 4)?,
                    invalid: column(row, 5)?,
                }
                .decode()
            })
            .collect()
    }

    fn active_chain(&mut self) -> Result<Vec<BlockHash>, StoreError> {
        let rows = self.query("SELECT height, hash FROM active ORDER BY height", &[])?;
        let rows = rows
            .iter()
            .map(|row| {
                Ok((
                    column::<i64>(row, 0)?,
                    schema::block_hash(column(row, 1)?, "active hash")?,
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        schema::check_active(rows)
    }

    fn tip(&mut self) -> Result<Option<BlockHash>, StoreError> {
        self.meta_get(KEY_TIP)?
            .map(|text| schema::parse_meta_hash(&text, KEY_TIP))
            .transpose()
    }

    fn block(&mut self, hash: &BlockHash) -> Result<Option<Vec<u8>>, StoreError> {
        let rows = self.query(
            "SELECT bytes FROM bodies WHERE hash = $1",
            &[&&hash.as_bytes()[..]],
        )?;
        rows.first().map(|row| column(row, 0)).transpose()
    }

    fn undo(&mut self, hash: &BlockHash) -> Result<Option<BlockChanges>, StoreError> {
        let rows = self.query(
            "SELECT bytes FROM undo WHERE hash = $1",
            &[&&hash.as_bytes()[..]],
        )?;
        rows.first()
            .map(|row| schema::decode_undo(hash, column(row, 0)?))
            .transpose()
    }

    fn utxo(&mut self, outpoint: &OutPoint) -> Result<Option<UtxoEntry>, StoreError> {
        let rows = self.query(
            UTXO_GET,
            &[&&outpoint.txid.as_bytes()[..], &i64::from(outpoint.vout)],
        )?;
        rows.first()
            .map(|row| utxo_row(row).map(|(_, entry)| entry))
            .transpose()
    }

    fn utxos(&mut self) -> Result<Vec<(OutPoint, UtxoEntry)>, StoreError> {
        let rows = self.query(UTXOS_ALL, &[])?;
        rows.iter().map(utxo_row).collect()
    }

    fn address_utxos(
        &mut self,
        address: &PubkeyHash,
    ) -> Result<Vec<(OutPoint, UtxoEntry)>, StoreError> {
        let rows = self.query(UTXOS_OF, &[&&address.as_bytes()[..]])?;
        rows.iter().map(utxo_row).collect()
    }

    fn tx_location(&mut self, txid: &Txid) -> Result<Option<TxLocation>, StoreError> {
        let rows = self.query(
            "SELECT block_hash, height, idx FROM txs WHERE txid = $1",
            &[&&txid.as_bytes()[..]],
        )?;
        rows.first()
            .map(|row| {
                schema::decode_tx_location(column(row, 0)?, column(row, 1)?, column(row, 2)?)
            })
            .transpose()
    }

    fn txids(&mut self) -> Result<Vec<Txid>, StoreError> {
        let rows = self.query("SELECT txid FROM txs ORDER BY height, idx", &[])?;
        rows.iter()
            .map(|row| schema::txid(column(row, 0)?, "tx txid"))
            .collect()
    }

    fn address_history(
        &mut self,
        address: &PubkeyHash,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<HistoryRow>, StoreError> {
        // Clamped: nothing has 2^63 rows.
        let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let rows = self.query(
            "SELECT txid, height, idx FROM history WHERE address = $1 \
             ORDER BY height DESC, idx DESC LIMIT $2 OFFSET $3",
            &[&&address.as_bytes()[..], &clamp(limit), &clamp(offset)],
        )?;
        rows.iter()
            .map(|row| schema::decode_history(column(row, 0)?, column(row, 1)?, column(row, 2)?))
            .collect()
    }

    fn mempool(&mut self) -> Result<Vec<MempoolRecord>, StoreError> {
        let rows = self.query(
            "SELECT txid, bytes, seq FROM mempool ORDER BY seq, txid",
            &[],
        )?;
        rows.iter()
            .map(|row| {
                Ok(MempoolRecord {
                    txid: schema::txid(column(row, 0)?, "mempool txid")?,
                    bytes: column(row, 1)?,
                    seq: schema::to_u64(column(row, 2)?, "mempool seq")?,
                })
            })
            .collect()
    }

    fn commit_all(&mut self, changes: &[ChangeSet]) -> Result<(), StoreError> {
        if changes.iter().all(ChangeSet::is_empty) {
            return Ok(());
        }
        for sql in COMMIT_STATEMENTS {
            self.statement(sql)?;
        }
        let mut tx = open_client(&mut self.client)?
            .transaction()
            .map_err(pg_err)?;
        let mut writer = Writer {
            tx: &mut tx,
            statements: &self.statements,
        };
        // On any error `tx` is dropped unfinished, which rolls every change set back.
        for cs in changes {
            writer.apply(cs)?;
        }
        tx.commit().map_err(pg_err)
    }

    fn connector(&self) -> Option<crate::store::Connector> {
        let (url, schema) = (self.url.clone(), self.schema.clone());
        Some(std::sync::Arc::new(move || {
            let store = PostgresStore::connect_with_schema(&url, schema.as_deref())?;
            Ok(Box::new(store) as Box<dyn Store>)
        }))
    }

    fn reset(&mut self, fresh: &ChangeSet) -> Result<(), StoreError> {
        for sql in COMMIT_STATEMENTS {
            self.statement(sql)?;
        }
        let mut tx = open_client(&mut self.client)?
            .transaction()
            .map_err(pg_err)?;
        // On any error `tx` is dropped unfinished, which rolls the deletions back too.
        let wipe: String = RESET_TABLES
            .iter()
            .map(|table| format!("DELETE FROM {table};"))
            .collect();
        tx.batch_execute(&wipe).map_err(pg_err)?;
        tx.execute("DELETE FROM meta WHERE key = $1", &[&KEY_TIP])
            .map_err(pg_err)?;
        let mut writer = Writer {
            tx: &mut tx,
            statements: &self.statements,
        };
        writer.apply(fresh)?;
        tx.commit().map_err(pg_err)
    }
}
