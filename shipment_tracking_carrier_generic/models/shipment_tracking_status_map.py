# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

from odoo.addons.shipment_tracking.models.stock_picking import SHIPMENT_STATES


class ShipmentTrackingStatusMap(models.Model):
    """Which of our shipment statuses a carrier's status code means."""

    _name = "shipment.tracking.status.map"
    _description = "Carrier status mapping"
    _order = "carrier_id, code"

    carrier_id = fields.Many2one(
        "delivery.carrier", required=True, ondelete="cascade", index=True
    )
    # Stored for the multi-company record rule: a carrier's table belongs to
    # the carrier's company (none: shared, like the carrier).
    company_id = fields.Many2one(
        related="carrier_id.company_id", store=True, index=True
    )
    code = fields.Char(string="Carrier Code", required=True)
    state = fields.Selection(
        SHIPMENT_STATES,
        string="Shipment Status",
        help="Empty: the event is recorded but does not change the status.",
    )

    _sql_constraints = [
        (
            "code_carrier_uniq",
            "unique(carrier_id, code)",
            "A carrier code is mapped once per carrier.",
        ),
    ]
