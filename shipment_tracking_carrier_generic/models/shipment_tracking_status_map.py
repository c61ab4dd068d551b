# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from types import MappingProxyType

from odoo import api, fields, models, tools
from odoo.exceptions import ValidationError
from odoo.tools import create_unique_index

from odoo.addons.shipment_tracking.const import CARRIER_INCIDENT_KINDS, SHIPMENT_STATES


class ShipmentTrackingStatusMap(models.Model):
    """Which of our shipment statuses a carrier's status code (and, when the
    row names one, sub-status) means, and which problem it reports."""

    _name = "shipment.tracking.status.map"
    _description = "Carrier status mapping"
    _order = "carrier_id, code, subcode"

    carrier_id = fields.Many2one(
        "delivery.carrier", required=True, ondelete="cascade", index=True
    )
    # Stored for the multi-company record rule: a carrier's table belongs to
    # the carrier's company (none: shared, like the carrier).
    company_id = fields.Many2one(
        related="carrier_id.company_id", store=True, index=True
    )
    code = fields.Char(string="Carrier Code", required=True)
    subcode = fields.Char(
        string="Carrier Sub-status",
        help="Empty: any sub-status of the code without a row of its own "
        "(AfterShip subtag, EasyPost status detail).",
    )
    state = fields.Selection(
        SHIPMENT_STATES,
        string="Shipment Status",
        help="Empty: the event is recorded but does not change the status.",
    )
    incident_kind = fields.Selection(
        CARRIER_INCIDENT_KINDS,
        string="Incident",
        help="The problem this code reports, if any.",
    )

    def init(self):
        # One row per carrier, code and sub-status, an empty sub-status
        # (NULL or '') being one value.
        create_unique_index(
            self.env.cr,
            "shipment_tracking_status_map_code_subcode_uniq",
            self._table,
            ["carrier_id", "code", "COALESCE(subcode, '')"],
        )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._normalize_codes(vals)
        self._check_twins(
            [
                (vals.get("carrier_id"), vals.get("code"), vals.get("subcode") or "")
                for vals in vals_list
            ]
        )
        rows = super().create(vals_list)
        rows._generic_rows_changed()
        return rows

    def unlink(self):
        changed = self.browse(self.ids)
        res = super().unlink()
        changed._generic_rows_changed()
        return res

    def _generic_rows_changed(self):
        """These rows changed: the tables ``_generic_rows_of`` keeps are
        dropped now (this transaction maps with the change) and again once it
        commits (a thread of a threaded server may have read the old rows
        meanwhile; other processes drop theirs through Odoo's signalling)."""
        if self:
            self.env.registry.clear_cache()
            self.env.cr.postcommit.add(self.env.registry.clear_cache)

    @api.model
    @tools.ormcache("carrier_id")
    def _generic_rows_of(self, carrier_id):
        """The carrier's table as ``{(code, sub-status or ""): (state,
        incident kind)}``, read once per process and kept until a row changes
        (every carrier event is mapped with it: a webhook push, a poll
        batch). Read-only: shared by every caller."""
        # sudo: a carrier's status table is its configuration, read to map
        # that carrier's events whoever receives them. A code and sub-status
        # have one row per carrier (unique index).
        rows = self.sudo().search_fetch(
            [("carrier_id", "=", carrier_id)],
            ["code", "subcode", "state", "incident_kind"],
            order="id",
        )
        return MappingProxyType(
            {
                (row.code, row.subcode or ""): (row.state, row.incident_kind)
                for row in rows
            }
        )

    def write(self, vals):
        self._normalize_codes(vals)
        if {"carrier_id", "code", "subcode"} & set(vals):
            self._check_twins(
                [
                    (
                        vals.get("carrier_id", row.carrier_id.id),
                        vals.get("code", row.code),
                        (vals["subcode"] if "subcode" in vals else row.subcode) or "",
                    )
                    for row in self
                ]
            )
        res = super().write(vals)
        self._generic_rows_changed()
        return res

    @staticmethod
    def _normalize_codes(vals):
        """Codes compare as the carrier sends them, without surrounding
        spaces; an empty sub-status is stored as none."""
        for name in ("code", "subcode"):
            if isinstance(vals.get(name), str):
                vals[name] = vals[name].strip() or False

    def _check_twins(self, keys):
        """Refuse, with a clear message, the ``(carrier id, code, sub-status)``
        rows that would exist twice once ``self`` holds ``keys`` (the unique
        index guarantees it; this says it before the database does)."""
        # sudo: rows of the carrier hidden from this user still count.
        others = (
            self.sudo()
            .search(
                [
                    ("carrier_id", "in", list({key[0] for key in keys})),
                    ("code", "in", list({key[1] for key in keys})),
                    ("id", "not in", self.ids),
                ]
            )
            .mapped(lambda row: (row.carrier_id.id, row.code, row.subcode or ""))
        )
        seen = set(others)
        for key in keys:
            if key in seen:
                # The carrier's name only for a user who may read it (the row
                # might be aimed at another company's carrier).
                carrier = self.env["delivery.carrier"].browse(key[0])
                raise ValidationError(
                    self.env._(
                        "%(carrier)s: the carrier code %(code)s is mapped twice "
                        "for the same sub-status.",
                        carrier=carrier.display_name
                        if carrier.has_access("read")
                        else self.env._("This carrier"),
                        code=" / ".join(filter(None, key[1:])),
                    )
                )
            seen.add(key)
