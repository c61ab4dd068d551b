"""End to end at scale, on Odoo's own engine: a prefork server (two HTTP
workers, two cron workers) where the poll, monitor and notification crons run
at the same time on the same few hundred shipments of the generic carrier,
against the sandbox carrier telling all its stories (status changes, delays,
exceptions, returns, pickup points, a lost parcel).

The test owns the clock the way the other end-to-end tests do: it moves the
sandbox's clock (never the server's), and starts each round by making every
tracking number due again (``next_poll_date`` emptied in the database, as
time would). In each round the three crons are made due again and again
(``ir.cron.trigger`` rows and the NOTIFY Odoo's ``_trigger`` sends) while
an administrator keeps starting the monitor and notification crons by hand;
in two of the rounds the carrier's webhooks push the same events meanwhile.

Checked once everything settled:
- no tracking number asked twice in a round (the sandbox counts, per round,
  how often each number is asked), unless a poll batch of that round was
  left to the next run (a run failed, or a batch lost to concurrent
  transactions again and again: the next run asks again); a batch lost once
  is applied again from the answer it had; every open one asked;
- every shipment at the end of its story (its state, its incidents: one per
  problem, however often the monitor ran);
- every outbox row sent, each email received once (by Message-Id) and each
  SMS once (by text);
- no cron run lost for good: the server log holds no error other than the
  concurrency errors the engine's next run makes good, and the three crons
  are active with no failure counted.

Size: E2E_SCALE_SHIPMENTS (default 60, about a minute and a half on two
quiet cores; 120 and more for a heavier run)."""

import email
import email.policy
import json
import os
import re
import sys
import threading
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from http import HTTPStatus

import psycopg2
import pytest
from conftest import (
    MOBILE_E164,
    PG,
    SANDBOX_API_KEY,
    SANDBOX_WEBHOOK_SECRET,
    CronRacers,
    company_settings,
    log_tail,
    prefork_odoo,
    run_cron,
)
from sandbox import SandboxCarrier
from test_e2e_carrier import create_sandbox_carrier

SHIPMENTS = int(os.environ.get("E2E_SCALE_SHIPMENTS", "60"))
# Deliveries per validation call. One call at a time: validations of one
# product conflict on its valuation layers (serialization failures, retried).
VALIDATE_CHUNK = 8
# Orders confirmed per call (each call well within the client's timeout).
CONFIRM_CHUNK = 10
# Rounds: (sandbox hours to move on, webhooks pushed too). Chosen so that each
# story's problem starts in one round and lasts into the next: the monitor
# sees it again and again and must flag it once.
ROUNDS = [(16, False), (16, True), (6, False), (24, True), (30, False)]
# Before the third round the "lost" parcels (in transit forever) are made
# late: Logistics moves their estimate this many days back.
LATE_DAYS = 5
LATE_ROUND = 2
ROUND_TIMEOUT = 240
SETTLE_TIMEOUT = 300
# How often the crons are made due again while a round runs.
TRIGGER_EVERY = 1
# Administrators starting crons by hand (each takes an HTTP worker while its
# run lasts; the server has two), and their pause between two runs.
RACERS = 1
RACE_EVERY = 1
POLL_CRON = "shipment_tracking.ir_cron_shipment_poll"
# How Odoo's cron runner logs a run that raised (it was rolled back).
POLL_FAILED = (
    r"Job 'Shipment Tracking: poll carriers' \(\d+\) server action #\d+ failed"
)
# How the poll cron logs a batch whose transaction was lost to a concurrent
# one: applied again in a fresh transaction (the carrier is not asked again),
# or, after several such losses, left due for the next run (which asks again).
POLL_RETRIED = r"polling \S.*: batch of \d+ number\(s\) lost to a concurrent"
POLL_GAVE_UP = r"polling \S.*: batch of \d+ number\(s\) lost to concurrent"
MONITOR_CRON = "shipment_tracking.ir_cron_shipment_monitor"
NOTIFY_CRON = "shipment_tracking.ir_cron_shipment_notification"
TRIGGERED_CRONS = (POLL_CRON, MONITOR_CRON, NOTIFY_CRON)
# Started by hand as well (an administrator's "Run Manually"). Not the poll
# cron: see test_manual_poll_run_beside_the_cron_worker.
RACED_CRONS = (MONITOR_CRON, NOTIFY_CRON)
# Where each story ends after the rounds (sandbox time 92 h), and the
# incidents it opens, each once: (kind, still open).
FINAL_STATE = {
    "normal": "delivered",
    "delayed": "delivered",
    "exception_recovered": "delivered",
    "lost": "in_transit",
    "returned": "returned",
    "pickup_point": "delivered",
}
INCIDENTS = {
    "normal": [],
    "delayed": [],
    "exception_recovered": [("exception", False)],
    "lost": [("late", True)],
    "returned": [("failed_attempt", False), ("returned", True)],
    "pickup_point": [],
}
# Outbox rows (kind) each story must have queued and sent, at least.
MESSAGES = {
    "normal": {"dispatched", "out_for_delivery", "delivered"},
    "delayed": {"dispatched", "delivered"},
    "exception_recovered": {"dispatched", "exception", "recovered", "delivered"},
    "lost": {"dispatched", "late"},
    "returned": {"dispatched", "exception", "returned"},
    "pickup_point": {"dispatched", "available_for_pickup", "delivered"},
}
NOTIFY_SETTINGS = [
    "shipment_notify_dispatch",
    "shipment_notify_out_for_delivery",
    "shipment_notify_available_for_pickup",
    "shipment_notify_delivered",
    "shipment_notify_exception",
    "shipment_notify_late",
    "shipment_notify_returned",
    "shipment_notify_recovered",
]
# Tracebacks a cron or request may end on without anything being lost: a
# concurrent transaction won; Odoo retries the request, the cron's next run
# (its trigger, its next call) takes what is still due.
CONCURRENCY_ERRORS = (
    "could not serialize access",
    "SerializationFailure",
    "deadlock detected",
    "DeadlockDetected",
    "LockNotAvailable",
)


class CountingSandbox(SandboxCarrier):
    """The sandbox carrier counting how often each tracking number is asked,
    per round (``round`` is set by the test)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.round = 0
        self.asked = defaultdict(Counter)
        self.calls = Counter()
        # Called once with the numbers of the next batch request answered.
        self.before_answer = None
        self._count_lock = threading.Lock()

    def _count(self, numbers):
        with self._count_lock:
            self.calls[self.round] += 1
            self.asked[self.round].update(numbers)

    def api_tracking_batch(self, body):
        response = super().api_tracking_batch(body)
        if response.status == HTTPStatus.OK:
            numbers = list(dict.fromkeys(json.loads(body)["tracking_numbers"]))
            self._count(numbers)
            hook, self.before_answer = self.before_answer, None
            if hook:
                hook(numbers)
        return response

    def api_tracking(self, body, number):
        response = super().api_tracking(body, number)
        self._count([number])
        return response


@pytest.fixture(scope="module")
def sandbox():
    with CountingSandbox(
        api_key=SANDBOX_API_KEY, webhook_secret=SANDBOX_WEBHOOK_SECRET, quiet=True
    ) as carrier:
        yield carrier


@pytest.fixture(scope="module")
def odoo_server(e2e_db, smtp_sink, tmp_path_factory):
    """Prefork, two HTTP workers, two cron workers; cron changes NOTIFY the
    cron workers so that a cron made due wakes them at once."""
    with prefork_odoo(
        e2e_db, smtp_sink, tmp_path_factory, "odoo-scale", notify_cron_changes=True
    ) as server:
        yield server


@pytest.fixture(scope="module")
def pg(odoo_server):
    """A connection to the server's database: the test's clock (due dates)
    and the crons' triggers."""
    conn = psycopg2.connect(dbname=odoo_server["db"], **PG)
    conn.autocommit = True
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def all_notified(admin, shop):
    """Every customer update on (put back as it was afterwards)."""
    with company_settings(admin, shop.company_id, dict.fromkeys(NOTIFY_SETTINGS, True)):
        yield


@pytest.fixture(scope="module")
def scale_carrier(admin, shop, sandbox, odoo_server):
    """A generic carrier on the sandbox, each parcel's story picked by the
    sandbox from its reference (all stories in rotation)."""
    carrier = create_sandbox_carrier(admin, shop, sandbox, odoo_server, "Scale")
    sandbox.configure(scenario=None, webhook_url=None)
    return carrier


# ----------------------------------------------------------------------------
# Crons
# ----------------------------------------------------------------------------
CRON_IDS = {}


def cron_id_of(admin, xmlid):
    """The cron's id, asked once per run."""
    if xmlid not in CRON_IDS:
        CRON_IDS[xmlid] = admin.ref(xmlid)
    return CRON_IDS[xmlid]


def trigger(pg, cron_ids, db):
    """What ``ir.cron._trigger()`` does: a trigger row due now, and the
    NOTIFY that wakes the cron workers."""
    with pg.cursor() as cr:
        cr.executemany(
            "INSERT INTO ir_cron_trigger (cron_id, call_at, create_date, write_date)"
            " VALUES (%s, now() at time zone 'UTC', now() at time zone 'UTC',"
            " now() at time zone 'UTC')",
            [(cron_id,) for cron_id in cron_ids],
        )
    notify = psycopg2.connect(dbname="postgres", **PG)
    try:
        notify.autocommit = True
        with notify.cursor() as cr:
            cr.execute("SELECT pg_notify('cron_trigger', %s)", [db])
    finally:
        notify.close()


def cron_busy(admin, xmlid):
    """Running (a cron worker's run not over) or due (a trigger or its next
    call in the past); see conftest's Shop.busy_crons."""
    cron_id = cron_id_of(admin, xmlid)
    progress = admin.call(
        "ir.cron.progress",
        "search_read",
        [("cron_id", "=", cron_id)],
        ["timed_out_counter"],
        order="id desc",
        limit=1,
    )
    if progress and progress[0]["timed_out_counter"]:
        return "running"
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    cron = admin.read_one("ir.cron", cron_id, ["active", "nextcall"])
    due = admin.call(
        "ir.cron.trigger",
        "search_count",
        [("cron_id", "=", cron_id), ("call_at", "<=", now)],
    )
    if cron["active"] and (due or cron["nextcall"] <= now):
        return "due"
    return None


class Background:
    """Threads doing what a busy deployment does while a round runs (while
    ``active`` is set): one making the three crons due again every
    TRIGGER_EVERY seconds, and RACERS administrators starting the monitor
    and notification crons by hand (``racers``: refused while a cron worker
    runs them, counted)."""

    def __init__(self, odoo_server, pg, admin):
        self.odoo_server = odoo_server
        self.pg = pg
        self.cron_ids = [cron_id_of(admin, xmlid) for xmlid in TRIGGERED_CRONS]
        self.active = threading.Event()
        self.stopping = threading.Event()
        self.triggers = 0
        self.racers = CronRacers(
            odoo_server, RACED_CRONS, count=RACERS, pause=RACE_EVERY, gate=self.active
        )
        self._thread = threading.Thread(
            target=self._trigger_loop, daemon=True, name="trigger"
        )

    def __enter__(self):
        self._thread.start()
        self.racers.__enter__()
        return self

    def __exit__(self, *exc_info):
        self.stopping.set()
        self.active.set()
        self.racers.stop()
        self._thread.join(timeout=120)
        assert not self._thread.is_alive(), "trigger thread still running"

    def _trigger_loop(self):
        while not self.stopping.is_set():
            self.active.wait()
            if self.stopping.is_set():
                return
            trigger(self.pg, self.cron_ids, self.odoo_server["db"])
            self.triggers += 1
            self.stopping.wait(TRIGGER_EVERY)


# ----------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------
def create_shipments(admin, shop, carrier_id, count):
    """``count`` confirmed orders of one unit each, their deliveries
    validated (booked with the sandbox) VALIDATE_CHUNK at a time; returns the
    picking ids."""
    quant_id = admin.call(
        "stock.quant",
        "create",
        {
            "product_id": shop.product_id,
            "location_id": admin.call(
                "stock.warehouse", "read", [shop.warehouse_id], ["lot_stock_id"]
            )[0]["lot_stock_id"][0],
            "inventory_quantity": count + 100,
        },
        context={**admin.context, "inventory_mode": True},
    )
    admin.call("stock.quant", "action_apply_inventory", [quant_id])
    line = {"product_id": shop.product_id, "product_uom_qty": 1}
    vals = {
        "partner_id": shop.customer_id,
        "warehouse_id": shop.warehouse_id,
        "carrier_id": carrier_id,
        "order_line": [(0, 0, line)],
    }
    order_ids = []
    for start in range(0, count, 50):
        order_ids += admin.call("sale.order", "create", [vals] * min(50, count - start))
    for start in range(0, count, CONFIRM_CHUNK):
        admin.call(
            "sale.order", "action_confirm", order_ids[start : start + CONFIRM_CHUNK]
        )
    orders = admin.call("sale.order", "read", order_ids, ["picking_ids"])
    picking_ids = [pid for order in orders for pid in order["picking_ids"]]
    assert len(picking_ids) == count, f"{len(picking_ids)} deliveries for {count}"

    def validate(chunk):
        admin.call(
            "stock.picking",
            "write",
            chunk,
            {"shipment_length": 30, "shipment_width": 20, "shipment_height": 10},
        )
        result = admin.call("stock.picking", "button_validate", chunk)
        assert result is True, f"validation asked for more: {result}"

    chunks = [
        picking_ids[i : i + VALIDATE_CHUNK]
        for i in range(0, len(picking_ids), VALIDATE_CHUNK)
    ]
    for chunk in chunks:
        validate(chunk)
    return picking_ids


def read_shipments(admin, picking_ids):
    return {
        row["id"]: row
        for row in admin.call(
            "stock.picking",
            "read",
            picking_ids,
            [
                "name",
                "origin",
                "shipment_state",
                "carrier_tracking_ref",
                "generic_shipment_id",
            ],
        )
    }


def make_late(login, shop, shipments, days):
    """Logistics moves each estimate ``days`` back (Update Shipment)."""
    logistics = login(*shop.users["logistics"])
    edd = (datetime.now(timezone.utc).date() - timedelta(days=days)).isoformat()
    for shipment in shipments:
        wizard_id = logistics.call(
            "stock.picking.update.shipment",
            "create",
            {
                "picking_id": shipment["id"],
                "carrier_tracking_ref": shipment["carrier_tracking_ref"],
                "expected_delivery_date": edd,
            },
        )
        logistics.call("stock.picking.update.shipment", "action_apply", [wizard_id])


# ----------------------------------------------------------------------------
# Rounds
# ----------------------------------------------------------------------------
def make_due(pg, picking_ids):
    """The test's clock: every number of these deliveries is due now, as it
    would be once its next poll date passed."""
    with pg.cursor() as cr:
        cr.execute(
            "UPDATE shipment_tracking_number SET next_poll_date = NULL"
            " WHERE picking_id = ANY(%s)",
            [list(picking_ids)],
        )


def log_size(log):
    return os.path.getsize(log)


def log_between(log, start, end):
    with open(log, "rb") as handle:
        handle.seek(start)
        return handle.read(end - start).decode("utf-8", "replace")


def failed_poll_runs(text):
    """Poll batches left to the next run (asked again then) in this log
    text: a run that failed, a batch given up after repeated losses."""
    return len(re.findall(POLL_FAILED, text)) + len(re.findall(POLL_GAVE_UP, text))


def play_round(admin, sandbox, background, poll, carrier, picking_ids, hours, hooks):
    """Move the sandbox clock ``hours`` on (pushing its events when
    ``hooks``), make every number due, let the crons run, triggered again and
    again, until every shipment open at the start was asked once (or closed
    meanwhile by a webhook) and the poll cron is idle."""
    before = read_shipments(admin, picking_ids)
    open_numbers = {
        row["carrier_tracking_ref"]
        for row in before.values()
        if row["shipment_state"] not in ("delivered", "returned")
    }
    sandbox.configure(webhook_url=carrier["webhook_url"] if hooks else None)
    sandbox.round += 1
    assert sandbox.advance_clock(hours)["now"]
    make_due(background.pg, picking_ids)
    background.active.set()

    def round_over():
        asked = sandbox.asked[sandbox.round]
        now = read_shipments(admin, picking_ids)
        closed = {
            row["carrier_tracking_ref"]
            for row in now.values()
            if row["shipment_state"] in ("delivered", "returned")
        }
        missing = open_numbers - set(asked) - closed
        if missing:
            return False
        if hooks and not sandbox.wait_for_webhooks(0.1):
            return False
        return cron_busy(admin, POLL_CRON) is None

    try:
        poll.until(round_over, f"round {sandbox.round} polled", ROUND_TIMEOUT)
    finally:
        background.active.clear()
    if hooks:
        # None: the sandbox stopped waiting (a busy server answers late; the
        # events are kept, the final checks tell). Any HTTP error fails.
        answers = Counter(entry["status"] for entry in sandbox.webhook_log())
        assert set(answers) <= {
            HTTPStatus.OK,
            None,
        }, f"webhook answers {answers}; Odoo log tail:\n{log_tail(poll.log)}"
    # The numbers the poll had to ask: open at the start and still open at
    # the end (a webhook may close a shipment before its number's turn).
    after = read_shipments(admin, picking_ids)
    return open_numbers - {
        row["carrier_tracking_ref"]
        for row in after.values()
        if row["shipment_state"] in ("delivered", "returned")
    }


def server_errors(log):
    """(errors, concurrency errors, cron worker kills): the log records at
    level ERROR or CRITICAL (a cron run that failed logs its traceback so).
    A cron worker killed past ``limit_time_real_cron`` (a busy machine) is
    counted apart: the runner gives its job to the next worker, and a job
    killed three times without progress would show in ``failure_count``."""
    with open(log, encoding="utf-8", errors="replace") as handle:
        text = handle.read()
    # A log record starts with its date; a traceback is a record's tail.
    records = re.split(r"\n(?=\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} )", text)
    bad, benign, kills = [], [], set()
    for record in records:
        if not re.match(r"\S+ \S+ \d+ (ERROR|CRITICAL) ", record):
            continue
        killed = re.search(r"WorkerCron \((\d+)\) timeout after", record)
        if killed:
            kills.add(killed.group(1))
        elif any(marker in record for marker in CONCURRENCY_ERRORS):
            benign.append(record.splitlines()[0])
        else:
            bad.append(record)
    return bad, benign, len(kills)


# ----------------------------------------------------------------------------
# The test
# ----------------------------------------------------------------------------
@pytest.mark.usefixtures("http_gateway_company", "mobile_customer", "all_notified")
def test_crons_at_scale_do_everything_once(
    odoo_server,
    pg,
    shop,
    login,
    admin,
    sandbox,
    scale_carrier,
    smtp_sink,
    sms_gateway,
    poll,
    record_property,
):
    started = time.monotonic()
    picking_ids = create_shipments(admin, shop, scale_carrier["id"], SHIPMENTS)
    shipments = read_shipments(admin, picking_ids)
    numbers = {row["carrier_tracking_ref"]: pid for pid, row in shipments.items()}
    assert len(numbers) == SHIPMENTS, "tracking numbers not all distinct"
    assert all(row["shipment_state"] == "dispatched" for row in shipments.values())
    story = {
        pid: sandbox.shipment(row["generic_shipment_id"])["scenario"]
        for pid, row in shipments.items()
    }
    assert set(story.values()) == set(FINAL_STATE), Counter(story.values())
    # The dispatch notices first: the rounds start from a quiet outbox.
    shop.wait_notifications_settled(poll, picking_ids, SETTLE_TIMEOUT)
    created = time.monotonic()

    polled_open = {}
    # Poll batches left to the next run, per round: asked again then.
    failed_polls = {}
    # Poll batches applied again after a lost transaction (never asked again).
    retried_polls = {}
    with Background(odoo_server, pg, admin) as background:
        for index, (hours, hooks) in enumerate(ROUNDS):
            if index == LATE_ROUND:
                lost = [
                    {"id": pid, **shipments[pid]}
                    for pid, name in story.items()
                    if name == "lost"
                ]
                make_late(login, shop, lost, LATE_DAYS)
            log_start = log_size(odoo_server["log"])
            # (the round number before the call: play_round moves it on)
            round_ = sandbox.round + 1
            polled_open[round_] = play_round(
                admin,
                sandbox,
                background,
                poll,
                scale_carrier,
                picking_ids,
                hours,
                hooks,
            )
            text = log_between(
                odoo_server["log"], log_start, log_size(odoo_server["log"])
            )
            failed_polls[round_] = failed_poll_runs(text)
            retried_polls[round_] = len(re.findall(POLL_RETRIED, text))
    rounds_done = time.monotonic()

    # Once every event is in: one more monitor run, then everything sent.
    run_cron(admin, poll, MONITOR_CRON)
    nudges = shop.wait_notifications_settled(poll, picking_ids, SETTLE_TIMEOUT)
    settled = time.monotonic()

    # -- Polled once per round, every open shipment ---------------------------
    doubles = {
        round_: {n: c for n, c in asked.items() if c > 1}
        for round_, asked in sandbox.asked.items()
    }
    doubles = {r: d for r, d in doubles.items() if d}
    # A number asked again only after a poll run rolled back is a retry.
    unexplained = {
        r: {n: c for n, c in d.items() if c > 1 + failed_polls.get(r, 0)}
        for r, d in doubles.items()
    }
    unexplained = {r: d for r, d in unexplained.items() if d}
    unasked = {
        round_: sorted(expected - set(sandbox.asked[round_]))
        for round_, expected in polled_open.items()
    }

    # -- Each story to its end -------------------------------------------------
    final = read_shipments(admin, picking_ids)
    wrong_state = {
        final[pid]["name"]: (name, final[pid]["shipment_state"])
        for pid, name in story.items()
        if final[pid]["shipment_state"] != FINAL_STATE[name]
    }
    incidents = defaultdict(list)
    for row in admin.call(
        "shipment.tracking.incident",
        "search_read",
        [("picking_id", "in", picking_ids)],
        ["picking_id", "kind", "is_open"],
        order="id",
    ):
        incidents[row["picking_id"][0]].append((row["kind"], row["is_open"]))
    wrong_incidents = {
        final[pid]["name"]: (name, incidents[pid])
        for pid, name in story.items()
        if sorted(incidents[pid]) != sorted(INCIDENTS[name])
    }

    # -- Every message queued once and received once ---------------------------
    rows = admin.call(
        "shipment.tracking.notification",
        "search_read",
        [("picking_id", "in", picking_ids)],
        ["picking_id", "kind", "key", "email_state", "sms_state", "mail_message_id"],
    )
    kinds = defaultdict(Counter)
    for row in rows:
        kinds[row["picking_id"][0]][row["kind"]] += 1
    missing_messages = {
        final[pid]["name"]: (name, sorted(MESSAGES[name] - set(kinds[pid])))
        for pid, name in story.items()
        if not MESSAGES[name] <= set(kinds[pid])
    }
    # A kind told twice for one shipment: only "exception" may (a carrier
    # exception, then a delivery attempt failed, each its own incident).
    told_twice = {
        final[pid]["name"]: dict(counter)
        for pid, counter in kinds.items()
        if any(n > 1 for k, n in counter.items() if k != "exception")
        or counter["exception"] > len(INCIDENTS[story[pid]])
    }
    unsent = [
        (row["picking_id"][1], row["kind"], row["email_state"], row["sms_state"])
        for row in rows
        if row["email_state"] != "sent" or row["sms_state"] != "sent"
    ]
    message_ids = {
        message["id"]: message["message_id"]
        for message in admin.call(
            "mail.message",
            "read",
            [row["mail_message_id"][0] for row in rows if row["mail_message_id"]],
            ["message_id"],
        )
    }
    expected_mail = Counter(
        message_ids[row["mail_message_id"][0]]
        for row in rows
        if row["email_state"] == "sent" and row["mail_message_id"]
    )
    received_mail = Counter()
    for raw in smtp_sink.messages_to(shop.customer_email):
        message = email.message_from_bytes(raw["raw"], policy=email.policy.default)
        received_mail[str(message["Message-Id"]).strip()] += 1
    mail_problems = {
        key: (expected_mail.get(key, 0), received_mail.get(key, 0))
        for key in set(expected_mail) | set(received_mail)
        if expected_mail.get(key, 0) != received_mail.get(key, 0)
    }
    origins = {row["origin"]: pid for pid, row in final.items()}
    sms_by_order = defaultdict(Counter)
    for message in sms_gateway.messages:
        if message.get("To") != MOBILE_E164:
            continue
        for name in re.findall(r"S\d{5,}", message["Body"]):
            if name in origins:
                sms_by_order[origins[name]][message["Body"]] += 1
    sms_twice = {
        final[pid]["origin"]: [body for body, n in bodies.items() if n > 1]
        for pid, bodies in sms_by_order.items()
        if any(n > 1 for n in bodies.values())
    }
    expected_sms = Counter(
        row["picking_id"][0] for row in rows if row["sms_state"] == "sent"
    )
    sms_count_wrong = {
        final[pid]["origin"]: (expected_sms[pid], sum(sms_by_order[pid].values()))
        for pid in picking_ids
        if expected_sms[pid] != sum(sms_by_order[pid].values())
    }

    # -- No cron run lost for good --------------------------------------------
    bad_errors, concurrency, kills = server_errors(odoo_server["log"])
    crons = admin.call(
        "ir.cron",
        "read",
        [cron_id_of(admin, xmlid) for xmlid in TRIGGERED_CRONS],
        ["name", "active", "failure_count"],
    )

    figures = (
        f"{SHIPMENTS} shipments {dict(Counter(story.values()))}; "
        f"created in {created - started:.0f}s, {len(ROUNDS)} rounds in "
        f"{rounds_done - created:.0f}s, settled in {settled - rounds_done:.0f}s; "
        f"tracking calls per round {dict(sandbox.calls)}, poll batches left "
        f"to the next run per round {failed_polls}, applied again "
        f"{retried_polls}, numbers asked again {doubles}, numbers "
        f"asked per round { {r: sum(c.values()) for r, c in sandbox.asked.items()} }; "
        f"webhook pushes {dict(Counter(e['status'] for e in sandbox.webhook_log()))}; "
        f"{len(rows)} messages {dict(Counter(r['kind'] for r in rows))}, "
        f"{sum(received_mail.values())} emails, "
        f"{sum(sum(c.values()) for c in sms_by_order.values())} SMS; "
        f"triggers {background.triggers}, manual runs "
        f"{dict(background.racers.runs)}, {background.racers.busy} refused as "
        f"running, failed {dict(background.racers.failures)}; "
        f"concurrency errors in the log {len(concurrency)}, cron workers killed "
        f"{kills}; stalled queues run by "
        f"hand {nudges}"
    )
    sys.stdout.write(f"\nscale: {figures}\n")
    record_property("figures", figures)

    assert not unexplained, f"numbers asked twice in a round ({figures}): {doubles}"
    assert not any(unasked.values()), f"open numbers not asked: {unasked}"
    assert not wrong_state, f"shipments not at the end of their story: {wrong_state}"
    assert not wrong_incidents, f"incidents, expected {INCIDENTS}: {wrong_incidents}"
    assert not missing_messages, f"messages not queued: {missing_messages}"
    assert not told_twice, f"updates queued twice: {told_twice}"
    assert not unsent, f"messages not sent on both channels: {unsent[:20]}"
    assert (
        not mail_problems
    ), f"emails not received once (expected, got): {mail_problems}"
    assert not sms_twice, f"SMS received twice: {sms_twice}"
    assert not sms_count_wrong, f"SMS per order (expected, got): {sms_count_wrong}"
    assert all(c["active"] and not c["failure_count"] for c in crons), crons
    assert (
        not bad_errors
    ), f"{len(bad_errors)} error(s) in the server log, first:\n{bad_errors[0]}"


def test_a_poll_batch_lost_to_a_concurrent_update_is_applied_again(
    odoo_server, pg, shop, admin, sandbox, scale_carrier, poll
):
    """The poll cron's transaction loses to a concurrent one (a webhook, the
    monitor, a user writing the same deliveries while the carrier answers):
    the batch is applied again in a fresh transaction from the answer it
    had, and the carrier is asked once. The concurrent write is the test's:
    committed while the sandbox answers, after the poll's snapshot, on the
    deliveries the answer moves on (a serialization failure when the poll
    writes their status)."""
    sandbox.configure(scenario="normal", webhook_url=None)
    picking_ids = create_shipments(admin, shop, scale_carrier["id"], 3)
    numbers = {
        row["carrier_tracking_ref"]
        for row in read_shipments(admin, picking_ids).values()
    }
    sandbox.round += 1
    assert sandbox.advance_clock(16)["now"]
    make_due(pg, picking_ids)
    log_start = log_size(odoo_server["log"])

    def concurrent_write(asked):
        if numbers & set(asked):
            with pg.cursor() as cr:
                cr.execute(
                    "UPDATE stock_picking SET write_date = now() at time zone 'UTC'"
                    " WHERE id = ANY(%s)",
                    [picking_ids],
                )
        else:
            sandbox.before_answer = concurrent_write

    sandbox.before_answer = concurrent_write
    run_cron(admin, poll, POLL_CRON)
    text = log_between(odoo_server["log"], log_start, log_size(odoo_server["log"]))
    asked = sandbox.asked[sandbox.round]
    assert re.search(POLL_RETRIED, text), (
        "no lost transaction: the concurrent write did not meet the poll; "
        f"log:\n{text[-3000:]}"
    )
    assert {number: asked[number] for number in numbers} == dict.fromkeys(
        numbers, 1
    ), f"asked again after the lost transaction: {dict(asked)}"
    states = {
        row["shipment_state"] for row in read_shipments(admin, picking_ids).values()
    }
    assert states == {"in_transit"}, states
