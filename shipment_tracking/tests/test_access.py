# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date, datetime
from xmlrpc.client import Fault

from freezegun import freeze_time

from odoo.exceptions import AccessError, UserError
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


TRACKING_MODELS = (
    "shipment.tracking.event",
    "shipment.tracking.number",
    "shipment.tracking.incident",
    "shipment.tracking.notification",
)
# One value per system-maintained field, for the write attempts.
SYSTEM_FIELD_VALUES = {
    "shipment_delivered_date": "2026-11-20 10:00:00",
    "shipment_last_event_date": "2026-11-20 10:00:00",
    "shipment_pod_signed_by": "Forged",
    "shipment_pod_signature_url": "https://evil.example/sig.png",
    "shipment_pod_photo_url": "https://evil.example/photo.png",
    "shipment_pickup_location": "Forged Locker",
    "shipment_pickup_deadline": "2099-01-01 00:00:00",
    "shipment_next_poll_date": "2099-01-01 00:00:00",
    "shipment_poll_error": "silenced",
    "shipment_inquiry_date": False,
    "shipment_has_incident": False,
    "shipment_incident_reason": False,
    "shipment_transit_days": 1.0,
    "shipment_on_time": True,
    "shipment_on_time_rate": 100.0,
    "shipment_notification_state": "sent",
    "shipment_notification_attempts": 0,
    "shipment_notification_error": False,
    "shipment_notification_message_id": False,
}
INTERNAL_FIELDS = (
    "shipment_notification_state",
    "shipment_notification_error",
    "shipment_poll_error",
    "shipment_next_poll_date",
    "shipment_incident_reason",
    "shipment_has_incident",
    "shipment_inquiry_date",
    "shipment_on_time",
    "tracking_event_ids",
    "tracking_number_ids",
    "shipment_incident_ids",
    "shipment_update_ids",
)


class AccessFixtures:
    """Two companies, a delivery per company and one of another salesperson's
    customer, each with one record of every tracking model; users of each
    role with the least rights they need."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Users = cls.env["res.users"].with_context(no_reset_password=True)
        cls.company_b = cls.env["res.company"].create({"name": "Second Shipping Co"})
        cls.user_warehouse_b = new_test_user(
            Users.env,
            "st_warehouse_b",
            groups="stock.group_stock_user",
            company_id=cls.company_b.id,
            company_ids=[(6, 0, cls.company_b.ids)],
        )
        cls.user_cs_all = new_test_user(
            Users.env,
            "st_cs_all",
            groups="sales_team.group_sale_salesman_all_leads",
        )
        cls.other_salesman = new_test_user(
            Users.env, "st_cs_other", groups="sales_team.group_sale_salesman"
        )
        cls.other_customer = cls.env["res.partner"].create(
            {"name": "Someone Else's Customer", "email": "else@example.com"}
        )
        cls.user_portal = new_test_user(
            Users.env,
            "st_portal_access",
            groups="base.group_portal",
            partner_id=cls.customer.id,
        )
        cls.mine = cls._create_delivery()
        cls.foreign = cls._create_delivery(
            partner=cls.other_customer, user=cls.other_salesman
        )
        warehouse_b = cls.env["stock.warehouse"].search(
            [("company_id", "=", cls.company_b.id)], limit=1
        )
        cls.company_b_picking = (
            cls.env["stock.picking"]
            .with_company(cls.company_b)
            .create(
                {
                    "picking_type_id": warehouse_b.out_type_id.id,
                    "partner_id": cls.customer.id,
                }
            )
        )
        cls.records = {
            picking: cls._tracking_records(picking)
            for picking in (cls.mine, cls.foreign, cls.company_b_picking)
        }

    @classmethod
    def _tracking_records(cls, picking):
        picking.company_id.shipment_notify_delivered = True
        number = cls.env["shipment.tracking.number"].create(
            {"name": f"NUM-{picking.id}", "picking_id": picking.id}
        )
        event = cls.env["shipment.tracking.event"]._record_events(
            [
                {
                    "picking_id": picking.id,
                    "tracking_ref": number.name,
                    "event_time": datetime(2026, 11, 20, 9, 0),
                    "carrier_status_text": "Scanned",
                    "location": "Recipient Street 1",
                }
            ]
        )
        incident = cls.env["shipment.tracking.incident"]._open(
            picking, "stalled", "No news"
        )
        notification = cls.env["shipment.tracking.notification"]._enqueue(
            picking, "delivered", "state:delivered"
        )
        return {
            "shipment.tracking.event": event,
            "shipment.tracking.number": number,
            "shipment.tracking.incident": incident,
            "shipment.tracking.notification": notification,
        }

    def _visible(self, user, model, companies=None):
        """The fixture records of ``model`` that ``user`` finds."""
        ids = [records[model].id for records in self.records.values()]
        Model = self.env[model].with_user(user)
        if companies:
            Model = Model.with_context(allowed_company_ids=companies.ids)
        return Model.search([("id", "in", ids)])

    def _expected(self, model, *pickings):
        return self.env[model].union(*(self.records[p][model] for p in pickings))


@tagged("post_install", "-at_install")
class TestTrackingRecordRules(AccessFixtures, ShipmentTrackingCase):
    """shipment.tracking.* rows have the visibility of their delivery."""

    def test_records_carry_their_company(self):
        for records in self.records.values():
            for model, record in records.items():
                with self.subTest(model=model):
                    self.assertTrue(record)
                    self.assertEqual(record.company_id, record.picking_id.company_id)

    def test_stock_user_sees_own_company_only(self):
        for model in TRACKING_MODELS:
            with self.subTest(model=model):
                self.assertEqual(
                    self._visible(self.user_warehouse, model),
                    self._expected(model, self.mine, self.foreign),
                )
                self.assertEqual(
                    self._visible(self.user_warehouse_b, model),
                    self._expected(model, self.company_b_picking),
                )
                with self.assertRaises(AccessError):
                    self.records[self.company_b_picking][model].with_user(
                        self.user_warehouse
                    ).read(["picking_id"])

    def test_logistics_sees_own_company_only(self):
        for model in TRACKING_MODELS:
            with self.subTest(model=model):
                self.assertEqual(
                    self._visible(self.user_logistics, model),
                    self._expected(model, self.mine, self.foreign),
                )

    def test_multi_company_user_sees_allowed_companies(self):
        self.user_logistics.company_ids |= self.company_b
        both = self.env.company | self.company_b
        for model in TRACKING_MODELS:
            with self.subTest(model=model):
                self.assertEqual(
                    self._visible(self.user_logistics, model, companies=both),
                    self._expected(
                        model, self.mine, self.foreign, self.company_b_picking
                    ),
                )

    def test_customer_service_sees_its_customers_only(self):
        for model in TRACKING_MODELS:
            with self.subTest(model=model):
                self.assertEqual(
                    self._visible(self.user_cs, model), self._expected(model, self.mine)
                )
                self.assertEqual(
                    self._visible(self.other_salesman, model),
                    self._expected(model, self.foreign),
                )
                with self.assertRaises(AccessError):
                    self.records[self.foreign][model].with_user(self.user_cs).read(
                        ["picking_id"]
                    )

    def test_customer_service_all_documents_sees_company(self):
        for model in TRACKING_MODELS:
            with self.subTest(model=model):
                self.assertEqual(
                    self._visible(self.user_cs_all, model),
                    self._expected(model, self.mine, self.foreign),
                )

    def test_portal_user_has_no_access(self):
        for model in TRACKING_MODELS:
            with self.subTest(model=model):
                with self.assertRaises(AccessError):
                    self.env[model].with_user(self.user_portal).search([])
                with self.assertRaises(AccessError):
                    self.records[self.mine][model].with_user(self.user_portal).read(
                        ["picking_id"]
                    )


@tagged("post_install", "-at_install")
class TestSystemFields(AccessFixtures, ShipmentTrackingCase):
    """Fields the system maintains refuse every hand, and the system's own
    flows still write them."""

    def test_system_fields_refused_for_every_role(self):
        self.mine.sudo().shipment_pickup_location = "Locker 1"  # sudo: system write
        for user in (self.user_warehouse, self.user_logistics, self.user_cs):
            for fname, value in SYSTEM_FIELD_VALUES.items():
                with self.subTest(user=user.login, field=fname):
                    with self.assertRaisesRegex(
                        AccessError, "maintained by the system"
                    ):
                        self.mine.with_user(user).write({fname: value})
        self.assertEqual(self.mine.shipment_pickup_location, "Locker 1")
        self.assertFalse(self.mine.shipment_delivered_date)

    def test_system_fields_refused_at_creation(self):
        picking_type = self.warehouse.out_type_id
        for fname in ("shipment_delivered_date", "shipment_next_poll_date"):
            with self.subTest(field=fname), self.assertRaises(AccessError):
                self.env["stock.picking"].with_user(self.user_logistics).create(
                    {
                        "picking_type_id": picking_type.id,
                        "partner_id": self.customer.id,
                        fname: SYSTEM_FIELD_VALUES[fname],
                    }
                )

    def test_system_writes_them(self):
        # sudo: what the cron, the webhook and the validation flow do.
        self.mine.sudo().write(
            {fname: value for fname, value in SYSTEM_FIELD_VALUES.items()}
        )
        self.assertEqual(self.mine.shipment_pod_signed_by, "Forged")

    def test_carrier_poll_bookkeeping_refused(self):
        for vals in (
            {"shipment_poll_error": False},
            {"shipment_last_poll_date": "2099-01-01 00:00:00"},
        ):
            with self.subTest(vals=vals), self.assertRaises(AccessError):
                self.carrier.with_user(self.user_logistics).write(vals)
        self.carrier.with_user(self.user_logistics).shipment_transit_days = 5

    def test_warehouse_validation_still_dispatches(self):
        self._fill_details(self.mine)
        self._set_tracking(self.mine, ref="SYS-1")
        self._validate(self.mine, user=self.user_warehouse)
        self.assertRecordValues(
            self.mine,
            [
                {
                    "shipment_state": "dispatched",
                    "shipment_notification_state": "to_send",
                }
            ],
        )

    def test_internal_fields_hidden_from_portal(self):
        picking = self.mine.with_user(self.user_portal)
        readable = picking.read(["shipment_state", "carrier_tracking_ref"])
        self.assertEqual(readable[0]["shipment_state"], "pending")
        fields = picking.fields_get()
        for fname in INTERNAL_FIELDS:
            with self.subTest(field=fname):
                self.assertNotIn(fname, fields)
                with self.assertRaises(AccessError):
                    picking.read([fname])
                with self.assertRaises(AccessError):
                    picking.search_read([("id", "=", self.mine.id)], [fname])

    def test_picking_views_load_for_each_role(self):
        for user in (self.user_warehouse, self.user_logistics, self.user_cs):
            with self.subTest(user=user.login):
                views = (
                    self.env["stock.picking"]
                    .with_user(user)
                    .get_views(
                        [
                            (self.env.ref("stock.view_picking_form").id, "form"),
                            (
                                self.env.ref(
                                    "shipment_tracking.stock_picking_view_list_shipment"
                                ).id,
                                "list",
                            ),
                        ]
                    )
                )
                self.assertIn("shipment_poll_error", views["views"]["form"]["arch"])
                self.mine.with_user(user).web_read(
                    {name: {} for name in views["models"]["stock.picking"]["fields"]}
                )

    def test_internal_fields_readable_by_roles(self):
        for user in (self.user_warehouse, self.user_cs):
            with self.subTest(user=user.login):
                values = self.mine.with_user(user).read(list(INTERNAL_FIELDS))[0]
                self.assertEqual(
                    values["shipment_incident_ids"],
                    self.records[self.mine]["shipment.tracking.incident"].ids,
                )


@tagged("post_install", "-at_install")
class TestDispatchedRoute(ShipmentTrackingCase):
    """Once dispatched, the carrier and the delivery address are Logistics'."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other_carrier = cls.carrier.copy({"name": "Other Express"})
        cls.other_address = cls.env["res.partner"].create({"name": "Elsewhere"})

    def _dispatched(self):
        picking = self._create_delivery()
        self._fill_details(picking)
        self._set_tracking(picking, ref="ROUTE-1")
        self._validate(picking)
        self.assertEqual(picking.shipment_state, "dispatched")
        return picking

    def test_dispatched_route_refused_for_warehouse_and_cs(self):
        picking = self._dispatched()
        for user in (self.user_warehouse, self.user_cs):
            for vals in (
                {"carrier_id": self.other_carrier.id},
                {"carrier_id": False},
                {"partner_id": self.other_address.id},
            ):
                with self.subTest(user=user.login, vals=vals):
                    with self.assertRaisesRegex(
                        AccessError, "already booked or dispatched"
                    ):
                        picking.with_user(user).write(vals)
        self.assertEqual(picking.carrier_id, self.carrier)
        self.assertEqual(picking.partner_id, self.customer)

    def test_booked_route_refused_before_validation_too(self):
        """A delivery booked before it is validated has a label with its
        address: the warehouse cannot redirect it either."""
        picking = self._create_delivery()
        self._set_tracking(picking, ref="BOOKED-EARLY")
        self.assertEqual(picking.shipment_state, "pending")
        with self.assertRaises(AccessError) as error:
            picking.with_user(self.user_warehouse).write(
                {"partner_id": self.other_address.id}
            )
        self.assertIn("already booked or dispatched", str(error.exception))
        self.assertEqual(picking.partner_id, self.customer)

    def test_unchanged_route_is_no_change(self):
        picking = self._dispatched()
        picking.with_user(self.user_warehouse).write(
            {"carrier_id": self.carrier.id, "partner_id": self.customer.id}
        )

    def test_dispatched_route_allowed_for_logistics(self):
        picking = self._dispatched()
        picking.with_user(self.user_logistics).write(
            {"carrier_id": self.other_carrier.id, "partner_id": self.other_address.id}
        )
        self.assertEqual(picking.carrier_id, self.other_carrier)

    def test_pending_route_open_to_warehouse(self):
        picking = self._create_delivery()
        picking.with_user(self.user_warehouse).write(
            {"carrier_id": self.other_carrier.id}
        )
        self.assertEqual(picking.carrier_id, self.other_carrier)


@tagged("post_install", "-at_install")
class TestCarrierCallRoles(ShipmentTrackingCase):
    """Carrier calls check the role before the connector runs."""

    def test_booking_needs_warehouse_staff(self):
        """Validation books in sudo for Warehouse staff; a booking by hand
        (no sudo) is Logistics'."""
        picking = self._create_delivery()
        self._fill_details(picking)
        self._validate(picking)
        for user in (self.user_cs, self.user_warehouse):
            with (
                self.subTest(user=user.login),
                self.assertRaisesRegex(AccessError, "Only the Logistics team"),
            ):
                self.carrier.with_user(user).send_shipping(picking)
        with self.assertRaisesRegex(AccessError, "Only warehouse staff may book"):
            self.carrier.with_user(self.user_cs).sudo().send_shipping(picking)
        # sudo: core's validation path (stock_delivery _send_confirmation_email).
        result = (
            self.carrier.with_user(self.user_warehouse).sudo().send_shipping(picking)
        )
        self.assertEqual(result[0]["exact_price"], 5.0)
        result = self.carrier.with_user(self.user_logistics).send_shipping(picking)
        self.assertEqual(result[0]["exact_price"], 5.0)

    def test_booking_refused_when_cancelled_or_booked(self):
        Carrier = self.carrier.with_user(self.user_logistics)
        cancelled = self._create_delivery()
        cancelled.action_cancel()
        with self.assertRaises(UserError) as error:
            Carrier.send_shipping(cancelled)
        self.assertIn("is cancelled", str(error.exception))
        picking = self._create_delivery()
        self._fill_details(picking)
        self._set_tracking(picking, ref="BOOKED-1")
        self._validate(picking)
        with self.assertRaisesRegex(UserError, "already booked"):
            Carrier.send_shipping(picking)
        with self.assertRaisesRegex(UserError, "already booked"):
            picking.with_user(self.user_logistics).send_to_shipper()
        with self.assertRaisesRegex(UserError, "needs records"):
            Carrier.send_shipping([picking.id])

    def test_cancel_needs_logistics(self):
        picking = self._create_delivery()
        for user in (self.user_warehouse, self.user_cs):
            with (
                self.subTest(user=user.login),
                self.assertRaisesRegex(AccessError, "Only the Logistics team"),
            ):
                self.carrier.with_user(user).cancel_shipment(picking)


# Values a caller could slip in through default_* context keys or ir.default,
# each different from the field's own default.
FORGED_DEFAULTS = {
    "shipment_delivered_date": "2026-11-20 10:00:00",
    "shipment_last_event_date": "2026-11-20 10:00:00",
    "shipment_pod_signed_by": "Forged",
    "shipment_next_poll_date": "2099-01-01 00:00:00",
    "shipment_poll_error": "silenced",
    "shipment_inquiry_date": "2026-11-20 10:00:00",
    "shipment_on_time": True,
    "shipment_notification_state": "to_send",
    "shipment_notification_attempts": 3,
    "shipment_notification_error": "forged",
}
FORGED_LOGISTICS_DEFAULTS = {
    "shipment_state": "delivered",
    "carrier_tracking_ref": "FORGED-1",
    "shipment_ref": "SHP-FORGED",
    "expected_delivery_date": "2026-11-27",
    "shipment_date": "2026-11-20 10:00:00",
}


@tagged("post_install", "-at_install")
class TestCreateDefaults(ShipmentTrackingCase):
    """create() and copy() take values from ``default_*`` context keys and
    ``ir.default`` after the explicit values were checked: the field guards
    hold for those too."""

    def _create(self, user, **context):
        return (
            self.env["stock.picking"]
            .with_user(user)
            .with_context(**context)
            .create(
                {
                    "picking_type_id": self.warehouse.out_type_id.id,
                    "partner_id": self.customer.id,
                }
            )
        )

    def test_context_defaults_of_system_fields_refused(self):
        for user in (self.user_warehouse, self.user_logistics):
            for fname, value in FORGED_DEFAULTS.items():
                with (
                    self.subTest(user=user.login, field=fname),
                    self.assertRaisesRegex(AccessError, "maintained by the system"),
                ):
                    self._create(user, **{f"default_{fname}": value})

    def test_context_defaults_of_logistics_fields_refused_for_warehouse(self):
        for fname, value in FORGED_LOGISTICS_DEFAULTS.items():
            with (
                self.subTest(field=fname),
                self.assertRaisesRegex(AccessError, "Only the Logistics team"),
            ):
                self._create(self.user_warehouse, **{f"default_{fname}": value})

    def test_copy_with_context_defaults_refused(self):
        picking = self._create_delivery()
        for context in (
            {"default_shipment_state": "delivered"},
            {"default_shipment_delivered_date": "2026-11-20 10:00:00"},
            {"default_shipment_notification_state": "to_send"},
        ):
            with self.subTest(context=context), self.assertRaises(AccessError):
                picking.with_user(self.user_warehouse).with_context(**context).copy()
        copy = picking.with_user(self.user_warehouse).copy()
        self.assertRecordValues(
            copy,
            [{"shipment_state": "pending", "shipment_notification_state": "none"}],
        )

    def test_user_defaults_of_guarded_fields_refused(self):
        """What "Set Default" (debug mode) stores for the user."""
        Default = self.env["ir.default"]
        for fname, value, message in (
            ("shipment_notification_state", "to_send", "maintained by the system"),
            ("shipment_state", "delivered", "Only the Logistics team"),
        ):
            with self.subTest(field=fname):
                Default.set(
                    "stock.picking", fname, value, user_id=self.user_warehouse.id
                )
                with self.assertRaisesRegex(AccessError, message):
                    self._create(self.user_warehouse)
                Default.search([("user_id", "=", self.user_warehouse.id)]).unlink()
        picking = self._create(self.user_warehouse)
        self.assertEqual(picking.shipment_notification_state, "none")

    def test_legitimate_defaults_still_work(self):
        """The fields' own defaults, and other fields' context defaults as
        core's flows pass them."""
        picking = self._create(
            self.user_warehouse,
            default_picking_type_id=self.warehouse.out_type_id.id,
            default_shipment_state="pending",
            default_shipment_notification_state="none",
            default_origin="From context",
        )
        self.assertRecordValues(
            picking,
            [
                {
                    "origin": "From context",
                    "shipment_state": "pending",
                    "shipment_notification_state": "none",
                    "shipment_delivered_date": False,
                }
            ],
        )
        # Logistics may set its own fields, through a default too (e.g. a
        # list grouped by status).
        picking = self._create(self.user_logistics, default_shipment_state="dispatched")
        self.assertEqual(picking.shipment_state, "dispatched")

    def test_sudo_flows_drop_a_callers_defaults(self):
        """A salesperson's sale confirmation creates the delivery as
        superuser, with the salesperson's context: guarded defaults are
        dropped there, the other defaults kept."""
        order = (
            self.env["sale.order"]
            .with_user(self.user_cs)
            .create(
                {
                    "partner_id": self.customer.id,
                    "carrier_id": self.carrier.id,
                    "order_line": [(0, 0, {"product_id": self.products[0].id})],
                }
            )
        )
        order.with_context(
            default_shipment_state="delivered",
            default_shipment_delivered_date="2026-11-20 10:00:00",
            default_shipment_notification_state="to_send",
            default_carrier_tracking_ref="FORGED-1",
        ).action_confirm()
        self.assertRecordValues(
            order.picking_ids,
            [
                {
                    "shipment_state": "pending",
                    "shipment_delivered_date": False,
                    "shipment_notification_state": "none",
                    "carrier_tracking_ref": False,
                }
            ],
        )
        # A sudo'ed create with a caller's context drops the guarded defaults.
        # sudo: what a sudo'ed flow does with the caller's context.
        picking = (
            self.env["stock.picking"]
            .with_user(self.user_cs)
            .sudo()
            .with_context(
                default_shipment_notification_state="to_send",
                default_shipment_delivered_date="2026-11-20 10:00:00",
                default_shipment_state="delivered",
                default_origin="kept",
            )
            .create(
                {
                    "picking_type_id": self.warehouse.out_type_id.id,
                    "partner_id": self.customer.id,
                }
            )
        )
        self.assertRecordValues(
            picking,
            [
                {
                    "origin": "kept",
                    "shipment_state": "pending",
                    "shipment_delivered_date": False,
                    "shipment_notification_state": "none",
                }
            ],
        )
        # sudo: the system still sets them when it passes them explicitly.
        picking = (
            self.env["stock.picking"]
            .sudo()
            .create(
                {
                    "picking_type_id": self.warehouse.out_type_id.id,
                    "partner_id": self.customer.id,
                    "shipment_delivered_date": "2026-11-20 10:00:00",
                }
            )
        )
        self.assertEqual(str(picking.shipment_delivered_date), "2026-11-20 10:00:00")

    def test_carrier_system_fields_from_context_defaults_refused(self):
        Carrier = self.env["delivery.carrier"].with_user(self.user_logistics)
        vals = {"name": "Forged", "product_id": self.carrier.product_id.id}
        for context in (
            {"default_shipment_poll_error": "silenced"},
            {"default_shipment_last_poll_date": "2099-01-01 00:00:00"},
        ):
            with (
                self.subTest(context=context),
                self.assertRaisesRegex(AccessError, "maintained by the system"),
            ):
                Carrier.with_context(**context).create(vals)
        carrier = Carrier.create(vals)
        self.assertFalse(carrier.shipment_poll_error)


@tagged("post_install", "-at_install")
class TestActivityNotes(ShipmentTrackingCase):
    """To-do notes quote carrier and customer text; none of it becomes live
    markup."""

    HOSTILE = (
        '<a href="https://evil.example/phish">Click to reschedule</a>'
        '<img src="https://evil.example/track.gif">'
    )

    def _assert_inert(self, note):
        self.assertNotIn("<a", note)
        self.assertNotIn("<img", note)
        self.assertIn("&lt;a href=", note)
        self.assertIn("Click to reschedule", note)

    def test_incident_note_escapes_carrier_text(self):
        picking = self._create_delivery()
        self._fill_details(picking)
        self._set_tracking(picking, ref="ESC-1")
        with freeze_time("2026-11-27 10:00:00"):
            self._validate(picking)
            self.env["stock.picking"]._shipment_apply_carrier_events(
                [
                    {
                        "tracking_ref": "ESC-1",
                        "state": "exception",
                        "event_time": datetime(2026, 11, 27, 9, 30),
                        "carrier_status_text": self.HOSTILE,
                    }
                ],
                "webhook",
            )
        activity = picking.activity_ids.filtered(
            lambda a: "exception" in (a.summary or "").lower()
        )
        self.assertEqual(len(activity), 1)
        self._assert_inert(str(activity.note))

    def test_plain_note_escapes(self):
        note = self.env["stock.picking"]._shipment_plain_note(self.HOSTILE)
        self._assert_inert(str(note))
        self.assertEqual(
            str(self.env["stock.picking"]._shipment_plain_note("a & b")),
            "<p>a &amp; b</p>",
        )

    def test_pending_tracking_number_correction(self):
        picking = self._create_delivery()
        self._set_tracking(picking, ref="FIRST-1")
        self._set_tracking(picking, ref="SECOND-2")
        self.assertEqual(picking.tracking_number_ids.mapped("name"), ["SECOND-2"])
