# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
from datetime import datetime, timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo import sql_db
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.base.models.ir_mail_server import IrMailServer

from .common import ShipmentTrackingCase


@tagged("post_install", "-at_install", "shipment_clock")
class TestOutbox(ShipmentTrackingCase):
    """Every customer message is a row of one outbox: one claim loop, one
    retry policy, one Failed list for every kind of message."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Notification = cls.env["shipment.tracking.notification"]

    def _dispatched(self, **kwargs):
        picking = self._create_delivery(**kwargs)
        self._fill_details(picking)
        self._set_tracking(picking)
        self._validate(picking)
        return picking

    def _update(self, picking, kind):
        return self.Notification._enqueue(picking, kind, f"test:{kind}")

    def test_update_emails_retried_after_smtp_failures_then_failed(self):
        self.company.shipment_notification_max_attempts = 3
        with freeze_time("2026-11-26 10:00:00") as clock:
            picking = self._dispatched()
            update = self._update(picking, "out_for_delivery")
            self._run_notification_cron()
            mail = update.mail_id
            self.assertEqual(mail.state, "outgoing")
            waits = []
            with (
                patch.object(
                    IrMailServer, "connect", side_effect=ConnectionRefusedError("down")
                ),
                mute_logger("odoo.addons.mail.models.mail_mail"),
            ):
                for _attempt in range(3):
                    mail.send()
                    if update.email_state != "pending":
                        break
                    waits.append(update.email_next_attempt - clock.time_to_freeze)
                    self.assertEqual(self._run_notification_cron(), 0, "too early")
                    clock.move_to(update.email_next_attempt)
                    self._run_notification_cron()
                    self.assertEqual(mail.state, "outgoing")
        # Two waits that grow (5 then 30 minutes), then the cap: failed.
        self.assertEqual(waits, [timedelta(minutes=5), timedelta(minutes=30)])
        self.assertRecordValues(
            update,
            [{"state": "failed", "email_state": "failed", "email_attempts": 3}],
        )
        self.assertIn("down", update.email_error)
        self.assertIn(update, self.Notification.search([("state", "=", "failed")]))
        self.assertTrue(
            picking.message_ids.filtered(
                lambda m: "could not be delivered" in m.body and "3 attempt" in m.body
            )
        )
        # The dispatch email went through before SMTP fell: not touched.
        self.assertEqual(picking.shipment_notification_state, "queued")

    def test_poison_row_does_not_stop_the_rows_behind_it(self):
        template = self.env.ref("shipment_tracking.mail_template_shipment_exception")
        template.body_html = '<p><t t-out="object.no_such_field.name"/></p>'
        first = self._dispatched()
        second = self._dispatched()
        # Queued first: the claim loop meets it before the others.
        poison = self._update(first, "exception")
        behind = self._update(second, "out_for_delivery")
        self.assertLess(poison.id, behind.id)
        with mute_logger(
            "odoo.addons.shipment_tracking.models.shipment_tracking_notification",
            "odoo.addons.mail.models.mail_render_mixin",
        ):
            self._run_notification_cron(batch_size=1)
        self.assertRecordValues(
            poison, [{"state": "failed", "email_state": "failed", "email_attempts": 1}]
        )
        self.assertIn("could not be prepared", poison.email_error)
        self.assertRecordValues(
            behind | first._get_shipment_dispatch_update(),
            [{"email_state": "outgoing"}, {"email_state": "outgoing"}],
        )
        # Never claimed again: the queue is empty.
        self.assertEqual(self._run_notification_cron(), 0)
        self.assertFalse(
            self.Notification.search_count(self.Notification._due_domain())
        )

    def test_poison_row_in_a_batch_falls_back_to_one_by_one(self):
        """A batch is sent in one savepoint; should one of its messages fail,
        the batch is rolled back and its messages sent one by one: only the
        poison one fails."""
        template = self.env.ref("shipment_tracking.mail_template_shipment_exception")
        template.body_html = '<p><t t-out="object.no_such_field.name"/></p>'
        first, second, third = (self._dispatched() for _i in range(3))
        self._run_notification_cron()
        updates = (
            self._update(first, "out_for_delivery")
            | self._update(second, "exception")
            | self._update(third, "out_for_delivery")
        )
        with mute_logger(
            "odoo.addons.shipment_tracking.models.shipment_tracking_notification",
            "odoo.addons.mail.models.mail_render_mixin",
        ):
            self.assertEqual(self._run_notification_cron(batch_size=10), 1)
        self.assertRecordValues(
            updates,
            [
                {"email_state": "outgoing", "email_attempts": 1},
                {"email_state": "failed", "email_attempts": 1},
                {"email_state": "outgoing", "email_attempts": 1},
            ],
        )
        self.assertEqual(len(updates.mail_message_id), 2)
        for picking in (first, third):
            self.assertEqual(len(self._notification_mails(picking)), 2)

    def test_customer_service_retries_failed_messages(self):
        picking = self._dispatched()
        update = self._update(picking, "delivered")
        self._run_notification_cron()
        update._channel_failed("email", "mailbox full")
        self.assertEqual(update.state, "failed")
        with self.assertRaises(AccessError):
            update.with_user(self.user_warehouse).action_retry()
        update.with_user(self.user_cs).action_retry()
        self.assertRecordValues(
            update,
            [
                {
                    "state": "queued",
                    "email_state": "pending",
                    "email_attempts": 0,
                    "email_error": False,
                }
            ],
        )
        self._run_notification_cron()
        self.assertEqual(update.email_state, "outgoing")
        update.mail_id.send()
        self.assertRecordValues(update, [{"state": "sent", "email_state": "sent"}])

    def test_dispatch_is_a_row_of_the_outbox(self):
        picking = self._dispatched()
        update = picking._get_shipment_dispatch_update()
        self.assertRecordValues(
            update,
            [{"kind": "dispatched", "state": "queued", "email_state": "pending"}],
        )
        self.assertEqual(picking.shipment_notification_state, "to_send")
        # A second dispatch of the same delivery is absorbed by the unique key.
        self.assertFalse(
            self.Notification._enqueue(picking, "dispatched", "dispatched")
        )

    def test_updates_of_many_deliveries_are_queued_at_once(self):
        """A status reached by several deliveries at once (a poll batch, a
        100-event push) queues their updates together; a delivery told
        before keeps its one message and the others are still queued."""
        first, second, third = (self._dispatched() for _i in range(3))
        told = self.Notification._enqueue(first, "delivered", "state:delivered")
        self.assertTrue(told)
        queued = self.Notification._enqueue_many(
            third | first | second, "delivered", "state:delivered"
        )
        self.assertEqual(queued.picking_id, second | third)
        self.assertEqual(
            first.shipment_update_ids.filtered(
                lambda row: row.key == "state:delivered"
            ),
            told,
        )
        self.assertEqual(set(queued.mapped("state")), {"queued"})
        # A company that does not tell its customers of it queues nothing.
        self.company.shipment_notify_out_for_delivery = False
        self.assertFalse(
            self.Notification._enqueue_many(
                second | third, "out_for_delivery", "state:out_for_delivery"
            )
        )

    def test_updates_of_many_companies_follow_each_company(self):
        mine = self._dispatched()
        other = self._other_company_delivery()
        other.company_id.shipment_notify_delivered = False
        queued = self.Notification._enqueue_many(
            mine | other, "delivered", "state:delivered"
        )
        self.assertEqual(queued.picking_id, mine)
        other.company_id.shipment_notify_delivered = True
        queued = self.Notification._enqueue_many(
            mine | other, "delivered", "state:delivered"
        )
        self.assertEqual(queued.picking_id, other)
        self.assertEqual(queued.company_id, other.company_id)

    def test_queueing_many_updates_costs_the_statements_of_one(self):
        """One delivery or four: the same statements (the savepoint, the
        rows' INSERT, the deliveries' dispatch rows for their notification
        state, the cron's trigger). 7 before the dispatch rows were read
        alone (2026-11-30)."""
        pickings = [self._dispatched() for _i in range(6)]
        # The company's settings and the cron read once (as in any batch).
        self.Notification._enqueue_many(pickings[0], "delivered", "warm")
        for batch, key in (
            (pickings[1], "one"),
            (pickings[2] + pickings[3] + pickings[4] + pickings[5], "four"),
        ):
            with self.assertQueryCount(6):
                queued = self.Notification._enqueue_many(batch, "delivered", key)
            self.assertEqual(queued.picking_id, batch)

    def test_a_failed_batch_is_sent_again_in_parts(self):
        """A batch that fails is sent again in eighths; an eighth that fails
        too goes row by row, up to a quarter of the batch a call: the rest
        waits for the next call, and every message that can go goes."""
        template = self.env.ref("shipment_tracking.mail_template_shipment_exception")
        template.body_html = '<p><t t-out="object.no_such_field.name"/></p>'
        pickings = [self._dispatched() for _i in range(10)]
        self._run_notification_cron()
        kinds = ["exception", "out_for_delivery"] * 3 + ["out_for_delivery"] * 4
        updates = self.Notification.browse().union(
            *(
                self._update(picking, kind)
                for picking, kind in zip(pickings, kinds, strict=True)
            )
        )
        muted = mute_logger(
            "odoo.addons.shipment_tracking.models.shipment_tracking_notification",
            "odoo.addons.mail.models.mail_render_mixin",
        )
        # Parts of 2: the first fails and goes row by row (2 rows, a quarter
        # of 10), the next two fail and wait, the last two go as batches.
        with muted:
            self.assertEqual(self.Notification._cron_send(batch_size=10), 10)
        self.assertEqual(
            updates.mapped("email_state"),
            ["failed", "outgoing"] + ["pending"] * 4 + ["outgoing"] * 4,
        )
        with muted:
            self.assertEqual(self._run_notification_cron(batch_size=10), 1)
        self.assertEqual(
            updates.mapped("email_state"),
            ["failed", "outgoing"] * 3 + ["outgoing"] * 4,
        )
        self.assertEqual(updates.mapped("email_attempts"), [1] * 10)

    def test_outcomes_the_hooks_missed_are_reconciled(self):
        """A mail whose outcome the mail queue could not record on the row (a
        concurrent change of the row) or that was deleted once sent: the
        cron reads the outcome from the mail itself."""
        first, second = self._dispatched(), self._dispatched()
        self._run_notification_cron()
        sent = first._get_shipment_dispatch_update()
        failed = second._get_shipment_dispatch_update()
        # What the mail queue leaves when its hook could not write the row.
        sent.mail_id.unlink()
        failed.mail_id.write({"state": "exception", "failure_reason": "SMTP down"})
        self.assertEqual((sent | failed).mapped("email_state"), ["outgoing"] * 2)
        # sent: Odoo's notification of the message says it went.
        sent.mail_message_id.notification_ids.notification_status = "sent"
        self._run_notification_cron()
        self.assertRecordValues(
            sent | failed,
            [
                {"email_state": "sent", "email_error": False},
                {"email_state": "pending", "email_error": "SMTP down"},
            ],
        )

    def _send_while_mail_queue_holds_its_table(self):
        """One call of the cron while another connection holds the mail
        queue's table (as Odoo's mail queue may lock its rows): the first
        mail written waits for the lock, past ``lock_timeout``, and fails
        with PostgreSQL's LockNotAvailable, a concurrency error. Return what
        the call took and the log lines."""
        side = sql_db.db_connect(self.env.cr.dbname).cursor()
        self.addCleanup(side.close)
        # NOWAIT: never wait on this test's own transaction.
        side.execute("LOCK TABLE mail_mail IN SHARE MODE NOWAIT")
        # Local to the test's savepoint: rolled back with it.
        self.env.cr.execute("SET LOCAL lock_timeout = '200ms'")
        try:
            # mute_logger: the cursor logs the statement the lock cancelled.
            with (
                mute_logger("odoo.sql_db"),
                self.assertLogs(
                    "odoo.addons.shipment_tracking.models.shipment_tracking_notification",
                    # Not "INFO": Odoo names its level 25 so.
                    logging.INFO,
                ) as logs,
            ):
                taken = self.Notification._cron_send()
        finally:
            side.rollback()
            self.env.cr.execute("SET LOCAL lock_timeout TO DEFAULT")
        return taken, logs.output

    def _assert_lost_then_sent(self, pickings, batch):
        updates = self.Notification.browse().union(
            *(picking._get_shipment_dispatch_update() for picking in pickings)
        )
        cron = self.env.ref("shipment_tracking.ir_cron_shipment_notification")
        Trigger = self.env["ir.cron.trigger"]
        before = Trigger.search([("cron_id", "=", cron.id)])
        with freeze_time("2026-11-26 10:00:20"):
            taken, logs = self._send_while_mail_queue_holds_its_table()
        # Taken, lost, deferred: nothing half-written, no attempt counted.
        self.assertEqual(taken, len(pickings))
        self.assertRecordValues(
            updates,
            [
                {
                    "email_state": "pending",
                    "email_attempts": 0,
                    "email_next_attempt": datetime(2026, 11, 26, 10, 1, 20),
                    "mail_ref": 0,
                }
            ]
            * len(pickings),
        )
        self.assertFalse(self._notification_mails(updates.picking_id))
        self.assertTrue(
            any(
                "email lost to a concurrent transaction (55P03)" in line
                and str(updates.ids if batch else updates[:1].ids) in line
                for line in logs
            ),
            logs,
        )
        # The run did not fail: the cron is woken when they are due (on the
        # minute), as the commit's hooks write it.
        self.env.flush_all()
        self.env.cr.precommit.run()
        later = Trigger.search([("cron_id", "=", cron.id)]) - before
        self.assertIn("2026-11-26 10:02:00", [str(t.call_at) for t in later])
        # The cron runner's next call (at once) does not take them again: a
        # conflict that lasts cannot keep them at the head of the queue.
        with freeze_time("2026-11-26 10:00:21"):
            self.assertEqual(self._run_notification_cron(), 0)
        # The wake-up (the lock is gone) sends them.
        with freeze_time("2026-11-26 10:02:00"):
            self._run_notification_cron()
        self.assertEqual(updates.mapped("email_state"), ["outgoing"] * len(pickings))
        self.assertEqual(updates.mapped("email_attempts"), [1] * len(pickings))

    def test_a_batch_lost_to_a_concurrent_transaction_is_deferred(self):
        with freeze_time("2026-11-26 10:00:00"):
            pickings = [self._dispatched() for _i in range(3)]
        self._assert_lost_then_sent(pickings, batch=True)

    def test_a_single_send_lost_to_a_concurrent_transaction_is_deferred(self):
        with freeze_time("2026-11-26 10:00:00"):
            pickings = [self._dispatched()]
        self._assert_lost_then_sent(pickings, batch=False)

    def test_mail_deleted_before_it_went_is_failed_not_sent(self):
        picking = self._dispatched()
        self._run_notification_cron()
        message = picking._get_shipment_dispatch_update()
        message.mail_id.unlink()
        self._run_notification_cron()
        self.assertRecordValues(message, [{"state": "failed", "email_state": "failed"}])
        self.assertIn("deleted from the mail queue", message.email_error)

    @mute_logger("odoo.addons.mail.models.mail_mail")
    def test_email_resent_by_hand_while_waiting_is_not_sent_again(self):
        with freeze_time("2026-11-26 10:00:00") as clock:
            picking = self._dispatched()
            self._run_notification_cron()
            message = picking._get_shipment_dispatch_update()
            mail = message.mail_id
            with patch.object(
                IrMailServer, "connect", side_effect=ConnectionRefusedError("down")
            ):
                mail.send()
            self.assertEqual(message.email_state, "pending")
            # Someone resends it from Technical > Emails before the retry.
            mail.mark_outgoing()
            mail.send()
            self.assertRecordValues(message, [{"state": "sent", "email_state": "sent"}])
            clock.tick(timedelta(hours=1))
            self.assertEqual(self._run_notification_cron(), 0)
        subject = message.mail_message_id.subject
        self.assertEqual(
            len(picking.message_ids.filtered(lambda m: m.subject == subject)), 1
        )

    def test_personal_defaults_never_shape_a_message(self):
        """A user's own defaults (ir.default, "Set Default") for the outbox's
        fields would silence or forge the messages their validations queue."""
        Default = self.env["ir.default"]
        for fname, value in (
            ("email_state", "sent"),
            ("email_attempts", 99),
            ("email_next_attempt", "2100-01-01 00:00:00"),
        ):
            Default.set(
                "shipment.tracking.notification",
                fname,
                value,
                user_id=self.user_warehouse.id,
            )
        picking = self._create_delivery()
        self._fill_details(picking)
        self._set_tracking(picking)
        self._validate(picking, user=self.user_warehouse)
        self.assertRecordValues(
            picking._get_shipment_dispatch_update(),
            [
                {
                    "state": "queued",
                    "email_state": "pending",
                    "email_attempts": 0,
                    "email_next_attempt": False,
                }
            ],
        )

    def test_retry_refuses_when_nothing_failed(self):
        picking = self._dispatched()
        message = picking._get_shipment_dispatch_update()
        with self.assertRaisesRegex(UserError, "Nothing to send again"):
            message.with_user(self.user_cs).action_retry()
        self.assertFalse(message.can_retry)
