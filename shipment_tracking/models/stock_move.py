# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models


class StockMove(models.Model):
    _inherit = "stock.move"

    def write(self, vals):
        res = super().write(vals)
        if vals.get("state") == "cancel":
            # A delivery's contents leave out its cancelled moves, and follow
            # no other change of their state (validating moves them all to
            # done: the same contents, whose recompute would read every
            # product's variant names in the worker's click).
            pickings = self.picking_id
            self.env.add_to_compute(pickings._fields["shipment_contents"], pickings)
        return res
