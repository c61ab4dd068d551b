# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models

# The estimated delivery date counts working days on intervals cached per
# calendar and day (stock.picking._shipment_work_intervals): a change of what
# they are made of clears Odoo's caches, in every worker (rare edits: the
# whole default cache goes, as for any registry cache clear). Cleared after
# the change too, so that nothing cached in between survives it.


class ResourceCalendar(models.Model):
    _inherit = "resource.calendar"

    def write(self, vals):
        self.env.registry.clear_cache()
        res = super().write(vals)
        self.env.registry.clear_cache()
        return res

    def unlink(self):
        self.env.registry.clear_cache()
        return super().unlink()
