# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tools import SQL

from .models.generic_rate_limiter import TABLE


def uninstall_hook(env):
    """The rate limit's slots table is created by hand (``init``), not by
    the ORM: drop it with the add-on."""
    env.cr.execute(SQL("DROP TABLE IF EXISTS %s", SQL.identifier(TABLE)))
