# Copyright 2026 Shipment Tracking Contributors
# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from odoo import api, models

from odoo.addons.shipment_tracking.tools import create_unique


class ShipmentTrackingNotification(models.Model):
    _inherit = "shipment.tracking.notification"

    @api.model
    def _enqueue(self, picking, kind, key, incident=None):
        """delivery_state's delivered email rides our "delivered" update:
        queued when delivery_state's setting is on, whatever ours says."""
        if (
            kind == "delivered"
            and not picking.company_id.shipment_notify_delivered
            and picking._delivery_state_email_wins()
        ):
            return create_unique(self, self._prepare_values(picking, kind, key))
        return super()._enqueue(picking, kind, key, incident=incident)

    def _email_post_one_by_one(self):
        """Our "delivered" email goes out as delivery_state's when its setting
        is on: through the delivery's ``message_post_with_source``, which
        sends delivery_state's email in its place."""
        return super()._email_post_one_by_one() | self.filtered(
            lambda row: row.kind == "delivered"
            and row.picking_id._delivery_state_email_wins()
        )
