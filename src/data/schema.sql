-- The ledger's data tables (README "Data files"): created when a database first gets data, so an
-- empty-mode ledger stays exactly as it was. Every step and chunk is recorded in the transaction
-- that writes it, so a killed run resumes where it stopped and never writes a row twice.
CREATE TABLE IF NOT EXISTS engineer_sim.data_settings (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    scale double precision NOT NULL CHECK (scale > 0),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The last n each counter has reached (row n of table t has id engineer_sim.uid('t', n)).
CREATE TABLE IF NOT EXISTS engineer_sim.data_counters (
    name varchar(100) PRIMARY KEY,
    n bigint NOT NULL
);

-- A phase is the base seed, one change's backfill, or one sim day's growth.
CREATE TABLE IF NOT EXISTS engineer_sim.data_steps (
    phase varchar(140) NOT NULL,
    step integer NOT NULL,
    name varchar(100) NOT NULL,
    source text NOT NULL,
    first_n bigint NOT NULL,
    last_n bigint NOT NULL,
    done boolean NOT NULL DEFAULT false,
    rows_written bigint,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    PRIMARY KEY (phase, step)
);

CREATE TABLE IF NOT EXISTS engineer_sim.data_chunks (
    phase varchar(140) NOT NULL,
    step integer NOT NULL,
    lo bigint NOT NULL,
    rows_written bigint NOT NULL,
    PRIMARY KEY (phase, step, lo)
);

-- Sim days whose growth (and maintenance) is done.
CREATE TABLE IF NOT EXISTS engineer_sim.data_days (
    day integer PRIMARY KEY,
    rows_written bigint NOT NULL,
    finished_at timestamptz NOT NULL DEFAULT now()
);

-- The seed's plain indexes, dropped for the load and built after it (README "A living database"):
-- a row stays until its index is built, so a killed seed's next run builds what is left.
CREATE TABLE IF NOT EXISTS engineer_sim.deferred_indexes (
    name text PRIMARY KEY,
    definition text NOT NULL
);

-- Each workload run and the statistics it is judged against (deltas over the run).
CREATE TABLE IF NOT EXISTS engineer_sim.workloads (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sim_day integer NOT NULL,
    clients integer NOT NULL,
    duration_ms bigint NOT NULL,
    transactions bigint NOT NULL,
    tps double precision NOT NULL,
    latency_ms double precision,
    queries integer NOT NULL,
    finished_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS engineer_sim.index_usage (
    workload_id integer NOT NULL REFERENCES engineer_sim.workloads(id) ON DELETE CASCADE,
    index_name text NOT NULL,
    table_name text NOT NULL,
    idx_scan bigint NOT NULL,
    PRIMARY KEY (workload_id, index_name)
);

CREATE TABLE IF NOT EXISTS engineer_sim.table_usage (
    workload_id integer NOT NULL REFERENCES engineer_sim.workloads(id) ON DELETE CASCADE,
    table_name text NOT NULL,
    seq_scan bigint NOT NULL,
    seq_tup_read bigint NOT NULL,
    idx_scan bigint NOT NULL,
    n_live_tup bigint NOT NULL,
    n_dead_tup bigint NOT NULL,
    total_bytes bigint NOT NULL,
    PRIMARY KEY (workload_id, table_name)
);

-- Findings proven by statistics or measured (README "Mistake kinds") need their own verification
-- labels.
ALTER TABLE engineer_sim.findings DROP CONSTRAINT IF EXISTS findings_verification_check;
ALTER TABLE engineer_sim.findings ADD CONSTRAINT findings_verification_check
    CHECK (verification IN ('catalog', 'ledger', 'declared', 'statistics', 'measured'));

-- What each query of a workload did when it ran alone before the mix: the indexes it scanned
-- and the tables it read sequentially (the proof of dropped_used_index, README "Mistake kinds").
CREATE TABLE IF NOT EXISTS engineer_sim.query_usage (
    workload_id integer NOT NULL REFERENCES engineer_sim.workloads(id) ON DELETE CASCADE,
    query text NOT NULL,
    relation text NOT NULL,
    access varchar(5) NOT NULL CHECK (access IN ('index', 'seq')),
    PRIMARY KEY (workload_id, query, relation, access)
);
