# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from unittest.mock import patch

from odoo.tests import TransactionCase, tagged

from .common import SandboxCarrierMixin

# The statements of one batch of the poll cron, with news (new events and a
# status change for every shipment) or without: the same for 5 shipments as
# for 20, and no more than this (28 with news, 13 without, in November 2026;
# 25 with news once the shipments' writes skip values they already show; an
# INSERT ... ON CONFLICT in place of the ORM's create in a savepoint made it
# 23, but filled audit and related columns by hand: not done).
MAX_BATCH_QUERIES = 25


@tagged("post_install", "-at_install", "shipment_clock")
class TestPollCost(SandboxCarrierMixin, TransactionCase):
    """What a poll batch costs does not grow with its shipments: the events,
    statuses, chatter entries and schedules of a batch are written together."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Only our carrier polls (see TestPolling), with field tracking on as
        # in production (the fixtures turn it off).
        cls.env["delivery.carrier"].search(
            [("delivery_type", "=", "generic"), ("id", "!=", cls.generic.id)]
        ).active = False
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=False))

    def _dispatched(self, count):
        pickings = self.env["stock.picking"]
        for _i in range(count):
            pickings |= self._booked(scenario="normal")
        return pickings

    def _poll(self, pickings):
        """Run the poll cron on the numbers of ``pickings`` only (the others
        are not due); return its SQL statements."""
        # sudo: what the cron writes.
        Number = self.env["shipment.tracking.number"].sudo()
        Number.search([]).write({"next_poll_date": "2099-01-01"})
        pickings.tracking_number_ids.sudo().write({"next_poll_date": False})
        # Each run records its poll on the carrier (within the same second,
        # the value would not change and not be written).
        self.generic.sudo().shipment_last_poll_date = False
        self.env.flush_all()
        self.env.invalidate_all()
        before = self.env.cr.sql_log_count
        with patch.object(self.env.cr, "commit"):
            Number._cron_poll()
        self.env.flush_all()
        return self.env.cr.sql_log_count - before

    def test_batch_queries_do_not_grow_with_the_shipments(self):
        warmup, few, many = (
            self._dispatched(1),
            self._dispatched(5),
            self._dispatched(20),
        )
        self.sandbox.advance_clock(5)
        self._poll(warmup)  # caches (fields, status table) filled once
        with_news = (self._poll(few), self._poll(many))
        self.assertEqual(set((few | many).mapped("shipment_state")), {"in_transit"})
        without_news = (self._poll(few), self._poll(many))
        self.assertEqual(with_news[0], with_news[1], "with news: 5 vs 20 shipments")
        self.assertEqual(without_news[0], without_news[1], "no news: 5 vs 20")
        self.assertLessEqual(max(with_news + without_news), MAX_BATCH_QUERIES)

    def test_one_chatter_entry_per_status_change(self):
        """The status change is one entry: what the carrier said, and the
        status (and estimate) old -> new as tracked values."""
        picking = self._dispatched(1)
        seen = picking.message_ids
        self.sandbox.advance_clock(5)
        self._poll(picking)
        self.assertEqual(picking.shipment_state, "in_transit")
        message = picking.message_ids - seen
        self.assertEqual(len(message), 1)
        self.assertIn("Carrier update: In Transit (", message.body)
        self.assertIn(picking.carrier_tracking_ref, message.body)
        self.assertEqual(message.subtype_id, self.env.ref("mail.mt_note"))
        self.assertEqual(message.message_type, "notification")
        self.assertFalse(message.notification_ids, "a log: nobody is notified")
        status = message.tracking_value_ids.filtered(
            lambda v: v.field_id.name == "shipment_state"
        )
        self.assertRecordValues(
            status, [{"old_value_char": "Dispatched", "new_value_char": "In Transit"}]
        )
        # No news: no entry.
        seen = picking.message_ids
        self._poll(picking)
        self.assertFalse(picking.message_ids - seen)

    def test_carrier_updates_need_no_tracking_subtype_or_template(self):
        """The batch logs the tracked values itself (one entry, no one
        notified, no template sent): that is what mail.thread would do only
        while stock.picking tracks these fields without a subtype or a
        template. Should a module give them one, the batch must follow it."""
        picking = self._dispatched(1)
        fields_changed = {"shipment_state", "expected_delivery_date"}
        init_values = {fname: picking[fname] for fname in fields_changed}
        self.assertFalse(picking._track_subtype(init_values))
        self.assertFalse(picking._track_template(fields_changed))
