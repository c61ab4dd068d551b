"""The notification cron against transactions that commit during its call
(issue 12: the crons run side by side on the same data).

Odoo runs each cron call in one REPEATABLE READ transaction. A message row
that another transaction changes and commits after the call began (Odoo's
mail or SMS queue recording an outcome, a user's retry, a second cron
worker) can no longer be written or locked by the call: PostgreSQL answers
with a serialization failure. Such a row must cost the call that row, never
the batch: the other due messages go now, and the row in the next call.

This needs committed rows and two real transactions, which a TransactionCase
cannot make: a worker process runs on the test database, with Odoo's own
cursors, and commits what it creates.
"""

import re
import uuid

from conftest import run_odoo_worker

DELIVERIES = 8
# Rows another transaction changes during the call: the first (whose outcome
# the call reconciles) and two due ones, one in each half of the claim.
CHANGED = [0, 2, 6]
# Rows in the batch that changes wholesale (every one during the call).
WHOLESALE = 100
# A mail.mail id no row of the test database has: the mail left and is gone.
GONE_MAIL_ID = 2_000_000_000
LOST = re.compile(
    r"shipment messages \[(?P<ids>[\d, ]+)\]: (?P<step>.+) lost to a concurrent"
    r" transaction \((?P<code>\w+)\)"
)

# After conftest's WORKER_PROLOGUE; args: tag, deliveries, changed,
# gone_mail_id (the first row's mail, gone; none: its email is due),
# batch_size (the call's).
WORKER = r"""
from odoo import SUPERUSER_ID, Command, api

MODEL = "shipment.tracking.notification"
tag = args["tag"]


def states(env, ids):
    rows = env[MODEL].browse(ids)
    return [
        {"email": r.email_state, "sms": r.sms_state, "mail_ref": r.mail_ref}
        for r in rows
    ]


def drain(env):
    # Call after call, as Odoo's cron runner, until nothing is taken and no
    # outcome is left to reconcile.
    Notification = env[MODEL]
    for _call in range(50):
        taken = Notification._cron_send(batch_size=50)
        env.cr.commit()
        if not taken and not any(
            getattr(Notification, f"_reconcile_rows_{channel}")(1)
            for channel in Notification._channels()
        ):
            return
    raise AssertionError("the notification queue never emptied")


def delivery(env, partner, product, out_type, number):
    customers = env.ref("stock.stock_location_customers")
    locations = {
        "location_id": out_type.default_location_src_id.id,
        "location_dest_id": customers.id,
    }
    picking = env["stock.picking"].create(
        {
            "picking_type_id": out_type.id,
            "partner_id": partner.id,
            "carrier_tracking_ref": number,
            **locations,
            "move_ids": [
                Command.create(
                    {
                        "name": product.name,
                        "product_id": product.id,
                        "product_uom_qty": 1,
                        "product_uom": product.uom_id.id,
                        **locations,
                    }
                )
            ],
        }
    )
    picking.action_confirm()
    picking.move_ids.write({"quantity": 1, "picked": True})
    picking.with_context(shipment_check_details=False).button_validate()
    return picking


result = {}
with registry.cursor() as cr:
    restore = api.Environment(cr, SUPERUSER_ID, {}).company.shipment_notify_dispatch
try:
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        env.company.shipment_notify_dispatch = True
        # What earlier tests left due goes first: the call below takes ours.
        drain(env)
        # Deliveries dispatched at validation, one dispatch message each.
        partner = env["res.partner"].create(
            {"name": f"Conflict {tag}", "email": f"conflict-{tag}@example.com"}
        )
        product = env["product.product"].create(
            {"name": f"Conflict {tag}", "type": "consu"}
        )
        out_type = (
            env["stock.warehouse"]
            .search([("company_id", "=", env.company.id)], limit=1)
            .out_type_id
        )
        pickings = env["stock.picking"].union(
            *(
                delivery(env, partner, product, out_type, f"CONFLICT{tag}{i}")
                for i in range(args["deliveries"])
            )
        )
        result["dispatched"] = pickings.mapped("shipment_state")
        rows = env[MODEL].search([("picking_id", "in", pickings.ids)], order="id")
        result["ids"] = rows.ids
        if args["gone_mail_id"]:
            # The first row: its email left the mail queue, but the outcome
            # was not recorded (the mail is gone): the cron's reconciliation
            # settles it. Its SMS is due.
            rows[0].write({"email_state": "outgoing", "mail_ref": args["gone_mail_id"]})
        cr.commit()
        result["before"] = states(env, rows.ids)

    lines = LogLines(
        "odoo.addons.shipment_tracking.models.shipment_tracking_notification"
    )
    # The cron's call begins; then another transaction changes some rows and
    # commits; then the call runs.
    with registry.cursor() as call, registry.cursor() as other:
        call.execute("SELECT 1")  # the call's snapshot
        # Kept in a name: a commit flushes what live environments hold.
        changed = api.Environment(other, SUPERUSER_ID, {})[MODEL].browse(
            [result["ids"][index] for index in args["changed"]]
        )
        changed.write({"email_error": "changed meanwhile"})
        other.commit()
        Notification = api.Environment(call, SUPERUSER_ID, {})[MODEL]
        before = call.sql_log_count
        result["taken"] = Notification._cron_send(batch_size=args["batch_size"])
        # The call's statements that went through (a refused one is not
        # counted).
        result["statements"] = call.sql_log_count - before
        call.commit()
    result["log"] = list(lines.lines)

    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        result["after_call"] = states(env, result["ids"])
        drain(env)
        result["after_all"] = states(env, result["ids"])
        pickings = env[MODEL].browse(result["ids"]).picking_id
        mails = env["mail.mail"].search(
            [("model", "=", "stock.picking"), ("res_id", "in", pickings.ids)]
        )
        result["mails"] = [
            len(mails.filtered(lambda mail, picking=picking: mail.res_id == picking.id))
            for picking in pickings
        ]
        # Nothing of this test is left for another test's mail queue, nor
        # for its notification cron to reconcile.
        mails.write({"state": "cancel"})
        drain(env)
finally:
    with registry.cursor() as cr:
        api.Environment(cr, SUPERUSER_ID, {}).company.shipment_notify_dispatch = (
            restore
        )
print(json.dumps(result), flush=True)
"""


def _losses(lines):
    """(ids, step, SQLSTATE) of each log line saying rows lost a step."""
    losses = []
    for line in lines:
        found = LOST.search(line)
        if found:
            ids = [int(i) for i in found["ids"].split(",")]
            losses.append((ids, found["step"], found["code"]))
    return losses


def _race(e2e_db, tmp_path, **params):
    """The worker's result for ``params`` (deliveries, changed, gone_mail_id,
    batch_size), on deliveries of its own."""
    db, data_dir = e2e_db
    return run_odoo_worker(
        WORKER,
        db,
        data_dir,
        tmp_path / "worker.log",
        tag=uuid.uuid4().hex[:8],
        **params,
    )


def test_rows_changed_during_a_call_cost_those_rows_not_the_batch(e2e_db, tmp_path):
    result = _race(
        e2e_db,
        tmp_path,
        deliveries=DELIVERIES,
        changed=CHANGED,
        gone_mail_id=GONE_MAIL_ID,
        batch_size=50,
    )
    ids = result["ids"]
    assert result["dispatched"] == ["dispatched"] * DELIVERIES
    first = {"email": "outgoing", "sms": "pending", "mail_ref": GONE_MAIL_ID}
    assert result["before"][0] == first, result["before"]
    assert [row["email"] for row in result["before"][1:]] == ["pending"] * (
        DELIVERIES - 1
    )

    # The call took every row nobody changed (rows of earlier tests that fell
    # due meanwhile may come with them), and none of the changed ones.
    untouched = [index for index in range(DELIVERIES) if index not in CHANGED]
    assert result["taken"] >= len(untouched), result
    after = result["after_call"]
    for index in untouched:
        assert after[index]["email"] == "outgoing", (index, after)
        assert after[index]["mail_ref"], (index, after)
    # The first row lost its reconciliation and was left out of the claim;
    # the others could not be locked: all as they were, for the next call.
    for index in CHANGED:
        assert after[index] == result["before"][index], (index, after)
    # Each lost once, logged: the first not found again by the claim, the
    # two others found by halving it.
    assert _losses(result["log"]) == [
        ([ids[0]], "email outcome", "40001"),
        # In the claim's order (oldest due first: by id, none has a retry time).
        (sorted(ids[index] for index in CHANGED[1:]), "claim", "40001"),
    ], result["log"]

    # The next calls settle them; every message went once.
    settled = result["after_all"]
    assert settled[0]["email"] == "failed", settled  # its mail was deleted unsent
    for index in CHANGED[1:]:
        assert settled[index]["email"] == "outgoing", (index, settled)
        assert settled[index]["mail_ref"], (index, settled)
    assert [row["sms"] for row in settled] == ["no_address"] * DELIVERIES, settled
    assert result["mails"] == [0] + [1] * (DELIVERIES - 1), result


def test_a_batch_changed_wholesale_costs_a_bounded_claim(e2e_db, tmp_path):
    """Every due row changed during the call: the claim gives up halving
    past its budget (8 x log2 of the batch's rows) instead of trying each
    row, takes none of them, and the next calls send each once."""
    result = _race(
        e2e_db,
        tmp_path,
        deliveries=WHOLESALE,
        changed=list(range(WHOLESALE)),
        gone_mail_id=0,
        # The whole batch in one claim (the cron's default).
        batch_size=200,
    )
    ids = result["ids"]
    assert [row["email"] for row in result["before"]] == ["pending"] * WHOLESALE
    assert result["after_call"] == result["before"], result["after_call"]
    losses = _losses(result["log"])
    assert [(step, code) for _ids, step, code in losses] == [("claim", "40001")]
    assert sorted(losses[0][0]) == ids, losses
    # Halving down to every row would cost at least two statements for each
    # of its 2n - 1 attempts (the savepoint and its rollback).
    assert result["statements"] < 2 * (2 * WHOLESALE - 1), result["statements"]
    # The next calls send each once.
    assert [row["email"] for row in result["after_all"]] == ["outgoing"] * WHOLESALE
    assert result["mails"] == [1] * WHOLESALE, result["mails"]
