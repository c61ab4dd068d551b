# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date, datetime

from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common import ShipmentTrackingCase


@tagged("post_install", "-at_install", "shipment_clock")
class TestTrackingEvents(ShipmentTrackingCase):
    """The carrier-neutral event machinery any connector feeds."""

    def setUp(self):
        super().setUp()
        self.picking = self._create_delivery()
        self._fill_details(self.picking)
        self._set_tracking(self.picking, ref="TRK-1")
        self._validate(self.picking)

    def _apply(self, *events, source="manual"):
        return self.env["stock.picking"]._shipment_apply_carrier_events(
            [dict({"tracking_ref": "TRK-1"}, **event) for event in events], source
        )

    def test_tracking_numbers_follow_the_reference(self):
        self.assertEqual(self.picking.tracking_number_ids.mapped("name"), ["TRK-1"])
        self.assertEqual(
            self.picking.tracking_number_ids.tracking_url,
            "https://track.example/t?n=TRK-1",
        )

    def test_events_recorded_once(self):
        event = {
            "state": "in_transit",
            "carrier_status_code": "IT",
            "event_time": datetime(2026, 11, 20, 8, 0),
            "location": "Ghent, BE",
        }
        first = self._apply(event)
        again = self._apply(event, dict(event))
        self.assertEqual(len(first["created"]), 1)
        self.assertEqual(again["duplicates"], 2)
        self.assertEqual(len(self.picking.tracking_event_ids), 1)
        self.assertEqual(self.picking.shipment_state, "in_transit")

    def test_newest_event_by_time_wins_and_final_is_final(self):
        self._apply(
            {
                "state": "delivered",
                "event_time": datetime(2026, 11, 22, 10, 0),
                "pod_signed_by": "A. Smith",
                "carrier_event_id": "e3",
            },
            {
                "state": "in_transit",
                "event_time": datetime(2026, 11, 20, 10, 0),
                "carrier_event_id": "e1",
            },
        )
        self.assertEqual(self.picking.shipment_state, "delivered")
        self.assertEqual(self.picking.shipment_pod_signed_by, "A. Smith")
        self._apply(
            {
                "state": "exception",
                "event_time": datetime(2026, 11, 23, 10, 0),
                "carrier_event_id": "e4",
            }
        )
        self.assertEqual(self.picking.shipment_state, "delivered")
        self.assertEqual(len(self.picking.tracking_event_ids), 3)
        # Recorded, but a closed shipment is history: its dates stay.
        self.assertEqual(
            self.picking.shipment_last_event_date, datetime(2026, 11, 22, 10, 0)
        )

    def test_edd_follows_the_newest_estimate(self):
        self._apply(
            {
                "state": "in_transit",
                "event_time": datetime(2026, 11, 21, 10, 0),
                "expected_delivery_date": date(2030, 1, 9),
                "carrier_event_id": "b",
            },
            {
                "state": "in_transit",
                "event_time": datetime(2026, 11, 20, 10, 0),
                "expected_delivery_date": date(2030, 1, 2),
                "carrier_event_id": "a",
            },
        )
        self.assertEqual(self.picking.expected_delivery_date, date(2030, 1, 9))

    def test_unknown_numbers_and_unmapped_codes(self):
        result = self.env["stock.picking"]._shipment_apply_carrier_events(
            [
                {"tracking_ref": "NOPE", "event_time": datetime(2026, 11, 20)},
                {
                    "tracking_ref": "TRK-1",
                    "event_time": datetime(2026, 11, 20),
                    "carrier_status_code": "ZZ",
                    "state": False,
                },
            ],
            "webhook",
        )
        self.assertEqual(result["unknown"], ["NOPE"])
        self.assertEqual(len(result["created"]), 1)
        self.assertEqual(self.picking.shipment_state, "dispatched")

    def test_status_changes_are_logged_in_the_chatter(self):
        self._apply(
            {
                "state": "out_for_delivery",
                "event_time": datetime(2026, 11, 21, 7, 0),
                "carrier_status_text": "<b>On the van</b>",
                "location": "Ghent, BE",
            }
        )
        body = self.picking.message_ids[0].body
        self.assertIn("Carrier update: Out for Delivery", body)
        self.assertIn("&lt;b&gt;On the van&lt;/b&gt; · Ghent, BE · TRK-1", body)

    def test_older_carrier_estimate_never_undoes_a_manual_edd(self):
        self._apply(
            {
                "state": "in_transit",
                "event_time": datetime(2026, 11, 21, 10, 0),
                "expected_delivery_date": date(2030, 1, 9),
                "carrier_event_id": "c1",
            }
        )
        wizard = (
            self.env["stock.picking.update.shipment"]
            .with_user(self.user_logistics)
            .create(
                {
                    "picking_id": self.picking.id,
                    "expected_delivery_date": date(2030, 2, 1),
                }
            )
        )
        self.assertEqual(wizard.carrier_tracking_ref, "TRK-1", "kept, not emptied")
        wizard.action_apply()
        self.assertEqual(self.picking.expected_delivery_date, date(2030, 2, 1))
        self.assertEqual(self.picking.carrier_tracking_ref, "TRK-1")
        # A late-arriving older scan with the old estimate changes nothing...
        self._apply(
            {
                "state": "in_transit",
                "event_time": datetime(2026, 11, 22, 10, 0),
                "expected_delivery_date": date(2030, 1, 9),
                "carrier_event_id": "c2",
            }
        )
        self.assertEqual(self.picking.expected_delivery_date, date(2030, 2, 1))
        # ...a newer carrier estimate does.
        self._apply(
            {
                "state": "in_transit",
                "event_time": datetime(2099, 1, 1, 10, 0),
                "expected_delivery_date": date(2030, 3, 3),
                "carrier_event_id": "c3",
            }
        )
        self.assertEqual(self.picking.expected_delivery_date, date(2030, 3, 3))

    def test_open_number_belongs_to_one_shipment(self):
        """A delivery of another company cannot take the number of an open
        shipment with the same carrier: its events would reach the wrong
        company."""
        other = self._other_company_delivery()
        # assertRaises (not ...Regex) rolls its savepoint back.
        with self.assertRaises(ValidationError) as caught:
            other.carrier_tracking_ref = "TRK-1"
        self.assertIn("open shipment of another company", str(caught.exception))
        Number = self.env["shipment.tracking.number"]
        self.assertFalse(Number.search([("picking_id", "=", other.id)]))
        # The same number in the same company is the newest open shipment's.
        second = self._create_delivery()
        second.carrier_tracking_ref = "TRK-1"
        self.assertEqual(second.tracking_number_ids.name, "TRK-1")

    def test_recycled_number_reaches_the_open_shipment_only(self):
        self._apply({"state": "delivered", "event_time": datetime(2026, 11, 24, 9)})
        self.assertEqual(self.picking.shipment_state, "delivered")
        # The carrier gives the number to a new parcel once the first is done.
        second = self._create_delivery()
        self._fill_details(second)
        self._set_tracking(second, ref="TRK-1")
        self._validate(second)
        result = self._apply(
            {"state": "in_transit", "event_time": datetime(2026, 11, 26, 9)}
        )
        self.assertEqual(result["created"].picking_id, second)
        self.assertEqual(second.shipment_state, "in_transit")
        self.assertEqual(len(self.picking.tracking_event_ids), 1)
        self.assertEqual(self.picking.shipment_state, "delivered")

    def test_polled_answers_reach_the_polled_batch_only(self):
        """A poll answer names numbers; only the batch that asked takes them."""
        result = (
            self.env["stock.picking"]
            .browse(self._create_delivery().id)
            ._shipment_apply_carrier_events(
                [{"tracking_ref": "TRK-1", "event_time": datetime(2026, 11, 26, 9)}],
                "poll",
            )
        )
        self.assertEqual(result["unknown"], ["TRK-1"])
        self.assertFalse(self.picking.tracking_event_ids)

    def test_open_shipment_wins_over_a_newer_closed_one(self):
        newer = self._create_delivery()
        self._fill_details(newer)
        self._set_tracking(newer, ref="TRK-1")
        self._validate(newer)
        newer.with_context(
            shipment_tracking_force_state=True
        ).shipment_state = "delivered"
        result = self._apply(
            {"state": "in_transit", "event_time": datetime(2026, 11, 26, 9)}
        )
        self.assertEqual(result["created"].picking_id, self.picking)
        self.assertFalse(newer.tracking_event_ids)

    def test_a_late_scan_does_not_write_the_shipment(self):
        """A scan older than the newest one is recorded, and the shipment,
        which shows nothing new, is not written (not even its write date or
        last writer)."""
        self._apply(
            {
                "state": "in_transit",
                "carrier_status_code": "IT",
                "event_time": datetime(2026, 11, 21, 8, 0),
            }
        )
        self.env.flush_all()
        writer = self.picking.write_uid
        # sudo: as the connectors apply events; another user, to see a write.
        late = (
            self.env["stock.picking"]
            .with_user(self.user_warehouse)
            .sudo()
            ._shipment_apply_carrier_events(
                [
                    {
                        "tracking_ref": "TRK-1",
                        "state": "in_transit",
                        "carrier_status_code": "IT",
                        "event_time": datetime(2026, 11, 20, 8, 0),
                    }
                ],
                "manual",
            )
        )
        self.env.flush_all()
        self.assertEqual(len(late["created"]), 1)
        self.picking.invalidate_recordset()
        self.assertNotEqual(writer, self.user_warehouse)
        self.assertEqual(self.picking.write_uid, writer)
        self.assertEqual(
            self.picking.shipment_last_event_date, datetime(2026, 11, 21, 8, 0)
        )
        self.assertEqual(len(self.picking.tracking_event_ids), 2)

    def test_closed_shipment_is_history(self):
        """A late, replayed or recycled-number scan changes nothing on a
        delivered shipment: proof of delivery, last event date and estimate
        stay, and a carrier's scan long after delivery is refused."""
        self._apply(
            {
                "state": "delivered",
                "event_time": datetime(2026, 11, 10, 9),
                "pod_signed_by": "A. Smith",
                "carrier_event_id": "d1",
            }
        )
        before = self.picking.read(
            [
                "shipment_pod_signed_by",
                "shipment_last_event_date",
                "expected_delivery_date",
                "shipment_delivered_date",
            ]
        )
        self._apply(
            {
                "state": "delivered",
                "event_time": datetime(2026, 11, 12, 9),
                "pod_signed_by": "Stranger",
                "pod_photo_url": "https://evil.example/p.jpg",
                "expected_delivery_date": date(2026, 12, 20),
                "carrier_event_id": "d2",
            }
        )
        self.assertEqual(
            self.picking.read([k for k in before[0] if k != "id"]),
            before,
        )
        result = self.env["stock.picking"]._shipment_apply_carrier_events(
            [
                {
                    "tracking_ref": "TRK-1",
                    "state": "in_transit",
                    "event_time": datetime(2026, 11, 18, 9),
                }
            ],
            "webhook",
            carrier=self.carrier,
        )
        self.assertIn("after the shipment was closed", result["rejected"][0]["reason"])
