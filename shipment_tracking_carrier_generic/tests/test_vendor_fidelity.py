# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Every payload read as the vendor means it: sub-statuses, the tracker's
own status, every estimate field, signer placeholders, pickup points and
hand-over numbers. Payloads are written from the vendors' public docs
(EasyPost Tracker/Event objects, AfterShip tracking webhooks)."""

import importlib.util
import json
import logging
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import psycopg2

from odoo.exceptions import ValidationError
from odoo.tests import HttpCase, TransactionCase, tagged
from odoo.tests.common import BaseCase
from odoo.tools import mute_logger

from ..controllers import webhook
from ..models.tracking_formats import (
    MAX_NEXT_REFS,
    MAX_REF_LENGTH,
    aftership_edd,
    envelope_aftership,
    envelope_easypost,
    events_aftership,
    events_easypost,
    events_generic,
)
from .common import SandboxCarrierMixin
from .test_webhook import WEBHOOK_LOGGER, aftership_headers, ago, easypost_headers

MIGRATION = (
    Path(__file__).parent.parent / "migrations" / "18.0.1.2.0" / "post-migrate.py"
)


def easypost_event(number, details, event_id="evt_fid_1", **tracker):
    """An EasyPost ``tracker.updated`` Event around a Tracker."""
    return {
        "object": "Event",
        "id": event_id,
        "description": "tracker.updated",
        "mode": "production",
        "result": {
            "object": "Tracker",
            "id": "trk_c4e1b7a0d2f94e0c",
            "mode": "production",
            "tracking_code": number,
            "carrier": "USPS",
            "tracking_details": details,
            **tracker,
        },
    }


def easypost_detail(status, detail, when, message, city=None, state=None):
    return {
        "object": "TrackingDetail",
        "message": message,
        "description": None,
        "status": status,
        "status_detail": detail,
        "datetime": when,
        "source": "USPS",
        "carrier_code": None,
        "tracking_location": {
            "object": "TrackingLocation",
            "city": city,
            "state": state,
            "country": "US" if city else None,
            "zip": None,
        },
    }


def aftership_webhook(number, checkpoints, event_id="as-fid-1", **tracking):
    """An AfterShip ``tracking_update`` webhook around a tracking."""
    return {
        "event": "tracking_update",
        "event_id": event_id,
        "is_tracking_first_tag": False,
        "ts": int(time.time()),
        "msg": {
            "id": "c5f3a6d2b1e04f7a9e2d",
            "tracking_number": number,
            "slug": "postnl-3s",
            "checkpoints": checkpoints,
            **tracking,
        },
    }


def checkpoint(tag, subtag, when, message, **extra):
    return {
        "slug": "postnl-3s",
        "checkpoint_time": when,
        "tag": tag,
        "subtag": subtag,
        "message": message,
        **extra,
    }


@tagged("post_install", "-at_install")
class TestVendorParsers(BaseCase):
    """The parsers alone: no database, fixed dates (nothing here is bounded
    by the clock)."""

    # -- 2. sub-statuses and texts ---------------------------------------------
    def test_parsers_fill_the_substatus_and_keep_texts_distinct(self):
        events, rejected = events_aftership(
            aftership_webhook(
                "3SABCD0123456",
                [
                    checkpoint(
                        "Exception",
                        "Exception_004",
                        "2026-03-02T09:00:00+01:00",
                        "Held by customs: documents requested",
                        subtag_message="Delayed (Customs clearance)",
                    ),
                    checkpoint(
                        "Exception",
                        "Exception_004",
                        "2026-03-02T12:00:00+01:00",
                        None,
                        subtag_message="Delayed (Customs clearance)",
                    ),
                ],
            )
        )
        self.assertFalse(rejected)
        self.assertEqual(
            [(e["carrier_substatus_code"], e["carrier_status_text"]) for e in events],
            [
                ("Exception_004", "Held by customs: documents requested"),
                ("Exception_004", "Delayed (Customs clearance)"),
            ],
        )
        events, _rejected = events_easypost(
            easypost_event(
                "9400100000000000000001",
                [
                    easypost_detail(
                        "in_transit",
                        "weather_delay",
                        "2026-03-02T10:00:00Z",
                        "Delayed due to weather",
                    )
                ],
            )
        )
        self.assertEqual(events[0]["carrier_substatus_code"], "weather_delay")
        self.assertEqual(events[0]["carrier_status_text"], "Delayed due to weather")
        events, _rejected = events_generic(
            {
                "events": [
                    {
                        "tracking_number": "SBX0000000001",
                        "status": "delivery_failed",
                        "substatus": "address",
                        "description": "Street unknown",
                        "occurred_at": "2026-03-02T10:00:00Z",
                    }
                ]
            }
        )
        self.assertEqual(events[0]["carrier_substatus_code"], "address")

    # -- 3. the tracker's own status ----------------------------------------------
    def test_aftership_tracking_tag_wins_over_out_of_order_checkpoint(self):
        payload = aftership_webhook(
            "3SABCD0123456",
            [
                checkpoint(
                    "InTransit", "InTransit_001", "2026-03-02T08:00:00Z", "Sorted"
                ),
                checkpoint(
                    "InTransit",
                    "InTransit_007",
                    "2026-03-02T20:00:00Z",
                    "Departure scan",
                ),
            ],
            tag="Delivered",
            subtag="Delivered_001",
            subtag_message="Delivered",
            updated_at="2026-03-02T18:00:00+00:00",
            last_updated_at="2026-03-02T19:30:00+00:00",
        )
        events, _rejected = events_aftership(payload)
        self.assertEqual(len(events), 3)
        extra = events[-1]
        self.assertEqual(
            (
                extra["carrier_status_code"],
                extra["carrier_substatus_code"],
                extra["carrier_status_text"],
                extra["event_time"],
                extra["carrier_event_id"],
            ),
            (
                "Delivered",
                "Delivered_001",
                "Delivered",
                datetime(2026, 3, 2, 20, 0, 1),
                "tracker:3SABCD0123456:Delivered:Delivered_001:2026-03-02T20:00:01",
            ),
        )
        # When the newest checkpoint agrees, nothing is added.
        payload["msg"]["tag"] = "InTransit"
        payload["msg"]["subtag"] = "InTransit_007"
        self.assertEqual(len(events_aftership(payload)[0]), 2)

    def test_unusable_tracker_status_is_rejected_not_the_scans(self):
        payload = easypost_event(
            "9400100000000000000001",
            [
                easypost_detail(
                    "in_transit", "arrived_at_facility", "2026-03-02T10:00:00Z", "In"
                )
            ],
            status="x" * (MAX_REF_LENGTH + 1),
        )
        events, rejected = events_easypost(payload)
        self.assertEqual(len(events), 1)
        self.assertEqual(rejected[0]["index"], 1)
        self.assertIn("status", rejected[0]["reason"])

    # -- 4. other event types -------------------------------------------------------
    def test_envelopes_name_their_kind(self):
        envelope = envelope_easypost(
            {"id": "evt_2", "description": "refund.successful\u202e", "result": {}}
        )
        self.assertEqual(
            (envelope.relevant, envelope.kind), (False, "refund.successful")
        )
        envelope = envelope_aftership(
            {"event_id": "as-9", "event": "tracking_update", "ts": 1, "msg": {}}
        )
        self.assertEqual((envelope.relevant, envelope.kind), (True, "tracking_update"))

    # -- 5. every AfterShip estimate field -----------------------------------------
    def test_aftership_every_edd_field(self):
        fields = {
            "latest_estimated_delivery": {
                "type": "specific",
                "source": "Carrier EDD",
                "datetime": "2026-03-10T18:00:00+01:00",
                "datetime_min": None,
                "datetime_max": None,
            },
            "courier_estimated_delivery_date": {
                "estimated_delivery_date": "2026-03-11",
                "estimated_delivery_date_min": None,
                "estimated_delivery_date_max": None,
            },
            "expected_delivery": "2026-03-12T12:00:00",
            "aftership_estimated_delivery_date": {
                "estimated_delivery_date": "2026-03-13",
                "confidence_code": 9001,
                "estimated_delivery_date_min": "2026-03-12",
                "estimated_delivery_date_max": "2026-03-14",
            },
            "first_estimated_delivery": {
                "type": "specific",
                "source": "Carrier EDD",
                "datetime": "2026-03-15T00:00:00+01:00",
                "datetime_min": None,
                "datetime_max": None,
            },
        }
        expected = [
            date(2026, 3, 10),
            date(2026, 3, 11),
            date(2026, 3, 12),
            date(2026, 3, 13),
            date(2026, 3, 15),
        ]
        for (name, value), edd in zip(fields.items(), expected, strict=True):
            with self.subTest(field=name):
                self.assertEqual(aftership_edd({name: value}), edd)
        # Priority: the first of the list that gives a date.
        names = list(fields)
        for start, edd in enumerate(expected):
            with self.subTest(first=names[start]):
                tracking = {name: fields[name] for name in names[start:]}
                self.assertEqual(aftership_edd(tracking), edd)
        # Ranges: the upper bound; broken or absent fields: the next one.
        ranged = {
            "latest_estimated_delivery": {
                "type": "range",
                "datetime": None,
                "datetime_min": "2026-03-09T09:00:00+01:00",
                "datetime_max": "2026-03-11T18:00:00+01:00",
            },
            "courier_estimated_delivery_date": "2026-03-01",
        }
        self.assertEqual(aftership_edd(ranged), date(2026, 3, 11))
        self.assertEqual(
            aftership_edd(
                {
                    "latest_estimated_delivery": "soon",
                    "courier_estimated_delivery_date": {
                        "estimated_delivery_date": None,
                        "estimated_delivery_date_min": "2026-03-04",
                        "estimated_delivery_date_max": "2026-03-06",
                    },
                }
            ),
            date(2026, 3, 6),
        )
        self.assertFalse(aftership_edd({}))
        # The estimate goes on the newest event of the payload.
        events, _rejected = events_aftership(
            aftership_webhook(
                "3SABCD0123456",
                [
                    checkpoint(
                        "InTransit", "InTransit_002", "2026-03-03T08:00:00Z", "B"
                    ),
                    checkpoint(
                        "InTransit", "InTransit_001", "2026-03-02T08:00:00Z", "A"
                    ),
                ],
                **fields,
            )
        )
        self.assertEqual(
            [e["expected_delivery_date"] for e in events], [date(2026, 3, 10), False]
        )

    # -- 6. signer placeholders -------------------------------------------------------
    def test_signer_placeholders_are_nobody(self):
        placeholders = [
            "Signature not required",
            "SIGNATURE NOT REQUIRED",
            "  signature   not  required ",
            "No signature required",
            "N/A",
            "n.a.",
            "Not required",
            "Released without signature",
            "Left at door",
            "LEFT AT FRONT DOOR",
            "Driver release",
        ]
        for signed_by in placeholders:
            with self.subTest(signed_by=signed_by):
                events, _rejected = events_easypost(
                    easypost_event(
                        "9400100000000000000001",
                        [
                            easypost_detail(
                                "delivered",
                                "arrived_at_destination",
                                "2026-03-02T10:00:00Z",
                                "Delivered, Front Door/Porch",
                            )
                        ],
                        status="delivered",
                        status_detail="arrived_at_destination",
                        signed_by=signed_by,
                    )
                )
                self.assertFalse(events[0]["pod_signed_by"])
                events, _rejected = events_generic(
                    {
                        "events": [
                            {
                                "tracking_number": "SBX0000000001",
                                "status": "delivered",
                                "occurred_at": "2026-03-02T10:00:00Z",
                                "proof_of_delivery": {"signed_by": signed_by},
                            }
                        ]
                    }
                )
                self.assertFalse(events[0]["pod_signed_by"])
        events, _rejected = events_aftership(
            aftership_webhook(
                "3SABCD0123456",
                [checkpoint("Delivered", "Delivered_003", "2026-03-02T10:00:00Z", "D")],
                signed_by="N. Adams",
            )
        )
        self.assertEqual(events[0]["pod_signed_by"], "N. Adams")

    # -- 7. pickup points -------------------------------------------------------------
    def test_pickup_point_and_deadline(self):
        events, _rejected = events_aftership(
            aftership_webhook(
                "3SABCD0123456",
                [
                    checkpoint(
                        "AvailableForPickup",
                        "AvailableForPickup_001",
                        "2026-03-04T11:00:00+01:00",
                        "Ready for collection at the PostNL point",
                        location="Amsterdam, NLD",
                    ),
                    checkpoint(
                        "InTransit", "InTransit_003", "2026-03-03T11:00:00+01:00", "Hub"
                    ),
                ],
                pickup_location="Primera Kalverstraat 12, 1012 NX Amsterdam",
                pickup_note="Bring an ID",
            )
        )
        self.assertEqual(
            [e["pickup_location"] for e in events],
            ["Primera Kalverstraat 12, 1012 NX Amsterdam", False],
        )
        events, _rejected = events_easypost(
            easypost_event(
                "9400100000000000000001",
                [
                    easypost_detail(
                        "available_for_pickup",
                        "arrived_at_pickup_location",
                        "2026-03-04T10:00:00Z",
                        "Available for Pickup",
                        city="CHARLESTON",
                        state="SC",
                    )
                ],
                status="available_for_pickup",
                status_detail="arrived_at_pickup_location",
            )
        )
        self.assertEqual(events[0]["pickup_location"], "CHARLESTON, SC, US")
        events, _rejected = events_generic(
            {
                "events": [
                    {
                        "tracking_number": "SBX0000000001",
                        "status": "available_for_pickup",
                        "occurred_at": "2026-03-04T10:00:00Z",
                        "pickup_point": {
                            "name": "Parcel shop Dupont",
                            "address": "Rue Haute 12, 1000 Brussels, BE",
                            "deadline": "2026-03-11T19:00:00+01:00",
                        },
                    },
                    {
                        "tracking_number": "SBX0000000001",
                        "status": "available_for_pickup",
                        "occurred_at": "2026-03-04T11:00:00Z",
                        "pickup_point": {"name": "Locker 4", "deadline": "soon"},
                    },
                ]
            }
        )
        self.assertEqual(
            [(e["pickup_location"], e["pickup_deadline"]) for e in events],
            [
                (
                    "Parcel shop Dupont, Rue Haute 12, 1000 Brussels, BE",
                    datetime(2026, 3, 11, 18, 0),
                ),
                ("Locker 4", False),
            ],
        )

    # -- 8. hand-over numbers -------------------------------------------------------
    def test_next_couriers_become_next_tracking_refs(self):
        events, _rejected = events_aftership(
            aftership_webhook(
                "3SABCD0123456",
                [
                    checkpoint(
                        "InTransit", "InTransit_001", "2026-03-02T08:00:00Z", "A"
                    ),
                    checkpoint(
                        "InTransit",
                        "InTransit_009",
                        "2026-03-03T08:00:00Z",
                        "Handed over to the last-mile carrier",
                    ),
                ],
                next_couriers=[
                    {
                        "slug": "dhl",
                        "tracking_number": "JVGL0600123456",
                        "source": "carrier",
                    },
                    {
                        "slug": "dhl",
                        "tracking_number": "JVGL0600123456",
                        "source": "user",
                    },
                    {"slug": "x", "tracking_number": "Y" * (MAX_REF_LENGTH + 1)},
                    {"slug": "x", "tracking_number": "BAD\nNUMBER"},
                    {"slug": "x", "tracking_number": 123456789},
                    {"slug": "self", "tracking_number": "3SABCD0123456"},
                    "not an object",
                ],
            )
        )
        self.assertEqual(
            [e["next_tracking_refs"] for e in events],
            [["JVGL0600123456", "123456789"]] * 2,
        )
        many = [f"NEXT{i:04d}" for i in range(MAX_NEXT_REFS + 5)]
        events, _rejected = events_generic(
            {
                "events": [
                    {
                        "tracking_number": "SBX0000000001",
                        "status": "in_transit",
                        "occurred_at": "2026-03-02T10:00:00Z",
                        "next_tracking_numbers": many,
                    }
                ]
            }
        )
        self.assertEqual(events[0]["next_tracking_refs"], many[:MAX_NEXT_REFS])
        _events, rejected = events_generic(
            {
                "events": [
                    {
                        "tracking_number": "SBX0000000001",
                        "status": "in_transit",
                        "occurred_at": "2026-03-02T10:00:00Z",
                        "next_tracking_numbers": "NEXT0001",
                    }
                ]
            }
        )
        self.assertIn("next_tracking_numbers", rejected[0]["reason"])


@tagged("post_install", "-at_install")
class TestStatusTable(SandboxCarrierMixin, TransactionCase):
    """1. The status table by code and sub-status."""

    def _map(self, *events):
        return self.generic._generic_map_events(
            [
                {
                    "carrier_status_code": code,
                    "carrier_substatus_code": subcode,
                    "location": "Ghent, BE",
                    "pickup_location": False,
                }
                for code, subcode in events
            ]
        )

    def test_sub_status_row_first_then_the_code_row(self):
        self.generic.generic_webhook_format = "aftership"
        mapped = self._map(
            ("Exception", "Exception_010"),
            ("Exception", "Exception_011"),
            ("Exception", "Exception_004"),
            ("Exception", "Exception_005"),
            ("Exception", "Exception_007"),
            ("Exception", "Exception_999"),
            ("Exception", False),
            ("AttemptFail", "AttemptFail_002"),
            ("AvailableForPickup", "AvailableForPickup_001"),
            ("Delivered", "Delivered_002"),
            ("Teleported", False),
        )
        self.assertEqual(
            [(e["state"], e["incident_kind"]) for e in mapped],
            [
                ("returned", "returned"),
                ("returned", "returned"),
                ("exception", "customs"),
                ("exception", "carrier_delay"),
                ("exception", "address"),
                ("exception", False),
                ("exception", False),
                ("exception", "failed_attempt"),
                ("available_for_pickup", False),
                ("delivered", False),
                (False, False),
            ],
        )
        # A pickup status without a pickup point: the event's location.
        self.assertEqual(mapped[8]["pickup_location"], "Ghent, BE")
        self.assertFalse(mapped[9]["pickup_location"])

    def test_easypost_and_generic_defaults(self):
        self.generic.generic_webhook_format = "easypost"
        mapped = self._map(
            ("return_to_sender", "return"),
            ("in_transit", "weather_delay"),
            ("in_transit", "arrived_at_pickup_location"),
            ("available_for_pickup", "arrived_at_pickup_location"),
            ("failure", "lost"),
            ("failure", "damaged"),
            ("failure", "refused"),
            ("in_transit", "address_correction"),
            ("available_for_pickup", False),
            ("returned_to_sender", False),
        )
        self.assertEqual(
            [(e["state"], e["incident_kind"]) for e in mapped],
            [
                ("returned", "returned"),
                ("in_transit", "carrier_delay"),
                ("available_for_pickup", False),
                ("available_for_pickup", False),
                ("exception", "lost"),
                ("exception", "damaged"),
                ("exception", "refused"),
                ("in_transit", "address"),
                ("available_for_pickup", False),
                ("returned", "returned"),
            ],
        )

    def test_user_rows_win_and_stay(self):
        Map = self.env["shipment.tracking.status.map"].with_user(self.user_logistics)
        Map.create(
            {
                "carrier_id": self.generic.id,
                "code": "in_transit",
                "subcode": " customs_hold ",
                "state": "exception",
                "incident_kind": "customs",
            }
        )
        row = self.generic.generic_status_map_ids.filtered(
            lambda r: r.code == "available_for_pickup" and not r.subcode
        )
        row.with_user(self.user_logistics).state = "out_for_delivery"
        self.generic.write({"generic_webhook_format": "easypost"})
        self.generic.write({"generic_webhook_format": "generic"})
        self.assertEqual(row.state, "out_for_delivery")
        self.assertEqual(
            [
                (e["state"], e["incident_kind"])
                for e in self._map(("in_transit", "customs_hold"))
            ],
            [("exception", "customs")],
        )

    def test_one_row_per_code_and_sub_status(self):
        Map = self.env["shipment.tracking.status.map"]
        for subcode in (False, "", "  "):
            with self.subTest(subcode=subcode), self.assertRaises(ValidationError):
                Map.create(
                    {
                        "carrier_id": self.generic.id,
                        "code": "in_transit",
                        "subcode": subcode,
                    }
                )
        Map.create(
            {"carrier_id": self.generic.id, "code": "in_transit", "subcode": "x"}
        )
        with self.assertRaises(ValidationError):
            Map.create(
                {"carrier_id": self.generic.id, "code": "in_transit", "subcode": "x"}
            )
        # The database keeps it too, NULL and '' being one empty sub-status.
        with (
            mute_logger("odoo.sql_db"),
            self.assertRaises(psycopg2.errors.UniqueViolation),
            self.env.cr.savepoint(),
        ):
            self.env.cr.execute(
                "INSERT INTO shipment_tracking_status_map (carrier_id, code, subcode) "
                "VALUES (%s, 'in_transit', '')",
                [self.generic.id],
            )

    def test_upgrade_adds_rows_and_keeps_user_edits(self):
        """migrations/18.0.1.2.0: rows still at their old default take the
        new one, edited rows stay, missing default rows are added."""
        rows = self.generic.generic_status_map_ids
        by_key = {(r.code, r.subcode or ""): r for r in rows}
        # The table as 18.0.1.1.0 left it: no sub-status rows, no kinds...
        rows.filtered("subcode").unlink()
        rows.exists().write({"incident_kind": False})
        by_key[("available_for_pickup", "")].state = "out_for_delivery"
        # ... and a user's edit.
        by_key[("lost", "")].state = "in_transit"
        spec = importlib.util.spec_from_file_location("post_migrate", MIGRATION)
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        migration.migrate(self.env.cr, "18.0.1.1.0")
        self.env.invalidate_all()
        table = {
            (r.code, r.subcode or ""): (r.state, r.incident_kind)
            for r in self.generic.generic_status_map_ids
        }
        self.assertEqual(
            table[("available_for_pickup", "")], ("available_for_pickup", False)
        )
        self.assertEqual(
            table[("delivery_failed", "")], ("exception", "failed_attempt")
        )
        self.assertEqual(table[("returned_to_sender", "")], ("returned", "returned"))
        self.assertEqual(table[("lost", "")], ("in_transit", False))
        self.assertEqual(table[("exception", "customs")], ("exception", "customs"))
        # Run twice (an interrupted upgrade re-run): nothing changes.
        migration.migrate(self.env.cr, "18.0.1.1.0")
        self.env.invalidate_all()
        again = {
            (r.code, r.subcode or ""): (r.state, r.incident_kind)
            for r in self.generic.generic_status_map_ids
        }
        self.assertEqual(again, table)


@tagged("post_install", "-at_install", "shipment_clock")
class TestVendorFidelityWebhook(SandboxCarrierMixin, HttpCase):
    """The same through the webhook, down to the recorded events."""

    def setUp(self):
        super().setUp()
        self.picking = self._booked()
        self.number = self.picking.carrier_tracking_ref
        self.url = f"/shipment_tracking/webhook/{self.generic.id}"

    def _post(self, payload, headers):
        body = json.dumps(payload).encode()
        return self.url_open(self.url, data=body, headers=headers(body))

    def _events(self):
        self.env.invalidate_all()
        return self.picking.tracking_event_ids.sorted(lambda e: (e.event_time, e.id))

    def test_easypost_tracker_status_wins_over_out_of_order_scan(self):
        """EasyPost's tracker says delivered; its newest scan (a late sorting
        scan) says in transit: the shipment is delivered."""
        self.generic.generic_webhook_format = "easypost"
        delivered_at = ago(hours=1)
        newest_scan = ago(hours=2)
        payload = easypost_event(
            self.number,
            [
                easypost_detail(
                    "pre_transit",
                    "status_update",
                    ago(hours=50),
                    "Shipping Label Created, USPS Awaiting Item",
                ),
                easypost_detail(
                    "out_for_delivery",
                    "out_for_delivery",
                    ago(hours=6),
                    "Out for Delivery",
                    city="CHARLESTON",
                    state="SC",
                ),
                easypost_detail(
                    "in_transit",
                    "arrived_at_facility",
                    newest_scan,
                    "Arrived at USPS Regional Facility",
                    city="NORTH CHARLESTON",
                    state="SC",
                ),
            ],
            status="delivered",
            status_detail="arrived_at_destination",
            signed_by="J SMITH",
            updated_at=delivered_at,
        )
        response = self._post(payload, easypost_headers)
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["accepted"], 4)
        self.assertEqual(self.picking.shipment_state, "delivered")
        self.assertEqual(self.picking.shipment_pod_signed_by, "J SMITH")
        newest = self._events()[-1]
        self.assertRecordValues(
            newest,
            [
                {
                    "state": "delivered",
                    "carrier_status_code": "delivered",
                    "carrier_substatus_code": "arrived_at_destination",
                    "carrier_status_text": "Carrier status: delivered "
                    "(arrived_at_destination)",
                    # One second after the newest scan: a later real scan
                    # still supersedes the tracker's verdict.
                    "event_time": datetime.strptime(newest_scan, "%Y-%m-%dT%H:%M:%SZ")
                    + timedelta(seconds=1),
                }
            ],
        )
        # EasyPost re-sends the same tracker under a new event id: duplicates.
        payload["id"] = "evt_fid_2"
        again = self._post(payload, easypost_headers)
        self.assertEqual((again.json()["accepted"], again.json()["duplicates"]), (0, 4))

    def test_easypost_lagging_tracker_status_does_not_pull_back(self):
        """A tracker summary not refreshed yet (in transit) behind its newest
        scan (out for delivery) adds nothing: the scan stands."""
        self.generic.generic_webhook_format = "easypost"
        payload = easypost_event(
            self.number,
            [
                easypost_detail(
                    "in_transit",
                    "arrived_at_facility",
                    ago(hours=8),
                    "Arrived at USPS Regional Facility",
                ),
                easypost_detail(
                    "out_for_delivery",
                    "out_for_delivery",
                    ago(hours=1),
                    "Out for Delivery",
                ),
            ],
            status="in_transit",
            status_detail="arrived_at_facility",
            updated_at=ago(minutes=30),
        )
        response = self._post(payload, easypost_headers)
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["accepted"], 2)
        self.assertEqual(self.picking.shipment_state, "out_for_delivery")
        self.assertFalse(
            self._events().filtered(
                lambda e: (e.carrier_event_id or "").startswith("tracker:")
            )
        )

    def test_aftership_substatus_sets_state_and_incident_kind(self):
        self.generic.generic_webhook_format = "aftership"
        payload = aftership_webhook(
            self.number,
            [
                checkpoint(
                    "InTransit",
                    "InTransit_002",
                    ago(hours=30).replace("Z", "+00:00"),
                    "Shipment picked up",
                ),
                checkpoint(
                    "Exception",
                    "Exception_004",
                    ago(hours=3).replace("Z", "+00:00"),
                    "Held in customs: import documents required",
                    location="Brussels Airport, BEL",
                ),
            ],
            tag="Exception",
            subtag="Exception_004",
        )
        response = self._post(payload, aftership_headers)
        self.assertEqual(response.status_code, 200, response.text)
        self.assertRecordValues(
            self._events(),
            [
                {
                    "carrier_status_code": "InTransit",
                    "carrier_substatus_code": "InTransit_002",
                    "state": "in_transit",
                    "incident_kind": False,
                },
                {
                    "carrier_status_code": "Exception",
                    "carrier_substatus_code": "Exception_004",
                    "state": "exception",
                    "incident_kind": "customs",
                },
            ],
        )
        self.assertEqual(self.picking.shipment_state, "exception")

    def test_generic_pickup_point_is_recorded(self):
        deadline = ago(days=-5)
        body = self._body(
            self._event(
                self.number,
                "available_for_pickup",
                ago(hours=2),
                pickup_point={
                    "name": "Parcel shop Dupont",
                    "address": "Rue Haute 12, 1000 Brussels, BE",
                    "deadline": deadline,
                },
            )
        )
        response = self.url_open(
            self.url, data=body, headers=self._signed_headers(body)
        )
        self.assertEqual(response.status_code, 200, response.text)
        self.assertRecordValues(
            self._events(),
            [
                {
                    "state": "available_for_pickup",
                    "pickup_location": "Parcel shop Dupont, Rue Haute 12, "
                    "1000 Brussels, BE",
                    "pickup_deadline": datetime.strptime(
                        deadline, "%Y-%m-%dT%H:%M:%SZ"
                    ),
                }
            ],
        )
        self.assertEqual(self.picking.shipment_state, "available_for_pickup")

    def test_generic_placeholder_signer_is_not_stored(self):
        body = self._body(
            self._event(
                self.number,
                "delivered",
                ago(hours=2),
                proof_of_delivery={"signed_by": "SIGNATURE NOT REQUIRED"},
            )
        )
        self.url_open(self.url, data=body, headers=self._signed_headers(body))
        self.assertEqual(self.picking.shipment_state, "delivered")
        self.assertFalse(self._events().pod_signed_by)
        self.assertFalse(self.picking.shipment_pod_signed_by)

    def test_other_event_types_are_acknowledged_and_logged_once(self):
        """EasyPost posts every event type to the same URL."""
        self.generic.generic_webhook_format = "easypost"
        for kind in ("batch.created", "refund.successful"):
            webhook.IGNORED_KINDS_LOGGED.discard((self.generic.id, kind))
        with self.assertLogs(WEBHOOK_LOGGER, logging.DEBUG) as logs:
            for index, kind in enumerate(
                ("batch.created", "batch.created", "refund.successful", "batch.created")
            ):
                payload = {
                    "object": "Event",
                    "id": f"evt_other_{index}",
                    "description": kind,
                    "mode": "production",
                    "result": {"object": kind.split(".")[0].capitalize(), "id": "x"},
                }
                response = self._post(payload, easypost_headers)
                self.assertEqual(response.status_code, 200)
                self.assertTrue(response.json()["ignored"])
        ignored = [r for r in logs.records if "not tracking updates" in r.getMessage()]
        self.assertEqual(
            [(r.levelno, "batch.created" in r.getMessage()) for r in ignored],
            [
                (logging.INFO, True),
                (logging.DEBUG, True),
                (logging.INFO, False),
                (logging.DEBUG, True),
            ],
        )
        self.assertFalse(self._events())
