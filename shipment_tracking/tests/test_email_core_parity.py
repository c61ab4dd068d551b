# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from freezegun import freeze_time

from odoo.tests import new_test_user, tagged

from .common import TEST_NOW, ShipmentTrackingCase

CONTEXT = {
    "mail_notify_force_send": False,
    "shipment_tracking_customer_only": True,
    "shipment_tracking_absolute_dates": True,
}


@tagged("post_install", "-at_install")
class TestEmailCoreParity(ShipmentTrackingCase):
    """The notification cron posts its emails in a batch and notifies them in
    a batch (``mail.thread._shipment_post_batch`` and
    ``_shipment_notify_batch``), mirroring Odoo 18.0's ``message_post`` and
    ``_notify_thread`` (``odoo/addons/mail/models/mail_thread.py``). For the
    same deliveries, the way Odoo posts one delivery at a time
    (``message_post_with_source``, as ``_email_post_with_source`` does) and
    the batch must store the same message, email, recipients and
    notifications: a change in core or a drift of the batch fails here."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Customers may sign up from the email's link (a signup token in it).
        cls.env["ir.config_parameter"].set_param("auth_signup.invitation_scope", "b2c")
        cls.portal_user = new_test_user(
            cls.env,
            "st_portal_parity",
            groups="base.group_portal",
            name="Pia Portal",
            email="pia@portal.example",
        )
        cls.template = cls.env.ref(
            "shipment_tracking.mail_template_shipment_dispatched"
        )

    def _dispatched(self, partner, ref):
        picking = self._create_delivery(partner=partner)
        self._fill_details(picking)
        self._set_tracking(picking, ref=ref)
        self._validate(picking)
        return picking

    def _snapshot(self, rows):
        """What posting stored for each row, as comparable values (no ids of
        records created by the post)."""
        self.env.flush_all()
        self.env.invalidate_all()
        result = []
        for row in rows:
            message = row.mail_message_id
            self.assertTrue(message, "the email's message is recorded")
            # sudo: mails and notifications are system data; a test reads all.
            mail = self.env["mail.mail"].sudo().browse(row.mail_ref)
            self.assertTrue(mail.exists(), "the email waits in Odoo's mail queue")
            own_id = message.message_id
            notifications = message.sudo().notification_ids
            result.append(
                {
                    "row": {
                        "email_state": row.email_state,
                        "email_attempts": row.email_attempts,
                    },
                    "message": {
                        "body": message.body,
                        "subject": message.subject,
                        "message_type": message.message_type,
                        "subtype_id": message.subtype_id.id,
                        "author_id": message.author_id.id,
                        "email_from": message.email_from,
                        "reply_to": message.reply_to,
                        "partner_ids": message.partner_ids.ids,
                        "parent_id": message.parent_id.id,
                        "record_name": message.record_name,
                        "record_company_id": message.record_company_id.id,
                        "record_alias_domain_id": message.record_alias_domain_id.id,
                        "email_layout_xmlid": message.email_layout_xmlid,
                        "email_add_signature": message.email_add_signature,
                        "is_internal": message.is_internal,
                    },
                    "mail": {
                        "body_html": mail.body_html,
                        "subject": mail.subject,
                        "email_from": mail.email_from,
                        "reply_to": mail.reply_to,
                        "email_to": mail.email_to,
                        "email_cc": mail.email_cc,
                        # The message's own Message-Id is drawn at random.
                        "references": mail.references.replace(own_id, "<own>"),
                        "headers": mail.headers,
                        "auto_delete": mail.auto_delete,
                        "is_notification": mail.is_notification,
                        "state": mail.state,
                        "recipient_ids": mail.recipient_ids.ids,
                        "mail_server_id": mail.mail_server_id.id,
                        "scheduled_date": mail.scheduled_date,
                        "model": mail.model,
                        "res_id": mail.res_id,
                    },
                    "notifications": sorted(
                        (
                            notif.notification_type,
                            notif.notification_status,
                            notif.res_partner_id.id,
                            notif.author_id.id,
                            notif.is_read,
                            notif.failure_type or False,
                            notif.mail_mail_id == mail,
                        )
                        for notif in notifications
                    ),
                    "followers": sorted(row.picking_id.message_partner_ids.ids),
                    "access_token": row.picking_id.access_token,
                    "signup_type": row.picking_id.partner_id.signup_type,
                }
            )
        return result

    def test_batch_stores_what_core_stores(self):
        pickings = self._dispatched(self.customer, "AbC123xyz") | self._dispatched(
            self.portal_user.partner_id, "ZyX987cba"
        )
        # A public discussion before: the email's references must name it.
        question = pickings[0].message_post(
            body="Is it on its way?",
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
        rows = (
            pickings[0].shipment_update_ids | pickings[1].shipment_update_ids
        ).sudo()
        self.assertEqual(len(rows), 2)
        # Drawn at random once per delivery: drawn before both ways.
        for picking in pickings:
            picking._portal_ensure_token()
        with freeze_time(TEST_NOW):
            savepoint = self.env.cr.savepoint()
            for row in rows:
                # Odoo's own path: message_post_with_source, one delivery.
                row._email_post_with_source(self.template, CONTEXT)
            core = self._snapshot(rows)
            savepoint.close(rollback=True)
            self.env.invalidate_all()
            self.assertFalse(rows.mail_message_id, "rolled back")
            rows._email_post_batch(self.template, CONTEXT)
            batch = self._snapshot(rows)
        self.assertEqual(batch, core)
        customer, portal = batch
        # What is compared is what matters: both were emailed, with links.
        self.assertEqual(customer["mail"]["recipient_ids"], self.customer.ids)
        self.assertIn("auth_signup_token=", customer["mail"]["body_html"])
        self.assertIn("auth_login=", portal["mail"]["body_html"])
        self.assertIn("access_token=", portal["mail"]["body_html"])
        self.assertIn(question.message_id, customer["mail"]["references"].split())
        self.assertEqual(customer["mail"]["references"].split()[-1], "<own>")
        self.assertEqual(
            customer["notifications"],
            [
                (
                    "email",
                    "ready",
                    self.customer.id,
                    customer["message"]["author_id"],
                    True,
                    False,
                    True,
                )
            ],
        )

    def test_batch_only_where_it_mirrors_every_override(self):
        """The batch does the work of Odoo's methods only on a model where
        they are the versions it mirrors: deliveries here (the comparison
        above runs the batch), not a model without our customer-only
        recipients (contacts: their followers would be notified too)."""
        Thread = self.env["mail.thread"]
        self.assertTrue(Thread._shipment_batch_mirrors(self.env["stock.picking"]))
        self.assertFalse(Thread._shipment_batch_mirrors(self.env["res.partner"]))

    def test_batch_of_one_thread_per_delivery(self):
        """Each email names its own delivery's thread, never another's."""
        pickings = self._dispatched(self.customer, "AAA111") | self._dispatched(
            self.customer, "BBB222"
        )
        note = pickings[1].message_post(
            body="Parcel soon", message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        rows = pickings.shipment_update_ids.sudo()
        rows._email_post_batch(self.template, CONTEXT)
        self.env.flush_all()
        # sudo: mails are system data; a test reads them.
        first, second = (
            self.env["mail.mail"].sudo().browse(picking.shipment_update_ids.mail_ref)
            for picking in pickings
        )
        self.assertNotIn(note.message_id, first.references)
        self.assertIn(note.message_id, second.references)
        self.assertIn("AAA111", first.body_html)
        self.assertIn("BBB222", second.body_html)
        self.assertEqual(first.res_id, pickings[0].id)
        self.assertEqual(second.res_id, pickings[1].id)

    def test_inbox_customer_in_a_batch_is_notified_by_odoo(self):
        """A customer who reads Odoo's inbox (an internal user) is notified
        by Odoo's own ``_notify_thread`` (an inbox notification, no email);
        the others of the batch get their emails."""
        internal = new_test_user(
            self.env,
            "st_inbox_parity",
            groups="base.group_user",
            name="Ivy Inbox",
            email="ivy@inbox.example",
            notification_type="inbox",
        )
        pickings = self._dispatched(self.customer, "CCC333") | self._dispatched(
            internal.partner_id, "DDD444"
        )
        rows = pickings.shipment_update_ids.sudo()
        rows._email_post_batch(self.template, CONTEXT)
        self.env.flush_all()
        emailed, inbox = (picking.shipment_update_ids for picking in pickings)
        self.assertRecordValues(
            emailed | inbox,
            [
                {"email_state": "outgoing", "mail_ref": emailed.mail_ref},
                {"email_state": "sent", "mail_ref": 0},
            ],
        )
        self.assertTrue(emailed.mail_ref)
        notifications = inbox.mail_message_id.sudo().notification_ids
        self.assertRecordValues(
            notifications,
            [{"notification_type": "inbox", "res_partner_id": internal.partner_id.id}],
        )
