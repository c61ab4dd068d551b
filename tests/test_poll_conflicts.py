"""The poll cron's batch against transactions that write the same deliveries
meanwhile (issue 12: the crons run side by side with the webhooks and the
users on the same data).

A batch is claimed, its carrier asked, and the answer applied in one
transaction. Should another transaction write one of the batch's deliveries
first, the batch's transaction is lost (a serialization failure, or a lock
held past ``lock_timeout``): it is rolled back alone and the answer applied
again in a fresh transaction, without asking the carrier again, up to three
times; past that the batch stays due and the poll cron is woken a minute
later (``shipment.tracking.number._poll_commit`` and ``_poll_give_up``).

Those commit and roll back for real, which a TransactionCase cannot: a
worker process runs the batch on the test database with Odoo's own cursors,
against the sandbox carrier, while the test writes the delivery through the
running server or holds its row.
"""

import os
import re

import psycopg2
import pytest
from conftest import PG, run_odoo_worker, validate_as_warehouse
from test_e2e_carrier import HOURS_TO_IN_TRANSIT, create_sandbox_carrier

SETTLE_TIMEOUT = 120
POLL_CRON = "shipment_tracking.ir_cron_shipment_poll"
# The worker's statements wait this long for a row lock, then fail (55P03).
LOCK_TIMEOUT_MS = 500
# POLL_CONCURRENCY_RETRIES of shipment_tracking/const.py: attempts after the
# first, before the batch is left for the next run.
RETRIES = 3
RETRIED = re.compile(
    r"polling (?P<carrier>.+): batch of 1 number\(s\) lost to a concurrent"
    r" transaction \((?P<code>\w+)\), applying the answer again"
)
GAVE_UP = re.compile(
    r"polling (?P<carrier>.+): batch of 1 number\(s\) lost to concurrent"
    rf" transactions {RETRIES + 1} times \((?P<code>\w+)\), left for the next run"
)

# After conftest's WORKER_PROLOGUE; args: number_id, poll_cron. Prints a
# JSON line.
WORKER = r"""
from datetime import timedelta

from odoo import SUPERUSER_ID, api, fields

lines = LogLines("odoo.addons.shipment_tracking.models.shipment_tracking_number")
result = {}
with registry.cursor() as cr:
    env = api.Environment(cr, SUPERUSER_ID, {})
    number = env["shipment.tracking.number"].browse(args["number_id"])
    # Due, as time would make it.
    started = fields.Datetime.now()
    number.next_poll_date = started - timedelta(seconds=1)
    cr.commit()
    # One batch of the poll cron (it commits, or rolls back and retries).
    result["reached"] = number._poll_commit(number.carrier_id, 1, (1, 1))
    ended = fields.Datetime.now()

with registry.cursor() as cr:
    env = api.Environment(cr, SUPERUSER_ID, {})
    number = env["shipment.tracking.number"].browse(args["number_id"])
    picking = number.picking_id
    result["due"] = number.next_poll_date <= fields.Datetime.now()
    result["shipment_state"] = picking.shipment_state
    result["note"] = str(picking.note or "")
    result["poll_events"] = env["shipment.tracking.event"].search(
        [("picking_id", "=", picking.id), ("source", "=", "poll")]
    ).mapped("carrier_status_code")
    cron = env.ref(args["poll_cron"])
    # Each later wake-up of the poll cron: (seconds after the batch began,
    # seconds after it ended).
    result["wake_ups"] = [
        [
            (trigger.call_at - started).total_seconds(),
            (trigger.call_at - ended).total_seconds(),
        ]
        for trigger in env["ir.cron.trigger"].search(
            [("cron_id", "=", cron.id), ("call_at", ">", started)]
        )
    ]
result["log"] = lines.lines
print(json.dumps(result), flush=True)
"""


def _run_worker(db, data_dir, log, number_id, lock_timeout_ms=None):
    env = dict(os.environ)
    if lock_timeout_ms:
        # Every connection of the worker (libpq reads PGOPTIONS).
        env["PGOPTIONS"] = f"-c lock_timeout={lock_timeout_ms}"
    return run_odoo_worker(
        WORKER, db, data_dir, log, env=env, number_id=number_id, poll_cron=POLL_CRON
    )


@pytest.fixture(scope="module")
def poll_carrier(admin, shop, sandbox, odoo_server):
    """A sandbox carrier that pushes no webhook (the poll brings the news),
    with the poll cron switched off meanwhile: only the worker polls."""
    carrier = create_sandbox_carrier(admin, shop, sandbox, odoo_server, "Poll")
    cron_id = admin.ref(POLL_CRON)
    admin.call("ir.cron", "write", [cron_id], {"active": False})
    try:
        yield carrier
    finally:
        admin.call("ir.cron", "write", [cron_id], {"active": True})


@pytest.fixture
def in_transit_at_carrier(admin, shop, login, sandbox, poll, poll_carrier):
    """A delivery booked with the sandbox at validation, its dispatch
    message settled, whose carrier now says picked up and in transit;
    yields (picking id, tracking number record id, tracking number)."""
    _order, picking = shop.new_delivery(carrier_id=poll_carrier["id"])
    shipment = validate_as_warehouse(
        shop, login, picking["id"], ["carrier_tracking_ref", "shipment_state"]
    )
    assert shipment["shipment_state"] == "dispatched", shipment
    # Nothing else writes the delivery while the batch runs.
    shop.wait_notifications_settled(poll, [picking["id"]], SETTLE_TIMEOUT)
    (number,) = admin.call(
        "shipment.tracking.number",
        "search_read",
        [("picking_id", "=", picking["id"])],
        ["name"],
    )
    assert number["name"] == shipment["carrier_tracking_ref"], number
    assert sandbox.advance_clock(HOURS_TO_IN_TRANSIT)["events_released"]
    return picking["id"], number["id"], number["name"]


class TrackingCalls:
    """Counts the sandbox's tracking requests for ``number`` (it runs in
    this process); ``meanwhile()`` runs once, when the first one arrives,
    before the sandbox answers."""

    def __init__(self, sandbox, number, meanwhile=None):
        self.sandbox, self.number, self.meanwhile = sandbox, number, meanwhile
        self.count = 0
        # What ``meanwhile`` raised, in the sandbox's thread.
        self.errors = []

    def __enter__(self):
        original = self.sandbox.handle

        def handle(method, target, headers, body):
            if target.startswith("/v1/tracking") and self.number.encode() in (
                target.encode() + (body or b"")
            ):
                self.count += 1
                if self.count == 1 and self.meanwhile:
                    try:
                        self.meanwhile()
                    except Exception as error:  # noqa: BLE001 - asserted
                        self.errors.append(repr(error))
            return original(method, target, headers, body)

        self.sandbox.handle = handle
        return self

    def __exit__(self, *exc_info):
        del self.sandbox.handle  # back to the class's method


def test_a_batch_lost_once_applies_the_answer_again(
    e2e_db, tmp_path, admin, sandbox, poll_carrier, in_transit_at_carrier
):
    db, data_dir = e2e_db
    picking_id, number_id, number = in_transit_at_carrier

    def user_edits_the_delivery():
        # Committed by the server while the worker waits for the carrier,
        # after the worker's transaction began.
        admin.call("stock.picking", "write", [picking_id], {"note": "Side door"})

    with TrackingCalls(sandbox, number, user_edits_the_delivery) as calls:
        result = _run_worker(db, data_dir, tmp_path / "worker.log", number_id)

    assert not calls.errors, calls.errors
    assert result["reached"] is True, result
    assert calls.count == 1, f"the carrier was asked {calls.count} times"
    retried = [RETRIED.search(line) for line in result["log"]]
    assert [(m["carrier"], m["code"]) for m in retried if m] == [
        (poll_carrier["name"], "40001")
    ], result["log"]
    assert not any(GAVE_UP.search(line) for line in result["log"]), result["log"]
    # The answer applied once, in the second transaction; the user's edit kept.
    assert result["shipment_state"] == "in_transit", result
    events = result["poll_events"]
    assert {"picked_up", "in_transit"} <= set(events), events
    assert len(events) == len(set(events)), events
    assert "Side door" in result["note"], result
    assert not result["due"], result


def test_a_batch_that_keeps_losing_is_left_for_the_next_run(
    e2e_db, tmp_path, sandbox, poll_carrier, in_transit_at_carrier
):
    db, data_dir = e2e_db
    picking_id, number_id, number = in_transit_at_carrier
    # Another transaction holds the delivery's row for the whole batch.
    holder = psycopg2.connect(dbname=db, **PG)
    try:
        with holder.cursor() as cr:
            cr.execute(
                "SELECT id FROM stock_picking WHERE id = %s FOR UPDATE", [picking_id]
            )
            with TrackingCalls(sandbox, number) as calls:
                result = _run_worker(
                    db,
                    data_dir,
                    tmp_path / "worker.log",
                    number_id,
                    lock_timeout_ms=LOCK_TIMEOUT_MS,
                )
    finally:
        holder.rollback()
        holder.close()

    assert result["reached"] is False, result
    assert calls.count == 1, f"the carrier was asked {calls.count} times"
    retried = [RETRIED.search(line) for line in result["log"]]
    assert [m["code"] for m in retried if m] == ["55P03"] * RETRIES, result["log"]
    gave_up = [GAVE_UP.search(line) for line in result["log"]]
    assert [(m["carrier"], m["code"]) for m in gave_up if m] == [
        (poll_carrier["name"], "55P03")
    ], result["log"]
    # Nothing of the answer kept; still due; the cron woken a minute later.
    assert result["shipment_state"] == "dispatched", result
    assert result["poll_events"] == [], result
    assert result["due"], result
    assert any(
        after_start >= 59 and after_end <= 61
        for after_start, after_end in result["wake_ups"]
    ), result
