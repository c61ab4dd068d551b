# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    shipment_notify_sms = fields.Boolean(
        related="company_id.shipment_notify_sms", readonly=False
    )
    shipment_sms_gateway = fields.Selection(
        related="company_id.shipment_sms_gateway", readonly=False
    )
    shipment_sms_max_attempts = fields.Integer(
        related="company_id.shipment_sms_max_attempts", readonly=False
    )
    shipment_sms_http_base_url = fields.Char(
        related="company_id.shipment_sms_http_base_url",
        readonly=False,
        groups="base.group_system",
    )
    shipment_sms_http_account_sid = fields.Char(
        related="company_id.shipment_sms_http_account_sid",
        readonly=False,
        groups="base.group_system",
    )
    shipment_sms_http_auth_token = fields.Char(
        related="company_id.shipment_sms_http_auth_token",
        readonly=False,
        groups="base.group_system",
    )
    shipment_sms_http_sender = fields.Char(
        related="company_id.shipment_sms_http_sender",
        readonly=False,
        groups="base.group_system",
    )
