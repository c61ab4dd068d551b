# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xmlrpc.client import Fault

from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, TransactionCase, new_test_user, tagged

from .common import API_KEY, SandboxCarrierMixin


class SandboxRequests:
    """What the sandbox receives, recorded at its dispatcher: (method, raw
    path, Authorization header) per request, whatever it answers."""

    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.calls = []

    def __enter__(self):
        original = self.sandbox.handle

        def handle(method, target, headers, body):
            self.calls.append((method, target, headers.get("Authorization")))
            return original(method, target, headers, body)

        self.sandbox.handle = handle
        return self

    def __exit__(self, *exc_info):
        del self.sandbox.handle  # back to the class's method

    def paths(self, needle=""):
        return [path for _method, path, _auth in self.calls if needle in path]


def cancelled_at_carrier(sandbox, shipment_id):
    """Whether the sandbox holds the booking as cancelled (its booking answer
    does not say)."""
    return sandbox.state._shipments[shipment_id].cancelled


class _RecordingHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.seen.append((self.command, self.path, dict(self.headers)))
        body = json.dumps({"carrier": "attacker"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args):
        """Silent."""


class RecordingServer:
    """A host an attacker controls, on loopback: records every request."""

    def __enter__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _RecordingHandler)
        self.server.seen = []
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        return self

    def __exit__(self, *exc_info):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)

    @property
    def seen(self):
        return self.server.seen


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
            with self.assertRaisesRegex(AccessError, "Only warehouse staff"):
                picking.with_user(self.user_cs).send_to_shipper()
            with self.assertRaisesRegex(AccessError, "Only warehouse staff"):
                self.generic.with_user(self.user_cs).generic_send_shipping(picking)
        self.assertEqual(seen.calls, [])
        self.assertFalse(picking.carrier_tracking_ref)
        # Warehouse staff book when they validate (core books in sudo).
        with SandboxRequests(self.sandbox) as seen:
            picking.with_user(self.user_warehouse).button_validate()
        self.assertEqual(seen.paths("/v1/shipments"), ["/v1/shipments"])
        self.assertEqual(picking.shipment_state, "dispatched")

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
        with RecordingServer() as attacker, SandboxRequests(self.sandbox) as seen:
            carrier = self.generic.with_user(self.user_logistics)
            with self.assertRaises(AccessError):
                carrier.write({"generic_base_url": attacker.url})
            carrier.action_generic_test_connection()
        self.assertEqual(attacker.seen, [])
        self.assertEqual(seen.paths(), ["/v1/ping"])


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
