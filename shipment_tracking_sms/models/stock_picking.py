# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, api, fields, models

from odoo.addons.shipment_tracking.const import INTERNAL_GROUPS

from ..tools import check_sms_number

SMS_STATES = [("sent", "Queued"), ("skipped", "Skipped")]
DISPATCH_SMS_TEMPLATE = "shipment_tracking_sms.sms_template_shipment_dispatched"


class StockPicking(models.Model):
    _inherit = "stock.picking"

    shipment_notification_state = fields.Selection(
        selection_add=[("opted_out", "Customer prefers no email")],
        ondelete={"opted_out": "set default"},
    )
    shipment_sms_state = fields.Selection(
        SMS_STATES,
        string="Dispatch SMS",
        copy=False,
        readonly=True,
        groups=INTERNAL_GROUPS,
        help="Set once the dispatch SMS was queued or skipped: it is never "
        "sent twice.",
    )
    shipment_sms_message_id = fields.Many2one(
        "mail.message",
        copy=False,
        readonly=True,
        ondelete="set null",
        groups=INTERNAL_GROUPS,
    )
    shipment_sms_note = fields.Char(
        string="Dispatch SMS Note", copy=False, readonly=True, groups=INTERNAL_GROUPS
    )

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
    # Queueing
    # ------------------------------------------------------------------
    def _shipment_notify_by_sms(self, template):
        """Queue ``template`` as an SMS to the customer in Odoo's SMS queue,
        logged in the chatter; return the values recording the outcome
        (``state``, ``message_id``, ``note``). Never raises for a bad number."""
        self.ensure_one()
        if not self.company_id.shipment_notify_sms:
            return {"state": "skipped", "note": _("SMS disabled for the company")}
        if not self._shipment_wants("sms"):
            return {"state": "skipped", "note": _("customer prefers no SMS")}
        partner, number, reason = self._get_shipment_sms_recipient()
        if not number:
            return self._shipment_sms_skipped(template, reason)
        if self._shipment_sms_blacklisted(number):
            return self._shipment_sms_skipped(
                template, _("%(number)s is on the SMS blacklist", number=number)
            )
        body = template._render_field("body", self.ids, compute_lang=True)[self.id]
        message = self.with_context(shipment_tracking_customer_only=True)._message_sms(
            body,
            partner_ids=partner.ids,
            sms_pid_to_number={partner.id: number},
            put_in_queue=True,
        )
        return {"state": "sent", "message_id": message.id, "note": False}

    def _shipment_sms_skipped(self, template, reason):
        self.message_post(
            body=_(
                "No SMS was sent (%(template)s): %(reason)s.",
                template=template.name,
                reason=reason,
            ),
            subtype_xmlid="mail.mt_note",
        )
        return {"state": "skipped", "note": reason}

    def _shipment_send_dispatch_sms(self):
        template = self.env.ref(DISPATCH_SMS_TEMPLATE)
        for picking in self.filtered(lambda p: not p.shipment_sms_state):
            vals = picking._shipment_notify_by_sms(template)
            picking.write(
                {
                    "shipment_sms_state": vals["state"],
                    "shipment_sms_message_id": vals.get("message_id", False),
                    "shipment_sms_note": vals.get("note", False),
                }
            )

    # ------------------------------------------------------------------
    # Core hooks
    # ------------------------------------------------------------------
    def _shipment_send_dispatch_notification(self):
        """Email those who want email, text those who want SMS."""
        self._shipment_send_dispatch_sms()
        email_pickings = self.filtered(lambda p: p._shipment_wants("email"))
        for picking in self - email_pickings:
            picking.message_post(
                body=_(
                    "No dispatch email was sent: the customer does not want "
                    "shipment emails."
                ),
                subtype_xmlid="mail.mt_note",
            )
            picking.shipment_notification_state = "opted_out"
        return super(
            StockPicking, email_pickings
        )._shipment_send_dispatch_notification()

    @api.model
    def _cron_process_shipment_notifications(self, batch_size=50):
        res = super()._cron_process_shipment_notifications(batch_size=batch_size)
        # sudo: a system job, like the core cron.
        Sms = self.env["sms.sms"].sudo()
        Sms._shipment_retry_gateway_errors()
        if Sms.search_count([("state", "=", "outgoing")], limit=1):
            self.env.ref("sms.ir_cron_sms_scheduler_action")._trigger()
        return res

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
