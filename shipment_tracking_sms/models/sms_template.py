# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import re

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..tools import sms_length

MAX_SEGMENTS = 3
# Without a delivery to render on, a placeholder counts as this many characters.
PLACEHOLDER_RE = re.compile(r"\{\{.*?\}\}", re.DOTALL)
PLACEHOLDER_ESTIMATE = "x" * 12


class SmsTemplate(models.Model):
    _inherit = "sms.template"

    shipment_tracking = fields.Boolean(
        string="Shipment Notification",
        help="A shipment notification: its body may not exceed three SMS " "segments.",
    )
    shipment_sms_length = fields.Integer(
        string="Rendered Length", compute="_compute_shipment_sms_length"
    )
    shipment_sms_segments = fields.Integer(
        string="SMS Segments", compute="_compute_shipment_sms_length"
    )
    shipment_sms_encoding = fields.Selection(
        [("gsm7", "GSM-7"), ("ucs2", "Unicode (UCS-2)")],
        string="Encoding",
        compute="_compute_shipment_sms_length",
    )

    @api.depends("body", "model")
    def _compute_shipment_sms_length(self):
        for template in self:
            length = sms_length(template._shipment_sample_text())
            template.shipment_sms_length = length.length
            template.shipment_sms_segments = length.segments
            template.shipment_sms_encoding = length.encoding

    def _shipment_sample_picking(self):
        return self.env["stock.picking"].search(
            [
                ("carrier_tracking_ref", "!=", False),
                ("shipment_state", "!=", "pending"),
                ("company_id", "in", self.env.companies.ids),
            ],
            order="id desc",
            limit=1,
        )

    def _shipment_sample_text(self):
        """The body rendered on the latest dispatched delivery; placeholders
        counted as 12 characters when there is none or it does not render."""
        self.ensure_one()
        body = self.body or ""
        if self.model == "stock.picking" and self.id:
            sample = self._shipment_sample_picking()
            if sample:
                try:
                    rendered = self._render_template(body, "stock.picking", sample.ids)[
                        sample.id
                    ]
                except UserError:
                    # A body being edited may not render yet: estimate it.
                    rendered = None
                if rendered is not None:
                    return rendered
        return PLACEHOLDER_RE.sub(PLACEHOLDER_ESTIMATE, body)

    @api.constrains("body", "shipment_tracking")
    def _check_shipment_sms_length(self):
        for template in self.filtered("shipment_tracking"):
            if template.shipment_sms_segments > MAX_SEGMENTS:
                raise ValidationError(
                    _(
                        "The SMS template %(name)s takes %(segments)s SMS segments "
                        "(%(length)s characters): shipment notifications may take "
                        "at most %(max)s.",
                        name=template.name,
                        segments=template.shipment_sms_segments,
                        length=template.shipment_sms_length,
                        max=MAX_SEGMENTS,
                    )
                )
