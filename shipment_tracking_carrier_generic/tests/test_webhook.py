# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import base64
import hashlib
import hmac
import json
import time
from datetime import datetime, timedelta, timezone

from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from ..models.tracking_formats import REPLAY_TOLERANCE
from .common import SECRET, SandboxCarrierMixin

WEBHOOK_LOGGER = "odoo.addons.shipment_tracking_carrier_generic.controllers.webhook"


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def ago(**delta):
    """A time this long ago, ISO 8601 UTC: events stay within the bounds of
    a shipment made today, whatever the day the tests run."""
    return iso(datetime.now(timezone.utc).replace(microsecond=0) - timedelta(**delta))


def easypost_headers(body, secret=SECRET):
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-Hmac-Signature": f"hmac-sha256-hex={digest}",
    }


def aftership_headers(body, secret=SECRET):
    signature = base64.b64encode(
        hmac.new(secret.encode(), body, hashlib.sha256).digest()
    ).decode()
    return {"Content-Type": "application/json", "aftership-hmac-sha256": signature}


@tagged("post_install", "-at_install", "shipment_clock")
class TestWebhook(SandboxCarrierMixin, HttpCase):
    def setUp(self):
        super().setUp()
        self.picking = self._booked()
        self.number = self.picking.carrier_tracking_ref
        self.url = f"/shipment_tracking/webhook/{self.generic.id}"

    def _post(self, body, headers=None, url=None):
        return self.url_open(
            url or self.url,
            data=body,
            headers=self._signed_headers(body) if headers is None else headers,
        )

    def _events(self):
        return self.picking.tracking_event_ids.sorted("event_time")

    def test_signed_events_drive_the_status(self):
        last = ago(hours=25)
        body = self._body(
            self._event(self.number, "picked_up", ago(hours=50)),
            self._event(self.number, "out_for_delivery", last),
        )
        response = self._post(body)
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["accepted"], 2)
        self.assertEqual(self.picking.shipment_state, "out_for_delivery")
        self.assertEqual(self._events().mapped("source"), ["webhook", "webhook"])
        self.assertEqual(
            self.picking.shipment_last_event_date.strftime("%Y-%m-%dT%H:%M:%SZ"),
            last,
        )

    def test_duplicates_are_acknowledged_and_change_nothing(self):
        body = self._body(self._event(self.number, "picked_up", ago(hours=50)))
        self._post(body)
        response = self._post(body)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(
            response.json(), {**response.json(), "accepted": 0, "duplicates": 1}
        )
        self.assertEqual(len(self._events()), 1)

    def test_out_of_order_events_follow_event_time(self):
        self._post(
            self._body(
                self._event(
                    self.number,
                    "delivered",
                    ago(hours=2),
                    proof_of_delivery={
                        "signed_by": "J. Doe",
                        "signature_url": "http://127.0.0.1/sig.png",
                        "photo_url": "http://127.0.0.1/photo.png",
                    },
                )
            )
        )
        self.assertEqual(self.picking.shipment_state, "delivered")
        # An older scan arriving late never moves a delivered shipment back.
        self._post(self._body(self._event(self.number, "in_transit", ago(hours=22))))
        self.assertEqual(self.picking.shipment_state, "delivered")
        self.assertEqual(len(self._events()), 2)
        self.assertEqual(self.picking.shipment_pod_signed_by, "J. Doe")
        self.assertEqual(
            self.picking.shipment_pod_photo_url, "http://127.0.0.1/photo.png"
        )

    def test_newer_edd_from_the_carrier(self):
        self._post(
            self._body(
                self._event(
                    self.number,
                    "delayed",
                    ago(hours=22),
                    estimated_delivery_date=ago(days=-20)[:10],
                )
            )
        )
        self.assertEqual(str(self.picking.expected_delivery_date), ago(days=-20)[:10])
        self.assertEqual(self.picking.shipment_state, "in_transit")

    @mute_logger(WEBHOOK_LOGGER)
    def test_refused_requests_write_nothing(self):
        body = self._body(self._event(self.number, "picked_up", ago(hours=50)))
        old = int(time.time()) - REPLAY_TOLERANCE - 60
        cases = {
            "unsigned": ({"Content-Type": "application/json"}, 401),
            "bad signature": (self._signed_headers(body, secret="nope"), 401),
            "replayed": (self._signed_headers(body, timestamp=old), 401),
            "future": (
                self._signed_headers(
                    body, timestamp=int(time.time()) + REPLAY_TOLERANCE + 60
                ),
                401,
            ),
        }
        for name, (headers, status) in cases.items():
            with self.subTest(name):
                self.assertEqual(self._post(body, headers).status_code, status)
        big = b"{" + b" " * (1024 * 1024) + b"}"
        self.assertEqual(self._post(big).status_code, 413)
        self.assertEqual(self._post(b"{not json").status_code, 400)
        self.assertEqual(self._post(b'{"type": "x"}').status_code, 400)
        unknown = f"/shipment_tracking/webhook/{self.generic.id + 1000}"
        self.assertEqual(self._post(body, url=unknown).status_code, 404)
        self.assertFalse(self._events())
        self.assertEqual(self.picking.shipment_state, "dispatched")

    @mute_logger(WEBHOOK_LOGGER)
    def test_no_secret_refuses_everything(self):
        self.generic.generic_webhook_secret = False
        body = self._body(self._event(self.number, "picked_up", ago(hours=50)))
        headers = self._signed_headers(body, secret="")
        self.assertEqual(self._post(body, headers).status_code, 401)
        self.assertFalse(self._events())

    def test_bad_event_does_not_drop_the_others(self):
        body = self._body(
            self._event(self.number, "picked_up", ago(hours=50)),
            {"tracking_number": self.number, "status": "in_transit"},
            self._event("UNKNOWN123", "picked_up", ago(hours=50)),
        )
        response = self._post(body)
        self.assertEqual(response.status_code, 200)
        answer = response.json()
        self.assertEqual(answer["accepted"], 1)
        self.assertEqual(answer["unknown"], ["UNKNOWN123"])
        self.assertEqual(answer["rejected"][0]["index"], 1)
        self.assertIn("occurred_at", answer["rejected"][0]["reason"])

    def test_sandbox_pushes_signed_webhooks(self):
        """The sandbox carrier itself pushes as the clock runs (real HTTP to
        this test server)."""
        self.sandbox.configure(
            webhook_url=f"{self.base_url()}{self.url}", webhook_secret=SECRET
        )
        # The push bypasses url_open, which flushes and invalidates for us.
        self.env.flush_all()
        self.sandbox.advance_clock(13)
        self.sandbox.wait_for_webhooks()
        self.env.invalidate_all()
        self.assertEqual([push["status"] for push in self.sandbox.webhook_log()], [200])
        self.assertEqual(self.picking.shipment_state, "in_transit")
        self.assertEqual(
            self._events().mapped("carrier_status_code")[-2:],
            ["picked_up", "in_transit"],
        )

    def test_each_scenario_by_webhook(self):
        """The sandbox pushes every scenario's events as its clock runs."""
        expectations = {
            "normal": [(5, "in_transit"), (37, "out_for_delivery"), (43, "delivered")],
            "delayed": [(31, "in_transit"), (91, "delivered")],
            "exception_recovered": [
                (15, "exception"),
                (27, "in_transit"),
                (47, "delivered"),
            ],
            "returned": [(31, "exception"), (81, "returned")],
            "pickup_point": [(37, "available_for_pickup"), (61, "delivered")],
            "lost": [(13, "in_transit"), (300, "in_transit")],
        }
        for scenario, steps in expectations.items():
            with self.subTest(scenario=scenario):
                self.sandbox.reset()
                picking = self._booked(scenario=scenario)
                self.env.flush_all()
                # Pushes start after the booking: a push handled while this
                # test's validation runs would share its test cursor.
                self.sandbox.configure(
                    webhook_url=f"{self.base_url()}{self.url}", webhook_secret=SECRET
                )
                elapsed = 0
                for hour, expected in steps:
                    self.sandbox.advance_clock(hour - elapsed)
                    elapsed = hour
                    self.sandbox.wait_for_webhooks()
                    self.env.invalidate_all()
                    self.assertEqual(picking.shipment_state, expected, f"hour {hour}")
                self.assertEqual(
                    {push["status"] for push in self.sandbox.webhook_log()}, {200}
                )
                self.assertEqual(
                    set(picking.tracking_event_ids.mapped("source")), {"webhook"}
                )

    # -- aggregators --------------------------------------------------------------
    def test_easypost_tracker_webhook(self):
        self.generic.generic_webhook_format = "easypost"
        payload = {
            "object": "Event",
            "id": "evt_1",
            "description": "tracker.updated",
            "mode": "test",
            "result": {
                "object": "Tracker",
                "id": "trk_1",
                "tracking_code": self.number,
                "status": "out_for_delivery",
                "status_detail": "out_for_delivery",
                "est_delivery_date": ago(days=-9)[:10] + "T00:00:00Z",
                "carrier": "USPS",
                "signed_by": None,
                "tracking_details": [
                    {
                        "object": "TrackingDetail",
                        "message": "Pre-Shipment Info Sent to USPS",
                        "status": "pre_transit",
                        "status_detail": "status_update",
                        "datetime": ago(hours=50),
                        "source": "USPS",
                        "tracking_location": {"city": None, "country": None},
                    },
                    {
                        "object": "TrackingDetail",
                        "message": "Arrived at USPS Facility",
                        "status": "in_transit",
                        "status_detail": "arrived_at_facility",
                        "datetime": ago(hours=24),
                        "source": "USPS",
                        "tracking_location": {
                            "city": "COLUMBIA",
                            "state": "SC",
                            "country": "US",
                            "zip": "29201",
                        },
                    },
                    {
                        "object": "TrackingDetail",
                        "message": "Out for Delivery",
                        "status": "out_for_delivery",
                        "status_detail": "out_for_delivery",
                        "datetime": ago(hours=5),
                        "source": "USPS",
                        "tracking_location": {"city": "CHARLESTON", "state": "SC"},
                    },
                ],
            },
        }
        body = json.dumps(payload).encode()
        digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        response = self._post(
            body,
            {
                "Content-Type": "application/json",
                "X-Hmac-Signature": f"hmac-sha256-hex={digest}",
            },
        )
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(self.picking.shipment_state, "out_for_delivery")
        self.assertEqual(str(self.picking.expected_delivery_date), ago(days=-9)[:10])
        self.assertEqual(
            self._events().mapped("location"),
            [False, "COLUMBIA, SC, US", "CHARLESTON, SC"],
        )
        # Our own scheme is refused on an EasyPost-format carrier.
        self.assertEqual(self._post(body).status_code, 401)

    def test_aftership_tracking_webhook(self):
        # A local time at +01:00 is stored in UTC.
        picked_up = datetime.now().replace(microsecond=0) - timedelta(days=1)
        self.generic.generic_webhook_format = "aftership"
        payload = {
            "event": "tracking_update",
            "event_id": "2f2b1c1e-1111-4a4a-9999-000000000001",
            "is_tracking_first_tag": False,
            "msg": {
                "id": "5b0d0fd4",
                "tracking_number": self.number,
                "slug": "dhl",
                "tag": "Delivered",
                "subtag": "Delivered_001",
                "expected_delivery": ago(days=-1)[:10],
                "signed_by": "MARIE CURIE",
                "checkpoints": [
                    {
                        "checkpoint_time": picked_up.strftime(
                            "%Y-%m-%dT%H:%M:%S+01:00"
                        ),
                        "message": "Shipment picked up",
                        "tag": "InTransit",
                        "subtag": "InTransit_002",
                        "city": "Brussels",
                        "country_iso3": "BEL",
                    },
                    {
                        "checkpoint_time": ago(hours=3).replace("Z", "+00:00"),
                        "message": "Delivered",
                        "tag": "Delivered",
                        "subtag": "Delivered_001",
                        "location": "Paris, FRA",
                    },
                ],
            },
            "ts": int(time.time()),
        }
        body = json.dumps(payload).encode()
        signature = base64.b64encode(
            hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
        ).decode()
        response = self._post(
            body,
            {"Content-Type": "application/json", "aftership-hmac-sha256": signature},
        )
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(self.picking.shipment_state, "delivered")
        self.assertEqual(self.picking.shipment_pod_signed_by, "MARIE CURIE")
        events = self._events()
        self.assertEqual(events.mapped("state"), ["in_transit", "delivered"])
        self.assertEqual(events[0].event_time, picked_up - timedelta(hours=1))
