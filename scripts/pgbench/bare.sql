-- The bench's bare transaction (examples/bench/bare.rs): BEGIN, two inserts of about a
-- start's two rows, COMMIT.
BEGIN;
INSERT INTO pgbench_bare_a (id, k, body, at_ms) VALUES (gen_random_uuid()::text, 'key-' || gen_random_uuid()::text, repeat('x', 700), 1);
INSERT INTO pgbench_bare_b (id, k, body, at_ms) VALUES (gen_random_uuid()::text, 'key-' || gen_random_uuid()::text, repeat('x', 300), 1);
COMMIT;
