# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tools import SQL
from odoo.tools.sql import column_exists, create_column


def pre_init_hook(env):
    """Carriers that exist before the module is installed keep validating as
    they did: their ``shipment_require_details`` column is created empty
    (False) here, so the ORM does not fill it with the field's default
    (True), which only new carriers get."""
    if not column_exists(env.cr, "delivery_carrier", "shipment_require_details"):
        create_column(env.cr, "delivery_carrier", "shipment_require_details", "boolean")
        env.cr.execute(
            SQL("UPDATE delivery_carrier SET shipment_require_details = FALSE")
        )
