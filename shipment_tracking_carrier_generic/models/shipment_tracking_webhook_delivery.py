# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

from odoo.addons.shipment_tracking.tools import create_unique

# How long delivery ids are remembered. Older replays still change nothing
# that matters: their events are duplicates, or older than a shipment's
# history window (see shipment_tracking's event time bounds).
KEEP_DAYS = 30


class ShipmentTrackingWebhookDelivery(models.Model):
    """The webhook deliveries already processed, by the sender's own id
    (EasyPost ``evt_...``, AfterShip ``event_id``): a replayed body is
    acknowledged and ignored. System bookkeeping, no user access."""

    _name = "shipment.tracking.webhook.delivery"
    _description = "Webhook delivery seen"

    carrier_id = fields.Many2one(
        "delivery.carrier", required=True, ondelete="cascade", index=True
    )
    name = fields.Char(string="Delivery ID", required=True)
    # Our clock, not the database's create_date: the purge compares it with
    # fields.Datetime.now().
    received_at = fields.Datetime(
        required=True, readonly=True, default=fields.Datetime.now, index=True
    )

    _sql_constraints = [
        (
            "carrier_name_uniq",
            "unique(carrier_id, name)",
            "A webhook delivery is processed once per carrier.",
        ),
    ]

    @api.model
    def _claim(self, carrier, delivery_id):
        """Record ``delivery_id`` for ``carrier``; False when it was recorded
        before. A concurrent claim of the same id waits for the first one's
        transaction, then loses (the unique index decides, not a search)."""
        return bool(
            create_unique(self, {"carrier_id": carrier.id, "name": delivery_id})
        )

    @api.autovacuum
    def _gc_old_deliveries(self):
        limit = fields.Datetime.subtract(fields.Datetime.now(), days=KEEP_DAYS)
        self.search([("received_at", "<", limit)]).unlink()
