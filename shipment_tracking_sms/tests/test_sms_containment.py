# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The HTTP gateway never sends an SMS twice: each SMS is marked in flight
before the call, and one whose fate is unknown (no answer, or its worker
died during the call) goes to error with the reason and is never resent
automatically. The kill of a real worker mid-call is in the end-to-end suite
(tests/test_adversarial_containment.py)."""

from odoo.tests import tagged
from odoo.tools import mute_logger

from ..models.sms_sms import GATEWAY_CALL_LOCK
from ..tools import HttpSmsGateway, SmsGatewayError
from .test_shipment_sms import ShipmentSmsCase

LOGGER = "odoo.addons.shipment_tracking_sms.models.sms_sms"


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
        self.assertRecordValues(
            sms,
            [
                {
                    "state": "error",
                    "failure_type": "unknown",
                    "shipment_gateway_in_flight": False,
                    "shipment_gateway_attempts": 1,
                    "to_delete": False,
                }
            ],
        )
        self.assertIn("fate unknown", sms.shipment_gateway_error)
        self.assertIn("not resent automatically", sms.shipment_gateway_error)
        notification = sms.mail_message_id.notification_ids
        self.assertEqual(notification.notification_status, "exception")
        self.assertIn("fate unknown", notification.failure_reason)
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
        self.assertRecordValues(
            sms,
            [
                {
                    "state": "error",
                    "failure_type": "unknown",
                    "shipment_gateway_in_flight": False,
                    "shipment_gateway_attempts": 1,
                    "to_delete": False,
                }
            ],
        )
        self.assertIn(
            "worker stopped during the gateway call", sms.shipment_gateway_error
        )
        notification = sms.mail_message_id.notification_ids
        self.assertEqual(notification.notification_status, "exception")
        self.assertIn("fate unknown", notification.failure_reason)
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
        self.assertRecordValues(sms, [{"state": "error", "failure_type": "unknown"}])

    @mute_logger(LOGGER)
    def test_server_errors_are_still_retried(self):
        """Only a fate-unknown SMS is held back: a 500 (the gateway said it
        did not take it) goes back to the queue as before."""
        sms = self._queued_sms()
        self.gateway.fail_next = 1
        self._process_sms_queue()
        self.assertRecordValues(sms, [{"state": "error", "failure_type": "sms_server"}])
        self._run_notification_cron()
        self._process_sms_queue()
        self.assertRecordValues(sms, [{"state": "pending"}])
        self.assertEqual(len(self._requests_for(sms)), 2)
        self.assertEqual(len(self.gateway.messages), 1)


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

    def test_server_error_is_retryable(self):
        self.gateway.fail_next = 1
        error = self._error(self._client())
        self.assertFalse(error.fate_unknown)
        self.assertTrue(error.transient)
        self.assertEqual(error.status, 500)
