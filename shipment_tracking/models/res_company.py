# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

SEQUENCE_CODE = "shipment_tracking.shipment_ref"


class ResCompany(models.Model):
    _inherit = "res.company"

    shipment_notify_dispatch = fields.Boolean(
        string="Dispatch Notification",
        default=True,
        help="Email the customer when a delivery is dispatched (replaces Odoo's "
        "delivery confirmation email for deliveries).",
    )
    shipment_notification_max_attempts = fields.Integer(
        string="Email Attempts",
        default=3,
        help="How many times a dispatch email is tried before it is marked failed.",
    )

    def _get_shipment_notification_max_attempts(self):
        self.ensure_one()
        return max(self.shipment_notification_max_attempts, 1)

    def _get_shipment_sequence(self):
        """The company's shipment ID sequence, created on first use."""
        self.ensure_one()
        # sudo: sequences are technical records; users only ever draw numbers.
        sequences = self.env["ir.sequence"].sudo()
        sequence = sequences.search(
            [("code", "=", SEQUENCE_CODE), ("company_id", "=", self.id)], limit=1
        )
        if not sequence:
            sequence = sequences.create(
                {
                    "name": f"Shipment ID ({self.name})",
                    "code": SEQUENCE_CODE,
                    "company_id": self.id,
                    "prefix": "SHP/%(year)s/",
                    "padding": 6,
                    "implementation": "no_gap",
                }
            )
        return sequence
