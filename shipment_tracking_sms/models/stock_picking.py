# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, api, fields, models
from odoo.tools import format_date

from odoo.addons.shipment_tracking.const import INTERNAL_GROUPS

from ..tools import check_sms_number

# The dispatch SMS as the delivery shows it, by its outbox row's SMS state.
SMS_STATES = [("sent", "Queued"), ("skipped", "Skipped"), ("failed", "Failed")]
DISPATCH_SMS_STATES = {
    "outgoing": "sent",
    "sent": "sent",
    "failed": "failed",
    "no_address": "skipped",
    "opted_out": "skipped",
    "disabled": "skipped",
}


class StockPicking(models.Model):
    _inherit = "stock.picking"

    shipment_sms_state = fields.Selection(
        SMS_STATES,
        string="Dispatch SMS",
        compute="_compute_shipment_sms",
        compute_sudo=True,
        groups=INTERNAL_GROUPS,
        help="The dispatch SMS, as its customer message in the outbox says: "
        "it is never sent twice.",
    )
    shipment_sms_message_id = fields.Many2one(
        "mail.message",
        compute="_compute_shipment_sms",
        compute_sudo=True,
        groups=INTERNAL_GROUPS,
    )
    shipment_sms_note = fields.Char(
        string="Dispatch SMS Note",
        compute="_compute_shipment_sms",
        compute_sudo=True,
        groups=INTERNAL_GROUPS,
    )

    @api.depends(
        "shipment_update_ids.sms_state",
        "shipment_update_ids.sms_error",
        "shipment_update_ids.sms_message_id",
    )
    def _compute_shipment_sms(self):
        updates = self._get_shipment_dispatch_updates(
            ["sms_state", "sms_error", "sms_message_id"]
        )
        for picking in self:
            update = updates[picking]
            picking.shipment_sms_state = DISPATCH_SMS_STATES.get(
                update.sms_state, False
            )
            picking.shipment_sms_message_id = update.sms_message_id
            picking.shipment_sms_note = update.sms_error

    def _shipment_system_fields(self):
        # Clearing the state would text the customer again.
        return super()._shipment_system_fields() | {
            "shipment_sms_state",
            "shipment_sms_message_id",
            "shipment_sms_note",
        }

    # ------------------------------------------------------------------
    # Who, how, which number
    # ------------------------------------------------------------------
    def _get_shipment_notification_channel(self):
        """The customer's choice: 'both', 'email', 'sms' or 'none'."""
        self.ensure_one()
        customer = (self.sale_id.partner_id or self.partner_id).commercial_partner_id
        return customer.shipment_notification_channel or "both"

    def _shipment_wants(self, channel):
        self.ensure_one()
        return self._get_shipment_notification_channel() in (channel, "both")

    def _get_shipment_sms_candidates(self):
        """(partner, number) pairs in order of preference: the delivery
        contact's mobile and phone, then the order customer's."""
        self.ensure_one()
        candidates = []
        for partner in self.partner_id | self.sale_id.partner_id:
            for fname in ("mobile", "phone"):
                if partner[fname]:
                    candidates.append((partner, partner[fname]))
        return candidates

    def _get_shipment_sms_recipient(self):
        """Return (partner, E.164 number, reason): the first candidate number
        that is valid and can receive SMS, else an empty partner, None and
        why not."""
        self.ensure_one()
        candidates = self._get_shipment_sms_candidates()
        if not candidates:
            return (
                self.env["res.partner"],
                None,
                _("neither the delivery contact nor the customer has a phone number"),
            )
        reasons = []
        for partner, number in candidates:
            country = partner.country_id or self.company_id.country_id
            check = check_sms_number(number, country.code)
            if check.e164:
                return partner, check.e164, None
            if check.error == "not_mobile":
                reasons.append(_("%(number)s cannot receive SMS", number=number))
            else:
                reasons.append(_("%(number)s is not a valid number", number=number))
        return self.env["res.partner"], None, "; ".join(reasons)

    # ------------------------------------------------------------------
    # Template pieces: whole phrases in the customer's language (the
    # template renders in it), never English words inside an expression.
    # ------------------------------------------------------------------
    def _get_shipment_sms_eta(self):
        """ ", ETA <date>" for the dispatch and back-on-track SMS, or ''."""
        self.ensure_one()
        if not self.expected_delivery_date:
            return ""
        return self.env._(
            ", ETA %(date)s", date=format_date(self.env, self.expected_delivery_date)
        )

    def _get_shipment_sms_pickup(self):
        """ " at <point>, collect before <deadline>" for the pickup SMS, each
        part only when the carrier gave it."""
        self.ensure_one()
        text = ""
        point = self._get_shipment_pickup_point_short()
        if point:
            text += self.env._(" at %(point)s", point=point)
        if self.shipment_pickup_deadline:
            text += self.env._(
                ", collect before %(deadline)s",
                deadline=self._get_shipment_pickup_deadline_local(),
            )
        return text

    def _get_shipment_sms_partner(self):
        """The partner texted (for the template's language)."""
        self.ensure_one()
        return self._get_shipment_sms_recipient()[0] or self.partner_id

    def _shipment_sms_blacklisted(self, number):
        # sudo: the blacklist is marketing data; only its verdict is used.
        return bool(
            self.env["phone.blacklist"]
            .sudo()
            .search_count([("number", "=", number)], limit=1)
        )

    # ------------------------------------------------------------------
    # Core hooks
    # ------------------------------------------------------------------
    def _shipment_sms_replaces_stock_sms(self):
        """Deliveries whose SMS we send: stock_sms's must not go too."""
        return self.filtered(
            lambda p: p.is_shipment
            and p.company_id.shipment_notify_dispatch
            and p.company_id.shipment_notify_sms
        )

    def _check_warn_sms(self):
        # stock_sms asks, at the first validation, whether to send its SMS:
        # pointless for deliveries whose SMS we send instead.
        return super(
            StockPicking, self - self._shipment_sms_replaces_stock_sms()
        )._check_warn_sms()

    def _send_confirmation_email(self):
        # stock_sms texts on validation unless ``skip_sms`` is set: our
        # dispatch SMS (from the cron) replaces it for the deliveries we notify.
        ours = self._shipment_sms_replaces_stock_sms()
        res = None
        if ours:
            res = super(
                StockPicking, ours.with_context(skip_sms=True)
            )._send_confirmation_email()
        others = self - ours
        if others:
            res = super(StockPicking, others)._send_confirmation_email()
        return res
