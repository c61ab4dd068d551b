#!/usr/bin/env python3
"""Benchmark: polling N open shipments with news, OCA delivery_state's
per-shipment way vs our batched poll cron, on the same sandbox and data.

Not a test: it starts the sandbox carrier (a real HTTP server on loopback, in
a child process) with a latency and a rate limit, builds its own throw-away
databases and prints figures and targets.

  a  OCA delivery_state's cron (stock.picking._update_delivery_state, 18.0
     from PyPI) driving a bench-only adapter (bench/addons/
     bench_delivery_state_sandbox): generic_tracking_state_update(picking),
     one GET /v1/tracking/<number> per delivery, through the connector's HTTP
     client (calls spaced to the carrier's rate limit, 429 retried). Under a
     rate limit the full N would take hours: past --a-sample shipments it
     runs delivery_state's tracking_state_update() on the first --a-sample
     deliveries its cron selects (same domain and order) and extrapolates.
  b  our poll cron, shipment.tracking.number._cron_poll (batches of the
     carrier's batch size, one POST /v1/tracking/batch each, a commit per
     batch).
  crash  (b) on a fresh copy, killed (SIGKILL) after some committed batches,
     then run again: at most one batch is lost, nothing of a committed batch
     is polled again, the re-run finishes the rest with the same events.

Every run is a child process (its peak RSS is its VmHWM); queries are
odoo.sql_db's process-wide counter (every statement of every cursor); carrier
calls are counted by the sandbox (answers 200 and 429 apart).

Data: N deliveries (no stock moves) created with the ORM, then marked done and
dispatched in SQL (state, dates, carrier_tracking_ref, delivery_state as
delivery_state's send_shipping leaves it), their tracking numbers created with
the ORM. The numbers are bookings of the sandbox, made 6 hours ago on its
clock: each parcel has 2 events the database does not know (label created,
picked up), i.e. news that moves the shipment to in transit.

Usage (see bench/README.md):
    python bench/poll.py [--count 10000 | --quick] [--latency-ms 50]
                         [--rate-limit 5] [--keep] [--db-prefix bench_poll_]
"""

# A command-line benchmark on its own throw-away databases: it prints its report
# and commits its data set-up on purpose.
# pylint: disable=print-used,invalid-commit
import argparse
import collections
import json
import logging
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import timedelta

from _common import (
    CACHE,
    HERE,
    ODOO_SRC,
    REPO,
    backend_cpu,
    check_prefix,
    close_registry,
    copy_db,
    db_exists,
    drop_db,
    odoo_bin,
    pg_query,
    server_args,
)

OCA_ADDONS_DIR = os.environ.get("OCA_ADDONS_DIR", os.path.join(CACHE, "oca-addons"))
BENCH_ADDONS = os.path.join(HERE, "addons")
SANDBOX_DIR = os.path.join(REPO, "shipment_tracking_carrier_generic")

_logger = logging.getLogger("bench.poll")

MODULES = (
    "sale_stock,stock_delivery,delivery_state,shipment_tracking,"
    "shipment_tracking_carrier_generic,shipment_tracking_delivery_state,"
    "bench_delivery_state_sandbox"
)
API_KEY = "bench-poll-key"
# The sandbox books the parcels this long ago on its clock: label created
# then, picked up 4 hours later, in transit at 12 hours (not yet).
BOOKED_HOURS_AGO = 6
N_CUSTOMERS = 20
CHUNK = 500
MARK = "BENCH "  # prefix of the children's report lines on stdout

TARGET_RATE = 300.0
TARGET_SPEEDUP = 50.0
TARGET_QUERY_DRIFT = 0.10
TARGET_MEMORY_GROWTH = 1.25


# ----------------------------------------------------------------------
# Sandbox carrier (child process; no Odoo import)
# ----------------------------------------------------------------------
def serve_sandbox(opts):
    """The sandbox carrier on loopback, plus bench-only routes under /bench:
    bulk bookings in the past and request counts (what it answered 200)."""
    sys.path.insert(0, SANDBOX_DIR)
    from urllib.parse import unquote, urlsplit

    from sandbox import validation
    from sandbox.server import SandboxCarrier, json_response

    class BenchSandbox(SandboxCarrier):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.stats_lock = threading.Lock()
            self.clear_stats()

        def clear_stats(self):
            with self.stats_lock:
                self.calls = collections.Counter()
                self.polled = collections.Counter()

        def handle(self, method, target, headers, body):
            path = urlsplit(target).path
            if path.startswith("/bench/"):
                return self.bench_route(path, body)
            response = super().handle(method, target, headers, body)
            if path.startswith("/v1/tracking/"):
                kind = "batch" if path == "/v1/tracking/batch" else "single"
                with self.stats_lock:
                    self.calls[f"{kind} {response.status}"] += 1
                    if response.status != 200:
                        pass
                    elif kind == "single":
                        self.polled[unquote(path.rsplit("/", 1)[1])] += 1
                    else:
                        for number in json.loads(body)["tracking_numbers"]:
                            self.polled[number] += 1
            return response

        def bench_route(self, path, body):
            if path == "/bench/book":
                return json_response(self.book_in_the_past(json.loads(body)))
            if path == "/bench/stats":
                with self.stats_lock:
                    return json_response(
                        {"calls": dict(self.calls), "polled": dict(self.polled)}
                    )
            if path == "/bench/stats/clear":
                self.clear_stats()
                return json_response({"ok": True})
            return json_response({"error": "unknown bench route"}, 404)

        def book_in_the_past(self, payload):
            """Book one parcel per reference as if booked ``hours_ago`` hours
            ago; return [[reference, tracking number], ...]."""
            state, hours = self.state, payload["hours_ago"]
            bookings = []
            with state._lock:
                # The sandbox has no control to book in the past: move its
                # (private) clock back, book, then forward to the real time.
                state._offset = timedelta(hours=-hours)
                for reference in payload["references"]:
                    request = validation.shipment_request(
                        {
                            "reference": reference,
                            "ship_to": {
                                "name": "Bench Customer",
                                "street": "1 Market St",
                                "zip": "1000",
                                "city": "Brussels",
                                "country_code": "BE",
                            },
                            "parcels": [
                                {
                                    "weight": 1.0,
                                    "length": 30,
                                    "width": 20,
                                    "height": 10,
                                }
                            ],
                        }
                    )
                    _created, booking = state.book(request)
                    bookings.append([reference, booking["tracking_numbers"][0]])
                state.advance(hours)
            return {"bookings": bookings}

    carrier = BenchSandbox(port=opts.sandbox_port, api_key=API_KEY, quiet=True)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    carrier.start()
    print(f"{MARK}{json.dumps({'url': carrier.url})}", flush=True)
    try:
        threading.Event().wait()
    finally:
        carrier.stop()


class Sandbox:
    """Handle on the sandbox child process."""

    def __init__(self, opts):
        cmd = [
            sys.executable,
            os.path.abspath(__file__),
            "--serve-sandbox",
            f"--sandbox-port={opts.sandbox_port}",
        ]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith(MARK):
            self.proc.kill()
            sys.exit(f"the sandbox did not start: {line!r}")
        self.url = json.loads(line[len(MARK) :])["url"]

    def call(self, method, path, payload=None):
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read())

    def stats(self):
        return self.call("GET", "/bench/stats")

    def clear_stats(self):
        self.call("POST", "/bench/stats/clear", {})

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def call_counts(stats):
    calls = stats["calls"]
    return {
        "ok": sum(n for key, n in calls.items() if key.endswith(" 200")),
        "throttled": sum(n for key, n in calls.items() if key.endswith(" 429")),
        "other": sum(
            n for key, n in calls.items() if not key.endswith((" 200", " 429"))
        ),
    }


# ----------------------------------------------------------------------
# odoo-bin's add-ons: Odoo's, this checkout's, OCA's and the bench's
# ----------------------------------------------------------------------
def addons_path():
    paths = [os.path.join(ODOO_SRC, "odoo", "addons")]
    if os.path.isdir(os.path.join(ODOO_SRC, "addons")):
        paths.insert(0, os.path.join(ODOO_SRC, "addons"))
    return ",".join([*paths, REPO, OCA_ADDONS_DIR, BENCH_ADDONS])


# ----------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------
def setup_base(db, opts, sandbox):
    """The generic carrier on the sandbox, with the bench's rate limit, and
    customers."""
    from odoo import SUPERUSER_ID, api
    from odoo.modules.registry import Registry

    with Registry(db).cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
        env["delivery.carrier"].create(
            {
                "name": "Bench Sandbox",
                "delivery_type": "generic",
                "product_id": env["product.product"]
                .create({"name": "Bench Shipping", "type": "service"})
                .id,
                "generic_base_url": sandbox.url,
                "generic_api_key": API_KEY,
                "generic_timeout": 10.0,
                "generic_max_retries": 3,
                "generic_rate_limit": opts.rate_limit,
                "shipment_transit_days": 2,
            }
        )
        env["res.partner"].create(
            [
                {
                    "name": f"Bench Customer {i}",
                    "email": f"customer{i}@bench.example",
                    "street": f"{i} Market St",
                    "city": "Brussels",
                    "zip": "1000",
                    "country_id": env.ref("base.be").id,
                }
                for i in range(N_CUSTOMERS)
            ]
        )
    close_registry(db)


def add_shipments(db, size, sandbox):
    """``size`` done, dispatched deliveries of the bench carrier whose tracking
    numbers the sandbox booked BOOKED_HOURS_AGO hours ago."""
    from odoo import SUPERUSER_ID, api, fields
    from odoo.modules.registry import Registry

    references = [f"BENCH-{size}-{i:06d}" for i in range(size)]
    bookings = sandbox.call(
        "POST",
        "/bench/book",
        {"references": references, "hours_ago": BOOKED_HOURS_AGO},
    )["bookings"]
    numbers = dict(bookings)
    now = fields.Datetime.now()
    shipped = now - timedelta(hours=BOOKED_HOURS_AGO, minutes=5)
    started = time.perf_counter()
    with Registry(db).cursor() as cr:
        env = api.Environment(
            cr,
            SUPERUSER_ID,
            {"tracking_disable": True, "mail_create_nolog": True, "mail_notrack": True},
        )
        carrier = env["delivery.carrier"].search([("name", "=", "Bench Sandbox")])
        customers = env["res.partner"].search(
            [("name", "like", "Bench Customer %")], order="id"
        )
        warehouse = env["stock.warehouse"].search([], limit=1)
        out_type = warehouse.out_type_id
        customer_location = env.ref("stock.stock_location_customers")
        Picking = env["stock.picking"]
        picking_ids = []
        for start in range(0, size, CHUNK):
            chunk = references[start : start + CHUNK]
            pickings = Picking.create(
                [
                    {
                        "picking_type_id": out_type.id,
                        "partner_id": customers[(start + i) % N_CUSTOMERS].id,
                        "carrier_id": carrier.id,
                        "location_id": out_type.default_location_src_id.id,
                        "location_dest_id": customer_location.id,
                        "origin": reference,
                    }
                    for i, reference in enumerate(chunk)
                ]
            )
            picking_ids += pickings.ids
            env.flush_all()
            # Done and dispatched the way a validation + booking leaves them
            # (state is computed from stock moves, which polling never reads).
            cr.execute(
                """
                UPDATE stock_picking p
                   SET state = 'done', date_done = %(shipped)s,
                       shipment_state = 'dispatched', shipment_date = %(shipped)s,
                       expected_delivery_date = %(edd)s,
                       carrier_tracking_ref = v.number,
                       shipment_ref = 'BENCH/' || p.id,
                       delivery_state = 'shipping_recorded_in_carrier',
                       date_shipped = %(shipped)s::date
                  FROM unnest(%(ids)s::int[], %(numbers)s::text[]) AS v(id, number)
                 WHERE p.id = v.id
                """,
                {
                    "shipped": shipped,
                    "edd": (shipped + timedelta(days=2)).date(),
                    "ids": pickings.ids,
                    "numbers": [numbers[reference] for reference in chunk],
                },
            )
            env.invalidate_all()
            # sudo: the polling bookkeeping is the system's.
            env["shipment.tracking.number"].sudo().create(
                [
                    {"name": picking.carrier_tracking_ref, "picking_id": picking.id}
                    for picking in Picking.browse(pickings.ids)
                ]
            )
            cr.commit()
            env.invalidate_all()
            _logger.info(
                "%s: %d/%d shipments (%.0fs)",
                db,
                start + len(chunk),
                size,
                time.perf_counter() - started,
            )
    close_registry(db)


# ----------------------------------------------------------------------
# Children: one run each, report lines on stdout
# ----------------------------------------------------------------------
def emit(**values):
    print(f"{MARK}{json.dumps(values, default=str)}", flush=True)


def proc_status():
    """(VmRSS, VmHWM) of this process in MB."""
    values = {}
    with open("/proc/self/status") as status:
        for line in status:
            key, _sep, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


def delivery_state_domain():
    """delivery_state's cron domain (stock.picking._update_delivery_state)."""
    return [
        ("state", "=", "done"),
        (
            "delivery_state",
            "not in",
            ["customer_delivered", "canceled_shipment", "no_update"],
        ),
        ("delivery_type", "not in", [False, "fixed", "base_one_rule"]),
    ]


def child_a(env, opts):
    """delivery_state's cron, or its method on a sample of what it selects."""
    from odoo import sql_db

    cron = env.ref("delivery_state.ir_cron_delivery_state")
    Picking = env["stock.picking"].with_context(cron_id=cron.id)
    selected = Picking.search_count(delivery_state_domain())
    env.invalidate_all()
    q0, t0 = sql_db.sql_counter, time.perf_counter()
    if opts.a_sample and selected > opts.a_sample:
        pickings = Picking.search(delivery_state_domain(), limit=opts.a_sample)
        pickings.tracking_state_update()
        count = len(pickings)
    else:
        Picking._update_delivery_state()
        count = selected
    env.flush_all()
    env.cr.commit()
    elapsed, queries = time.perf_counter() - t0, sql_db.sql_counter - q0
    env.cr.execute(
        "SELECT count(*) FILTER (WHERE delivery_state = 'in_transit'),"
        " count(*) FILTER (WHERE pod_error IS NOT NULL)"
        " FROM stock_picking WHERE picking_type_id IS NOT NULL"
    )
    updated, errors = env.cr.fetchone()
    return {
        "selected": selected,
        "shipments": count,
        "sample": count < selected,
        "elapsed": elapsed,
        "queries": queries,
        "updated": updated,
        "errors": errors,
    }


def child_b(env, opts):
    """Our poll cron; a report line after every commit (batch boundary)."""
    from unittest.mock import patch

    from odoo import sql_db

    cr = env.cr
    real_commit = cr.commit
    cr.execute("SELECT pg_backend_pid()")
    backend = cr.fetchone()[0]
    pg0, cpu0 = backend_cpu(backend), time.process_time()
    q0, t0 = sql_db.sql_counter, time.perf_counter()
    commits = []
    progress = {"done": 0}
    # Wall time in the carrier calls (rate-limit wait, HTTP, the sandbox's
    # latency and work) and in the commits (PostgreSQL's flush to disk).
    waited = {"calls": 0.0, "commits": 0.0}
    Carrier = type(env["delivery.carrier"])
    real_fetch = Carrier._shipment_fetch_tracking

    def fetch(self, numbers):
        started = time.perf_counter()
        try:
            return real_fetch(self, numbers)
        finally:
            waited["calls"] += time.perf_counter() - started

    def commit():
        started = time.perf_counter()
        real_commit()
        waited["commits"] += time.perf_counter() - started
        if progress["done"] == progress.get("reported", 0):
            # Not a batch: the commit after listing what is due (a fresh
            # snapshot for the batches' claims).
            return
        progress["reported"] = progress["done"]
        commits.append(1)
        rss, _hwm = proc_status()
        emit(
            phase="commit",
            n=len(commits),
            done=progress["done"],
            t=time.perf_counter() - t0,
            queries=sql_db.sql_counter - q0,
            rss=rss,
        )

    def notify_progress(self, *, done, remaining, deactivate=False):
        progress["done"] = done

    carrier = env["delivery.carrier"].search([("name", "=", "Bench Sandbox")])
    batch_size = carrier._shipment_poll_batch_size()
    # The cron reports its progress before each commit (a no-op outside a
    # cron job): the bench reads how many numbers each batch held.
    cr.commit = commit
    try:
        with (
            patch.object(type(env["ir.cron"]), "_notify_progress", notify_progress),
            patch.object(Carrier, "_shipment_fetch_tracking", fetch),
        ):
            env["shipment.tracking.number"]._cron_poll()
        env.flush_all()
        real_commit()
    finally:
        del cr.commit  # back to the class's method
    elapsed, queries = time.perf_counter() - t0, sql_db.sql_counter - q0
    cpu, pg1 = time.process_time() - cpu0, backend_cpu(backend)
    pg_cpu = None if pg0 is None or pg1 is None else pg1 - pg0
    cr.execute(
        "SELECT count(*) FILTER (WHERE next_poll_date IS NOT NULL), count(*)"
        " FROM shipment_tracking_number"
    )
    polled, numbers = cr.fetchone()
    cr.execute("SELECT count(*) FROM shipment_tracking_event")
    events = cr.fetchone()[0]
    cr.execute("SELECT count(*) FROM stock_picking WHERE shipment_state = 'in_transit'")
    in_transit = cr.fetchone()[0]
    return {
        "shipments": numbers,
        "polled": polled,
        "elapsed": elapsed,
        "cpu": cpu,
        "pg_cpu": pg_cpu,
        "calls_time": waited["calls"],
        "commits_time": waited["commits"],
        "queries": queries,
        "commits": len(commits),
        "events": events,
        "updated": in_transit,
        "batch_size": batch_size,
    }


def run_child(opts):
    import odoo
    from odoo import SUPERUSER_ID, api
    from odoo.modules.registry import Registry

    odoo.tools.config.parse_config(server_args(opts, addons_path()), setup_logging=True)
    registry = Registry(opts.child_db)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        # Warm the registry's caches the way a running server has them.
        env["shipment.tracking.number"].search_count([])
        rss, _hwm = proc_status()
        emit(phase="ready", rss=rss)
        result = (child_a if opts.child == "a" else child_b)(env, opts)
    rss, hwm = proc_status()
    emit(phase="done", rss=rss, peak=hwm, **result)


class Child:
    """A run in a child process; ``lines`` holds its report lines."""

    def __init__(self, kind, db, opts, kill_after=None):
        cmd = [
            sys.executable,
            os.path.abspath(__file__),
            f"--child={kind}",
            f"--child-db={db}",
            f"--db-prefix={opts.db_prefix}",
            f"--log-level={opts.log_level}",
            f"--a-sample={opts.a_sample}",
        ]
        self.kind, self.db, self.lines, self.killed = kind, db, [], False
        _logger.info(
            "%s run on %s%s", kind, db, " (to be killed)" if kill_after else ""
        )
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        for line in proc.stdout:
            if not line.startswith(MARK):
                sys.stdout.write(line)
                continue
            values = json.loads(line[len(MARK) :])
            self.lines.append(values)
            if kill_after and values["phase"] == "commit" and values["n"] >= kill_after:
                # In the middle of the next batch: half the last batch's time
                # after its commit (its carrier call answered by then, its
                # events being written).
                commits = self.phase("commit")
                previous = commits[-2]["t"] if len(commits) > 1 else 0.0
                time.sleep((values["t"] - previous) / 2)
                os.kill(proc.pid, signal.SIGKILL)  # our own child, by its id
                self.killed = True
                break
        proc.wait()
        proc.stdout.close()
        if not self.killed and proc.returncode:
            raise RuntimeError(f"{kind} run on {db} failed ({proc.returncode})")

    def phase(self, name):
        return [line for line in self.lines if line["phase"] == name]

    @property
    def result(self):
        done = self.phase("done")
        return done[0] if done else None

    @property
    def baseline(self):
        return self.phase("ready")[0]["rss"]

    def batch_queries(self, batch_size):
        """Queries of each full batch (between two commits), the first one
        excluded when there are others (it carries the cron's search of what
        is due)."""
        marks = [(0, 0)] + [
            (line["queries"], line["done"]) for line in self.phase("commit")
        ]
        per_batch = [
            (q1 - q0, d1 - d0)
            for (q0, d0), (q1, d1) in zip(marks, marks[1:], strict=False)
        ]
        full = [q for q, d in per_batch[1:] if d == batch_size]
        return full or [q for q, _d in per_batch[:1]]


# ----------------------------------------------------------------------
# Runs and report
# ----------------------------------------------------------------------
def run_size(size, dbs, opts, sandbox):
    results = {}
    for kind in ("a", "b"):
        sandbox.clear_stats()
        child = Child(kind, dbs[kind], opts)
        stats = sandbox.stats()
        results[kind] = {
            "child": child,
            "calls": call_counts(stats),
            "polled_numbers": len(stats["polled"]),
        }
        res = child.result
        _logger.info(
            "%s n=%d: %d shipments in %.1fs, %d queries",
            kind,
            size,
            res["shipments"],
            res["elapsed"],
            res["queries"],
        )
    return results


def crash_test(db, size, batch_size, opts, sandbox):
    """Kill (b) after some batches, check what is kept, run it again."""
    batches = -(-size // batch_size)
    kill_after = max(1, min(batches - 1, max(2, batches // 3)))
    sandbox.clear_stats()
    killed = Child("b", db, opts, kill_after=kill_after)
    first = set(sandbox.stats()["polled"])
    committed = {
        name
        for (name,) in pg_query(
            db,
            "SELECT name FROM shipment_tracking_number"
            " WHERE next_poll_date IS NOT NULL",
        )
    }
    # Events of shipments whose number did not commit: a half-written batch.
    (orphans,) = pg_query(
        db,
        "SELECT count(*) FROM shipment_tracking_event e"
        " JOIN shipment_tracking_number n ON n.picking_id = e.picking_id"
        " WHERE n.next_poll_date IS NULL",
    )[0]
    sandbox.clear_stats()
    rerun = Child("b", db, opts)
    second = sandbox.stats()["polled"]
    again = committed & set(second)
    lost = first - committed
    (left,) = pg_query(
        db,
        "SELECT count(*) FROM shipment_tracking_number WHERE next_poll_date IS NULL",
    )[0]
    return {
        "kill_after": kill_after,
        "batches": batches,
        "commits_seen": len(killed.phase("commit")),
        "polled_first": len(first),
        "committed": len(committed),
        "lost": len(lost),
        "orphans": orphans,
        "polled_again": len(again),
        "rerun_polled": len(second),
        "left": left,
        "events": rerun.result["events"],
        "batch_size": batch_size,
    }


def fmt_rate(value):
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def report(sizes, runs, crash, opts):
    print(
        f"\nPolling open shipments with news; sandbox latency {opts.latency_ms:g} ms, "
        f"rate limit {opts.rate_limit:g} req/s (sandbox and client); load average "
        f"at the end {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    header = (
        f"{'run':<30} {'N':>6} {'done':>6} {'s':>7} {'ship/s':>7} {'calls':>6} "
        f"{'429':>4} {'q/ship':>7} {'q/batch':>8} {'peak MB':>8} {'+MB':>6}"
    )
    print()
    print(header)
    print("-" * len(header))
    figures = {}
    for size in sizes:
        for kind, label in (
            ("a", "(a) delivery_state, 1 call/ship"),
            ("b", "(b) our poll cron, batched"),
        ):
            run = runs[size][kind]
            res = run["child"].result
            rate = res["shipments"] / res["elapsed"] if res["elapsed"] else 0.0
            qship = res["queries"] / max(res["shipments"], 1)
            qbatch = (
                statistics.median(run["child"].batch_queries(res["batch_size"]))
                if kind == "b"
                else float("nan")
            )
            grow = res["peak"] - run["child"].baseline
            figures[size, kind] = {
                "rate": rate,
                "qship": qship,
                "qbatch": qbatch,
                "peak": res["peak"],
                "grow": grow,
            }
            sample = "*" if res.get("sample") else ""
            qb = f"{qbatch:>8.0f}" if kind == "b" else f"{'-':>8}"
            print(
                f"{label:<30} {size:>6} {res['shipments']:>5}{sample:1} "
                f"{res['elapsed']:>7.1f} {fmt_rate(rate):>7} {run['calls']['ok']:>6} "
                f"{run['calls']['throttled']:>4} {qship:>7.1f} {qb} "
                f"{res['peak']:>8.0f} {grow:>6.0f}"
            )
    print(
        "\n* a sample: delivery_state's tracking_state_update() on the first "
        f"{opts.a_sample} deliveries its cron selects; ship/s extrapolated to N.\n"
        "calls = carrier calls answered 200 (sandbox count); 429 = throttled; "
        "q = every SQL statement of the run's process; q/batch = median per "
        "batch after the first; peak MB = peak RSS of the run's process, +MB "
        "above it once the registry is loaded."
    )
    for size in sizes:
        res_a, res_b = runs[size]["a"]["child"].result, runs[size]["b"]["child"].result
        print(
            f"N={size}: (a) set {res_a['updated']} in transit, {res_a['errors']} "
            f"errors; (b) {res_b['polled']}/{res_b['shipments']} numbers polled in "
            f"{res_b['commits']} batches, {res_b['events']} events recorded, "
            f"{res_b['updated']} in transit"
        )
        if res_b.get("commits"):
            # CPU rather than wall time: steadier when other jobs share the
            # machine. The rate limiter's statements run on other connections.
            batches = res_b["commits"]
            pg_cpu = (
                f"{res_b['pg_cpu'] * 1000 / batches:.0f} ms"
                if res_b.get("pg_cpu") is not None
                else "unknown"
            )
            print(
                f"    (b) per batch: {res_b['elapsed'] * 1000 / batches:.0f} ms wall"
                f" (carrier call {res_b['calls_time'] * 1000 / batches:.0f} ms,"
                f" commit {res_b['commits_time'] * 1000 / batches:.0f} ms); CPU"
                f" {res_b['cpu'] * 1000 / batches:.0f} ms in Odoo's process and"
                f" {pg_cpu} in its PostgreSQL connection"
            )
        if res_a.get("sample"):
            rate = res_a["shipments"] / res_a["elapsed"]
            seconds = res_a["selected"] / rate
            duration = (
                f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"
            )
            print(
                f"    (a) on all {res_a['selected']}: {res_a['selected']} carrier "
                f"calls, about {duration} at {rate:.1f}/s"
            )
    small, big = sizes[0], sizes[-1]
    fa, fb = figures[big, "a"], figures[big, "b"]
    speedup = fb["rate"] / fa["rate"] if fa["rate"] else float("inf")
    print(f"\nGrowth from {small:,} to {big:,} shipments:")
    for kind in ("a", "b"):
        s, b = figures[small, kind], figures[big, kind]
        print(
            f"  ({kind}) ship/s {fmt_rate(s['rate'])} -> {fmt_rate(b['rate'])}; "
            f"q/ship {s['qship']:.1f} -> {b['qship']:.1f}; peak RSS "
            f"{s['peak']:.0f} -> {b['peak']:.0f} MB ({b['peak'] / s['peak']:.2f}x), "
            f"above the loaded registry {s['grow']:.0f} -> {b['grow']:.0f} MB"
        )
    checks = []
    checks.append(
        (
            f"(b) >= {TARGET_RATE:g} shipments/s at N={big:,}",
            f"{fb['rate']:.1f}/s",
            fb["rate"] >= TARGET_RATE,
        )
    )
    checks.append(
        (
            f"(b) >= {TARGET_SPEEDUP:g}x (a) at N={big:,}, same rate limit",
            f"{speedup:.1f}x",
            speedup >= TARGET_SPEEDUP,
        )
    )
    qs, qb = figures[small, "b"]["qbatch"], figures[big, "b"]["qbatch"]
    drift = abs(qb / qs - 1) if qs else float("inf")
    checks.append(
        (
            f"(b) queries per batch independent of N (within "
            f"{TARGET_QUERY_DRIFT:.0%})",
            f"{qs:.0f} -> {qb:.0f} ({qb / qs - 1 if qs else 0:+.1%})",
            drift <= TARGET_QUERY_DRIFT,
        )
    )
    mem = figures[big, "b"]["peak"] / figures[small, "b"]["peak"]
    checks.append(
        (
            f"(b) memory flat in N (peak RSS <= {TARGET_MEMORY_GROWTH}x)",
            f"{mem:.2f}x",
            mem <= TARGET_MEMORY_GROWTH,
        )
    )
    if crash:
        ok = (
            crash["lost"] <= crash["batch_size"]
            and crash["orphans"] == 0
            and crash["polled_again"] == 0
            and crash["left"] == 0
            and crash["events"] == runs[big]["b"]["child"].result["events"]
        )
        print(
            f"\nCrash test at N={big:,}: (b) killed after commit "
            f"{crash['kill_after']} of {crash['batches']} batches; the carrier "
            f"answered for {crash['polled_first']} numbers, {crash['committed']} "
            f"committed, {crash['lost']} lost (batch size {crash['batch_size']}), "
            f"{crash['orphans']} events of uncommitted numbers; re-run polled "
            f"{crash['rerun_polled']}, {crash['polled_again']} of them already "
            f"committed, {crash['left']} left unpolled, {crash['events']} events "
            f"(uninterrupted run: {runs[big]['b']['child'].result['events']})"
        )
        checks.append(
            (
                "crash in the middle loses at most one batch, polls nothing twice",
                f"{crash['lost']} lost",
                ok,
            )
        )
    print()
    for label, value, ok in checks:
        print(f"Target {label}: {value}  {'PASS' if ok else 'FAIL'}")
    return all(ok for _label, _value, ok in checks)


# ----------------------------------------------------------------------
def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--count", type=int, default=10000, help="open shipments (largest size)")
    add("--quick", action="store_true", help="--count 1000")
    add(
        "--sizes",
        default=None,
        help="comma-separated sizes to compare (default: count/10 and count, "
        "count/5 and count below 10,000)",
    )
    add("--latency-ms", type=float, default=50.0, help="sandbox latency per call")
    add("--rate-limit", type=float, default=5.0, help="requests/s (0: none)")
    add(
        "--a-sample",
        type=int,
        default=200,
        help="(a) runs on at most this many deliveries, then extrapolates",
    )
    add("--no-crash", action="store_true", help="skip the crash test")
    add("--db-prefix", default="bench_poll_", help="database name prefix")
    add("--keep", action="store_true", help="keep the databases")
    add("--sandbox-port", type=int, default=0, help="sandbox port (0: a free one)")
    add("--log-level", default="warn", help="Odoo log level")
    add(
        "--reuse-base",
        action="store_true",
        help="reuse <prefix>base if it exists (modules installed; kept)",
    )
    # Internal: the children.
    add("--serve-sandbox", action="store_true", help=argparse.SUPPRESS)
    add("--child", choices=("a", "b"), help=argparse.SUPPRESS)
    add("--child-db", help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    check_prefix(opts.db_prefix)
    if opts.quick:
        opts.count = 1000
    if opts.sizes:
        opts.size_list = sorted({int(s) for s in opts.sizes.split(",")})
    else:
        small = opts.count // (10 if opts.count >= 10000 else 5)
        opts.size_list = sorted({max(small, 1), opts.count})
    opts.data_dir = os.path.join(tempfile.gettempdir(), f"{opts.db_prefix}odoo_data")
    return opts


def main():
    opts = parse_args()
    if opts.serve_sandbox:
        return serve_sandbox(opts)
    if opts.child:
        return run_child(opts)
    if not os.path.isdir(os.path.join(OCA_ADDONS_DIR, "delivery_state")):
        sys.exit(f"delivery_state not found in {OCA_ADDONS_DIR}: run make setup")
    import odoo

    odoo.tools.config.parse_config(server_args(opts, addons_path()), setup_logging=True)
    logging.getLogger("bench").setLevel(logging.INFO)
    run_start = time.perf_counter()
    base = f"{opts.db_prefix}base"
    sizes = opts.size_list
    dbs = {
        size: {kind: f"{opts.db_prefix}n{size}_{kind}" for kind in ("data", "a", "b")}
        for size in sizes
    }
    crash_db = f"{opts.db_prefix}n{sizes[-1]}_crash"
    names = [base, *(n for d in dbs.values() for n in d.values()), crash_db]
    reuse = opts.reuse_base and db_exists(base)
    for name in names[1:] if reuse else names:
        if db_exists(name):
            sys.exit(f"database {name} exists: drop it or use another --db-prefix")
    created = []
    sandbox = Sandbox(opts)
    ok = False
    try:
        sandbox.call(
            "POST",
            "/sandbox/config",
            {"latency_ms": opts.latency_ms, "rate_limit": opts.rate_limit or None},
        )
        _logger.info("sandbox carrier on %s", sandbox.url)
        if reuse:
            pg_query(
                base,
                "UPDATE delivery_carrier SET generic_base_url = %s,"
                " generic_rate_limit = %s WHERE delivery_type = 'generic'"
                " RETURNING id",
                [sandbox.url, opts.rate_limit],
            )
        else:
            created.append(base)
            odoo_bin(["-d", base, "-i", MODULES], opts, addons_path())
            setup_base(base, opts, sandbox)
        for size in sizes:
            created.append(dbs[size]["data"])
            copy_db(base, dbs[size]["data"], opts.data_dir)
            add_shipments(dbs[size]["data"], size, sandbox)
            for kind in ("a", "b"):
                created.append(dbs[size][kind])
                copy_db(dbs[size]["data"], dbs[size][kind], opts.data_dir)
        if not opts.no_crash:
            created.append(crash_db)
            copy_db(dbs[sizes[-1]]["data"], crash_db, opts.data_dir)
        setup_time = time.perf_counter() - run_start
        runs = {size: run_size(size, dbs[size], opts, sandbox) for size in sizes}
        crash = None
        if not opts.no_crash:
            batch_size = runs[sizes[-1]]["b"]["child"].result["batch_size"]
            crash = crash_test(crash_db, sizes[-1], batch_size, opts, sandbox)
        ok = report(sizes, runs, crash, opts)
        print(
            f"\nTotal run {time.perf_counter() - run_start:.0f}s (databases and data "
            f"{setup_time:.0f}s)"
        )
    finally:
        sandbox.stop()
        if opts.keep:
            print(f"kept databases: {', '.join(created)} (data dir {opts.data_dir})")
        else:
            for name in created:
                drop_db(name, opts.data_dir)
            if not reuse:
                shutil.rmtree(opts.data_dir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
