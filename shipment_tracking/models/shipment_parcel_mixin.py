# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models
from odoo.exceptions import ValidationError


class ShipmentParcelMixin(models.AbstractModel):
    """Dimension checks shared by the two kinds of parcel: a delivery shipped
    as one parcel and a package. Models using it define ``shipment_length``,
    ``shipment_width`` and ``shipment_height``."""

    _name = "shipment.parcel.mixin"
    _description = "Parcel dimension checks"

    @api.constrains("shipment_length", "shipment_width", "shipment_height")
    def _check_shipment_dimensions(self):
        for parcel in self:
            if min(parcel._shipment_dimensions().values()) < 0:
                raise ValidationError(
                    self.env._(
                        "%(parcel)s: parcel dimensions cannot be negative.",
                        parcel=parcel.display_name,
                    )
                )

    def _shipment_dimensions(self):
        """{translated dimension name: value}"""
        self.ensure_one()
        return {
            self.env._("length"): self.shipment_length,
            self.env._("width"): self.shipment_width,
            self.env._("height"): self.shipment_height,
        }

    def _shipment_missing_dimensions(self):
        """Names of the dimensions that are not greater than 0."""
        return [
            name for name, value in self._shipment_dimensions().items() if value <= 0
        ]
