# Copyright 2026 Shipment Tracking Contributors
# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import api, models


class ShipmentTrackingNotification(models.Model):
    _inherit = "shipment.tracking.notification"

    @api.model
    def _enqueue_wanted(self, picking, kind):
        """delivery_state's delivered email rides our "delivered" update:
        queued when delivery_state's setting is on, whatever ours says."""
        return super()._enqueue_wanted(picking, kind) or (
            kind == "delivered" and picking._delivery_state_email_wins()
        )

    def _email_post_one_by_one(self):
        """Our "delivered" email goes out as delivery_state's when its setting
        is on: through the delivery's ``message_post_with_source``, which
        sends delivery_state's email in its place."""
        return super()._email_post_one_by_one() | self.filtered(
            lambda row: row.kind == "delivered"
            and row.picking_id._delivery_state_email_wins()
        )
