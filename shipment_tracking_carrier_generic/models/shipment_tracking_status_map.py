# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import create_unique_index

from odoo.addons.shipment_tracking.models.shipment_tracking_incident import (
    INCIDENT_KINDS,
)
from odoo.addons.shipment_tracking.models.stock_picking import SHIPMENT_STATES


class ShipmentTrackingStatusMap(models.Model):
    """Which of our shipment statuses a carrier's status code (and, when the
    row names one, sub-status) means, and which problem it reports."""

    _name = "shipment.tracking.status.map"
    _description = "Carrier status mapping"
    _order = "carrier_id, code, subcode"

    carrier_id = fields.Many2one(
        "delivery.carrier", required=True, ondelete="cascade", index=True
    )
    # Stored for the multi-company record rule: a carrier's table belongs to
    # the carrier's company (none: shared, like the carrier).
    company_id = fields.Many2one(
        related="carrier_id.company_id", store=True, index=True
    )
    code = fields.Char(string="Carrier Code", required=True)
    subcode = fields.Char(
        string="Carrier Sub-status",
        help="Empty: any sub-status of the code without a row of its own "
        "(AfterShip subtag, EasyPost status detail).",
    )
    state = fields.Selection(
        SHIPMENT_STATES,
        string="Shipment Status",
        help="Empty: the event is recorded but does not change the status.",
    )
    incident_kind = fields.Selection(
        INCIDENT_KINDS,
        string="Incident",
        help="The problem this code reports, if any.",
    )

    def init(self):
        # One row per carrier, code and sub-status, an empty sub-status
        # (NULL or '') being one value.
        create_unique_index(
            self.env.cr,
            "shipment_tracking_status_map_code_subcode_uniq",
            self._table,
            ["carrier_id", "code", "COALESCE(subcode, '')"],
        )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._normalize_codes(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._normalize_codes(vals)
        return super().write(vals)

    @staticmethod
    def _normalize_codes(vals):
        """Codes compare as the carrier sends them, without surrounding
        spaces; an empty sub-status is stored as none."""
        for name in ("code", "subcode"):
            if isinstance(vals.get(name), str):
                vals[name] = vals[name].strip() or False

    @api.constrains("carrier_id", "code", "subcode")
    def _check_unique_code(self):
        """The clear message of what the unique index also guarantees."""
        seen = set()
        for row in self.search([("carrier_id", "in", self.carrier_id.ids)]):
            key = (row.carrier_id, row.code, row.subcode or "")
            if key in seen:
                raise ValidationError(
                    self.env._(
                        "%(carrier)s: the carrier code %(code)s is mapped twice "
                        "for the same sub-status.",
                        carrier=row.carrier_id.name,
                        code=" / ".join(filter(None, (row.code, row.subcode))),
                    )
                )
            seen.add(key)
