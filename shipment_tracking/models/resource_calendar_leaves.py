# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models

# Public holidays make a calendar's cached working intervals
# (resource_calendar.py).


class ResourceCalendarLeaves(models.Model):
    """Only leaves without a resource (public holidays, company closures)
    count: an employee's time off leaves the cache alone."""

    _inherit = "resource.calendar.leaves"

    def _shipment_clear_cache(self):
        if any(not leave.resource_id for leave in self):
            self.env.registry.clear_cache()

    @api.model_create_multi
    def create(self, vals_list):
        leaves = super().create(vals_list)
        leaves._shipment_clear_cache()
        return leaves

    def write(self, vals):
        self._shipment_clear_cache()
        res = super().write(vals)
        self._shipment_clear_cache()
        return res

    def unlink(self):
        self._shipment_clear_cache()
        return super().unlink()
