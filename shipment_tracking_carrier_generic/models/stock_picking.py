# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

from odoo.addons.shipment_tracking.const import INTERNAL_GROUPS, INTERNAL_PREFETCH


class StockPicking(models.Model):
    _inherit = "stock.picking"

    generic_shipment_id = fields.Char(
        string="Carrier Shipment ID",
        copy=False,
        readonly=True,
        groups=INTERNAL_GROUPS,
        prefetch=INTERNAL_PREFETCH,
    )

    def _shipment_system_fields(self):
        # Written from the carrier's booking answer; forging it would cancel
        # another booking at the carrier.
        return super()._shipment_system_fields() | {"generic_shipment_id"}

    def _shipment_is_booked(self):
        # sudo: only whether the carrier's id is set is read, whatever the
        # reader's groups (the field is internal).
        return super()._shipment_is_booked() or bool(self.sudo().generic_shipment_id)
