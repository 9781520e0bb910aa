#!/usr/bin/env bash
# What PostgreSQL alone does with the bench's bare transaction, a new start's one statement
# and the vendor GET's one read: pgbench (a C client; no HTTP, no Rust driver) runs each
# the way the bench's load generator does (32 clients, prepared statements), on the
# machine the bench ran on. So the server's figures can be read against the database's
# own: the start as a share of what its statement costs PostgreSQL, the GET against
# PostgreSQL's own rate of such reads.
#
#   scripts/pgbench-ceilings.sh DATABASE_URL [seconds per script, 10]
#
# DATABASE_URL: a PostgreSQL database the bench has run on (the bench leaves its tenant and
# assessments there); libpq reads it, so `?sslmode=disable` works as it does for the
# bench. Writes scratch tables pgbench_bare_a/b (dropped at the end) and new assessments in
# the bench's tenant. Needs pgbench and psql (Debian: postgresql-client). The integration
# tests run these statements on the current schema (tests/api/pgbench_scripts.rs).
set -euo pipefail
cd "$(dirname "$0")"

url="${1:?usage: scripts/pgbench-ceilings.sh DATABASE_URL [seconds]}"
seconds="${2:-10}"
for tool in pgbench psql; do
  command -v "$tool" >/dev/null || { echo "pgbench-ceilings: $tool is missing (apt-get install postgresql-client)" >&2; exit 1; }
done

tenant=$(psql "$url" -Atc "SELECT id FROM tenants ORDER BY created_at_ms LIMIT 1")
assessment=$(psql "$url" -Atc "SELECT id FROM assessments ORDER BY created_at_ms LIMIT 1")
if [ -z "$tenant" ] || [ -z "$assessment" ]; then
  echo "pgbench-ceilings: no tenant or no assessment in that database: run the bench on it first" >&2
  exit 1
fi

psql -q "$url" -v ON_ERROR_STOP=1 -f pgbench/tables.sql
trap 'psql -q "$url" -c "DROP TABLE IF EXISTS pgbench_bare_a, pgbench_bare_b" >/dev/null' EXIT

tls=$(psql "$url" -Atc "SELECT CASE WHEN ssl THEN 'TLS' ELSE 'no TLS' END FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
echo "pgbench, 32 clients, 2 threads, prepared statements, ${seconds} s each; ${tls}"
for script in bare start get; do
  output=$(pgbench -n -M prepared -c 32 -j 2 -T "$seconds" \
    -D tenant="$tenant" -D assessment="$assessment" -f "pgbench/$script.sql" "$url" 2>&1) || true
  rate=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$output")
  if [ -z "$rate" ] || grep -q "error:\|aborted" <<<"$output"; then
    echo "pgbench-ceilings: pgbench failed on pgbench/$script.sql:" >&2
    echo "$output" >&2
    exit 1
  fi
  printf '  %-6s %10.0f/s\n' "$script" "$rate"
done
