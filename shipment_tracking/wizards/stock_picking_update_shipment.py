# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..const import SHIPMENT_STATES, SHIPMENT_TRANSITIONS


class StockPickingUpdateShipment(models.TransientModel):
    """Logistics: record the tracking number of a carrier without an API,
    override the estimated delivery date or (explicitly) the status."""

    _name = "stock.picking.update.shipment"
    _description = "Update a shipment's tracking data"

    picking_id = fields.Many2one(
        "stock.picking",
        required=True,
        ondelete="cascade",
        domain=[("picking_type_code", "=", "outgoing")],
    )
    carrier_tracking_ref = fields.Char(
        string="Tracking Number",
        compute="_compute_carrier_tracking_ref",
        store=True,
        readonly=False,
    )
    expected_delivery_date = fields.Date(
        string="Estimated Delivery",
        compute="_compute_expected_delivery_date",
        store=True,
        readonly=False,
        help="Leave empty to compute it from the carrier's transit days at dispatch.",
    )
    current_state = fields.Selection(
        related="picking_id.shipment_state", string="Current Status"
    )
    shipment_state = fields.Selection(
        SHIPMENT_STATES,
        string="New Status",
        help="Only to correct a status by hand; jumps the normal flow refuses "
        "need a reason.",
    )
    reason = fields.Char()

    # One compute per field: with a shared one, giving either field at creation
    # would leave the other empty (and read as a change).
    @api.depends("picking_id")
    def _compute_carrier_tracking_ref(self):
        for wizard in self:
            wizard.carrier_tracking_ref = wizard.picking_id.carrier_tracking_ref

    @api.depends("picking_id")
    def _compute_expected_delivery_date(self):
        for wizard in self:
            wizard.expected_delivery_date = wizard.picking_id.expected_delivery_date

    def action_apply(self):
        self.ensure_one()
        picking = self.picking_id
        tracking = (self.carrier_tracking_ref or "").strip()
        if picking.shipment_state != "pending" and tracking != (
            picking.carrier_tracking_ref or ""
        ):
            raise UserError(
                _("The tracking number cannot change once the shipment is dispatched.")
            )
        vals = {}
        if tracking != (picking.carrier_tracking_ref or ""):
            vals["carrier_tracking_ref"] = tracking or False
        if self.expected_delivery_date != picking.expected_delivery_date:
            vals["expected_delivery_date"] = self.expected_delivery_date
            vals["shipment_edd_set_at"] = fields.Datetime.now()
        if vals:
            picking.write(vals)
        if self.shipment_state and self.shipment_state != picking.shipment_state:
            self._apply_state(picking)
        return {"type": "ir.actions.act_window_close"}

    def _apply_state(self, picking):
        legal = self.shipment_state in SHIPMENT_TRANSITIONS[picking.shipment_state]
        if not legal and not self.reason:
            raise UserError(
                _("Overriding the normal status flow needs a reason for the log.")
            )
        old = dict(SHIPMENT_STATES)[picking.shipment_state]
        picking.with_context(shipment_tracking_force_state=True).write(
            {"shipment_state": self.shipment_state}
        )
        if self.reason:
            picking.message_post(
                body=_(
                    "Shipment status changed by hand from %(old)s: %(reason)s",
                    old=old,
                    reason=self.reason,
                ),
                subtype_xmlid="mail.mt_note",
            )
