# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    shipment_notify_dispatch = fields.Boolean(
        related="company_id.shipment_notify_dispatch", readonly=False
    )
    shipment_notification_max_attempts = fields.Integer(
        related="company_id.shipment_notification_max_attempts", readonly=False
    )
    shipment_late_after_days = fields.Integer(
        related="company_id.shipment_late_after_days", readonly=False
    )
    shipment_stalled_hours = fields.Integer(
        related="company_id.shipment_stalled_hours", readonly=False
    )
    shipment_out_for_delivery_hours = fields.Integer(
        related="company_id.shipment_out_for_delivery_hours", readonly=False
    )
    shipment_incident_user_id = fields.Many2one(
        related="company_id.shipment_incident_user_id", readonly=False
    )
    shipment_notify_out_for_delivery = fields.Boolean(
        related="company_id.shipment_notify_out_for_delivery", readonly=False
    )
    shipment_notify_available_for_pickup = fields.Boolean(
        related="company_id.shipment_notify_available_for_pickup", readonly=False
    )
    shipment_notify_delivered = fields.Boolean(
        related="company_id.shipment_notify_delivered", readonly=False
    )
    shipment_notify_exception = fields.Boolean(
        related="company_id.shipment_notify_exception", readonly=False
    )
    shipment_notify_late = fields.Boolean(
        related="company_id.shipment_notify_late", readonly=False
    )
    shipment_notify_returned = fields.Boolean(
        related="company_id.shipment_notify_returned", readonly=False
    )
    shipment_notify_recovered = fields.Boolean(
        related="company_id.shipment_notify_recovered", readonly=False
    )
