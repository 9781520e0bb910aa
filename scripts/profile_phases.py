#!/usr/bin/env python3
"""Cuts a whole-machine perf profile of one bench run into the bench's phases.

Reads `perf script -F comm,tid,time,ip,sym,dso` (with call chains) on stdin and the bench's
phase marks ("[empty] assessment.start, new (clock 1795000000.123456)") from
<dir>/bench.stderr. Prints, per phase, where the cores' time went — by owner (the database
server, the server's handlers, the delivery engine, the load generator, ...) and by the
project's own functions, inclusive — and writes <dir>/<pass>-<phase>.folded for a flame
graph. Used by scripts/profile-bench.sh.
"""

import collections
import re
import sys
from pathlib import Path

MARK = re.compile(r"^\[(\w+)\] (.+) \(clock (\d+\.\d+)\)$")
HEADER = re.compile(r"^(.*?)\s+(\d+)\s+(\d+\.\d+):\s*$")
FRAME = re.compile(r"^\s+[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$")
HASH = re.compile(r"::h[0-9a-f]{16}$")
OFFSET = re.compile(r"\+0x[0-9a-f]+$")

# Who a sample works for: the first frame from the root that matches, else its thread.
OWNERS = [
    ("stand-ins (Ashby, webhook receiver)", re.compile(r"^bench::standins")),
    ("load generator (reqwest clients)", re.compile(r"^bench::(load|env)")),
    ("bench bookkeeping", re.compile(r"^bench::")),
    ("delivery engine", re.compile(r"^ashby_partner::(delivery|housekeeping)")),
    ("server: HTTP and handlers", re.compile(r"^(actix_|ashby_partner::)")),
]
THREADS = [
    ("PostgreSQL server processes", re.compile(r"^postgres")),
    ("SQLite (sqlx worker threads)", re.compile(r"^sqlx-sqlite")),
    ("idle", re.compile(r"^swapper")),
    ("server: HTTP and handlers", re.compile(r"^actix")),
]

# The project's functions worth naming, inclusive of what they call.
OURS = re.compile(r"^ashby_partner::")

# What the time is spent on, whoever it works for: the first frame from the leaf that
# matches names it (so an allocation inside JSON counts as allocation).
WORK = [
    ("idle", re.compile(r"^(pv_native_safe_halt|default_idle|cpu_idle|do_idle)")),
    ("memory allocation", re.compile(r"^(malloc|cfree|free|_int_malloc|_int_free|realloc|malloc_consolidate|unlink_chunk|__libc_|sdallocx|mi_)")),
    ("kernel: scheduling and wake-ups", re.compile(r"^(finish_task_switch|__schedule|schedule|futex_|__futex|try_to_wake_up|_raw_spin_unlock_irq|do_futex)")),
    ("kernel: disk writes and syncs", re.compile(r"^(ext4_|jbd2|blk_|iowrite|virtio_queue|__x64_sys_fdatasync|__x64_sys_fsync|file_write_and_wait|copy_folio_from_iter|generic_perform_write)")),
    ("kernel: loopback network", re.compile(r"^(tcp_|ip_|__dev_queue|loopback|net_rx|__netif|sock_|inet_)")),
    ("SQLite: parse and plan", re.compile(r"^(sqlite3Prepare|sqlite3Reprepare|sqlite3LockAndPrepare|sqlite3RunParser|sqlite3WhereBegin)")),
    ("SQLite: execute", re.compile(r"^(sqlite3|btree|pcache|wal|pager|vdbe)")),
    ("PostgreSQL server", re.compile(r"^\[postgres")),
    ("channels (flume, tokio sync)", re.compile(r"^(flume::|tokio::sync::)")),
    ("JSON (serde_json)", re.compile(r"^(serde_json::|<serde_json::)")),
    ("database driver (sqlx, sea-orm)", re.compile(r"^(<?sqlx_|<?sea_orm|<?sea_query)")),
    ("HTTP client (reqwest, hyper)", re.compile(r"^(<?reqwest|<?hyper)")),
    ("HTTP server (actix)", re.compile(r"^(<?actix_)")),
    ("tracing", re.compile(r"^(<?tracing)")),
]


def clean(symbol):
    symbol = OFFSET.sub("", symbol)
    symbol = HASH.sub("", symbol)
    symbol = symbol.replace("{{closure}}", "{closure}")
    return symbol


def owner(comm, frames):
    for frame in reversed(frames):  # root first
        for name, pattern in OWNERS:
            if pattern.search(frame):
                return name
    for name, pattern in THREADS:
        if pattern.search(comm):
            return name
    return f"other ({comm})"


def work(comm, frames):
    if comm.startswith("postgres"):
        return "PostgreSQL server"
    if comm.startswith("swapper"):
        return "idle"
    for frame in frames:  # leaf first
        for name, pattern in WORK:
            if pattern.search(frame):
                return name
    return "other code"


def samples(stream):
    comm = time = None
    frames = []
    for line in stream:
        line = line.rstrip("\n")
        if not line.strip():
            if comm is not None:
                yield comm, time, frames
            comm, frames = None, []
            continue
        header = HEADER.match(line)
        if header and not line[0].isspace():
            comm, time = header.group(1).strip(), float(header.group(3))
            frames = []
            continue
        frame = FRAME.match(line)
        if frame and comm is not None:
            symbol = frame.group(1)
            if symbol == "[unknown]":
                symbol = f"[{Path(frame.group(2)).name}]"
            frames.append(clean(symbol))
    if comm is not None:
        yield comm, time, frames


def main():
    out = Path(sys.argv[1])
    marks = []
    for line in (out / "bench.stderr").read_text().splitlines():
        mark = MARK.match(line.strip())
        if mark:
            marks.append((float(mark.group(3)), f"{mark.group(1)}: {mark.group(2)}"))
    if not marks:
        sys.exit("profile_phases: no phase marks in bench.stderr")
    marks.sort()

    phases = collections.OrderedDict((name, {
        "begin": begin, "end": None, "total": 0,
        "owners": collections.Counter(), "ours": collections.Counter(),
        "work": collections.Counter(),
        "folded": collections.Counter(),
    }) for begin, name in marks)
    names = list(phases)
    for i, name in enumerate(names[:-1]):
        phases[name]["end"] = phases[names[i + 1]]["begin"]

    starts = [begin for begin, _ in marks]
    for comm, time, frames in samples(sys.stdin):
        index = None
        for i, begin in enumerate(starts):
            if time >= begin:
                index = i
        if index is None or names[index].endswith("pass finished"):
            continue
        phase = phases[names[index]]
        phase["total"] += 1
        who = owner(comm, frames)
        phase["owners"][who] += 1
        phase["work"][work(comm, frames)] += 1
        for symbol in set(f for f in frames if OURS.search(f)):
            phase["ours"][symbol] += 1
        stack = ";".join([comm] + list(reversed(frames)))
        phase["folded"][stack] += 1

    for name in names:
        phase = phases[name]
        if name.endswith("pass finished") or phase["total"] == 0:
            continue
        seconds = (phase["end"] or phase["begin"]) - phase["begin"]
        print(f"\n== {name} ({seconds:.1f} s, {phase['total']} samples on all cores)")
        print("  working for:")
        for who, count in phase["owners"].most_common(8):
            print(f"  {100 * count / phase['total']:5.1f}%  {who}")
        print("  spent on (the innermost frame that names it):")
        for what, count in phase["work"].most_common():
            print(f"  {100 * count / phase['total']:5.1f}%  {what}")
        print("  the project's functions, inclusive (share of all samples):")
        for symbol, count in phase["ours"].most_common(18):
            print(f"  {100 * count / phase['total']:5.1f}%    {symbol[:150]}")
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        with open(out / f"{slug}.folded", "w") as folded:
            for stack, count in phase["folded"].items():
                folded.write(f"{stack} {count}\n")


if __name__ == "__main__":
    main()
