# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import Command, _, api, fields, models
from odoo.tools import html2plaintext

from odoo.addons.shipment_tracking.const import OUTBOX_CHANNEL_STATES
from odoo.addons.sms.tools.sms_tools import sms_content_to_rendered_html

SMS_TEMPLATES = {
    kind: f"shipment_tracking_sms.sms_template_shipment_{kind}"
    for kind in (
        "dispatched",
        "out_for_delivery",
        "available_for_pickup",
        "delivered",
        "exception",
        "late",
        "returned",
        "recovered",
    )
}


class ShipmentTrackingNotification(models.Model):
    """The SMS channel of every customer message."""

    _inherit = "shipment.tracking.notification"

    sms_state = fields.Selection(
        OUTBOX_CHANNEL_STATES, string="SMS", default="pending", readonly=True
    )
    sms_attempts = fields.Integer(string="SMS Attempts", readonly=True)
    sms_error = fields.Char(string="SMS Error", readonly=True)
    sms_next_attempt = fields.Datetime(readonly=True, string="Next SMS Attempt")
    sms_message_id = fields.Many2one(
        "mail.message", string="SMS Message", readonly=True, ondelete="set null"
    )
    # By id, not a foreign key: see ``mail_ref``.
    sms_ref = fields.Integer(
        string="Outgoing SMS ID", readonly=True, index="btree_not_null"
    )
    sms_id = fields.Many2one(
        "sms.sms",
        string="Outgoing SMS",
        compute="_compute_sms_id",
        groups="base.group_system",
    )

    @api.model
    def _channels(self):
        return [*super()._channels(), "sms"]

    @api.depends("sms_ref")
    def _compute_sms_id(self):
        for row in self:
            row.sms_id = row._get_sms()

    def _get_sms(self):
        """The outgoing SMS, if Odoo still has it (deleted once sent)."""
        self.ensure_one()
        return self.env["sms.sms"].sudo().browse(self.sms_ref).exists()

    @api.model
    def _prepare_values(self, picking, kind, key, incident=None):
        vals = super()._prepare_values(picking, kind, key, incident=incident)
        vals.update(sms_message_id=False, sms_ref=0)
        return vals

    @api.depends("sms_state", "sms_next_attempt")
    def _compute_state(self):
        return super()._compute_state()

    @api.model
    def _cron_send(self, batch_size=None):
        res = super()._cron_send(batch_size=batch_size)
        # Other SMS sent through the HTTP gateway (the composer, marketing):
        # put back in the queue up to the company's cap, as before the outbox.
        # sudo: a system job, like the core cron.
        self.env["sms.sms"].sudo()._shipment_retry_gateway_errors()
        return res

    def _wake_queues(self):
        res = super()._wake_queues()
        if any(row.sms_state == "outgoing" for row in self):
            self.env["sms.sms"]._shipment_trigger_queue()
        return res

    # ------------------------------------------------------------------
    # Email: only for customers who want it
    # ------------------------------------------------------------------
    def _email_skip_state(self):
        if not self.picking_id._shipment_wants("email"):
            return "opted_out", _("the customer does not want shipment emails")
        return super()._email_skip_state()

    # ------------------------------------------------------------------
    # SMS
    # ------------------------------------------------------------------
    def _sms_skip_state(self, recipient=None, blacklist=None):
        """``(state, reason, logged)`` when this message must not be texted:
        ``logged`` says the delivery's chatter tells why. A batch passes the
        delivery's ``recipient`` and the blacklisted numbers it looked up."""
        self.ensure_one()
        picking = self.picking_id
        if not picking.company_id.shipment_notify_sms:
            return "disabled", _("SMS disabled for the company"), False
        if not picking._shipment_wants("sms"):
            return "opted_out", _("customer prefers no SMS"), False
        _partner, number, reason = recipient or picking._get_shipment_sms_recipient()
        if not number:
            return "no_address", reason, True
        if (
            number in blacklist
            if blacklist is not None
            else picking._shipment_sms_blacklisted(number)
        ):
            return (
                "opted_out",
                _("%(number)s is on the SMS blacklist", number=number),
                True,
            )
        return False, False, False

    def _send_sms(self):
        """Queue the SMS in Odoo's SMS queue, logged in the delivery's
        chatter; a retry re-queues the same SMS. Never raises for a bad
        number: the message records why it was not texted."""
        self.ensure_one()
        if self._sms_notification_status() == "sent":
            # Resent by hand while it waited for its retry: it went.
            self.write({"sms_state": "sent", "sms_error": False})
            return
        sms = self._get_sms()
        if sms and sms.state in ("error", "canceled"):
            sms.action_set_outgoing()
            self.write({"sms_state": "outgoing", "sms_attempts": self.sms_attempts + 1})
            return
        state, reason, logged = self._sms_skip_state()
        if state:
            self._sms_skipped(state, reason, logged)
            return
        self._sms_post(SMS_TEMPLATES[self.kind])

    def _send_sms_batch(self):
        """``_send_sms`` for many rows: those never rendered are rendered and
        posted together, per template; retries one by one."""
        fresh = self._fresh_for("sms")
        for row in self - fresh:
            row._send_sms()
        recipients = {
            picking.id: picking._get_shipment_sms_recipient()
            for picking in fresh.picking_id
        }
        numbers = {number for _p, number, _r in recipients.values() if number}
        # sudo: the blacklist is marketing data; only its verdict is used.
        blacklist = set(
            self.env["phone.blacklist"]
            .sudo()
            .search([("number", "in", list(numbers))])
            .mapped("number")
            if numbers
            else ()
        )
        to_post = self.browse()
        for row in fresh:
            state, reason, logged = row._sms_skip_state(
                recipients[row.picking_id.id], blacklist
            )
            if state:
                row._sms_skipped(state, reason, logged)
            else:
                to_post |= row
        for xmlid, rows in to_post._by_template(SMS_TEMPLATES):
            rows._sms_post(xmlid, recipients)

    def _sms_skipped(self, state, reason, logged):
        self.ensure_one()
        self.write({"sms_state": state, "sms_error": reason})
        if logged:
            template = self.env.ref(SMS_TEMPLATES[self.kind])
            self.picking_id.message_post(
                body=_(
                    "No SMS was sent (%(template)s): %(reason)s.",
                    template=template.name,
                    reason=reason,
                ),
                subtype_xmlid="mail.mt_note",
            )

    def _sms_post(self, template_xmlid, recipients=None):
        """Render ``template_xmlid`` for these rows (one per delivery) in the
        customer's language and post it as an SMS on each delivery, for the
        customer only, into Odoo's SMS queue.

        Mirrors, in a batch, what Odoo 18.0 does for one record (keep in step;
        ``TestSmsCoreParity`` compares both):
        ``odoo/addons/sms/models/mail_thread.py``: ``_message_sms`` (the
        values), ``message_post`` (the SMS text kept as ``sms_content``, the
        chatter body rendered by ``sms_content_to_rendered_html``) and
        ``_notify_thread_by_sms`` with ``put_in_queue`` (see ``_sms_queue``);
        the message itself as ``mail.thread.message_post`` in
        ``odoo/addons/mail/models/mail_thread.py`` (see
        ``mail.thread._shipment_post_batch``)."""
        pickings = self.picking_id
        template = self.env.ref(template_xmlid)
        bodies = template._render_field("body", pickings.ids, compute_lang=True)
        note = self.env["ir.model.data"]._xmlid_to_res_id("mail.mt_note")
        values, partners = {}, {}
        recipients = recipients or {}
        for picking in pickings:
            partner, number, _reason = (
                recipients.get(picking.id) or picking._get_shipment_sms_recipient()
            )
            partners[picking.id] = partner
            # What _message_sms hands to message_post, after the sms module's
            # message_post override: the SMS text as is, and for the chatter
            # that text as HTML (line breaks kept, links clickable).
            values[picking.id] = {
                "body": sms_content_to_rendered_html(bodies[picking.id]),
                "sms_content": bodies[picking.id],
                "partner_ids": partner.ids,
                "message_type": "sms",
                "subtype_id": note,
                "sms_numbers": None,
                "sms_pid_to_number": {partner.id: number},
                "put_in_queue": True,
            }
        pickings = pickings.with_context(shipment_tracking_customer_only=True)
        Thread = pickings.env["mail.thread"]
        # The customer's SMS queued for all messages at once (_sms_queue);
        # through core's notification, one message at a time, should the
        # customer be archived (core decides what then), or should another
        # add-on change how messages are posted (the batch would not mirror
        # it: message_post, which notifies, posts them all).
        mirrored = Thread._shipment_batch_mirrors(pickings)
        direct = self.filtered(
            lambda row: mirrored and partners[row.picking_id.id].active
        )
        direct_pickings = pickings.browse(direct.picking_id.ids)
        messages = Thread._shipment_post_batch(direct_pickings, values, notify=False)
        messages.update(Thread._shipment_post_batch(pickings - direct_pickings, values))
        queued = direct._sms_queue(messages, values)
        others = [m.id for pid, m in messages.items() if pid not in queued]
        for sms in self.env["sms.sms"].search([("mail_message_id", "in", others)]):
            queued[sms.mail_message_id.res_id] = sms
        for row in self:
            message = messages[row.picking_id.id]
            sms = queued.get(row.picking_id.id, self.env["sms.sms"])
            row.write(
                {
                    # Core's notification may queue none (an archived
                    # customer gets none): nothing was sent, the row says why.
                    "sms_state": "outgoing" if sms else "disabled",
                    "sms_attempts": row.sms_attempts + 1,
                    "sms_error": False
                    if sms
                    else row._sms_not_queued_reason(partners[row.picking_id.id]),
                    "sms_message_id": message.id,
                    "sms_ref": sms.id,
                }
            )

    @api.model
    def _sms_not_queued_reason(self, partner):
        """Why core's notification queued no SMS for ``partner``, as far as
        the outbox can tell."""
        if partner and not partner[:1].active:
            return _("no SMS was queued for the customer (archived contacts get none)")
        return _("Odoo queued no SMS for the customer")

    def _sms_queue(self, messages, values):
        """Queue the SMS of ``messages`` (by delivery id) and their
        notifications, as ``_notify_thread_by_sms`` does for one message with
        ``put_in_queue``: one create of each for the whole batch (Odoo 18.0,
        ``odoo/addons/sms/models/mail_thread.py``, ``_notify_thread_by_sms``:
        its SMS and notification values, kept identical). Returns
        {delivery id: sms.sms}."""
        sms_vals, rows = [], []
        for row in self:
            picking = row.picking_id
            message = messages[picking.id]
            post = values[picking.id]
            (partner_id,) = post["partner_ids"]
            partner = self.env["res.partner"].browse(partner_id)
            number = post["sms_pid_to_number"].get(partner_id)
            sms_vals.append(
                {
                    "body": post.get("sms_content") or html2plaintext(post["body"]),
                    "mail_message_id": message.id,
                    "state": "outgoing",
                    "partner_id": partner_id,
                    "number": partner._phone_format(number=number) or number,
                }
            )
            rows.append(picking.id)
        # sudo: as core queues SMS, a system job.
        sms_all = self.env["sms.sms"].sudo().create(sms_vals)
        self.env["mail.notification"].sudo().create(
            [
                {
                    "author_id": messages[picking_id].author_id.id,
                    "mail_message_id": sms.mail_message_id.id,
                    "res_partner_id": sms.partner_id.id,
                    "sms_number": sms.number,
                    "notification_type": "sms",
                    "sms_id_int": sms.id,
                    "sms_tracker_ids": [Command.create({"sms_uuid": sms.uuid})],
                    "is_read": True,  # no Inbox notification
                    "notification_status": "ready",
                    "failure_type": "",
                }
                for picking_id, sms in zip(rows, sms_all, strict=True)
            ]
        )
        return dict(zip(rows, self.env["sms.sms"].browse(sms_all.ids), strict=True))

    def _sms_notification_status(self):
        """'sent' when Odoo's SMS notification of this message says the
        gateway took it (it outlives the ``sms.sms``), else False."""
        self.ensure_one()
        statuses = self.sms_message_id.notification_ids.filtered(
            lambda n: n.notification_type == "sms"
        ).mapped("notification_status")
        return "sent" if {"sent", "pending"} & set(statuses) else False

    @api.model
    def _on_sms_outcome(self, sms_records):
        """See ``_apply_sms_outcome``; in a savepoint, as for emails: a
        concurrent change of the row never fails the SMS queue's transaction
        (the cron reconciles it)."""
        self._record_outcome(
            lambda: self._apply_sms_outcome(sms_records), "SMS", sms_records
        )

    @api.model
    def _reconcile_rows_sms(self, limit):
        return self._reconcile_rows(
            "sms", "sms_ref", "sms.sms", ("outgoing", "process"), limit
        )

    def _reconcile_sms(self):
        self.ensure_one()
        sms = self._get_sms()
        if sms:
            self._apply_sms_outcome(sms)
        elif self._sms_notification_status() == "sent":
            # Deleted once the gateway took it.
            self.write({"sms_state": "sent", "sms_error": False})
        else:
            self._channel_failed(
                "sms", _("deleted from the SMS queue before it was sent")
            )

    @api.model
    def _apply_sms_outcome(self, sms_records):
        """Odoo's SMS queue tried ``sms_records``: their messages are sent,
        wait for a retry (a gateway error that may pass), or failed (a wrong
        number, a refused account, or a fate nobody knows: never resent
        automatically)."""
        rows = self.search(
            [
                ("sms_ref", "in", sms_records.ids),
                ("sms_state", "in", ("outgoing", "pending", "failed")),
            ]
        )
        for row in rows:
            sms = row._get_sms()
            if row.sms_state != "outgoing" and sms.state not in ("pending", "sent"):
                continue  # only a success counts for a row not in the queue
            if sms.state in ("pending", "sent"):
                row.write({"sms_state": "sent", "sms_error": False})
            elif sms.state == "canceled":
                row._channel_failed("sms", _("cancelled in the SMS queue"))
            elif sms.state == "error":
                failures = sms._fields["failure_type"]._description_selection(self.env)
                failure = dict(failures).get(sms.failure_type, sms.failure_type)
                reason = sms.shipment_gateway_error or failure or _("unknown error")
                if sms._shipment_gateway_did_not_take():
                    row._channel_retry_or_fail("sms", reason)
                else:
                    row._channel_failed("sms", reason)

    def _sms_given_up(self):
        """An SMS given up stays in error in Odoo's SMS list (visible)."""

    def _channel_retryable(self, channel):
        # An SMS the gateway may have sent (fate unknown) is resent only from
        # the SMS itself, after checking with the customer.
        if channel == "sms" and self._get_sms().shipment_gateway_fate_unknown:
            return False
        return super()._channel_retryable(channel)

    def _channel_max_attempts(self, channel):
        if channel == "sms":
            return self.company_id._get_shipment_sms_max_attempts()
        return super()._channel_max_attempts(channel)

    def _prepare_channel_reset(self, channel, fresh=False):
        vals = super()._prepare_channel_reset(channel, fresh=fresh)
        if fresh and channel == "sms":
            vals.update(sms_ref=0, sms_message_id=False)
        return vals
