-- bpelgate schema, version 1 (PostgreSQL).
--
-- `bpelgate db init|migrate` applies this file in one transaction under an advisory lock; a DBA
-- may apply it by hand instead (psql -1 -f 001_initial.sql), into the schema the server's
-- search_path selects. The last statement records the version, so the server accepts the
-- result as migrated.
--
-- The store treats state, waits, job details and bodies as opaque bytes written by the server.

CREATE TABLE instances (
    id          BIGINT PRIMARY KEY,
    process     TEXT   NOT NULL,  -- process QName, Clark notation {ns}local
    version     BIGINT NOT NULL,
    status      TEXT   NOT NULL,  -- active | suspended | completed | faulted | terminated
    created_ms  BIGINT NOT NULL,  -- epoch milliseconds
    modified_ms BIGINT NOT NULL,
    step        BIGINT NOT NULL,  -- steps committed so far
    state       BYTEA,            -- NULL once final
    waits       BYTEA,            -- NULL when waiting for no message
    fault       TEXT              -- uncaught fault QName of a faulted instance
);
CREATE INDEX instances_status ON instances (status);
CREATE INDEX instances_process ON instances (process, version);
CREATE INDEX instances_created ON instances (created_ms);

CREATE TABLE jobs (
    id         BIGINT  PRIMARY KEY,
    due_ms     BIGINT  NOT NULL,
    node       TEXT,              -- owning node; NULL: any node
    instance   BIGINT,
    process    TEXT    NOT NULL,
    version    BIGINT  NOT NULL,
    kind       TEXT    NOT NULL,  -- timer | invoke | resume | expire
    details    BYTEA   NOT NULL,
    retries    INT     NOT NULL DEFAULT 0,
    parked     BOOLEAN NOT NULL DEFAULT false,  -- given up on; kept for operators
    last_error TEXT
);
CREATE INDEX jobs_due ON jobs (parked, due_ms);
CREATE INDEX jobs_instance ON jobs (instance);

-- Inbound one-way messages that matched no instance yet.
CREATE TABLE messages (
    id           BIGINT PRIMARY KEY,
    process      TEXT   NOT NULL,
    version      BIGINT NOT NULL,
    partner_link TEXT   NOT NULL,
    operation    TEXT   NOT NULL,
    body         BYTEA  NOT NULL,
    received_ms  BIGINT NOT NULL,
    expires_ms   BIGINT NOT NULL
);

CREATE TABLE events (
    seq      BIGSERIAL PRIMARY KEY,
    instance BIGINT,              -- NULL for process-level events
    process  TEXT   NOT NULL,
    version  BIGINT NOT NULL,
    step     BIGINT NOT NULL,
    ts_ms    BIGINT NOT NULL,
    kind     TEXT   NOT NULL,     -- ODE event type name
    body     BYTEA  NOT NULL      -- the event, JSON
);
CREATE INDEX events_instance ON events (instance, seq);

CREATE TABLE nodes (
    id           TEXT   PRIMARY KEY,
    heartbeat_ms BIGINT NOT NULL
);

-- Instances, jobs and messages share one id sequence; nodes reserve blocks of it.
CREATE TABLE id_counter (
    name TEXT   PRIMARY KEY,
    next BIGINT NOT NULL
);
INSERT INTO id_counter (name, next) VALUES ('ids', 1);

CREATE TABLE schema_version (
    version    INT    NOT NULL,
    applied_ms BIGINT NOT NULL
);
INSERT INTO schema_version (version, applied_ms)
VALUES (1, (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT);
