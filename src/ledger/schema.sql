-- The engineer_sim ledger: marks a database as a simulation target and records, in the same
-- transaction as each change's DDL, what was applied and which findings it opened or closed.
-- Its own tables are kept clean (indexed keys, timestamptz); the audit ignores this schema.
CREATE SCHEMA engineer_sim;
COMMENT ON SCHEMA engineer_sim IS 'engineer-sim ledger: this database is a simulation target';

CREATE TABLE engineer_sim.marker (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    roadmap varchar(100) NOT NULL,
    seed bigint NOT NULL,
    start_date date NOT NULL,
    assign varchar(10) NOT NULL DEFAULT 'roadmap' CHECK (assign IN ('roadmap', 'weighted')),
    tool_version varchar(40) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE engineer_sim.changes (
    change_id varchar(100) PRIMARY KEY,
    seq integer NOT NULL UNIQUE,
    week integer NOT NULL CHECK (week BETWEEN 0 AND 53),
    day varchar(3) NOT NULL,
    sim_day integer NOT NULL,
    sim_date date NOT NULL,
    author varchar(40) NOT NULL,
    title text NOT NULL,
    seed bigint NOT NULL,
    sql_sha256 char(64) NOT NULL,
    applied_sql text NOT NULL,
    clean_sql text NOT NULL,
    slips jsonb NOT NULL DEFAULT '[]'::jsonb,
    status varchar(20) NOT NULL CHECK (status IN ('applied')),
    started_at timestamptz NOT NULL,
    finished_at timestamptz NOT NULL
);

CREATE TABLE engineer_sim.findings (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind varchar(40) NOT NULL,
    object text NOT NULL,
    origin varchar(12) NOT NULL CHECK (origin IN ('base', 'scripted', 'slip', 'incidental')),
    verification varchar(10) NOT NULL CHECK (verification IN ('catalog', 'ledger', 'declared')),
    opened_by varchar(100) NOT NULL REFERENCES engineer_sim.changes(change_id) ON DELETE CASCADE,
    closed_by varchar(100) REFERENCES engineer_sim.changes(change_id) ON DELETE SET NULL,
    excuse text
);
CREATE INDEX findings_opened_by ON engineer_sim.findings(opened_by);
CREATE INDEX findings_closed_by ON engineer_sim.findings(closed_by);
CREATE UNIQUE INDEX findings_open_once ON engineer_sim.findings(kind, object) WHERE closed_by IS NULL;

-- Every journal event, written in the transaction of the change it belongs to, so that
-- state/journal.jsonl can always be rebuilt from here.
CREATE TABLE engineer_sim.events (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event jsonb NOT NULL
);
