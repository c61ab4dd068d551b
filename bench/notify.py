#!/usr/bin/env python3
"""Benchmark: the notification cron, dispatch email + SMS of N shipments.

Not a test: it builds its own throw-away database (``-i shipment_tracking_sms``
on a fresh one, no demo data), validates N deliveries that carry a tracking
number (each queues one customer message: the dispatch notice, email and SMS
channels), then runs ``shipment.tracking.notification._cron_send`` the way
Odoo's cron runner does: call after call, each committed, while a call took
rows. It prints throughput and queries, with the targets, PASS/FAIL.

Units:
  message          one customer message: a row of the outbox (here the
                   dispatch notice of one shipment), whatever its channels;
  channel message  one email or one SMS handed to Odoo's queues (here two
                   per message).
The targets are per message (the stricter reading): >= 100 messages/s for one
cron worker and <= 8 queries per message.

What is measured: the notification cron only, i.e. rendering each message into
Odoo's mail queue (mail.mail, with the chatter message on the delivery) and
SMS queue (sms.sms). Sending them is the mail and SMS queues' work, not timed:
after the timed run, the mail queue is run once against a fake SMTP session
that drops the messages (no email leaves the process) to check the outcomes
come back to the outbox; the SMS queue is never run (IAP is never called).

Usage (see bench/README.md):
    python bench/notify.py [--count 1000] [--batch-size 200] [--keep] [--reuse]
"""

# A command-line benchmark on its own throw-away database: it prints its report
# and commits after each cron call, as Odoo's cron runner does.
# pylint: disable=print-used,invalid-commit
import argparse
import contextlib
import cProfile
import logging
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from collections import Counter

from _common import (
    REPO,
    FakeSMTP,
    add_odoo_to_path,
    check_prefix,
    copy_db,
    db_exists,
    disable_email,
    drop_db,
    odoo_bin,
    server_args,
)

add_odoo_to_path()

import odoo  # noqa: E402
from odoo import SUPERUSER_ID, api, sql_db  # noqa: E402
from odoo.modules.registry import Registry  # noqa: E402

_logger = logging.getLogger("bench.notify")

MODULES = "sale_stock,stock_delivery,shipment_tracking,shipment_tracking_sms"
TARGET_MESSAGES_PER_S = 100
TARGET_QUERIES_PER_MESSAGE = 8
N_CUSTOMERS = 50
CHUNK = 100  # orders created and validated per transaction while setting up
CPU_SECONDS = []  # the worker process's CPU time of each timed call


# ----------------------------------------------------------------------
# No email leaves the process, no SMS gateway is called
# ----------------------------------------------------------------------
def disable_email_and_sms():
    from odoo.addons.sms.models.sms_sms import SmsSms

    disable_email()

    def no_gateway(self, *args, **kwargs):
        raise RuntimeError("bench: the SMS gateway is never called")

    SmsSms._send = no_gateway


# ----------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------
def setup_data(db, opts):
    """Customers with an email and a mobile number, products in stock, a fixed
    carrier, and N confirmed orders whose deliveries carry a tracking number
    and are validated: each queues its dispatch notice (email + SMS)."""
    registry = Registry(db)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
        company = env.company
        company.write(
            {
                "email": "shop@bench.example",
                "country_id": env.ref("base.be").id,
                "stock_move_email_validation": False,
                "shipment_notify_dispatch": True,
                "shipment_notify_sms": True,
                "shipment_sms_gateway": "iap",
            }
        )
        customers = env["res.partner"].create(
            [
                {
                    "name": f"Bench Customer {i}",
                    "email": f"customer{i}@bench.example",
                    "mobile": f"+32 470 12 {i // 100 % 100:02d} {i % 100:02d}",
                    "street": f"{i} Rue Neuve",
                    "city": "Bruxelles",
                    "zip": "1000",
                    "country_id": env.ref("base.be").id,
                }
                for i in range(N_CUSTOMERS)
            ]
        )
        product = env["product.product"].create(
            {
                "name": "Bench Mug",
                "type": "consu",
                "is_storable": True,
                "weight": 0.35,
                "list_price": 10.0,
            }
        )
        stock = env["stock.warehouse"].search(
            [("company_id", "=", company.id)], limit=1
        )
        env["stock.quant"]._update_available_quantity(
            product, stock.lot_stock_id, opts.count + 10
        )
        carrier = env["delivery.carrier"].create(
            {
                "name": "Bench Express",
                "delivery_type": "fixed",
                "fixed_price": 5.0,
                "shipment_transit_days": 2,
                "tracking_url": "https://track.example/t?n=<ShipmentTrackingNumber>",
                "product_id": env["product.product"]
                .create({"name": "Bench Shipping", "type": "service"})
                .id,
            }
        )
        cr.commit()
        started = time.perf_counter()
        for start in range(0, opts.count, CHUNK):
            size = min(CHUNK, opts.count - start)
            orders = env["sale.order"].create(
                [
                    {
                        "partner_id": customers[(start + i) % N_CUSTOMERS].id,
                        "carrier_id": carrier.id,
                        "order_line": [
                            (0, 0, {"product_id": product.id, "product_uom_qty": 1})
                        ],
                    }
                    for i in range(size)
                ]
            )
            orders.action_confirm()
            pickings = orders.picking_ids
            for picking in pickings:
                picking.carrier_tracking_ref = f"BENCH{picking.id:07d}"
            pickings.button_validate()
            cr.commit()
            _logger.info(
                "%d/%d deliveries dispatched (%.0fs)",
                start + size,
                opts.count,
                time.perf_counter() - started,
            )
        queued = env["shipment.tracking.notification"].search_count(
            [("is_pending", "=", True)]
        )
        if queued != opts.count:
            raise RuntimeError(f"{queued} messages queued, {opts.count} expected")
    Registry.delete(db)
    sql_db.close_db(db)


# ----------------------------------------------------------------------
# SQL trace (--trace): which statements a cron call runs, and from where
# ----------------------------------------------------------------------
NUMBER = re.compile(r"\b\d+(\.\d+)?\b")
SPACES = re.compile(r"\s+")
ADDONS = ("shipment_tracking", "shipment_tracking_sms")


def normalize(query):
    query = SPACES.sub(" ", query).strip()
    query = re.sub(r"'[^']*'", "'?'", query)
    query = re.sub(r"\(\s*(N|%s)(\s*,\s*(N|%s))*\s*\)", "(..)", NUMBER.sub("N", query))
    return query


def _origin(stack):
    """The innermost frame of our add-ons, else the innermost of Odoo's."""
    for frame in reversed(stack):
        parts = frame.filename.split(os.sep)
        if any(addon in parts for addon in ADDONS) and frame.filename.startswith(REPO):
            return (
                f"{os.path.relpath(frame.filename, REPO)}:{frame.lineno} {frame.name}"
            )
    return "core"


def _addon_frame(stack):
    """The innermost frame of an add-on (Odoo's or ours), outside the ORM."""
    for frame in reversed(stack):
        if "/addons/" in frame.filename and "/addons/base/" not in frame.filename:
            path = frame.filename.split("/addons/", 1)[1]
            return f"{path}:{frame.lineno} {frame.name}"
    return "?"


@contextlib.contextmanager
def trace_sql(dbname, records):
    original = sql_db.Cursor.execute

    def execute(self, query, params=None, log_exceptions=True):
        if self.dbname == dbname:
            code = query.code if isinstance(query, odoo.tools.SQL) else str(query)
            records.append((code, traceback.extract_stack()[:-1]))
        return original(self, query, params, log_exceptions)

    sql_db.Cursor.execute = execute
    try:
        yield
    finally:
        sql_db.Cursor.execute = original


def print_trace(records, rows):
    print(f"\nSQL of one traced call ({rows} rows, {len(records)} statements):")
    shapes = Counter(normalize(q)[:140] for q, _s in records)
    where = {}
    for query, stack in records:
        where.setdefault(normalize(query)[:140], Counter())[_addon_frame(stack)] += 1
    for shape, count in shapes.most_common(40):
        print(f"  {count:>5}  {shape}")
        origin, _n = where[shape].most_common(1)[0]
        print(f"         <- {origin}")
    print("  by origin (innermost frame of the add-ons):")
    for origin, count in Counter(_origin(s) for _q, s in records).most_common(25):
        print(f"  {count:>5}  {origin}")


# ----------------------------------------------------------------------
# The run
# ----------------------------------------------------------------------
def run_cron(db, opts):
    """Call ``_cron_send`` as the cron runner does (one batch per call, each
    committed) until a call takes nothing. Returns per-call (rows, queries,
    seconds)."""
    registry = Registry(db)
    calls = []
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        Notification = env["shipment.tracking.notification"]
        if opts.batch_size:
            env["ir.config_parameter"].set_param(
                "shipment_tracking.notification_batch_size", opts.batch_size
            )
        cr.commit()
        # Warm the registry's caches (templates, xmlids, QWeb) on one message,
        # as a long-running cron worker has them: not counted.
        Notification._cron_send(batch_size=1)
        cr.commit()
        if opts.trace:
            records = []
            env.invalidate_all()
            with trace_sql(db, records):
                taken = Notification._cron_send()
                cr.commit()
            print_trace(records, taken)
        profiler = cProfile.Profile(time.process_time) if opts.profile else None
        while True:
            env.invalidate_all()
            count0 = sql_db.sql_counter
            start, cpu0 = time.perf_counter(), time.process_time()
            if profiler:
                profiler.enable()
            taken = Notification._cron_send()
            cr.commit()
            if profiler:
                profiler.disable()
            elapsed = time.perf_counter() - start
            if not taken:
                break
            calls.append((taken, sql_db.sql_counter - count0, elapsed))
            CPU_SECONDS.append(time.process_time() - cpu0)
            if opts.calls and len(calls) >= opts.calls:
                break
    if profiler:
        profiler.dump_stats(opts.profile)
        print(f"CPU profile of the timed calls: {opts.profile} (pstats)")
    return calls


def check_outcome(db, opts):
    """Every message queued its email and its SMS, once; the chatter has the
    customer's email; then the mail queue (fake SMTP) marks the emails sent."""
    registry = Registry(db)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        rows = env["shipment.tracking.notification"].search([])
        states = {
            "email": statistics_count(rows.mapped("email_state")),
            "sms": statistics_count(rows.mapped("sms_state")),
        }
        mails = env["mail.mail"].search_count([("model", "=", "stock.picking")])
        sms = env["sms.sms"].search_count([])
        print(
            f"  outbox rows: {len(rows)}; email states {states['email']}; "
            f"SMS states {states['sms']}; mail.mail {mails}; sms.sms {sms}"
        )
        ok = (
            len(rows) == opts.count
            and states["email"] == {"outgoing": opts.count}
            and states["sms"] == {"outgoing": opts.count}
            and mails == opts.count
            and sms == opts.count
        )
        env["mail.mail"].process_email_queue()
        cr.commit()
        env.invalidate_all()
        sent = rows.filtered(lambda r: r.email_state == "sent")
        print(
            f"  mail queue run (fake SMTP): {FakeSMTP.sent} emails handed over, "
            f"{len(sent)} outbox rows now email 'sent'"
        )
        ok &= len(sent) == opts.count
    if not ok:
        print("  CHECK FAILED")
    return ok


def statistics_count(values):
    counts = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


def report(calls, opts):
    rows = sum(taken for taken, _q, _s in calls)
    queries = sum(q for _t, q, _s in calls)
    seconds = sum(s for _t, _q, s in calls)
    channel_messages = 2 * rows
    per_s = rows / seconds if seconds else 0.0
    per_row_q = queries / rows if rows else float("inf")
    full = [q for taken, q, _s in calls if taken == max(t for t, _q, _s in calls)]
    print(
        f"\nNotification cron, {rows} messages (dispatch notices: email + SMS each, "
        f"so {channel_messages} channel messages), {len(calls)} calls of up to "
        f"{max(t for t, _q, _s in calls)} rows; load average at the end "
        f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    print(
        f"  time:    {seconds:.2f}s: {1000 * seconds / rows:.1f} ms per message, "
        f"{per_s:.0f} messages/s, {channel_messages / seconds:.0f} channel "
        "messages/s"
    )
    cpu = sum(CPU_SECONDS)
    print(
        f"  worker CPU: {cpu:.2f}s: {1000 * cpu / rows:.1f} ms per message, "
        f"{rows / cpu:.0f} messages per CPU second of the worker (PostgreSQL's "
        "time apart; less sensitive than wall time to other load)"
    )
    print(
        f"  queries: {queries}: {per_row_q:.2f} per message, "
        f"{queries / channel_messages:.2f} per channel message; per full call: "
        f"median {statistics.median(full):.0f} (min {min(full)}, max {max(full)})"
    )
    ok_rate = per_s >= TARGET_MESSAGES_PER_S
    ok_q = per_row_q <= TARGET_QUERIES_PER_MESSAGE
    print(
        f"\nTarget >= {TARGET_MESSAGES_PER_S} messages/s per cron worker: "
        f"{per_s:.0f}  {'PASS' if ok_rate else 'FAIL'}"
    )
    print(
        f"Target <= {TARGET_QUERIES_PER_MESSAGE} queries per message: "
        f"{per_row_q:.2f}  {'PASS' if ok_q else 'FAIL'}"
    )
    per_channel_q = queries / channel_messages
    print(
        f"(Reading a message as one email or one SMS: {per_channel_q:.2f} queries "
        f"per channel message, "
        f"{'PASS' if per_channel_q <= TARGET_QUERIES_PER_MESSAGE else 'FAIL'}; "
        f"{channel_messages / seconds:.0f} channel messages/s, "
        f"{'PASS' if channel_messages / seconds >= TARGET_MESSAGES_PER_S else 'FAIL'}"
        "; the targets above are per outbox row.)"
    )
    return ok_rate and ok_q


# ----------------------------------------------------------------------
def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--count", type=int, default=1000, help="shipments (messages) to notify")
    add(
        "--batch-size",
        type=int,
        default=0,
        help="rows per cron call (default: the add-on's, 200)",
    )
    add("--db-prefix", default="bench_notify_", help="database name prefix")
    add("--keep", action="store_true", help="keep the databases")
    add(
        "--reuse",
        action="store_true",
        help="reuse <prefix>template from an earlier --keep run (same --count)",
    )
    add("--calls", type=int, default=0, help="stop after N calls (a quick look)")
    add("--trace", action="store_true", help="print the SQL of one cron call")
    add(
        "--profile",
        metavar="FILE",
        help="cProfile the timed calls (CPU clock) into FILE; slows the run",
    )
    add("--log-level", default="warn", help="Odoo log level")
    opts = parser.parse_args()
    check_prefix(opts.db_prefix)
    opts.data_dir = os.path.join(tempfile.gettempdir(), f"{opts.db_prefix}odoo_data")
    return opts


def main():
    opts = parse_args()
    run_start = time.perf_counter()
    odoo.tools.config.parse_config(server_args(opts), setup_logging=True)
    logging.getLogger("bench").setLevel(logging.INFO)
    disable_email_and_sms()
    template = f"{opts.db_prefix}template"
    db = f"{opts.db_prefix}run"
    created = []
    try:
        if db_exists(db):
            sys.exit(f"database {db} exists: drop it or use another --db-prefix")
        if not (opts.reuse and db_exists(template)):
            if db_exists(template):
                sys.exit(f"database {template} exists: drop it, or pass --reuse")
            created.append(template)
            odoo_bin(["-d", template, "-i", MODULES], opts)
            setup_data(template, opts)
        elif opts.keep:
            pass
        setup_time = time.perf_counter() - run_start
        created.append(db)
        copy_db(template, db, opts.data_dir)
        calls = run_cron(db, opts)
        ok = report(calls, opts)
        if not opts.calls:
            print("\nChecks:")
            ok &= check_outcome(db, opts)
        print(
            f"\nTotal run {time.perf_counter() - run_start:.0f}s (database and data "
            f"{setup_time:.0f}s)"
        )
    finally:
        if opts.keep:
            print(f"kept databases: {', '.join(created)} (data dir {opts.data_dir})")
        else:
            for name in created:
                drop_db(name, opts.data_dir)
            if not opts.reuse:
                shutil.rmtree(opts.data_dir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
