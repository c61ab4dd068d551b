# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import HttpCase, tagged

from .common import ShipmentFixtures


@tagged("post_install", "-at_install")
class TestBackofficeTours(ShipmentFixtures, HttpCase):
    """Back-office flows in the browser (static/tests/tours/
    shipment_backoffice_tour.js): the warehouse validates a delivery, Customer
    Service answers a customer's question."""

    ACTION_URL = "/odoo/action-shipment_tracking.stock_picking_shipment_action"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # No SMS confirmation popup at validation.
        cls.company.stock_move_sms_validation = False

    def _named_delivery(self, name):
        picking = self._create_delivery()
        picking.name = name
        return picking

    def test_warehouse_validation_tour(self):
        picking = self._named_delivery("TOUR/OUT/0001")
        self.assertEqual(picking.state, "assigned")
        self.assertTrue(self.carrier.shipment_require_details)

        self.start_tour(
            self.ACTION_URL,
            "shipment_warehouse_validation_tour",
            login=self.user_warehouse.login,
        )

        self.assertRecordValues(
            picking,
            [
                {
                    "state": "done",
                    "shipment_length": 30.0,
                    "shipment_width": 20.0,
                    "shipment_height": 10.0,
                }
            ],
        )
        self.assertTrue(picking.shipment_ref)
        # Contents are prefilled from the moves; the worker left them as is.
        self.assertIn("Lamp", picking.shipment_contents)
        self.assertFalse(picking.backorder_ids)

    def test_needs_reply_tour(self):
        picking = self._named_delivery("TOUR/OUT/0002")
        self._named_delivery("TOUR/OUT/0003")
        picking.message_subscribe(partner_ids=self.customer.ids)
        picking.message_post(
            body="Where is my parcel?",
            author_id=self.customer.id,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
        self.assertTrue(picking.shipment_inquiry_date)

        self.start_tour(
            self.ACTION_URL, "shipment_needs_reply_tour", login=self.user_cs.login
        )

        self.assertFalse(picking.shipment_inquiry_date)
        answer = picking.message_ids.filtered(
            lambda m: "It left our warehouse this morning." in m.body
        )
        self.assertEqual(len(answer), 1)
        self.assertRecordValues(
            answer,
            [
                {
                    "author_id": self.user_cs.partner_id.id,
                    "message_type": "comment",
                    "subtype_id": self.env.ref("mail.mt_comment").id,
                }
            ],
        )
        self.assertIn(self.customer, answer.partner_ids | answer.notified_partner_ids)
