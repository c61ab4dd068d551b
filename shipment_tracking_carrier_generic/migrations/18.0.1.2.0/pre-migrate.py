# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tools import SQL


def migrate(cr, version):
    """A code may now have one row per sub-status: the old one-row-per-code
    constraint goes before the module's data (demo carriers refill their
    tables with sub-status rows) is loaded, not after."""
    if not version:
        return
    cr.execute(
        SQL(
            "ALTER TABLE shipment_tracking_status_map "
            "DROP CONSTRAINT IF EXISTS shipment_tracking_status_map_code_carrier_uniq"
        )
    )
