# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    """Each message's overall state now counts its SMS channel too."""
    env = api.Environment(cr, SUPERUSER_ID, {})
    Notification = env["shipment.tracking.notification"]
    rows = Notification.search([])
    env.add_to_compute(Notification._fields["state"], rows)
    env.add_to_compute(Notification._fields["next_attempt"], rows)
    rows.flush_recordset()
