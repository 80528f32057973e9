-- ferrochain store schema, version 1 (SQLite). The PostgreSQL twin is ../postgres/0001_initial.sql: same tables,
-- columns and keys; BLOB here is BYTEA there, INTEGER is BIGINT, and the 0/1 flags are BOOLEAN.
-- The `meta` table (schema_version, network, tip) is created by the migration runner itself.

-- The block index: every header that passed its checks, active or not.
CREATE TABLE headers (
    hash       BLOB PRIMARY KEY,   -- 32 bytes
    height     INTEGER NOT NULL,
    prev_hash  BLOB NOT NULL,      -- 32 bytes
    header     BLOB NOT NULL,      -- 96 bytes, canonical encoding
    chain_work BLOB NOT NULL,      -- 32 bytes, big-endian
    seq        INTEGER NOT NULL,   -- first-seen order (fork-choice tie-break)
    has_body   INTEGER NOT NULL,   -- 0 / 1
    invalid    INTEGER NOT NULL    -- 0 / 1
);

-- Block bodies (canonical encoding).
CREATE TABLE bodies (
    hash  BLOB PRIMARY KEY,
    bytes BLOB NOT NULL
);

-- The active chain: height -> block hash.
CREATE TABLE active (
    height INTEGER PRIMARY KEY,
    hash   BLOB NOT NULL UNIQUE
);

-- Undo data of every active block (the encoded BlockChanges).
CREATE TABLE undo (
    hash  BLOB PRIMARY KEY,
    bytes BLOB NOT NULL
);

-- The UTXO set.
CREATE TABLE utxos (
    txid     BLOB NOT NULL,        -- 32 bytes
    vout     INTEGER NOT NULL,
    address  BLOB NOT NULL,        -- 20-byte public-key hash
    amount   INTEGER NOT NULL,     -- smallest units, <= 2^53 - 1
    height   INTEGER NOT NULL,
    coinbase INTEGER NOT NULL,     -- 0 / 1
    PRIMARY KEY (txid, vout)
) WITHOUT ROWID;
CREATE INDEX utxos_address ON utxos (address);

-- Transaction index of the active chain.
CREATE TABLE txs (
    txid       BLOB PRIMARY KEY,
    block_hash BLOB NOT NULL,
    height     INTEGER NOT NULL,
    idx        INTEGER NOT NULL    -- position in the block
) WITHOUT ROWID;
CREATE INDEX txs_height ON txs (height);

-- Address history of the active chain: one row per (address, transaction).
CREATE TABLE history (
    address BLOB NOT NULL,
    height  INTEGER NOT NULL,
    idx     INTEGER NOT NULL,
    txid    BLOB NOT NULL,
    PRIMARY KEY (address, height, idx)
) WITHOUT ROWID;
CREATE INDEX history_height ON history (height);

-- The persisted mempool.
CREATE TABLE mempool (
    txid  BLOB PRIMARY KEY,
    bytes BLOB NOT NULL,
    seq   INTEGER NOT NULL         -- arrival order
);
