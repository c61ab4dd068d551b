# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The HTTP gateway never sends an SMS twice: each SMS is marked in flight
before the call, and one whose fate is unknown (no answer, or its worker
died during the call) goes to error with the reason and is never resent
automatically. The kill of a real worker mid-call is in the end-to-end suite
(tests/test_adversarial_containment.py)."""

from unittest.mock import patch

from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.shipment_tracking.tools.cron_wakeup import CRON_WAKEUP

from ..models.sms_sms import GATEWAY_CALL_LOCK
from ..tools import HttpSmsGateway, SmsGatewayError
from .test_shipment_sms import ShipmentSmsCase

LOGGER = "odoo.addons.shipment_tracking_sms.models.sms_sms"
REFUSED = "gateway unreachable (connection refused)"


@tagged("post_install", "-at_install")
class TestGatewayContainment(ShipmentSmsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.shipment_sms_gateway = "http"

    def _queued_sms(self):
        picking = self._dispatched()
        self._run_notification_cron()
        sms = self._sms(picking)
        self.assertRecordValues(sms, [{"state": "outgoing"}])
        return sms

    def _assert_fate_unknown(self, sms):
        """In error, fate unknown, kept in sight and said in the chatter."""
        self.assertRecordValues(
            sms,
            [
                {
                    "state": "error",
                    "failure_type": "unknown",
                    "shipment_gateway_in_flight": False,
                    "shipment_gateway_fate_unknown": True,
                    "shipment_gateway_attempts": 1,
                    "to_delete": False,
                }
            ],
        )
        notification = sms.mail_message_id.notification_ids
        self.assertEqual(notification.notification_status, "exception")
        self.assertEqual(notification.failure_reason, sms.shipment_gateway_error)

    def _requests_for(self, sms):
        return [r for r in self.gateway.requests if r["form"].get("Body") == sms.body]

    def _run_later_cron_runs(self, runs=3):
        for _run in range(runs):
            self._run_notification_cron()
            self._process_sms_queue()

    def test_claim_marks_in_flight_before_the_call(self):
        sms = self._queued_sms()
        self.assertTrue(sms._shipment_claim())
        self.assertRecordValues(
            sms, [{"state": "process", "shipment_gateway_in_flight": True}]
        )
        notification = sms.mail_message_id.notification_ids
        self.assertEqual(notification.notification_status, "process")
        # Claimed once: a second claim (another run) gets nothing.
        self.assertFalse(sms._shipment_claim())
        self.assertFalse(self.gateway.requests)

    def test_sent_sms_leaves_flight(self):
        sms = self._queued_sms()
        self._process_sms_queue()
        self.assertRecordValues(
            sms, [{"state": "pending", "shipment_gateway_in_flight": False}]
        )
        self.assertEqual(len(self._requests_for(sms)), 1)

    @mute_logger(LOGGER)
    def test_no_answer_is_fate_unknown_and_never_retried(self):
        """The gateway took the request and the connection dropped before its
        answer: the SMS may be gone, so it is not retried."""
        sms = self._queued_sms()
        self.gateway.drop_next = 1
        self._process_sms_queue()
        self._assert_fate_unknown(sms)
        self._run_later_cron_runs()
        self.assertEqual(sms.state, "error")
        self.assertEqual(len(self._requests_for(sms)), 1, "never resent by itself")

    @mute_logger(LOGGER)
    def test_sms_left_in_flight_by_a_dead_worker_is_flagged(self):
        """A worker claimed the SMS (committed) and died during the call: its
        advisory lock is gone, so the next queue run says so on the record
        and does not send it."""
        sms = self._queued_sms()
        sms._shipment_claim()
        self._process_sms_queue()
        self._assert_fate_unknown(sms)
        self._run_later_cron_runs()
        self.assertEqual(sms.state, "error")
        self.assertFalse(self._requests_for(sms))
        # Resending is a person's decision: Retry on the SMS sends it once.
        sms.action_set_outgoing()
        self._process_sms_queue()
        self.assertRecordValues(
            sms,
            [
                {
                    "state": "pending",
                    "failure_type": False,
                    "shipment_gateway_error": False,
                    "shipment_gateway_fate_unknown": False,
                    "shipment_gateway_attempts": 2,
                }
            ],
        )
        self.assertEqual(len(self._requests_for(sms)), 1)

    @mute_logger(LOGGER)
    def test_sms_in_flight_of_a_live_worker_is_left_alone(self):
        """While the worker calling the gateway is alive (it holds the SMS's
        advisory lock on its own connection), other runs leave its SMS be."""
        sms = self._queued_sms()
        sms._shipment_claim()
        with self.registry.cursor() as worker_cr:
            worker_cr.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [GATEWAY_CALL_LOCK, sms.id]
            )
            self._process_sms_queue()
            self.assertRecordValues(
                sms, [{"state": "process", "shipment_gateway_in_flight": True}]
            )
        self.assertFalse(self.gateway.requests)
        # Its connection gone without an answer recorded: fate unknown.
        self.assertEqual(self.env["sms.sms"]._shipment_flag_unknown_fate(), sms)
        self.assertRecordValues(
            sms,
            [
                {
                    "state": "error",
                    "failure_type": "unknown",
                    "shipment_gateway_fate_unknown": True,
                }
            ],
        )

    @mute_logger(LOGGER)
    def test_unavailable_gateway_is_retried(self):
        """503 (unavailable) and 429 (rate limited): the gateway said it did
        not take the SMS, so the notification cron puts it back in the queue
        once the outbox's backoff is over."""
        for status in (503, 429):
            with self.subTest(status=status):
                self.gateway.reset()
                sms = self._queued_sms()
                self.gateway.fail_status = status
                self.gateway.fail_next = 1
                self._process_sms_queue()
                self.assertRecordValues(
                    sms,
                    [
                        {
                            "state": "error",
                            "failure_type": "sms_server",
                            "shipment_gateway_fate_unknown": False,
                        }
                    ],
                )
                self._run_retries()
                self._process_sms_queue()
                self.assertRecordValues(sms, [{"state": "pending"}])
                self.assertEqual(len(self._requests_for(sms)), 2)
                self.assertEqual(len(self.gateway.messages), 1)

    @mute_logger(LOGGER)
    def test_server_errors_are_fate_unknown_never_retried(self):
        """A 500, 502, 504 (from the gateway or a proxy before it) may come
        after the gateway took the SMS: fate unknown, never resent by the
        crons, visible on the SMS and in the chatter."""
        for status in (500, 502, 504):
            with self.subTest(status=status):
                self.gateway.reset()
                sms = self._queued_sms()
                self.gateway.fail_status = status
                self.gateway.fail_next = 1
                self._process_sms_queue()
                self.assertRecordValues(
                    sms,
                    [
                        {
                            "state": "error",
                            "failure_type": "unknown",
                            "shipment_gateway_in_flight": False,
                            "shipment_gateway_fate_unknown": True,
                            "to_delete": False,
                        }
                    ],
                )
                notification = sms.mail_message_id.notification_ids
                self.assertEqual(notification.notification_status, "exception")
                self._run_later_cron_runs()
                self.assertEqual(sms.state, "error")
                self.assertEqual(len(self._requests_for(sms)), 1)


@tagged("post_install", "-at_install")
class TestGatewayNeverInline(ShipmentSmsCase):
    """SMS sent outside the queue cron (a post, Retry, the composer) never
    reach the HTTP gateway inside the user's transaction, which Odoo replays
    after a serialization failure: they wait in the queue for the cron, which
    commits the in-flight mark before the call."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.shipment_sms_gateway = "http"
        cls.queue_cron = cls.env.ref("sms.ir_cron_sms_scheduler_action")

    def _triggers(self):
        return self.env["ir.cron.trigger"].search_count(
            [("cron_id", "=", self.queue_cron.id)]
        )

    def _post_sms_inline(self, picking, body):
        picking.message_post(body="-")  # the chatter exists
        message = picking._message_sms(
            body,
            partner_ids=self.customer.ids,
            sms_pid_to_number={self.customer.id: "+33612345678"},
            put_in_queue=False,
        )
        return self.env["sms.sms"].sudo().search([("mail_message_id", "=", message.id)])

    def _requests_for(self, body):
        return [r for r in self.gateway.requests if r["form"].get("Body") == body]

    def test_inline_send_waits_for_the_queue_cron(self):
        picking = self._create_delivery()
        triggers = self._triggers()
        sms = self._post_sms_inline(picking, "Inline hello")
        self.assertRecordValues(
            sms, [{"state": "outgoing", "shipment_gateway_in_flight": False}]
        )
        self.assertFalse(self.gateway.requests, "not called in the transaction")
        self.assertEqual(self._triggers(), triggers + 1, "queue cron triggered")
        self._process_sms_queue()
        self._process_sms_queue()
        self.assertRecordValues(sms, [{"state": "pending"}])
        self.assertEqual(len(self._requests_for("Inline hello")), 1)

    @mute_logger(LOGGER)
    def test_retry_by_hand_waits_for_the_queue_cron(self):
        picking = self._create_delivery()
        sms = self._post_sms_inline(picking, "Retry hello")
        self.gateway.fail_status = 503
        self.gateway.fail_next = 1
        self._process_sms_queue()
        self.assertRecordValues(sms, [{"state": "error"}])
        sms.resend_failed()
        self.assertEqual(sms.state, "outgoing")
        self.assertEqual(len(self._requests_for("Retry hello")), 1, "no inline call")
        self._process_sms_queue()
        self.assertRecordValues(sms, [{"state": "pending"}])
        self.assertEqual(len(self._requests_for("Retry hello")), 2)
        self.assertEqual(len(self.gateway.messages), 1)

    def test_iap_companies_still_send_inline(self):
        self.company.shipment_sms_gateway = "iap"
        picking = self._create_delivery()
        with patch(
            "odoo.addons.sms.models.sms_sms.SmsApi._send_sms_batch",
            side_effect=lambda messages, **kw: [
                {"uuid": number["uuid"], "state": "success"}
                for message in messages
                for number in message["numbers"]
            ],
        ) as iap:
            sms = self._post_sms_inline(picking, "IAP hello")
        self.assertEqual(iap.call_count, 1)
        self.assertEqual(sms.state, "pending")
        self.assertFalse(self.gateway.requests)


@tagged("post_install", "-at_install")
class TestGatewayErrorDisclosure(ShipmentSmsCase):
    """Users read a short reason; the gateway's host and account SID (admin
    settings, in the request URL) stay in the server log."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.shipment_sms_gateway = "http"

    def _failed_sms(self):
        picking = self._dispatched()
        self._run_notification_cron()
        sms = self._sms(picking)
        self.assertRecordValues(sms, [{"state": "outgoing"}])
        self._process_sms_queue()
        self.assertRecordValues(sms, [{"state": "error"}])
        notification = sms.mail_message_id.notification_ids
        self.assertEqual(notification.failure_reason, sms.shipment_gateway_error)
        return sms

    def _assert_undisclosed(self, sms, secrets):
        notification = sms.mail_message_id.notification_ids
        for text in (sms.shipment_gateway_error, notification.failure_reason):
            for secret in secrets:
                self.assertNotIn(secret, text)

    @mute_logger(LOGGER)
    def test_refused_connection_reason(self):
        # sudo: the gateway settings are administrators'.
        self.company.sudo().shipment_sms_http_base_url = "http://127.0.0.1:9"
        sms = self._failed_sms()
        self.assertRecordValues(
            sms,
            [
                {
                    "failure_type": "sms_server",
                    "shipment_gateway_error": REFUSED,
                }
            ],
        )
        self._assert_undisclosed(sms, ["127.0.0.1", self.gateway.account_sid])

    @mute_logger(LOGGER)
    def test_server_error_reason(self):
        self.gateway.fail_status = 502
        self.gateway.fail_next = 1
        sms = self._failed_sms()
        self.assertRecordValues(
            sms, [{"failure_type": "unknown", "shipment_gateway_fate_unknown": True}]
        )
        self.assertIn("gateway answered HTTP 502", sms.shipment_gateway_error)
        host = self.gateway.url.removeprefix("http://")
        self._assert_undisclosed(
            sms, [host, self.gateway.account_sid, "Server error on"]
        )


@tagged("post_install", "-at_install")
class TestGatewayClientFate(ShipmentSmsCase):
    """The client tells "not sent" (retry is safe) from "fate unknown"."""

    def _client(self, url=None, timeout=5):
        client = HttpSmsGateway(
            url or self.gateway.url,
            self.gateway.account_sid,
            self.gateway.auth_token,
            "+3225550000",
            timeout=timeout,
        )
        self.addCleanup(client.close)
        return client

    def _error(self, client):
        with self.assertRaises(SmsGatewayError) as caught:
            client.send_message("+33612345678", "Hello")
        return caught.exception

    def test_connection_dropped_after_the_request_is_fate_unknown(self):
        self.gateway.drop_next = 1
        error = self._error(self._client())
        self.assertTrue(error.fate_unknown)
        self.assertFalse(error.transient)
        self.assertEqual(len(self.gateway.messages), 1, "the gateway took it")

    def test_read_timeout_is_fate_unknown(self):
        self.gateway.hold()
        self.addCleanup(self.gateway.release)
        error = self._error(self._client(timeout=0.5))
        self.assertTrue(error.fate_unknown)
        self.assertFalse(error.transient)

    def test_refused_connection_is_not_sent_and_retryable(self):
        error = self._error(self._client(url="http://127.0.0.1:9"))
        self.assertFalse(error.fate_unknown)
        self.assertTrue(error.transient)
        self.assertEqual(error.kind, "refused")
        # The full detail, for the server log (the model logs str(error)).
        self.assertIn("127.0.0.1", str(error))
        self.assertIn(self.gateway.account_sid, str(error))

    def test_server_errors_are_fate_unknown(self):
        for status in (500, 502, 504, 599):
            with self.subTest(status=status):
                self.gateway.fail_status = status
                self.gateway.fail_next = 1
                error = self._error(self._client())
                self.assertTrue(error.fate_unknown)
                self.assertFalse(error.transient)
                self.assertEqual(error.status, status)

    def test_unavailable_and_rate_limited_are_retryable(self):
        for status in (503, 429):
            with self.subTest(status=status):
                self.gateway.fail_status = status
                self.gateway.fail_next = 1
                error = self._error(self._client())
                self.assertFalse(error.fate_unknown)
                self.assertTrue(error.transient)
                self.assertEqual(error.status, status)

    def test_client_errors_are_neither(self):
        """A refused number or account: not sent, not worth retrying."""
        error = self._error(self._client(url=self.gateway.url + "/nowhere"))
        self.assertEqual(error.status, 404)
        self.assertFalse(error.fate_unknown)
        self.assertFalse(error.transient)


@tagged("post_install", "-at_install")
class TestSmsQueueWakeup(ShipmentSmsCase):
    def test_sms_queue_woken_over_the_kept_connection(self):
        """Queueing an SMS wakes Odoo's SMS queue over the core's kept
        connection (ir.cron._notifydb, shipment_tracking/tools/cron_wakeup.py)."""
        sms_cron = self.env.ref("sms.ir_cron_sms_scheduler_action")
        Trigger = self.env["ir.cron.trigger"]
        before = Trigger.search_count([("cron_id", "=", sms_cron.id)])
        self.env.cr.postcommit.clear()
        self.env["sms.sms"]._shipment_trigger_queue()
        self.assertEqual(
            Trigger.search_count([("cron_id", "=", sms_cron.id)]), before + 1
        )
        with patch.object(CRON_WAKEUP, "notify", wraps=CRON_WAKEUP.notify) as notify:
            self.env.cr.postcommit.run()
        notify.assert_called_once_with(self.env.cr.dbname)
