#!/usr/bin/env python3
"""Benchmark: the customer portal's shipment pages, served by a multi-process
Odoo.

Not a test: it builds its own throw-away database (shipment_tracking, no
demo data) with two portal customers, one with N_LARGE (default 500)
dispatched shipments, one with N_SMALL (default 50); one shipment of the
large one has 200 carrier events, one has 5; a third of the shipments have
a scan and some are delivered, so the list's rows take every path. Then it
starts ``odoo-bin --workers 2 --max-cron-threads 0``, signs in over HTTP as
each portal user (``/web/login``) and requests K times each (one
``requests.Session``, sequentially):

  - ``/my/shipments`` (first page, 20 rows) of the N_SMALL and the N_LARGE
    customer, and the last page of the N_LARGE one;
  - ``/my/shipments/<id>`` of the shipment with 5 events and of the one with
    200.

It prints p50/p95 response time and the queries per page (Odoo's own count
of the request, from the access line of ``--log-handler werkzeug:INFO``),
and PASS/FAIL for "queries independent of N": the list of 500 shipments runs
as many queries as the list of 50, the page with 200 events as many as the
page with 5.

Usage (see bench/README.md):
    python bench/portal.py [--requests 50] [--shipments 500]
"""

# A command-line benchmark on its own throw-away database: it prints its report
# and commits its set-up data on purpose.
# pylint: disable=print-used,invalid-commit
import argparse
import contextlib
import logging
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta

import requests
from _common import (
    add_odoo_to_path,
    check_prefix,
    db_exists,
    drop_db,
    odoo_bin,
    percentile,
    pg_connect,
    server_args,
)

# bench/webhook.py: the server in a subprocess, the data.
from webhook import OdooServer, make_dispatched, verdict

add_odoo_to_path()

import odoo  # noqa: E402
from odoo import SUPERUSER_ID, api, sql_db  # noqa: E402
from odoo.modules.registry import Registry  # noqa: E402

_logger = logging.getLogger("bench.portal")

PAGE_SIZE = 20
LONG_HISTORY = 200
SHORT_HISTORY = 5


def scans(env, picking, count, final="in_transit"):
    """``count`` carrier scans an hour apart on ``picking``, through the
    connector API (as a webhook or poll records them)."""
    start = picking.shipment_date + timedelta(minutes=1)
    states = ["in_transit"] * (count - 1) + [final]
    env["stock.picking"]._shipment_apply_carrier_events(
        [
            {
                "tracking_ref": picking.carrier_tracking_ref,
                "state": state,
                "carrier_status_code": state,
                "carrier_status_text": f"Scan {i} at the hub",
                "location": f"Hub {i % 13}, BE",
                "event_time": start + timedelta(hours=i),
            }
            for i, state in enumerate(states)
        ],
        "manual",
    )


def setup_data(db, opts):
    """Two portal customers with their shipments. Returns the logins and
    the ids of the shipments with a short and a long history."""
    registry = Registry(db)
    with registry.cursor() as cr:
        env = api.Environment(
            cr, SUPERUSER_ID, {"tracking_disable": True, "mail_notrack": True}
        )
        env.company.write({"email": "shop@bench.example"})
        product = env["product.product"].create(
            {"name": "Bench Mug", "type": "consu", "is_storable": True}
        )
        carrier = env["delivery.carrier"].create(
            {
                "name": "Bench Express",
                "delivery_type": "fixed",
                "fixed_price": 5.0,
                "tracking_url": "https://track.example/t?n=<ShipmentTrackingNumber>",
                "product_id": env["product.product"]
                .create({"name": "Bench Shipping", "type": "service"})
                .id,
            }
        )
        users = {}
        shipments = {}
        for size in (opts.small, opts.shipments):
            login = f"bench_portal_{size}"
            partner = env["res.partner"].create(
                {
                    "name": f"Bench Customer {size}",
                    "email": f"{login}@bench.example",
                    "street": "1 Market St",
                    "city": "San Francisco",
                    "zip": "94105",
                    "country_id": env.ref("base.us").id,
                }
            )
            env["res.users"].with_context(no_reset_password=True).create(
                {
                    "name": partner.name,
                    "login": login,
                    "password": login,
                    "partner_id": partner.id,
                    "groups_id": [(6, 0, [env.ref("base.group_portal").id])],
                }
            )
            cr.commit()
            users[size] = login
            shipments[size] = make_dispatched(
                env,
                carrier,
                product,
                [partner] * size,
                lambda i, size=size: f"BPT{size:04d}-{i:05d}",
            )
        large = shipments[opts.shipments]
        for i, picking in enumerate(shipments[opts.small] | large[2:]):
            if i % 3 == 1:
                scans(env, picking, 2)
            elif i % 3 == 2:
                scans(env, picking, 3, final="delivered")
        cr.commit()
        # The newest shipments come first in the list: the two measured
        # pages are on its first page.
        short, long = large[-1], large[-2]
        scans(env, short, SHORT_HISTORY)
        started = time.perf_counter()
        scans(env, long, LONG_HISTORY)
        _logger.info(
            "%d events on one shipment in %.1fs",
            LONG_HISTORY,
            time.perf_counter() - started,
        )
        cr.commit()
        ids = (short.id, long.id)
    Registry.delete(db)
    sql_db.close_db(db)
    return users, ids


def reused_data(db, opts):
    """The logins and the two measured shipments of a kept database."""
    with contextlib.closing(pg_connect(db)) as conn, conn.cursor() as cr:
        cr.execute(
            "SELECT count(*), picking_id FROM shipment_tracking_event"
            " GROUP BY picking_id HAVING count(*) IN %s",
            [(SHORT_HISTORY, LONG_HISTORY)],
        )
        by_count = dict(cr.fetchall())
    users = {size: f"bench_portal_{size}" for size in (opts.small, opts.shipments)}
    return users, (by_count[SHORT_HISTORY], by_count[LONG_HISTORY])


def login(server, user):
    session = requests.Session()
    page = session.get(f"{server.url}/web/login", timeout=60)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    if not token:
        sys.exit("no csrf_token on /web/login")
    answer = session.post(
        f"{server.url}/web/login",
        data={"login": user, "password": user, "csrf_token": token[1]},
        timeout=60,
        allow_redirects=False,
    )
    if answer.status_code != 303:
        sys.exit(f"login of {user} answered {answer.status_code}")
    return session


def measure(server, session, label, path, count, expect, warmup):
    """Request ``path`` ``warmup`` times untimed (each worker fills its
    caches), then ``count`` times. Returns the median queries."""
    for _i in range(warmup):
        session.get(f"{server.url}{path}", timeout=60)
    position = server.log_position()
    times = []
    for _i in range(count):
        start = time.perf_counter()
        response = session.get(f"{server.url}{path}", timeout=60)
        times.append(1000 * (time.perf_counter() - start))
        if response.status_code != 200:
            sys.exit(f"{path} answered {response.status_code}")
    found = response.text.count(expect[0])
    if found != expect[1]:
        sys.exit(f"{path}: {found} x {expect[0]!r}, expected {expect[1]}")
    time.sleep(0.3)
    path_re = "^" + re.escape(path.split("?")[0]) + r"(\?|$)"
    lines = server.access_lines(position, path_re)
    if len(lines) != count:
        sys.exit(f"{path}: {len(lines)} access lines for {count} requests")
    queries = [line[1] for line in lines]
    median = statistics.median(queries)
    print(
        f"{label:<40} {count:>4} {statistics.median(times):>8.1f} "
        f"{percentile(times, 0.95):>8.1f} {median:>9.0f} {max(queries):>6} "
        f"{len(response.content) // 1024:>6}"
    )
    return median


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--shipments", type=int, default=500, help="shipments of the large customer")
    add("--small", type=int, default=50, help="shipments of the small customer")
    add("--requests", type=int, default=50, help="timed requests per page (K)")
    add("--workers", type=int, default=2, help="Odoo HTTP workers")
    add("--port", type=int, default=8169, help="first HTTP port to try")
    add("--db-filter", action="store_true", help="serve with --db-filter too")
    add("--db-prefix", default="bench_portal_", help="database name prefix")
    add("--keep", action="store_true", help="keep the database")
    add("--reuse", action="store_true", help="use the database kept by --keep")
    add("--log-level", default="warn", help="Odoo log level")
    opts = parser.parse_args()
    check_prefix(opts.db_prefix)
    opts.keep = opts.keep or opts.reuse
    if opts.shipments < 2 * PAGE_SIZE or opts.small < PAGE_SIZE:
        sys.exit(f"--shipments >= {2 * PAGE_SIZE} and --small >= {PAGE_SIZE}")
    opts.data_dir = os.path.join(tempfile.gettempdir(), f"{opts.db_prefix}odoo_data")
    return opts


def main():
    opts = parse_args()
    run_start = time.perf_counter()
    odoo.tools.config.parse_config(server_args(opts), setup_logging=True)
    logging.getLogger("bench").setLevel(logging.INFO)
    db = f"{opts.db_prefix}db"
    if db_exists(db) and not opts.reuse:
        sys.exit(f"database {db} exists: drop it or use another --db-prefix")
    if opts.reuse and not db_exists(db):
        sys.exit(f"--reuse: no database {db} (run once with --keep)")
    os.makedirs(opts.data_dir, exist_ok=True)
    server = None
    ok = False
    try:
        if opts.reuse:
            users, (short_id, long_id) = reused_data(db, opts)
        else:
            odoo_bin(["-d", db, "-i", "shipment_tracking"], opts)
            users, (short_id, long_id) = setup_data(db, opts)
        setup_time = time.perf_counter() - run_start
        server = OdooServer(db, opts, workers=opts.workers, name="portal")
        small = login(server, users[opts.small])
        large = login(server, users[opts.shipments])
        # Every worker serves a few first: their first request of a page
        # fills their caches (templates, routing, rules).
        warmup = 3 * max(opts.workers, 1)
        last_page = -(-opts.shipments // PAGE_SIZE)
        last_rows = opts.shipments - PAGE_SIZE * (last_page - 1)
        print(
            f"\nPortal pages as a portal user: {opts.workers} HTTP workers "
            f"(prefork), {opts.requests} sequential requests per page after "
            f"{warmup} untimed; queries: median and max of Odoo's count"
        )
        header = (
            f"{'page':<40} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'queries':>9} "
            f"{'max q':>6} {'KiB':>6}"
        )
        print(header)
        print("-" * len(header))
        row = ("o_portal_shipment_row", PAGE_SIZE)
        event = ("o_shipment_event ", None)
        q_small = measure(
            server,
            small,
            f"/my/shipments, {opts.small} shipments",
            "/my/shipments",
            opts.requests,
            row,
            warmup,
        )
        q_large = measure(
            server,
            large,
            f"/my/shipments, {opts.shipments} shipments",
            "/my/shipments",
            opts.requests,
            row,
            warmup,
        )
        measure(
            server,
            large,
            f"  its last page ({last_rows} rows)",
            f"/my/shipments/page/{last_page}",
            opts.requests,
            (row[0], last_rows),
            warmup,
        )
        q_short = measure(
            server,
            large,
            f"/my/shipments/<id>, {SHORT_HISTORY} events",
            f"/my/shipments/{short_id}",
            opts.requests,
            (event[0], SHORT_HISTORY),
            warmup,
        )
        q_long = measure(
            server,
            large,
            f"/my/shipments/<id>, {LONG_HISTORY} events",
            f"/my/shipments/{long_id}",
            opts.requests,
            (event[0], LONG_HISTORY),
            warmup,
        )
        errors, _retries = server.log_errors(0)
        if errors:
            print(f"\nserver log errors ({len(errors)}), e.g.:")
            for line in errors[:5]:
                print(f"    {line[:200]}")
        list_ok = q_small == q_large
        detail_ok = q_short == q_long
        print(
            f"\nTarget list queries independent of N ({opts.small} vs "
            f"{opts.shipments} shipments): {q_small:.0f} vs {q_large:.0f} "
            f"(medians)  {verdict(list_ok)}"
        )
        print(
            f"Target detail queries independent of the events ({SHORT_HISTORY} vs "
            f"{LONG_HISTORY}): {q_short:.0f} vs {q_long:.0f} "
            f"(medians)  {verdict(detail_ok)}"
        )
        print(
            f"\nLoad average at the end {os.getloadavg()[0]:.2f} on "
            f"{os.cpu_count()} CPUs; total run {time.perf_counter() - run_start:.0f}s "
            f"(database and data {setup_time:.0f}s; server log {server.logfile})"
        )
        ok = list_ok and detail_ok and not errors
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
