# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What the carrier answers is not trusted: size, time, Retry-After, shape.

A tiny stdlib HTTP server on loopback plays the hostile carrier: each test
queues the answers it gives, request by request."""

import contextlib
import json
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger

from odoo.addons.shipment_tracking.tests.common import ShipmentFixtures

from ..models.generic_request import (
    DEADLINE_FACTOR,
    MAX_RESPONSE_BYTES,
    MAX_RETRY_AFTER,
    GenericCarrierClient,
    GenericCarrierError,
    parse_retry_after,
)

CHUNK = b" " * (64 * 1024)
# Error answers of shapes other than {"error": {"code", "message"}}.
ODD_ERROR_BODIES = [
    {"error": "refused"},
    {"error": 5},
    {"error": None},
    {"error": ["a", "b"]},
    {"error": {"code": 1, "message": 7}},
    {"error": {"message": {"nested": True}}},
    [1, 2, 3],
    "just a string",
    5,
    None,
    [],
]


def _json(status, body, headers=None):
    def answer(handler):
        data = json.dumps(body).encode()
        handler.send_response(status)
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    return answer


def _huge(handler):
    # No Content-Length: the body ends when the connection closes.
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Connection", "close")
    handler.end_headers()
    for _i in range(MAX_RESPONSE_BYTES // len(CHUNK) + 2):
        handler.wfile.write(CHUNK)
    handler.wfile.write(b"{}")


def _declared_huge(handler):
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(1024**3))
    handler.end_headers()
    handler.wfile.write(b"{")
    handler.wfile.flush()
    time.sleep(3)


def _trickle(seconds):
    def answer(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Connection", "close")
        handler.end_headers()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(0.05)
        handler.wfile.write(b"{}")

    return answer


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.0: each answer says its connection ends, so a pooled client
    # never races the close by sending its next request on it.
    protocol_version = "HTTP/1.0"

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        server = self.server
        with server.lock:
            server.paths.append(self.path)
            answer = server.answers.pop(0) if server.answers else _json(200, {})
        with contextlib.suppress(OSError):  # the client gave up, as tested
            answer(self)
        self.close_connection = True

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


class HostileCarrier:
    def __init__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.lock = threading.Lock()
        self.server.answers = []
        self.server.paths = []
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def queue(self, *answers):
        with self.server.lock:
            self.server.answers[:] = list(answers)
            self.server.paths[:] = []

    @property
    def paths(self):
        return list(self.server.paths)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@tagged("post_install", "-at_install", "shipment_clock")
class TestCarrierAnswers(ShipmentFixtures, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.hostile = HostileCarrier()
        cls.addClassCleanup(cls.hostile.stop)
        cls.carrier = cls.env["delivery.carrier"].create(
            {
                "name": "Hostile",
                "delivery_type": "generic",
                "product_id": cls.delivery_product.id,
                "generic_base_url": cls.hostile.url,
                "generic_api_key": "key",
                "generic_timeout": 1,
                "generic_max_retries": 0,
                "generic_retry_backoff": 0.01,
                "generic_rate_limit": 0,
            }
        )
        cls.warehouse.out_type_id.print_label = True

    def _validate_refused(self, pattern=""):
        """Validate a new delivery; the booking must fail with a UserError
        (rolled back, as the request would be) and validate nothing."""
        picking = self._create_delivery(carrier=self.carrier, qty=1)
        self._fill_details(picking)
        with self.assertRaisesRegex(UserError, pattern), self.env.cr.savepoint():
            picking.with_user(self.user_warehouse).button_validate()
        self.env.invalidate_all()
        self.assertNotEqual(picking.state, "done")

    def _client(self, **kwargs):
        options = {"timeout": 0.5, "max_retries": 0, "backoff": 0.01, **kwargs}
        return GenericCarrierClient(self.hostile.url, "key", **options)

    # -- 1. size and total time --------------------------------------------------
    def test_body_larger_than_the_cap_is_refused(self):
        self.hostile.queue(_huge)
        with self.assertRaisesRegex(GenericCarrierError, "too large"):
            self._client(timeout=5).ping()

    def test_declared_length_over_the_cap_refused_before_reading(self):
        self.hostile.queue(_declared_huge)
        with self.assertRaisesRegex(GenericCarrierError, "too large"):
            self._client(timeout=5).ping()

    def test_trickling_body_stops_at_the_deadline(self):
        # Each byte comes well within the read timeout (0.5s), the whole
        # answer not within the deadline (0.5s x DEADLINE_FACTOR).
        self.hostile.queue(_trickle(0.5 * DEADLINE_FACTOR + 6))
        with self.assertRaisesRegex(GenericCarrierError, "did not arrive in time"):
            self._client().tracking_batch(["SBX1"])

    def test_trickling_booking_is_a_clear_error_and_validates_nothing(self):
        self.hostile.queue(_trickle(1 * DEADLINE_FACTOR + 6))
        self._validate_refused("did not arrive in time")

    def test_redirect_is_not_followed(self):
        # requests would read a redirect's body whole, and carry the request
        # (and on the same host the API key) wherever the carrier points.
        self.hostile.queue(
            _json(302, {}, {"Location": f"{self.hostile.url}/elsewhere"}),
            _json(200, {"carrier": "elsewhere"}),
        )
        with self.assertRaisesRegex(GenericCarrierError, "redirected"):
            self._client().ping()
        self.assertEqual(self.hostile.paths, ["/v1/ping"])

    def test_answer_within_the_cap_is_read(self):
        label = "A" * (2 * 1024 * 1024)  # a 1.5 MiB label PDF in base64
        self.hostile.queue(
            _json(200, {"shipment_id": "shp_1", "label": {"content_base64": label}})
        )
        answer = self._client(timeout=5).create_shipment({"reference": "WH/OUT/1"})
        self.assertEqual(answer["label"]["content_base64"], label)

    # -- 2. Retry-After ----------------------------------------------------------
    def test_odd_retry_after_values_are_retried_not_crashing(self):
        past = formatdate(time.time() - 3600, usegmt=True)
        odd = ["nan", "-1", "soon", past, "NaN", "1e-400", "Thu, 99 Foo 0000"]
        self.hostile.queue(
            *[_json(429, {}, {"Retry-After": value}) for value in odd],
            _json(200, {"carrier": "Hostile"}),
        )
        answer = self._client(max_retries=len(odd)).ping()
        self.assertEqual(answer, {"carrier": "Hostile"})
        self.assertEqual(len(self.hostile.paths), len(odd) + 1)

    def test_retry_after_is_finite_and_clamped(self):
        now = float(int(time.time()))  # HTTP dates count whole seconds
        cases = {
            None: None,
            "": None,
            "nan": None,
            "-nan": None,
            "soon": None,
            "Thu, 99 Foo 0000": None,
            "inf": MAX_RETRY_AFTER,
            "1e400": MAX_RETRY_AFTER,
            "86400": MAX_RETRY_AFTER,
            "-inf": 0.0,
            "-5": 0.0,
            "2.5": 2.5,
            formatdate(now - 3600, usegmt=True): 0.0,
            formatdate(now + 10, usegmt=True): 10.0,
            formatdate(now + 10**7, usegmt=True): MAX_RETRY_AFTER,
        }
        for value, expected in cases.items():
            with self.subTest(value=value):
                self.assertEqual(parse_retry_after(value, now=now), expected)

    # -- 3. any JSON shape ------------------------------------------------------
    def test_odd_error_shapes_give_the_adapter_error(self):
        calls = [
            ("ping", ()),
            ("create_shipment", ({"reference": "X"},)),
            ("cancel_shipment", ("shp_1",)),
            ("tracking_batch", (["SBX1"],)),
        ]
        for body in ODD_ERROR_BODIES:
            for name, args in calls:
                with self.subTest(body=body, call=name):
                    self.hostile.queue(_json(400, body))
                    with self.assertRaises(GenericCarrierError):
                        getattr(self._client(), name)(*args)

    def test_error_message_taken_from_a_string_error(self):
        self.hostile.queue(_json(422, {"error": "parcel too heavy"}))
        with self.assertRaisesRegex(GenericCarrierError, "parcel too heavy"):
            self._client().ping()

    def test_odd_error_shapes_through_the_models(self):
        for body in ODD_ERROR_BODIES:
            with self.subTest(body=body, call="test connection"):
                self.hostile.queue(_json(400, body))
                with self.assertRaises(UserError):
                    self.carrier.action_generic_test_connection()
            with self.subTest(body=body, call="booking"):
                self.hostile.queue(_json(400, body))
                self._validate_refused("Hostile")
            with self.subTest(body=body, call="cancel"):
                self.hostile.queue(_json(400, body))
                with self.assertRaises(UserError):
                    self.carrier._generic_call("cancel_shipment", "shp_1")
            with self.subTest(body=body, call="polling"):
                self.hostile.queue(_json(400, body))
                with self.assertRaises(UserError):
                    self.carrier._generic_get_tracking_batch(["SBX1"])

    def test_odd_success_shapes_through_the_models(self):
        for body in [[], "ok", 5, None, [{"carrier": "x"}]]:
            with self.subTest(body=body, call="test connection"):
                self.hostile.queue(_json(200, body))
                with self.assertRaises(UserError):
                    self.carrier.action_generic_test_connection()
            with self.subTest(body=body, call="polling"):
                self.hostile.queue(_json(200, body))
                with self.assertRaises(UserError):
                    self.carrier._generic_get_tracking_batch(["SBX1"])

    @mute_logger("odoo.addons.mail.models.mail_thread")
    def test_odd_booking_answers_are_refused(self):
        bodies = [
            [],
            "booked",
            {"price": "abc"},
            {"price": {"amount": 1}},
            {"shipment_id": {"id": 1}},
            {"tracking_numbers": [1, 2]},
            {"tracking_numbers": "SBX1"},
            {"parcels": "SBX1"},
            {"parcels": [1]},
            {"parcels": [{"tracking_number": 5}]},
            {"estimated_delivery_date": 20261130},
            {"estimated_delivery_date": "next week"},
            {"estimated_delivery_date": {"a": 1}},
            {"label": "pdf"},
            {"label": {"content_base64": "not base64 at all!"}},
        ]
        for body in bodies:
            with self.subTest(body=body):
                self.hostile.queue(_json(200, body))
                self._validate_refused("Hostile")
