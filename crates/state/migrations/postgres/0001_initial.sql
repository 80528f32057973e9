-- ferrochain store schema, version 1 (PostgreSQL). The SQLite twin is ../sqlite/0001_initial.sql: same tables,
-- columns and keys; BYTEA here is BLOB there, BIGINT is INTEGER, and BOOLEAN is a 0/1 INTEGER.
-- The `meta` table (schema_version, network, tip) is created by the migration runner itself.

-- The block index: every header that passed its checks, active or not.
CREATE TABLE headers (
    hash       BYTEA PRIMARY KEY,  -- 32 bytes
    height     BIGINT NOT NULL,
    prev_hash  BYTEA NOT NULL,     -- 32 bytes
    header     BYTEA NOT NULL,     -- 96 bytes, canonical encoding
    chain_work BYTEA NOT NULL,     -- 32 bytes, big-endian
    seq        BIGINT NOT NULL,    -- first-seen order (fork-choice tie-break)
    has_body   BOOLEAN NOT NULL,
    invalid    BOOLEAN NOT NULL
);

-- Block bodies (canonical encoding).
CREATE TABLE bodies (
    hash  BYTEA PRIMARY KEY,
    bytes BYTEA NOT NULL
);

-- The active chain: height -> block hash.
CREATE TABLE active (
    height BIGINT PRIMARY KEY,
    hash   BYTEA NOT NULL UNIQUE
);

-- Undo data of every active block (the encoded BlockChanges).
CREATE TABLE undo (
    hash  BYTEA PRIMARY KEY,
    bytes BYTEA NOT NULL
);

-- The UTXO set.
CREATE TABLE utxos (
    txid     BYTEA NOT NULL,       -- 32 bytes
    vout     BIGINT NOT NULL,
    address  BYTEA NOT NULL,       -- 20-byte public-key hash
    amount   BIGINT NOT NULL,      -- smallest units, <= 2^53 - 1
    height   BIGINT NOT NULL,
    coinbase BOOLEAN NOT NULL,
    PRIMARY KEY (txid, vout)
);
CREATE INDEX utxos_address ON utxos (address);

-- Transaction index of the active chain.
CREATE TABLE txs (
    txid       BYTEA PRIMARY KEY,
    block_hash BYTEA NOT NULL,
    height     BIGINT NOT NULL,
    idx        BIGINT NOT NULL     -- position in the block
);
CREATE INDEX txs_height ON txs (height);

-- Address history of the active chain: one row per (address, transaction).
CREATE TABLE history (
    address BYTEA NOT NULL,
    height  BIGINT NOT NULL,
    idx     BIGINT NOT NULL,
    txid    BYTEA NOT NULL,
    PRIMARY KEY (address, height, idx)
);
CREATE INDEX history_height ON history (height);

-- The persisted mempool.
CREATE TABLE mempool (
    txid  BYTEA PRIMARY KEY,
    bytes BYTEA NOT NULL,
    seq   BIGINT NOT NULL          -- arrival order
);
