# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import hashlib
from datetime import date, datetime, timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo.tests import tagged
from odoo.tools import mute_logger

from ..tools import clean_pod_signer
from .common import ShipmentTrackingCase


class VendorMeaningCase(ShipmentTrackingCase):
    """A dispatched delivery with tracking number VM-1 (estimate 2026-12-01)
    and helpers sending its carrier's events at their own moment."""

    tracking_ref = "VM-1"

    def setUp(self):
        super().setUp()
        self.picking = self._dispatched(self.tracking_ref)

    def _dispatched(self, ref):
        picking = self._create_delivery()
        self._fill_details(picking)
        self._set_tracking(picking, ref=ref, edd=date(2026, 12, 1))
        with freeze_time("2026-11-26 10:00:00"):
            self._validate(picking)
        self._run_notification_cron()
        return picking

    def _apply(self, *events, carrier=None, ref=None):
        return self.env["stock.picking"]._shipment_apply_carrier_events(
            [dict({"tracking_ref": ref or self.tracking_ref}, **e) for e in events],
            "webhook",
            carrier=carrier,
        )

    def _event(self, state, when, **extra):
        """The carrier reports an event a few minutes after it happened."""
        with freeze_time(when + timedelta(minutes=5)):
            return self._apply(dict({"state": state, "event_time": when}, **extra))

    def _monitor(self, when):
        with freeze_time(when), patch.object(self.env.cr, "commit"):
            self.env["shipment.tracking.incident"]._cron_monitor()

    def _incidents(self, kind=None, picking=None):
        incidents = (picking or self.picking).shipment_incident_ids
        return incidents.filtered(lambda i: not kind or i.kind == kind)

    def _updates(self, kind):
        return self.picking.shipment_update_ids.filtered(lambda u: u.kind == kind)


@tagged("post_install", "-at_install", "shipment_clock")
class TestEventKey(VendorMeaningCase):
    """Two scans saying different things are two events, the same scan
    re-sent is one, and history stored under the old key stays single."""

    SCAN = {
        "state": "exception",
        "carrier_status_code": "EX",
        "event_time": datetime(2026, 11, 26, 14, 30),
        "location": "Ghent, BE",
    }

    def test_same_minute_and_place_different_texts_are_two_events(self):
        result = self._apply(
            dict(self.SCAN, carrier_status_text="Delivery attempted, no one home"),
            dict(self.SCAN, carrier_status_text="Notice left, parcel kept at depot"),
        )
        self.assertEqual(len(result["created"]), 2)
        self.assertEqual(len(self.picking.tracking_event_ids), 2)

    def test_same_minute_and_place_different_substatus_are_two_events(self):
        self._apply(
            dict(self.SCAN, carrier_substatus_code="Exception_004"),
            dict(self.SCAN, carrier_substatus_code="Exception_007"),
        )
        self.assertEqual(
            sorted(self.picking.tracking_event_ids.mapped("carrier_substatus_code")),
            ["Exception_004", "Exception_007"],
        )

    def test_exact_redelivery_is_one_event(self):
        scan = dict(self.SCAN, carrier_status_text="Customs clearance delay")
        self._apply(scan)
        # Re-sent by the webhook, then by a poll that spells it differently.
        again = self._apply(
            dict(scan),
            dict(scan, carrier_status_text="  CUSTOMS clearance   delay "),
        )
        self.assertEqual(again["duplicates"], 2)
        self.assertEqual(len(self.picking.tracking_event_ids), 1)
        self.assertTrue(self.picking.tracking_event_ids.event_key.startswith("v2:"))

    def test_carrier_event_id_is_the_key(self):
        self._apply(dict(self.SCAN, carrier_event_id="evt-1", carrier_status_text="a"))
        again = self._apply(
            dict(self.SCAN, carrier_event_id="evt-1", carrier_status_text="b")
        )
        self.assertEqual(again["duplicates"], 1)
        self.assertEqual(self.picking.tracking_event_ids.event_key, "id:evt-1")

    def test_event_stored_with_the_legacy_key_is_not_duplicated(self):
        """An event recorded before the upgrade (key ``sha1:`` over number,
        code, time and place) re-sent afterwards is recognised."""
        scan = dict(self.SCAN, carrier_status_text="Delivery attempted")
        legacy_raw = "VM-1|EX|2026-11-26 14:30:00|Ghent, BE"
        legacy_key = "sha1:" + hashlib.sha1(legacy_raw.encode()).hexdigest()
        self.env["shipment.tracking.event"].create(
            dict(
                scan,
                tracking_ref="VM-1",
                picking_id=self.picking.id,
                event_key=legacy_key,
                source="webhook",
            )
        )
        result = self._apply(dict(scan))
        self.assertEqual(result["duplicates"], 1)
        self.assertEqual(self.picking.tracking_event_ids.event_key, legacy_key)
        # The trade-off: on that shipment, the old key still merges scans of
        # the same minute and place.
        self.assertEqual(
            self._apply(dict(scan, carrier_status_text="Other text"))["duplicates"], 1
        )
        # A scan at another time is new, under the new key.
        later = dict(scan, event_time=datetime(2026, 11, 26, 15, 0))
        self.assertEqual(len(self._apply(later)["created"]), 1)
        self.assertEqual(len(self.picking.tracking_event_ids), 2)


@tagged("post_install", "-at_install", "shipment_clock")
class TestCarrierIncidents(VendorMeaningCase):
    """What a carrier's sub-status says opens that incident."""

    def test_substatus_opens_its_incident_and_tells_the_customer(self):
        self._event(
            "exception",
            datetime(2026, 11, 27, 9, 0),
            incident_kind="address",
            carrier_status_text="Address incomplete, apartment number missing",
        )
        incident = self._incidents("address")
        self.assertRecordValues(
            incident,
            [
                {
                    "is_open": True,
                    "reason": "Address incomplete, apartment number missing",
                }
            ],
        )
        self.assertFalse(self._incidents("exception"), "the kind replaces it")
        update = self._updates("exception")
        self.assertEqual(update.incident_id, incident)
        activity = self.picking.activity_ids.filtered(
            lambda a: "Address problem" in (a.summary or "")
        )
        self.assertEqual(activity.user_id, self.user_cs)
        self._monitor("2026-11-27 12:00:00")
        self.assertEqual(len(self._incidents()), 1, "opened once")
        self._run_notification_cron()
        mail = self.env["mail.mail"].search(
            [("mail_message_id", "=", update.mail_message_id.id)]
        )
        self.assertIn("apartment number missing", mail.body_html)
        # The parcel moves on: closed, and the customer hears it.
        self._event("in_transit", datetime(2026, 11, 28, 9, 0))
        self.assertTrue(incident.closed_at)
        self.assertEqual(len(self._updates("recovered")), 1)

    def test_carrier_delay_without_status_change_is_a_delay(self):
        self._event("in_transit", datetime(2026, 11, 27, 9, 0))
        self._event(
            "in_transit",
            datetime(2026, 11, 27, 18, 0),
            incident_kind="carrier_delay",
            carrier_status_text="Weather delay",
        )
        self.assertEqual(self.picking.shipment_state, "in_transit")
        self.assertEqual(self._incidents("carrier_delay").reason, "Weather delay")
        self.assertEqual(len(self._updates("late")), 1)
        self.assertFalse(self._updates("exception"))
        # A customs hold next is a delay too: no second delay update.
        self._event(
            "in_transit",
            datetime(2026, 11, 28, 9, 0),
            incident_kind="customs",
            carrier_status_code="HOLD",
        )
        self.assertTrue(self._incidents("customs").is_open)
        self.assertEqual(self._incidents("customs").reason, "Held in customs")
        self.assertFalse(self._incidents("carrier_delay").is_open)
        self.assertEqual(len(self._updates("late")), 1)

    def test_returned_event_returns_the_shipment(self):
        self._event(
            "returned",
            datetime(2026, 11, 29, 9, 0),
            incident_kind="refused",
            carrier_status_text="Refused by recipient, returning to sender",
        )
        self.assertEqual(self.picking.shipment_state, "returned")
        incident = self._incidents()
        self.assertEqual(incident.kind, "returned")
        self.assertIn("Refused by recipient", incident.reason)
        self.assertEqual(len(self._updates("returned")), 1)
        self.assertFalse(self._updates("exception"))

    def test_carrier_cannot_report_a_monitor_kind(self):
        """Late, stalled, too long out for delivery and exception are the
        monitor's own findings: no event carries them, so nothing opens an
        incident the monitor would never re-check."""
        Event = self.env["shipment.tracking.event"]
        kinds = dict(Event._fields["incident_kind"]._description_selection(self.env))
        self.assertEqual(kinds["customs"], "Held in customs")
        for kind in ("late", "stalled", "out_for_delivery_long", "exception"):
            self.assertNotIn(kind, kinds)
            with self.assertRaises(ValueError):
                Event.create(
                    {
                        "picking_id": self.picking.id,
                        "event_time": datetime(2026, 11, 27, 9, 0),
                        "event_key": f"test:{kind}",
                        "incident_kind": kind,
                    }
                )


@tagged("post_install", "-at_install", "shipment_clock")
class TestReadyForPickup(VendorMeaningCase):
    PICKUP = {
        "pickup_location": "Parcel Shop Zuid, Kortrijksesteenweg 12, Ghent",
        # 17:00 UTC is 18:00 in Brussels in December.
        "pickup_deadline": datetime(2026, 12, 3, 17, 0),
        "carrier_status_text": "Available for pickup",
    }

    def test_pickup_point_deadline_and_customer_update(self):
        self.customer.tz = "Europe/Brussels"
        self._event(
            "available_for_pickup", datetime(2026, 11, 28, 11, 0), **self.PICKUP
        )
        self.assertRecordValues(
            self.picking,
            [
                {
                    "shipment_state": "available_for_pickup",
                    "shipment_pickup_location": self.PICKUP["pickup_location"],
                    "shipment_pickup_deadline": self.PICKUP["pickup_deadline"],
                }
            ],
        )
        deadline = self.picking._get_shipment_pickup_deadline_local()
        self.assertIn("12/03/2026", deadline)
        self.assertIn("6:00 PM", deadline)
        update = self._updates("available_for_pickup")
        self.assertEqual(len(update), 1)
        self._run_notification_cron()
        mail = self.env["mail.mail"].search(
            [("mail_message_id", "=", update.mail_message_id.id)]
        )
        self.assertIn("ready for pickup", mail.subject)
        self.assertIn("Kortrijksesteenweg 12", mail.body_html)
        self.assertIn(deadline, mail.body_html)
        self.assertEqual(mail.recipient_ids, self.customer)

    def test_setting_turns_the_update_off(self):
        self.company.shipment_notify_available_for_pickup = False
        self._event(
            "available_for_pickup", datetime(2026, 11, 28, 11, 0), **self.PICKUP
        )
        self.assertEqual(self.picking.shipment_state, "available_for_pickup")
        self.assertFalse(self._updates("available_for_pickup"))

    def test_waiting_at_a_pickup_point_is_not_out_for_delivery_too_long(self):
        """Neither out for delivery too long, nor late, nor stalled: the
        parcel arrived, the customer holds the next step."""
        self._event("out_for_delivery", datetime(2026, 11, 28, 7, 0))
        self._monitor("2026-11-29 08:00:00")  # 25 hours: over the 24 hour limit
        self.assertTrue(self._incidents("out_for_delivery_long").is_open)
        self._event("available_for_pickup", datetime(2026, 11, 29, 9, 0), **self.PICKUP)
        self.assertFalse(self._incidents("out_for_delivery_long").is_open)
        self.assertFalse(self._updates("recovered"), "the pickup update says it")
        # Days later: past the limit, the estimate and the stalled hours.
        self._monitor("2026-12-04 08:00:00")
        self.assertFalse(self.picking.shipment_has_incident)
        self.assertEqual(len(self._incidents()), 1)
        with freeze_time("2026-12-04 08:00:00"):
            self.assertEqual(
                self.env["shipment.tracking.incident"]._detect_incidents(
                    self.picking, datetime(2026, 12, 4, 8)
                ),
                {},
            )
            self.picking.invalidate_recordset(["shipment_is_late"])
            self.assertFalse(self.picking.shipment_is_late)

    def test_newest_pickup_point_wins_and_stays_after_collection(self):
        self._event(
            "available_for_pickup", datetime(2026, 11, 28, 11, 0), **self.PICKUP
        )
        self._event(
            "available_for_pickup",
            datetime(2026, 11, 29, 11, 0),
            pickup_location="Locker 7, Station Ghent",
            pickup_deadline=False,
        )
        self.assertEqual(
            self.picking.shipment_pickup_location, "Locker 7, Station Ghent"
        )
        self.assertFalse(self.picking.shipment_pickup_deadline)
        self.assertEqual(len(self._updates("available_for_pickup")), 1)
        self._event("delivered", datetime(2026, 11, 30, 11, 0))
        self.assertEqual(self.picking.shipment_state, "delivered")
        self.assertEqual(
            self.picking.shipment_pickup_location, "Locker 7, Station Ghent"
        )


@tagged("post_install", "-at_install", "shipment_clock")
class TestHandoverNumbers(VendorMeaningCase):
    def test_next_number_reaches_the_same_shipment(self):
        self._event(
            "in_transit",
            datetime(2026, 11, 27, 9, 0),
            carrier_status_text="Handed over to local delivery partner",
            next_tracking_refs=[" LOCAL-9 ", "VM-1", 42, ""],
        )
        numbers = self.picking.tracking_number_ids
        self.assertEqual(sorted(numbers.mapped("name")), ["LOCAL-9", "VM-1"])
        handover = numbers.filtered("is_handover")
        self.assertEqual(handover.name, "LOCAL-9")
        self.assertFalse(handover.package_id)
        self.assertFalse(handover.tracking_url, "another carrier's number")
        with freeze_time("2026-11-28 10:00:00"):
            result = self._apply(
                {"state": "out_for_delivery", "event_time": datetime(2026, 11, 28, 9)},
                ref="LOCAL-9",
                carrier=self.carrier,
            )
        self.assertEqual(result["created"].picking_id, self.picking)
        self.assertEqual(self.picking.shipment_state, "out_for_delivery")
        # Logistics corrects the delivery's own number: the hand-over stays.
        self.picking.with_user(self.user_logistics).carrier_tracking_ref = "VM-1B"
        self.assertEqual(
            sorted(self.picking.tracking_number_ids.mapped("name")),
            ["LOCAL-9", "VM-1B"],
        )

    def test_number_of_another_company_is_skipped_not_raised(self):
        other = self._other_company_delivery()
        other.carrier_tracking_ref = "LOCAL-9"
        with mute_logger(
            "odoo.addons.shipment_tracking.models.shipment_tracking_number"
        ):
            result = self._event(
                "in_transit",
                datetime(2026, 11, 27, 9, 0),
                next_tracking_refs=["LOCAL-9"],
            )
        self.assertEqual(len(result["created"]), 1)
        self.assertEqual(self.picking.shipment_state, "in_transit")
        self.assertEqual(self.picking.tracking_number_ids.mapped("name"), ["VM-1"])
        self.assertEqual(other.tracking_number_ids.mapped("name"), ["LOCAL-9"])

    def test_number_of_another_open_shipment_is_never_taken_over(self):
        """A hand-over claim on a number another open shipment of the same
        company holds would divert that parcel's events (newest shipment
        wins): it is skipped, and that parcel's events stay its own."""
        other = self._dispatched("VM-OTHER")
        newer = self._dispatched("VM-NEWER")
        with mute_logger(
            "odoo.addons.shipment_tracking.models.shipment_tracking_number"
        ):
            self._apply(
                {
                    "state": "in_transit",
                    "event_time": datetime(2026, 11, 27, 9, 0),
                    "next_tracking_refs": ["VM-OTHER"],
                },
                ref="VM-NEWER",
            )
        self.assertEqual(newer.tracking_number_ids.mapped("name"), ["VM-NEWER"])
        result = self._apply(
            {"state": "out_for_delivery", "event_time": datetime(2026, 11, 27, 10)},
            ref="VM-OTHER",
        )
        self.assertEqual(result["created"].picking_id, other)
        self.assertEqual(other.shipment_state, "out_for_delivery")
        self.assertEqual(newer.shipment_state, "in_transit")

    def test_own_number_ranks_before_a_handover_claim(self):
        """Should a hand-over row and a delivery's own row share a number
        (the own one added later), the number's events reach its owner."""
        newer = self._dispatched("VM-N2")
        claim = self.env["shipment.tracking.number"].create(
            {"name": self.tracking_ref, "picking_id": newer.id, "is_handover": True}
        )
        own = self.picking.tracking_number_ids
        self.assertGreater(claim.id, own.id)
        self.assertEqual(newer.shipment_date, self.picking.shipment_date)
        by_name = (claim | own)._shipment_by_name()
        self.assertEqual(by_name[self.tracking_ref].picking_id, self.picking)


@tagged("post_install", "-at_install", "shipment_clock")
class TestRecycledNumbers(VendorMeaningCase):
    def test_event_reaches_the_new_open_shipment_only(self):
        self._event("delivered", datetime(2026, 11, 27, 9, 0))
        new = self._dispatched(self.tracking_ref)
        with freeze_time("2026-11-28 10:00:00"):
            result = self._apply(
                {"state": "in_transit", "event_time": datetime(2026, 11, 28, 9)},
                carrier=self.carrier,
            )
        self.assertEqual(result["created"].picking_id, new)
        self.assertEqual(new.shipment_state, "in_transit")
        self.assertEqual(len(self.picking.tracking_event_ids), 1)
        self.assertEqual(self.picking.shipment_state, "delivered")

    def test_no_open_shipment_and_closed_too_long_ago(self):
        """With no open shipment for the number, a scan later than the closed
        grace after delivery is another parcel's: refused, not recorded."""
        self._event("delivered", datetime(2026, 11, 27, 9, 0))
        later = datetime(2026, 12, 10, 9, 0)  # more than CLOSED_GRACE_DAYS
        with freeze_time(later):
            result = self._apply(
                {"state": "in_transit", "event_time": later}, carrier=self.carrier
            )
        self.assertFalse(result["created"])
        self.assertIn("after the shipment was closed", result["rejected"][0]["reason"])
        self.assertEqual(len(self.picking.tracking_event_ids), 1)
        self.assertEqual(self.picking.shipment_state, "delivered")


@tagged("post_install", "-at_install", "shipment_clock")
class TestSignerPlaceholders(VendorMeaningCase):
    def test_placeholders_are_no_signer(self):
        for value in ("Signature not required", " N/A ", "not required.", "NONE"):
            with self.subTest(value=value):
                self.assertFalse(clean_pod_signer(value))
        self.assertEqual(clean_pod_signer(" Marie  Curie "), "Marie Curie")
        self._event(
            "delivered",
            datetime(2026, 11, 28, 9, 0),
            pod_signed_by="Signature not required",
            pod_photo_url="https://carrier.example/pod/1.jpg",
            pod_signature_url="https://carrier.example/sig/1.png",
        )
        self.assertEqual(self.picking.shipment_state, "delivered")
        self.assertFalse(self.picking.shipment_pod_signed_by)
        self.assertFalse(self.picking.tracking_event_ids.pod_signed_by)
        self.assertEqual(
            self.picking.shipment_pod_photo_url, "https://carrier.example/pod/1.jpg"
        )

    def test_real_signer_is_kept(self):
        self._event("delivered", datetime(2026, 11, 28, 9, 0), pod_signed_by="NADIA")
        self.assertEqual(self.picking.shipment_pod_signed_by, "NADIA")
