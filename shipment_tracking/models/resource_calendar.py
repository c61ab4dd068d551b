# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models

# The estimated delivery date counts working days on intervals cached per
# calendar and day (stock.picking._shipment_work_intervals): a change of what
# they are made of clears Odoo's caches, in every worker.


class ResourceCalendar(models.Model):
    _inherit = "resource.calendar"

    def write(self, vals):
        self.env.registry.clear_cache()
        return super().write(vals)

    def unlink(self):
        self.env.registry.clear_cache()
        return super().unlink()


class ResourceCalendarAttendance(models.Model):
    _inherit = "resource.calendar.attendance"

    @api.model_create_multi
    def create(self, vals_list):
        self.env.registry.clear_cache()
        return super().create(vals_list)

    def write(self, vals):
        self.env.registry.clear_cache()
        return super().write(vals)

    def unlink(self):
        self.env.registry.clear_cache()
        return super().unlink()


class ResourceCalendarLeaves(models.Model):
    """Only leaves without a resource (public holidays, company closures)
    count: an employee's time off leaves the cache alone."""

    _inherit = "resource.calendar.leaves"

    def _shipment_clear_cache(self):
        if any(not leave.resource_id for leave in self):
            self.env.registry.clear_cache()

    @api.model_create_multi
    def create(self, vals_list):
        if not all(vals.get("resource_id") for vals in vals_list):
            self.env.registry.clear_cache()
        return super().create(vals_list)

    def write(self, vals):
        self._shipment_clear_cache()
        if "resource_id" in vals and not vals["resource_id"]:
            self.env.registry.clear_cache()
        return super().write(vals)

    def unlink(self):
        self._shipment_clear_cache()
        return super().unlink()
