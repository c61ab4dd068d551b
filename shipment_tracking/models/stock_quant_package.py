# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, api, fields, models


class StockQuantPackage(models.Model):
    _name = "stock.quant.package"
    _inherit = ["stock.quant.package", "shipment.parcel.mixin"]

    shipment_length = fields.Float(
        string="Length",
        compute="_compute_shipment_dimensions",
        store=True,
        readonly=False,
        digits="Product Unit of Measure",
    )
    shipment_width = fields.Float(
        string="Width",
        compute="_compute_shipment_dimensions",
        store=True,
        readonly=False,
        digits="Product Unit of Measure",
    )
    shipment_height = fields.Float(
        string="Height",
        compute="_compute_shipment_dimensions",
        store=True,
        readonly=False,
        digits="Product Unit of Measure",
    )

    @api.depends("package_type_id")
    def _compute_shipment_dimensions(self):
        """Default the parcel's dimensions from its package type."""
        for package in self:
            package_type = package.package_type_id
            package.shipment_length = package_type.packaging_length
            package.shipment_width = package_type.width
            package.shipment_height = package_type.height

    def _get_shipment_detail_errors(self, picking):
        """Missing or invalid details of this parcel within ``picking``."""
        self.ensure_one()
        errors = [
            self.env._(
                "package %(package)s: %(dimension)s must be greater than 0",
                package=self.name,
                dimension=name,
            )
            for name in self._shipment_missing_dimensions()
        ]
        weight = self.shipping_weight or self.with_context(picking_id=picking.id).weight
        if weight <= 0:
            errors.append(
                _(
                    "package %(package)s: weight must be greater than 0",
                    package=self.name,
                )
            )
        return errors
