#!/usr/bin/env bash
# Profiles one bench run and cuts the profile at the bench's phases: where the machine's
# time goes while each hot path is measured — the server, the database (its own
# processes), the load generator and the kernel alike, since they share the cores.
#
#   scripts/profile-bench.sh [bench options]      e.g. --quick, or --requests 2000
#   BENCH_DATABASE_URL=postgres://... scripts/profile-bench.sh
#
# Needs `perf` (Debian: linux-perf) and permission to sample every CPU (root, or
# kernel.perf_event_paranoid <= 0). Writes into target/profile/ (PROFILE_DIR): the bench's
# output, perf.data, and per phase a folded-stack file (`<phase>.folded`, the input of
# any flame-graph renderer, e.g. `inferno-flamegraph < x.folded > x.svg`) and a summary
# (`summary.txt`, also printed).
set -euo pipefail
cd "$(dirname "$0")/.."

out="${PROFILE_DIR:-target/profile}"
mkdir -p "$out"
command -v perf >/dev/null || { echo "profile-bench: perf is missing (apt-get install linux-perf)" >&2; exit 1; }

# Line tables only: symbols and inlined frames for the profile, the same optimised code.
CARGO_PROFILE_RELEASE_DEBUG=line-tables-only cargo build --release --example bench

# -k CLOCK_REALTIME: samples carry the clock the bench stamps its phase marks with.
# DWARF call chains: the release build keeps no frame pointers. A run of the full bench
# writes about 1 GB here.
perf record --quiet -a --call-graph dwarf,16384 -F 149 -k CLOCK_REALTIME -o "$out/perf.data" -- \
  "${CARGO_TARGET_DIR:-target}/release/examples/bench" "$@" >"$out/bench.txt" 2>"$out/bench.stderr" || {
  echo "profile-bench: the bench failed; see $out/bench.stderr" >&2
  exit 1
}
perf script -i "$out/perf.data" -F comm,tid,time,ip,sym,dso 2>/dev/null \
  | python3 scripts/profile_phases.py "$out" | tee "$out/summary.txt"
