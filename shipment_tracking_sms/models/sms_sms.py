# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

from odoo import api, fields, models

from ..tools import SmsGatewayError

_logger = logging.getLogger(__name__)


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

    def _send(self, unlink_failed=False, unlink_sent=True, raise_exception=False):
        """Route the SMS of companies using the HTTP gateway to it; IAP for
        the rest."""
        # sudo: routing reads the related document's company only.
        by_company = self.sudo().grouped(lambda sms: sms._shipment_get_company())
        iap_sms = self.browse()
        for company, sms_sudo in by_company.items():
            if company.shipment_sms_gateway == "http":
                sms_sudo._shipment_send_http(company, unlink_failed, unlink_sent)
            else:
                iap_sms |= self.browse(sms_sudo.ids)
        if iap_sms:
            return super(SmsSms, iap_sms)._send(
                unlink_failed=unlink_failed,
                unlink_sent=unlink_sent,
                raise_exception=raise_exception,
            )
        return None

    @staticmethod
    def _shipment_failure_type(error):
        if error.transient:
            return "sms_server"
        if error.status in (401, 403):
            return "sms_acc"
        if error.status in (400, 422):
            return "sms_number_format"
        return "unknown"

    def _shipment_send_http(self, company, unlink_failed, unlink_sent):
        """Send through the company's HTTP gateway, one request per SMS; a
        failure leaves the SMS in error with the reason, for a later retry."""
        gateway = company._get_shipment_sms_gateway()
        try:
            for sms in self.with_context(sms_skip_msg_notification=True):
                try:
                    sid = gateway.send_message(sms.number, sms.body)
                except SmsGatewayError as error:
                    failure_type = self._shipment_failure_type(error)
                    _logger.info("SMS %s: gateway failed: %s", sms.id, error)
                    sms.sms_tracker_id._action_update_from_sms_state(
                        "error", failure_type=failure_type, failure_reason=str(error)
                    )
                    sms.write(
                        {
                            "state": "error",
                            "failure_type": failure_type,
                            "shipment_gateway_error": str(error),
                            "shipment_gateway_attempts": sms.shipment_gateway_attempts
                            + 1,
                            "to_delete": unlink_failed,
                        }
                    )
                    continue
                _logger.info("SMS %s: sent by the gateway as %s", sms.id, sid)
                sms.sms_tracker_id._action_update_from_sms_state("pending")
                sms.write(
                    {
                        "state": "pending",
                        "failure_type": False,
                        "shipment_gateway_error": False,
                        "shipment_gateway_sid": sid,
                        "shipment_gateway_attempts": sms.shipment_gateway_attempts + 1,
                        "to_delete": unlink_sent,
                    }
                )
        finally:
            gateway.close()
        self.mail_message_id._notify_message_notification_update()

    @api.model
    def _shipment_retry_gateway_errors(self):
        """Put SMS the HTTP gateway failed to take (server side) back in the
        queue, until the company's attempt cap; past it they stay in error."""
        failed = self.search(
            [
                ("state", "=", "error"),
                ("failure_type", "=", "sms_server"),
                ("shipment_gateway_attempts", ">", 0),
                ("to_delete", "=", False),
            ]
        )
        retry = failed.filtered(
            lambda sms: sms.shipment_gateway_attempts
            < sms._shipment_get_company()._get_shipment_sms_max_attempts()
        )
        retry.action_set_outgoing()
        return retry
