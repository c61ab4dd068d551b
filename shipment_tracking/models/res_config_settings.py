# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    shipment_notify_dispatch = fields.Boolean(
        related="company_id.shipment_notify_dispatch", readonly=False
    )
    shipment_notification_max_attempts = fields.Integer(
        related="company_id.shipment_notification_max_attempts", readonly=False
    )
