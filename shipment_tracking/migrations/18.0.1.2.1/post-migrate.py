# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    """Contents typed before 18.0.1.2.1 carry no ``shipment_contents_typed``
    flag: flag them on the open deliveries, or the next change of their moves
    (a reservation now counts) would replace them with the moves' text."""
    env = api.Environment(cr, SUPERUSER_ID, {})
    pickings = env["stock.picking"].search(
        [("state", "not in", ("done", "cancel")), ("shipment_contents", "!=", False)]
    )
    pickings._shipment_flag_typed_contents()
