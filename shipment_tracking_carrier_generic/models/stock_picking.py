# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class StockPicking(models.Model):
    _inherit = "stock.picking"

    generic_shipment_id = fields.Char(
        string="Carrier Shipment ID", copy=False, readonly=True
    )
