-- The bare transaction's scratch tables, as the bench makes its own (examples/bench/bare.rs):
-- a primary key and one secondary index each.
SET client_min_messages = warning;
DROP TABLE IF EXISTS pgbench_bare_a, pgbench_bare_b;
CREATE TABLE pgbench_bare_a (id VARCHAR(36) PRIMARY KEY, k VARCHAR(64) NOT NULL, body TEXT NOT NULL, at_ms BIGINT NOT NULL);
CREATE INDEX ix_pgbench_bare_a_k ON pgbench_bare_a (k);
CREATE TABLE pgbench_bare_b (id VARCHAR(36) PRIMARY KEY, k VARCHAR(64) NOT NULL, body TEXT NOT NULL, at_ms BIGINT NOT NULL);
CREATE INDEX ix_pgbench_bare_b_k ON pgbench_bare_b (k);
