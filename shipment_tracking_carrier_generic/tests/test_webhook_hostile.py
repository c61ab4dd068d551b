# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The webhook against a hostile sender: whatever the headers and whatever
the JSON, the answer is 2xx or 4xx, never 5xx, and a refused request or event
changes nothing."""

import json
import time
from datetime import datetime, timedelta, timezone

from freezegun import freeze_time

from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from odoo.addons.shipment_tracking.models.shipment_tracking_event import (
    EDD_HORIZON_DAYS,
    EVENT_FUTURE_HOURS,
    EVENT_HISTORY_DAYS,
)

from ..models.tracking_formats import (
    CONTROL_RE,
    MAX_EVENTS,
    MAX_REF_LENGTH,
    MAX_TEXT_LENGTH,
    REPLAY_TOLERANCE,
)
from .common import SandboxCarrierMixin
from .test_webhook import WEBHOOK_LOGGER, aftership_headers, ago, easypost_headers

# The defaults of shipment_tracking's event time bounds.
FUTURE_HOURS = EVENT_FUTURE_HOURS
HISTORY_DAYS = EVENT_HISTORY_DAYS
EDD_DAYS = EDD_HORIZON_DAYS


def utcnow():
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


@tagged("post_install", "-at_install", "shipment_clock")
class TestWebhookHostile(SandboxCarrierMixin, HttpCase):
    def setUp(self):
        super().setUp()
        self.env["ir.config_parameter"].set_param(
            "shipment_tracking.event_future_hours", FUTURE_HOURS
        )
        self.picking = self._booked()
        self.number = self.picking.carrier_tracking_ref
        self.url = f"/shipment_tracking/webhook/{self.generic.id}"

    def _post(self, body, headers=None):
        return self.url_open(
            self.url,
            data=body,
            headers=self._signed_headers(body) if headers is None else headers,
        )

    def _snapshot(self):
        self.env.invalidate_all()
        picking = self.picking
        return (
            picking.shipment_state,
            picking.shipment_last_event_date,
            picking.expected_delivery_date,
            picking.shipment_delivered_date,
            picking.tracking_event_ids.ids,
        )

    # -- size ---------------------------------------------------------------
    @mute_logger(WEBHOOK_LOGGER)
    def test_chunked_body_over_the_limit_is_413(self):
        """No Content-Length: the limit holds on what is read."""
        before = self._snapshot()
        chunk = b" " * 65536

        def body():
            yield b'{"type": "tracking.updated", "events": [], "pad": "'
            for _i in range(64):  # 4 MiB
                yield chunk
            yield b'"}'

        for content_type in (
            "application/json",
            # Odoo would parse these whole before any route runs.
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
        ):
            with self.subTest(content_type):
                response = self._post(body(), {"Content-Type": content_type})
                self.assertEqual(response.status_code, 413, response.text)
        self.assertEqual(self._snapshot(), before)

    def test_chunked_body_under_the_limit_is_read(self):
        payload = self._body(self._event(self.number, "picked_up", ago(hours=5)))
        response = self._post(
            (payload[i : i + 7] for i in range(0, len(payload), 7)),
            self._signed_headers(payload),
        )
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["accepted"], 1)

    # -- headers ---------------------------------------------------------------
    @mute_logger(WEBHOOK_LOGGER)
    def test_hostile_headers_are_401(self):
        body = self._body(self._event(self.number, "picked_up", ago(hours=5)))
        good = self._signed_headers(body)
        now = str(int(time.time()))
        digits = "١٧٠٠٠٠٠٠٠٠".encode()  # Arabic-Indic digits, UTF-8 bytes
        cases = {
            "non-ascii timestamp": {"X-Shipment-Timestamp": digits},
            "5000-digit timestamp": {"X-Shipment-Timestamp": "1" * 5000},
            "negative timestamp": {"X-Shipment-Timestamp": "-" + now},
            "non-hex signature": {"X-Shipment-Signature": "sha256=" + "zz" * 32},
            "non-ascii signature": {
                "X-Shipment-Signature": ("sha256=" + "é" * 64).encode()
            },
            "short signature": {"X-Shipment-Signature": "sha256=abc"},
            "huge signature": {"X-Shipment-Signature": "sha256=" + "a" * 5000},
        }
        for name, headers in cases.items():
            with self.subTest(name):
                response = self._post(body, {**good, **headers})
                self.assertEqual(response.status_code, 401, response.text)
        self.generic.generic_webhook_format = "easypost"
        for name, value in {
            "non-hex": "hmac-sha256-hex=" + "zz" * 32,
            "non-ascii": ("hmac-sha256-hex=" + "é" * 64).encode(),
            "no prefix": "a" * 64,
        }.items():
            with self.subTest(f"easypost {name}"):
                response = self._post(body, {"X-Hmac-Signature": value})
                self.assertEqual(response.status_code, 401, response.text)
        self.generic.generic_webhook_format = "aftership"
        for name, value in {
            "non-base64": "!" * 44,
            "non-ascii": ("é" * 43 + "=").encode(),
            "too long": "A" * 5000,
        }.items():
            with self.subTest(f"aftership {name}"):
                response = self._post(body, {"aftership-hmac-sha256": value})
                self.assertEqual(response.status_code, 401, response.text)
        self.assertFalse(self.picking.tracking_event_ids)

    # -- shapes ------------------------------------------------------------------
    def test_any_json_shape_is_2xx_or_400(self):
        n, when = self.number, ago(hours=5)
        bad_events = {
            "list as tracking number": {"tracking_number": [n]},
            "object as status": {"status": {"code": "delivered"}},
            "number as time": {"occurred_at": 1732000000},
            "list as description": {"description": ["x"]},
            "object as location": {"location": {"city": "Ghent"}},
            "string as proof": {"proof_of_delivery": "signed"},
            "list as proof": {"proof_of_delivery": ["J. Doe"]},
            "number as EDD": {"estimated_delivery_date": 20301201},
            "float as tracking number": {"tracking_number": 1.5},
            "bool as tracking number": {"tracking_number": True},
            "overflowing time": {"occurred_at": "0001-01-01T00:00:00+01:00"},
            "overflowing time 9999": {"occurred_at": "9999-12-31T23:59:59-01:00"},
            "not a time": {"occurred_at": "yesterday"},
            "long tracking number": {"tracking_number": "X" * (MAX_REF_LENGTH + 1)},
            "control in tracking number": {"tracking_number": n + "\x00"},
            "huge status": {"status": "s" * 100_000},
            "object as id": {"id": {"a": 1}},
        }
        events = [
            dict(self._event(n, "in_transit", when, event_id=f"e{i}"), **change)
            for i, change in enumerate(bad_events.values())
        ]
        response = self._post(self._body(*events))
        self.assertEqual(response.status_code, 200, response.text)
        answer = response.json()
        self.assertEqual(answer["accepted"], 0, answer)
        self.assertEqual(
            [item["index"] for item in answer["rejected"]], list(range(len(events)))
        )
        self.assertFalse(self.picking.tracking_event_ids)
        requests = {
            "deeply nested": b"[" * 5000,
            "deeply nested object": b'{"a":' * 5000,
            "huge integer": b'{"type": "tracking.updated", "events": [' + b"9" * 5000,
            "not utf-8": b'{"type": "\xff\xfe"}',
            "list": b"[]",
            "string": b'"tracking.updated"',
            "null": b"null",
            "events not a list": json.dumps(
                {"type": "tracking.updated", "events": {"0": events[0]}}
            ).encode(),
            "too many events": self._body(
                *[self._event(n, "in_transit", when)] * (MAX_EVENTS + 1)
            ),
        }
        for name, body in requests.items():
            with self.subTest(name):
                response = self._post(body)
                self.assertEqual(response.status_code, 400, response.text)
        self.assertFalse(self.picking.tracking_event_ids)

    def test_long_texts_are_truncated_and_odd_values_dropped(self):
        event = self._event(
            self.number,
            "delivered",
            ago(hours=5),
            description="d" * 100_000,
            location="l\x00" * 5000,
            proof_of_delivery={
                "signed_by": "J. Doe",
                "signature_url": "javascript:alert(1)",
                "photo_url": "https://carrier.example/p.png",
            },
        )
        response = self._post(self._body(event))
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["accepted"], 1)
        stored = self.picking.tracking_event_ids
        self.assertEqual(len(stored.carrier_status_text), MAX_TEXT_LENGTH)
        self.assertEqual(stored.location, "l" * MAX_TEXT_LENGTH)
        self.assertFalse(stored.pod_signature_url)
        self.assertEqual(stored.pod_photo_url, "https://carrier.example/p.png")
        self.assertEqual(self.picking.shipment_state, "delivered")

    def test_integer_tracking_numbers_are_read_as_digits(self):
        self.picking.tracking_number_ids.name = "123456789"
        response = self._post(
            self._body(self._event(123456789, "picked_up", ago(hours=5)))
        )
        self.assertEqual(response.json()["accepted"], 1, response.text)

    # -- time bounds ---------------------------------------------------------------
    def test_future_and_ancient_events_are_rejected(self):
        shipped = self.picking.shipment_date
        future = utcnow() + timedelta(hours=FUTURE_HOURS + 2)
        ancient = shipped - timedelta(days=HISTORY_DAYS + 1)
        response = self._post(
            self._body(
                self._event(self.number, "delivered", "9999-12-31T00:00:00Z"),
                self._event(self.number, "delivered", future.isoformat() + "Z"),
                self._event(self.number, "returned_to_sender", ancient.isoformat()),
                self._event(self.number, "picked_up", ago(hours=5)),
            )
        )
        self.assertEqual(response.status_code, 200, response.text)
        answer = response.json()
        self.assertEqual(answer["accepted"], 1)
        self.assertEqual([item["index"] for item in answer["rejected"]], [0, 1, 2])
        self.assertIn("future", answer["rejected"][0]["reason"])
        self.assertIn("before the shipment date", answer["rejected"][2]["reason"])
        # The bogus events froze nothing: the next real scan moves the status.
        self.assertEqual(self.picking.shipment_state, "in_transit")
        self._post(self._body(self._event(self.number, "out_for_delivery", ago())))
        self.assertEqual(self.picking.shipment_state, "out_for_delivery")
        self.assertEqual(len(self.picking.tracking_event_ids), 2)

    def test_implausible_estimates_are_dropped_not_the_event(self):
        before = self.picking.expected_delivery_date
        when = utcnow() - timedelta(hours=5)
        too_late = (when + timedelta(days=EDD_DAYS + 1)).date().isoformat()
        too_early = (when - timedelta(days=1)).date().isoformat()
        response = self._post(
            self._body(
                self._event(
                    self.number,
                    "in_transit",
                    when.isoformat() + "Z",
                    estimated_delivery_date=too_late,
                ),
                self._event(
                    self.number,
                    "delayed",
                    (when + timedelta(hours=1)).isoformat() + "Z",
                    estimated_delivery_date=too_early,
                ),
            )
        )
        self.assertEqual(response.json()["accepted"], 2, response.text)
        self.assertFalse(
            any(self.picking.tracking_event_ids.mapped("expected_delivery_date"))
        )
        self.assertEqual(self.picking.expected_delivery_date, before)
        good = (when + timedelta(days=EDD_DAYS)).date()
        self._post(
            self._body(
                self._event(
                    self.number,
                    "delayed",
                    (when + timedelta(hours=2)).isoformat() + "Z",
                    estimated_delivery_date=good.isoformat(),
                )
            )
        )
        self.assertEqual(self.picking.expected_delivery_date, good)

    def test_closed_shipment_keeps_its_estimate(self):
        """A late scan carrying an estimate does not rewrite the estimate of
        a delivered shipment (the on-time KPI reads it)."""
        self._post(self._body(self._event(self.number, "delivered", ago(hours=1))))
        self.assertEqual(self.picking.shipment_state, "delivered")
        before = self._snapshot()[:4]
        late = self._event(
            self.number,
            "in_transit",
            ago(hours=30),
            estimated_delivery_date=ago(days=-3)[:10],
        )
        self.assertEqual(self._post(self._body(late)).json()["accepted"], 1)
        self.assertEqual(self._snapshot()[:4], before)

    # -- carrier and type -------------------------------------------------------------
    @mute_logger(WEBHOOK_LOGGER)
    def test_archived_carrier_refuses_webhooks(self):
        body = self._body(self._event(self.number, "picked_up", ago(hours=5)))
        self.generic.active = False
        response = self._post(body)
        self.assertEqual(response.status_code, 404, response.text)
        self.assertFalse(self.picking.tracking_event_ids)
        self.generic.active = True
        self.assertEqual(self._post(body).status_code, 200)

    def test_generic_type_is_checked(self):
        for kind in ("tracking.deleted", None, ["tracking.updated"]):
            with self.subTest(kind=kind):
                body = json.dumps(
                    {
                        "type": kind,
                        "events": [self._event(self.number, "picked_up", ago(hours=5))],
                    }
                ).encode()
                self.assertEqual(self._post(body).status_code, 400)
        self.assertFalse(self.picking.tracking_event_ids)

    # -- aggregators: type and replay ------------------------------------------------
    def _easypost(self, event_id="evt_1", description="tracker.updated"):
        return json.dumps(
            {
                "object": "Event",
                "id": event_id,
                "description": description,
                "result": {
                    "object": "Tracker",
                    "tracking_code": self.number,
                    "tracking_details": [
                        {"status": "in_transit", "datetime": ago(hours=5)}
                    ],
                },
            }
        ).encode()

    def test_easypost_replay_and_other_events(self):
        self.generic.generic_webhook_format = "easypost"
        body = self._easypost()
        first = self._post(body, easypost_headers(body))
        self.assertEqual(first.json()["accepted"], 1, first.text)
        self.picking.tracking_event_ids.unlink()
        replay = self._post(body, easypost_headers(body))
        self.assertEqual(replay.status_code, 200)
        self.assertTrue(replay.json()["ignored"], replay.text)
        self.assertFalse(self.picking.tracking_event_ids, "the replay changed data")
        other = self._easypost("evt_2", description="batch.created")
        answer = self._post(other, easypost_headers(other))
        self.assertEqual(answer.status_code, 200)
        self.assertTrue(answer.json()["ignored"])
        self.assertFalse(self.picking.tracking_event_ids)
        no_id = json.loads(self._easypost())
        del no_id["id"]
        no_id = json.dumps(no_id).encode()
        self.assertEqual(self._post(no_id, easypost_headers(no_id)).status_code, 400)

    def _aftership(self, event_id="as-1", ts=None):
        return json.dumps(
            {
                "event": "tracking_update",
                "event_id": event_id,
                "ts": int(time.time()) if ts is None else ts,
                "msg": {
                    "tracking_number": self.number,
                    "checkpoints": [
                        {"tag": "InTransit", "checkpoint_time": ago(hours=5)}
                    ],
                },
            }
        ).encode()

    @mute_logger(WEBHOOK_LOGGER)
    def test_aftership_replay_and_stale_deliveries(self):
        self.generic.generic_webhook_format = "aftership"
        body = self._aftership()
        self.assertEqual(
            self._post(body, aftership_headers(body)).json()["accepted"], 1
        )
        self.picking.tracking_event_ids.unlink()
        replay = self._post(body, aftership_headers(body))
        self.assertTrue(replay.json()["ignored"], replay.text)
        for name, stale in {
            "old ts": self._aftership("as-2", int(time.time()) - REPLAY_TOLERANCE - 60),
            "future ts": self._aftership(
                "as-3", int(time.time()) + REPLAY_TOLERANCE + 60
            ),
            "no ts": self._aftership("as-4", "now"),
            "400-digit ts": self._aftership("as-5", 10**400),
            "negative ts": self._aftership("as-6", -1),
        }.items():
            with self.subTest(name):
                response = self._post(stale, aftership_headers(stale))
                self.assertEqual(response.status_code, 401, response.text)
        self.assertFalse(self.picking.tracking_event_ids)

    def test_replay_log_is_per_carrier_and_purged(self):
        Delivery = self.env["shipment.tracking.webhook.delivery"]
        self.assertTrue(Delivery._claim(self.generic, "easypost:evt_9"))
        self.assertFalse(Delivery._claim(self.generic, "easypost:evt_9"))
        other = self.generic.copy({"name": "Other"})
        self.assertTrue(Delivery._claim(other, "easypost:evt_9"))
        seen = Delivery.search([("name", "=", "easypost:evt_9")])
        self.assertEqual(len(seen), 2)
        with freeze_time(utcnow() + timedelta(days=29)):
            Delivery._gc_old_deliveries()
        self.assertEqual(len(seen.exists()), 2)
        with freeze_time(utcnow() + timedelta(days=31)):
            Delivery._gc_old_deliveries()
        self.assertFalse(seen.exists())

    def test_unstorable_characters_never_reach_the_database(self):
        """Lone surrogates (PostgreSQL refuses them), C1 controls and bidi
        overrides: refused in identifiers, replaced in texts; never a 5xx."""
        cases = {
            "surrogate number": {"tracking_number": "\ud800X"},
            "bidi number": {"tracking_number": self.number + "\u202e"},
        }
        for name, extra in cases.items():
            with self.subTest(name):
                event = dict(self._event(self.number, "picked_up", ago(hours=5)))
                event.update(extra)
                response = self._post(self._body(event))
                self.assertEqual(response.status_code, 200, response.text)
                self.assertEqual(len(response.json()["rejected"]), 1, response.text)
        event = self._event(
            self.number,
            "picked_up",
            ago(hours=4),
            description="Hub \ud800 \u202eevil\u2028 \x85scan",
            location="Gh\udfffent",
        )
        response = self._post(self._body(event))
        self.assertEqual(response.json()["accepted"], 1, response.text)
        scan = self.picking.tracking_event_ids
        self.assertEqual(scan.carrier_status_text.split(), ["Hub", "evil", "scan"])
        self.assertNotRegex(scan.carrier_status_text, CONTROL_RE)
        self.assertEqual(scan.location, "Gh ent")

    def test_no_secret_answers_as_a_bad_signature(self):
        body = self._body(self._event(self.number, "picked_up", ago(hours=5)))
        bad = self._post(body, self._signed_headers(body, secret="wrong"))
        self.generic.sudo().generic_webhook_secret = False
        none = self._post(body, self._signed_headers(body))
        self.assertEqual((none.status_code, none.json()), (bad.status_code, bad.json()))
        self.assertEqual(none.status_code, 401)
