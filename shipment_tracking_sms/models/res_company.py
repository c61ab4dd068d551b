# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

from ..tools import HttpSmsGateway


class ResCompany(models.Model):
    _inherit = "res.company"

    shipment_notify_sms = fields.Boolean(
        string="Shipment SMS",
        default=True,
        help="Text the customer the dispatch and the shipment updates the "
        "company notifies.",
    )
    shipment_sms_gateway = fields.Selection(
        [("iap", "Odoo SMS (IAP)"), ("http", "HTTP gateway")],
        string="SMS Gateway",
        default="iap",
        required=True,
        help="Route of every SMS of this company: Odoo's IAP service, or an "
        "HTTP gateway speaking the Twilio-style Messages API.",
    )
    shipment_sms_max_attempts = fields.Integer(
        string="SMS Attempts",
        default=3,
        help="How many times an SMS the HTTP gateway failed to take is tried.",
    )
    shipment_sms_http_base_url = fields.Char(
        string="Gateway Base URL", groups="base.group_system"
    )
    shipment_sms_http_account_sid = fields.Char(
        string="Gateway Account SID", groups="base.group_system"
    )
    shipment_sms_http_auth_token = fields.Char(
        string="Gateway Auth Token", groups="base.group_system"
    )
    shipment_sms_http_sender = fields.Char(
        string="Gateway Sender",
        groups="base.group_system",
        help="Sender number (E.164) or alphanumeric sender id.",
    )

    def _get_shipment_sms_max_attempts(self):
        self.ensure_one()
        return max(self.shipment_sms_max_attempts, 1)

    def _get_shipment_sms_gateway(self):
        """The HTTP gateway client built from the company's settings."""
        self.ensure_one()
        # sudo: credentials are readable by administrators only; sending an
        # SMS queued by anyone needs them.
        company_sudo = self.sudo()
        return HttpSmsGateway(
            company_sudo.shipment_sms_http_base_url,
            company_sudo.shipment_sms_http_account_sid,
            company_sudo.shipment_sms_http_auth_token,
            company_sudo.shipment_sms_http_sender,
        )
