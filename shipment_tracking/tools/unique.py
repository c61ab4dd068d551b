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


def create_unique_each(model, vals_list):
    """``model.create(vals_list)`` in one savepoint; should a unique index
    refuse one row, each row in a savepoint of its own, the refused ones
    left out. Returns the records created."""
    if not vals_list:
        return model.browse()
    created = create_unique(model, vals_list)
    if created or len(vals_list) == 1:
        return created
    return model.browse().union(*(create_unique(model, vals) for vals in vals_list))
