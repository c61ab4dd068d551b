# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tools import SQL
from odoo.tools.sql import column_exists, create_column, rename_column


def migrate(cr, version):
    """The update queue becomes the outbox: each row gets its email channel
    state from its old state before the ORM adds the column, or its default
    (*To send*) would send every past update again."""
    table = "shipment_tracking_notification"
    if column_exists(cr, table, "message_id") and not column_exists(
        cr, table, "mail_message_id"
    ):
        rename_column(cr, table, "message_id", "mail_message_id")
    if column_exists(cr, table, "email_state"):
        return
    create_column(cr, table, "email_state", "varchar")
    create_column(cr, table, "email_error", "varchar")
    cr.execute(
        SQL(
            """UPDATE shipment_tracking_notification
                  SET email_state = CASE
                        WHEN state = 'to_send' THEN 'pending'
                        WHEN state = 'sent' THEN 'sent'
                        WHEN note ILIKE '%%does not want%%' THEN 'opted_out'
                        ELSE 'no_address' END,
                      email_error = note"""
        )
    )
