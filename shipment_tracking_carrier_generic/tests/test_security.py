# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from xmlrpc.client import Fault

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import HttpCase, TransactionCase, new_test_user, tagged

from ..sandbox.testing import RecordingServer, SandboxRequests, cancelled_at_carrier
from .common import API_KEY, SandboxCarrierMixin


@tagged("post_install", "-at_install")
class TestCarrierCallRoles(SandboxCarrierMixin, TransactionCase):
    """Carrier calls check the role before any request leaves Odoo."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user_sales_manager = new_test_user(
            cls.env, "st_sales_manager", groups="sales_team.group_sale_manager"
        )

    def test_cancel_by_warehouse_refused_before_any_request(self):
        picking = self._booked()
        shipment_id = picking.generic_shipment_id
        for user in (self.user_warehouse, self.user_cs):
            with self.subTest(user=user.login), SandboxRequests(self.sandbox) as seen:
                with self.assertRaisesRegex(AccessError, "Only the Logistics team"):
                    picking.with_user(user).cancel_shipment()
                with self.assertRaisesRegex(AccessError, "Only the Logistics team"):
                    self.generic.with_user(user).generic_cancel_shipment(picking)
                self.assertEqual(seen.calls, [])
        self.assertFalse(cancelled_at_carrier(self.sandbox, shipment_id))
        self.assertEqual(picking.generic_shipment_id, shipment_id)

    def test_cancel_by_logistics_reaches_carrier_once(self):
        picking = self._booked()
        shipment_id = picking.generic_shipment_id
        with SandboxRequests(self.sandbox) as seen:
            picking.with_user(self.user_logistics).cancel_shipment()
        self.assertEqual(seen.paths("/cancel"), [f"/v1/shipments/{shipment_id}/cancel"])
        self.assertTrue(cancelled_at_carrier(self.sandbox, shipment_id))
        self.assertFalse(picking.generic_shipment_id)
        self.assertFalse(picking.tracking_number_ids)

    def test_cancel_quotes_the_shipment_id(self):
        picking = self._booked()
        # sudo: a carrier answer (or a forged row) with a path in the id.
        picking.sudo().generic_shipment_id = "../../v1/ping?x=1#"
        with SandboxRequests(self.sandbox) as seen:
            with self.assertRaisesRegex(UserError, "unknown shipment"):
                picking.with_user(self.user_logistics).cancel_shipment()
        self.assertEqual(
            seen.paths(),
            ["/v1/shipments/..%2F..%2Fv1%2Fping%3Fx%3D1%23/cancel"],
        )

    def test_booking_needs_warehouse_staff(self):
        picking = self._create_delivery(carrier=self.generic)
        self._fill_details(picking)
        with SandboxRequests(self.sandbox) as seen:
            with self.assertRaisesRegex(AccessError, "Only the Logistics team"):
                picking.with_user(self.user_cs).send_to_shipper()
            with self.assertRaisesRegex(AccessError, "Only the Logistics team"):
                self.generic.with_user(self.user_cs).generic_send_shipping(picking)
        self.assertEqual(seen.calls, [])
        self.assertFalse(picking.carrier_tracking_ref)
        # Warehouse staff book when they validate (core books in sudo).
        with SandboxRequests(self.sandbox) as seen:
            picking.with_user(self.user_warehouse).button_validate()
        self.assertEqual(seen.paths("/v1/shipments"), ["/v1/shipments"])
        self.assertEqual(picking.shipment_state, "dispatched")

    def _done_unbooked(self):
        """A validated delivery the carrier did not book (no label printing
        on the operation type, so core does not send it on validation)."""
        self.warehouse.out_type_id.print_label = False
        picking = self._create_delivery(carrier=self.generic)
        self._fill_details(picking)
        with SandboxRequests(self.sandbox) as seen:
            picking.with_user(self.user_warehouse).button_validate()
        self.assertEqual(seen.calls, [])
        self.assertEqual(picking.state, "done")
        self.assertFalse(picking.generic_shipment_id)
        return picking

    def test_send_to_shipper_by_warehouse_refused_before_any_request(self):
        """A manual booking is Logistics': the Warehouse user's Send to Shipper
        would book (and pay) at the carrier, then fail to record it."""
        picking = self._done_unbooked()
        with SandboxRequests(self.sandbox) as seen:
            with self.assertRaisesRegex(AccessError, "Only the Logistics team"):
                picking.with_user(self.user_warehouse).send_to_shipper()
            with self.assertRaisesRegex(AccessError, "Only the Logistics team"):
                self.generic.with_user(self.user_warehouse).send_shipping(picking)
        self.assertEqual(seen.paths("/v1/shipments"), [])
        self.assertFalse(picking.carrier_tracking_ref)
        self.assertFalse(picking.generic_shipment_id)

    def test_send_to_shipper_by_logistics_books_once(self):
        picking = self._done_unbooked()
        with SandboxRequests(self.sandbox) as seen:
            picking.with_user(self.user_logistics).send_to_shipper()
        self.assertEqual(seen.paths("/v1/shipments"), ["/v1/shipments"])
        self.assertTrue(picking.carrier_tracking_ref)
        self.assertTrue(picking.generic_shipment_id)
        self.assertEqual(picking.shipment_state, "dispatched")

    def test_validation_by_warehouse_books_exactly_once(self):
        picking = self._create_delivery(carrier=self.generic)
        self._fill_details(picking)
        with SandboxRequests(self.sandbox) as seen:
            picking.with_user(self.user_warehouse).button_validate()
        self.assertEqual(seen.paths("/v1/shipments"), ["/v1/shipments"])
        self.assertTrue(picking.generic_shipment_id)

    def test_resend_of_a_booked_delivery_refused_before_any_request(self):
        picking = self._booked()
        shipment_id = picking.generic_shipment_id
        ref = picking.carrier_tracking_ref
        with SandboxRequests(self.sandbox) as seen:
            with self.assertRaisesRegex(UserError, "already booked"):
                picking.with_user(self.user_logistics).send_to_shipper()
            # The carrier's id alone is a booking too (an answer without
            # tracking numbers).
            # sudo: system bookkeeping, as a carrier answer would leave it.
            picking.sudo().carrier_tracking_ref = False
            with self.assertRaisesRegex(UserError, "already booked"):
                picking.with_user(self.user_logistics).send_to_shipper()
            with self.assertRaisesRegex(UserError, "already booked"):
                self.generic.with_user(self.user_logistics).generic_send_shipping(
                    picking
                )
        self.assertEqual(seen.calls, [])
        self.assertEqual(picking.generic_shipment_id, shipment_id)
        self.assertTrue(ref)

    def test_booking_before_validation_is_booked_once(self):
        """Odoo lets a delivery be booked before it is validated (labels
        printed ahead, other modules' flows); validating it then neither books
        it again nor skips the dispatch."""
        picking = self._create_delivery(carrier=self.generic)
        self._fill_details(picking)
        with SandboxRequests(self.sandbox) as seen:
            picking.with_user(self.user_logistics).send_to_shipper()
            self.assertTrue(picking.generic_shipment_id)
            self.assertEqual(picking.shipment_state, "pending")
            picking.with_user(self.user_warehouse).with_context(
                shipment_check_details=True
            ).button_validate()
        self.assertEqual(len(seen.paths("/v1/shipments")), 1, seen.calls)
        self.assertEqual(picking.state, "done")
        self.assertEqual(picking.shipment_state, "dispatched")

    def test_booking_of_a_cancelled_delivery_refused_before_any_request(self):
        picking = self._create_delivery(carrier=self.generic)
        picking.action_cancel()
        with SandboxRequests(self.sandbox) as seen:
            with self.assertRaises(UserError) as error:
                picking.with_user(self.user_logistics).send_to_shipper()
        self.assertIn("is cancelled", str(error.exception))
        self.assertEqual(seen.calls, [])
        self.assertFalse(picking.generic_shipment_id)

    def test_tracking_batch_is_private(self):
        """Asking the carrier about arbitrary numbers with the API key is the
        poller's, not an RPC method."""
        carrier = self.generic.with_user(self.user_warehouse)
        self.assertFalse(hasattr(carrier, "generic_get_tracking_batch"))
        self.assertTrue(self.generic._shipment_can_poll())
        picking = self._booked()
        number = picking.tracking_number_ids[:1].name
        with SandboxRequests(self.sandbox) as seen:
            answer = self.generic._shipment_fetch_tracking([number])
        self.assertEqual(len(seen.paths("/v1/tracking")), 1, seen.calls)
        self.assertIn("events", answer)

    def test_test_connection_roles(self):
        for user in (self.user_warehouse, self.user_cs, self.user_sales_manager):
            with self.subTest(user=user.login), SandboxRequests(self.sandbox) as seen:
                with self.assertRaisesRegex(AccessError, "test the carrier connection"):
                    self.generic.with_user(user).action_generic_test_connection()
                self.assertEqual(seen.calls, [])
        with SandboxRequests(self.sandbox) as seen:
            action = self.generic.with_user(
                self.user_logistics
            ).action_generic_test_connection()
        self.assertEqual(action["params"]["type"], "success")
        self.assertEqual(seen.calls, [("GET", "/v1/ping", f"Bearer {API_KEY}")])

    def test_carrier_shipment_id_is_system_only(self):
        picking = self._booked()
        for user in (self.user_warehouse, self.user_logistics):
            with self.subTest(user=user.login):
                with self.assertRaisesRegex(AccessError, "maintained by the system"):
                    picking.with_user(user).write({"generic_shipment_id": "shp_other"})

    def test_carrier_shipment_id_not_from_context_defaults(self):
        picking = self._booked()
        for user in (self.user_warehouse, self.user_logistics):
            context = {"default_generic_shipment_id": "shp_forged"}
            with self.subTest(user=user.login):
                with self.assertRaisesRegex(AccessError, "maintained by the system"):
                    self.env["stock.picking"].with_user(user).with_context(
                        **context
                    ).create(
                        {
                            "picking_type_id": self.warehouse.out_type_id.id,
                            "partner_id": self.customer.id,
                        }
                    )
                with self.assertRaisesRegex(AccessError, "maintained by the system"):
                    picking.with_user(user).with_context(**context).copy()

    def test_carrier_methods_refuse_ids_before_any_request(self):
        """Over RPC the carrier methods get ids, not records: a clean
        UserError and nothing sent."""
        picking = self._booked()
        order = picking.sale_id
        carrier = self.generic.with_user(self.user_logistics)
        with SandboxRequests(self.sandbox) as seen:
            for method, arg in (
                ("generic_rate_shipment", order.id),
                ("rate_shipment", order.id),
                ("generic_send_shipping", [picking.id]),
                ("send_shipping", [picking.id]),
                ("generic_cancel_shipment", [picking.id]),
                ("cancel_shipment", [picking.id]),
            ):
                with (
                    self.subTest(method=method),
                    self.assertRaisesRegex(UserError, "needs records"),
                ):
                    getattr(carrier, method)(arg)
        self.assertEqual(seen.calls, [])
        # The real records still rate.
        with SandboxRequests(self.sandbox) as seen:
            self.assertTrue(carrier.rate_shipment(order)["success"])
        self.assertEqual(len(seen.paths("/v1/rates")), 1, seen.calls)


@tagged("post_install", "-at_install")
class TestApiKeyEndpoint(SandboxCarrierMixin, TransactionCase):
    """The API key only goes to a base URL an administrator chose."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user_sales_manager = new_test_user(
            cls.env, "st_sales_manager", groups="sales_team.group_sale_manager"
        )
        cls.user_admin = new_test_user(
            cls.env, "st_admin", groups="base.group_system,stock.group_stock_manager"
        )

    def test_non_admins_cannot_move_the_endpoint(self):
        for user in (self.user_logistics, self.user_sales_manager):
            with self.subTest(user=user.login):
                with self.assertRaisesRegex(AccessError, "Only administrators"):
                    self.generic.with_user(user).write(
                        {"generic_base_url": "http://127.0.0.1:9"}
                    )
        self.assertEqual(self.generic.generic_base_url, self.sandbox.url)
        # Everything else of the carrier stays Logistics'.
        self.generic.with_user(self.user_logistics).generic_timeout = 3
        self.assertEqual(self.generic.generic_timeout, 3)

    def test_carriers_without_a_key_stay_logistics(self):
        """Without an API key nothing secret leaves: Logistics creates and
        duplicates carriers, endpoint included; the copy has no key."""
        Carrier = self.env["delivery.carrier"].with_user(self.user_logistics)
        mine = Carrier.create(
            {
                "name": "Mine",
                "delivery_type": "generic",
                "product_id": self.delivery_product.id,
                "generic_base_url": "http://127.0.0.1:9",
            }
        )
        mine.generic_base_url = "http://127.0.0.1:10"
        copy = self.generic.with_user(self.user_logistics).copy({"name": "Copy"})
        self.assertRecordValues(
            (mine | copy).sudo(),
            [
                {"generic_base_url": "http://127.0.0.1:10", "generic_api_key": False},
                {"generic_base_url": self.sandbox.url, "generic_api_key": False},
            ],
        )
        # Writing the same endpoint again is no move.
        self.generic.with_user(self.user_logistics).write(
            {"generic_base_url": self.sandbox.url}
        )

    def test_admin_moves_the_endpoint(self):
        self.generic.with_user(self.user_admin).generic_base_url = "http://127.0.0.1:9"
        self.assertEqual(self.generic.generic_base_url, "http://127.0.0.1:9")

    def test_api_key_never_sent_to_a_logistics_chosen_host(self):
        """The refused move changes nothing: a Test Connection right after
        goes to the sandbox (which sees the key) and never to the attacker's
        host, which does record requests (see the admin control below)."""
        with RecordingServer() as attacker, SandboxRequests(self.sandbox) as seen:
            carrier = self.generic.with_user(self.user_logistics)
            with self.assertRaises(AccessError):
                carrier.write({"generic_base_url": attacker.url})
            carrier.action_generic_test_connection()
        self.assertEqual(attacker.seen, [])
        self.assertEqual(seen.calls, [("GET", "/v1/ping", f"Bearer {API_KEY}")])
        self.assertEqual(self.generic.generic_base_url, self.sandbox.url)

    def test_recording_host_sees_an_admin_chosen_endpoint(self):
        """Control of the test above: the recording host does receive the key
        when an administrator points the carrier at it."""
        with RecordingServer() as host, SandboxRequests(self.sandbox) as seen:
            self.generic.with_user(self.user_admin).generic_base_url = host.url
            self.generic.with_user(self.user_admin).action_generic_test_connection()
        self.assertEqual(
            [headers.get("Authorization") for _m, _p, headers in host.seen],
            [f"Bearer {API_KEY}"],
        )
        self.assertEqual(seen.calls, [])

    def test_context_defaults_give_no_key_and_move_no_keyed_endpoint(self):
        """create/copy take ``default_*`` context keys: they neither put a
        key on a carrier nor move the endpoint of a keyed one for a
        non-admin."""
        Carrier = self.env["delivery.carrier"].with_user(self.user_logistics)
        vals = {
            "name": "Forged",
            "delivery_type": "generic",
            "product_id": self.delivery_product.id,
        }
        for context in (
            {"default_generic_api_key": "attacker-key"},
            {"default_generic_webhook_secret": "attacker-secret"},
            {
                "default_generic_api_key": "attacker-key",
                "default_generic_base_url": "http://127.0.0.1:9",
            },
        ):
            with self.subTest(context=context):
                with self.assertRaisesRegex(AccessError, "Only administrators"):
                    Carrier.with_context(**context).create(vals)
                with self.assertRaisesRegex(AccessError, "Only administrators"):
                    self.generic.with_user(self.user_logistics).with_context(
                        **context
                    ).copy({"name": "Copy"})
        # A keyless carrier's URL stays Logistics' (nothing secret is sent).
        keyless = Carrier.with_context(
            default_generic_base_url="http://127.0.0.1:9"
        ).create(vals)
        self.assertRecordValues(
            keyless.sudo(),
            [{"generic_base_url": "http://127.0.0.1:9", "generic_api_key": False}],
        )
        # An administrator may.
        admin_made = (
            self.env["delivery.carrier"]
            .with_user(self.user_admin)
            .with_context(default_generic_api_key="admin-key")
            .create(vals)
        )
        self.assertEqual(admin_made.sudo().generic_api_key, "admin-key")


@tagged("post_install", "-at_install")
class TestConnectionSettingBounds(SandboxCarrierMixin, TransactionCase):
    """Retries, waits and timeouts are bounded: a carrier's settings cannot
    hang the poll cron or a validating worker."""

    def test_bounds_refused(self):
        for vals in (
            {"generic_max_retries": 11},
            {"generic_max_retries": -1},
            {"generic_retry_backoff": 61},
            {"generic_retry_backoff": -0.5},
            {"generic_timeout": 121},
            {"generic_timeout": 0},
            {"generic_timeout": 0.5},
            {"generic_rate_limit": -1},
        ):
            with self.subTest(vals=vals), self.assertRaises(ValidationError):
                self.generic.with_user(self.user_logistics).write(vals)
        self.assertRecordValues(
            self.generic,
            [
                {
                    "generic_max_retries": 2,
                    "generic_retry_backoff": 0.05,
                    "generic_timeout": 2.0,
                    "generic_rate_limit": 0,
                }
            ],
        )

    def test_bounds_allowed(self):
        self.generic.with_user(self.user_logistics).write(
            {
                "generic_max_retries": 10,
                "generic_retry_backoff": 60,
                "generic_timeout": 120,
                "generic_rate_limit": 0,
            }
        )
        self.generic.with_user(self.user_logistics).write(
            {"generic_max_retries": 0, "generic_retry_backoff": 0, "generic_timeout": 1}
        )

    def test_bounds_at_creation(self):
        with self.assertRaisesRegex(ValidationError, "retries"):
            self.env["delivery.carrier"].create(
                {
                    "name": "Hang",
                    "delivery_type": "generic",
                    "product_id": self.delivery_product.id,
                    "generic_max_retries": 1000,
                }
            )


@tagged("post_install", "-at_install")
class TestSecrets(SandboxCarrierMixin, HttpCase):
    def test_only_admins_read_and_write_secrets(self):
        for user in (self.user_warehouse, self.user_logistics, self.user_cs):
            carrier = self.generic.with_user(user)
            for field in ("generic_api_key", "generic_webhook_secret"):
                with self.subTest(user=user.login, field=field):
                    with self.assertRaises(AccessError):
                        carrier.read([field])
                    with self.assertRaises(AccessError):
                        carrier.write({field: "stolen"})
        admin = self.env.ref("base.user_admin")
        self.assertEqual(
            self.generic.with_user(admin).read(["generic_api_key"])[0][
                "generic_api_key"
            ],
            "test-key",
        )

    def test_secrets_hidden_over_rpc(self):
        self.user_logistics.password = "logistics-Pw-2026"
        db = self.env.cr.dbname
        uid = self.xmlrpc_common.authenticate(
            db, "st_logistics", "logistics-Pw-2026", {}
        )
        self.assertEqual(uid, self.user_logistics.id)
        fields = self.xmlrpc_object.execute_kw(
            db, uid, "logistics-Pw-2026", "delivery.carrier", "fields_get", [], {}
        )
        self.assertNotIn("generic_webhook_secret", fields)
        with self.assertRaisesRegex(Fault, "AccessError|not allowed|access"):
            self.xmlrpc_object.execute_kw(
                db,
                uid,
                "logistics-Pw-2026",
                "delivery.carrier",
                "read",
                [[self.generic.id], ["generic_webhook_secret"]],
            )

    def test_carrier_form_loads_for_each_role(self):
        for user in (self.user_warehouse, self.user_logistics, self.user_cs):
            with self.subTest(user=user.login):
                view = (
                    self.env["delivery.carrier"]
                    .with_user(user)
                    .get_views([(False, "form")])
                )
                arch = view["views"]["form"]["arch"]
                self.assertIn("generic_base_url", arch)
                self.assertNotIn("generic_api_key", arch)
