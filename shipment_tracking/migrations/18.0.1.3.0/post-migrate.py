# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import SUPERUSER_ID, api
from odoo.tools import SQL
from odoo.tools.sql import column_exists

# The polling bookkeeping the deliveries kept before 18.0.1.3.0.
OLD_COLUMNS = (
    "shipment_next_poll_date",
    "shipment_poll_idle_count",
    "shipment_poll_error",
)


def migrate(cr, version):
    """Polling moved from the deliveries to their tracking numbers: each
    number takes its delivery's next poll date, idle count and error, then
    the delivery's columns go. Idempotent: a number that already has
    bookkeeping of its own keeps it, and without the old columns (a second
    run) nothing is carried. The poll and monitor crons (noupdate data) run
    the methods' new homes."""
    if all(column_exists(cr, "stock_picking", column) for column in OLD_COLUMNS):
        cr.execute(
            SQL(
                """UPDATE shipment_tracking_number AS number
                      SET next_poll_date = picking.shipment_next_poll_date,
                          poll_idle_count = COALESCE(
                              picking.shipment_poll_idle_count, 0
                          ),
                          poll_error = picking.shipment_poll_error
                     FROM stock_picking AS picking
                    WHERE number.picking_id = picking.id
                      AND number.next_poll_date IS NULL
                      AND COALESCE(number.poll_idle_count, 0) = 0
                      AND number.poll_error IS NULL"""
            )
        )
    for column in OLD_COLUMNS:
        cr.execute(
            SQL(
                "ALTER TABLE stock_picking DROP COLUMN IF EXISTS %s",
                SQL.identifier(column),
            )
        )
    env = api.Environment(cr, SUPERUSER_ID, {})
    crons = {
        "shipment_tracking.ir_cron_shipment_poll": (
            "shipment.tracking.number",
            "model._cron_poll()",
        ),
        "shipment_tracking.ir_cron_shipment_monitor": (
            "shipment.tracking.incident",
            "model._cron_monitor()",
        ),
    }
    for xmlid, (model, code) in crons.items():
        cron = env.ref(xmlid, raise_if_not_found=False)
        if cron:
            cron.write({"model_id": env["ir.model"]._get_id(model), "code": code})
