# Copyright 2026 Shipment Tracking Contributors
# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
"""OCA delivery_state's per-shipment way, for the generic (sandbox) carrier.

delivery_state's cron (``stock.picking._update_delivery_state``) calls
``<delivery_type>_tracking_state_update(picking)`` for every open delivery,
one at a time. This adapter does what OCA's connectors do there (e.g.
delivery_cttexpress, delivery_gls_asm): one tracking call for the delivery's
number, then the history, the carrier's last words and the mapped state on
the picking. The call goes through the connector's own HTTP client, so it
keeps the same client-side rate limit (calls spaced to the carrier's
``generic_rate_limit`` per second) and retries a 429 after its Retry-After.
"""

from odoo import fields, models

# Sandbox status -> delivery_state's carrier state, as OCA connectors map theirs.
SANDBOX_DELIVERY_STATES = {
    "label_created": "shipping_recorded_in_carrier",
    "picked_up": "in_transit",
    "in_transit": "in_transit",
    "delayed": "in_transit",
    "out_for_delivery": "in_transit",
    "available_for_pickup": "in_transit",
    "exception_resolved": "in_transit",
    "delivered": "customer_delivered",
    "delivered_to_pickup_point": "customer_delivered",
    "delivery_failed": "incident",
    "exception": "incident",
    "lost": "incident",
    "returned_to_sender": "incident",
}


class DeliveryCarrier(models.Model):
    _inherit = "delivery.carrier"

    def generic_tracking_state_update(self, picking):
        """One GET /v1/tracking/<number> for ``picking``; history, last words
        and delivery_state written on it."""
        self.ensure_one()
        if not picking.carrier_tracking_ref:
            return
        number = picking.carrier_tracking_ref.split(",")[0].strip()
        tracking = self._generic_call("tracking", number)
        events = tracking.get("events") or []
        picking.tracking_state_history = "\n".join(
            f"{event['occurred_at']} {event['location']} - {event['description']}"
            for event in events
        )
        status = tracking.get("status")
        picking.tracking_state = f"{status} - {tracking.get('status_description')}"
        state = SANDBOX_DELIVERY_STATES.get(status, "incident")
        vals = {"delivery_state": state}
        if state == "customer_delivered":
            vals["date_delivered"] = fields.Datetime.now()
        picking.write(vals)
