# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date, datetime

from freezegun import freeze_time

from odoo.tests import tagged

from .common import ShipmentTrackingCase


@tagged("post_install", "-at_install", "shipment_clock")
class TestCustomerPage(ShipmentTrackingCase):
    """What the customer reads first (headline), the progress bar and the
    day-grouped timeline, in the customer's language and time zone. The
    shipment leaves on Thursday 26 November 2026 (08:00 UTC) with a carrier
    taking two working days: expected on Monday 30 November."""

    def setUp(self):
        super().setUp()
        self.customer.tz = "Europe/Brussels"
        self.picking = self._create_delivery()
        self._fill_details(self.picking)
        self._set_tracking(self.picking, ref="PTL-9")
        self._validate(self.picking)

    def _event(self, when, state="in_transit", text=None, **values):
        values.update(
            tracking_ref="PTL-9",
            event_time=when,
            state=state,
            carrier_status_text=text,
        )
        self.env["stock.picking"]._shipment_apply_carrier_events([values], "manual")

    def _progress(self):
        return [
            (step["key"], step["status"])
            for step in self.picking._get_shipment_progress()
        ]

    def test_dispatched_arrives_on_the_estimated_day(self):
        self.assertEqual(self.picking.expected_delivery_date, date(2026, 11, 30))
        headline = self.picking._get_shipment_headline()
        self.assertEqual(
            headline,
            {
                "title": "Arriving Monday, November 30",
                "detail": "Shipped Thursday, November 26 with Test Express.",
                "tone": "primary",
            },
        )
        self.assertEqual(
            self._progress(),
            [
                ("dispatched", "current"),
                ("in_transit", "todo"),
                ("out_for_delivery", "todo"),
                ("delivered", "todo"),
            ],
        )
        self.assertEqual(
            self.picking._get_shipment_progress_text(),
            "Shipped › (In transit)",
        )
        with freeze_time("2026-11-29 10:00:00"):
            self.assertEqual(
                self.picking._get_shipment_headline()["title"], "Arriving tomorrow"
            )
        with freeze_time("2026-11-30 10:00:00"):
            self.assertEqual(
                self.picking._get_shipment_headline()["title"], "Arriving today"
            )

    def test_emails_name_the_day(self):
        """An email is read later than it is sent: "Arriving tomorrow" would be
        wrong the next day, so emails name the day."""
        emailed = self.picking.with_context(shipment_tracking_absolute_dates=True)
        for now in ("2026-11-29 10:00:00", "2026-11-30 10:00:00"):
            with self.subTest(now=now), freeze_time(now):
                self.assertEqual(
                    emailed._get_shipment_headline()["title"],
                    "Arriving Monday, November 30",
                )
        with freeze_time("2026-11-29 10:00:00"):
            update = self.env["shipment.tracking.notification"]._enqueue(
                self.picking, "late", "test:emailed-day"
            )
            self._run_notification_cron()
        self.assertIn("Monday, November 30", update.mail_message_id.body)
        self.assertNotIn("tomorrow", update.mail_message_id.body)

    def test_out_for_delivery_today(self):
        with freeze_time("2026-11-30 09:00:00"):
            self._event(datetime(2026, 11, 28, 9, 0), text="Sorted in Ghent")
            self._event(datetime(2026, 11, 30, 6, 30), "out_for_delivery")
            headline = self.picking._get_shipment_headline()
            self.assertEqual(headline["title"], "Out for delivery today")
            self.assertEqual(headline["tone"], "primary")
            self.assertEqual(
                self._progress(),
                [
                    ("dispatched", "done"),
                    ("in_transit", "done"),
                    ("out_for_delivery", "current"),
                    ("delivered", "todo"),
                ],
            )
        # Still out for delivery the next day: no "today" any more.
        with freeze_time("2026-12-01 07:00:00"):
            self.assertEqual(
                self.picking._get_shipment_headline()["title"], "Out for delivery"
            )

    def test_delivered_with_its_local_time(self):
        with freeze_time("2026-12-01 10:00:00"):
            # 13:32 UTC is 14:32 in Brussels.
            self._event(
                datetime(2026, 11, 29, 13, 32), "delivered", pod_signed_by="R. Roe"
            )
            headline = self.picking._get_shipment_headline()
            self.assertEqual(
                headline,
                {
                    "title": "Delivered Sunday, November 29 at 2:32 PM",
                    "detail": "Received by R. Roe.",
                    "tone": "success",
                },
            )
            self.assertTrue(
                all(
                    step["status"] == "done"
                    for step in self.picking._get_shipment_progress()
                )
            )
        with freeze_time("2026-11-29 20:00:00"):
            self.assertEqual(
                self.picking._get_shipment_headline()["title"],
                "Delivered today at 2:32 PM",
            )

    def test_headline_in_the_customer_language(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        self.env["res.lang"]._activate_lang("de_DE")
        self.env["ir.module.module"]._load_module_terms(
            ["shipment_tracking"], ["fr_FR", "de_DE"], overwrite=True
        )
        self.assertEqual(
            self.picking.with_context(lang="de_DE")._get_shipment_headline()["title"],
            "Zustellung voraussichtlich am Montag, 30. November",
        )
        with freeze_time("2026-12-01 10:00:00"):
            self._event(datetime(2026, 11, 29, 13, 32), "delivered")
            for lang, title in (
                ("fr_FR", "Livré le dimanche 29 novembre à 14:32"),
                ("de_DE", "Zugestellt am Sonntag, 29. November um 14:32"),
            ):
                picking = self.picking.with_context(lang=lang)
                self.assertEqual(picking._get_shipment_headline()["title"], title)

    def test_late_then_delayed_with_a_new_estimate(self):
        with freeze_time("2026-12-02 10:00:00"):
            self._event(datetime(2026, 11, 27, 9, 0))
            headline = self.picking._get_shipment_headline()
            self.assertEqual(
                headline["title"], "Delayed — we are following it up with the carrier"
            )
            self.assertEqual(headline["tone"], "warning")
            # The carrier gives a new date and says it is late itself.
            self._event(
                datetime(2026, 12, 2, 8, 0),
                text="Delayed by weather",
                expected_delivery_date=date(2026, 12, 3),
            )
            self.env["shipment.tracking.incident"]._open(
                self.picking, "carrier_delay", "Delayed by weather"
            )
            self.assertEqual(
                self.picking._get_shipment_headline()["title"],
                "Delayed — new estimate tomorrow",
            )
            self.assertEqual(
                self.picking._get_shipment_progress()[1],
                {
                    "key": "in_transit",
                    "label": "In transit",
                    "status": "current",
                    "tone": "warning",
                },
            )
        with freeze_time("2026-12-01 10:00:00"):
            self.assertEqual(
                self.picking._get_shipment_headline()["title"],
                "Delayed — new estimate Thursday, December 3",
            )

    def test_exception_says_what_happens_next(self):
        self._event(datetime(2026, 11, 27, 9, 0))
        self._event(datetime(2026, 11, 27, 15, 0), "exception", text="Address unknown")
        headline = self.picking._get_shipment_headline()
        self.assertEqual(
            headline["title"], "There is a problem with your parcel — we are on it"
        )
        self.assertIn("Write to us below", headline["detail"])
        self.assertEqual(headline["tone"], "warning")
        self.assertEqual(
            self._progress(),
            [
                ("dispatched", "done"),
                ("in_transit", "done"),
                ("exception", "current"),
                ("out_for_delivery", "todo"),
                ("delivered", "todo"),
            ],
        )

    def test_returned_replaces_the_delivery(self):
        self._event(datetime(2026, 11, 27, 9, 0), "returned", text="Refused")
        headline = self.picking._get_shipment_headline()
        self.assertEqual(headline["title"], "Your parcel is on its way back to us")
        self.assertIn("Write to us below", headline["detail"])
        self.assertEqual(headline["tone"], "danger")
        progress = self.picking._get_shipment_progress()
        self.assertEqual(
            [(step["key"], step["status"]) for step in progress],
            [("dispatched", "done"), ("returned", "current")],
        )
        self.assertEqual(progress[-1]["tone"], "danger")

    def test_available_for_pickup(self):
        self._event(
            datetime(2026, 11, 27, 9, 0),
            "available_for_pickup",
            pickup_location="Parcel Shop Zuid, Ghent",
            pickup_deadline=datetime(2026, 12, 3, 17, 0),
        )
        self.assertEqual(
            self.picking._get_shipment_headline(),
            {
                "title": "Ready for pickup",
                "detail": "Please collect it before 12/03/2026 6:00 PM.",
                "tone": "info",
            },
        )
        self.assertEqual(
            self._progress(),
            [
                ("dispatched", "done"),
                ("in_transit", "done"),
                ("available_for_pickup", "current"),
                ("delivered", "todo"),
            ],
        )

    def test_pending_and_cancelled(self):
        picking = self._create_delivery()
        self.assertEqual(
            picking._get_shipment_headline()["title"], "We are preparing your order"
        )
        self.assertTrue(
            all(step["status"] == "todo" for step in picking._get_shipment_progress())
        )
        picking.action_cancel()
        self.assertEqual(picking.shipment_state, "cancelled")
        self.assertEqual(picking._get_shipment_progress(), [])

    def test_timeline_grouped_by_local_day_with_carrier_words(self):
        # 23:30 UTC on Friday is already Saturday in Brussels.
        self._event(datetime(2026, 11, 27, 23, 30), text="Arrived at hub")
        self._event(
            datetime(2026, 11, 27, 10, 0),
            state=False,
            carrier_status_code="X-77",
            text="Held at depot for sorting",
        )
        self._event(
            datetime(2026, 11, 27, 8, 0), state=False, carrier_status_code="ZZ9"
        )
        timeline = self.picking._get_shipment_timeline()
        self.assertEqual(
            [group["label"] for group in timeline],
            ["Saturday, November 28, 2026", "Friday, November 27, 2026"],
        )
        self.assertEqual(
            timeline[0]["events"],
            [
                {
                    "time": "12:30 AM",
                    "title": "In Transit",
                    "text": "Arrived at hub",
                    "location": "",
                    "state": "in_transit",
                }
            ],
        )
        # Codes without a status show the carrier's words, else its code.
        self.assertEqual(
            [(e["time"], e["title"], e["text"]) for e in timeline[1]["events"]],
            [("11:00 AM", "Held at depot for sorting", ""), ("9:00 AM", "ZZ9", "")],
        )
        # The same events seen from New York: all on Friday.
        self.customer.tz = "America/New_York"
        timeline = self.picking._get_shipment_timeline()
        self.assertEqual(
            [group["label"] for group in timeline], ["Friday, November 27, 2026"]
        )
        self.assertEqual(
            [e["time"] for e in timeline[0]["events"]],
            ["6:30 PM", "5:00 AM", "3:00 AM"],
        )
