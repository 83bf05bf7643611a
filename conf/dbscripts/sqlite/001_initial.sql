-- bpelgate schema for SQLite, version 1.
--
-- `bpelgate db init|migrate` (or the server at start-up, unless told not to) applies every script
-- numbered above the version recorded in schema_version, all in one transaction. To apply it by
-- hand: sqlite3 bpelgate.db < 001_initial.sql (inside BEGIN IMMEDIATE; ... COMMIT;).
-- The same logical schema exists for PostgreSQL under conf/dbscripts/postgresql/.

-- One row per instance: everything needed to resume it. `state` and `waits` are opaque blobs
-- written by the engine; `status` is one of active, suspended, completed, faulted, terminated.
CREATE TABLE instances (
    id          INTEGER PRIMARY KEY,
    process     TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    status      TEXT    NOT NULL,
    created_ms  INTEGER NOT NULL,
    modified_ms INTEGER NOT NULL,
    step        INTEGER NOT NULL,
    state       BLOB,
    waits       BLOB,
    fault       TEXT
);
CREATE INDEX instances_status ON instances (status);
CREATE INDEX instances_process ON instances (process, version);
CREATE INDEX instances_created ON instances (created_ms);

-- Durable jobs (timers, outbound invokes, resumes, message expiry). `node` NULL: any node may
-- run it. `kind` is one of timer, invoke, resume, expire; `parked` 1: given up, kept for operators.
CREATE TABLE jobs (
    id         INTEGER PRIMARY KEY,
    due_ms     INTEGER NOT NULL,
    node       TEXT,
    instance   INTEGER,
    process    TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    details    BLOB    NOT NULL,
    retries    INTEGER NOT NULL DEFAULT 0,
    parked     INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX jobs_due ON jobs (parked, due_ms);
CREATE INDEX jobs_instance ON jobs (instance);

-- Inbound messages that matched no instance yet, kept until matched or expired.
CREATE TABLE messages (
    id           INTEGER PRIMARY KEY,
    process      TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    partner_link TEXT    NOT NULL,
    operation    TEXT    NOT NULL,
    body         BLOB    NOT NULL,
    received_ms  INTEGER NOT NULL,
    expires_ms   INTEGER NOT NULL
);

-- Execution events (ODE event types), in emission order per instance.
CREATE TABLE events (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    instance INTEGER,
    process  TEXT    NOT NULL,
    version  INTEGER NOT NULL,
    step     INTEGER NOT NULL,
    ts_ms    INTEGER NOT NULL,
    kind     TEXT    NOT NULL,
    body     BLOB    NOT NULL
);
CREATE INDEX events_instance ON events (instance, seq);

-- Node heartbeats.
CREATE TABLE nodes (
    id           TEXT PRIMARY KEY,
    heartbeat_ms INTEGER NOT NULL
);

-- The id sequence shared by instances, jobs and messages: `next` is the first id not handed out.
CREATE TABLE id_counter (
    name TEXT PRIMARY KEY,
    next INTEGER NOT NULL
);
INSERT INTO id_counter (name, next) VALUES ('ids', 1);

-- One row per applied script; the schema version is the highest.
CREATE TABLE schema_version (
    version    INTEGER NOT NULL,
    applied_ms INTEGER NOT NULL
);
INSERT INTO schema_version (version, applied_ms)
    VALUES (1, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
