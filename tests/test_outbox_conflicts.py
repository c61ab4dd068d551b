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

import json
import re
import subprocess
import uuid
from pathlib import Path

from conftest import ODOO_BIN, ODOO_PYTHON, log_tail, odoo_command

WORKER_TIMEOUT = 300
LOST = re.compile(
    r"shipment messages \[(?P<ids>[\d, ]+)\]: (?P<step>.+) lost to a concurrent"
    r" transaction \((?P<code>\w+)\)"
)

# argv[1]: JSON {"odoo_src", "odoo_args", "db", "tag"}; prints a JSON line.
WORKER = r"""
import json
import logging
import sys

args = json.loads(sys.argv[1])
sys.path.insert(0, args["odoo_src"])

from odoo import SUPERUSER_ID, Command, api
from odoo.modules.registry import Registry
from odoo.tools import config

config.parse_config(args["odoo_args"])
registry = Registry(args["db"])
MODEL = "shipment.tracking.notification"
tag = args["tag"]


class Lines(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def states(env, ids):
    rows = env[MODEL].browse(ids)
    return [
        {"email": r.email_state, "sms": r.sms_state, "mail_ref": r.mail_ref}
        for r in rows
    ]


def drain(env):
    # What earlier tests left due goes first: the calls below take ours.
    for _call in range(50):
        if not env[MODEL]._cron_send(batch_size=50):
            return
        env.cr.commit()


result = {}
with registry.cursor() as cr:
    env = api.Environment(cr, SUPERUSER_ID, {})
    company = env.ref("base.main_company")
    result["restore"] = company.shipment_notify_dispatch
    company.shipment_notify_dispatch = True
    drain(env)
    # Four deliveries dispatched at validation, one dispatch message each.
    partner = env["res.partner"].create(
        {"name": f"Conflict {tag}", "email": f"conflict-{tag}@example.com"}
    )
    product = env["product.product"].create(
        {"name": f"Conflict {tag}", "type": "consu"}
    )
    out_type = env["stock.warehouse"].search(
        [("company_id", "=", company.id)], limit=1
    ).out_type_id
    pickings = env["stock.picking"]
    for i in range(4):
        picking = env["stock.picking"].create(
            {
                "picking_type_id": out_type.id,
                "partner_id": partner.id,
                "carrier_tracking_ref": f"CONFLICT{tag}{i}",
                "location_id": out_type.default_location_src_id.id,
                "location_dest_id": env.ref("stock.stock_location_customers").id,
                "move_ids": [
                    Command.create(
                        {
                            "name": product.name,
                            "product_id": product.id,
                            "product_uom_qty": 1,
                            "product_uom": product.uom_id.id,
                            "location_id": out_type.default_location_src_id.id,
                            "location_dest_id": env.ref(
                                "stock.stock_location_customers"
                            ).id,
                        }
                    )
                ],
            }
        )
        picking.action_confirm()
        picking.move_ids.write({"quantity": 1, "picked": True})
        picking.with_context(shipment_check_details=False).button_validate()
        pickings |= picking
    result["dispatched"] = pickings.mapped("shipment_state")
    rows = env[MODEL].search([("picking_id", "in", pickings.ids)], order="picking_id")
    result["ids"] = rows.ids
    # Row 1: its email left the mail queue, but the outcome was not recorded
    # (the mail is gone): the cron's reconciliation settles it. Its SMS is due.
    rows[0].write({"email_state": "outgoing", "mail_ref": 2_000_000_000})
    cr.commit()
    result["before"] = states(env, rows.ids)

lines = Lines()
logging.getLogger(
    "odoo.addons.shipment_tracking.models.shipment_tracking_notification"
).addHandler(lines)

# The cron's call begins; then another transaction changes row 1 (being
# reconciled) and row 3 (due) and commits; then the call runs.
with registry.cursor() as call, registry.cursor() as other:
    call.execute("SELECT 1")  # the call's snapshot
    changed = api.Environment(other, SUPERUSER_ID, {})[MODEL].browse(
        [result["ids"][0], result["ids"][2]]
    )
    changed.write({"email_error": "changed meanwhile"})
    other.commit()
    Notification = api.Environment(call, SUPERUSER_ID, {})[MODEL]
    # Rows of earlier tests that fell due since the drain (retry times).
    result["others_due"] = Notification.search_count(
        [*Notification._due_domain(), ("id", "not in", result["ids"])]
    )
    result["taken"] = Notification._cron_send(batch_size=50)
    call.commit()
result["log"] = lines.lines

with registry.cursor() as cr:
    env = api.Environment(cr, SUPERUSER_ID, {})
    result["after_call"] = states(env, result["ids"])
    # The cron runner calls again (a new transaction each call).
    calls = 0
    while env[MODEL]._cron_send(batch_size=50):
        cr.commit()
        calls += 1
    result["later_calls"] = calls
    result["after_all"] = states(env, result["ids"])
    rows = env[MODEL].browse(result["ids"])
    mails = env["mail.mail"].search(
        [("model", "=", "stock.picking"), ("res_id", "in", rows.picking_id.ids)]
    )
    result["mails"] = [
        len(mails.filtered(lambda m, p=picking: m.res_id == p.id))
        for picking in rows.picking_id
    ]
    # Nothing of this test is left for another test's mail queue.
    mails.write({"state": "cancel"})
    company = env.ref("base.main_company")
    company.shipment_notify_dispatch = result["restore"]
print(json.dumps(result), flush=True)
"""


def _run_worker(db, data_dir, log):
    args = {
        "odoo_src": str(Path(ODOO_BIN).resolve().parent),
        # odoo_command's options, without the interpreter and odoo-bin.
        "odoo_args": odoo_command(db, data_dir=data_dir)[2:],
        "db": db,
        "tag": uuid.uuid4().hex[:8],
    }
    with open(log, "a", encoding="utf-8") as err:
        done = subprocess.run(
            [ODOO_PYTHON, "-c", WORKER, json.dumps(args)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            timeout=WORKER_TIMEOUT,
            check=False,
        )
    assert done.returncode == 0, f"the worker failed:\n{log_tail(log)}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def _losses(lines):
    """(ids, step, SQLSTATE) of each log line saying rows lost a step."""
    losses = []
    for line in lines:
        found = LOST.search(line)
        if found:
            ids = [int(i) for i in found["ids"].split(",")]
            losses.append((ids, found["step"], found["code"]))
    return losses


def test_rows_changed_during_a_call_cost_that_row_not_the_batch(e2e_db, tmp_path):
    db, data_dir = e2e_db
    result = _run_worker(db, data_dir, tmp_path / "worker.log")
    first, _second, third, _fourth = result["ids"]
    assert result["dispatched"] == ["dispatched"] * 4
    assert result["before"][0] == {
        "email": "outgoing",
        "sms": "pending",
        "mail_ref": 2_000_000_000,
    }
    assert [row["email"] for row in result["before"][1:]] == ["pending"] * 3

    # The call took the two rows nobody changed, and only those.
    assert result["taken"] == 2 + result["others_due"], result
    after = result["after_call"]
    assert after[1]["email"] == after[3]["email"] == "outgoing", after
    assert after[1]["mail_ref"] and after[3]["mail_ref"], after
    # Row 1 lost its reconciliation, and was not claimed in the same call;
    # row 3 lost its lock: both as they were, for the next call.
    assert after[0] == result["before"][0], after
    assert after[2] == result["before"][2], after
    # Each lost once, logged; row 1 left out of the claim, not found again.
    assert _losses(result["log"]) == [
        ([first], "email outcome", "40001"),
        ([third], "claim", "40001"),
    ], result["log"]

    # The next calls settle both; every message went once.
    assert result["later_calls"] >= 1
    settled = result["after_all"]
    assert settled[0]["email"] == "failed", settled  # its mail was deleted unsent
    assert settled[2]["email"] == "outgoing" and settled[2]["mail_ref"], settled
    assert [row["sms"] for row in settled] == ["no_address"] * 4, settled
    assert result["mails"] == [0, 1, 1, 1], result
