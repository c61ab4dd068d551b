# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import re
from urllib.parse import quote

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from ..tools import field_labels, guard_defaults

PLACEHOLDER = re.compile("<shipmenttrackingnumber>", re.IGNORECASE)
# Who may make a carrier do something, checked before any request leaves:
# booking happens when Warehouse Staff validate (core books in sudo then), a
# booking by hand ("Send to Shipper") is Logistics'; cancelling a booking is
# Logistics'; testing the connection is Logistics' or an administrator's.
CARRIER_CALL_GROUPS = {
    "book_on_validation": ("stock.group_stock_user",),
    "book": ("stock.group_stock_manager",),
    "cancel": ("stock.group_stock_manager",),
    "test": ("stock.group_stock_manager", "base.group_system"),
}


class DeliveryCarrier(models.Model):
    _inherit = "delivery.carrier"

    shipment_require_details = fields.Boolean(
        string="Require Shipment Details",
        default=True,
        help="Refuse to validate a delivery with this carrier (the Validate "
        "button) while its parcel dimensions, weight or contents are missing. "
        "On for new carriers; carriers that existed when the module was "
        "installed keep validating as before until it is turned on.",
    )
    shipment_transit_days = fields.Integer(
        string="Transit Days",
        default=3,
        help="Working days from shipment to delivery, used for the estimated "
        "delivery date when the carrier does not give one. 0: no estimate.",
    )

    shipment_expire_days = fields.Integer(
        string="Expire After (days)",
        default=30,
        help="A shipment with no carrier news for this many days becomes "
        "Expired and is no longer polled. 0: never.",
    )
    shipment_stalled_hours = fields.Integer(
        string="Stalled After (hours)",
        help="Overrides the company's threshold for this carrier (0: company's).",
    )
    shipment_out_for_delivery_hours = fields.Integer(
        string="Out for Delivery Limit (hours)",
        help="Overrides the company's threshold for this carrier (0: company's).",
    )
    shipment_late_after_days = fields.Integer(
        string="Late After (days)",
        help="Overrides the company's threshold for this carrier (-1 or less: "
        "company's; 0: the day after the estimate).",
        default=-1,
    )
    shipment_poll_error = fields.Char(
        string="Last Polling Error", readonly=True, copy=False
    )
    shipment_last_poll_date = fields.Datetime(
        string="Last Polled", readonly=True, copy=False
    )

    # ------------------------------------------------------------------
    # Guards
    # ------------------------------------------------------------------
    def _shipment_system_fields(self):
        """Carrier fields only the system (the poller) writes."""
        return {"shipment_poll_error", "shipment_last_poll_date"}

    def _shipment_check_write_access(self, vals):
        if self.env.su:
            return
        system = set(vals) & self._shipment_system_fields()
        if system:
            raise AccessError(
                _(
                    "These carrier fields are maintained by the system and cannot "
                    "be changed by hand: %(fields)s.",
                    fields=field_labels(self, system),
                )
            )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._shipment_check_write_access(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._shipment_check_write_access(vals)
        return super().write(vals)

    def _add_missing_default_values(self, values):
        """System fields take nothing from default values that a user could
        not write (see ``guard_defaults``)."""
        return guard_defaults(
            self,
            values,
            super()._add_missing_default_values(values),
            self._shipment_system_fields(),
        )

    def _shipment_check_carrier_call(self, operation):
        """Raise AccessError unless the real user (also under sudo) may
        ``operation`` ('book', 'cancel', 'test'). Call it before any request
        leaves.

        Booking: core books in sudo when a delivery is validated (stock_delivery
        ``_send_confirmation_email``), on the validating Warehouse user's
        behalf; a booking asked without sudo ("Send to Shipper", RPC) is a
        manual one, for Logistics."""
        user = self.env.user
        if operation == "book" and self.env.su:
            operation = "book_on_validation"
        if user._is_superuser() or any(
            user.has_group(group) for group in CARRIER_CALL_GROUPS[operation]
        ):
            return
        messages = {
            "book_on_validation": _(
                "Only warehouse staff may book shipments with a carrier."
            ),
            "book": _(
                "Only the Logistics team (Inventory / Administrator) may send a "
                "delivery to the carrier by hand; warehouse staff book by "
                "validating it."
            ),
            "cancel": _(
                "Only the Logistics team (Inventory / Administrator) may cancel "
                "a shipment at the carrier."
            ),
            "test": _(
                "Only the Logistics team or an administrator may test the "
                "carrier connection."
            ),
        }
        raise AccessError(messages[operation])

    def _shipment_check_records(self, records, model):
        """The carrier methods take records; over RPC they get ids or junk:
        refuse it cleanly before any request instead of an AttributeError."""
        if not isinstance(records, models.BaseModel) or records._name != model:
            raise UserError(
                _(
                    "This carrier operation needs records of %(model)s.",
                    model=self.env["ir.model"]._get(model).name or model,
                )
            )

    def _shipment_check_bookable(self, pickings):
        """Refuse, before any request, to book a cancelled delivery or one
        already booked: a second booking is paid for at the carrier. A
        delivery not validated yet may be booked, as Odoo allows (labels
        printed before the parcel leaves, other modules' flows); it is
        dispatched when it is validated."""
        self._shipment_check_records(pickings, "stock.picking")
        for picking in pickings:
            if picking.state == "cancel":
                raise UserError(
                    _(
                        "%(picking)s is cancelled: a cancelled delivery is not "
                        "sent to the carrier.",
                        picking=picking.display_name,
                    )
                )
            if picking._shipment_is_booked():
                raise UserError(
                    _(
                        "%(picking)s is already booked with the carrier: cancel "
                        "that booking first.",
                        picking=picking.display_name,
                    )
                )

    def send_shipping(self, pickings):
        self._shipment_check_carrier_call("book")
        self._shipment_check_bookable(pickings)
        return super().send_shipping(pickings)

    def cancel_shipment(self, pickings):
        self._shipment_check_carrier_call("cancel")
        self._shipment_check_records(pickings, "stock.picking")
        return super().cancel_shipment(pickings)

    @api.constrains("shipment_transit_days")
    def _check_shipment_transit_days(self):
        if any(carrier.shipment_transit_days < 0 for carrier in self):
            raise ValidationError(_("Transit days cannot be negative."))

    def _shipment_tracking_link(self, tracking_ref):
        """The carrier's tracking URL for ``tracking_ref``, number kept verbatim
        (exact case, URL-encoded); the placeholder may be in any case."""
        self.ensure_one()
        if not (self.tracking_url and tracking_ref):
            return False
        return PLACEHOLDER.sub(
            lambda _match: quote(tracking_ref.strip(), safe=""), self.tracking_url
        )

    def _shipment_can_poll(self):
        """Whether this carrier's connector answers batch tracking requests."""
        self.ensure_one()
        return hasattr(self, f"_{self.delivery_type}_get_tracking_batch")

    def _shipment_fetch_tracking(self, numbers):
        """Ask the carrier for the tracking of ``numbers`` (at most
        ``_shipment_poll_batch_size()``).

        Connectors implement ``_<delivery_type>_get_tracking_batch(numbers)``
        (private: it sends the carrier's credentials, not for RPC)
        returning ``{"events": [event dicts as _shipment_apply_carrier_events
        takes them], "not_found": [numbers]}`` and raising ``UserError`` when
        the carrier cannot be reached."""
        self.ensure_one()
        return getattr(self, f"_{self.delivery_type}_get_tracking_batch")(numbers)

    def _shipment_poll_batch_size(self):
        return 100

    def fixed_get_tracking_link(self, picking):
        return self._shipment_tracking_link(picking.carrier_tracking_ref)

    def base_on_rule_get_tracking_link(self, picking):
        return self._shipment_tracking_link(picking.carrier_tracking_ref)
