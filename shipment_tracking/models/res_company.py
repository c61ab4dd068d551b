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

    # Monitoring thresholds (carriers may override them).
    shipment_late_after_days = fields.Integer(
        string="Late After (days)",
        default=0,
        help="A shipment not delivered this many days after its estimated "
        "delivery date is late (0: the day after).",
    )
    shipment_stalled_hours = fields.Integer(
        string="Stalled After (hours)",
        default=48,
        help="No carrier event for this long while in transit.",
    )
    shipment_out_for_delivery_hours = fields.Integer(
        string="Out for Delivery Limit (hours)", default=24
    )
    shipment_incident_user_id = fields.Many2one(
        "res.users",
        string="Incident Responsible",
        help="Customer Service user who gets the follow-up activities; empty: "
        "the order's salesperson.",
    )
    # Which status updates reach the customer (dispatch always does).
    shipment_notify_out_for_delivery = fields.Boolean(
        string="Notify Out for Delivery", default=True
    )
    shipment_notify_available_for_pickup = fields.Boolean(
        string="Notify Ready for Pickup",
        default=True,
        help="Tell the customer where and until when to collect a parcel the "
        "carrier left at a pickup point.",
    )
    shipment_notify_delivered = fields.Boolean(string="Notify Delivered", default=True)
    shipment_notify_exception = fields.Boolean(string="Notify Exceptions", default=True)
    shipment_notify_late = fields.Boolean(string="Notify Delays", default=True)
    shipment_notify_returned = fields.Boolean(string="Notify Returns", default=True)
    shipment_notify_recovered = fields.Boolean(
        string="Notify Recovery",
        default=True,
        help="Tell the customer when a delayed or blocked shipment is back on "
        "track.",
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
