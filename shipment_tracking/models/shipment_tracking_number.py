# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..const import CLOSED_SHIPMENT_STATES


class ShipmentTrackingNumber(models.Model):
    """One carrier tracking number per parcel: the delivery itself, or one of
    its packages. Lets carrier events find their shipment in one query."""

    _name = "shipment.tracking.number"
    _description = "Parcel tracking number"
    _order = "id"

    name = fields.Char(string="Tracking Number", required=True, index=True)
    picking_id = fields.Many2one(
        "stock.picking", required=True, ondelete="cascade", index=True
    )
    package_id = fields.Many2one("stock.quant.package", ondelete="set null")
    carrier_id = fields.Many2one(
        related="picking_id.carrier_id", store=True, index=True
    )
    company_id = fields.Many2one(related="picking_id.company_id", store=True)
    is_handover = fields.Boolean(
        string="Hand-over",
        readonly=True,
        help="A number the carrier said the shipment continues under (e.g. "
        "with a local carrier): kept when the delivery's own numbers change, "
        "and without a tracking link, the carrier's link may not know it.",
    )
    tracking_url = fields.Char(compute="_compute_tracking_url")

    _sql_constraints = [
        (
            "name_picking_uniq",
            "unique(picking_id, name)",
            "A tracking number appears once per delivery.",
        ),
    ]

    def _shipment_open_domain(self):
        """Numbers of shipments a carrier may still report on."""
        return [
            ("picking_id.state", "!=", "cancel"),
            ("picking_id.shipment_state", "not in", list(CLOSED_SHIPMENT_STATES)),
        ]

    @api.constrains("name", "picking_id")
    def _check_open_number_unique(self):
        """A carrier gives a number to one parcel at a time: while a shipment
        is open, no delivery of another company takes its number with the
        same carrier, or that carrier's events (recipient, proof of delivery)
        would reach the other company. Within a company the newest open
        shipment takes the events (``_shipment_by_name``)."""
        for number in self.filtered("carrier_id"):
            # sudo: the clash is in a company the user may not read; only its
            # existence is told, not which delivery it is.
            clash = self.sudo().search_count(
                [
                    ("name", "=", number.name),
                    ("carrier_id", "=", number.carrier_id.id),
                    ("company_id", "!=", number.company_id.id),
                    *self._shipment_open_domain(),
                ],
                limit=1,
            )
            if clash:
                raise ValidationError(
                    _(
                        "Tracking number %(number)s of %(carrier)s is already used by "
                        "an open shipment of another company.",
                        number=number.name,
                        carrier=number.carrier_id.display_name,
                    )
                )

    def _shipment_by_name(self):
        """{number: record}, one shipment per number: the open one, else the
        most recent (carriers recycle numbers once a shipment is closed); a
        delivery's own number before a number it took over in a hand-over."""
        open_numbers = self.filtered_domain(self._shipment_open_domain())
        ranked = self.sorted(
            lambda n: (
                n in open_numbers,
                not n.is_handover,
                n.picking_id.shipment_date or n.picking_id.create_date,
                n.id,
            )
        )
        return {number.name: number for number in ranked}

    @api.depends("name", "carrier_id", "is_handover")
    def _compute_tracking_url(self):
        for number in self:
            carrier = number.carrier_id
            number.tracking_url = (
                carrier._shipment_tracking_link(number.name)
                if carrier and not number.is_handover
                else False
            )
