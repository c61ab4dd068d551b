# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from psycopg2.errors import UniqueViolation

from odoo.tools import mute_logger


def create_unique(model, vals):
    """``model.create(vals)`` in a savepoint; an empty recordset when a unique
    index refuses the row because an earlier or concurrent transaction stored
    it. The database decides, never a search before the insert: a concurrent
    insert of the same row waits for the other transaction, then loses."""
    try:
        with model.env.cr.savepoint(), mute_logger("odoo.sql_db"):
            return model.create(vals)
    except UniqueViolation:
        return model.browse()
