# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo import fields
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger

from .common import SandboxCarrierMixin

# The status each sandbox scenario drives a shipment through, clock hour by hour.
SCENARIOS = {
    "normal": [
        (5, "in_transit"),
        (37, "out_for_delivery"),
        (43, "delivered"),
    ],
    "delayed": [
        (13, "in_transit"),
        (31, "in_transit"),
        (85, "out_for_delivery"),
        (91, "delivered"),
    ],
    "exception_recovered": [(15, "exception"), (27, "in_transit"), (47, "delivered")],
    "returned": [(31, "exception"), (81, "returned")],
    "pickup_point": [(37, "available_for_pickup"), (61, "delivered")],
    "lost": [(13, "in_transit"), (200, "in_transit")],
}


@tagged("post_install", "-at_install", "shipment_clock")
class TestPolling(SandboxCarrierMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The cron polls every carrier of the database: here only ours, so
        # that counts hold on a database that has other generic carriers.
        cls.env["delivery.carrier"].search(
            [("delivery_type", "=", "generic"), ("id", "!=", cls.generic.id)]
        ).active = False

    def _poll(self):
        """Run the polling cron now (it commits per batch: counted, not done)."""
        # sudo: what the cron writes.
        Number = self.env["shipment.tracking.number"].sudo()
        Number.search([]).write({"next_poll_date": False})
        with patch.object(self.env.cr, "commit") as commit:
            Number._cron_poll()
        return commit.call_count

    def test_each_scenario_drives_the_right_statuses(self):
        for scenario, steps in SCENARIOS.items():
            with self.subTest(scenario=scenario):
                self.sandbox.reset()
                picking = self._booked(scenario=scenario)
                elapsed = 0
                for hour, expected in steps:
                    self.sandbox.advance_clock(hour - elapsed)
                    elapsed = hour
                    self._poll()
                    self.assertEqual(picking.shipment_state, expected, f"hour {hour}")
                self.assertTrue(picking.tracking_event_ids)
                self.assertEqual(
                    set(picking.tracking_event_ids.mapped("source")), {"poll"}
                )

    def test_delay_moves_the_edd(self):
        picking = self._booked(scenario="delayed")
        before = picking.expected_delivery_date
        self.sandbox.advance_clock(31)
        self._poll()
        self.assertEqual(picking.expected_delivery_date, before + timedelta(days=2))

    def test_proof_of_delivery_kept(self):
        picking = self._booked(scenario="normal")
        self.sandbox.advance_clock(43)
        self._poll()
        self.assertEqual(picking.shipment_state, "delivered")
        self.assertEqual(picking.shipment_pod_signed_by, self.customer.name)
        self.assertTrue(picking.shipment_pod_signature_url.startswith(self.sandbox.url))

    def test_polling_twice_records_nothing_new(self):
        picking = self._booked()
        self.sandbox.advance_clock(13)
        self._poll()
        count = len(picking.tracking_event_ids)
        self._poll()
        self.assertEqual(len(picking.tracking_event_ids), count)

    def test_batches_commit_and_closed_shipments_are_not_polled(self):
        pickings = self._booked() | self._booked() | self._booked()
        with patch.object(
            type(self.generic), "_shipment_poll_batch_size", lambda self: 2
        ):
            commits = self._poll()
        # One after listing what is due (a fresh snapshot), one per batch.
        self.assertEqual(commits, 3)
        pickings[0].with_context(
            shipment_tracking_force_state=True
        ).shipment_state = "delivered"
        self.sandbox.configure(fail_next=100)
        self._poll()
        self.assertFalse(pickings[0].shipment_poll_error)
        self.assertTrue(pickings[1].shipment_poll_error)

    def test_unreachable_carrier_ends_its_turn(self):
        pickings = self._booked() | self._booked() | self._booked() | self._booked()
        self.generic.generic_max_retries = 0
        self.sandbox.configure(fail_next=100)
        with patch.object(
            type(self.generic), "_shipment_poll_batch_size", lambda self: 2
        ):
            self._poll()
        # The first batch failed and is shown; the second was not asked for
        # (still due, no error): its turn comes in the next run.
        self.assertEqual(
            [bool(p.shipment_poll_error) for p in pickings], [True, True, False, False]
        )
        self.assertFalse(pickings[2:].tracking_number_ids.mapped("next_poll_date")[0])

    def test_a_number_polled_meanwhile_is_not_claimed(self):
        first, second = self._booked(), self._booked()
        # sudo: the polling bookkeeping is the system's.
        numbers = (first | second).tracking_number_ids.sudo()
        numbers.write({"next_poll_date": False})
        # Another run polled the second one after this run listed it.
        second.tracking_number_ids.sudo().write(
            {"next_poll_date": fields.Datetime.add(fields.Datetime.now(), hours=1)}
        )
        self.assertEqual(numbers._poll_claim(), first.tracking_number_ids)

    def test_failing_carrier_is_visible_and_backs_off(self):
        picking = self._booked()
        self.generic.generic_max_retries = 0
        self.sandbox.configure(fail_next=10)
        now = fields.Datetime.now()
        self._poll()
        self.assertIn("503", picking.shipment_poll_error)
        self.assertIn("503", self.generic.shipment_poll_error)
        self.assertEqual(picking.tracking_number_ids.poll_idle_count, 1)
        self.assertGreaterEqual(
            picking.shipment_next_poll_date, now + timedelta(hours=2)
        )
        self.sandbox.configure(fail_next=0)
        self.sandbox.advance_clock(5)
        self._poll()
        self.assertFalse(picking.shipment_poll_error)
        self.assertFalse(self.generic.shipment_poll_error)
        self.assertEqual(picking.shipment_state, "in_transit")

    def test_faults_are_retried_without_losing_events(self):
        picking = self._booked()
        self.sandbox.advance_clock(13)
        # A malformed answer is not retried (see test_http_client).
        self.sandbox.configure(throttle_next=1, fail_next=1)
        self.generic.generic_max_retries = 3
        self._poll()
        self.assertFalse(picking.shipment_poll_error)
        self.assertEqual(picking.shipment_state, "in_transit")
        self.assertEqual(
            picking.tracking_event_ids.sorted("event_time").mapped(
                "carrier_status_code"
            ),
            ["label_created", "picked_up", "in_transit"],
        )

    def test_news_resets_the_back_off_of_its_numbers_only(self):
        news, quiet = self._booked(), self._booked()
        # sudo: the polling bookkeeping is the system's.
        numbers = (news | quiet).tracking_number_ids.sudo()
        numbers.write({"poll_idle_count": 3, "poll_error": "Polling failed: 503"})
        # A webhook brings news of the first shipment only.
        applied = self.env["stock.picking"]._shipment_apply_carrier_events(
            [
                {
                    "tracking_ref": news.tracking_number_ids.name,
                    "event_time": fields.Datetime.now(),
                    "carrier_status_code": "picked_up",
                    "state": "in_transit",
                }
            ],
            "webhook",
            self.generic,
        )
        self.assertTrue(applied["created"])
        self.assertEqual(news.tracking_number_ids.poll_idle_count, 0)
        self.assertFalse(news.tracking_number_ids.poll_error)
        self.assertEqual(quiet.tracking_number_ids.poll_idle_count, 3)
        self.assertEqual(quiet.tracking_number_ids.poll_error, "Polling failed: 503")

    def test_no_news_backs_off_then_expires(self):
        self.generic.shipment_expire_days = 10
        picking = self._booked(scenario="lost")
        self.sandbox.advance_clock(13)
        self._poll()
        self.assertEqual(picking.tracking_number_ids.poll_idle_count, 0)
        self._poll()
        self._poll()
        self.assertEqual(picking.tracking_number_ids.poll_idle_count, 2)
        last = picking.shipment_last_event_date
        with freeze_time(last + timedelta(days=11)):
            self._poll()
        self.assertEqual(picking.shipment_state, "expired")
        Number = self.env["shipment.tracking.number"]
        self.assertFalse(
            picking.tracking_number_ids
            & Number.search(Number._poll_domain(self.generic)),
        )

    def test_each_number_keeps_its_own_schedule(self):
        """Two numbers on one delivery, one with news, one the carrier does
        not know: each has its own next poll, back-off and error; the
        delivery shows the soonest poll and the error."""
        picking = self._booked()
        booked = picking.tracking_number_ids
        # sudo: Logistics adds a number by hand (the wizard's write).
        ref = f"{picking.carrier_tracking_ref},LOCAL-404"
        picking.sudo().carrier_tracking_ref = ref
        local = picking.tracking_number_ids - booked
        self.assertEqual(local.name, "LOCAL-404")
        self.sandbox.advance_clock(13)
        start = fields.Datetime.now().replace(microsecond=0)
        with freeze_time(start):
            self._poll()
        self.assertEqual(picking.shipment_state, "in_transit")
        self.assertRecordValues(
            booked | local,
            [
                {
                    "poll_idle_count": 0,
                    "next_poll_date": start + timedelta(hours=1),
                    "poll_error": False,
                },
                {
                    "poll_idle_count": 1,
                    "next_poll_date": start + timedelta(hours=2),
                    "poll_error": "Unknown to the carrier: LOCAL-404",
                },
            ],
        )
        self.assertEqual(picking.shipment_next_poll_date, start + timedelta(hours=1))
        self.assertEqual(
            picking.shipment_poll_error, "Unknown to the carrier: LOCAL-404"
        )
        # No news for either: each backs off from where it is.
        later = start + timedelta(hours=3)
        with freeze_time(later):
            self._poll()
        self.assertRecordValues(
            booked | local,
            [
                {"poll_idle_count": 1, "next_poll_date": later + timedelta(hours=2)},
                {"poll_idle_count": 2, "next_poll_date": later + timedelta(hours=4)},
            ],
        )

    # -- failures stay contained --------------------------------------------------
    def _second_carrier(self):
        return self.generic.copy(
            {
                "name": "Sandbox bis",
                "generic_api_key": self.generic.generic_api_key,
                "generic_webhook_secret": "other",
            }
        )

    def test_wrong_shape_answer_fails_that_batch_only(self):
        """Valid JSON of the wrong shape: that batch records the error, the
        other carrier is polled, the cron run ends normally."""
        first = self._booked()
        other = self._second_carrier()
        second = self._create_delivery(carrier=other)
        self._fill_details(second)
        second.with_user(self.user_warehouse).button_validate()
        self.sandbox.advance_clock(13)
        self.sandbox.configure(wrong_shape_next=1)
        self._poll()
        self.assertIn("unusable tracking", first.shipment_poll_error)
        self.assertIn("unusable tracking", self.generic.shipment_poll_error)
        self.assertEqual(first.tracking_number_ids.poll_idle_count, 1)
        self.assertFalse(first.tracking_event_ids)
        self.assertFalse(second.shipment_poll_error)
        self.assertFalse(other.shipment_poll_error)
        self.assertEqual(second.shipment_state, "in_transit")
        # The next run heals the failed batch.
        self._poll()
        self.assertFalse(first.shipment_poll_error)
        self.assertEqual(first.shipment_state, "in_transit")

    def test_unexpected_failure_rolls_the_batch_back(self):
        """A failure after events were recorded leaves none of them: the
        batch's savepoint is rolled back, the error is recorded, the other
        carrier's batch is kept."""
        first = self._booked()
        other = self._second_carrier()
        second = self._create_delivery(carrier=other)
        self._fill_details(second)
        second.with_user(self.user_warehouse).button_validate()
        self.sandbox.advance_clock(13)
        Picking = type(self.env["stock.picking"])
        expire = Picking._shipment_expire_if_silent

        def failing_expire(picking, now):
            if picking == first:
                raise KeyError("boom")
            return expire(picking, now)

        with (
            patch.object(Picking, "_shipment_expire_if_silent", failing_expire),
            mute_logger(
                "odoo.addons.shipment_tracking.models.shipment_tracking_number"
            ),
        ):
            self._poll()
        self.assertFalse(first.tracking_event_ids, "half-written batch")
        self.assertEqual(first.shipment_state, "dispatched")
        self.assertIn("boom", first.shipment_poll_error)
        self.assertIn("boom", self.generic.shipment_poll_error)
        self.assertEqual(second.shipment_state, "in_transit")
        self.assertTrue(second.tracking_event_ids)

    def test_polled_events_out_of_bounds_are_ignored(self):
        """The sandbox's clock far ahead of ours: its events past the future
        bound are not recorded, those within are."""
        self.env["ir.config_parameter"].set_param(
            "shipment_tracking.event_future_hours", 24
        )
        picking = self._booked()
        self.sandbox.advance_clock(43)
        self._poll()
        codes = picking.tracking_event_ids.mapped("carrier_status_code")
        self.assertIn("in_transit", codes)  # 12 h ahead
        self.assertNotIn("delivered", codes)  # 42 h ahead
        self.assertEqual(picking.shipment_state, "in_transit")
