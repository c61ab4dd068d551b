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

    shipment_sequence_id = fields.Many2one(
        "ir.sequence",
        string="Shipment ID Sequence",
        copy=False,
        help="Numbers the shipment IDs of this company; created on first use.",
    )

    def _get_shipment_notification_max_attempts(self):
        self.ensure_one()
        return max(self.shipment_notification_max_attempts, 1)

    def _get_shipment_sequence(self):
        """The company's shipment ID sequence, created on first use.

        A standard (PostgreSQL) sequence: concurrent validations never wait on
        each other for a number; a rolled-back validation may leave a gap."""
        self.ensure_one()
        if not self.shipment_sequence_id:
            # sudo: sequences and company settings are technical records; the
            # validating user only ever draws numbers from it.
            self.sudo().shipment_sequence_id = (
                self.env["ir.sequence"]
                .sudo()
                .create(
                    {
                        "name": f"Shipment ID ({self.name})",
                        "code": SEQUENCE_CODE,
                        "company_id": self.id,
                        "prefix": "SHP/%(year)s/",
                        "padding": 6,
                        "implementation": "standard",
                    }
                )
            )
        # sudo: drawing a number needs no read right on ir.sequence for the user.
        return self.shipment_sequence_id.sudo()
