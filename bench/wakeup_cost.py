#!/usr/bin/env python3
"""What waking Odoo's cron workers costs a request (a developer's probe, not
one of the benchmarks).

After a commit that triggered a cron due at once, the committing request
sends ``NOTIFY cron_trigger`` on the ``postgres`` database. Odoo's
``ir.cron._notifydb`` opens a connection for it each time and closes it
(its pool never keeps connections to ``postgres``); the add-on's wake-ups
go over a connection the process keeps (``tools/cron_wakeup.py``). This
probe times both, ROUNDS times each, and prints the median and p95 wall
time per wake-up. Nothing listens to its payload; no database of Odoo's is
touched.

Usage:
    python bench/wakeup_cost.py [--count 300] [--rounds 2]

Connection settings come from PGHOST, PGPORT, PGUSER (default 127.0.0.1,
5432, the current user).
"""

# A command-line probe printing its figures.
# pylint: disable=print-used
import argparse
import os
import statistics
import time

# Loaded here, not by the first timed pg_connect() (which imports it).
import psycopg2  # noqa: F401
from _common import percentile, pg_connect

PAYLOAD = "shipment-tracking-wakeup-probe"


def notify(conn):
    with conn.cursor() as cr:
        cr.execute("SELECT pg_notify('cron_trigger', %s)", [PAYLOAD])


def time_new_connections(count):
    """Odoo's way: connect, notify, close, each time (milliseconds)."""
    times = []
    for _i in range(count):
        start = time.perf_counter()
        conn = pg_connect()
        notify(conn)
        conn.close()
        times.append((time.perf_counter() - start) * 1000)
    return times


def time_kept_connection(count):
    """The add-on's way: one connection, a notify each time (milliseconds)."""
    conn = pg_connect()
    try:
        times = []
        for _i in range(count):
            start = time.perf_counter()
            notify(conn)
            times.append((time.perf_counter() - start) * 1000)
        return times
    finally:
        conn.close()


def summary(times):
    p95 = percentile(times, 0.95)
    return f"median {statistics.median(times):6.2f} ms, p95 {p95:6.2f} ms"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300, help="wake-ups per way")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of both")
    opts = parser.parse_args()
    print(f"Wake-ups of the cron workers, {opts.count} per way and round:")
    for round_ in range(1, opts.rounds + 1):
        new = time_new_connections(opts.count)
        kept = time_kept_connection(opts.count)
        print(f"  round {round_}: new connection each time {summary(new)}")
        print(f"  round {round_}: kept connection          {summary(kept)}")
    print(f"Load average at the end {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
