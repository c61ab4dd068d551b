# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

from .stock_picking import SMS_STATES

SMS_TEMPLATES = {
    kind: f"shipment_tracking_sms.sms_template_shipment_{kind}"
    for kind in (
        "out_for_delivery",
        "available_for_pickup",
        "delivered",
        "exception",
        "late",
        "returned",
        "recovered",
    )
}


class ShipmentTrackingNotification(models.Model):
    _inherit = "shipment.tracking.notification"

    sms_state = fields.Selection(SMS_STATES, string="SMS", readonly=True)
    sms_message_id = fields.Many2one("mail.message", readonly=True, ondelete="set null")
    sms_note = fields.Char(string="SMS Note", readonly=True)

    def _send(self):
        """Email those who want email, text those who want SMS; each update
        is texted at most once."""
        email_ok = self.filtered(lambda n: n.picking_id._shipment_wants("email"))
        (self - email_ok).write(
            {"state": "skipped", "note": "customer does not want shipment emails"}
        )
        res = super(ShipmentTrackingNotification, email_ok)._send()
        for notification in self.filtered(lambda n: not n.sms_state):
            template = self.env.ref(SMS_TEMPLATES[notification.kind])
            vals = notification.picking_id._shipment_notify_by_sms(template)
            notification.write(
                {
                    "sms_state": vals["state"],
                    "sms_message_id": vals.get("message_id", False),
                    "sms_note": vals.get("note", False),
                }
            )
        return res
