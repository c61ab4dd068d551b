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
        """Clear when one of these is a company's shipment ID sequence (by
        its code, or by the company's setting should the code be renamed)."""
        # sudo: only whether a company uses the sequence is read.
        if any(sequence.code == SEQUENCE_CODE for sequence in self) or self.env[
            "res.company"
        ].sudo().with_context(active_test=False).search_count(
            [("shipment_sequence_id", "in", self.ids)], limit=1
        ):
            self.env.registry.clear_cache()

    def write(self, vals):
        self._shipment_clear_cache()
        res = super().write(vals)
        self._shipment_clear_cache()
        return res

    def unlink(self):
        self._shipment_clear_cache()
        return super().unlink()
