# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

from ..tools import create_unique

INCIDENT_KINDS = [
    ("exception", "Carrier exception"),
    ("late", "Late"),
    ("stalled", "No carrier news"),
    ("out_for_delivery_long", "Out for delivery too long"),
    ("returned", "Returned to sender"),
    # What a carrier's sub-status says (see the carrier's status table).
    ("failed_attempt", "Delivery attempt failed"),
    ("address", "Address problem"),
    ("refused", "Refused by the recipient"),
    ("customs", "Held in customs"),
    ("carrier_delay", "Delayed by the carrier"),
    ("payment", "Held for payment"),
    ("damaged", "Damaged"),
    ("lost", "Lost"),
]
# Kinds the monitor finds itself (thresholds, status): never a carrier's.
MONITOR_INCIDENT_KINDS = ("exception", "late", "stalled", "out_for_delivery_long")
# Kinds a carrier's sub-status may report (``incident_kind`` of its events and
# of its status table's rows).
CARRIER_INCIDENT_KINDS = [
    (kind, label)
    for kind, label in INCIDENT_KINDS
    if kind not in MONITOR_INCIDENT_KINDS
]


class ShipmentTrackingIncident(models.Model):
    """Something wrong with a shipment, detected by the monitoring cron.

    At most one open incident per shipment and kind, enforced by a partial
    unique index, so re-runs and concurrent runs never duplicate one."""

    _name = "shipment.tracking.incident"
    _description = "Shipment incident"
    _order = "opened_at desc, id desc"
    _rec_name = "kind"

    picking_id = fields.Many2one(
        "stock.picking", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="picking_id.company_id", store=True)
    carrier_id = fields.Many2one(related="picking_id.carrier_id", store=True)
    kind = fields.Selection(INCIDENT_KINDS, required=True)
    reason = fields.Char(required=True)
    opened_at = fields.Datetime(required=True, default=fields.Datetime.now)
    closed_at = fields.Datetime(index=True)
    is_open = fields.Boolean(compute="_compute_is_open", store=True)

    @api.depends("closed_at")
    def _compute_is_open(self):
        for incident in self:
            incident.is_open = not incident.closed_at

    def init(self):
        self.env.cr.execute(
            """CREATE UNIQUE INDEX IF NOT EXISTS shipment_tracking_incident_open_uniq
                ON shipment_tracking_incident (picking_id, kind)
                WHERE closed_at IS NULL"""
        )

    @api.model
    def _open(self, picking, kind, reason):
        """Open an incident unless one of that kind is open already; return
        the new incident or an empty recordset. Safe against concurrent runs."""
        # Incidents closed in this transaction must be closed in the table
        # before the partial unique index judges the new one.
        self.flush_model(["closed_at"])
        return create_unique(
            self, {"picking_id": picking.id, "kind": kind, "reason": reason}
        )
