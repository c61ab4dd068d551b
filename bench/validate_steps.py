#!/usr/bin/env python3
"""What each step of the add-on's work in the worker's click costs (a
developer's tool, not the benchmark: ``bench/validate.py`` is that).

Builds the databases of ``validate.py``'s (a) and (c) with its data (or
reuses those a ``--keep`` run of this tool left: nothing it does is
committed), then validates the same 20 deliveries again and again, rolling
each validation back: one validation = ``button_validate()`` + flush + the
commit's pre-commit hooks (the cron trigger) + flush, then a rollback. The
variants of (c) switch steps of the click off in this process only, so that
the difference to (c) is what the step costs:

  a            vanilla (sale_stock, stock_delivery)
  c            shipment_tracking, as installed
  no-row       without the dispatch message's outbox row (the lock-and-read
               statement and its INSERT); the cron is still woken
  no-wakeup    the outbox row, but no cron trigger
  no-id        without the shipment ID
  no-dispatch  without the dispatch: no status, shipment date, EDD, outbox
               row nor wake-up (the shipment ID kept)
  none         neither the shipment ID nor the dispatch: what the add-on
               costs when it does nothing at the click

Every round runs each variant once, in a shuffled order, so that the
machine's load and drift hit them alike. It prints, per variant, the median
and the mean of the fastest 80 % of the wall time and of the CPU time (this
process's and its PostgreSQL connection's, read from ``/proc``: the server
must run on this machine), and the difference to (a). The commit itself and
its post-commit wake-up (a ``NOTIFY``) are not counted: ``validate.py``
times them.

Usage:
    python bench/validate_steps.py [--rounds 200] [--db-prefix bench_steps_]
        [--reuse] [--keep] [--variants a,c,no-row,no-wakeup,no-id,no-dispatch,none]
"""

# A command-line tool printing its report.
# pylint: disable=print-used
import argparse
import os
import random
import statistics
import sys
import tempfile
import time

from _common import (
    add_odoo_to_path,
    backend_cpu,
    check_prefix,
    db_exists,
    disable_email,
    drop_db,
)

add_odoo_to_path()

import validate  # noqa: E402

import odoo  # noqa: E402
from odoo import SUPERUSER_ID, api  # noqa: E402
from odoo.modules.registry import Registry  # noqa: E402

VARIANTS = ("a", "c", "no-row", "no-wakeup", "no-id", "no-dispatch", "none")
DELIVERIES = 20  # validated again and again (each validation is rolled back)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--rounds", type=int, default=200, help="timed validations per variant")
    add("--warmup", type=int, default=5, help="untimed rounds first")
    add("--db-prefix", default="bench_steps_", help="database name prefix")
    add("--reuse", action="store_true", help="reuse <prefix>a and <prefix>c")
    add("--keep", action="store_true", help="keep the databases")
    add("--variants", default=",".join(VARIANTS), help="comma-separated subset")
    add("--log-level", default="warn", help="Odoo log level")
    opts = parser.parse_args()
    check_prefix(opts.db_prefix)
    opts.variants = opts.variants.split(",")
    unknown = set(opts.variants) - set(VARIANTS)
    if unknown or "a" not in opts.variants:
        sys.exit(f"--variants: among {', '.join(VARIANTS)}, (a) included")
    opts.data_dir = os.path.join(tempfile.gettempdir(), f"{opts.db_prefix}odoo_data")
    return opts


def switches(registry):
    """{variant: {method name: replacement}} on stock.picking of ``registry``."""
    Picking = registry["stock.picking"]
    Notification = registry["shipment.tracking.notification"]
    queue = Picking._shipment_queue_dispatch

    def no_row(self):
        # The wake-up the row's creation asks for, without the row.
        self.env["shipment.tracking.notification"]._shipment_mark_due()
        return self.env["shipment.tracking.notification"]

    def no_wakeup(self):
        mark_due = Notification._shipment_mark_due
        Notification._shipment_mark_due = lambda self, at=None: None
        try:
            return queue(self)
        finally:
            Notification._shipment_mark_due = mark_due

    def nothing(self):
        return None

    return {
        "c": {},
        "no-row": {"_shipment_queue_dispatch": no_row},
        "no-wakeup": {"_shipment_queue_dispatch": no_wakeup},
        "no-id": {"_shipment_assign_ref": nothing},
        "no-dispatch": {"_shipment_dispatch_ready": nothing},
        "none": {"_shipment_assign_ref": nothing, "_shipment_dispatch_ready": nothing},
    }


class Bench:
    def __init__(self, key, db):
        uid, picking_ids = validate.prepare_scenario(key, db)
        self.registry = Registry(db)
        self.uid = uid
        self.picking_ids = picking_ids[:DELIVERIES]
        if len(self.picking_ids) < DELIVERIES:
            sys.exit(f"{db}: fewer than {DELIVERIES} deliveries left to validate")
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            self.context = dict(env["res.users"].browse(uid).context_get())
            if key == "c":
                # Created by the first validation, committed once, as in use.
                env.company._get_shipment_sequence()

    def validate(self, picking_id):
        """(wall ms, CPU ms) of one validation, rolled back."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, self.uid, self.context)
            picking = env["stock.picking"].browse(picking_id)
            cr.execute("SELECT pg_backend_pid()")
            backend = cr.fetchone()[0]
            cpu0, server0 = time.process_time(), backend_cpu(backend)
            if server0 is None:
                sys.exit("PostgreSQL's CPU time is read from /proc: run it here")
            start = time.perf_counter()
            res = picking.button_validate()
            env.flush_all()
            cr.precommit.run()  # what the commit runs first: the cron trigger
            env.flush_all()
            wall = time.perf_counter() - start
            cpu = time.process_time() - cpu0 + backend_cpu(backend) - server0
            cr.rollback()
        if res is not True:
            raise RuntimeError(f"validation of {picking_id} returned {res!r}")
        return wall * 1000, cpu * 1000


def run(benches, opts):
    Picking = benches["c"].registry["stock.picking"]
    variants = switches(benches["c"].registry)
    # Every method a variant replaces, as installed.
    originals = {
        name: getattr(Picking, name) for switch in variants.values() for name in switch
    }
    figures = {variant: [] for variant in opts.variants}
    for i in range(opts.warmup + opts.rounds):
        order = list(opts.variants)
        random.shuffle(order)
        for variant in order:
            for name, method in originals.items():
                setattr(Picking, name, variants.get(variant, {}).get(name, method))
            bench = benches["a" if variant == "a" else "c"]
            figure = bench.validate(bench.picking_ids[i % DELIVERIES])
            if i >= opts.warmup:
                figures[variant].append(figure)
    for name, method in originals.items():
        setattr(Picking, name, method)
    return figures


def report(figures, opts):
    print(
        f"\nOne validation of a 3-line delivery, rolled back; {opts.rounds} rounds,"
        f" load average at the end {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    for index, what in ((0, "wall"), (1, "CPU (Odoo + its PostgreSQL connection)")):
        print(f"\n{what}, ms:")
        print(
            f"  {'variant':<11} {'median':>8} {'vs (a)':>8} {'ratio':>7}"
            f" {'mean80':>8} {'vs (a)':>8} {'ratio':>7}"
        )
        base = [figure[index] for figure in figures["a"]]
        base_median, base_mean = statistics.median(base), _mean80(base)
        for variant, rows in figures.items():
            values = [figure[index] for figure in rows]
            median, mean = statistics.median(values), _mean80(values)
            print(
                f"  {variant:<11} {median:8.1f} {median - base_median:+8.1f}"
                f" {median / base_median:6.3f}x {mean:8.1f} {mean - base_mean:+8.1f}"
                f" {mean / base_mean:6.3f}x"
            )


def _mean80(values):
    """The mean of the fastest 80 %: the slowest are the machine's."""
    fastest = sorted(values)[: max(1, int(len(values) * 0.8))]
    return statistics.fmean(fastest)


def main():
    opts = parse_args()
    odoo.tools.config.parse_config(validate.server_args(opts), setup_logging=True)
    disable_email()
    template = f"{opts.db_prefix}template"
    dbs = {"a": f"{opts.db_prefix}a", "c": f"{opts.db_prefix}c"}
    created = []
    try:
        if not opts.reuse:
            # validate.py's data, as many deliveries as validated here.
            build = argparse.Namespace(
                **{**vars(opts), "warmup": 0, "count": DELIVERIES}
            )
            validate.build_databases(build, template, dbs, created)
        elif not all(db_exists(name) for name in dbs.values()):
            sys.exit(f"--reuse: {', '.join(dbs.values())} must exist")
        benches = {key: Bench(key, name) for key, name in dbs.items()}
        report(run(benches, opts), opts)
    finally:
        if opts.keep or opts.reuse:
            print(f"databases: {', '.join(dbs.values())} (data dir {opts.data_dir})")
        else:
            for name in created:
                drop_db(name, opts.data_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
