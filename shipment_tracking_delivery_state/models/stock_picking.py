# Copyright 2026 Shipment Tracking Contributors
# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
import logging
from collections import defaultdict

from odoo import fields, models
from odoo.exceptions import AccessError

from odoo.addons.shipment_tracking.tools import create_unique, field_labels

_logger = logging.getLogger(__name__)

# Our shipment status -> delivery_state's carrier state. "pending" (not handed
# to the carrier yet) has no counterpart and leaves delivery_state alone.
# Returns count as incidents, as OCA's own connectors map a carrier's return
# (delivery_cttexpress: DEVOLUCION, RETORNADO); a parcel waiting at a pickup
# point is still on its way (delivery_cttexpress: RECOGERAN EN AGENCIA).
DELIVERY_STATE_MAP = {
    "dispatched": "shipping_recorded_in_carrier",
    "in_transit": "in_transit",
    "out_for_delivery": "in_transit",
    "available_for_pickup": "in_transit",
    "delivered": "customer_delivered",
    "exception": "incident",
    "returned": "incident",
    "cancelled": "canceled_shipment",
    "expired": "no_update",
}
# delivery_state's fields that follow our status on a shipment.
DELIVERY_STATE_FIELDS = frozenset(
    {"delivery_state", "date_shipped", "date_delivered", "tracking_state"}
)
# Writes of these fields may change what delivery_state shows.
SYNC_TRIGGERS = frozenset(
    {"shipment_state", "shipment_date", "shipment_delivered_date"}
)
DELIVERED_TEMPLATE = "shipment_tracking.mail_template_shipment_delivered"
# The key of the "delivered" customer update in shipment_tracking's queue.
DELIVERED_KEY = "state:delivered"


class StockPicking(models.Model):
    _inherit = "stock.picking"

    # delivery_state's label is shipment_tracking's "Shipment Date" too: one
    # label per field, so filters, exports and imports tell them apart.
    date_shipped = fields.Date(string="Shipped On (Carrier State)")

    def write(self, vals):
        """delivery_state's fields follow our shipment status, in the same
        write (one UPDATE per group of deliveries taking the same values)."""
        self._delivery_state_check_write_access(vals)
        if not SYNC_TRIGGERS & set(vals):
            return super().write(vals)
        groups = self._delivery_state_sync_groups(vals)
        if not any(groups):
            return super().write(vals)
        for extra, pickings in groups.items():
            # The key tells delivery_state's delivered email where it comes from.
            records = (
                pickings.with_context(shipment_tracking_delivery_state_sync=True)
                if extra
                else pickings
            )
            super(StockPicking, records).write(dict(vals, **dict(extra)))
        return True

    def _delivery_state_check_write_access(self, vals):
        """On a shipment, delivery_state's fields follow our status: written
        by hand they would tell the customer "delivered" (delivery_state's
        email) and settle our delivered update before the carrier says so.
        The system (sudo: carrier events) and Logistics (who may override a
        shipment status anyway; delivery_state's cron and connectors run as
        such a user) write them; Warehouse Staff and Customer Service do not."""
        fnames = set(vals) & DELIVERY_STATE_FIELDS
        if (
            not fnames
            or self.env.su
            or self.env.user.has_group("stock.group_stock_manager")
            or not self.filtered("is_shipment")
        ):
            return
        raise AccessError(
            self.env._(
                "These fields follow the shipment status: only the Logistics "
                "team (Inventory / Administrator) changes them by hand on a "
                "shipment: %(fields)s.",
                fields=field_labels(self, fnames),
            )
        )

    def _delivery_state_sync_groups(self, vals):
        """``{frozenset of delivery_state values: pickings}`` for ``vals``
        written on ``self``; only values that change are in a key."""
        target = None
        if "shipment_state" in vals:
            target = DELIVERY_STATE_MAP.get(vals["shipment_state"])
            if target not in self._fields["delivery_state"].get_values(self.env):
                target = None
        # The carrier's last words only travel with a status delivery_state
        # shows (not for "pending").
        texts = self._delivery_state_last_carrier_texts() if target else {}
        groups = defaultdict(self.browse)
        for picking in self:
            extra = {}
            if target and picking.delivery_state != target:
                extra["delivery_state"] = target
            shipped = fields.Datetime.to_datetime(
                vals.get("shipment_date", picking.shipment_date)
            )
            # A date as delivery_state writes it on booking (the server's day).
            if shipped and picking.date_shipped != shipped.date():
                extra["date_shipped"] = shipped.date()
            delivered = fields.Datetime.to_datetime(
                vals.get("shipment_delivered_date", picking.shipment_delivered_date)
            )
            if delivered and picking.date_delivered != delivered:
                extra["date_delivered"] = delivered
            text = texts.get(picking.id)
            if text and text != picking.tracking_state:
                extra["tracking_state"] = text
            groups[frozenset(extra.items())] |= picking
        return groups

    def _delivery_state_last_carrier_texts(self):
        """``{picking id: what the carrier said last}`` (its newest event's
        description, else its status code), in one query."""
        # sudo: carrier events are internal records; only their text is
        # copied onto the delivery, where delivery_state shows it.
        events = (
            self.env["shipment.tracking.event"]
            .sudo()
            .search_fetch(
                [("picking_id", "in", self.ids)],
                ["picking_id", "carrier_status_text", "carrier_status_code"],
                order="event_time desc, id desc",
            )
        )
        texts = {}
        for event in events:
            texts.setdefault(
                event.picking_id.id,
                event.carrier_status_text or event.carrier_status_code,
            )
        return texts

    # ------------------------------------------------------------------
    # delivery_state's delivered email
    # ------------------------------------------------------------------
    def _delivery_state_email_wins(self):
        """Whether delivery_state's delivered email replaces ours for this
        delivery: its company turned it on and chose a template."""
        self.ensure_one()
        company = self.company_id
        return bool(
            self.is_shipment
            and company.delivery_state_delivered_email_validation
            and company.delivery_state_delivered_mail_template_id
        )

    def _send_delivery_state_delivered_email(self):
        """Once per delivery, whichever email comes first.

        - From our status (a carrier event, a Logistics override): queued as
          shipment_tracking's "delivered" update, sent by its notification
          cron after the carrier event is committed (a broken template never
          costs an event) and rendered with delivery_state's template (see
          ``message_post_with_source``).
        - From delivery_state itself (its connectors, a direct write): sent
          now as delivery_state always did, unless the customer was already
          told; the queue then knows, so our update does not follow."""
        mine = self.filtered(lambda p: p._delivery_state_email_wins())
        # sudo: the update queue is system-maintained.
        Notification = self.env["shipment.tracking.notification"].sudo()
        if self.env.context.get("shipment_tracking_delivery_state_sync"):
            Notification._enqueue_many(mine, "delivered", DELIVERED_KEY)
            return super(
                StockPicking, self - mine
            )._send_delivery_state_delivered_email()
        if self.env.context.get("shipment_tracking_delivery_state_sending"):
            return super()._send_delivery_state_delivered_email()
        told = self.browse()
        for picking in mine.filtered(
            lambda p: p.delivery_state == "customer_delivered"
        ):
            # Told by delivery_state's email: nothing left to send.
            vals = Notification._prepare_values(picking, "delivered", DELIVERED_KEY)
            vals.update(
                {f"{channel}_state": "disabled" for channel in Notification._channels()}
            )
            vals["email_state"] = "sent"
            claimed = create_unique(Notification, vals)
            if not claimed:
                told |= picking
        return super(StockPicking, self - told)._send_delivery_state_delivered_email()

    def message_post_with_source(self, source_ref, *args, **kwargs):
        """Our queued "delivered" update goes out as delivery_state's email
        when delivery_state's setting is on; should that fail (a broken
        template), ours is sent instead and the chatter says why."""
        if not (
            self.env.context.get("shipment_tracking_customer_only")
            # Already sending delivery_state's email (its template may be ours).
            and not self.env.context.get("shipment_tracking_delivery_state_sending")
            and len(self) == 1
            and source_ref == self.env.ref(DELIVERED_TEMPLATE, False)
            and self._delivery_state_email_wins()
        ):
            return super().message_post_with_source(source_ref, *args, **kwargs)
        try:
            with self.env.cr.savepoint():
                self.with_context(
                    shipment_tracking_delivery_state_sending=True
                )._send_delivery_state_delivered_email()
        except Exception as error:
            _logger.warning(
                "delivery_state's delivered email failed on %s",
                self.display_name,
                exc_info=True,
            )
            self.message_post(
                body=self.env._(
                    "delivery_state's delivered email could not be sent (%(error)s): "
                    "the shipment's delivered email was sent instead.",
                    error=error,
                ),
                subtype_xmlid="mail.mt_note",
            )
            return super().message_post_with_source(source_ref, *args, **kwargs)
        return self.env["mail.message"]
