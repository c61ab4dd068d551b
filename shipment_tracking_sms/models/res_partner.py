# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    shipment_notification_channel = fields.Selection(
        [
            ("both", "Email and SMS"),
            ("email", "Email only"),
            ("sms", "SMS only"),
            ("none", "None"),
        ],
        string="Shipment Notifications",
        default="both",
        required=True,
        help="How the customer hears about dispatch and shipment updates. Set "
        "on the company, it applies to its contacts.",
    )

    @api.model
    def _commercial_fields(self):
        return super()._commercial_fields() + ["shipment_notification_channel"]
