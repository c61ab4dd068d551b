#!/usr/bin/env python3
"""Profile the poll cron on a copy of a database (a developer's tool, not the
benchmark: ``bench/poll.py`` is that).

Builds N open shipments of a sandbox carrier (in-process, no latency) inside
one transaction, polls them once with news (every shipment gets new events and
a status change) and once more without news, and prints, for each run, the
time and the SQL statements per shipment and per batch. The CPU time is this
process's: Odoo's work plus the sandbox's (a thread of it), without
PostgreSQL's. With ``--timers``, ``--sql`` or ``--profile`` the run with news
is repeated with the CPU time of the main steps, the statements by shape, or
under cProfile. Everything is rolled back: the database is left as it was.

Usage:
    python bench/profile_poll.py DB [--count 500] [--hours 5]
        [--timers] [--sql]
        [--profile [--clock cpu] [--sort tottime] [--callees REGEX] [--dump FILE]]

DB is a copy of a database with shipment_tracking_carrier_generic installed
(e.g. ``createdb -T st_tpl h2_x``); its code is this checkout's.
"""

# A command-line tool printing its report; the cron's commits are turned into
# no-ops so that everything is rolled back at the end.
# pylint: disable=print-used
import argparse
import collections
import contextlib
import cProfile
import io
import os
import pstats
import re
import time
from unittest.mock import patch

from _common import CACHE, ODOO_SRC, REPO, add_odoo_to_path

add_odoo_to_path()

import odoo  # noqa: E402
from odoo import SUPERUSER_ID, api, fields  # noqa: E402
from odoo.modules.registry import Registry  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("db")
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument(
        "--hours",
        type=float,
        default=5,
        help="sandbox clock advance before the poll (5: in transit, 37: out "
        "for delivery, 43: delivered)",
    )
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--timers",
        action="store_true",
        help="CPU time spent in the main steps (cheap, unlike --profile)",
    )
    parser.add_argument(
        "--callees", default="", help="also print the callees of these functions"
    )
    parser.add_argument(
        "--dump", default="", help="with --profile: also save the stats to this file"
    )
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="with --profile: what cProfile measures; cpu: this thread's CPU "
        "time (neither the sandbox's thread nor waits: steadier on a busy "
        "machine)",
    )
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--sort", default="cumulative", help="cumulative, tottime")
    parser.add_argument(
        "--sql", action="store_true", help="count the statements by shape"
    )
    return parser.parse_args()


def setup(env, sandbox, count):
    """A generic carrier on the sandbox (the only pollable one) and ``count``
    dispatched deliveries booked at the sandbox, one tracking number each."""
    # The sandbox's clock runs ahead of ours (see --hours): take its events.
    env["ir.config_parameter"].set_param("shipment_tracking.event_future_hours", 480)
    env["delivery.carrier"].search([("delivery_type", "=", "generic")]).write(
        {"active": False}
    )
    product = env["product.product"].create({"name": "Ship", "type": "service"})
    carrier = env["delivery.carrier"].create(
        {
            "name": "Profile Sandbox",
            "delivery_type": "generic",
            "product_id": product.id,
            "generic_base_url": sandbox.url,
            "generic_api_key": "profile-key",
            "generic_timeout": 5.0,
            "generic_max_retries": 0,
            "generic_rate_limit": 0,
            "shipment_transit_days": 2,
        }
    )
    partners = env["res.partner"].create(
        [
            {
                "name": f"Profile Customer {i}",
                "email": f"c{i}@profile.example",
                "street": "1 Market St",
                "city": "Brussels",
                "zip": "1000",
                "country_id": env.ref("base.be").id,
            }
            for i in range(20)
        ]
    )
    warehouse = env["stock.warehouse"].search(
        [("company_id", "=", env.company.id)], limit=1
    )
    pickings = env["stock.picking"].create(
        [
            {
                "picking_type_id": warehouse.out_type_id.id,
                "partner_id": partners[i % 20].id,
                "carrier_id": carrier.id,
            }
            for i in range(count)
        ]
    )
    now = fields.Datetime.now()
    env.flush_all()
    env.cr.execute(
        """UPDATE stock_picking SET state = 'done', date_done = %s,
               shipment_state = 'dispatched', shipment_date = %s
            WHERE id IN %s""",
        [now, now, tuple(pickings.ids)],
    )
    env.invalidate_all()
    vals = []
    for picking in pickings:
        _created, booking = sandbox.state.book(
            {
                "reference": picking.name,
                "scenario": "normal",
                "parcels": [{"reference": "1", "weight_kg": 1.0}],
                "ship_to": {
                    "name": picking.partner_id.name,
                    "street": "1 Market St",
                    "zip": "1000",
                    "city": "Brussels",
                    "country_code": "BE",
                },
            }
        )
        vals.append({"name": booking["tracking_numbers"][0], "picking_id": picking.id})
    env["shipment.tracking.number"].create(vals)
    env.flush_all()
    return carrier, pickings


def poll(env):
    """One cron run on every number; returns (seconds, CPU seconds of this
    process, statements)."""
    Number = env["shipment.tracking.number"]
    env.flush_all()
    # Every number due now (the previous run scheduled them later).
    env.cr.execute("UPDATE shipment_tracking_number SET next_poll_date = NULL")
    env.invalidate_all()
    queries = env.cr.sql_log_count
    started, cpu = time.perf_counter(), time.process_time()
    with patch.object(env.cr, "commit", lambda: None):
        Number._cron_poll()
        env.flush_all()
    return (
        time.perf_counter() - started,
        time.process_time() - cpu,
        env.cr.sql_log_count - queries,
    )


# (model, method) timed by --timers (nested ones included in their callers).
TIMED = [
    ("shipment.tracking.number", "_poll_batch"),
    ("shipment.tracking.number", "_poll"),
    ("shipment.tracking.event", "_apply_carrier_events"),
    ("delivery.carrier", "_shipment_fetch_tracking"),
    ("shipment.tracking.event", "_record_events"),
    ("shipment.tracking.event", "_follow_pickings"),
    ("shipment.tracking.number", "_shipment_by_name"),
    ("shipment.tracking.number", "_poll_got_news"),
    ("stock.picking", "_shipment_write_carrier_updates"),
    ("stock.picking", "_message_log_batch"),
    ("mail.tracking.value", "create"),
    ("mail.message", "create"),
    ("shipment.tracking.event", "create"),
    ("stock.picking", "_message_create"),
    ("stock.picking", "write"),
    ("stock.picking", "_mail_track"),
    ("stock.picking", "_message_auto_subscribe"),
    ("stock.picking", "_shipment_on_status"),
    ("shipment.tracking.event", "_get_carrier_status_note"),
    ("shipment.tracking.event", "_follow_news"),
    ("shipment.tracking.event", "_is_incident_news"),
    ("shipment.tracking.number", "_poll_claim"),
    ("shipment.tracking.number", "_poll_backoff"),
    ("delivery.carrier", "_generic_map_events"),
    ("stock.picking", "_shipment_expire_if_silent"),
    ("shipment.tracking.incident", "_monitor"),
    ("shipment.tracking.notification", "_enqueue_many"),
    ("shipment.tracking.notification", "_shipment_mark_due"),
]


def timed(method, spent, name):
    """``method`` adding its CPU time to ``spent[name]`` (outermost call only:
    recursion through super() is not counted twice)."""
    depth = [0]

    def wrapper(*args, **kwargs):
        depth[0] += 1
        started = time.process_time()
        try:
            return method(*args, **kwargs)
        finally:
            depth[0] -= 1
            if not depth[0]:
                spent[name] += time.process_time() - started

    return wrapper


def report(label, count, batches, seconds, cpu, queries):
    print(
        f"{label:<10} {count:>6} shipments  {seconds:7.2f} s  "
        f"{count / seconds:8.0f} /s  {seconds * 1000 / count:6.2f} ms/shipment  "
        f"(Odoo CPU {cpu * 1000 / count:6.2f} ms)  "
        f"{queries / count:6.2f} q/shipment  {queries / batches:8.1f} q/batch"
    )


def main():
    opts = parse_args()
    odoo.tools.config.parse_config(
        [
            "-d",
            opts.db,
            "--db_host",
            os.environ.get("PGHOST", "127.0.0.1"),
            "--db_user",
            os.environ.get("PGUSER", "root"),
            f"--addons-path={os.path.join(ODOO_SRC, 'odoo', 'addons')},{REPO},"
            + os.path.join(CACHE, "oca-addons"),
            "--log-level=warn",
        ]
    )
    from odoo.addons.shipment_tracking_carrier_generic.sandbox import SandboxCarrier

    sandbox = SandboxCarrier(port=0, api_key="profile-key", quiet=True).start()
    registry = Registry(opts.db)
    try:
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            started = time.perf_counter()
            carrier, _pickings = setup(env, sandbox, opts.count)
            elapsed = time.perf_counter() - started
            print(f"setup: {opts.count} shipments in {elapsed:.1f} s")
            sandbox.advance_clock(opts.hours)
            batches = -(-opts.count // carrier._shipment_poll_batch_size())
            cr.execute("SAVEPOINT profile_poll")
            seconds, cpu, queries = poll(env)
            report("news", opts.count, batches, seconds, cpu, queries)
            seconds, cpu, queries = poll(env)
            report("no news", opts.count, batches, seconds, cpu, queries)
            if opts.timers:
                cr.execute("ROLLBACK TO SAVEPOINT profile_poll")
                env.invalidate_all()
                spent = collections.Counter()
                with contextlib.ExitStack() as stack:
                    for model, method in TIMED:
                        cls = type(env[model])
                        if not hasattr(cls, method):
                            continue  # another version of the code
                        stack.enter_context(
                            patch.object(
                                cls,
                                method,
                                timed(getattr(cls, method), spent, f"{model}.{method}"),
                            )
                        )
                    _seconds, cpu, _queries = poll(env)
                print(f"CPU per shipment, total {cpu * 1000 / opts.count:.2f} ms:")
                for name, value in spent.most_common():
                    print(f"  {value * 1000 / opts.count:6.2f} ms  {name}")
            if opts.sql:
                cr.execute("ROLLBACK TO SAVEPOINT profile_poll")
                env.invalidate_all()
                shapes, waited = collections.Counter(), collections.Counter()
                execute = type(cr).execute

                def counting(self, query, params=None, log_exceptions=True):
                    shape = re.sub(r"\s+", " ", str(query))
                    shape = re.sub(r'"[0-9a-f-]{36}"', '"uuid"', shape)
                    shape = re.sub(r"\b\d+\b", "N", shape)[:160]
                    shapes[shape] += 1
                    started = time.perf_counter()
                    try:
                        return execute(self, query, params, log_exceptions)
                    finally:
                        waited[shape] += time.perf_counter() - started

                with patch.object(type(cr), "execute", counting):
                    seconds, _cpu, _queries = poll(env)
                # Wall time in execute(): PostgreSQL's work and the round
                # trips (and this process's work on the parameters).
                total = sum(waited.values())
                print(
                    f"statements: {sum(shapes.values())}, {total:.2f} s in "
                    f"execute() of {seconds:.2f} s; count, ms per shipment:"
                )
                for shape, count in shapes.most_common(opts.top):
                    spent = waited[shape] * 1000 / opts.count
                    print(f"{count:6d} {spent:6.2f}  {shape}")
            if opts.profile:
                cr.execute("ROLLBACK TO SAVEPOINT profile_poll")
                env.invalidate_all()
                profiler = (
                    cProfile.Profile(time.thread_time)
                    if opts.clock == "cpu"
                    else cProfile.Profile()
                )
                profiler.enable()
                seconds, cpu, queries = poll(env)
                profiler.disable()
                report("profiled", opts.count, batches, seconds, cpu, queries)
                if opts.dump:
                    profiler.dump_stats(opts.dump)
                out = io.StringIO()
                stats = pstats.Stats(profiler, stream=out)
                stats.sort_stats(opts.sort).print_stats(opts.top)
                if opts.callees:
                    stats.sort_stats("cumulative").print_callees(opts.callees)
                print(out.getvalue())
            cr.rollback()
    finally:
        sandbox.stop()


if __name__ == "__main__":
    main()
