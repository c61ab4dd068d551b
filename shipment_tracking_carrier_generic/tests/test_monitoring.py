# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import datetime, timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo.tests import TransactionCase, tagged

from .common import SandboxCarrierMixin


@tagged("post_install", "-at_install", "shipment_clock")
class TestMonitoringWithSandbox(SandboxCarrierMixin, TransactionCase):
    """Each detection rule on the sandbox's scenarios, driven by its clock."""

    def _poll(self):
        # sudo: what the cron writes.
        Number = self.env["shipment.tracking.number"].sudo()
        Number.search([]).write({"next_poll_date": False})
        with patch.object(self.env.cr, "commit"):
            Number._cron_poll()

    def _monitor(self, at=None):
        with freeze_time(at or datetime.now()), patch.object(self.env.cr, "commit"):
            self.env["shipment.tracking.incident"]._cron_monitor()

    def _kinds(self, picking):
        return sorted(picking.shipment_incident_ids.filtered("is_open").mapped("kind"))

    def _play(self, scenario, hours):
        picking = self._booked(scenario=scenario)
        self.sandbox.advance_clock(hours)
        self._poll()
        return picking

    def _update_kinds(self, picking):
        """The updates the customer got after the dispatch notice."""
        updates = picking.shipment_update_ids.filtered(lambda u: u.kind != "dispatched")
        return sorted(updates.mapped("kind"))

    def test_exception_then_recovered(self):
        picking = self._play("exception_recovered", 15)
        self.assertEqual(self._kinds(picking), ["exception"])
        self.assertIn("Address incomplete", picking.shipment_incident_reason)
        self.sandbox.advance_clock(12)
        self._poll()
        self.assertEqual(self._kinds(picking), [])
        self.assertEqual(
            self._update_kinds(picking),
            ["exception", "recovered"],
        )

    def test_returned_to_sender(self):
        picking = self._play("returned", 81)
        self.assertEqual(picking.shipment_state, "returned")
        self.assertEqual(self._kinds(picking), ["returned"])
        self.assertIn("returned", self._update_kinds(picking))

    def test_lost_parcel_stalls(self):
        picking = self._play("lost", 13)
        self._monitor()
        self.assertEqual(self._kinds(picking), [])
        last = picking.shipment_last_event_date
        self._monitor(last + timedelta(hours=49))
        self.assertIn("stalled", self._kinds(picking))

    def test_delayed_scenario_late_then_delivered(self):
        picking = self._play("delayed", 31)
        edd = picking.expected_delivery_date
        self._monitor(datetime.combine(edd + timedelta(days=1), datetime.min.time()))
        self.assertIn("late", self._kinds(picking))
        self.sandbox.advance_clock(60)
        self._poll()
        self.assertEqual(picking.shipment_state, "delivered")
        self.assertEqual(self._kinds(picking), [])
        self.assertEqual(self._update_kinds(picking), ["delivered", "late"])

    def test_out_for_delivery_too_long(self):
        picking = self._play("normal", 37)
        self.assertEqual(picking.shipment_state, "out_for_delivery")
        since = picking.shipment_last_event_date
        self._monitor(since + timedelta(hours=25))
        self.assertIn("out_for_delivery_long", self._kinds(picking))
