# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import re
from datetime import datetime, time, timedelta

from babel.dates import format_date as babel_format_date
from markupsafe import Markup
from pytz import utc

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.http import request
from odoo.tools import SQL, format_date, format_time, ormcache
from odoo.tools.misc import babel_locale_parse, get_lang

from ..const import (
    CLOSED_SHIPMENT_STATES,
    DELAY_KINDS,
    DETAIL_FIELDS,
    DISPATCH_EMAIL_STATES,
    DISPATCHED_LOGISTICS_FIELDS,
    INTERNAL_GROUPS,
    INTERNAL_PREFETCH,
    LOGISTICS_FIELDS,
    NOT_LATE_STATES,
    NOTIFICATION_STATES,
    SHIPMENT_STATES,
    SHIPMENT_TRANSITIONS,
    SYSTEM_FIELDS,
)
from ..tools import create_unique, field_labels, guard_defaults, value_changed

# The outbox key of the dispatch message: one per delivery.
DISPATCH_KEY = "dispatched"
# How far the cached working intervals of a company calendar reach (the EDD
# of longer transits is planned by the calendar itself).
EDD_WINDOW_DAYS = 56


class StockPicking(models.Model):
    _name = "stock.picking"
    _inherit = ["stock.picking", "portal.mixin", "shipment.parcel.mixin"]

    is_shipment = fields.Boolean(
        compute="_compute_is_shipment",
        search="_search_is_shipment",
        help="Outgoing deliveries are shipments.",
    )
    shipment_ref = fields.Char(
        string="Shipment ID",
        copy=False,
        index="btree_not_null",
        help="Unique per company. Generated from the company's sequence at "
        "validation when left empty.",
    )
    shipment_length = fields.Float(
        string="Length", digits="Product Unit of Measure", copy=False
    )
    shipment_width = fields.Float(
        string="Width", digits="Product Unit of Measure", copy=False
    )
    shipment_height = fields.Float(
        string="Height", digits="Product Unit of Measure", copy=False
    )
    shipment_length_uom_name = fields.Char(
        string="Length unit", compute="_compute_shipment_length_uom_name"
    )
    shipment_contents = fields.Text(
        string="Contents",
        compute="_compute_shipment_contents",
        store=True,
        readonly=False,
        copy=False,
        help="What the parcel holds; defaulted from the products and quantities.",
    )
    shipment_contents_typed = fields.Boolean(
        copy=False,
        readonly=True,
        help="The contents were typed (they differ from what the moves give): "
        "changes of the moves no longer replace them.",
    )
    shipment_state = fields.Selection(
        SHIPMENT_STATES,
        string="Shipment Status",
        default="pending",
        required=True,
        copy=False,
        index=True,
        tracking=True,
    )
    shipment_date = fields.Datetime(copy=False, readonly=True)
    expected_delivery_date = fields.Date(
        string="Estimated Delivery",
        copy=False,
        tracking=True,
        help="Carrier's estimate when it gives one, else the shipment date plus "
        "the carrier's transit days counted in working days.",
    )
    shipment_edd_set_at = fields.Datetime(
        copy=False,
        groups=INTERNAL_GROUPS,
        prefetch=INTERNAL_PREFETCH,
        readonly=True,
        help="When Logistics last set the estimated delivery date by hand: only "
        "newer carrier estimates replace it.",
    )
    shipment_is_late = fields.Boolean(
        string="Late",
        compute="_compute_shipment_is_late",
        search="_search_shipment_is_late",
    )
    # The dispatch email as its outbox row says.
    shipment_notification_state = fields.Selection(
        NOTIFICATION_STATES,
        groups=INTERNAL_GROUPS,
        prefetch=INTERNAL_PREFETCH,
        string="Customer Notification",
        compute="_compute_shipment_notification_state",
        store=True,
        default="none",
        index=True,
    )
    shipment_notification_attempts = fields.Integer(
        compute="_compute_shipment_notification",
        compute_sudo=True,
        groups=INTERNAL_GROUPS,
    )
    shipment_notification_error = fields.Char(
        compute="_compute_shipment_notification",
        compute_sudo=True,
        groups=INTERNAL_GROUPS,
    )
    shipment_notification_message_id = fields.Many2one(
        "mail.message",
        compute="_compute_shipment_notification",
        compute_sudo=True,
        groups=INTERNAL_GROUPS,
    )
    tracking_number_ids = fields.One2many(
        "shipment.tracking.number",
        "picking_id",
        string="Parcel Tracking Numbers",
        groups=INTERNAL_GROUPS,
    )
    tracking_event_ids = fields.One2many(
        "shipment.tracking.event",
        "picking_id",
        string="Tracking Events",
        groups=INTERNAL_GROUPS,
    )
    shipment_last_event_date = fields.Datetime(
        string="Last Carrier Event", copy=False, readonly=True
    )
    shipment_pod_signed_by = fields.Char(
        string="Received By", copy=False, readonly=True
    )
    shipment_pod_signature_url = fields.Char(
        string="Signature Link", copy=False, readonly=True
    )
    shipment_pod_photo_url = fields.Char(
        string="Delivery Photo", copy=False, readonly=True
    )
    shipment_pickup_location = fields.Char(
        string="Pickup Point",
        copy=False,
        readonly=True,
        help="Where the parcel waits to be collected, as the carrier said.",
    )
    shipment_pickup_deadline = fields.Datetime(
        string="Collect Before",
        copy=False,
        readonly=True,
        help="Until when the pickup point keeps the parcel, as the carrier said.",
    )
    shipment_incident_ids = fields.One2many(
        "shipment.tracking.incident",
        "picking_id",
        string="Incidents",
        groups=INTERNAL_GROUPS,
    )
    shipment_has_incident = fields.Boolean(
        string="Incident",
        compute="_compute_shipment_incident",
        store=True,
        index=True,
        groups=INTERNAL_GROUPS,
        prefetch=INTERNAL_PREFETCH,
    )
    shipment_incident_reason = fields.Char(
        string="Incident Reason",
        compute="_compute_shipment_incident",
        store=True,
        groups=INTERNAL_GROUPS,
        prefetch=INTERNAL_PREFETCH,
    )
    shipment_update_ids = fields.One2many(
        "shipment.tracking.notification",
        "picking_id",
        string="Customer Updates",
        groups=INTERNAL_GROUPS,
    )
    shipment_update_count = fields.Integer(
        string="Customer Messages",
        compute="_compute_shipment_update_count",
        groups=INTERNAL_GROUPS,
    )
    shipment_delivered_date = fields.Datetime(copy=False, readonly=True)
    shipment_transit_days = fields.Float(
        string="Transit Days (actual)",
        compute="_compute_shipment_delivery_kpi",
        store=True,
        aggregator="avg",
        groups=INTERNAL_GROUPS,
        prefetch=INTERNAL_PREFETCH,
    )
    shipment_on_time = fields.Boolean(
        string="Delivered On Time",
        compute="_compute_shipment_delivery_kpi",
        store=True,
        groups=INTERNAL_GROUPS,
        prefetch=INTERNAL_PREFETCH,
    )
    shipment_on_time_rate = fields.Float(
        string="On-time Rate (%)",
        compute="_compute_shipment_delivery_kpi",
        store=True,
        aggregator="avg",
        groups=INTERNAL_GROUPS,
        prefetch=INTERNAL_PREFETCH,
        help="100 for a shipment delivered on time, 0 for a late one: its "
        "average over deliveries is the on-time rate.",
    )
    shipment_inquiry_date = fields.Datetime(
        string="Customer Question Since",
        copy=False,
        readonly=True,
        index=True,
        groups=INTERNAL_GROUPS,
        prefetch=INTERNAL_PREFETCH,
        help="Set when the customer writes from the portal, cleared when an "
        "internal user answers.",
    )
    shipment_next_poll_date = fields.Datetime(
        string="Next Poll",
        compute="_compute_shipment_poll",
        groups=INTERNAL_GROUPS,
        help="When the carrier is next asked about one of the parcels (each "
        "tracking number keeps its own schedule).",
    )
    shipment_poll_error = fields.Char(
        string="Polling Error",
        compute="_compute_shipment_poll",
        groups=INTERNAL_GROUPS,
        help="What went wrong when the carrier was last asked about the "
        "parcels' tracking numbers.",
    )

    _sql_constraints = [
        (
            "shipment_ref_company_uniq",
            "unique(company_id, shipment_ref)",
            "A shipment ID must be unique per company.",
        ),
    ]

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------
    @api.depends("shipment_incident_ids.closed_at", "shipment_incident_ids.reason")
    def _compute_shipment_incident(self):
        for picking in self:
            open_incidents = picking.shipment_incident_ids.filtered("is_open")
            picking.shipment_has_incident = bool(open_incidents)
            picking.shipment_incident_reason = (
                "; ".join(open_incidents.mapped("reason")) or False
            )

    @api.depends("shipment_delivered_date", "shipment_date", "expected_delivery_date")
    def _compute_shipment_delivery_kpi(self):
        for picking in self:
            delivered, shipped = picking.shipment_delivered_date, picking.shipment_date
            if not (delivered and shipped):
                picking.shipment_transit_days = 0.0
                picking.shipment_on_time = False
                picking.shipment_on_time_rate = 0.0
                continue
            picking.shipment_transit_days = round(
                (delivered - shipped).total_seconds() / 86400, 2
            )
            on_time = not picking.expected_delivery_date or (
                delivered.date() <= picking.expected_delivery_date
            )
            picking.shipment_on_time = on_time
            picking.shipment_on_time_rate = 100.0 if on_time else 0.0

    @api.depends("tracking_number_ids.next_poll_date", "tracking_number_ids.poll_error")
    def _compute_shipment_poll(self):
        for picking in self:
            numbers = picking.tracking_number_ids
            dates = [date for date in numbers.mapped("next_poll_date") if date]
            picking.shipment_next_poll_date = min(dates) if dates else False
            errors = [error for error in numbers.mapped("poll_error") if error]
            picking.shipment_poll_error = "; ".join(dict.fromkeys(errors)) or False

    def _compute_access_url(self):  # pylint: disable=missing-return
        super()._compute_access_url()
        for picking in self.filtered("is_shipment"):
            picking.access_url = f"/my/shipments/{picking.id}"

    @api.depends("shipment_update_ids")
    def _compute_shipment_update_count(self):
        counts = dict(
            self.env["shipment.tracking.notification"]._read_group(
                [("picking_id", "in", self.ids)], ["picking_id"], ["__count"]
            )
        )
        for picking in self:
            picking.shipment_update_count = counts.get(picking, 0)

    def _get_shipment_dispatch_update(self):
        """The outbox row of the dispatch notification, if any."""
        self.ensure_one()
        return self.shipment_update_ids.filtered(lambda u: u.kind == "dispatched")[:1]

    def _get_shipment_dispatch_updates(self, fnames):
        """{delivery: its dispatch outbox row (or an empty recordset)} for
        these deliveries, with ``fnames`` of the rows read. From the cache
        where a delivery's outbox rows are in it (the dispatch, which queues
        its row, puts them there), else in one query for the dispatch rows
        alone: a customer update queued later (out for delivery, delivered)
        makes Odoo recompute what depends on the outbox rows, and neither
        every row of a shipment nor every column of them is needed."""
        Notification = self.env["shipment.tracking.notification"]
        field = self._fields["shipment_update_ids"]
        found, missing_ids = {}, []
        for picking in self:
            if not picking.id or self.env.cache.contains(picking, field):
                found[picking] = picking._get_shipment_dispatch_update()
            else:
                missing_ids.append(picking.id)
        if missing_ids:
            # One dispatch row per delivery (its key is unique per delivery).
            for row in Notification.search_fetch(
                [("picking_id", "in", missing_ids), ("kind", "=", "dispatched")],
                ["picking_id", *fnames],
            ):
                found.setdefault(row.picking_id, row)
        return {picking: found.get(picking, Notification) for picking in self}

    @api.depends("shipment_update_ids.email_state", "shipment_update_ids.kind")
    def _compute_shipment_notification_state(self):
        updates = self._get_shipment_dispatch_updates(["email_state"])
        for picking in self:
            picking.shipment_notification_state = DISPATCH_EMAIL_STATES.get(
                updates[picking].email_state, "none"
            )

    @api.depends(
        "shipment_update_ids.email_attempts",
        "shipment_update_ids.email_error",
        "shipment_update_ids.mail_message_id",
    )
    def _compute_shipment_notification(self):
        for picking in self:
            update = picking._get_shipment_dispatch_update()
            picking.shipment_notification_attempts = update.email_attempts
            picking.shipment_notification_error = update.email_error
            picking.shipment_notification_message_id = update.mail_message_id

    @api.depends("picking_type_code")
    def _compute_is_shipment(self):
        for picking in self:
            picking.is_shipment = picking.picking_type_code == "outgoing"

    def _search_is_shipment(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(_("Unsupported search on shipments."))
        positive = (operator == "=") == value
        return [("picking_type_code", "=" if positive else "!=", "outgoing")]

    def _compute_shipment_length_uom_name(self):
        name = self.env[
            "product.template"
        ]._get_length_uom_name_from_ir_config_parameter()
        self.shipment_length_uom_name = name

    # Not on the product's or the unit's name: renaming a product must not
    # rewrite the contents of every delivery that ever shipped it. Nor on
    # the moves' state: a cancelled move asks for them (stock_move.py).
    @api.depends(
        "move_ids.product_id",
        "move_ids.product_uom_qty",
        "move_ids.product_uom",
    )
    def _compute_shipment_contents(self):
        """The moves' products and quantities, until someone types the
        contents: typed contents are the worker's and stay."""
        for picking in self:
            if not picking.shipment_contents_typed:
                picking.shipment_contents = picking._shipment_default_contents()

    def _shipment_default_contents(self):
        """The contents the moves give: one line per move not cancelled."""
        self.ensure_one()
        lines = [
            f"{move.product_uom_qty:g} {move.product_uom.name} "
            f"{move.product_id.display_name}"
            for move in self.move_ids
            if move.state != "cancel"
        ]
        return "\n".join(lines) or False

    def _shipment_flag_typed_contents(self):
        """Contents that differ from what the moves give were typed: they no
        longer follow the moves. Written back to the moves' text, they follow
        them again."""
        typed = self.filtered(
            lambda p: p.shipment_contents != p._shipment_default_contents()
        )
        # sudo: system bookkeeping of what the (already authorised) user wrote.
        for pickings, flag in ((typed, True), (self - typed, False)):
            changed = pickings.filtered(
                lambda p, f=flag: p.shipment_contents_typed != f
            )
            if changed:
                changed.sudo().write({"shipment_contents_typed": flag})

    @api.depends("expected_delivery_date", "shipment_state")
    @api.depends_context("tz")
    def _compute_shipment_is_late(self):
        today = fields.Date.context_today(self)
        for picking in self:
            picking.shipment_is_late = bool(
                picking.expected_delivery_date
                and picking.expected_delivery_date < today
                and picking.shipment_state not in NOT_LATE_STATES
            )

    def _search_shipment_is_late(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(_("Unsupported search on late shipments."))
        domain = [
            ("expected_delivery_date", "<", fields.Date.context_today(self)),
            ("shipment_state", "not in", list(NOT_LATE_STATES)),
        ]
        if (operator == "=") == value:
            return domain
        return ["!", "&", *domain]

    # ------------------------------------------------------------------
    # Constraints and write guards
    # ------------------------------------------------------------------
    def _shipment_check_write_access(self, vals):
        """Enforce the roles on shipment fields (ACLs are per model, not per field)."""
        if self.env.su:
            return
        user = self.env.user
        logistics = set(vals) & LOGISTICS_FIELDS
        if logistics and not user.has_group("stock.group_stock_manager"):
            raise AccessError(
                _(
                    "Only the Logistics team (Inventory / Administrator) may change: "
                    "%(fields)s.",
                    fields=field_labels(self, logistics),
                )
            )
        details = set(vals) & DETAIL_FIELDS
        if details and not user.has_group("stock.group_stock_user"):
            raise AccessError(
                _(
                    "Only warehouse staff may change the shipment details: %(fields)s.",
                    fields=field_labels(self, details),
                )
            )
        system = set(vals) & self._shipment_system_fields()
        if system:
            raise AccessError(
                _(
                    "These shipment fields are maintained by the system and cannot "
                    "be changed by hand: %(fields)s.",
                    fields=field_labels(self, system),
                )
            )
        self._shipment_check_dispatched_route(vals)
        if "shipment_ref" in vals:
            dispatched = self.filtered(lambda p: p.shipment_state != "pending")
            if dispatched:
                raise UserError(
                    _(
                        "The shipment ID of %(pickings)s cannot change after dispatch.",
                        pickings=", ".join(dispatched.mapped("display_name")),
                    )
                )

    def _shipment_system_fields(self):
        """Fields only the system writes (sudo); add-ons extend the set."""
        return SYSTEM_FIELDS

    def _shipment_check_dispatched_route(self, vals):
        """Once booked or dispatched, the carrier and the delivery address are
        Logistics' to change: the label says where the parcel goes."""
        fnames = [f for f in DISPATCHED_LOGISTICS_FIELDS if f in vals]
        if not fnames or self.env.user.has_group("stock.group_stock_manager"):
            return
        changed = self.filtered(
            lambda p: (p.shipment_state != "pending" or p._shipment_is_booked())
            and any(p[f].id != (vals[f] or False) for f in fnames)
        )
        if changed:
            raise AccessError(
                _(
                    "%(pickings)s: already booked or dispatched, only the "
                    "Logistics team (Inventory / Administrator) may change "
                    "%(fields)s.",
                    pickings=", ".join(changed.mapped("display_name")),
                    fields=field_labels(self, fnames),
                )
            )

    def _shipment_check_state_transition(self, new_state):
        if self.env.context.get("shipment_tracking_force_state"):
            if not (
                self.env.su or self.env.user.has_group("stock.group_stock_manager")
            ):
                raise AccessError(
                    _("Only the Logistics team may override a shipment status.")
                )
            return
        for picking in self:
            old = picking.shipment_state
            if old != new_state and new_state not in SHIPMENT_TRANSITIONS[old]:
                states = dict(SHIPMENT_STATES)
                raise UserError(
                    _(
                        "%(picking)s: a shipment cannot go from %(old)s to %(new)s. "
                        "Logistics can override the status explicitly.",
                        picking=picking.display_name,
                        old=states[old],
                        new=states[new_state],
                    )
                )

    def _shipment_check_weight(self, vals):
        # shipping_weight is a non-stored computed field: @constrains cannot see it.
        if (vals.get("shipping_weight") or 0) < 0:
            raise ValidationError(_("The shipping weight cannot be negative."))

    def write(self, vals):
        sending_id = self.env.context.get("shipment_tracking_sending_id")
        if sending_id and "carrier_tracking_ref" in vals and self.ids != [sending_id]:
            return self._shipment_write_tracking_on_route(sending_id, vals)
        self._shipment_check_write_access(vals)
        self._shipment_check_weight(vals)
        if vals.get("shipment_state"):
            self._shipment_check_state_transition(vals["shipment_state"])
        if vals.get("shipment_ref"):
            vals["shipment_ref"] = vals["shipment_ref"].strip()
        res = super().write(vals)
        if "shipment_contents" in vals:
            self._shipment_flag_typed_contents()
        if "carrier_tracking_ref" in vals:
            self._shipment_sync_tracking_numbers()
            self._shipment_dispatch_ready()
        return res

    def _shipment_sync_tracking_numbers(self):
        """One tracking number record per number in carrier_tracking_ref (Odoo
        joins a multi-parcel booking's numbers with commas); the numbers the
        carrier handed the shipment over to stay."""
        # sudo: parcel numbers are system bookkeeping of what the (already
        # authorised) user wrote on the delivery.
        Number = self.env["shipment.tracking.number"].sudo()
        for picking in self.filtered("is_shipment"):
            numbers = [
                n.strip() for n in (picking.carrier_tracking_ref or "").split(",")
            ]
            numbers = [n for n in numbers if n]
            existing = picking.sudo().tracking_number_ids  # sudo: see above
            kept = existing.filtered(
                lambda t, keep=numbers: t.name in keep or t.is_handover
            )
            (existing - kept).unlink()
            known = set(kept.mapped("name"))
            # sudo: system bookkeeping of what the user wrote on the delivery.
            Number.create(
                [
                    {"name": number, "picking_id": picking.id}
                    for number in dict.fromkeys(numbers)
                    if number not in known
                ]
            )

    def _shipment_write_tracking_on_route(self, sending_id, vals):
        """Core writes a booked tracking number onto every transfer chained to
        the booked one. It goes on the transfers of the booked one's warehouse
        that are not receipts: pick, pack and ship of one delivery route, the
        same parcel's journey. A make-to-order or dropship receipt keeps its
        vendor's numbers, and another warehouse's transfers (a resupply, whose
        delivery would become a shipment of its own) never get the
        customer's."""
        warehouse = self.browse(sending_id).picking_type_id.warehouse_id
        route = self.filtered(
            lambda p: p.id == sending_id
            or (
                p.picking_type_code != "incoming"
                and p.picking_type_id.warehouse_id == warehouse
            )
        )
        others = self - route
        other_vals = {k: v for k, v in vals.items() if k != "carrier_tracking_ref"}
        if others and other_vals:
            others.write(other_vals)
        route = route.with_context(shipment_tracking_sending_id=False)
        return route.write(vals) if route else True

    def send_to_shipper(self):
        self.ensure_one()
        return super(
            StockPicking, self.with_context(shipment_tracking_sending_id=self.id)
        ).send_to_shipper()

    def _shipment_is_booked(self):
        """Whether this delivery already has a booking at its carrier;
        connectors add their own booking ids."""
        self.ensure_one()
        return bool(self.carrier_tracking_ref)

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._shipment_check_write_access(vals)
            self._shipment_check_weight(vals)
        pickings = super().create(vals_list)
        given = [
            picking.id
            for picking, vals in zip(pickings, vals_list, strict=True)
            if "shipment_contents" in vals
        ]
        pickings.browse(given)._shipment_flag_typed_contents()
        return pickings

    def _shipment_default_guarded_fields(self):
        """Fields that take no value from ``default_*`` context keys or user
        defaults (``ir.default``) unless the user may set them."""
        return LOGISTICS_FIELDS | self._shipment_system_fields()

    def _add_missing_default_values(self, values):
        """Run the field guards on what create (and copy) takes from default
        values too (see ``guard_defaults``)."""
        return guard_defaults(
            self,
            values,
            super()._add_missing_default_values(values),
            self._shipment_default_guarded_fields(),
        )

    # ------------------------------------------------------------------
    # Verification (SOP step 2)
    # ------------------------------------------------------------------
    def _shipment_details_required(self):
        self.ensure_one()
        return (
            self.is_shipment
            and self.carrier_id
            and self.carrier_id.shipment_require_details
        )

    def _get_shipment_parcels(self):
        """The parcels of this delivery: its packages, plus the delivery itself
        when some goods travel outside a package (or none are packed)."""
        self.ensure_one()
        packages = self.move_line_ids.result_package_id
        loose = not packages or any(
            not ml.result_package_id for ml in self.move_line_ids
        )
        return packages, loose

    def _get_shipment_detail_errors(self):
        """Return the list of missing or invalid shipment details (translated)."""
        self.ensure_one()
        errors = []
        packages, loose = self._get_shipment_parcels()
        if loose:
            errors += [
                self.env._(
                    "parcel %(dimension)s must be greater than 0", dimension=name
                )
                for name in self._shipment_missing_dimensions()
            ]
            if self.weight_bulk <= 0 and self.shipping_weight <= 0:
                errors.append(_("parcel weight must be greater than 0"))
        for package in packages:
            errors += package._get_shipment_detail_errors(self)
        if not (self.shipment_contents or "").strip():
            errors.append(_("contents description is empty"))
        return errors

    def _check_shipment_details(self):
        messages = []
        for picking in self:
            if not picking._shipment_details_required():
                continue
            errors = picking._get_shipment_detail_errors()
            if errors:
                messages.append(
                    f"{picking.display_name}:\n" + "\n".join(f"- {e}" for e in errors)
                )
        if messages:
            raise UserError(
                _("Shipment details are missing or invalid, nothing was validated.")
                + "\n\n"
                + "\n\n".join(messages)
            )

    @api.model
    def _shipment_is_interactive_validation(self):
        """Whether a person is validating: the Validate button (or a wizard it
        opened) called from a user's request (web client, barcode or mobile
        app, external API). Not a cron, an import, a script, nor another
        module's or Odoo's own flow running server-side. The context key
        ``shipment_check_details`` (True/False) decides when set."""
        forced = self.env.context.get("shipment_check_details")
        if forced is not None:
            return bool(forced)
        return bool(request) and not self.env.su

    def _pre_action_done_hook(self):
        # The interactive validation checks the details, before the backorder
        # and other wizards, so the worker sees every missing detail at once.
        # Code that validates (Odoo's own flows, other modules, imports, EDI)
        # is not blocked: the check belongs to the worker's click.
        if self._shipment_is_interactive_validation():
            self._check_shipment_details()
        return super()._pre_action_done_hook()

    def _action_done(self):
        res = super()._action_done()
        shipments = self.filtered(lambda p: p.is_shipment and p.state == "done")
        shipments._shipment_assign_ref()
        shipments._shipment_dispatch_ready()
        return res

    def _send_confirmation_email(self):
        # Our dispatch notification replaces stock's confirmation email.
        return super(
            StockPicking, self.with_context(shipment_tracking_skip_native_email=True)
        )._send_confirmation_email()

    def message_post_with_source(self, source_ref, *args, **kwargs):
        if (
            self.env.context.get("shipment_tracking_skip_native_email")
            and len(self) == 1
            and self.is_shipment
            and self.company_id.shipment_notify_dispatch
            and source_ref == self.company_id.stock_mail_confirmation_template_id
        ):
            return self.env["mail.message"]
        return super().message_post_with_source(source_ref, *args, **kwargs)

    def action_cancel(self):
        res = super().action_cancel()
        pending = self.filtered(
            lambda p: p.is_shipment
            and p.state == "cancel"
            and p.shipment_state in ("pending", "dispatched")
        )
        # sudo: a status change that follows the user's (checked) cancellation.
        pending.sudo().write({"shipment_state": "cancelled"})
        return res

    # ------------------------------------------------------------------
    # Shipment ID, dispatch, EDD (SOP steps 2, 3, 5)
    # ------------------------------------------------------------------
    def _shipment_assign_ref(self):
        """Give the deliveries without a shipment ID the next numbers of their
        company's sequence. The numbers are drawn first and written after, so
        the writes join the validation's own UPDATE of the deliveries."""
        refs = {
            picking: picking._shipment_draw_ref()
            for picking in self.filtered(lambda p: not p.shipment_ref)
        }
        for picking, ref in refs.items():
            # sudo: system-generated ID, assigned on the validating user's behalf.
            picking.sudo().shipment_ref = ref

    def _shipment_draw_ref(self):
        """The next number of the company's shipment ID sequence that no
        delivery of the company has yet (one typed by hand is skipped).

        A standard sequence without date ranges draws and checks in one
        statement, an index lookup on the (company, shipment ID) constraint,
        whatever the number of deliveries (the check reads every delivery,
        whatever the user may read); while the number is taken by hand, the
        next one is drawn, a statement each, and the sequence stays past
        them. Other sequences go through ``next_by_id``.

        The check sees the numbers committed when this transaction began: a
        number typed on another delivery and committed since fails the
        validation on the constraint (the worker validates again)."""
        self.ensure_one()
        company = self.company_id
        sequence = company._get_shipment_sequence()
        fmt = dict(self._shipment_sequence_format(sequence.id))
        if fmt["implementation"] != "standard" or fmt["use_date_range"]:
            ref = sequence.next_by_id()
            # sudo: uniqueness is per company, whatever the user may read.
            pickings_sudo = self.sudo().with_context(active_test=False)
            while pickings_sudo.search_count(
                [("company_id", "=", company.id), ("shipment_ref", "=", ref)], limit=1
            ):
                ref = sequence.next_by_id()
            return ref
        # The sequence's own interpolation, on its cached prefix and suffix.
        prefix, suffix = sequence.new(
            {k: fmt[k] for k in ("name", "prefix", "suffix")}
        )._get_prefix_suffix()
        prefix, suffix, padding = prefix or "", suffix or "", fmt["padding"]
        # A number typed on a delivery in this transaction counts too.
        self.flush_model(["company_id", "shipment_ref"])
        query = SQL(
            """
            SELECT drawn.n, EXISTS (
                       SELECT 1 FROM stock_picking
                       WHERE company_id = %(company)s
                       AND shipment_ref = %(prefix)s
                           || lpad(drawn.n::text,
                                   greatest(%(padding)s, length(drawn.n::text)),
                                   '0')
                           || %(suffix)s
                   )
              FROM nextval(%(seq)s) AS drawn(n)
            """,
            seq=f"ir_sequence_{sequence.id:03d}",
            company=company.id,
            prefix=prefix,
            padding=padding,
            suffix=suffix,
        )
        taken = True
        while taken:
            self.env.cr.execute(query)
            number, taken = self.env.cr.fetchone()
        # As ir.sequence formats its numbers (get_next_char).
        return f"{prefix}{number:0{padding}d}{suffix}"

    @api.model
    @ormcache("sequence_id")
    def _shipment_sequence_format(self, sequence_id):
        """What numbering with the shipment ID sequence needs of it, as
        ``(name, value)`` pairs; cached (a change of a shipment ID sequence
        clears the cache, see ir_sequence.py)."""
        # sudo: the validating user only draws numbers from the sequence.
        sequence = self.env["ir.sequence"].sudo().browse(sequence_id)
        fnames = ("name", "prefix", "suffix", "padding", "implementation")
        return (
            *((fname, sequence[fname]) for fname in fnames),
            ("use_date_range", sequence.use_date_range),
        )

    def _shipment_dispatch_ready(self):
        """Mark done deliveries that have a tracking number as dispatched (with
        the shipment date and EDD) and queue their dispatch message. The
        writes stay in the cache: they join the validation's UPDATE."""
        ready = self.filtered(
            lambda p: p.is_shipment
            and p.state == "done"
            and p.carrier_tracking_ref
            and p.shipment_state == "pending"
        )
        if not ready:
            return
        now = fields.Datetime.now()
        for picking in ready:
            vals = {
                "shipment_state": "dispatched",
                "shipment_date": picking.shipment_date or now,
            }
            if not picking.expected_delivery_date:
                vals["expected_delivery_date"] = picking._compute_shipment_edd(
                    vals["shipment_date"]
                )
            # sudo: system transition on the validating user's behalf; the user's
            # rights were checked by the validation itself.
            picking.sudo().write(vals)
        # The new rows wake the notification cron when this transaction commits.
        ready._shipment_queue_dispatch()

    def _shipment_queue_dispatch(self):
        """Queue the dispatch message of these deliveries, once each; return
        the new outbox rows. The cron sends: the worker's click never waits
        for SMTP or the SMS gateway.

        One statement locks the deliveries' rows and reads their outbox rows
        into the cache (where the notification state's compute finds them,
        the new rows added): a concurrent dispatch of the same delivery waits
        for this transaction, then fails on the row with a serialization
        error, which Odoo retries; so the insert needs no savepoint."""
        # sudo: the outbox is system-maintained.
        Notification = self.env["shipment.tracking.notification"].sudo()
        # The rule _enqueue follows (and add-ons extend): the company's setting.
        pickings = self.filtered(
            lambda p: Notification._enqueue_wanted(p, "dispatched")
        )
        if not pickings:
            return Notification
        Notification.flush_model(["picking_id", "key"])
        self.env.cr.execute(
            SQL(
                """
                SELECT p.id,
                       ARRAY(SELECT n.id FROM shipment_tracking_notification n
                             WHERE n.picking_id = p.id ORDER BY n.id DESC),
                       EXISTS(SELECT 1 FROM shipment_tracking_notification n
                              WHERE n.picking_id = p.id AND n.key = %s)
                  FROM stock_picking p
                 WHERE p.id IN %s
                 ORDER BY p.id
                   FOR NO KEY UPDATE OF p
                """,
                DISPATCH_KEY,
                tuple(pickings.ids),
            )
        )
        updates_field = self._fields["shipment_update_ids"]
        told = set()
        for picking_id, update_ids, dispatched in self.env.cr.fetchall():
            self.env.cache.set(
                self.browse(picking_id), updates_field, tuple(update_ids)
            )
            if dispatched:
                told.add(picking_id)
        return Notification.create(
            [
                Notification._prepare_values(picking, "dispatched", DISPATCH_KEY)
                for picking in pickings
                if picking.id not in told
            ]
        )

    def _compute_shipment_edd(self, shipment_date):
        """Shipment date plus the carrier's transit days, in working days of the
        company's calendar (public holidays included)."""
        self.ensure_one()
        days = self.carrier_id.shipment_transit_days
        if not days:
            return False
        calendar = self.company_id.resource_calendar_id
        if calendar:
            # plan_days counts the start day when it is a working day: ask one
            # more so that "2 transit days" means two days after shipping.
            end = self._shipment_plan_days(calendar, days + 1, shipment_date)
            if end:
                return end.date()
        return fields.Date.add(shipment_date.date(), days=days)

    def _shipment_plan_days(self, calendar, days, day_dt):
        """``calendar.plan_days(days, day_dt, compute_leaves=True)`` (naive
        UTC in and out), counted on the calendar's working intervals of the
        ``EDD_WINDOW_DAYS`` from ``day_dt``'s day, cached per day (no query in
        the worker's click); beyond them, plan_days itself."""
        start_utc = utc.localize(day_dt)
        found = set()
        for start, stop in self._shipment_work_intervals(calendar.id, day_dt.date()):
            if stop <= start_utc:
                continue
            found.add(max(start, start_utc.astimezone(start.tzinfo)).date())
            if len(found) == days:
                return stop.astimezone(utc).replace(tzinfo=None)
        return calendar.plan_days(days, day_dt, compute_leaves=True)

    @api.model
    @ormcache("calendar_id", "day", "self.env.su", "tuple(self.env.companies.ids)")
    def _shipment_work_intervals(self, calendar_id, day):
        """The working intervals (attendances minus global leaves, as
        ``(start, stop)`` in the calendar's time zone) of the calendar from
        ``day`` (UTC midnight) on, for ``EDD_WINDOW_DAYS``. Cached: a change
        of a calendar, an attendance or a public holiday clears the cache
        (see resource_calendar.py). The leaves read are those the user may
        read (per allowed companies), as plan_days does."""
        calendar = self.env["resource.calendar"].browse(calendar_id)
        start = utc.localize(datetime.combine(day, time.min))
        end = start + timedelta(days=EDD_WINDOW_DAYS)
        intervals = calendar._work_intervals_batch(start, end, compute_leaves=True)
        return tuple((begin, stop) for begin, stop, _meta in intervals[False])

    # ------------------------------------------------------------------
    # Carrier events (SOP step 6)
    # ------------------------------------------------------------------
    @api.model
    def _shipment_apply_carrier_events(self, events, source, carrier=None):
        """Record carrier events and let the shipments follow them.

        :param list events: dicts with ``tracking_ref``, ``event_time`` (naive
            UTC datetime) and optionally ``state`` and ``incident_kind``
            (already mapped by the carrier's status table),
            ``carrier_status_code``, ``carrier_substatus_code``,
            ``carrier_status_text``, ``location``, ``carrier_event_id``,
            ``expected_delivery_date``, ``pod_signed_by``,
            ``pod_signature_url``, ``pod_photo_url``, ``pickup_location``,
            ``pickup_deadline`` (naive UTC), ``next_tracking_refs`` (numbers
            the shipment continues under, e.g. with another carrier after a
            hand-over: added to the shipment's tracking numbers), and
            ``index`` (the caller's position of the event, echoed in
            ``rejected``).
        :param str source: ``webhook``, ``poll`` or ``manual``.
        :param carrier: the carrier that sent the events: tracking numbers are
            looked up among its shipments only (among ``self`` too when
            ``self`` is not empty, as when polling a batch), each number
            reaching one shipment (``_shipment_by_name``), and its events are
            held to the time bounds of
            ``shipment.tracking.event._get_time_bound_error`` (events recorded
            without a carrier, e.g. by an import, are not).
        :return: dict with ``created`` (new events), ``duplicates`` (count),
            ``unknown`` (tracking numbers no shipment has) and ``rejected``
            (``{"index", "tracking_number", "reason"}`` of refused events)
        """
        # sudo: carriers are not users; the caller authenticated the carrier.
        return (
            self.env["shipment.tracking.event"]
            .sudo()
            ._apply_carrier_events(events, source, carrier=carrier, pickings=self)
        )

    def _shipment_fetch_with_internal(self):
        """Fetch these deliveries' prefetched fields, Odoo's and the suite's
        internal ones (``INTERNAL_PREFETCH``), in one statement: for the
        system flows that read both for a batch of deliveries (carrier
        events, customer updates, the notification cron)."""
        # sudo: fills the transaction's cache only (shared by every
        # environment); a user's reads of hidden fields are still refused.
        self.sudo().fetch(
            [
                fname
                for fname, field in self._fields.items()
                if field.prefetch in (True, INTERNAL_PREFETCH)
            ]
        )

    # ------------------------------------------------------------------
    # Connector API: bookings
    # ------------------------------------------------------------------
    def _shipment_record_booking(self, numbers, expected_delivery_date=None):
        """Record what the carrier's booking of this delivery returned.

        Connectors call this from ``<delivery_type>_send_shipping`` instead of
        writing the core's records themselves.

        :param list numbers: ``(tracking_number, package)`` pairs, one per
            parcel; ``package`` is the ``stock.quant.package`` the number is
            for, or an empty recordset / False for the delivery itself.
            Numbers the delivery already has are skipped.
        :param expected_delivery_date: the carrier's estimate (``date``),
            if it gave one.
        """
        self.ensure_one()
        # sudo: booking results are system bookkeeping written on behalf of
        # the validating user, whose right to book was checked by the caller.
        picking_sudo = self.sudo()
        known = set(picking_sudo.tracking_number_ids.mapped("name"))
        vals_list = []
        for number, package in numbers:
            name = (number or "").strip()
            if name and name not in known:
                known.add(name)
                vals_list.append(
                    {
                        "name": name,
                        "picking_id": self.id,
                        "package_id": package.id if package else False,
                    }
                )
        self.env["shipment.tracking.number"].sudo().create(vals_list)
        if expected_delivery_date:
            picking_sudo.write({"expected_delivery_date": expected_delivery_date})

    def _shipment_forget_booking(self):
        """The carrier confirmed the cancellation of these deliveries'
        bookings: their parcel tracking numbers go (hand-over ones too).
        Connectors call this from ``<delivery_type>_cancel_shipment``."""
        # sudo: system bookkeeping after the carrier confirmed the cancel; the
        # caller checked the user's right to cancel.
        self.sudo().tracking_number_ids.unlink()

    @api.model
    def _shipment_write_carrier_updates(self, updates):
        """Write what carrier events changed on their deliveries and log it,
        for a whole batch: ``updates`` is ``{picking id: (vals, note)}``,
        ``note`` the text of the status change (or False).

        Each delivery gets one chatter entry: the note with the changes of its
        tracked fields (status old -> new, estimate, ...) as tracking values,
        instead of a note and a separate tracking message; a delivery with
        changes and no note gets the tracking values alone, as the standard
        tracking would log them. The entries are internal logs (no
        notification: nobody is told of a system note) created together,
        and the statuses are written once per status: the statements do not
        grow with the number of deliveries. The caller disabling tracking
        (``tracking_disable``, ``mail_notrack``) gets the notes only.

        stock.picking has no tracking subtype or template: its tracking is
        a log, as here."""
        if not updates:
            return
        ctx = self.env.context
        track = not (ctx.get("tracking_disable") or ctx.get("mail_notrack"))
        # force: a carrier update whose transitions the caller checked.
        pickings = self.browse(list(updates)).with_context(
            mail_notrack=True, shipment_tracking_force_state=True
        )
        fnames = pickings._track_get_fields() if track else set()
        initial = {picking.id: {f: picking[f] for f in fnames} for picking in pickings}
        statuses = {}
        for picking in pickings:
            vals = dict(updates[picking.id][0])
            state = vals.pop("shipment_state", None)
            if vals:
                picking.write(vals)
            if state:
                statuses.setdefault(state, []).append(picking.id)
        # Last and once per status: what follows a status (delivery_state's
        # fields, see its glue) is then worked out for all of them at once.
        for state, ids in statuses.items():
            pickings.browse(ids).write({"shipment_state": state})
        described = None
        bodies, tracking = {}, {}
        for picking in pickings:
            note = updates[picking.id][1]
            values = []
            # Most updates change no tracked field (a scan in transit): no
            # field descriptions to build for them.
            if any(
                value_changed(old, picking[fname])
                for fname, old in initial[picking.id].items()
            ):
                if described is None:
                    described = pickings.fields_get(
                        fnames,
                        attributes=("string", "type", "selection", "currency_field"),
                    )
                values = picking._mail_track(described, initial[picking.id])[1]
            if note or values:
                bodies[picking.id] = note or ""
                tracking[picking.id] = values
        if not bodies:
            return
        messages = self.browse(list(bodies))._message_log_batch(bodies)
        # sudo: tracking values are system records (as mail.thread writes them
        # for tracked fields); they belong to the messages just logged.
        # The messages come in the order of the deliveries logged (reading
        # their res_id would fetch them again).
        self.env["mail.tracking.value"].sudo().create(
            [
                dict(command[2], mail_message_id=message.id)
                for message, picking_id in zip(messages, bodies, strict=True)
                for command in tracking[picking_id]
            ]
        )

    def _shipment_on_status(self, state, monitor=False):
        """Queue the customer update ``state`` calls for on these deliveries
        (which just took it), and let the incident monitor react at once
        (always on ``monitor``: those of them with incident news, or all of
        them when True)."""
        # sudo: the update queue is system-maintained.
        Notification = self.env["shipment.tracking.notification"].sudo()
        if state in ("out_for_delivery", "available_for_pickup", "delivered"):
            Notification._enqueue_many(self, state, f"state:{state}")
        if monitor is True or state in (
            "exception",
            "returned",
            "delivered",
            "in_transit",
            "available_for_pickup",
        ):
            monitor = self
        if monitor:
            Incident = self.env["shipment.tracking.incident"]
            now = fields.Datetime.now()
            for picking in monitor:
                Incident._monitor(picking, now)

    # ------------------------------------------------------------------
    # Expiry (the tracking numbers poll, see shipment.tracking.number)
    # ------------------------------------------------------------------
    def _shipment_expire_if_silent(self, now):
        """No news from the carrier for its ``shipment_expire_days``: the
        shipment is expired and no longer polled."""

        def silent(picking):
            days = picking.carrier_id.shipment_expire_days
            last = picking.shipment_last_event_date or picking.shipment_date
            return bool(
                days
                and last
                and picking.shipment_state not in CLOSED_SHIPMENT_STATES
                and last <= fields.Datetime.subtract(now, days=days)
            )

        expired = self.filtered(silent)
        # One chatter entry each: the note with the status change.
        self._shipment_write_carrier_updates(
            {
                picking.id: (
                    {"shipment_state": "expired"},
                    _(
                        "No news from the carrier for %(days)s days: the shipment "
                        "is marked expired and no longer polled.",
                        days=picking.carrier_id.shipment_expire_days,
                    ),
                )
                for picking in expired
            }
        )

    @api.model
    def _shipment_plain_note(self, text):
        """Carrier or customer text as an HTML note showing it verbatim:
        escaped, so no markup of theirs (links, images) becomes live."""
        return Markup("<p>%s</p>") % (text or "")

    # ------------------------------------------------------------------
    # Customer inquiries (portal questions)
    # ------------------------------------------------------------------
    def _message_post_after_hook(self, message, msg_vals):
        res = super()._message_post_after_hook(message, msg_vals)
        if self.is_shipment and message.message_type == "comment":
            if self._shipment_is_customer_author(message.author_id):
                self._shipment_customer_asked(message)
            # sudo: the flag is internal (groups=), whoever posts may clear it.
            elif self.sudo().shipment_inquiry_date and not (
                message.is_internal or message.subtype_id.internal
            ):
                # sudo: an internal answer closes the question.
                self.sudo().shipment_inquiry_date = False
        return res

    def _shipment_is_customer_author(self, partner):
        if not partner:
            return False
        users = partner.user_ids
        if users and not all(users.mapped("share")):
            return False
        commercial = self.partner_id.commercial_partner_id
        return partner.commercial_partner_id == commercial or bool(users)

    def _shipment_customer_asked(self, message):
        """A customer's question: flag it for Customer Service and give its
        salesperson a to-do, once per open question."""
        # sudo: the customer cannot read or write the flag, it is ours.
        picking_sudo = self.sudo()
        if picking_sudo.shipment_inquiry_date:
            return
        picking_sudo.shipment_inquiry_date = fields.Datetime.now()
        # The answer (a message to followers) must reach whoever asked.
        picking_sudo.message_subscribe(partner_ids=message.author_id.ids)
        user = self.sale_id.user_id or self.company_id.shipment_incident_user_id
        if user:
            # The salesperson's email waits in Odoo's mail queue, not in the
            # customer's request.
            picking_sudo.with_context(mail_notify_force_send=False).activity_schedule(
                "mail.mail_activity_data_todo",
                summary=_("Customer question on %(name)s", name=self.name),
                note=self._shipment_plain_note(message.preview),
                user_id=user.id,
            )

    def _get_shipment_notification_partner(self):
        """Delivery address when it has an email, else the order's customer."""
        self.ensure_one()
        if self.partner_id.email:
            return self.partner_id
        customer = self.sale_id.partner_id
        if customer.email:
            return customer
        return self.env["res.partner"]

    def _get_shipment_local_date(self):
        """The shipment date as the customer sees it (their time zone, else the
        company's)."""
        self.ensure_one()
        if not self.shipment_date:
            return False
        return fields.Datetime.context_timestamp(
            self.with_context(tz=self._get_shipment_customer_tz()), self.shipment_date
        ).date()

    def _get_shipment_customer_tz(self):
        """The customer's time zone, else the company's, else UTC."""
        self.ensure_one()
        partner = self._get_shipment_notification_partner() or self.partner_id
        return partner.tz or self.company_id.partner_id.tz or "UTC"

    def _get_shipment_pickup_point_short(self, limit=80):
        """The pickup point for a text message: the carrier's words (a free
        text of up to 1000 characters) cut at ``limit`` characters, links
        dropped, so an SMS stays short and carries no address the carrier
        chose to point at."""
        self.ensure_one()
        words = [
            word
            for word in (self.shipment_pickup_location or "").split()
            if "://" not in word and not word.lower().startswith("www.")
        ]
        text = " ".join(words)
        if len(text) > limit:
            text = text[: limit - 3].rstrip(" ,;") + "..."
        return text

    def _get_shipment_pickup_deadline_local(self):
        """Until when the pickup point keeps the parcel, as text in the
        customer's time zone and the current language (emails, SMS, portal)."""
        self.ensure_one()
        deadline = self.shipment_pickup_deadline
        if not deadline:
            return ""
        tz = self._get_shipment_customer_tz()
        local = fields.Datetime.context_timestamp(self.with_context(tz=tz), deadline)
        # The language's date, the time without seconds ("12/03/2026 6:00 PM"),
        # with plain spaces: CLDR's narrow no-break space would make an SMS
        # leave the GSM alphabet (twice the segments).
        time = format_time(self.env, deadline, tz=tz, time_format="short")
        return "{} {}".format(
            format_date(self.env, local.date()), " ".join(time.split())
        )

    def _get_shipment_order_ref(self):
        self.ensure_one()
        return self.sale_id.name or self.origin or self.name

    # ------------------------------------------------------------------
    # What the customer reads (portal page, emails): in the current
    # language and the customer's time zone
    # ------------------------------------------------------------------
    def _shipment_local(self, value):
        """A UTC datetime as an aware datetime in the customer's time zone."""
        return fields.Datetime.context_timestamp(
            self.with_context(tz=self._get_shipment_customer_tz()), value
        )

    def _shipment_today(self):
        return self._shipment_local(fields.Datetime.now()).date()

    def _shipment_format_day(self, day, with_year=False):
        """A day as the current language writes it in full, with its weekday
        ("Tuesday, December 1", "mardi 1 décembre", "Dienstag, 1. Dezember"):
        the language's full date, without the year unless ``with_year``."""
        locale = babel_locale_parse(get_lang(self.env).code)
        pattern = locale.date_formats["full"].pattern
        if not with_year:
            # "EEEE, MMMM d, y" -> "EEEE, MMMM d"; "EEEE, d 'de' MMMM 'de' y"
            # -> "EEEE, d 'de' MMMM". Languages that do not end with the
            # year keep it.
            short = re.sub(r"[\s,.]*(?:'[^']*'\s*)?y+\.?$", "", pattern)
            if short != pattern:
                pattern = short
        return babel_format_date(day, format=pattern, locale=locale)

    def _shipment_format_time(self, value, tz=None):
        """The time of a UTC datetime in the customer's time zone (``tz``
        when the caller has it), without seconds, with plain spaces
        ("2:32 PM", "14:32")."""
        time = format_time(
            self.env,
            value,
            tz=tz or self._get_shipment_customer_tz(),
            time_format="short",
        )
        return " ".join(time.split())

    def _shipment_day_offset(self, day):
        """How many days ``day`` is from the customer's today (-1 yesterday,
        0 today, 1 tomorrow). With ``shipment_tracking_absolute_dates`` in the
        context (emails, read later than they are sent), no day is today,
        tomorrow or yesterday: the headline names the day instead."""
        offset = (day - self._shipment_today()).days
        if (
            self.env.context.get("shipment_tracking_absolute_dates")
            and abs(offset) <= 1
        ):
            return 2 if offset >= 0 else -2
        return offset

    def _shipment_has_open_delay(self):
        self.ensure_one()
        # sudo: incidents are internal; only "a delay is open" reaches the
        # customer, never the incident's reason.
        return any(
            incident.is_open and incident.kind in DELAY_KINDS
            for incident in self.sudo().shipment_incident_ids
        )

    def _get_shipment_headline(self):
        """What the customer needs first, in one sentence and a date.

        :return: dict with ``title`` (the sentence), ``detail`` (what happens
            next, possibly empty) and ``tone`` (a Bootstrap colour: success,
            info, primary, warning, danger, secondary)
        """
        self.ensure_one()
        state = self.shipment_state
        if state in ("dispatched", "in_transit", "out_for_delivery") and (
            self.shipment_is_late or self._shipment_has_open_delay()
        ):
            return self._shipment_headline_delayed()
        return {
            "pending": self._shipment_headline_pending,
            "dispatched": self._shipment_headline_on_its_way,
            "in_transit": self._shipment_headline_on_its_way,
            "out_for_delivery": self._shipment_headline_out_for_delivery,
            "available_for_pickup": self._shipment_headline_pickup,
            "delivered": self._shipment_headline_delivered,
            "exception": self._shipment_headline_exception,
            "returned": self._shipment_headline_returned,
            "cancelled": self._shipment_headline_cancelled,
            "expired": self._shipment_headline_expired,
        }[state]()

    def _shipment_headline_ask(self):
        return self.env._("Questions? Write to us below and we will answer.")

    def _shipment_headline_pending(self):
        return {
            "title": self.env._("We are preparing your order"),
            "detail": self.env._("We will email you as soon as it ships."),
            "tone": "secondary",
        }

    def _shipment_headline_on_its_way(self):
        _ = self.env._
        edd = self.expected_delivery_date
        offset = self._shipment_day_offset(edd) if edd else None
        if offset == 0:
            title = _("Arriving today")
        elif offset == 1:
            title = _("Arriving tomorrow")
        elif edd:
            title = _("Arriving %(day)s", day=self._shipment_format_day(edd))
        else:
            title = _("On its way")
        shipped = self._get_shipment_local_date()
        # sudo: portal users cannot read carriers; only the name is shown.
        carrier = self.sudo().carrier_id
        detail = (
            _(
                "Shipped %(day)s with %(carrier)s.",
                day=self._shipment_format_day(shipped),
                carrier=carrier.name,
            )
            if shipped and carrier
            else ""
        )
        return {"title": title, "detail": detail, "tone": "primary"}

    def _shipment_headline_delayed(self):
        _ = self.env._
        edd = self.expected_delivery_date
        offset = self._shipment_day_offset(edd) if edd else -1
        if offset == 0:
            title = _("Delayed — new estimate today")
        elif offset == 1:
            title = _("Delayed — new estimate tomorrow")
        elif offset > 1:
            title = _(
                "Delayed — new estimate %(day)s", day=self._shipment_format_day(edd)
            )
        else:
            title = _("Delayed — we are following it up with the carrier")
        return {
            "title": title,
            "detail": self._shipment_headline_ask(),
            "tone": "warning",
        }

    def _shipment_headline_out_for_delivery(self):
        _ = self.env._
        last = self.shipment_last_event_date
        today_news = not last or not self._shipment_day_offset(
            self._shipment_local(last).date()
        )
        return {
            "title": _("Out for delivery today")
            if today_news
            else _("Out for delivery"),
            "detail": _("The carrier is bringing your parcel."),
            "tone": "primary",
        }

    def _shipment_headline_pickup(self):
        _ = self.env._
        detail = ""
        if self.shipment_pickup_deadline:
            detail = _(
                "Please collect it before %(deadline)s.",
                deadline=self._get_shipment_pickup_deadline_local(),
            )
        return {"title": _("Ready for pickup"), "detail": detail, "tone": "info"}

    def _shipment_headline_delivered(self):
        _ = self.env._
        when = self.shipment_delivered_date or self.shipment_last_event_date
        if not when:
            title = _("Delivered")
        else:
            local_day = self._shipment_local(when).date()
            time = self._shipment_format_time(when)
            offset = self._shipment_day_offset(local_day)
            if offset == 0:
                title = _("Delivered today at %(time)s", time=time)
            elif offset == -1:
                title = _("Delivered yesterday at %(time)s", time=time)
            else:
                title = _(
                    "Delivered %(day)s at %(time)s",
                    day=self._shipment_format_day(local_day),
                    time=time,
                )
        detail = (
            _("Received by %(name)s.", name=self.shipment_pod_signed_by)
            if self.shipment_pod_signed_by
            else ""
        )
        return {"title": title, "detail": detail, "tone": "success"}

    def _shipment_headline_exception(self):
        _ = self.env._
        return {
            "title": _("There is a problem with your parcel — we are on it"),
            "detail": " ".join(
                (
                    _(
                        "We are in touch with the carrier and will tell you what "
                        "happens next."
                    ),
                    self._shipment_headline_ask(),
                )
            ),
            "tone": "warning",
        }

    def _shipment_headline_returned(self):
        _ = self.env._
        return {
            "title": _("Your parcel is on its way back to us"),
            "detail": " ".join(
                (
                    _(
                        "The carrier could not deliver it. We will contact you to "
                        "arrange a new delivery or a refund."
                    ),
                    self._shipment_headline_ask(),
                )
            ),
            "tone": "danger",
        }

    def _shipment_headline_cancelled(self):
        return {
            "title": self.env._("This shipment was cancelled"),
            "detail": self._shipment_headline_ask(),
            "tone": "secondary",
        }

    def _shipment_headline_expired(self):
        _ = self.env._
        return {
            "title": _("No news from the carrier for a while"),
            "detail": " ".join(
                (_("We are checking with the carrier."), self._shipment_headline_ask())
            ),
            "tone": "warning",
        }

    def _get_shipment_progress(self):
        """The milestones of the parcel's journey, for a progress bar.

        Shipped, in transit, out for delivery (or ready for pickup), delivered;
        a problem or a return takes the place of the milestones it stops.

        :return: list of dicts with ``key``, ``label`` and ``status``
            (``done``, ``current`` or ``todo``) and ``tone`` (Bootstrap colour
            of a current step); empty for a cancelled shipment
        """
        self.ensure_one()
        _ = self.env._
        state = self.shipment_state
        if state == "cancelled":
            return []
        # sudo: the event states only say how far the parcel got.
        event_states = self.sudo().tracking_event_ids.mapped("state")
        pickup = state == "available_for_pickup" or (
            state != "out_for_delivery" and "available_for_pickup" in event_states
        )
        last_mile = (
            ("available_for_pickup", _("Ready for pickup"))
            if pickup
            else ("out_for_delivery", _("Out for delivery"))
        )
        steps = [
            ("dispatched", _("Shipped")),
            ("in_transit", _("In transit")),
            last_mile,
            ("delivered", _("Delivered")),
        ]
        keys = [key for key, _label in steps]
        tone = "primary"
        if state in ("exception", "returned", "expired"):
            reached = [
                keys.index(event_state)
                for event_state in event_states
                if event_state in keys[:-1]
            ]
            reached_index = max(reached, default=0)
            if state == "returned":
                steps = steps[: reached_index + 1] + [("returned", _("Returned"))]
                tone = "danger"
            else:
                problem = _("Problem") if state == "exception" else _("No news")
                steps = (
                    steps[: reached_index + 1]
                    + [(state, problem)]
                    + steps[reached_index + 1 :]
                )
                tone = "warning"
            current = reached_index + 1
        elif state == "pending":
            current = -1
        else:
            current = keys.index(state)
            if state == "delivered":
                tone = "success"
            elif self.shipment_is_late or self._shipment_has_open_delay():
                tone = "warning"
        return [
            {
                "key": key,
                "label": label,
                "status": "done"
                if index < current or (index == current and key == "delivered")
                else "current"
                if index == current
                else "todo",
                "tone": tone,
            }
            for index, (key, label) in enumerate(steps)
        ]

    def _get_shipment_progress_text(self):
        """The progress as one line of text, for emails and text messages:
        the steps reached, then the next one ("Shipped › In transit ›
        (Out for delivery)")."""
        parts = []
        for step in self._get_shipment_progress():
            if step["status"] == "todo":
                parts.append(f"({step['label']})")
                break
            parts.append(step["label"])
        return " › ".join(parts)

    def _get_shipment_timeline(self):
        """The carrier's events, newest first, grouped by day in the customer's
        time zone.

        An event whose carrier code maps to no status shows the carrier's own
        words (its text, else its code): a row is never blank.

        :return: list of ``{"day": date, "label": str, "events": [...]}``, each
            event a dict with ``time``, ``title``, ``text``, ``location``,
            ``state``
        """
        self.ensure_one()
        state_labels = dict(
            self.env["shipment.tracking.event"]
            ._fields["state"]
            ._description_selection(self.env)
        )
        groups = []
        # The time zone once per page, not per event (a long timeline).
        tz = self._get_shipment_customer_tz()
        local = self.with_context(tz=tz)
        # sudo: events are internal records; only the carrier's public words,
        # time, place and status are handed over.
        for event in self.sudo().tracking_event_ids.sorted(
            lambda e: (e.event_time, e.id), reverse=True
        ):
            day = fields.Datetime.context_timestamp(local, event.event_time).date()
            if not groups or groups[-1]["day"] != day:
                groups.append(
                    {
                        "day": day,
                        "label": self._shipment_format_day(day, with_year=True),
                        "events": [],
                    }
                )
            carrier_words = event.carrier_status_text or event.carrier_status_code
            title = state_labels.get(event.state) or carrier_words or ""
            groups[-1]["events"].append(
                {
                    "time": self._shipment_format_time(event.event_time, tz=tz),
                    "title": title,
                    "text": carrier_words if carrier_words != title else "",
                    "location": event.location or "",
                    "state": event.state or "",
                }
            )
        return groups

    # ------------------------------------------------------------------
    # Customer messages (SOP steps 4 and 6; sent by the outbox)
    # ------------------------------------------------------------------
    def _notify_get_recipients(self, message, msg_vals, **kwargs):
        recipients = super()._notify_get_recipients(message, msg_vals, **kwargs)
        if self.env.context.get("shipment_tracking_customer_only"):
            # A customer notification goes to the customer only, not to every
            # follower of the delivery (they see it in the chatter).
            customer_ids = set(
                (msg_vals or {}).get("partner_ids") or message.partner_ids.ids
            )
            recipients = [r for r in recipients if r["id"] in customer_ids]
        return recipients

    def action_shipment_resend_notification(self):
        """Customer Service: send the dispatch email again."""
        if not self.env.user.has_group(
            "sales_team.group_sale_salesman"
        ) and not self.env.user.has_group("stock.group_stock_manager"):
            raise AccessError(
                _("Only Customer Service or Logistics can resend notifications.")
            )
        self.check_access("read")
        not_dispatched = self.filtered(
            lambda p: not p.is_shipment or p.shipment_state == "pending"
        )
        if not_dispatched:
            raise UserError(
                _(
                    "%(pickings)s: not dispatched yet, there is nothing to resend.",
                    pickings=", ".join(not_dispatched.mapped("display_name")),
                )
            )
        # sudo: the outbox is system-maintained; access to the deliveries and
        # the role were checked above.
        Notification = self.env["shipment.tracking.notification"].sudo()
        for picking in self.sudo():
            update = picking._get_shipment_dispatch_update()
            if update:
                # The email still queued or failed goes no more: the new one
                # replaces it (never two for one click).
                mail = update._get_mail()
                if mail.state in ("outgoing", "exception"):
                    mail.cancel()
                update.write(update._prepare_channel_reset("email", fresh=True))
            else:
                # Queued before the company turned dispatch emails on, or
                # never: queue the email now (whatever the setting: a person
                # asked), and only the email.
                vals = Notification._prepare_values(picking, "dispatched", DISPATCH_KEY)
                vals.update(
                    {
                        f"{channel}_state": "disabled"
                        for channel in Notification._channels()
                        if channel != "email"
                    }
                )
                create_unique(Notification, vals)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": _("The dispatch notification will be sent again shortly."),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def action_shipment_view_messages(self):
        """The customer messages of this delivery, in the outbox list."""
        self.ensure_one()
        action = self.env["ir.actions.actions"]._for_xml_id(
            "shipment_tracking.shipment_tracking_notification_action"
        )
        action["domain"] = [("picking_id", "=", self.id)]
        action["context"] = {}  # all of them, not only the failed ones
        return action

    def action_shipment_open_update(self):
        self.ensure_one()
        action = self.env["ir.actions.actions"]._for_xml_id(
            "shipment_tracking.stock_picking_update_shipment_action"
        )
        action["context"] = {"default_picking_id": self.id}
        return action
