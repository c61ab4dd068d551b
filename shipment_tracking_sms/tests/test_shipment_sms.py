# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import threading
from datetime import timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.modules.registry import Registry
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.base.models.ir_mail_server import IrMailServer
from odoo.addons.shipment_tracking.tests.common import ShipmentTrackingCase

from .fake_sms_gateway import FakeSmsGateway

UPDATE_KINDS = (
    "out_for_delivery",
    "available_for_pickup",
    "delivered",
    "exception",
    "late",
    "returned",
    "recovered",
)


class ShipmentSmsCase(ShipmentTrackingCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.gateway = FakeSmsGateway().start()
        cls.addClassCleanup(cls.gateway.stop)
        cls.company.write(
            {
                "country_id": cls.env.ref("base.be").id,
                "shipment_notify_sms": True,
                "shipment_sms_gateway": "iap",
                "shipment_sms_http_base_url": cls.gateway.url,
                "shipment_sms_http_account_sid": cls.gateway.account_sid,
                "shipment_sms_http_auth_token": cls.gateway.auth_token,
                "shipment_sms_http_sender": "+3225550000",
                "shipment_sms_max_attempts": 3,
            }
        )
        cls.customer.write(
            {"mobile": "06 12 34 56 78", "country_id": cls.env.ref("base.fr").id}
        )

    def setUp(self):
        super().setUp()
        self.gateway.reset()

    def _dispatched(self, **kwargs):
        picking = self._create_delivery(**kwargs)
        self._fill_details(picking)
        self._set_tracking(picking)
        self._validate(picking)
        return picking

    def _sms(self, picking):
        return (
            self.env["sms.sms"]
            .sudo()
            .search(
                [
                    ("mail_message_id.model", "=", "stock.picking"),
                    ("mail_message_id.res_id", "=", picking.id),
                ]
            )
        )

    def _process_sms_queue(self):
        self.env["sms.sms"].sudo()._process_queue()

    def _run_retries(self):
        """The notification cron once the outbox's backoff is over (the
        longest wait is 8 hours)."""
        with freeze_time(fields.Datetime.now() + timedelta(hours=9)):
            self._run_notification_cron()

    def _notes(self, picking):
        return picking.message_ids.filtered(
            lambda m: "No SMS was sent" in (m.body or "")
        )

    def _partner(self, country, **numbers):
        return self.env["res.partner"].create(
            {
                "name": f"Customer {country or 'nowhere'}",
                "email": f"{country or 'x'}@customer.example",
                "country_id": country and self.env.ref(f"base.{country}").id,
                **numbers,
            }
        )


@tagged("post_install", "-at_install", "shipment_clock")
class TestShipmentSms(ShipmentSmsCase):
    def test_dispatch_sms_only_from_the_cron(self):
        picking = self._dispatched()
        self.assertFalse(self._sms(picking), "no SMS inside the validation click")
        self._run_notification_cron()
        sms = self._sms(picking)
        self.assertEqual(len(sms), 1)
        self.assertRecordValues(sms, [{"number": "+33612345678", "state": "outgoing"}])
        self.assertEqual(sms.partner_id, self.customer)
        for expected in (
            picking.sale_id.name,
            self.carrier.name,
            "AbC123xyz",
            "ETA " + picking.expected_delivery_date.strftime("%m/%d/%Y"),
            self.company.name,
        ):
            self.assertIn(expected, sms.body)
        self.assertRecordValues(picking, [{"shipment_sms_state": "sent"}])
        message = picking.shipment_sms_message_id
        self.assertEqual(message.message_type, "sms")
        self.assertIn(message, picking.message_ids, "logged in the chatter")
        # The email went too (default preference: both).
        self.assertEqual(len(self._notification_mails(picking)), 1)

    def test_dispatch_sms_fits_one_segment(self):
        picking = self._dispatched()
        self._run_notification_cron()
        template = self.env.ref(
            "shipment_tracking_sms.sms_template_shipment_dispatched"
        )
        self.assertEqual(template.shipment_sms_segments, 1)
        self.assertEqual(template.shipment_sms_encoding, "gsm7")
        self.assertEqual(template.shipment_sms_length, len(self._sms(picking).body))

    def test_update_sms_for_each_kind(self):
        picking = self._dispatched()
        self._run_notification_cron()
        Notification = self.env["shipment.tracking.notification"]
        expected = {
            "out_for_delivery": "out for delivery",
            "available_for_pickup": "ready for pickup",
            "delivered": "was delivered",
            "exception": "problem",
            "late": "running late",
            "returned": "coming back",
            "recovered": "back on track",
        }
        for kind in UPDATE_KINDS:
            with self.subTest(kind=kind):
                notification = Notification._enqueue(picking, kind, f"test:{kind}")
                self._run_notification_cron()
                # In Odoo's mail and SMS queues until they are sent.
                self.assertRecordValues(
                    notification,
                    [
                        {
                            "state": "queued",
                            "email_state": "outgoing",
                            "sms_state": "outgoing",
                        }
                    ],
                )
                body = notification.sms_message_id.body
                self.assertIn(expected[kind], body)
                self.assertIn(picking.sale_id.name, body)
                template = self.env.ref(
                    f"shipment_tracking_sms.sms_template_shipment_{kind}"
                )
                self.assertEqual(template.shipment_sms_segments, 1, kind)
        self.assertEqual(len(self._sms(picking)), 1 + len(UPDATE_KINDS))

    def test_pickup_sms_says_where_and_until_when(self):
        picking = self._dispatched()
        self._run_notification_cron()
        self.customer.tz = "Europe/Brussels"
        # sudo: what a carrier event writes.
        picking.sudo().write(
            {
                "shipment_pickup_location": "Locker 7, Station Ghent",
                "shipment_pickup_deadline": "2026-12-03 17:00:00",
            }
        )
        notification = self.env["shipment.tracking.notification"]._enqueue(
            picking, "available_for_pickup", "test:pickup"
        )
        self._run_notification_cron()
        body = notification.sms_message_id.body
        self.assertIn("ready for pickup at Locker 7, Station Ghent", body)
        self.assertIn("collect before 12/03/2026 6:00 PM.", body)

    def test_pickup_sms_keeps_a_long_carrier_text_short_and_linkless(self):
        picking = self._dispatched()
        self._run_notification_cron()
        # sudo: what a carrier event writes (a carrier's free text).
        picking.sudo().shipment_pickup_location = (
            "Locker 7 https://evil.example/claim www.evil.example " + "x" * 900
        )
        notification = self.env["shipment.tracking.notification"]._enqueue(
            picking, "available_for_pickup", "test:pickup-long"
        )
        self._run_notification_cron()
        body = notification.sms_message_id.body
        self.assertIn("ready for pickup at Locker 7 xxx", body)
        self.assertNotIn("evil", body)
        self.assertLess(len(body), 160 + 40, body)
        self.assertIn("...", body)

    def test_never_twice(self):
        picking = self._dispatched()
        self._run_notification_cron()
        self._run_notification_cron()
        # A second validation attempt / dispatch pass and a resend of the email.
        picking._shipment_dispatch_ready()
        picking.with_user(self.user_logistics).action_shipment_resend_notification()
        self._run_notification_cron()
        self.assertEqual(len(self._sms(picking)), 1)
        self.assertEqual(len(self._notification_mails(picking)), 2, "email resent")
        notification = self.env["shipment.tracking.notification"]._enqueue(
            picking, "delivered", "status:delivered"
        )
        self._run_notification_cron()
        again = self.env["shipment.tracking.notification"]._enqueue(
            picking, "delivered", "status:delivered"
        )
        self.assertFalse(again)
        notification._process()  # even a stray second run does not text again
        self._run_notification_cron()
        self.assertEqual(len(self._sms(picking)), 2)

    def test_numbers_of_many_countries(self):
        cases = [
            # country, numbers, expected E.164 or None
            ("fr", {"mobile": "06 12 34 56 78"}, "+33612345678"),
            ("de", {"mobile": "+49 1512 3456789"}, "+4915123456789"),
            ("uk", {"phone": "07400 123456"}, "+447400123456"),
            ("us", {"mobile": "(650) 253-0000"}, "+16502530000"),
            ("jp", {"mobile": "090-1234-5678"}, "+819012345678"),
            ("in", {"mobile": "+91 98765 43210"}, "+919876543210"),
            ("es", {"mobile": "612 34 56 78"}, "+34612345678"),
            # fixed lines cannot receive SMS
            ("be", {"phone": "02 555 12 12"}, None),
            ("fr", {"mobile": "01 23 45 67 89"}, None),
            # invalid, missing
            ("fr", {"mobile": "12345"}, None),
            ("de", {}, None),
            # national format without country: the company's (Belgium)
            (False, {"mobile": "0470 12 34 56"}, "+32470123456"),
            # a fixed-line mobile field, a mobile phone field: the mobile one
            (
                "fr",
                {"mobile": "01 23 45 67 89", "phone": "07 56 12 34 56"},
                "+33756123456",
            ),
        ]
        for country, numbers, expected in cases:
            with self.subTest(country=country, numbers=numbers):
                partner = self._partner(country, **numbers)
                picking = self._dispatched(partner=partner)
                self._run_notification_cron()
                sms = self._sms(picking)
                if expected:
                    self.assertEqual(sms.number, expected)
                    self.assertEqual(picking.shipment_sms_state, "sent")
                else:
                    self.assertFalse(sms)
                    self.assertEqual(picking.shipment_sms_state, "skipped")
                    self.assertEqual(len(self._notes(picking)), 1)
                    # The email still went out.
                    self.assertEqual(picking.shipment_notification_state, "queued")

    def test_fixed_line_refused_with_reason(self):
        partner = self._partner("be", phone="02 555 12 12")
        picking = self._dispatched(partner=partner)
        self._run_notification_cron()
        self.assertIn("cannot receive SMS", self._notes(picking).body)
        self.assertIn("cannot receive SMS", picking.shipment_sms_note)

    def test_delivery_contact_then_order_customer(self):
        delivery = self.env["res.partner"].create(
            {
                "name": "Dock 4",
                "parent_id": self.customer.id,
                "type": "delivery",
                "mobile": "07400 123456",
                "country_id": self.env.ref("base.uk").id,
            }
        )
        picking = self._create_delivery()
        picking.partner_id = delivery
        self.assertEqual(picking._get_shipment_sms_recipient()[1], "+447400123456")
        delivery.mobile = False
        partner, number, _reason = picking._get_shipment_sms_recipient()
        self.assertEqual((partner, number), (self.customer, "+33612345678"))

    def test_blacklisted_number_never_texted(self):
        self.env["phone.blacklist"].sudo().add("+33612345678")
        picking = self._dispatched()
        self._run_notification_cron()
        self.assertFalse(self._sms(picking))
        self.assertIn("blacklist", self._notes(picking).body)
        self.assertEqual(len(self._notification_mails(picking)), 1)

    def test_preferences(self):
        expected = {
            # channel: (emails, sms) for the dispatch and one update
            "both": (2, 2),
            "email": (2, 0),
            "sms": (0, 2),
            "none": (0, 0),
        }
        for channel, (emails, texts) in expected.items():
            with self.subTest(channel=channel):
                partner = self._partner("fr", mobile="06 12 34 56 78")
                partner.shipment_notification_channel = channel
                picking = self._dispatched(partner=partner)
                self._run_notification_cron()
                self.env["shipment.tracking.notification"]._enqueue(
                    picking, "delivered", "status:delivered"
                )
                self._run_notification_cron()
                self.assertEqual(len(self._notification_mails(picking)), emails)
                self.assertEqual(len(self._sms(picking)), texts)
                if channel in ("sms", "none"):
                    self.assertEqual(picking.shipment_notification_state, "opted_out")

    def test_preference_of_company_applies_to_contacts(self):
        company = self.env["res.partner"].create(
            {"name": "Acme", "is_company": True, "shipment_notification_channel": "sms"}
        )
        contact = self.env["res.partner"].create(
            {"name": "Ann", "parent_id": company.id}
        )
        self.assertEqual(contact.shipment_notification_channel, "sms")
        company.shipment_notification_channel = "none"
        self.assertEqual(contact.shipment_notification_channel, "none")

    def test_company_switch_off(self):
        self.company.shipment_notify_sms = False
        picking = self._dispatched()
        self._run_notification_cron()
        self.assertFalse(self._sms(picking))
        self.assertEqual(picking.shipment_sms_state, "skipped")

    def test_template_over_three_segments_refused(self):
        template = self.env.ref("shipment_tracking_sms.sms_template_shipment_delivered")
        with self.assertRaises(ValidationError):
            template.body = "x" * 460
        template.body = "x" * 459  # three segments of 153
        self.assertEqual(template.shipment_sms_segments, 3)
        # Other templates are not ours to police.
        other = self.env["sms.template"].create(
            {
                "name": "Other",
                "model_id": self.env.ref("stock.model_stock_picking").id,
                "body": "y" * 600,
            }
        )
        self.assertEqual(other.shipment_sms_segments, 4)

    def _validate_as_in_production(self, picking):
        """stock_sms stays silent while the registry is in test mode: lift
        that for the validation only."""
        with (
            patch.object(Registry, "in_test_mode", lambda self: False),
            patch.object(threading.current_thread(), "testing", False),
        ):
            self._validate(picking)

    def test_stock_sms_confirmation_not_also_sent(self):
        self.company.write(
            {
                "stock_move_sms_validation": True,
                "has_received_warning_stock_sms": True,
                "shipment_sms_gateway": "http",
            }
        )
        picking = self._create_delivery()
        self._fill_details(picking)
        self._set_tracking(picking)
        self._validate_as_in_production(picking)
        self.assertFalse(self._sms(picking))
        self.assertFalse(self.gateway.messages)
        self._run_notification_cron()
        self._process_sms_queue()
        self.assertEqual(len(self.gateway.messages), 1)
        self.assertIn("has shipped", self.gateway.messages[0]["Body"])

    def test_stock_sms_confirmation_kept_when_ours_is_off(self):
        self.company.write(
            {
                "stock_move_sms_validation": True,
                "has_received_warning_stock_sms": True,
                "shipment_sms_gateway": "http",
                "shipment_notify_sms": False,
            }
        )
        picking = self._create_delivery()
        self._fill_details(picking)
        self._set_tracking(picking)
        self._validate_as_in_production(picking)
        # stock_sms sends right away (put_in_queue=False): for the HTTP
        # gateway, through the queue cron (never inside the validation).
        self.assertFalse(self.gateway.messages)
        self._process_sms_queue()
        self.assertEqual(len(self.gateway.messages), 1)
        self.assertNotIn("has shipped", self.gateway.messages[0]["Body"])


@tagged("post_install", "-at_install", "shipment_clock")
class TestHttpGateway(ShipmentSmsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.shipment_sms_gateway = "http"

    def test_sent_through_the_gateway(self):
        picking = self._dispatched()
        self._run_notification_cron()
        sms = self._sms(picking)
        self._process_sms_queue()
        self.assertEqual(len(self.gateway.messages), 1)
        sent = self.gateway.messages[0]
        self.assertEqual(sent["To"], "+33612345678")
        self.assertEqual(sent["From"], "+3225550000")
        self.assertEqual(sent["Body"], sms.body)
        self.assertRecordValues(
            sms,
            [
                {
                    "state": "pending",
                    "to_delete": True,
                    "shipment_gateway_sid": sent["sid"],
                }
            ],
        )
        notification = sms.mail_message_id.notification_ids
        self.assertEqual(notification.notification_status, "pending")

    @mute_logger("odoo.addons.shipment_tracking_sms.models.sms_sms")
    def test_gateway_down_then_back(self):
        picking = self._dispatched()
        self._run_notification_cron()
        sms = self._sms(picking)
        self.gateway.fail_status = 503
        self.gateway.fail_next = 1
        self._process_sms_queue()
        self.assertRecordValues(
            sms,
            [
                {
                    "state": "error",
                    "failure_type": "sms_server",
                    "shipment_gateway_attempts": 1,
                }
            ],
        )
        self.assertIn("503", sms.shipment_gateway_error)
        notification = sms.mail_message_id.notification_ids
        self.assertEqual(notification.notification_status, "exception")
        self.assertEqual(notification.failure_reason, sms.shipment_gateway_error)
        # The cron puts it back in the queue after the outbox's backoff; the
        # gateway is back up.
        self._run_notification_cron()
        self.assertEqual(sms.state, "error", "not before the backoff is over")
        self._run_retries()
        self.assertEqual(sms.state, "outgoing")
        self._process_sms_queue()
        self.assertRecordValues(
            sms, [{"state": "pending", "shipment_gateway_attempts": 2}]
        )
        self.assertEqual(len(self.gateway.messages), 1)
        self.assertEqual(len(self.gateway.requests), 2)
        self.assertEqual(picking.shipment_state, "dispatched")

    @mute_logger("odoo.addons.shipment_tracking_sms.models.sms_sms")
    def test_retries_are_capped(self):
        self.company.shipment_sms_max_attempts = 2
        picking = self._dispatched()
        self._run_notification_cron()
        sms = self._sms(picking)
        self.gateway.fail_status = 503
        self.gateway.fail_always = True
        for _attempt in range(4):
            self._process_sms_queue()
            self._run_retries()
        self.assertRecordValues(
            sms,
            [{"state": "error", "failure_type": "sms_server", "to_delete": False}],
        )
        self.assertEqual(len(self.gateway.requests), 2)

    @mute_logger("odoo.addons.shipment_tracking_sms.models.sms_sms")
    def test_refused_number_is_not_retried(self):
        self.company.shipment_sms_http_auth_token = "wrong"
        picking = self._dispatched()
        self._run_notification_cron()
        sms = self._sms(picking)
        self._process_sms_queue()
        self._run_notification_cron()
        self._process_sms_queue()
        self.assertRecordValues(sms, [{"state": "error", "failure_type": "sms_acc"}])
        self.assertEqual(len(self.gateway.requests), 1)

    def test_other_companies_keep_iap(self):
        picking = self._dispatched()
        self._run_notification_cron()
        sms = self._sms(picking)
        self.company.shipment_sms_gateway = "iap"
        with patch(
            "odoo.addons.sms.models.sms_sms.SmsApi._send_sms_batch",
            return_value=[{"uuid": sms.uuid, "state": "success"}],
        ) as iap:
            self._process_sms_queue()
        self.assertEqual(iap.call_count, 1)
        self.assertFalse(self.gateway.requests)
        self.assertEqual(sms.state, "pending")


@tagged("post_install", "-at_install")
class TestOutboxChannels(ShipmentSmsCase):
    """The email and the SMS of one message are retried each on their own:
    a failure of one never sends the other twice."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.shipment_sms_gateway = "http"

    @mute_logger(
        "odoo.addons.shipment_tracking_sms.models.sms_sms",
        "odoo.addons.mail.models.mail_mail",
    )
    def test_email_and_sms_retried_on_their_own(self):
        picking = self._dispatched()
        self._run_notification_cron()
        message = picking._get_shipment_dispatch_update()
        mail, sms = message.mail_id, message.sms_id
        # The SMS gateway fails once, SMTP is down once.
        self.gateway.fail_status = 503
        self.gateway.fail_next = 1
        self._process_sms_queue()
        with patch.object(
            IrMailServer, "connect", side_effect=ConnectionRefusedError("SMTP down")
        ):
            mail.send()
        self.assertRecordValues(
            message,
            [
                {
                    "state": "queued",
                    "email_state": "pending",
                    "email_attempts": 1,
                    "sms_state": "pending",
                    "sms_attempts": 1,
                }
            ],
        )
        self.assertIn("SMTP down", message.email_error)
        self.assertIn("503", message.sms_error)
        # SMTP is back first: the email goes, the SMS waits for its gateway.
        self._run_retries()
        self.assertEqual(mail.state, "outgoing")
        mail.send()
        self.gateway.fail_next = 1
        self._process_sms_queue()
        self.assertRecordValues(
            message,
            [
                {
                    "email_state": "sent",
                    "email_attempts": 2,
                    "sms_state": "pending",
                    "sms_attempts": 2,
                }
            ],
        )
        # The SMS goes on its third try; the email is not sent again.
        self._run_retries()
        self._process_sms_queue()
        self.assertRecordValues(
            message,
            [
                {
                    "state": "sent",
                    "email_state": "sent",
                    "email_attempts": 2,
                    "sms_state": "sent",
                    "sms_attempts": 3,
                }
            ],
        )
        self.assertEqual(len(self.gateway.messages), 1)
        self.assertEqual(self._sms(picking), sms)
        subject = message.mail_message_id.subject
        self.assertEqual(
            len(picking.message_ids.filtered(lambda m: m.subject == subject)), 1
        )

    @mute_logger("odoo.addons.shipment_tracking_sms.models.sms_sms")
    def test_sms_given_up_shows_in_failed_list(self):
        self.company.shipment_sms_max_attempts = 1
        picking = self._dispatched()
        self._run_notification_cron()
        message = picking._get_shipment_dispatch_update()
        message.mail_id.send()
        self.gateway.fail_status = 503
        self.gateway.fail_always = True
        self._process_sms_queue()
        self.assertRecordValues(
            message, [{"state": "failed", "email_state": "sent", "sms_state": "failed"}]
        )
        self.assertEqual(picking.shipment_sms_state, "failed")
        failed = self.env["shipment.tracking.notification"].search(
            [("state", "=", "failed")]
        )
        self.assertIn(message, failed)
        # Customer Service retries it once the gateway is back.
        self.gateway.fail_always = False
        message.with_user(self.user_cs).action_retry()
        self._run_notification_cron()
        self._process_sms_queue()
        self.assertRecordValues(message, [{"state": "sent", "sms_state": "sent"}])
        self.assertEqual(len(self.gateway.messages), 1)

    @mute_logger("odoo.addons.shipment_tracking_sms.models.sms_sms")
    def test_sms_of_unknown_fate_is_failed_and_not_retried_from_the_outbox(self):
        """A 500 may come after the gateway took the SMS: failed at once,
        never resent by the cron, nor by a Retry pressed in bulk."""
        picking = self._dispatched()
        self._run_notification_cron()
        message = picking._get_shipment_dispatch_update()
        message.mail_id.send()
        self.gateway.fail_status = 500
        self.gateway.fail_next = 1
        self._process_sms_queue()
        self.assertRecordValues(
            message, [{"state": "failed", "sms_state": "failed", "sms_attempts": 1}]
        )
        self._run_retries()
        self._process_sms_queue()
        self.assertEqual(len(self.gateway.requests), 1)
        self.assertFalse(message.can_retry)
        with self.assertRaisesRegex(UserError, "Nothing to send again"):
            message.with_user(self.user_cs).action_retry()
