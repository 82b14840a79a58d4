-- translog database schema, version 2 (stored in PRAGMA user_version).
--
-- Instants are stored as two integers, seconds since the Unix epoch and the
-- nanoseconds within that second, because nanoseconds alone in a 64-bit
-- integer end in the year 2262 and Worker timestamps may reach 9999.

-- Keyed by the uniqueness rule of the write API: one row per transaction,
-- instant, stage and status. Inserts rely on this key, never on a prior read.
-- The table has no rowid, so the key is its only b-tree: each insert changes
-- one b-tree, and the entries of a transaction sit together on disk.
-- Entries with the same instant are read in the order of received_at_ns.
CREATE TABLE entries (
    transaction_id   TEXT    NOT NULL,
    timestamp_s      INTEGER NOT NULL,
    timestamp_nanos  INTEGER NOT NULL CHECK (timestamp_nanos BETWEEN 0 AND 999999999),
    timestamp_sent   TEXT    NOT NULL,
    -- The value checks are OR chains, not IN lists, because SQLite (3.54) builds
    -- a temporary b-tree for an IN list of more than two constants on every
    -- insert, which doubled the storage thread's instructions per entry.
    stage            TEXT    NOT NULL CHECK (stage = 'WORKER_INIT' OR stage = 'WORKER_DECOMPRESS'
                                             OR stage = 'WORKER_DEENCRYPT' OR stage = 'WORKER_LOAD'
                                             OR stage = 'WORKER_END'),
    status           TEXT    NOT NULL CHECK (status = 'SUCCESS' OR status = 'WARNING'
                                             OR status = 'FAIL' OR status = 'FATAL'),
    message          TEXT,
    received_at_ns   INTEGER NOT NULL,
    reported_by      TEXT    NOT NULL,
    PRIMARY KEY (transaction_id, timestamp_s, timestamp_nanos, stage, status)
) WITHOUT ROWID;

-- One row per transaction, kept up to date in the same database transaction
-- as its entries, so that listing and filtering by outcome never scan entries.
CREATE TABLE transactions (
    transaction_id         TEXT    PRIMARY KEY,
    first_timestamp_s      INTEGER NOT NULL,
    first_timestamp_nanos  INTEGER NOT NULL,
    last_timestamp_s       INTEGER NOT NULL,
    last_timestamp_nanos   INTEGER NOT NULL,
    last_stage             TEXT    NOT NULL,
    last_status            TEXT    NOT NULL,
    last_message           TEXT,
    entry_count            INTEGER NOT NULL,
    last_received_at_ns    INTEGER NOT NULL,
    has_fatal              INTEGER NOT NULL,
    has_end                INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX transactions_by_activity
    ON transactions (last_received_at_ns DESC, transaction_id DESC);

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL UNIQUE,
    password_hash  TEXT    NOT NULL,
    role           TEXT    NOT NULL CHECK (role IN ('worker', 'reader', 'admin')),
    timezone       TEXT,
    enabled        INTEGER NOT NULL DEFAULT 1,
    created_at_ns  INTEGER NOT NULL
);

-- A counter that every change to a user bumps, in the same database
-- transaction, whichever process makes it. When the counter moves, the server
-- checks its cache of verified credentials against the users table.
CREATE TABLE credentials_generation (
    only_row    INTEGER PRIMARY KEY CHECK (only_row = 1),
    generation  INTEGER NOT NULL
);
INSERT INTO credentials_generation (only_row, generation) VALUES (1, 0);

CREATE TRIGGER users_inserted AFTER INSERT ON users BEGIN
    UPDATE credentials_generation SET generation = generation + 1;
END;
CREATE TRIGGER users_updated AFTER UPDATE ON users BEGIN
    UPDATE credentials_generation SET generation = generation + 1;
END;
CREATE TRIGGER users_deleted AFTER DELETE ON users BEGIN
    UPDATE credentials_generation SET generation = generation + 1;
END;

-- The position of the last stalled alert that the server queued: the
-- receive time and id of its transaction, in the order of the list. A server
-- with a notify command alerts, after a restart, the transactions that
-- stalled after it, so that a stall while no server ran is alerted once. A
-- server without a notify command removes the row, so that alerts resume from
-- the present when a command is set again. The table came after version 2
-- was released: `serve` adds it to a version 2 database that lacks it, and
-- older builds ignore it.
CREATE TABLE IF NOT EXISTS stall_alert_position (
    only_row             INTEGER PRIMARY KEY CHECK (only_row = 1),
    last_received_at_ns  INTEGER NOT NULL,
    transaction_id       TEXT    NOT NULL
);

-- The fatal alerts of a server with a notify command that have not run yet.
-- The storage thread adds a row in the commit that turns a transaction fatal,
-- and the row is removed once the command for it has run. So a crash, or a
-- stop with alerts still waiting, leaves the rows, and the next start runs
-- them. The table came after version 2 was released: `serve` adds it to a
-- version 2 database that lacks it, and older builds ignore it.
-- A row is keyed by the receive time of the entry that turned its
-- transaction fatal too, so that the alert of a log deleted and written again
-- is removed only once its own command has run.
CREATE TABLE IF NOT EXISTS pending_fatal_alerts (
    transaction_id  TEXT    NOT NULL,
    received_at_ns  INTEGER NOT NULL,
    stage           TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    message         TEXT,
    PRIMARY KEY (transaction_id, received_at_ns)
) WITHOUT ROWID;

-- One row that the storage thread rewrites, about once a second, after a
-- batch failed to commit, to find out when storing works again.
CREATE TABLE health_probe (
    only_row       INTEGER PRIMARY KEY CHECK (only_row = 1),
    checked_at_ns  INTEGER NOT NULL
);

-- A random token that `serve` writes at its start and keeps in memory. Once
-- a second, the server reads the token through a new connection: a file
-- copied over the database while the server runs, such as a backup, lacks
-- the row or has another token. `translog backup` removes the row from its
-- copy. The table came after version 2 was released: `serve` adds it to a
-- version 2 database that lacks it, and older builds ignore it.
CREATE TABLE IF NOT EXISTS server_instance (
    only_row  INTEGER PRIMARY KEY CHECK (only_row = 1),
    token     BLOB    NOT NULL
);
