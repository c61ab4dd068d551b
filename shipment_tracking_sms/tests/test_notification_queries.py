# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

from odoo.tests import tagged

from .test_shipment_sms import ShipmentSmsCase

_logger = logging.getLogger(__name__)

# Queries of one notification cron call, dispatch notices with an email and an
# SMS each (bench/notify.py measures the same on 1,000 shipments). Measured on
# Odoo 18.0 on 2026-11-30, all four add-ons installed: before the batches
# (issue 12) a call cost about 58 queries per message; then 7 per message (the
# email: Odoo's notification of each message) and 76 per call; now none per
# message: the emails are notified in a batch too (their recipients, reply
# references, portal links' data and web push devices read at once, the
# mails, their recipients and notifications inserted at once), 83 per call
# whatever the number of messages. The budgets are those plus a margin of 3
# per call. Change them on purpose only.
PER_MESSAGE = 0
PER_CALL = 86


@tagged("post_install", "-at_install")
class TestNotificationQueries(ShipmentSmsCase):
    """The notification cron renders and queues a batch of messages in a
    fixed number of queries plus a small, pinned cost per message."""

    def _queue_dispatches(self, count):
        """``count`` validated deliveries with a tracking number: each queues
        its dispatch notice (email and SMS)."""
        orders = self.env["sale.order"].create(
            [
                {
                    "partner_id": self.customer.id,
                    "carrier_id": self.carrier.id,
                    "order_line": [
                        (
                            0,
                            0,
                            {"product_id": self.products[0].id, "product_uom_qty": 1},
                        )
                    ],
                }
                for _i in range(count)
            ]
        )
        orders.action_confirm()
        pickings = orders.picking_ids
        for picking in pickings:
            picking.carrier_tracking_ref = f"Q{picking.id}"
        pickings.button_validate()
        rows = pickings.shipment_update_ids
        self.assertEqual(len(rows), count)
        self.assertEqual(set(rows.mapped("state")), {"queued"})
        return rows

    def _cron_queries(self, count):
        rows = self._queue_dispatches(count)
        Notification = self.env["shipment.tracking.notification"]
        self.env.flush_all()
        self.env.invalidate_all()
        before = self.cr.sql_log_count
        self.assertEqual(Notification._cron_send(batch_size=50), count)
        self.env.flush_all()
        queries = self.cr.sql_log_count - before
        self.assertRecordValues(
            rows, [{"email_state": "outgoing", "sms_state": "outgoing"}] * count
        )
        self.assertEqual(len(rows.mail_message_id), count)
        self.assertEqual(len(rows.sms_message_id), count)
        return queries

    def _cron_queries_updates(self, count):
        """The same for customer updates (out for delivery) of deliveries
        whose dispatch notice went out before: their notification state
        (the dispatch's) stays as it is."""
        rows = self._queue_dispatches(count)
        Notification = self.env["shipment.tracking.notification"]
        Notification._cron_send(batch_size=50)
        pickings = rows.picking_id
        self.env.company.shipment_notify_out_for_delivery = True
        updates = Notification._enqueue_many(
            pickings, "out_for_delivery", "state:out_for_delivery"
        )
        self.assertEqual(len(updates), count)
        self.env.flush_all()
        self.env.invalidate_all()
        before = self.cr.sql_log_count
        with self.assertLogs("odoo.sql_db", "DEBUG") as logs:
            self.assertEqual(Notification._cron_send(batch_size=50), count)
            self.env.flush_all()
        queries = self.cr.sql_log_count - before
        self.assertRecordValues(
            updates, [{"email_state": "outgoing", "sms_state": "outgoing"}] * count
        )
        # Nothing of the deliveries changed: nothing written on them.
        self.assertFalse(
            [line for line in logs.output if 'UPDATE "stock_picking"' in line]
        )
        self.assertEqual(
            set(pickings.mapped("shipment_notification_state")), {"queued"}
        )
        return queries

    def test_update_queries_are_pinned(self):
        """A batch of updates costs the same statements whatever its size,
        and writes nothing on the deliveries (their notification state, the
        dispatch's, is not written again unchanged)."""
        self._cron_queries(1)
        self._cron_queries_updates(1)
        few = self._cron_queries_updates(5)
        many = self._cron_queries_updates(20)
        self.assertEqual(many, few, f"5: {few}, 20: {many}")
        self.assertLessEqual(few, PER_CALL, f"5: {few}")

    def test_cron_queries_per_message_are_pinned(self):
        # Warm up what every call shares (templates, QWeb, the cron).
        self._cron_queries(1)
        few = self._cron_queries(5)
        many = self._cron_queries(20)
        per_message = (many - few) / 15
        _logger.info(
            "notification cron: 5 messages %s queries, 20 messages %s: %.2f per "
            "message, %.1f per call",
            few,
            many,
            per_message,
            few - 5 * per_message,
        )
        self.assertLessEqual(per_message, PER_MESSAGE, f"5: {few}, 20: {many}")
        self.assertLessEqual(few - 5 * per_message, PER_CALL, f"5: {few}")
