# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..const import CLOSED_SHIPMENT_STATES, FINAL_SHIPMENT_STATES, MAX_HANDOVER_REFS
from ..tools import create_unique

_logger = logging.getLogger(__name__)


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

    @api.model
    def _add_handover_numbers(self, picking, refs):
        """Add the numbers the carrier says ``picking`` continues under
        (``next_tracking_refs``) to its tracking numbers, so that their events
        reach it. Never raises: a number that is not text, or already taken by
        an open shipment of another company with the same carrier, is skipped
        and logged (event intake goes on). A closed shipment takes none: its
        late scans must not pull in another parcel's number."""
        picking.ensure_one()
        if picking.shipment_state in FINAL_SHIPMENT_STATES:
            return
        if isinstance(refs, str):
            refs = [refs]
        if not isinstance(refs, list | tuple):
            _logger.warning(
                "%s: next_tracking_refs is not a list, ignored", picking.name
            )
            return
        # sudo: parcel numbers are system bookkeeping of what the carrier said.
        picking_sudo = picking.sudo()
        known = set(picking_sudo.tracking_number_ids.mapped("name"))
        refs = list(
            dict.fromkeys(
                ref.strip()
                for ref in refs[: MAX_HANDOVER_REFS * 20]
                if isinstance(ref, str) and ref.strip()
            )
        )
        refs = [ref for ref in refs if ref not in known][:MAX_HANDOVER_REFS]
        if not refs:
            return
        # A number another open shipment holds (any company, any carrier) is
        # that parcel's: a hand-over claim on it would divert its events.
        # sudo: only the existence of the clash is used, nothing is shown;
        # the numbers created are system bookkeeping (see above).
        Number = self.sudo()
        taken = set(
            Number.search(
                [
                    ("name", "in", refs),
                    ("picking_id", "!=", picking.id),
                    *Number._shipment_open_domain(),
                ]
            ).mapped("name")
        )
        added = []
        for ref in refs:
            if ref in taken:
                _logger.warning(
                    "%s: hand-over number %s not added: another open shipment "
                    "holds it",
                    picking.name,
                    ref,
                )
                continue
            try:
                number = create_unique(
                    Number,
                    {"name": ref, "picking_id": picking.id, "is_handover": True},
                )
            except ValidationError as error:
                _logger.warning(
                    "%s: hand-over number %s not added: %s", picking.name, ref, error
                )
                continue
            if number:
                added.append(ref)
        if added:
            picking_sudo.message_post(
                body=_(
                    "The carrier continues this shipment under tracking number "
                    "%(numbers)s.",
                    numbers=", ".join(added),
                ),
                subtype_xmlid="mail.mt_note",
            )
