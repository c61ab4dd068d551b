# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import tagged

from .common import ShipmentTrackingCase


@tagged("post_install", "-at_install")
class TestValidationQueries(ShipmentTrackingCase):
    """Query budget of a Warehouse user validating one 3-line delivery.

    Dispatch (shipment ID, status, date, EDD, queued notification) must stay a
    small, fixed overhead: the email is rendered by the cron, not in the click."""

    def _ready_deliveries(self, count, tracking=True):
        pickings = self.env["stock.picking"]
        for _i in range(count):
            picking = self._create_delivery()
            self._fill_details(picking)
            if tracking:
                picking.carrier_tracking_ref = f"Q{picking.id}"
            pickings |= picking
        # Warm up the caches shared by every validation (sequence, calendar, ...).
        pickings[0].with_user(self.user_warehouse).button_validate()
        self.env.flush_all()
        self.env.invalidate_all()
        return pickings[1:]

    def test_validation_query_budget(self):
        dispatched, = self._ready_deliveries(2)
        with self.assertQueryCount(DISPATCH_BUDGET):
            dispatched.with_user(self.user_warehouse).button_validate()
            self.env.flush_all()
        self.assertEqual(dispatched.shipment_state, "dispatched")
        self.assertEqual(dispatched.shipment_notification_state, "to_send")


# Measured on Odoo 18.0 (see README, "Performance"); a change that adds queries to
# the warehouse worker's click must update this figure on purpose.
DISPATCH_BUDGET = 200
