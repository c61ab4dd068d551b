# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tools import SQL
from odoo.tools.sql import column_exists, create_column


def pre_init_hook(env):
    """Customer messages queued or sent before SMS was installed are not
    texted now: their SMS channel is created *Not sent*, so the ORM does not
    fill it with the field's default (*To send*), which only new messages
    get."""
    table = "shipment_tracking_notification"
    if not column_exists(env.cr, table, "sms_state"):
        create_column(env.cr, table, "sms_state", "varchar")
        env.cr.execute(
            SQL("UPDATE shipment_tracking_notification SET sms_state = 'disabled'")
        )
