# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class MailMessage(models.Model):
    _inherit = "mail.message"

    shipment_notification_picking_ids = fields.One2many(
        "stock.picking",
        "shipment_notification_message_id",
        string="Shipments notified by this message",
    )
