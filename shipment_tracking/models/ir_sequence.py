# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models

from .res_company import SEQUENCE_CODE


class IrSequence(models.Model):
    """Validation numbers shipments from a cached copy of their sequence's
    settings (stock.picking._shipment_sequence_format): changing a shipment
    ID sequence clears Odoo's caches, in every worker."""

    _inherit = "ir.sequence"

    def _shipment_clear_cache(self):
        if any(sequence.code == SEQUENCE_CODE for sequence in self):
            self.env.registry.clear_cache()

    def write(self, vals):
        self._shipment_clear_cache()
        res = super().write(vals)
        self._shipment_clear_cache()
        return res

    def unlink(self):
        self._shipment_clear_cache()
        return super().unlink()
