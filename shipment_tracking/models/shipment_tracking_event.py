# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import hashlib

from odoo import api, fields, models

from .stock_picking import SHIPMENT_STATES


class ShipmentTrackingEvent(models.Model):
    """A carrier scan or status change of a shipment, whatever carrier or
    channel (webhook, polling, manual) it came from."""

    _name = "shipment.tracking.event"
    _description = "Shipment tracking event"
    _order = "event_time desc, id desc"
    _rec_name = "carrier_status_text"

    picking_id = fields.Many2one(
        "stock.picking", required=True, ondelete="cascade", index=True
    )
    package_id = fields.Many2one("stock.quant.package", ondelete="set null")
    company_id = fields.Many2one(related="picking_id.company_id", store=True)
    tracking_ref = fields.Char(string="Tracking Number")
    event_time = fields.Datetime(required=True, index=True)
    state = fields.Selection(SHIPMENT_STATES, string="Status")
    carrier_status_code = fields.Char(string="Carrier Code")
    carrier_status_text = fields.Char(string="Description")
    location = fields.Char()
    source = fields.Selection(
        [("webhook", "Webhook"), ("poll", "Polling"), ("manual", "Manual")],
        required=True,
        default="manual",
    )
    carrier_event_id = fields.Char(string="Carrier Event ID")
    event_key = fields.Char(required=True, readonly=True)
    expected_delivery_date = fields.Date(string="Estimated Delivery")
    pod_signed_by = fields.Char(string="Received By")
    pod_signature_url = fields.Char(string="Signature")
    pod_photo_url = fields.Char(string="Photo")

    _sql_constraints = [
        (
            "event_key_uniq",
            "unique(picking_id, event_key)",
            "The same carrier event is recorded once per shipment.",
        ),
    ]

    @api.model
    def _make_event_key(self, vals):
        """The carrier's event id when it has one, else a digest of what the
        event says, so a re-sent or re-polled event is recognised."""
        if vals.get("carrier_event_id"):
            return f"id:{vals['carrier_event_id']}"
        raw = "|".join(
            str(vals.get(key) or "")
            for key in ("tracking_ref", "carrier_status_code", "event_time", "location")
        )
        return "sha1:" + hashlib.sha1(raw.encode()).hexdigest()

    @api.model
    def _record_events(self, vals_list):
        """Create the events not recorded yet; return the new ones.

        Duplicates (within the batch or already stored) are skipped: carriers
        re-send webhooks and polling returns the whole history every time."""
        for vals in vals_list:
            vals["event_key"] = self._make_event_key(vals)
        pickings = {vals["picking_id"] for vals in vals_list}
        existing = {
            (event.picking_id.id, event.event_key)
            for event in self.search_fetch(
                [
                    ("picking_id", "in", list(pickings)),
                    ("event_key", "in", [vals["event_key"] for vals in vals_list]),
                ],
                ["picking_id", "event_key"],
            )
        }
        new_vals = []
        for vals in vals_list:
            key = (vals["picking_id"], vals["event_key"])
            if key not in existing:
                existing.add(key)
                new_vals.append(vals)
        return self.create(new_vals)
