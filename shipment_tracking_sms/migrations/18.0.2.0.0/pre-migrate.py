# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tools import SQL
from odoo.tools.sql import column_exists, rename_column


def migrate(cr, version):
    """The SMS of each customer message becomes a channel of the outbox: its
    state is carried over (an SMS handed to the queue counts as sent), and
    the dispatch SMS, booked on the delivery until now, moves to the
    delivery's *dispatched* message (created by the core's migration)."""
    table = "shipment_tracking_notification"
    if column_exists(cr, table, "sms_note") and not column_exists(
        cr, table, "sms_error"
    ):
        rename_column(cr, table, "sms_note", "sms_error")
    # The dispatch SMS, from the delivery's old columns.
    if column_exists(cr, "stock_picking", "shipment_sms_state"):
        cr.execute(
            SQL(
                """UPDATE shipment_tracking_notification n
                      SET sms_state = p.shipment_sms_state,
                          sms_error = p.shipment_sms_note,
                          sms_message_id = p.shipment_sms_message_id
                     FROM stock_picking p
                    WHERE n.picking_id = p.id AND n.key = 'dispatched'
                      AND n.sms_state IS NULL
                      AND p.shipment_sms_state IS NOT NULL"""
            )
        )
    cr.execute(
        SQL(
            """UPDATE shipment_tracking_notification
                  SET sms_state = CASE
                        WHEN sms_state = 'skipped'
                         AND sms_error ILIKE '%%disabled%%' THEN 'disabled'
                        WHEN sms_state = 'skipped'
                         AND (sms_error ILIKE '%%prefers%%'
                              OR sms_error ILIKE '%%blacklist%%') THEN 'opted_out'
                        WHEN sms_state = 'skipped' THEN 'no_address'
                        WHEN sms_state IS NOT NULL THEN sms_state
                        WHEN email_state = 'pending' THEN 'pending'
                        ELSE 'disabled' END
                WHERE sms_state IS NULL OR sms_state = 'skipped'"""
        )
    )
