# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date
from xmlrpc.client import Fault

from odoo.exceptions import AccessError
from odoo.tests import HttpCase, new_test_user, tagged

from .common import ShipmentFixtures, ShipmentTrackingCase


@tagged("post_install", "-at_install")
class TestRolesOrm(ShipmentTrackingCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other_salesman = new_test_user(
            cls.env, "st_cs_other", groups="sales_team.group_sale_salesman"
        )
        cls.other_customer = cls.env["res.partner"].create(
            {"name": "Someone Else's Customer", "email": "else@example.com"}
        )
        cls.picking = cls._create_delivery()
        cls.foreign_picking = cls._create_delivery(
            partner=cls.other_customer, user=cls.other_salesman
        )

    def test_warehouse_records_details_and_validates(self):
        picking = self.picking.with_user(self.user_warehouse)
        picking.write(
            {
                "shipment_length": 10,
                "shipment_width": 10,
                "shipment_height": 10,
                "shipment_contents": "Mugs",
                "shipping_weight": 2.0,
            }
        )
        picking.button_validate()
        self.assertEqual(self.picking.state, "done")

    def test_warehouse_refusals(self):
        picking = self.picking.with_user(self.user_warehouse)
        for vals in (
            {"carrier_tracking_ref": "X1"},
            {"shipment_ref": "MINE"},
            {"expected_delivery_date": date(2030, 1, 1)},
            {"shipment_state": "dispatched"},
            {"shipment_notification_state": "sent"},
        ):
            with self.subTest(vals=vals), self.assertRaises(AccessError):
                picking.write(vals)
        with self.assertRaises(AccessError):
            self.env["stock.picking.update.shipment"].with_user(
                self.user_warehouse
            ).create({"picking_id": self.picking.id})
        with self.assertRaises(AccessError):
            picking.action_shipment_resend_notification()
        self.assertFalse(self.picking.carrier_tracking_ref)

    def test_logistics_allowed(self):
        picking = self.picking.with_user(self.user_logistics)
        picking.write(
            {
                "carrier_tracking_ref": "LOG-1",
                "shipment_ref": "OWN-1",
                "expected_delivery_date": date(2030, 1, 1),
            }
        )
        self._fill_details(picking)
        picking.button_validate()
        self.assertEqual(picking.shipment_state, "dispatched")
        picking.shipment_state = "in_transit"
        picking.with_context(
            shipment_tracking_force_state=True
        ).shipment_state = "dispatched"
        self.assertEqual(self.picking.shipment_state, "dispatched")
        self.carrier.with_user(self.user_logistics).shipment_transit_days = 4

    def test_customer_service_reads_its_customers_shipments_only(self):
        pickings = self.env["stock.picking"].with_user(self.user_cs)
        visible = pickings.search(
            [("id", "in", (self.picking | self.foreign_picking).ids)]
        )
        self.assertEqual(visible, self.picking)
        self.assertEqual(self.picking.with_user(self.user_cs).shipment_state, "pending")
        with self.assertRaises(AccessError):
            self.foreign_picking.with_user(self.user_cs).read(["shipment_state"])

    def test_customer_service_cannot_change_shipment_data(self):
        picking = self.picking.with_user(self.user_cs)
        for vals in (
            {"shipment_length": 5},
            {"shipment_contents": "x"},
            {"carrier_tracking_ref": "CS-1"},
            {"expected_delivery_date": date(2030, 1, 1)},
            {"shipment_state": "cancelled"},
        ):
            with self.subTest(vals=vals), self.assertRaises(AccessError):
                picking.write(vals)
        with self.assertRaises(AccessError):
            self.carrier.with_user(self.user_cs).shipment_transit_days = 9

    def test_customer_service_writes_to_customers_and_resends(self):
        picking = self.picking
        self._fill_details(picking)
        self._set_tracking(picking)
        self._validate(picking)
        self._run_notification_cron()
        as_cs = picking.with_user(self.user_cs)
        as_cs.message_post(
            body="Your parcel left our warehouse this morning.",
            partner_ids=self.customer.ids,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
        as_cs.action_shipment_resend_notification()
        self.assertEqual(picking.shipment_notification_state, "to_send")

    def test_salesman_still_confirms_orders(self):
        order = (
            self.env["sale.order"]
            .with_user(self.user_cs)
            .create(
                {
                    "partner_id": self.customer.id,
                    "order_line": [(0, 0, {"product_id": self.products[0].id})],
                }
            )
        )
        order.action_confirm()
        self.assertEqual(order.with_user(self.user_cs).delivery_count, 1)


@tagged("post_install", "-at_install")
class TestRolesRpc(ShipmentFixtures, HttpCase):
    """The same rules hold over XML-RPC, as an integration or a script calls them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.picking = cls._create_delivery()
        for user in (cls.user_warehouse, cls.user_logistics, cls.user_cs):
            user.password = user.login + "-Pw-2026"

    def _call(self, user, method, *args):
        password = user.login + "-Pw-2026"
        uid = self.xmlrpc_common.authenticate(
            self.env.cr.dbname, user.login, password, {}
        )
        self.assertEqual(uid, user.id)
        return self.xmlrpc_object.execute_kw(
            self.env.cr.dbname, uid, password, "stock.picking", method, list(args)
        )

    def test_rpc_roles(self):
        ids = [self.picking.id]
        self._call(self.user_warehouse, "write", ids, {"shipment_length": 12.5})
        with self.assertRaisesRegex(Fault, "Only the Logistics team"):
            self._call(self.user_warehouse, "write", ids, {"carrier_tracking_ref": "W"})
        self._call(self.user_logistics, "write", ids, {"carrier_tracking_ref": "L-1"})
        with self.assertRaisesRegex(Fault, "Only warehouse staff"):
            self._call(self.user_cs, "write", ids, {"shipment_length": 1})
        with self.assertRaisesRegex(Fault, "Only the Logistics team"):
            self._call(self.user_cs, "write", ids, {"shipment_state": "cancelled"})
        read = self._call(self.user_cs, "read", ids, ["shipment_state"])
        self.assertEqual(read[0]["shipment_state"], "pending")
        self.assertRecordValues(
            self.picking, [{"shipment_length": 12.5, "carrier_tracking_ref": "L-1"}]
        )
