# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import datetime, timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.base.models.ir_mail_server import IrMailServer

from .common import ShipmentTrackingCase


@tagged("post_install", "-at_install", "shipment_clock")
class TestDispatchNotification(ShipmentTrackingCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.template = cls.env.ref(
            "shipment_tracking.mail_template_shipment_dispatched"
        )

    def _dispatched(self, **kwargs):
        picking = self._create_delivery(**kwargs)
        self._fill_details(picking)
        self._set_tracking(picking)
        self._validate(picking)
        return picking

    def _cron_triggers(self):
        return self.env["ir.cron.trigger"].search_count(
            [
                (
                    "cron_id",
                    "=",
                    self.env.ref("shipment_tracking.ir_cron_shipment_notification").id,
                )
            ]
        )

    def _commit_hooks(self):
        """What the commit of the transaction runs before it (the trigger)."""
        self.env.flush_all()
        self.env.cr.precommit.run()

    def test_validation_only_queues_the_notification(self):
        before = self._cron_triggers()
        picking = self._dispatched()
        self.assertEqual(picking.shipment_notification_state, "to_send")
        self.assertFalse(self._notification_mails(picking))
        self._commit_hooks()
        self.assertEqual(
            self._cron_triggers(), before + 1, "validation wakes the cron up"
        )

    def test_one_trigger_per_transaction_and_only_when_queued(self):
        before = self._cron_triggers()
        Notification = self.env["shipment.tracking.notification"]
        pickings = self._dispatched() | self._dispatched() | self._dispatched()
        self.assertEqual(
            len(Notification.search([("picking_id", "in", pickings.ids)])), 3
        )
        self._commit_hooks()
        self.assertEqual(self._cron_triggers(), before + 1, "one for three")
        # A status change that queues nothing (no notification for it).
        pickings[0]._shipment_on_status("in_transit")
        self._commit_hooks()
        self.assertEqual(self._cron_triggers(), before + 1, "nothing queued")
        # A re-queued message wakes it again.
        self._run_notification_cron()
        update = pickings[0]._get_shipment_dispatch_update()
        update._channel_failed("email", "mailbox full")
        update.with_user(self.user_cs).action_retry()
        self._commit_hooks()
        self.assertEqual(self._cron_triggers(), before + 2, "re-queued")

    def test_an_inactive_cron_gets_no_trigger_due_now(self):
        """As ir.cron._trigger: a trigger an inactive job would ignore is not
        written; the messages wait for the job to be switched on."""
        cron = self.env.ref("shipment_tracking.ir_cron_shipment_notification")
        before = self._cron_triggers()
        cron.active = False
        picking = self._dispatched()
        self._commit_hooks()
        self.assertEqual(picking.shipment_notification_state, "to_send")
        self.assertEqual(self._cron_triggers(), before, "inactive: no trigger")
        cron.active = True
        self._dispatched()
        self._commit_hooks()
        self.assertEqual(self._cron_triggers(), before + 1, "active again")

    def test_dispatch_email_holds_the_five_sop_details(self):
        picking = self._dispatched()
        self._run_notification_cron()
        mail = self._notification_mails(picking)
        self.assertEqual(
            len(mail), 1, mail.mapped(lambda m: (m.recipient_ids.name, m.subject))
        )
        self.assertEqual(mail.recipient_ids, self.customer)
        self.assertEqual(picking.shipment_notification_state, "queued")
        body = mail.body_html
        order = picking.sale_id
        for expected in (
            order.name,
            picking._get_shipment_local_date().strftime("%m/%d/%Y"),
            self.carrier.name,
            "AbC123xyz",
            'href="https://track.example/t?n=AbC123xyz"',
            picking.expected_delivery_date.strftime("%m/%d/%Y"),
        ):
            self.assertIn(expected, body)
        self.assertIn(order.name, mail.subject)
        message = picking.shipment_notification_message_id
        self.assertEqual(message.email_layout_xmlid, "mail.mail_notification_layout")
        self.assertEqual(message.model, "stock.picking")
        # Logged on the sale order too.
        self.assertIn(picking.name, order.message_ids[0].body)
        self.assertIn("AbC123xyz", order.message_ids[0].body)

    def test_sent_state_follows_the_mail_queue(self):
        picking = self._dispatched()
        self._run_notification_cron()
        self._notification_mails(picking).send()
        self.assertEqual(picking.shipment_notification_state, "sent")

    def test_never_sent_twice(self):
        picking = self._dispatched()
        self._run_notification_cron()
        # A retried validation / repeated dispatch and cron runs change nothing.
        picking._shipment_dispatch_ready()
        self._run_notification_cron()
        self._run_notification_cron()
        self.assertEqual(len(self._notification_mails(picking)), 1)
        with self.assertRaises(UserError):
            self._validate(picking)

    def test_sender_and_local_shipment_date(self):
        self.company.email = "shipping@mycompany.example"
        self.customer.tz = "Pacific/Auckland"  # UTC+13 in November
        with freeze_time("2026-11-26 20:30:00"):
            picking = self._dispatched()
            self._run_notification_cron()
        mail = self._notification_mails(picking)
        self.assertIn("shipping@mycompany.example", mail.email_from)
        self.assertEqual(mail.author_id, self.company.partner_id)
        self.assertIn("11/27/2026", mail.body_html)

    def test_customer_language(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        self.customer.lang = "fr_FR"
        picking = self._dispatched()
        self._run_notification_cron()
        body = self._notification_mails(picking).body_html
        self.assertIn(picking._get_shipment_local_date().strftime("%d/%m/%Y"), body)

    def test_delivery_address_without_email_falls_back_to_customer(self):
        shipping = self.env["res.partner"].create(
            {"name": "Dock 4", "type": "delivery", "parent_id": self.customer.id}
        )
        order = self.env["sale.order"].create(
            {
                "partner_id": self.customer.id,
                "partner_shipping_id": shipping.id,
                "carrier_id": self.carrier.id,
                "order_line": [(0, 0, {"product_id": self.products[0].id})],
            }
        )
        order.action_confirm()
        picking = order.picking_ids
        self.assertEqual(picking.partner_id, shipping)
        self._fill_details(picking)
        self._set_tracking(picking)
        self._validate(picking)
        self._run_notification_cron()
        self.assertEqual(self._notification_mails(picking).recipient_ids, self.customer)

    def test_customer_without_email_gets_a_chatter_note(self):
        walk_in = self.env["res.partner"].create({"name": "Walk-in"})
        picking = self._dispatched(partner=walk_in)
        self._run_notification_cron()
        self.assertFalse(self._notification_mails(picking))
        self.assertEqual(picking.shipment_notification_state, "no_email")
        self.assertTrue(
            picking.message_ids.filtered(
                lambda m: "No dispatch email was sent" in m.body
            )
        )

    def _customer_emails(self, picking):
        return picking.message_ids.filtered(lambda m: self.customer in m.partner_ids)

    def test_native_confirmation_email_not_sent_twice(self):
        self.company.stock_move_email_validation = True
        picking = self._dispatched()
        self._run_notification_cron()
        emails = self._customer_emails(picking)
        self.assertEqual(emails, picking.shipment_notification_message_id)
        self.assertIn("has shipped", emails.subject)

    def test_native_email_kept_when_ours_is_off(self):
        self.company.stock_move_email_validation = True
        self.company.shipment_notify_dispatch = False
        picking = self._dispatched()
        self._run_notification_cron()
        self.assertEqual(picking.shipment_notification_state, "none")
        emails = self._customer_emails(picking)
        self.assertEqual(len(emails), 1)
        self.assertIn("Delivery Order", emails.subject)

    def _smtp_down(self):
        return patch.object(
            IrMailServer, "connect", side_effect=ConnectionRefusedError("SMTP down")
        )

    def test_smtp_failure_is_retried_then_visible(self):
        self.company.shipment_notification_max_attempts = 2
        with freeze_time("2026-11-26 10:00:00") as clock:
            picking = self._dispatched()
            self._run_notification_cron()
            mail = self._notification_mails(picking)
            update = picking._get_shipment_dispatch_update()
            with self._smtp_down(), mute_logger("odoo.addons.mail.models.mail_mail"):
                mail.send()
                self.assertEqual(mail.state, "exception")
                # Waiting for its retry, with the reason and when.
                self.assertRecordValues(
                    update,
                    [
                        {
                            "state": "queued",
                            "email_state": "pending",
                            "email_attempts": 1,
                            "email_next_attempt": datetime(2026, 11, 26, 10, 5),
                        }
                    ],
                )
                self.assertIn("SMTP down", picking.shipment_notification_error)
                self.assertEqual(picking.shipment_notification_state, "to_send")
                # Not before the backoff is over.
                self.assertEqual(self._run_notification_cron(), 0)
                self.assertEqual(mail.state, "exception")
                clock.tick(timedelta(minutes=5))
                self._run_notification_cron()  # retry 2 of 2: the same email
                self.assertEqual(mail.state, "outgoing")
                self.assertEqual(picking.shipment_notification_attempts, 2)
                mail.send()  # cap reached
        self.assertEqual(picking.shipment_notification_state, "failed")
        self.assertRecordValues(update, [{"state": "failed", "email_state": "failed"}])
        self.assertEqual(mail.state, "cancel")
        self.assertIn(
            update,
            self.env["shipment.tracking.notification"].search(
                [("state", "=", "failed")]
            ),
        )
        failed = self.env["stock.picking"].search(
            [("shipment_notification_state", "=", "failed")]
        )
        self.assertIn(picking, failed)
        self.assertIn("could not be delivered", picking.message_ids[0].body)

        # Customer Service resends once SMTP is back.
        picking.with_user(self.user_cs).action_shipment_resend_notification()
        self.assertEqual(picking.shipment_notification_state, "to_send")
        self.assertEqual(self._run_notification_cron(), 1)
        self._notification_mails(picking).filtered(
            lambda m: m.state == "outgoing"
        ).send()
        self.assertEqual(picking.shipment_notification_state, "sent")

    def test_resend_rules(self):
        pending = self._create_delivery()
        with self.assertRaisesRegex(UserError, "not dispatched yet"):
            pending.with_user(self.user_cs).action_shipment_resend_notification()
        picking = self._dispatched()
        with self.assertRaises(AccessError):
            picking.with_user(self.user_warehouse).action_shipment_resend_notification()

    def test_cron_does_bounded_work_per_call(self):
        """One batch per call; the cron runner calls again while some remain
        (``_notify_progress``), as core's mail queue does."""
        pickings = self._dispatched() | self._dispatched() | self._dispatched()
        Notification = self.env["shipment.tracking.notification"]
        progress = self.env["ir.cron.progress"].create(
            {
                "cron_id": self.env.ref(
                    "shipment_tracking.ir_cron_shipment_notification"
                ).id
            }
        )
        Notification = Notification.with_context(ir_cron_progress_id=progress.id)
        self.assertEqual(Notification._cron_send(batch_size=2), 2)
        self.assertRecordValues(progress, [{"done": 2, "remaining": 1}])
        self.assertEqual(Notification._cron_send(batch_size=2), 1)
        self.assertRecordValues(progress, [{"done": 1, "remaining": 0}])
        self.assertEqual(Notification._cron_send(batch_size=2), 0)
        self.assertEqual(
            set(pickings.mapped("shipment_notification_state")), {"queued"}
        )
