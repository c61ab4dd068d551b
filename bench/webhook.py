#!/usr/bin/env python3
"""Benchmark: webhook intake of a multi-process Odoo server.

Not a test: it builds its own throw-away database (shipment_tracking and the
generic connector, no demo data), M dispatched shipments of a generic carrier
with a webhook secret, then starts ``odoo-bin --workers 2`` (real prefork
HTTP workers; ``--max-cron-threads 0``: no cron competes with the pushes) and
sends signed pushes of our protocol (``X-Shipment-Timestamp`` and
``X-Shipment-Signature: sha256=HMAC(secret, "<timestamp>.<body>")``) over
HTTP from C client threads (bodies encoded and signed before the clock
starts, one ``http.client`` connection each):

  0  Odoo's floor: as many ``GET /web/health`` as one-event pushes, from the
     same threads (no push can be answered faster on this machine);
  1  one-event pushes (default 2,000): each shipment gets its scans in time
     order; the first one moves it to "in transit" (a status change: note in
     the chatter, customer update queued), the next ones are further scans
     (new event, last event date, no status change);
  2  100-event pushes (default 50), as an aggregator batches them: 100
     shipments, one scan each, consecutive pushes on disjoint shipments;
  3  floor of the controller (sequential, not timed against a target): pushes
     of one unknown tracking number (signature, parsing, carrier, one lookup;
     no event applied) and re-sent pushes (every event a duplicate).

Each phase prints events/s (events sent / wall time of the phase), p50/p95
latency of a push, and the queries per push and per event. Queries are
Odoo's own count of the request: the server runs with ``--log-handler
werkzeug:INFO``, whose access line ends with ``<queries> <SQL s> <other s>``
(every statement of the request's thread, including the registry checks,
the session and a retry after a serialization failure). Then it counts the
rows of ``shipment_tracking_event`` through psycopg2 against what was sent:
zero lost, zero duplicated.

Usage (see bench/README.md):
    python bench/webhook.py [--shipments 1000] [--pushes 2000] [--connections 8]
"""

# A command-line benchmark on its own throw-away database: it prints its report
# and commits its set-up data on purpose.
# pylint: disable=print-used,invalid-commit
import argparse
import contextlib
import hashlib
import hmac
import http.client
import json
import logging
import os
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from datetime import timedelta

from _common import (
    ODOO_SRC,
    add_odoo_to_path,
    check_prefix,
    db_exists,
    drop_db,
    odoo_bin,
    percentile,
    pg_connect,
    server_args,
)

add_odoo_to_path()

import requests  # noqa: E402

import odoo  # noqa: E402
from odoo import SUPERUSER_ID, api, sql_db  # noqa: E402
from odoo.modules.registry import Registry  # noqa: E402

_logger = logging.getLogger("bench.webhook")

SECRET = "bench-webhook-secret"
TARGET_SINGLE_EPS = 150
TARGET_SINGLE_P95_MS = 100
TARGET_BATCH_EPS = 1500
# The access line of Odoo's werkzeug logger: '"POST /path HTTP/1.1" 200 - 42
# 0.012 0.030' (queries, SQL seconds, other seconds).
ACCESS_RE = re.compile(
    r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[0-9.]+" (?P<status>\d+) \S+ '
    r"(?P<queries>\d+) (?P<sql>[0-9.]+) (?P<other>[0-9.]+)"
)


# ----------------------------------------------------------------------
# Server (shared with bench/portal.py)
# ----------------------------------------------------------------------
def free_port(start):
    """The first port from ``start`` nobody listens on."""
    for port in range(start, start + 100):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                return port
    sys.exit(f"no free port from {start}")


# odoo-bin, except that the prefork server does not spawn its gevent process
# (websockets, the bus): no page or webhook of these benches uses it, and
# where gevent cannot load (e.g. a venv without zope.interface's metadata) it
# would die and be spawned again every second, eating the CPU measured.
SERVER_BOOT = """
import os, sys
os.environ["TZ"] = "UTC"
sys.argv = sys.argv[1:]
import odoo
from odoo.service import server
server.PreforkServer.long_polling_spawn = lambda self: None
odoo.cli.main()
"""


class OdooServer:
    """``odoo-bin`` serving one database over HTTP in a subprocess, its log
    in a file whose werkzeug access lines carry each request's query count."""

    def __init__(self, db, opts, workers, cron_threads=0, name="server"):
        self.db = db
        self.port = free_port(opts.port)
        self.url = f"http://127.0.0.1:{self.port}"
        self.logfile = os.path.join(opts.data_dir, f"{name}.log")
        cmd = [
            sys.executable,
            "-c",
            SERVER_BOOT,
            os.path.join(ODOO_SRC, "odoo-bin"),
            *server_args(opts),
            "-d",
            db,
            # One database by -d, no --db-filter: Odoo then takes the
            # database from the configuration, where a request without a
            # session (every webhook) would list the server's databases first
            # (one more query, on the postgres database). --db-filter measures
            # that setup.
            *([f"--db-filter=^{re.escape(db)}$"] if opts.db_filter else []),
            f"--http-port={self.port}",
            "--http-interface=127.0.0.1",
            f"--workers={workers}",
            f"--max-cron-threads={cron_threads}",
            f"--logfile={self.logfile}",
            "--log-handler=werkzeug:INFO",
            "--no-database-list",
        ]
        _logger.info("starting odoo-bin %s", " ".join(cmd[4:]))
        self.process = subprocess.Popen(cmd, start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"the server stopped at start (see {self.logfile})")
            if self._healthy():
                break
            time.sleep(0.5)
        else:
            self.stop()
            sys.exit(f"the server did not answer in 120 s (see {self.logfile})")

    def _healthy(self):
        try:
            return requests.get(f"{self.url}/web/health", timeout=2).ok
        except requests.RequestException as error:
            _logger.debug("not up yet: %s", error)
            return False

    def log_position(self):
        return os.path.getsize(self.logfile)

    def access_lines(self, start, path_re):
        """(status, queries, sql s, other s) of the requests logged since
        ``start`` whose path matches ``path_re``."""
        with open(self.logfile, "rb") as fh:
            fh.seek(start)
            text = fh.read().decode("utf-8", "replace")
        found = []
        for match in ACCESS_RE.finditer(text):
            if re.search(path_re, match["path"]):
                found.append(
                    (
                        int(match["status"]),
                        int(match["queries"]),
                        float(match["sql"]),
                        float(match["other"]),
                    )
                )
        return found

    def log_errors(self, start):
        """(errors, serialization failures) logged since ``start``: Odoo
        logs the statement that lost a concurrent update as an error, then
        runs the request again; those are counted apart."""
        with open(self.logfile, "rb") as fh:
            fh.seek(start)
            text = fh.read().decode("utf-8", "replace")
        records = re.split(r"\n(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ )", text)
        errors, retries = [], 0
        for record in records:
            if " ERROR " not in record and " CRITICAL " not in record:
                continue
            if "could not serialize access" in record:
                retries += 1
            else:
                errors.append(record.splitlines()[0])
        return errors, retries

    def stop(self):
        if self.process.poll() is None:
            # Our own process group (start_new_session): the server and the
            # workers it forked, nothing else.
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


def verdict(ok):
    return "PASS" if ok else "FAIL"


# ----------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------
def setup_data(db, opts):
    """A generic carrier with a webhook secret and ``opts.shipments``
    dispatched deliveries of it, one tracking number each. Returns the
    carrier id and the earliest shipment date (naive UTC)."""
    registry = Registry(db)
    with registry.cursor() as cr:
        env = api.Environment(
            cr, SUPERUSER_ID, {"tracking_disable": True, "mail_notrack": True}
        )
        company = env.company
        company.write({"email": "shop@bench.example"})
        customers = env["res.partner"].create(
            [
                {
                    "name": f"Bench Customer {i}",
                    "email": f"customer{i}@bench.example",
                    "street": f"{i} Market St",
                    "city": "San Francisco",
                    "zip": "94105",
                    "country_id": env.ref("base.us").id,
                }
                for i in range(20)
            ]
        )
        product = env["product.product"].create(
            {
                "name": "Bench Mug",
                "type": "consu",
                "is_storable": True,
                "weight": 0.4,
            }
        )
        carrier = env["delivery.carrier"].create(
            {
                "name": "Bench Generic",
                "delivery_type": "generic",
                "product_id": env["product.product"]
                .create({"name": "Bench Shipping", "type": "service"})
                .id,
                # Never called: deliveries carry their tracking number before
                # validation, so nothing is booked.
                "generic_base_url": "http://127.0.0.1:9",
                "generic_api_key": "bench",
                "generic_webhook_secret": SECRET,
                "generic_webhook_format": "generic",
            }
        )
        cr.commit()
        partners = [customers[i % len(customers)] for i in range(opts.shipments)]
        make_dispatched(env, carrier, product, partners, tracking_number)
        cr.execute(
            "SELECT count(*), min(shipment_date) FROM stock_picking"
            " WHERE carrier_id = %s AND shipment_state = 'dispatched'",
            [carrier.id],
        )
        count, first = cr.fetchone()
        if count != opts.shipments:
            raise RuntimeError(f"{count} dispatched shipments, {opts.shipments} made")
        carrier_id = carrier.id
    Registry.delete(db)
    sql_db.close_db(db)
    return carrier_id, first


def copy_db(source, target):
    """``target`` as a copy of ``source`` (no one connected to it)."""
    from psycopg2 import sql

    query = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
        sql.Identifier(target), sql.Identifier(source)
    )
    with contextlib.closing(pg_connect()) as conn, conn.cursor() as cr:
        cr.execute(query)  # pylint: disable=sql-injection


def bench_data(db, opts):
    """(carrier id, earliest shipment date) of a database set up before."""
    with contextlib.closing(pg_connect(db)) as conn, conn.cursor() as cr:
        cr.execute(
            "SELECT carrier_id, count(*), min(shipment_date) FROM stock_picking"
            " WHERE shipment_state = 'dispatched' AND carrier_id IS NOT NULL"
            " GROUP BY carrier_id"
        )
        row = cr.fetchone()
    if not row:
        sys.exit("--reuse-data: the copy has no dispatched shipment of a carrier")
    carrier_id, count, first = row
    if count != opts.shipments:
        sys.exit(f"--reuse-data: the copy has {count} shipments, not {opts.shipments}")
    return carrier_id, first


def make_dispatched(env, carrier, product, partners, number_of, chunk=100):
    """One validated delivery of ``product`` per partner of ``partners``
    (a list, repeats allowed), shipped with ``carrier`` under the tracking
    number ``number_of(index)``, so dispatched; committed by chunks.
    Returns the pickings."""
    warehouse = env["stock.warehouse"].search(
        [("company_id", "=", env.company.id)], limit=1
    )
    out_type = warehouse.out_type_id
    source = out_type.default_location_src_id
    customers = env.ref("stock.stock_location_customers")
    env["stock.quant"]._update_available_quantity(product, source, len(partners) + 10)
    started = time.perf_counter()
    all_pickings = env["stock.picking"]
    for done in range(0, len(partners), chunk):
        size = min(chunk, len(partners) - done)
        pickings = env["stock.picking"].create(
            [
                {
                    "picking_type_id": out_type.id,
                    "partner_id": partners[done + i].id,
                    "location_id": source.id,
                    "location_dest_id": customers.id,
                    "carrier_id": carrier.id,
                    "shipment_length": 30.0,
                    "shipment_width": 20.0,
                    "shipment_height": 10.0,
                    "move_ids": [
                        (
                            0,
                            0,
                            {
                                "name": product.name,
                                "product_id": product.id,
                                "product_uom_qty": 1,
                                "product_uom": product.uom_id.id,
                                "location_id": source.id,
                                "location_dest_id": customers.id,
                            },
                        )
                    ],
                }
                for i in range(size)
            ]
        )
        pickings.action_confirm()
        pickings.action_assign()
        for i, picking in enumerate(pickings):
            picking.carrier_tracking_ref = number_of(done + i)
        pickings.move_ids.picked = True
        res = pickings.button_validate()
        if res is not True:
            raise RuntimeError(f"validation returned {res!r}")
        env.cr.commit()
        all_pickings |= pickings
        _logger.info(
            "%d/%d shipments (%.0fs)",
            done + size,
            len(partners),
            time.perf_counter() - started,
        )
    return all_pickings


def tracking_number(index):
    return f"BWH{index:07d}"


# ----------------------------------------------------------------------
# Pushes
# ----------------------------------------------------------------------
def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def event(number, status, when, event_id):
    return {
        "id": event_id,
        "tracking_number": number,
        "status": status,
        "description": status.replace("_", " ").capitalize(),
        "occurred_at": iso(when),
        "location": f"Hub {sum(map(ord, event_id)) % 97}, BE",
    }


def body_of(events):
    return json.dumps({"type": "tracking.updated", "events": events}).encode()


def signed_headers(body):
    timestamp = str(int(time.time()))
    digest = hmac.new(
        SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-Shipment-Timestamp": timestamp,
        "X-Shipment-Signature": f"sha256={digest}",
    }


def scan_status(scan, scans):
    """A parcel's journey in ``scans`` scans: picked up (dispatched -> in
    transit), scans in transit, out for delivery, delivered: three status
    changes, the other scans news without one."""
    if scan == 0:
        return "picked_up"
    if scan == scans - 1 and scans >= 3:
        return "delivered"
    if scan == scans - 2 and scans >= 3:
        return "out_for_delivery"
    return "in_transit"


def single_shipments(opts):
    """How many shipments the one-event pushes follow (``--scans`` each)."""
    return min(opts.shipments, -(-opts.pushes // opts.scans))


def single_pushes(opts, base):
    """One event each, round-robin over the first shipments: push i is scan
    i // S of shipment i % S, in time order (concurrent pushes hit different
    shipments, as a carrier's stream of scans does)."""
    used = single_shipments(opts)
    pushes = []
    for i in range(opts.pushes):
        index, scan = i % used, i // used
        when = base + timedelta(seconds=10 * scan)
        pushes.append(
            [
                event(
                    tracking_number(index),
                    scan_status(scan, opts.scans),
                    when,
                    f"s-{index}-{scan}",
                )
            ]
        )
    return pushes


def batch_pushes(opts, base):
    """``opts.batch_size`` events each, as an aggregator batches them: blocks
    of shipments the one-event pushes left alone, half of their journey per
    push (``--scans`` scans a journey: scans 0-4 of 20 shipments, and later
    scans 5-9 of the same ones), so that every push carries the same mix of
    status changes and news. Pushes in flight together touch different
    shipments."""
    half = max(opts.scans // 2, 1)
    per_push = max(opts.batch_size // half, 1)
    first = single_shipments(opts)
    blocks = -(-opts.batch_pushes // 2)
    if first + blocks * per_push > opts.shipments:
        sys.exit("--shipments too small for the batch pushes")
    pushes = []
    for j in range(opts.batch_pushes):
        block, later = j % blocks, j // blocks
        events = []
        for k in range(per_push):
            index = first + block * per_push + k
            for scan in range(later * half, (later + 1) * half):
                events.append(
                    event(
                        tracking_number(index),
                        scan_status(scan, opts.scans),
                        base + timedelta(seconds=1000 + 10 * scan),
                        f"b-{index}-{scan}",
                    )
                )
        pushes.append(events)
    return pushes


def send_all(url, pushes, connections):
    """POST every push from ``connections`` threads (a ``None`` push is a
    GET); returns the wall time and per push (latency ms, status,
    answer).

    The load generator shares the machine with the server, so it does as
    little as it can while the clock runs: every body is encoded and signed
    before (well within the signature's 5 minutes), and each thread sends
    over a plain ``http.client`` connection, opened again when the server
    closes it (Odoo's prefork workers answer in HTTP/1.0)."""
    target = urllib.parse.urlsplit(url)
    prepared = []
    for push in pushes:
        if push is None:
            prepared.append(("GET", None, {}))
        else:
            body = body_of(push)
            prepared.append(("POST", body, signed_headers(body)))
    results = [None] * len(pushes)
    lock = threading.Lock()
    next_index = [0]

    def worker():
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=120)
        while True:
            with lock:
                i = next_index[0]
                next_index[0] += 1
            if i >= len(prepared):
                break
            method, body, headers = prepared[i]
            start = time.perf_counter()
            try:
                conn.request(method, target.path, body=body, headers=headers)
                response = conn.getresponse()
                status, text = response.status, response.read()
                if response.will_close:
                    conn.close()
                try:
                    answer = json.loads(text)
                except ValueError:
                    answer = {"text": text[:200].decode("utf-8", "replace")}
            except (OSError, http.client.HTTPException) as error:
                conn.close()
                status, answer = 0, {"error": str(error)}
            results[i] = (1000 * (time.perf_counter() - start), status, answer)
        conn.close()

    threads = [threading.Thread(target=worker) for _c in range(connections)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start, results


def cpu_seconds():
    """CPU seconds used so far by the Odoo server's processes, PostgreSQL's
    and this one (Linux ``/proc``): where a phase's CPU went. Processes that
    ended during the phase are not counted (PostgreSQL's backends opened to
    wake the cron workers, for one)."""
    tick = os.sysconf("SC_CLK_TCK")
    used = {"odoo": 0.0, "postgres": 0.0}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as stat, open(f"/proc/{pid}/cmdline") as cmd:
                name, times = stat.read().split(" (", 1)[1].rsplit(")", 1)
                command = cmd.read()
        except (OSError, IndexError):
            continue
        if name == "postgres":
            group = "postgres"
        elif "odoo-bin" in command:
            group = "odoo"
        else:
            continue
        fields_ = times.split()
        used[group] += (int(fields_[11]) + int(fields_[12])) / tick
    own = os.times()
    used["client"] = own.user + own.system
    return used


class Wakeups:
    """The cron workers' wake-ups during a phase: the ``NOTIFY cron_trigger``
    for the bench's database (Odoo sends one after a commit that triggered a
    cron due at once, ``ir.cron._notifydb``), heard as a cron worker hears
    them, and the sessions opened on the ``postgres`` database meanwhile
    (Odoo's ``_notifydb`` opens one for each; the add-on's wake-ups share a
    kept one per process; with ``--db-filter`` Odoo also lists its
    databases there on each request). The sessions are read from the
    bench's database, so as not to count this reader."""

    def __init__(self, db):
        self.db = db
        self.heard = 0
        self.listener = pg_connect("postgres")
        with self.listener.cursor() as cr:
            cr.execute("LISTEN cron_trigger")
        self.sessions = self._sessions()

    def _sessions(self):
        with contextlib.closing(pg_connect(self.db)) as conn, conn.cursor() as cr:
            cr.execute(
                "SELECT sessions FROM pg_stat_database WHERE datname = 'postgres'"
            )
            return cr.fetchone()[0]

    def listen(self, quiet=0.5):
        """Take the wake-ups that came, until none came for ``quiet`` s."""
        while select.select([self.listener], [], [], quiet)[0]:
            self.listener.poll()
            self.heard += sum(n.payload == self.db for n in self.listener.notifies)
            self.listener.notifies.clear()

    def count(self):
        """(wake-ups, sessions opened on ``postgres``) since the start;
        closes the listener."""
        with contextlib.closing(self.listener):
            self.listen()
        return self.heard, self._sessions() - self.sessions


def run_phase(server, url, name, pushes, connections):
    events = sum(len(p) for p in pushes)
    position = server.log_position()
    wakeups = Wakeups(server.db)
    cpu_before = cpu_seconds()
    wall, results = send_all(url, pushes, connections)
    cpu_after = cpu_seconds()
    # The last access lines reach the log, the last sessions the statistics.
    time.sleep(0.5)
    woken, sessions = wakeups.count()
    latencies = [r[0] for r in results]
    bad = [r for r in results if r[1] != 200]
    accepted = sum(r[2].get("accepted", 0) for r in results if r[1] == 200)
    duplicates = sum(r[2].get("duplicates", 0) for r in results if r[1] == 200)
    lines = server.access_lines(position, r"^/shipment_tracking/webhook/")
    queries = [line[1] for line in lines]
    phase = {
        "name": name,
        "pushes": len(pushes),
        "events": events,
        "wall": wall,
        "eps": events / wall,
        "p50": statistics.median(latencies),
        "p95": percentile(latencies, 0.95),
        "bad": bad,
        "accepted": accepted,
        "duplicates": duplicates,
        "queries": sum(queries) / max(len(queries), 1),
        "logged": len(lines),
        "sql_s": sum(line[2] for line in lines),
        "other_s": sum(line[3] for line in lines),
    }
    print(
        f"{name:<34} {len(pushes):>6} {events:>7} {wall:>7.1f} "
        f"{phase['eps']:>8.0f} {phase['p50']:>7.1f} {phase['p95']:>7.1f} "
        f"{phase['queries']:>8.1f} {phase['queries'] * len(pushes) / events:>7.2f}"
    )
    cpu = {group: cpu_after[group] - cpu_before[group] for group in cpu_after}
    print(
        "    CPU ms per push: "
        + ", ".join(
            f"{group} {1000 * cpu[group] / len(pushes):.1f}"
            for group in ("odoo", "postgres", "client")
        )
        + f" (the machine's {os.cpu_count()} CPUs busy "
        f"{100 * sum(cpu.values()) / (wall * os.cpu_count()):.0f}%); "
        f"cron wake-ups {woken} ({sessions} sessions opened on postgres)"
    )
    if bad:
        print(f"    {len(bad)} pushes not answered 200, e.g. {bad[:3]}")
    return phase


def request_medians(lines):
    """Median queries and server milliseconds of Odoo's access ``lines``
    (0, 0 without any)."""
    if not lines:
        return 0, 0
    return (
        statistics.median(line[1] for line in lines),
        statistics.median(1000 * (line[2] + line[3]) for line in lines),
    )


def http_floor_phase(server, requests_count, connections):
    """Odoo's own floor on this machine: ``GET /web/health`` (``auth="none"``,
    no session saved, the registry checks of any request) from the same
    client threads, as many requests as one-event pushes. No push can be
    answered faster than this."""
    position = server.log_position()
    wall, results = send_all(
        f"{server.url}/web/health", [None] * requests_count, connections
    )
    time.sleep(0.5)
    lines = server.access_lines(position, r"^/web/health")
    latencies = [r[0] for r in results]
    bad = [r for r in results if r[1] != 200]
    queries, server_ms = request_medians(lines)
    print(
        f"{'0  GET /web/health (Odoo floor)':<34} {requests_count:>6} {'-':>7} "
        f"{wall:>7.1f} {requests_count / wall:>8.0f} "
        f"{statistics.median(latencies):>7.1f} {percentile(latencies, 0.95):>7.1f} "
        f"{queries:>8.0f} {'-':>7}   (server {server_ms:.1f} ms median; "
        f"requests/s in the events/s column)"
    )
    if bad:
        print(f"    {len(bad)} requests not answered 200, e.g. {bad[:3]}")


def floor_phase(server, url, name, pushes):
    """Sequential pushes: queries and server time of the controller's own
    part."""
    position = server.log_position()
    _wall, results = send_all(url, pushes, 1)
    time.sleep(0.3)
    lines = server.access_lines(position, r"^/shipment_tracking/webhook/")
    statuses = {r[1] for r in results}
    queries, server_ms = request_medians(lines)
    print(
        f"  {name:<44} {queries:>5.0f} queries, server {server_ms:>5.1f} ms, "
        f"client p50 {statistics.median(r[0] for r in results):>5.1f} ms "
        f"(answers {sorted(statuses)})"
    )
    return queries


def server_ms(phase):
    total = phase["sql_s"] + phase["other_s"]
    return (
        f"{1000 * total / max(phase['logged'], 1):.1f} ms "
        f"({100 * phase['sql_s'] / max(total, 1e-9):.0f}% in SQL)"
    )


def count_rows(db, sent_ids):
    """(lost, duplicated, extra) event ids in shipment_tracking_event."""
    with contextlib.closing(pg_connect(db)) as conn, conn.cursor() as cr:
        cr.execute(
            "SELECT carrier_event_id, count(*) FROM shipment_tracking_event"
            " WHERE source = 'webhook' GROUP BY carrier_event_id"
        )
        stored = dict(cr.fetchall())
    lost = [i for i in sent_ids if i not in stored]
    duplicated = {i: n for i, n in stored.items() if n > 1}
    extra = [i for i in stored if i not in sent_ids]
    return lost, duplicated, extra, sum(stored.values())


# ----------------------------------------------------------------------
def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--shipments", type=int, default=1000, help="dispatched shipments (M)")
    add("--pushes", type=int, default=2000, help="one-event pushes")
    add("--scans", type=int, default=10, help="one-event pushes per shipment")
    add("--connections", type=int, default=8, help="client connections (C)")
    add("--batch-pushes", type=int, default=50, help="pushes of --batch-size")
    add("--batch-size", type=int, default=100, help="events per batch push")
    add("--workers", type=int, default=2, help="Odoo HTTP workers")
    add("--warmup", type=int, default=40, help="untimed one-event pushes")
    add("--port", type=int, default=8169, help="first HTTP port to try")
    add("--db-filter", action="store_true", help="serve with --db-filter too")
    add("--db-prefix", default="bench_wh_", help="database name prefix")
    add("--keep", action="store_true", help="keep the database")
    add("--log-level", default="warn", help="Odoo log level")
    add(
        "--reuse-data",
        action="store_true",
        help="keep a pristine copy of the database and data (<prefix>tpl) and "
        "start from it when it exists (A/B runs on the same data)",
    )
    add(
        "--repo",
        help="serve the add-ons of this checkout instead of this one's (A/B "
        "against another branch; same data model)",
    )
    opts = parser.parse_args()
    check_prefix(opts.db_prefix)
    if opts.batch_size > opts.shipments:
        sys.exit("--batch-size cannot exceed --shipments")
    opts.data_dir = os.path.join(tempfile.gettempdir(), f"{opts.db_prefix}odoo_data")
    return opts


def report_targets(single, batch, lost, duplicated, extra, rows, sent):
    print(
        f"\nRows in shipment_tracking_event from webhooks: {rows}; event ids "
        f"sent {len(sent)}: lost {len(lost)}, duplicated {len(duplicated)}, "
        f"unexpected {len(extra)}"
    )
    if lost:
        print(f"    lost e.g. {lost[:5]}")
    if duplicated:
        print(f"    duplicated e.g. {list(duplicated.items())[:5]}")
    checks = [
        (
            f"one-event pushes >= {TARGET_SINGLE_EPS} events/s",
            f"{single['eps']:.0f}",
            single["eps"] >= TARGET_SINGLE_EPS,
        ),
        (
            f"one-event pushes p95 < {TARGET_SINGLE_P95_MS} ms",
            f"{single['p95']:.0f} ms",
            single["p95"] < TARGET_SINGLE_P95_MS,
        ),
        (
            f"{batch['events'] // max(batch['pushes'], 1)}-event pushes "
            f">= {TARGET_BATCH_EPS} events/s",
            f"{batch['eps']:.0f}",
            batch["eps"] >= TARGET_BATCH_EPS,
        ),
        (
            "every push answered 200",
            f"{len(single['bad']) + len(batch['bad'])} not",
            not single["bad"] and not batch["bad"],
        ),
        (
            "zero lost, zero duplicated",
            f"{len(lost)} lost, {len(duplicated)} duplicated",
            not lost and not duplicated and not extra,
        ),
    ]
    print()
    for label, value, ok in checks:
        print(f"Target {label}: {value}  {verdict(ok)}")
    return all(ok for _l, _v, ok in checks)


def main():
    opts = parse_args()
    run_start = time.perf_counter()
    odoo.tools.config.parse_config(server_args(opts), setup_logging=True)
    logging.getLogger("bench").setLevel(logging.INFO)
    db = f"{opts.db_prefix}db"
    if db_exists(db):
        sys.exit(f"database {db} exists: drop it or use another --db-prefix")
    os.makedirs(opts.data_dir, exist_ok=True)
    server = None
    ok = False
    try:
        template = f"{opts.db_prefix}tpl"
        if opts.reuse_data and db_exists(template):
            copy_db(template, db)
            carrier_id, first_shipped = bench_data(db, opts)
        else:
            odoo_bin(["-d", db, "-i", "shipment_tracking_carrier_generic"], opts)
            carrier_id, first_shipped = setup_data(db, opts)
            if opts.reuse_data:
                copy_db(db, template)
        setup_time = time.perf_counter() - run_start
        server = OdooServer(db, opts, workers=opts.workers, name="webhook")
        url = f"{server.url}/shipment_tracking/webhook/{carrier_id}"
        # An hour before the first dispatch: every scan is in the past, well
        # within the history the shipments accept.
        base = first_shipped.replace(microsecond=0) - timedelta(hours=1)
        warmup = [
            [event("BWH-NONE", "in_transit", base, f"w-{i}")]
            for i in range(opts.warmup)
        ]
        send_all(url, warmup, opts.connections)
        singles = single_pushes(opts, base)
        batches = batch_pushes(opts, base)
        print(
            f"\nWebhook intake: {opts.shipments} dispatched shipments, "
            f"{opts.workers} HTTP workers (prefork), no cron thread, "
            f"{opts.connections} client connections, keep-alive"
        )
        header = (
            f"{'phase':<34} {'pushes':>6} {'events':>7} {'wall s':>7} "
            f"{'events/s':>8} {'p50 ms':>7} {'p95 ms':>7} {'q/push':>8} {'q/event':>7}"
        )
        print(header)
        print("-" * len(header))
        http_floor_phase(server, opts.pushes, opts.connections)
        single = run_phase(
            server,
            url,
            "1  one-event pushes",
            singles,
            opts.connections,
        )
        batch = run_phase(
            server,
            url,
            f"2  {opts.batch_size}-event pushes",
            batches,
            opts.connections,
        )
        print(
            "\n3  floor of the controller (sequential, medians of Odoo's "
            "per-request count and time):"
        )
        floor_phase(
            server,
            url,
            "unknown tracking number (no event applied)",
            [[event("BWH-NONE", "in_transit", base, f"u-{i}")] for i in range(20)],
        )
        floor_phase(server, url, "one event, re-sent (duplicate)", singles[:20])
        # Shipments no push reached yet, still dispatched: "label_created"
        # maps to that status, so the scan is news without a status change.
        floor_indexes = [opts.shipments - 1 - k for k in range(20)]
        floor_phase(
            server,
            url,
            "one new scan, no status change",
            [
                [
                    event(
                        tracking_number(index),
                        "label_created",
                        base + timedelta(seconds=3000),
                        f"f-{index}",
                    )
                ]
                for index in floor_indexes
            ],
        )
        floor_phase(
            server, url, f"{opts.batch_size} events, re-sent (duplicates)", batches[:5]
        )
        errors, retries = server.log_errors(0)
        print(
            f"\nSerialization failures (the request ran again): {retries}; "
            f"other errors in the server log: {len(errors)}"
        )
        for line in errors[:5]:
            print(f"    {line[:200]}")
        sent = {e["id"] for push in singles + batches for e in push}
        sent |= {f"f-{index}" for index in floor_indexes}
        lost, duplicated, extra, rows = count_rows(db, sent)
        ok = report_targets(single, batch, lost, duplicated, extra, rows, sent)
        ok = ok and not errors
        print(
            f"\nServer time of a push (Odoo's count): one-event {server_ms(single)}; "
            f"{opts.batch_size}-event {server_ms(batch)}"
        )
        print(
            f"Load average at the end {os.getloadavg()[0]:.2f} on "
            f"{os.cpu_count()} CPUs; total run {time.perf_counter() - run_start:.0f}s "
            f"(database and data {setup_time:.0f}s; server log {server.logfile})"
        )
    finally:
        if server:
            server.stop()
        if opts.keep:
            print(f"kept database: {db} (data dir {opts.data_dir})")
        else:
            drop_db(db, opts.data_dir)
            shutil.rmtree(opts.data_dir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
