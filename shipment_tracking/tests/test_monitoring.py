# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date, datetime, timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo.tests import new_test_user, tagged

from .common import ShipmentTrackingCase


@tagged("post_install", "-at_install", "shipment_clock")
class TestMonitoring(ShipmentTrackingCase):
    def setUp(self):
        super().setUp()
        self.picking = self._create_delivery()
        self._fill_details(self.picking)
        self._set_tracking(self.picking, ref="MON-1", edd=date(2026, 12, 1))
        with freeze_time("2026-11-26 10:00:00"):
            self._validate(self.picking)
        self._run_notification_cron()

    def _event(self, state, when, **extra):
        """The carrier reports an event a few minutes after it happened: the
        monitor it triggers runs at that moment, not at the real now."""
        with freeze_time(when + timedelta(minutes=5)):
            self.env["stock.picking"]._shipment_apply_carrier_events(
                [
                    dict(
                        {"tracking_ref": "MON-1", "state": state, "event_time": when},
                        **extra,
                    )
                ],
                "webhook",
            )

    def _monitor(self, when):
        with freeze_time(when), patch.object(self.env.cr, "commit") as commit:
            self.env["shipment.tracking.incident"]._cron_monitor()
        return commit.call_count

    def _updates(self, kind=None):
        updates = self.picking.shipment_update_ids
        return updates.filtered(lambda u: u.kind == kind) if kind else updates

    def _incidents(self, kind):
        return self.picking.shipment_incident_ids.filtered(lambda i: i.kind == kind)

    def test_exception_once_then_recovery(self):
        self._event(
            "exception", datetime(2026, 11, 27, 9, 0), carrier_status_text="Address?"
        )
        self._monitor("2026-11-27 10:00:00")
        self._monitor("2026-11-27 11:00:00")
        incident = self._incidents("exception")
        self.assertEqual(len(incident), 1)
        self.assertTrue(self.picking.shipment_has_incident)
        self.assertEqual(self.picking.shipment_incident_reason, "Address?")
        self.assertEqual(len(self._updates("exception")), 1)
        activity = self.picking.activity_ids.filtered(
            lambda a: "incident" in (a.summary or "")
        )
        self.assertEqual(activity.user_id, self.user_cs)
        self.assertIn("Address?", activity.note)

        self._event("in_transit", datetime(2026, 11, 27, 15, 0))
        self.assertFalse(self.picking.shipment_has_incident)
        self.assertTrue(incident.closed_at)
        self.assertEqual(len(self._updates("recovered")), 1)

        # A new exception is a new incident and a new update.
        self._event("exception", datetime(2026, 11, 28, 9, 0))
        self.assertEqual(len(self._incidents("exception")), 2)
        self.assertEqual(len(self._updates("exception")), 2)

    def test_concurrent_runs_never_duplicate(self):
        Incident = self.env["shipment.tracking.incident"]
        first = Incident._open(self.picking, "late", "late")
        second = Incident._open(self.picking, "late", "late again")
        self.assertTrue(first)
        self.assertFalse(second)
        Notification = self.env["shipment.tracking.notification"]
        self.assertTrue(Notification._enqueue(self.picking, "late", "incident:x"))
        self.assertFalse(Notification._enqueue(self.picking, "late", "incident:x"))

    def test_late_when_edd_passed(self):
        self._monitor("2026-12-01 18:00:00")
        self.assertFalse(self._incidents("late"), "due today is not late yet")
        self._monitor("2026-12-02 08:00:00")
        self.assertEqual(len(self._incidents("late")), 1)
        self.assertIn("2026-12-01", self.picking.shipment_incident_reason)
        self.assertEqual(
            len(self._updates("late")),
            1,
            self._updates().mapped(lambda u: (u.kind, u.key, u.incident_id.kind)),
        )
        # The carrier gives a new estimate: recovered, the customer hears it.
        self._event(
            "in_transit",
            datetime(2026, 12, 2, 9, 0),
            expected_delivery_date=date(2026, 12, 4),
        )
        self._monitor("2026-12-02 10:00:00")
        self.assertFalse(self.picking.shipment_has_incident)
        self.assertEqual(len(self._updates("recovered")), 1)

    def test_late_threshold_per_carrier(self):
        self.company.shipment_late_after_days = 0
        self.carrier.shipment_late_after_days = 2
        self._monitor("2026-12-03 08:00:00")
        self.assertFalse(self._incidents("late"))
        self._monitor("2026-12-04 08:00:00")
        self.assertTrue(self._incidents("late"))

    def test_stalled_in_transit(self):
        self._event("in_transit", datetime(2026, 11, 27, 9, 0))
        self._monitor("2026-11-29 08:00:00")
        self.assertFalse(self._incidents("stalled"))
        self._monitor("2026-11-29 10:00:00")
        self.assertTrue(self._incidents("stalled"))
        self.assertIn("No news", self.picking.shipment_incident_reason)
        self.assertEqual(len(self._updates("late")), 1)

    def test_out_for_delivery_too_long(self):
        self._event("out_for_delivery", datetime(2026, 11, 28, 7, 0))
        self._monitor("2026-11-29 06:00:00")
        self.assertFalse(self._incidents("out_for_delivery_long"))
        self._monitor("2026-11-29 08:00:00")
        self.assertTrue(self._incidents("out_for_delivery_long"))
        self._event("delivered", datetime(2026, 11, 29, 9, 0))
        self.assertFalse(self.picking.shipment_has_incident)
        self.assertFalse(self._updates("recovered"), "delivered says it all")

    def test_returned(self):
        self._event("returned", datetime(2026, 11, 29, 9, 0))
        self.assertEqual(len(self._incidents("returned")), 1)
        self._monitor("2026-11-29 10:00:00")
        self.assertEqual(len(self._incidents("returned")), 1)
        self.assertEqual(len(self._updates("returned")), 1)

    def test_status_updates_once_each_and_per_settings(self):
        self._event("out_for_delivery", datetime(2026, 11, 28, 7, 0))
        self._event("out_for_delivery", datetime(2026, 11, 28, 8, 0))
        self.assertEqual(len(self._updates("out_for_delivery")), 1)
        self.company.shipment_notify_delivered = False
        self._event("delivered", datetime(2026, 11, 28, 12, 0))
        self.assertFalse(self._updates("delivered"))
        self.assertEqual(
            self.picking.shipment_delivered_date, datetime(2026, 11, 28, 12)
        )

    def test_updates_are_emailed_in_the_customer_language(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        self.customer.lang = "fr_FR"
        self._event("out_for_delivery", datetime(2026, 11, 28, 7, 0))
        self._run_notification_cron()
        update = self._updates("out_for_delivery")
        # In Odoo's mail queue: queued until the SMTP server took it.
        self.assertRecordValues(
            update, [{"state": "queued", "email_state": "outgoing"}]
        )
        mail = self.env["mail.mail"].search(
            [("mail_message_id", "=", update.mail_message_id.id)]
        )
        self.assertEqual(update.mail_id, mail)
        self.assertIn("out for delivery", mail.subject)
        self.assertEqual(mail.recipient_ids, self.customer)
        self._run_notification_cron()
        self.assertEqual(
            self.env["mail.mail"].search_count(
                [("model", "=", "stock.picking"), ("res_id", "=", self.picking.id)]
            ),
            2,  # dispatch + out for delivery, nothing twice
        )

    def test_monitor_batches_commit_and_skip_closed_shipments(self):
        delivered = self._create_delivery()
        self._fill_details(delivered)
        self._set_tracking(delivered, ref="MON-2")
        self._validate(delivered)
        delivered.with_context(
            shipment_tracking_force_state=True
        ).shipment_state = "delivered"
        todo = self.env["stock.picking"].search(
            self.env["shipment.tracking.incident"]._monitor_domain()
        )
        self.assertIn(self.picking, todo)
        self.assertNotIn(delivered, todo)
        Incident = self.env["shipment.tracking.incident"]
        with patch.object(type(Incident), "_monitor") as run:
            with patch.object(self.env.cr, "commit") as commit:
                Incident._cron_monitor(batch_size=1)
        self.assertEqual(commit.call_count, len(todo))
        self.assertEqual(run.call_count, len(todo))

    def test_dashboard_figures(self):
        self._event("delivered", datetime(2026, 11, 28, 10, 0))
        self.assertRecordValues(
            self.picking,
            [
                {
                    "shipment_on_time": True,
                    "shipment_on_time_rate": 100.0,
                    "shipment_transit_days": 2.0,
                }
            ],
        )
        groups = self.env["stock.picking"].read_group(
            [("id", "=", self.picking.id)],
            ["shipment_on_time_rate:avg", "shipment_transit_days:avg"],
            ["carrier_id"],
        )
        self.assertEqual(groups[0]["shipment_on_time_rate"], 100.0)


@tagged("post_install", "-at_install", "shipment_clock")
class TestInquiries(ShipmentTrackingCase):
    def test_customer_question_flags_and_answer_clears(self):
        picking = self._create_delivery()
        portal = new_test_user(
            self.env, "st_portal", groups="base.group_portal", name="Portal Pat"
        )
        portal.partner_id.parent_id = self.customer
        picking.sudo().message_post(
            body="Where is my parcel?",
            author_id=portal.partner_id.id,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
        self.assertTrue(picking.shipment_inquiry_date)
        self.assertIn(portal.partner_id, picking.message_partner_ids)
        todo = picking.activity_ids.filtered(lambda a: "question" in (a.summary or ""))
        self.assertEqual(todo.user_id, self.user_cs)
        found = self.env["stock.picking"].search(
            [("shipment_inquiry_date", "!=", False), ("id", "=", picking.id)]
        )
        self.assertEqual(found, picking)
        # An internal note does not answer the customer; a message does.
        picking.with_user(self.user_cs).message_post(
            body="checking", message_type="comment", subtype_xmlid="mail.mt_note"
        )
        self.assertTrue(picking.shipment_inquiry_date)
        picking.with_user(self.user_cs).message_post(
            body="It arrives tomorrow.",
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
            partner_ids=self.customer.ids,
        )
        self.assertFalse(picking.shipment_inquiry_date)
