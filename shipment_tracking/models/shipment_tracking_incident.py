# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

from ..const import INCIDENT_KINDS
from ..tools import create_unique


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
