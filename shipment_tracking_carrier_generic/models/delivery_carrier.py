# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import base64
import logging
from urllib.parse import quote

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from .generic_rate_limiter import MAX_RATE, MIN_RATE, GenericRateLimiter, create_table
from .generic_request import GenericCarrierClient, GenericCarrierError
from .tracking_formats import PayloadError, default_status_rows, tracking_batch

_logger = logging.getLogger(__name__)

# Where the API key is sent: administrators alone move it once a key is set.
GENERIC_ENDPOINT_FIELDS = frozenset({"generic_base_url"})
# The secrets: administrators' alone, never from a context or user default.
GENERIC_SECRET_FIELDS = frozenset({"generic_api_key", "generic_webhook_secret"})
# Bounds of the connection settings: a request, its retries and their waits
# must end well within a worker's time limit (cron, validation).
GENERIC_MAX_RETRIES = 10
GENERIC_MAX_BACKOFF = 60.0
GENERIC_TIMEOUT_RANGE = (1.0, 120.0)


class DeliveryCarrier(models.Model):
    _inherit = "delivery.carrier"

    delivery_type = fields.Selection(
        selection_add=[("generic", "Generic HTTP Carrier")],
        ondelete={"generic": lambda recs: recs.write({"delivery_type": "fixed"})},
    )
    generic_base_url = fields.Char(
        string="API Base URL",
        help="e.g. https://api.carrier.example. Every request carries the API "
        "key: only administrators may change it.",
    )
    generic_api_key = fields.Char(
        string="API Key", groups="base.group_system", copy=False
    )
    generic_webhook_secret = fields.Char(
        string="Webhook Secret",
        groups="base.group_system",
        copy=False,
        help="Shared secret of the webhook signatures. Without it every webhook "
        "is refused.",
    )
    generic_webhook_format = fields.Selection(
        [
            ("generic", "Shipment Tracking protocol"),
            ("easypost", "EasyPost tracker webhooks"),
            ("aftership", "AfterShip tracking webhooks"),
        ],
        string="Webhook Format",
        default="generic",
        required=True,
    )
    generic_webhook_url = fields.Char(
        string="Webhook URL", compute="_compute_generic_webhook_url"
    )
    generic_timeout = fields.Float(string="Timeout (s)", default=10.0)
    generic_max_retries = fields.Integer(string="Retries", default=3)
    generic_retry_backoff = fields.Float(
        string="Retry Backoff (s)",
        default=0.5,
        help="First wait before a retry; doubles at each attempt.",
    )
    generic_rate_limit = fields.Float(
        string="Requests per Second",
        default=5.0,
        help="The carrier's rate limit: 0 for none, else from 0.0167 (one "
        "request a minute) to 1000.",
    )
    generic_status_map_ids = fields.One2many(
        "shipment.tracking.status.map", "carrier_id", string="Status Mapping"
    )

    def init(self):
        res = super().init()
        create_table(self.env.cr)
        return res

    def _compute_generic_webhook_url(self):
        # sudo: the public base URL is not a secret.
        base = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "")
        for carrier in self:
            carrier.generic_webhook_url = (
                f"{base}/shipment_tracking/webhook/{carrier.id}"
                if carrier.id
                else False
            )

    def _generic_check_endpoint_access(self, vals):
        """The API key goes wherever the base URL points: once a carrier has
        a key, only administrators (and the sudo'ed system, e.g. data files)
        move its endpoint. A carrier without a key sends nothing secret, and
        only administrators can give it one (``groups`` on the key)."""
        changed = set(vals) & GENERIC_ENDPOINT_FIELDS
        if not changed or self.env.su or self.env.user.has_group("base.group_system"):
            return
        # sudo: only whether a key is set is read, never the key itself.
        keyed = self.sudo().filtered("generic_api_key")
        if any(carrier[name] != vals[name] for carrier in keyed for name in changed):
            raise AccessError(
                _(
                    "Only administrators may change the API base URL of a carrier "
                    "that has an API key: the key is sent there."
                )
            )

    @api.constrains(
        "generic_timeout",
        "generic_max_retries",
        "generic_retry_backoff",
        "generic_rate_limit",
    )
    def _check_generic_connection_settings(self):
        low, high = GENERIC_TIMEOUT_RANGE
        for carrier in self:
            if not low <= carrier.generic_timeout <= high:
                raise ValidationError(
                    _(
                        "%(carrier)s: the timeout must be between %(low)s and "
                        "%(high)s seconds.",
                        carrier=carrier.name,
                        low=int(low),
                        high=int(high),
                    )
                )
            if not 0 <= carrier.generic_max_retries <= GENERIC_MAX_RETRIES:
                raise ValidationError(
                    _(
                        "%(carrier)s: the number of retries must be between 0 "
                        "and %(max)s.",
                        carrier=carrier.name,
                        max=GENERIC_MAX_RETRIES,
                    )
                )
            if not 0 <= carrier.generic_retry_backoff <= GENERIC_MAX_BACKOFF:
                raise ValidationError(
                    _(
                        "%(carrier)s: the retry backoff must be between 0 and "
                        "%(max)s seconds.",
                        carrier=carrier.name,
                        max=int(GENERIC_MAX_BACKOFF),
                    )
                )
            rate = carrier.generic_rate_limit
            # Within a float's rounding of 1/60, as typed (0.0167) or stored.
            if rate and not MIN_RATE - 1e-9 <= rate <= MAX_RATE:
                low = f"{MIN_RATE:.4f}"
                raise ValidationError(
                    _(
                        "%(carrier)s: the rate limit must be 0 (no limit) or "
                        "between %(low)s (one request a minute) and %(high)s "
                        "requests per second.",
                        carrier=carrier.name,
                        low=low,
                        high=int(MAX_RATE),
                    )
                )

    def _add_missing_default_values(self, values):
        """A ``default_*`` context key or a user default (``ir.default``)
        neither gives a carrier secrets nor points a keyed carrier elsewhere:
        both are the administrators' (see _generic_check_endpoint_access)."""
        defaults = super()._add_missing_default_values(values)
        if self.env.su or self.env.user.has_group("base.group_system"):
            return defaults
        from_defaults = {
            name
            for name in GENERIC_SECRET_FIELDS | GENERIC_ENDPOINT_FIELDS
            if name not in values and defaults.get(name)
        }
        secrets = from_defaults & GENERIC_SECRET_FIELDS
        keyed = defaults.get("generic_api_key")
        if secrets or (keyed and from_defaults & GENERIC_ENDPOINT_FIELDS):
            raise AccessError(
                _(
                    "Only administrators may set the API key, the webhook secret "
                    "or the API base URL of a carrier that has an API key."
                )
            )
        return defaults

    @api.model_create_multi
    def create(self, vals_list):
        carriers = super().create(vals_list)
        carriers.filtered(
            lambda c: c.delivery_type == "generic"
        )._generic_fill_status_map()
        return carriers

    def write(self, vals):
        self._generic_check_endpoint_access(vals)
        res = super().write(vals)
        if vals.get("delivery_type") == "generic" or "generic_webhook_format" in vals:
            self.filtered(
                lambda c: c.delivery_type == "generic"
            )._generic_fill_status_map()
        return res

    def _generic_fill_status_map(self):
        """Add the default rows of the webhook format's codes and sub-statuses
        the table lacks: rows the user changed, added or kept are left as
        they are (also on upgrade, see migrations/18.0.1.2.0)."""
        # sudo: default rows follow the carrier whoever configures it.
        Map = self.env["shipment.tracking.status.map"].sudo()
        for carrier in self:
            # sudo: rows hidden from this user still count as known.
            known = {
                (row.code, row.subcode or "")
                for row in carrier.sudo().generic_status_map_ids
            }
            Map.create(
                [
                    {
                        "carrier_id": carrier.id,
                        "code": code,
                        "subcode": subcode or False,
                        "state": state or False,
                        "incident_kind": kind or False,
                    }
                    for (code, subcode), (state, kind) in default_status_rows(
                        carrier.generic_webhook_format
                    ).items()
                    if (code, subcode) not in known
                ]
            )

    # -- the adapter ------------------------------------------------------------
    def _generic_client(self):
        """A client of this carrier: cheap, its HTTP session is the process's
        one for these settings; the rate limit holds across the database's
        processes."""
        self.ensure_one()
        # sudo: the API key is readable by administrators only; the connector
        # uses it on behalf of whoever validates or polls.
        carrier_sudo = self.sudo()
        return GenericCarrierClient(
            carrier_sudo.generic_base_url,
            carrier_sudo.generic_api_key,
            timeout=carrier_sudo.generic_timeout or 10.0,
            max_retries=carrier_sudo.generic_max_retries,
            backoff=carrier_sudo.generic_retry_backoff,
            rate_limit=carrier_sudo.generic_rate_limit,
            log=self._generic_debug_log if self.debug_logging else None,
            limiter=GenericRateLimiter.for_database(self.env.cr.dbname),
        )

    def _generic_debug_log(self, kind, what, data):
        self.log_xml(f"{what}\n{data}", kind)

    def _generic_call(self, method, *args):
        try:
            return getattr(self._generic_client(), method)(*args)
        except GenericCarrierError as error:
            raise UserError(
                _("%(carrier)s: %(error)s", carrier=self.name, error=error)
            ) from error

    def action_generic_test_connection(self):
        self.ensure_one()
        self._shipment_check_carrier_call("test")
        answer = self._generic_call("ping")
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "title": _("Connection works"),
                "message": _(
                    "%(carrier)s answered: %(name)s",
                    carrier=self.name,
                    name=answer.get("carrier") or "ok",
                ),
            },
        }

    # -- payloads ---------------------------------------------------------------
    def _generic_prepare_address(self, partner):
        return {
            "name": partner.name or "",
            "street": partner.street or "",
            "street2": partner.street2 or "",
            "city": partner.city or "",
            "zip": partner.zip or "",
            "state": partner.state_id.code or "",
            "country_code": partner.country_id.code or "",
            "email": partner.email or "",
            "phone": partner.mobile or partner.phone or "",
        }

    def _generic_prepare_parcels(self, picking):
        units = {
            "dimension_unit": picking.shipment_length_uom_name or "cm",
            "weight_unit": picking.weight_uom_name or "kg",
        }
        packages, loose = picking._get_shipment_parcels()
        parcels = [
            {
                "reference": package.name,
                "length": package.shipment_length,
                "width": package.shipment_width,
                "height": package.shipment_height,
                "weight": package.shipping_weight
                or package.with_context(picking_id=picking.id).weight,
                "contents": picking.shipment_contents or "",
                **units,
            }
            for package in packages
        ]
        if loose:
            parcels.append(
                {
                    "reference": picking.name,
                    "length": picking.shipment_length,
                    "width": picking.shipment_width,
                    "height": picking.shipment_height,
                    "weight": picking.weight_bulk or picking.shipping_weight,
                    "contents": picking.shipment_contents or "",
                    **units,
                }
            )
        return parcels

    def _generic_prepare_shipment(self, picking):
        return {
            "reference": picking.name,
            "shipment_ref": picking.shipment_ref or "",
            "service": "standard",
            "ship_from": self._generic_prepare_address(
                picking.picking_type_id.warehouse_id.partner_id
                or picking.company_id.partner_id
            ),
            "ship_to": self._generic_prepare_address(picking.partner_id),
            "parcels": self._generic_prepare_parcels(picking),
        }

    # -- Odoo's carrier interface ---------------------------------------------
    def generic_rate_shipment(self, order):
        # Public by core's naming: over RPC ``order`` is no record.
        self._shipment_check_records(order, "sale.order")
        weight = order._get_estimated_weight() or 1.0
        payload = {
            "reference": order.name,
            "ship_to": self._generic_prepare_address(order.partner_shipping_id),
            "parcels": [
                {
                    "reference": order.name,
                    "length": 1,
                    "width": 1,
                    "height": 1,
                    "weight": weight,
                }
            ],
        }
        try:
            answer = self._generic_client().rate(payload)
        except GenericCarrierError as error:
            return {
                "success": False,
                "price": 0.0,
                "error_message": str(error),
                "warning_message": False,
            }
        return {
            "success": True,
            "price": float(answer.get("price") or 0.0),
            "error_message": False,
            "warning_message": False,
        }

    def generic_send_shipping(self, pickings):
        # Also here: the method is public, callable without send_shipping().
        self._shipment_check_carrier_call("book")
        self._shipment_check_bookable(pickings)
        results = []
        for picking in pickings:
            answer = self._generic_call(
                "create_shipment", self._generic_prepare_shipment(picking)
            )
            self._generic_store_booking(picking, answer)
            results.append(
                {
                    "exact_price": float(answer.get("price") or 0.0),
                    "tracking_number": ",".join(answer.get("tracking_numbers") or []),
                }
            )
        return results

    def _generic_store_booking(self, picking, answer):
        """Per-parcel tracking numbers, the carrier's EDD and the label."""
        packages = {
            package.name: package for package in picking._get_shipment_parcels()[0]
        }
        edd = answer.get("estimated_delivery_date")
        picking._shipment_record_booking(
            [
                (parcel["tracking_number"], packages.get(parcel.get("reference")))
                for parcel in answer.get("parcels") or []
                if parcel.get("tracking_number")
            ],
            expected_delivery_date=edd and fields.Date.to_date(edd[:10]),
        )
        # sudo: the connector's own booking id, written on the validating
        # user's behalf.
        picking.sudo().generic_shipment_id = answer.get("shipment_id")
        label = answer.get("label") or {}
        if label.get("content_base64"):
            picking.message_post(
                body=_("Shipping label from %(carrier)s", carrier=self.name),
                attachments=[
                    (
                        f"{self._get_delivery_label_prefix()}-{picking.name}.pdf",
                        base64.b64decode(label["content_base64"]),
                    )
                ],
            )

    def generic_get_tracking_link(self, picking):
        number = (picking.carrier_tracking_ref or "").split(",")[0].strip()
        return self._shipment_tracking_link(number)

    def _shipment_tracking_link(self, tracking_ref):
        # Without a tracking URL template, the carrier's own public page.
        if self.delivery_type == "generic" and not self.tracking_url:
            if not tracking_ref or not self.generic_base_url:
                return False
            base = self.generic_base_url.rstrip("/")
            return f"{base}/track/{quote(tracking_ref.strip(), safe='')}"
        return super()._shipment_tracking_link(tracking_ref)

    def generic_cancel_shipment(self, pickings):
        # Also here: the method is public, callable without cancel_shipment().
        self._shipment_check_carrier_call("cancel")
        self._shipment_check_records(pickings, "stock.picking")
        for picking in pickings:
            if picking.generic_shipment_id:
                self._generic_call("cancel_shipment", picking.generic_shipment_id)
            # sudo: system bookkeeping after the carrier confirmed the cancel.
            picking.sudo().generic_shipment_id = False
            picking._shipment_forget_booking()

    # -- tracking ---------------------------------------------------------------
    def _generic_map_events(self, events):
        """Normalise the carrier's codes with the status table: the row of
        the event's code and sub-status, else the code's row without one,
        gives ``state`` and ``incident_kind``; unknown codes are kept as
        events without a status. A pickup status without a pickup point
        takes the event's location as one."""
        StatusMap = self.env["shipment.tracking.status.map"]
        rows = {}
        for carrier in self:
            rows.update(StatusMap._generic_rows_of(carrier.id))
        unmapped = (False, False)
        for event in events:
            code = event["carrier_status_code"]
            event["state"], event["incident_kind"] = (
                rows.get((code, event.get("carrier_substatus_code") or ""))
                or rows.get((code, ""))
                or unmapped
            )
            if event["state"] == "available_for_pickup" and not event.get(
                "pickup_location"
            ):
                event["pickup_location"] = event.get("location") or False
        return events

    def _generic_get_tracking_batch(self, numbers):
        answer = self._generic_call("tracking_batch", numbers)
        try:
            events, rejected, not_found = tracking_batch(answer)
        except PayloadError as error:
            raise UserError(
                _(
                    "%(carrier)s sent unusable tracking: %(error)s",
                    carrier=self.name,
                    error=error,
                )
            ) from error
        if rejected:
            _logger.warning(
                "%s: %s tracking event(s) ignored: %s",
                self.name,
                len(rejected),
                "; ".join(item["reason"] for item in rejected[:5]),
            )
        return {"events": self._generic_map_events(events), "not_found": not_found}
