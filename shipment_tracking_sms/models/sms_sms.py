# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
import threading
from contextlib import contextmanager

from psycopg2 import errors

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools import SmsGatewayError

_logger = logging.getLogger(__name__)

# First key of the PostgreSQL advisory lock a worker holds on an SMS while it is
# in flight (second key: the SMS id). The lock dies with the worker's
# connection: an SMS in flight whose lock is free lost its worker.
GATEWAY_CALL_LOCK = 0x53544D53  # "STMS"


class SmsSms(models.Model):
    _inherit = "sms.sms"

    shipment_gateway_attempts = fields.Integer(
        string="Gateway Attempts", readonly=True, copy=False
    )
    shipment_gateway_error = fields.Char(
        string="Gateway Error", readonly=True, copy=False
    )
    shipment_gateway_sid = fields.Char(
        string="Gateway Message ID", readonly=True, copy=False
    )
    shipment_gateway_in_flight = fields.Boolean(
        string="Gateway Call In Flight",
        readonly=True,
        copy=False,
        help="Set, and committed, before the SMS is handed to the HTTP gateway; "
        "cleared with the gateway's answer. Found set by a later run: the "
        "worker stopped during the call and nobody knows whether the SMS went.",
    )
    shipment_gateway_fate_unknown = fields.Boolean(
        string="Gateway Fate Unknown",
        readonly=True,
        copy=False,
        help="The gateway may have sent this SMS (no answer, a server error, "
        "or the worker stopped during the call): it is not resent "
        "automatically. Check with the customer before resending it by hand.",
    )

    def write(self, vals):
        # Every outcome of an SMS, from IAP (core's _postprocess_iap_sent_sms
        # and trackers), our HTTP gateway, Retry or Cancel by a user, ends in
        # a write of its state: the one place to tell the outbox.
        res = super().write(vals)
        if vals.get("state") in ("pending", "sent", "error", "canceled"):
            # sudo: the outbox is system-maintained; only the messages these
            # SMS carry follow their outcome.
            self.env["shipment.tracking.notification"].sudo()._on_sms_outcome(self)
        return res

    def _shipment_gateway_did_not_take(self):
        """Whether this SMS failed in a way that says it was not sent: our
        HTTP gateway refused it for a reason that may pass (unreachable, 429,
        503). IAP's server errors may come after IAP took the batch, and a
        fate nobody knows is never resent by itself."""
        self.ensure_one()
        return (
            self.failure_type == "sms_server"
            and self.shipment_gateway_attempts > 0
            and not self.shipment_gateway_fate_unknown
        )

    def _shipment_get_company(self):
        """The company of the document the SMS is about, else the current one."""
        self.ensure_one()
        message = self.mail_message_id
        if message.model and message.res_id and message.model in self.env:
            Model = self.env[message.model]
            if "company_id" in Model._fields:
                company = Model.browse(message.res_id).exists().company_id
                if company:
                    return company
        return self.env.company

    def send(
        self,
        unlink_failed=False,
        unlink_sent=True,
        auto_commit=False,
        raise_exception=False,
    ):
        # The HTTP gateway commits around each SMS when, and only when, core
        # commits after each batch (the SMS queue cron, outside tests).
        commit = (
            self.env.context.get("shipment_tracking_sms_queue_run")
            and auto_commit is True
            and not getattr(threading.current_thread(), "testing", False)
        )
        return super(
            SmsSms, self.with_context(shipment_tracking_sms_commit=commit)
        ).send(
            unlink_failed=unlink_failed,
            unlink_sent=unlink_sent,
            auto_commit=auto_commit,
            raise_exception=raise_exception,
        )

    @api.model
    def _process_queue(self, ids=None):
        """The SMS queue cron's run: the only one that calls the HTTP gateway
        (see ``_send``)."""
        queue = self.with_context(shipment_tracking_sms_queue_run=True)
        queue._shipment_flag_unknown_fate()
        return super(SmsSms, queue)._process_queue(ids=ids)

    def _send(self, unlink_failed=False, unlink_sent=True, raise_exception=False):
        """Route the SMS of companies using the HTTP gateway to it; IAP for
        the rest."""
        # sudo: routing reads the related document's company only.
        by_company = self.sudo().grouped(lambda sms: sms._shipment_get_company())
        queue_run = self.env.context.get("shipment_tracking_sms_queue_run")
        iap_sms = self.browse()
        deferred = False
        for company, sms_sudo in by_company.items():
            if company.shipment_sms_gateway == "http" and queue_run:
                sms_sudo._shipment_send_http(company, unlink_failed, unlink_sent)
            elif company.shipment_sms_gateway == "http":
                # Sent inline (Retry, composer, a post): the user's transaction
                # may be replayed after a serialization failure, re-sending
                # the SMS. It stays queued for the cron, which commits the
                # in-flight mark before the call.
                deferred = True
            else:
                iap_sms |= self.browse(sms_sudo.ids)
        if iap_sms:
            return super(SmsSms, iap_sms)._send(
                unlink_failed=unlink_failed,
                unlink_sent=unlink_sent,
                raise_exception=raise_exception,
            )
        if deferred:
            self._shipment_trigger_queue()
        return None

    @api.model
    def _shipment_trigger_queue(self):
        # sudo: scheduling the SMS queue cron is what queueing an SMS implies,
        # whoever queued it.
        self.env.ref("sms.ir_cron_sms_scheduler_action").sudo()._shipment_trigger()

    @staticmethod
    def _shipment_failure_type(error):
        if error.fate_unknown:
            return "unknown"
        if error.transient:
            return "sms_server"
        if error.status in (401, 403):
            return "sms_acc"
        if error.status in (400, 422):
            return "sms_number_format"
        return "unknown"

    def _shipment_send_http(self, company, unlink_failed, unlink_sent):
        """Send through the company's HTTP gateway, one request per SMS.

        Each SMS is claimed (state *Processing*, in flight) and, in the queue
        cron, committed before the call, and its outcome committed after it:
        a worker dying during the call leaves it in flight, where the next
        run finds it (``_shipment_flag_unknown_fate``) instead of sending it
        again. A failure leaves the SMS in error with the reason."""
        commit = self.env.context.get("shipment_tracking_sms_commit")
        gateway = company._get_shipment_sms_gateway()
        try:
            for sms in self.with_context(sms_skip_msg_notification=True):
                if not sms._shipment_claim():
                    continue
                with sms._shipment_call_lock(commit):
                    if commit:
                        # Cron batch boundary: one SMS, marked in flight.
                        self.env.cr.commit()  # pylint: disable=invalid-commit
                    try:
                        sid = gateway.send_message(sms.number, sms.body)
                    except SmsGatewayError as error:
                        sms._shipment_record_failure(error, unlink_failed)
                    else:
                        sms._shipment_record_sent(sid, unlink_sent)
                    if commit:
                        # The outcome, before the lock frees the SMS.
                        self.env.cr.commit()  # pylint: disable=invalid-commit
        finally:
            gateway.close()
        self.mail_message_id._notify_message_notification_update()

    @contextmanager
    def _shipment_call_lock(self, commit):
        """Hold this SMS's advisory lock while it is in flight, on a
        connection of its own: PostgreSQL releases it when the transaction
        ends or when the worker's connection dies. Without commits, the in
        flight mark is never seen by other transactions: no lock needed."""
        self.ensure_one()
        if not commit:
            yield
            return
        with self.env.registry.cursor() as lock_cr:
            lock_cr.execute(
                SQL("SELECT pg_advisory_xact_lock(%s, %s)", GATEWAY_CALL_LOCK, self.id)
            )
            yield

    def _shipment_claim(self):
        """Take this SMS for a gateway call if it is still queued and no other
        run holds it: lock its row, mark it in flight. False when it is gone,
        no longer queued, or being sent by a concurrent run."""
        self.ensure_one()
        if not self._shipment_lock_row("outgoing"):
            return False
        self.sms_tracker_id._action_update_from_sms_state("process")
        self.write({"state": "process", "shipment_gateway_in_flight": True})
        return True

    def _shipment_lock_row(self, expected):
        """Lock this SMS's row if it is queued (``expected`` "outgoing") or in
        flight ("in_flight"), skipping a row another transaction holds or
        changed since ours began; return whether it was locked."""
        self.ensure_one()
        self.flush_recordset()
        # Raw SQL: the ORM has no row lock.
        condition = {
            "outgoing": SQL("state = 'outgoing' AND to_delete IS NOT TRUE"),
            "in_flight": SQL("shipment_gateway_in_flight"),
        }[expected]
        query = SQL(
            "SELECT id FROM sms_sms WHERE id = %s AND %s FOR NO KEY UPDATE SKIP LOCKED",
            self.id,
            condition,
        )
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(query, log_exceptions=False)
                return bool(self.env.cr.fetchone())
        except errors.SerializationFailure:
            # Changed by a concurrent run that committed after our snapshot.
            return False

    def _shipment_record_sent(self, sid, unlink_sent):
        self.ensure_one()
        _logger.info("SMS %s: sent by the gateway as %s", self.id, sid)
        self.sms_tracker_id._action_update_from_sms_state("pending")
        self._shipment_write_outcome(
            {
                "state": "pending",
                "failure_type": False,
                "shipment_gateway_error": False,
                "shipment_gateway_sid": sid,
                "to_delete": unlink_sent,
            }
        )

    def _shipment_write_outcome(self, values):
        """End this SMS's gateway attempt (it left flight) with ``values``."""
        self.ensure_one()
        self.write(
            {
                "shipment_gateway_attempts": self.shipment_gateway_attempts + 1,
                "shipment_gateway_in_flight": False,
                "shipment_gateway_fate_unknown": False,
                **values,
            }
        )

    def _shipment_record_error(self, failure_type, reason, fate_unknown, to_delete):
        """Put this SMS in error with a reason users may read (the chatter
        shows it on the message)."""
        self.ensure_one()
        if fate_unknown:
            failure_type = "unknown"
            to_delete = False  # kept in sight when nobody knows whether it went
            reason = self.env._(
                "fate unknown: %(error)s; the gateway may have sent it, so it is "
                "not resent automatically (resend it by hand if the customer did "
                "not get it)",
                error=reason,
            )
        self.sms_tracker_id._action_update_from_sms_state(
            "error", failure_type=failure_type, failure_reason=reason
        )
        self._shipment_write_outcome(
            {
                "state": "error",
                "failure_type": failure_type,
                "shipment_gateway_error": reason,
                "shipment_gateway_fate_unknown": fate_unknown,
                "to_delete": to_delete,
            }
        )

    def _shipment_gateway_error_message(self, error):
        """What users may read about a gateway error: what happened, without
        the gateway's URL (its host and account SID) or its own wording."""
        _ = self.env._
        if error.kind == "http":
            if error.code:
                return _(
                    "gateway answered HTTP %(status)s (error code %(code)s)",
                    status=error.status,
                    code=str(error.code)[:20],
                )
            return _("gateway answered HTTP %(status)s", status=error.status)
        return {
            "refused": _("gateway unreachable (connection refused)"),
            "dns": _("gateway unreachable (host name not found)"),
            "connect_timeout": _("gateway unreachable (connection timed out)"),
            "tls": _("gateway unreachable (secure connection failed)"),
            "no_answer": _("no answer from the gateway"),
        }.get(error.kind, _("gateway unreachable"))

    def _shipment_record_failure(self, error, unlink_failed):
        self.ensure_one()
        # The full error (URL included) for the server log only.
        _logger.info("SMS %s: gateway failed: %s", self.id, error)
        self._shipment_record_error(
            self._shipment_failure_type(error),
            self._shipment_gateway_error_message(error),
            error.fate_unknown,
            unlink_failed,
        )

    @api.model
    def _shipment_flag_unknown_fate(self):
        """SMS left in flight by a worker that stopped during the gateway call
        (its lock is free) go to error, *fate unknown*, and stay there: the
        gateway may have sent them, so only a person resends them (Retry on
        the SMS, or Resend on the message in the chatter)."""
        in_flight = self.search([("shipment_gateway_in_flight", "=", True)])
        orphans = in_flight.browse()
        for sms in in_flight:
            self.env.cr.execute(
                SQL(
                    "SELECT pg_try_advisory_xact_lock(%s, %s)",
                    GATEWAY_CALL_LOCK,
                    sms.id,
                )
            )
            if self.env.cr.fetchone()[0] and sms._shipment_lock_row("in_flight"):
                orphans |= sms
        reason = self.env._("the worker stopped during the gateway call")
        for sms in orphans.with_context(sms_skip_msg_notification=True):
            _logger.warning("SMS %s: fate unknown: %s", sms.id, reason)
            sms._shipment_record_error("unknown", reason, True, False)
        orphans.mail_message_id._notify_message_notification_update()
        return orphans

    @api.model
    def _shipment_retry_gateway_errors(self):
        """Put SMS the HTTP gateway failed to take (server side) back in the
        queue, until the company's attempt cap; past it they stay in error.
        Customer messages of the shipment outbox are left to its retries.
        SMS whose fate is unknown (failure type *unknown*) are never retried."""
        failed = self.search(
            [
                ("state", "=", "error"),
                ("failure_type", "=", "sms_server"),
                ("shipment_gateway_attempts", ">", 0),
                ("to_delete", "=", False),
            ]
        )
        # The outbox retries its own messages, with its backoff.
        # sudo: which SMS are the outbox's, whatever the caller may read.
        ours = (
            self.env["shipment.tracking.notification"]
            .sudo()
            .search([("sms_ref", "in", failed.ids)])
            .mapped("sms_ref")
        )
        failed -= self.browse(ours)
        retry = failed.filtered(
            lambda sms: sms.shipment_gateway_attempts
            < sms._shipment_get_company()._get_shipment_sms_max_attempts()
        )
        retry.action_set_outgoing()
        return retry
