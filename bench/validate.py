#!/usr/bin/env python3
"""Benchmark: validating 3-line deliveries, vanilla Odoo vs Shipment Tracking.

Not a test: it builds its own throw-away databases, times one validation at a
time as a Warehouse user (stock.group_stock_user) and prints figures.

Scenarios (same data in each: the databases are copies of one template):
  a  vanilla (sale_stock + stock_delivery), no confirmation email
  b  vanilla, native confirmation email on (renders the delivery slip PDF with
     wkhtmltopdf inside the validation, sends after the commit)
  c  shipment_tracking installed: parcel details filled, tracking number set
     beforehand, dispatch notification on (validation only queues it; the
     cron that renders the email is timed separately, off the worker's click)

One validation = button_validate() + env.flush_all() + cr.commit(): the
worker's click includes the commit (and its post-commit hooks). Each runs on
a cursor of its own, as a request does (a pooled connection, a new
transaction): with one cursor for the whole run, environments kept alive by
reference cycles until the garbage collector ran piled up in its
transaction, and every new environment searched them (Odoo's
Environment.__new__), so a scenario that creates more environments slowed
down as the run went on (+35% for (c) after 100 validations). The scenarios
run round-robin, one validation each in turn, so that background load on the
machine hits them alike. "median q" counts the statements of the request's
cursor (cr.sql_log_count); "all q" adds those of other cursors (post-commit
hooks: mail sending, cron wake-up). The tracking number is set in every
scenario, so that vanilla stock_delivery does not call the carrier either.

After the warm-up, one validation of (a) and one of (c) run with every SQL
statement recorded (with the Python frame that issued it), then one each
under cProfile; neither is counted. The report ends with the diff.

No email leaves the process: ir.mail_server.connect() returns a fake SMTP
session that drops the messages, and smtplib is disabled outright.

Usage (see bench/README.md):
    python bench/validate.py [--count 300] [--warmup 10] [--keep] [--db-prefix bench_]
"""

# A command-line benchmark on its own throw-away databases: it prints its report
# and commits each validation on purpose (the commit is part of the click).
# pylint: disable=print-used,invalid-commit
import argparse
import collections
import contextlib
import cProfile
import logging
import os
import pstats
import re
import shutil
import socket
import statistics
import sys
import tempfile
import time
import traceback

from _common import (
    ODOO_SRC,
    REPO,
    FakeSMTP,
    add_odoo_to_path,
    check_prefix,
    copy_db,
    db_exists,
    disable_email,
    drop_db,
    odoo_bin,
    percentile,
    server_args,
)

add_odoo_to_path()

import odoo  # noqa: E402
from odoo import SUPERUSER_ID, api, sql_db  # noqa: E402
from odoo.modules.registry import Registry  # noqa: E402

_logger = logging.getLogger("bench.validate")

SCENARIOS = {
    "a": "vanilla, no email",
    "b": "vanilla + native email",
    "c": "shipment_tracking",
}
TARGET_TIME_RATIO = 1.05
TARGET_EXTRA_QUERIES = 6
PRODUCTS = (("Bench Mug", 0.35), ("Bench Lamp", 1.8), ("Bench Tea Tin", 0.25))
N_CUSTOMERS = 20


# ----------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------
def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def setup_template(db, opts):
    """Users, customers, products in stock, a fixed carrier and confirmed sale
    orders whose deliveries are reserved and carry a tracking number."""
    registry = Registry(db)
    total = opts.warmup + opts.count + 2  # +2: the SQL trace and the profile
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
        company = env.company
        company.write(
            {"email": "shop@bench.example", "stock_move_email_validation": False}
        )
        # wkhtmltopdf fetches the report assets over HTTP: with no server
        # running, point it at a closed local port (fails fast, no CSS).
        env["ir.config_parameter"].set_param(
            "report.url", f"http://127.0.0.1:{closed_port()}"
        )
        env["res.users"].with_context(no_reset_password=True).create(
            {
                "name": "Wes Warehouse",
                "login": "bench_warehouse",
                "email": "wes@bench.example",
                "tz": "Europe/Brussels",
                "groups_id": [(6, 0, [env.ref("stock.group_stock_user").id])],
            }
        )
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
                for i in range(N_CUSTOMERS)
            ]
        )
        products = env["product.product"].create(
            [
                {
                    "name": name,
                    "type": "consu",
                    "is_storable": True,
                    "weight": weight,
                    "list_price": 10.0,
                }
                for name, weight in PRODUCTS
            ]
        )
        stock = env["stock.warehouse"].search(
            [("company_id", "=", company.id)], limit=1
        )
        for product in products:
            env["stock.quant"]._update_available_quantity(
                product, stock.lot_stock_id, 10 * total
            )
        carrier = env["delivery.carrier"].create(
            {
                "name": "Bench Express",
                "delivery_type": "fixed",
                "fixed_price": 5.0,
                "product_id": env["product.product"]
                .create({"name": "Bench Shipping", "type": "service"})
                .id,
            }
        )
        cr.commit()
        started = time.perf_counter()
        for i in range(total):
            order = env["sale.order"].create(
                {
                    "partner_id": customers[i % N_CUSTOMERS].id,
                    "carrier_id": carrier.id,
                    "order_line": [
                        (
                            0,
                            0,
                            {
                                "product_id": product.id,
                                "product_uom_qty": 1 + (i + j) % 3,
                            },
                        )
                        for j, product in enumerate(products)
                    ],
                }
            )
            order.action_confirm()
            picking = order.picking_ids
            picking.ensure_one()
            if picking.state != "assigned":
                picking.action_assign()
            if picking.state != "assigned":
                raise RuntimeError(f"{picking.name} is not reserved ({picking.state})")
            # Logistics sets the tracking number before the worker validates.
            # In every scenario, so that vanilla stock_delivery does not call
            # the carrier (send_to_shipper) either.
            picking.carrier_tracking_ref = f"BENCH{i:06d}"
            if i % 50 == 49:
                cr.commit()
                _logger.info(
                    "%d/%d orders (%.0fs)", i + 1, total, time.perf_counter() - started
                )
        cr.commit()
    Registry.delete(db)
    sql_db.close_db(db)


def prepare_scenario(key, db):
    """Company settings per scenario; parcel details for (c). Returns the
    warehouse user and the delivery ids in creation order."""
    registry = Registry(db)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        company = env.company
        company.stock_move_email_validation = key in ("b", "c")
        pickings = env["stock.picking"].search(
            [("picking_type_code", "=", "outgoing"), ("state", "=", "assigned")],
            order="id",
        )
        if key == "c":
            # (c) keeps the native email flag on: our dispatch notification
            # replaces it, as a company switching from (b) would have it.
            company.shipment_notify_dispatch = True
            pickings.write(
                {
                    "shipment_length": 30.0,
                    "shipment_width": 20.0,
                    "shipment_height": 10.0,
                }
            )
            missing = [p.name for p in pickings if p._get_shipment_detail_errors()]
            if missing:
                raise RuntimeError(f"details still missing on {missing[:5]}")
        user = env["res.users"].search([("login", "=", "bench_warehouse")])
        cr.commit()
        return user.id, pickings.ids


# ----------------------------------------------------------------------
# Timing and tracing
# ----------------------------------------------------------------------
class Scenario:
    def __init__(self, key, db, uid, picking_ids):
        self.key = key
        self.db = db
        self.uid = uid
        self.picking_ids = list(picking_ids)
        self.registry = Registry(db)
        # For the checks after the loop; each validation has its own.
        self.cr = self.registry.cursor()
        env = api.Environment(self.cr, SUPERUSER_ID, {})
        self.context = dict(env["res.users"].browse(uid).context_get())
        # Not idle in a transaction through the loop (it would hold back
        # the cleanup of the rows the validations update).
        self.cr.rollback()
        self.validated = 0
        self.times = []
        self.queries = []
        self.all_queries = []

    def next_picking(self):
        return self.picking_ids.pop(0)

    def validate(self, picking_id, record=True):
        """One validation as a request runs it: on a cursor of its own (a
        connection from the pool, a new transaction and cache), timed from
        ``button_validate`` to the commit."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, self.uid, self.context)
            picking = env["stock.picking"].browse(picking_id)
            count0, global0 = cr.sql_log_count, sql_db.sql_counter
            start = time.perf_counter()
            res = picking.button_validate()
            env.flush_all()
            cr.commit()
            elapsed = time.perf_counter() - start
            queries = cr.sql_log_count - count0
            all_queries = sql_db.sql_counter - global0
        if res is not True:
            raise RuntimeError(
                f"[{self.key}] validation of {picking_id} returned {res!r}"
            )
        self.validated += 1
        if record:
            self.times.append(elapsed * 1000)
            self.queries.append(queries)
            self.all_queries.append(all_queries)
        return elapsed, queries

    def check_env(self):
        """A superuser environment on a new transaction: the checks must see
        what the validations committed (a transaction reads the snapshot of
        its first statement, and this cursor's first was before them)."""
        self.cr.rollback()
        return api.Environment(self.cr, SUPERUSER_ID, {})

    def close(self):
        self.cr.close()


ADDON_DIR = os.path.join(REPO, "shipment_tracking") + os.sep
ORM_FILES = (
    "/odoo/models.py",
    "/odoo/fields.py",
    "/odoo/api.py",
    "/odoo/sql_db.py",
    "/odoo/tools/",
    "/odoo/osv/",
    "/odoo/orm/",
    "/odoo/modules/registry.py",
    "/contextlib.py",
    "/functools.py",
    "bench/validate.py",
)


def _where(stack):
    """(innermost add-on frame that is not a plain super() call, innermost
    business frame) of a query's stack, as 'file:line func' strings."""
    ours = business = None
    for frame in reversed(stack):
        fname = frame.filename
        if business is None and not any(part in fname for part in ORM_FILES):
            business = frame
        if ours is None and fname.startswith(ADDON_DIR):
            ours = frame
        if ours and business:
            break
    if ours and "super(" in (ours.line or ""):
        ours = None

    def fmt(frame):
        if frame is None:
            return ""
        path = frame.filename
        for root in (
            REPO + os.sep,
            os.path.join(ODOO_SRC, "odoo", "addons") + os.sep,
            ODOO_SRC + os.sep,
        ):
            path = path.replace(root, "")
        return f"{path}:{frame.lineno} {frame.name}"

    return fmt(ours), fmt(business)


NUMBER = re.compile(r"\b\d+(\.\d+)?\b")
SPACES = re.compile(r"\s+")
WRITE_TABLE = re.compile(r'^\s*(?:INSERT INTO|UPDATE|DELETE FROM)\s+"?(\w+)"?', re.I)
FROM_TABLE = re.compile(r'\bFROM\s+"?(\w+)"?', re.I)


def classify(query):
    verb = query.split(None, 1)[0].upper() if query.strip() else "?"
    match = WRITE_TABLE.search(query) or FROM_TABLE.search(query)
    return verb, match.group(1) if match else ""


def normalize(query):
    query = SPACES.sub(" ", query).strip()
    query = re.sub(r"'[^']*'", "'?'", query)
    return NUMBER.sub("N", query)


@contextlib.contextmanager
def trace_sql(dbname, records):
    """Record (query, params, stack) of every statement run on ``dbname``."""
    original = sql_db.Cursor.execute

    def execute(self, query, params=None, log_exceptions=True):
        if self.dbname == dbname:
            code = query.code if isinstance(query, odoo.tools.SQL) else str(query)
            records.append((code, params, traceback.extract_stack()[:-1]))
        return original(self, query, params, log_exceptions)

    sql_db.Cursor.execute = execute
    try:
        yield
    finally:
        sql_db.Cursor.execute = original


def _short(shape, width=150):
    return shape if len(shape) <= width else shape[: width - 3] + "..."


def _write_sql_logs(traces, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for key, records in traces.items():
        with open(os.path.join(out_dir, f"validation_{key}.sql"), "w") as fh:
            for i, (query, params, stack) in enumerate(records, 1):
                ours, business = _where(stack)
                tag = f"  [ours: {ours}]" if ours else ""
                fh.write(f"-- #{i} {business}{tag}\n")
                fh.write(f"{SPACES.sub(' ', query).strip()}\n-- params: {params!r}\n")


def _print_by_table(a, c):
    counts_a = collections.Counter(classify(q) for q, _p, _s in a)
    counts_c = collections.Counter(classify(q) for q, _p, _s in c)
    rows = sorted(
        (counts_c[kind] - counts_a[kind], kind)
        for kind in set(counts_a) | set(counts_c)
        if counts_c[kind] != counts_a[kind]
    )
    print("\nStatements by kind and table, (c) minus (a):")
    print(f"  {'delta':>5}  {'a':>3}  {'c':>3}  statement")
    for delta, kind in sorted(rows, key=lambda r: (-r[0], r[1])):
        print(
            f"  {delta:>+5}  {counts_a[kind]:>3}  {counts_c[kind]:>3}  {' '.join(kind)}"
        )


def _print_extra_shapes(a, c):
    shapes_a = collections.Counter(normalize(q) for q, _p, _s in a)
    shapes_c = collections.Counter(normalize(q) for q, _p, _s in c)
    kinds_a = collections.Counter(classify(q) for q, _p, _s in a)
    kinds_c = collections.Counter(classify(q) for q, _p, _s in c)
    extra = shapes_c - shapes_a
    where = collections.defaultdict(collections.Counter)
    for query, _params, stack in c:
        shape = normalize(query)
        if shape in extra:
            ours, business = _where(stack)
            where[shape][f"ours: {ours}" if ours else f"core: {business}"] += 1
    print(
        "\nStatements (c) runs that (a) does not (normalized; count; where from; "
        "'~' = (a) runs as many on that table, e.g. the same query with other "
        "columns):"
    )
    for shape, count in sorted(extra.items(), key=lambda kv: -kv[1]):
        kind = classify(shape)
        mark = "~" if kinds_c[kind] <= kinds_a[kind] else " "
        print(f" {mark}{count:>3}x {_short(shape)}")
        for origin, n in where[shape].most_common(3):
            print(f"        <- {origin} ({n})")
    fewer = {
        shape: n
        for shape, n in (shapes_a - shapes_c).items()
        if kinds_a[classify(shape)] > kinds_c[classify(shape)]
    }
    if fewer:
        print("\nStatements (a) runs and (c) does not:")
        for shape, count in sorted(fewer.items(), key=lambda kv: -kv[1])[:10]:
            print(f"  {count:>3}x {_short(shape)}")


def _print_origins(c):
    origins = collections.Counter()
    for _query, _params, stack in c:
        ours, _business = _where(stack)
        if ours:
            origins[ours] += 1
    if origins:
        print("\n(c) statements issued from shipment_tracking code (innermost frame):")
        for origin, n in origins.most_common():
            print(f"  {n:>3}  {origin}")


def _print_profile(profiles):
    """Where one validation of (c) spends time in the add-on's code (cProfile,
    so inflated, but comparable with (a)'s total)."""
    totals = {key: stats.total_tt for key, stats in profiles.items()}
    print(
        f"\nProfile of one validation (cProfile, inflated): (a) "
        f"{1000 * totals['a']:.0f} ms, (c) {1000 * totals['c']:.0f} ms. "
        "Cumulative time of the add-on's functions in (c) (overrides include "
        "their super() call):"
    )
    rows = []
    for (filename, lineno, func), stat in profiles["c"].stats.items():
        if filename.startswith(ADDON_DIR):
            _calls, ncalls, _tt, cumtime, _callers = stat
            name = f"{filename[len(REPO) + 1 :]}:{lineno} {func}"
            rows.append((cumtime, ncalls, name))
    for cumtime, ncalls, name in sorted(rows, reverse=True)[:15]:
        print(f"  {1000 * cumtime:>7.1f} ms {ncalls:>4} calls  {name}")


def sql_diff(traces, out_dir):
    """Print which statements (c)'s validation runs beyond (a)'s."""
    _write_sql_logs({k: traces[k] for k in ("a", "c")}, out_dir)
    a, c = traces["a"], traces["c"]
    print(
        f"\nSQL of one validation: (a) {len(a)} statements, (c) {len(c)} "
        f"(full logs in {out_dir}/validation_[ac].sql)"
    )
    _print_by_table(a, c)
    _print_extra_shapes(a, c)
    _print_origins(c)
    _print_profile({k: traces[f"profile_{k}"] for k in ("a", "c")})


# ----------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------
def print_table(scenarios):
    base = scenarios.get("a")
    print()
    header = (
        f"{'scenario':<28} {'n':>4} {'median ms':>10} {'p90 ms':>8} "
        f"{'median q':>9} {'all q':>6} {'time x(a)':>10} {'extra q':>8}"
    )
    print(header)
    print("-" * len(header))
    results = {}
    for key, sc in scenarios.items():
        med = statistics.median(sc.times)
        med_q = statistics.median(sc.queries)
        med_all = statistics.median(sc.all_queries)
        ratio = med / statistics.median(base.times) if base else float("nan")
        # Every statement of the process counts (other cursors' too, e.g. a
        # post-commit hook), not only the validation cursor's.
        extra = med_all - statistics.median(base.all_queries) if base else float("nan")
        results[key] = (med, med_q, ratio, extra)
        print(
            f"({key}) {SCENARIOS[key]:<24} {len(sc.times):>4} {med:>10.1f} "
            f"{percentile(sc.times, 0.9):>8.1f} {med_q:>9.0f} {med_all:>6.0f} "
            f"{ratio:>9.2f}x {extra:>+8.0f}"
        )
    if "c" in results and base:
        _med, _q, ratio, extra = results["c"]
        ok_time = ratio <= TARGET_TIME_RATIO
        ok_q = extra <= TARGET_EXTRA_QUERIES
        print(
            f"\nTarget (c) median time <= {TARGET_TIME_RATIO}x (a): {ratio:.2f}x  "
            f"{'PASS' if ok_time else 'FAIL'}"
        )
        print(
            f"Target (c) median queries (all q) <= (a) + {TARGET_EXTRA_QUERIES}: "
            f"{extra:+.0f}  "
            f"{'PASS' if ok_q else 'FAIL'}"
        )
        return ok_time and ok_q
    return True


def run_notification_cron(sc):
    """Run the notification cron once (untimed by the click), check every
    delivery ended up with a queued email."""
    env = sc.check_env()
    cr = env.cr
    done_ids = (
        env["stock.picking"]
        .search([("picking_type_code", "=", "outgoing"), ("state", "=", "done")])
        .ids
    )
    to_send = env["stock.picking"].search_count(
        [("shipment_notification_state", "=", "to_send")]
    )
    count0 = sql_db.sql_counter
    start = time.perf_counter()
    # As Odoo's cron runner does: call again while a call took messages (one
    # batch per call).
    for _call in range(100):
        took = env["shipment.tracking.notification"]._cron_send()
        env.flush_all()
        cr.commit()
        if not took:
            break
    elapsed = time.perf_counter() - start
    queries = sql_db.sql_counter - count0
    pickings = env["stock.picking"].browse(done_ids)
    bad = pickings.filtered(
        lambda p: p.shipment_notification_state not in ("queued", "sent")
    )
    mails = env["mail.mail"].search(
        [("model", "=", "stock.picking"), ("res_id", "in", done_ids)]
    )
    messages = env["mail.message"].search(
        [
            ("model", "=", "stock.picking"),
            ("res_id", "in", done_ids),
            ("message_type", "=", "comment"),
        ]
    )
    with_mail = set(mails.mapped("res_id"))
    without_mail = [pid for pid in done_ids if pid not in with_mail]
    print(
        f"\n(c) notification cron: {to_send} to send, {elapsed:.1f}s, "
        f"{1000 * elapsed / max(to_send, 1):.1f} ms and "
        f"{queries / max(to_send, 1):.1f} queries per shipment (off the click)"
    )
    print(
        f"    done deliveries: {len(done_ids)}; state queued/sent: "
        f"{len(pickings) - len(bad)}; mail.mail: {len(mails)} "
        f"(deliveries without one: {len(without_mail)}); "
        f"comment messages: {len(messages)}"
    )
    ok = not bad and not without_mail and to_send == len(done_ids) == sc.validated
    if not ok:
        print(
            f"    CHECK FAILED: {sc.validated} validated, {len(done_ids)} done, "
            f"{to_send} to send; not queued {bad[:5].mapped('name')}, "
            f"no mail {without_mail[:5]}"
        )
    return ok


def check_native_email(sc, expect):
    env = sc.check_env()
    done = env["stock.picking"].search(
        [("picking_type_code", "=", "outgoing"), ("state", "=", "done")]
    )
    pdfs = env["ir.attachment"].search_count(
        [
            ("mimetype", "=", "application/pdf"),
            ("res_model", "in", ("stock.picking", "mail.message")),
            ("res_id", "!=", False),
        ]
    )
    messages = env["mail.message"].search_count(
        [
            ("model", "=", "stock.picking"),
            ("res_id", "in", done.ids),
            ("subtype_id", "=", env.ref("mail.mt_comment").id),
        ]
    )
    print(
        f"({sc.key}) {len(done)} done; PDF attachments: {pdfs}; confirmation messages: "
        f"{messages}"
    )
    if len(done) != sc.validated:
        print(
            f"    CHECK FAILED: ({sc.key}) {sc.validated} validated, {len(done)} done"
        )
        return False
    if expect and (pdfs < len(done) or messages < len(done)):
        print(
            f"    CHECK FAILED: ({sc.key}) expected a confirmation email with PDF "
            "per delivery"
        )
        return False
    if not expect and messages:
        print(f"    CHECK FAILED: ({sc.key}) expected no confirmation email")
        return False
    return True


# ----------------------------------------------------------------------
def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--count", type=int, default=300, help="timed validations per scenario")
    add("--warmup", type=int, default=10, help="untimed validations first")
    add("--db-prefix", default="bench_", help="database name prefix")
    add("--keep", action="store_true", help="keep the databases")
    add("--scenarios", default="abc", help="subset of abc (default: abc)")
    add("--no-trace", action="store_true", help="skip the SQL diff of (a)/(c)")
    add("--trace-dir", default=None, help="where to write the SQL logs")
    add("--log-level", default="warn", help="Odoo log level")
    opts = parser.parse_args()
    check_prefix(opts.db_prefix)
    opts.keys = [k for k in "abc" if k in opts.scenarios]
    tmp = tempfile.gettempdir()
    opts.data_dir = os.path.join(tmp, f"{opts.db_prefix}odoo_data")
    opts.trace_dir = opts.trace_dir or os.path.join(tmp, f"{opts.db_prefix}sql")
    return opts


def build_databases(opts, template, dbs, created):
    """Template with the data, one copy per scenario, the add-on on (c)'s."""
    for name in [template, *dbs.values()]:
        if db_exists(name):
            sys.exit(f"database {name} exists: drop it or use another --db-prefix")
    created.append(template)
    odoo_bin(["-d", template, "-i", "sale_stock,stock_delivery"], opts)
    start = time.perf_counter()
    setup_template(template, opts)
    _logger.info("data set up in %.0fs", time.perf_counter() - start)
    for name in dbs.values():
        created.append(name)
        copy_db(template, name, opts.data_dir)
    if "c" in dbs:
        odoo_bin(["-d", dbs["c"], "-i", "shipment_tracking"], opts)


def run_validations(scenarios, opts):
    """Warm-up, one traced validation of (a) and (c), then the timed loop.
    Returns the traces (or None)."""
    _logger.info("warm-up: %d validations per scenario", opts.warmup)
    for _i in range(opts.warmup):
        for sc in scenarios.values():
            sc.validate(sc.next_picking(), record=False)
    traces = None
    if not opts.no_trace and {"a", "c"} <= set(scenarios):
        traces = {}
        for key in ("a", "c"):
            sc = scenarios[key]
            traces[key] = []
            with trace_sql(sc.db, traces[key]):
                sc.validate(sc.next_picking(), record=False)
            profiler = cProfile.Profile()
            profiler.runcall(sc.validate, sc.next_picking(), record=False)
            traces[f"profile_{key}"] = pstats.Stats(profiler)
    _logger.info("timed: %d validations per scenario, round-robin", opts.count)
    start = time.perf_counter()
    for i in range(opts.count):
        for sc in scenarios.values():
            sc.validate(sc.next_picking())
        if i % 50 == 49:
            elapsed = time.perf_counter() - start
            _logger.info("%d/%d (%.0fs)", i + 1, opts.count, elapsed)
    return traces


def report(scenarios, traces, opts):
    print(
        f"\nValidations of 3-line deliveries as a Warehouse user; {opts.count} timed "
        f"per scenario after {opts.warmup} warm-up, round-robin; load average at "
        f"the end {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    ok = print_table(scenarios)
    print()
    if "a" in scenarios:
        ok &= check_native_email(scenarios["a"], expect=False)
    if "b" in scenarios:
        ok &= check_native_email(scenarios["b"], expect=True)
        print(f"    emails handed to the fake SMTP session: {FakeSMTP.sent}")
    if "c" in scenarios:
        ok &= check_native_email(scenarios["c"], expect=False)
        ok &= run_notification_cron(scenarios["c"])
    if traces:
        sql_diff(traces, opts.trace_dir)
    return ok


def main():
    opts = parse_args()
    run_start = time.perf_counter()
    odoo.tools.config.parse_config(server_args(opts), setup_logging=True)
    logging.getLogger("bench").setLevel(logging.INFO)
    # This machine's wkhtmltopdf is built on unpatched Qt: Odoo warns at
    # every PDF.
    logging.getLogger("odoo.addons.base.models.ir_actions_report").setLevel(
        logging.ERROR
    )
    disable_email()

    template = f"{opts.db_prefix}template"
    dbs = {key: f"{opts.db_prefix}{key}" for key in opts.keys}
    created = []
    scenarios = {}
    try:
        build_databases(opts, template, dbs, created)
        setup_time = time.perf_counter() - run_start
        for key, name in dbs.items():
            uid, picking_ids = prepare_scenario(key, name)
            scenarios[key] = Scenario(key, name, uid, picking_ids)
        start = time.perf_counter()
        traces = run_validations(scenarios, opts)
        loop_time = time.perf_counter() - start
        ok = report(scenarios, traces, opts)
        print(
            f"\nTotal run {time.perf_counter() - run_start:.0f}s (databases and data "
            f"{setup_time:.0f}s, warm-up + timed loop {loop_time:.0f}s)"
        )
    finally:
        for sc in scenarios.values():
            sc.close()
        if opts.keep:
            print(f"kept databases: {', '.join(created)} (data dir {opts.data_dir})")
        else:
            for name in created:
                drop_db(name, opts.data_dir)
            shutil.rmtree(opts.data_dir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
