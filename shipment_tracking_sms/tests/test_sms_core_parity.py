# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import tagged

from .test_shipment_sms import ShipmentSmsCase

# Line breaks and a link: what the chatter body must render (issue 12).
BODY = (
    "{{ object.company_id.name }}: order {{ object._get_shipment_order_ref() }}"
    " has shipped.\nTrack it: https://track.example/t/"
    "{{ object.carrier_tracking_ref }}"
)


@tagged("post_install", "-at_install")
class TestSmsCoreParity(ShipmentSmsCase):
    """The notification cron posts and queues its SMS in a batch
    (``shipment.tracking.notification._sms_post`` / ``_sms_queue``), mirroring
    Odoo 18.0 ``odoo/addons/sms/models/mail_thread.py``: ``_message_sms``,
    ``message_post`` (the sms override) and ``_notify_thread_by_sms``. Both
    ways, for the same text to the same customer, must store the same
    records: a change in core or a drift of the batch fails here."""

    def _message_values(self, message, picking):
        self.assertEqual(message.model, "stock.picking")
        self.assertEqual(message.res_id, picking.id)
        self.assertEqual(message.record_name, picking.display_name)
        self.assertEqual(
            bool(message.parent_id),
            bool(picking.message_ids - message),
            "the thread's first message as parent, as message_post",
        )
        return {
            "body": message.body,
            "message_type": message.message_type,
            "subtype_id": message.subtype_id,
            "author_id": message.author_id,
            "author_guest_id": message.author_guest_id,
            "email_from": message.email_from,
            "partner_ids": message.partner_ids,
            "attachment_ids": message.attachment_ids,
            "subject": message.subject,
            "record_company_id": message.record_company_id,
        }

    def _sms_values(self, message):
        """The message's SMS and SMS notifications (with their tracker link),
        as comparable values."""
        # sudo: SMS and notifications are system data; a test reads them all.
        sms = self.env["sms.sms"].sudo().search([("mail_message_id", "=", message.id)])
        notifications = message.sudo().notification_ids
        return sms, {
            "sms": [
                {
                    "number": one.number,
                    "body": one.body,
                    "partner_id": one.partner_id,
                    "state": one.state,
                    "failure_type": one.failure_type,
                }
                for one in sms.sorted("id")
            ],
            "notifications": [
                {
                    "notification_type": notif.notification_type,
                    "res_partner_id": notif.res_partner_id,
                    "author_id": notif.author_id,
                    "sms_number": notif.sms_number,
                    "notification_status": notif.notification_status,
                    "failure_type": notif.failure_type,
                    "is_read": notif.is_read,
                    "sms": sms.browse(notif.sms_id_int).exists(),
                    "trackers": notif.sms_tracker_ids.mapped("sms_uuid"),
                    "tracked": sms.filtered(
                        lambda one, notif=notif: one.uuid
                        in notif.sms_tracker_ids.mapped("sms_uuid")
                    ),
                }
                for notif in notifications.sorted("id")
            ],
        }

    def _post_both_ways(self):
        """Two equivalent deliveries to the same customer: one validated (its
        dispatch SMS waits for the notification cron), one for the core post.
        Returns the dispatch text (with a line break and a link), both
        deliveries and the customer's partner and number."""
        template = self.env.ref(
            "shipment_tracking_sms.sms_template_shipment_dispatched"
        )
        template.body = BODY
        batch = self._dispatched()
        core = self._create_delivery()
        text = template._render_field("body", batch.ids, compute_lang=True)[batch.id]
        self.assertIn("\n", text)
        partner, number, _reason = batch._get_shipment_sms_recipient()
        self.assertEqual(partner, self.customer)
        return text, batch, core, partner, number

    def _assert_parity(self, text, batch, core, partner, number):
        """Post ``text`` both ways and compare what each stored."""
        # Through the notification cron: the batch path.
        self._run_notification_cron()
        row = batch.shipment_update_ids
        batch_message = row.sms_message_id
        self.assertTrue(batch_message)
        # The same text the core way, to the same customer and number.
        core_message = core.with_context(
            shipment_tracking_customer_only=True
        )._message_sms(
            text,
            partner_ids=partner.ids,
            sms_pid_to_number={partner.id: number},
            put_in_queue=True,
        )
        self.env.flush_all()
        self.env.invalidate_all()

        core_values = self._message_values(core_message, core)
        batch_values = self._message_values(batch_message, batch)
        self.assertEqual(batch_values, core_values)
        self.assertEqual(batch_message.message_type, "sms")
        # Line breaks kept, the link clickable (as the sms module renders it).
        self.assertIn("<br>", batch_message.body)
        self.assertIn('<a href="https://track.example/t/AbC123xyz"', batch_message.body)

        core_sms, core_sms_values = self._sms_values(core_message)
        batch_sms, batch_sms_values = self._sms_values(batch_message)
        # Each notification is linked to its message's own SMS: compared as
        # positions, the records differ.
        for values, sms in ((core_sms_values, core_sms), (batch_sms_values, batch_sms)):
            for notif in values["notifications"]:
                notif["sms"] = list(sms.sorted("id")).index(notif["sms"])
                self.assertEqual(
                    notif.pop("trackers"), notif.pop("tracked").mapped("uuid")
                )
        self.assertEqual(batch_sms_values, core_sms_values)
        # Followers: message_post subscribes the author when it may.
        self.assertEqual(
            batch_message.author_id in batch.message_partner_ids,
            core_message.author_id in core.message_partner_ids,
        )
        return row, batch_message, batch_sms, core_sms

    def test_batch_stores_what_core_stores(self):
        text, batch, core, partner, number = self._post_both_ways()
        row, message, sms, core_sms = self._assert_parity(
            text, batch, core, partner, number
        )
        self.assertEqual(len(core_sms), 1, "core queued one SMS")
        self.assertEqual(sms.body, text, "the SMS text as rendered")
        self.assertEqual(sms.state, "outgoing")
        self.assertEqual(message.notification_ids.res_partner_id, partner)
        self.assertEqual(len(message.notification_ids.sms_tracker_ids), 1)
        self.assertRecordValues(row, [{"sms_state": "outgoing", "sms_ref": sms.id}])

    def test_archived_customer_as_core(self):
        """An archived customer: the batch posts through core's notification
        (``_notify_thread``), which must decide as it does for one message
        (Odoo 18.0 queues no SMS for an archived partner)."""
        text, batch, core, partner, number = self._post_both_ways()
        partner.active = False
        self._assert_parity(text, batch, core, partner, number)
        # Nothing went: the row does not say "sent".
        row = batch.shipment_update_ids
        self.assertRecordValues(row, [{"sms_state": "disabled", "sms_ref": 0}])
        self.assertIn("archived", row.sms_error)
