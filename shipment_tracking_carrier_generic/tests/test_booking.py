# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date

from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged

from .common import SandboxCarrierMixin


@tagged("post_install", "-at_install", "shipment_clock")
class TestBooking(SandboxCarrierMixin, TransactionCase):
    def test_single_parcel_booked_on_validation(self):
        picking = self._booked()
        self.assertEqual(picking.state, "done")
        self.assertRegex(picking.carrier_tracking_ref, r"^SBX[A-Z0-9]{10}$")
        self.assertEqual(picking.shipment_state, "dispatched")
        self.assertEqual(
            picking.tracking_number_ids.mapped("name"), [picking.carrier_tracking_ref]
        )
        self.assertTrue(picking.generic_shipment_id.startswith("shp_"))
        # The carrier's EDD wins over the transit-days estimate.
        booking = self.sandbox.shipment(picking.generic_shipment_id)
        self.assertEqual(
            picking.expected_delivery_date,
            date.fromisoformat(booking["estimated_delivery_date"]),
        )
        label = self.env["ir.attachment"].search(
            [("res_model", "=", "stock.picking"), ("res_id", "=", picking.id)]
        )
        self.assertEqual(len(label), 1)
        self.assertTrue(label.raw.startswith(b"%PDF"))
        self.assertEqual(
            picking.carrier_tracking_url,
            f"{self.sandbox.url}/track/{picking.carrier_tracking_ref}",
        )
        sent = booking["request"]
        self.assertEqual(sent["reference"], picking.name)
        self.assertEqual(sent["ship_to"]["email"], self.customer.email)
        self.assertEqual(len(sent["parcels"]), 1)
        self.assertEqual(sent["parcels"][0]["length"], 30.0)

    def test_multi_parcel_numbers_per_package(self):
        picking = self._booked(packages=2)
        numbers = picking.tracking_number_ids
        # Two packages plus the goods left outside any package.
        self.assertEqual(len(numbers), 3)
        self.assertEqual(len(numbers.package_id), 2)
        self.assertEqual(
            set(picking.carrier_tracking_ref.split(",")), set(numbers.mapped("name"))
        )

    def test_carrier_refusal_is_a_clear_error_and_validates_nothing(self):
        self.generic.generic_api_key = "wrong"
        picking = self._create_delivery(carrier=self.generic)
        self._fill_details(picking)
        with self.assertRaisesRegex(UserError, "Sandbox"):
            picking.with_user(self.user_warehouse).button_validate()

    def test_transient_faults_are_retried(self):
        # Booking is idempotent on its reference: retried as reads are.
        self.sandbox.configure(fail_next=1, throttle_next=1)
        self.generic.generic_max_retries = 3
        picking = self._booked()
        self.assertEqual(picking.shipment_state, "dispatched")

    def test_timeout_surfaces_after_retries(self):
        # Odoo's test mode raises every HTTP timeout to 10 s: sleep past it.
        self.sandbox.configure(timeout_next=1, timeout_seconds=10.5)
        self.generic.write({"generic_timeout": 1, "generic_max_retries": 0})
        picking = self._create_delivery(carrier=self.generic)
        self._fill_details(picking)
        with self.assertRaisesRegex(UserError, "timed out"):
            picking.with_user(self.user_warehouse).button_validate()

    def test_test_connection(self):
        action = self.generic.action_generic_test_connection()
        self.assertEqual(action["params"]["type"], "success")
        self.generic.generic_base_url = "http://127.0.0.1:9"
        with self.assertRaisesRegex(UserError, "cannot connect"):
            self.generic.action_generic_test_connection()

    def test_rate(self):
        order = self.env["sale.order"].create(
            {
                "partner_id": self.customer.id,
                "order_line": [(0, 0, {"product_id": self.products[0].id})],
            }
        )
        result = self.generic.rate_shipment(order)
        self.assertTrue(result["success"], result)
        self.assertGreater(result["price"], 0)

    def test_default_status_mapping(self):
        def mapping():
            return {
                (m.code, m.subcode or ""): (m.state, m.incident_kind)
                for m in self.generic.generic_status_map_ids
            }

        self.assertEqual(mapping()[("picked_up", "")], ("in_transit", False))
        self.assertEqual(
            mapping()[("returned_to_sender", "")], ("returned", "returned")
        )
        self.generic.generic_webhook_format = "aftership"
        self.assertEqual(mapping()[("OutForDelivery", "")], ("out_for_delivery", False))
        self.assertEqual(
            mapping()[("Exception", "Exception_004")], ("exception", "customs")
        )

    def test_rate_limit_respected(self):
        """The sandbox answers 429 above 5 requests/s; spacing our calls to
        the carrier's setting avoids it, without retries to hide a 429."""
        self.sandbox.configure(rate_limit=5)
        self.generic.write({"generic_rate_limit": 5, "generic_max_retries": 0})
        for _i in range(12):
            self.generic.action_generic_test_connection()
        self.generic.generic_rate_limit = 0
        with self.assertRaisesRegex(UserError, "rate limited"):
            for _i in range(12):
                self.generic.action_generic_test_connection()
