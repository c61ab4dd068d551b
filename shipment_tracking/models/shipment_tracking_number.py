# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class ShipmentTrackingNumber(models.Model):
    """One carrier tracking number per parcel: the delivery itself, or one of
    its packages. Lets carrier events find their shipment in one query."""

    _name = "shipment.tracking.number"
    _description = "Parcel tracking number"
    _order = "id"

    name = fields.Char(string="Tracking Number", required=True, index=True)
    picking_id = fields.Many2one(
        "stock.picking", required=True, ondelete="cascade", index=True
    )
    package_id = fields.Many2one("stock.quant.package", ondelete="set null")
    carrier_id = fields.Many2one(
        related="picking_id.carrier_id", store=True, index=True
    )
    company_id = fields.Many2one(related="picking_id.company_id", store=True)
    tracking_url = fields.Char(compute="_compute_tracking_url")

    _sql_constraints = [
        (
            "name_picking_uniq",
            "unique(picking_id, name)",
            "A tracking number appears once per delivery.",
        ),
    ]

    def _compute_tracking_url(self):
        for number in self:
            carrier = number.carrier_id
            number.tracking_url = (
                carrier._shipment_tracking_link(number.name) if carrier else False
            )
