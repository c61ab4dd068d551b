# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict

from markupsafe import escape

from odoo import api, models
from odoo.tools import SQL, clean_context, split_every

from .res_partner import SIGNUP_ONCE

# Parameters of Odoo's _notify_thread that _shipment_notify_batch handles as
# it does; a message posted with any other set (a scheduled date, resending,
# notifying the author) is notified by Odoo.
NOTIFY_BATCH_PARAMS = frozenset(
    {
        "force_email_company",
        "force_email_lang",
        "force_send",
        "mail_auto_delete",
        "model_description",
        "send_after_commit",
        "subtitles",
    }
)

# Odoo's methods whose work the batch does itself instead of calling them:
# (the add-ons that must define them, the add-ons whose versions it mirrors).
# Where any other add-on overrides one of them on the posting model, its
# messages take Odoo's own path, one at a time. Our stock.picking override of
# _notify_get_recipients is required: the batch's recipients are the customer
# only, as that override makes them. rating's message_post only takes its own
# rating_* parameters, which the batch never passes.
MIRRORED_METHODS = {
    "message_post": ({"mail"}, {"mail", "sms", "rating"}),
    "_notify_thread": ({"mail"}, {"mail", "sms"}),
    "_notify_get_recipients": ({"mail", "shipment_tracking"},) * 2,
    "_notify_thread_by_email": ({"mail"},) * 2,
    "_notify_thread_by_inbox": ({"mail"},) * 2,
    "_notify_thread_by_web_push": ({"mail"},) * 2,
    "_notify_by_email_get_base_mail_values": ({"mail"},) * 2,
}


class MailThread(models.AbstractModel):
    """Posting chatter messages for many records at once, as ``message_post``
    posts one: what the notification cron (``shipment.tracking.notification``)
    and the SMS add-on use to send a batch of customer messages."""

    _inherit = "mail.thread"

    @api.model
    def _shipment_post_batch(self, records, values, notify=True):
        """``records.message_post(**values[record.id])`` for each record, with
        what message_post computes per record (reply-to, alias domain, thread
        parent, author subscription) computed for all at once and the
        messages created in one go; the messages are then notified as
        message_post does (``_notify_thread``, see ``_shipment_notify_batch``),
        unless ``notify`` is False (the caller notifies them). Returns {record
        id: message}. The records' environment (user, context) is the one
        read, as message_post reads the record's.

        A record whose values carry attachments, or every record where the
        batch does not mirror the model's methods (``_shipment_batch_mirrors``)
        is posted by message_post, which notifies: ``notify=False`` refuses
        them (the caller's own notification would come twice)."""
        self = self.with_env(records.env)  # noqa: PLW0642
        posted = {}
        plain = records.browse()
        mirrored = self._shipment_batch_mirrors(records)
        for record in records:
            if (
                not mirrored
                or values[record.id].get("attachment_ids")
                or values[record.id].get("attachments")
            ):
                if not notify:
                    raise ValueError(
                        f"{record}: message_post would notify what the caller does"
                    )
                posted[record.id] = record.message_post(**values[record.id])
            else:
                plain |= record
        if not plain:
            return posted
        plain = plain._fallback_lang()
        msg_values_list, notif_kwargs_list = self._shipment_post_batch_values(
            plain, values
        )
        messages = plain._message_create(msg_values_list)
        self._shipment_post_batch_subscribe(plain, msg_values_list)
        for record, message, msg_values in zip(
            plain, messages, msg_values_list, strict=True
        ):
            record._message_post_after_hook(message, msg_values)
            posted[record.id] = message
        if notify:
            self._shipment_notify_batch(
                plain, messages, msg_values_list, notif_kwargs_list
            )
        return posted

    @api.model
    def _shipment_post_batch_values(self, records, values):
        """The message values and notification parameters message_post
        computes for each record (see ``_shipment_post_batch``)."""
        Message = self.env["mail.message"]
        IrModelData = self.env["ir.model.data"]
        # sudo: ids only, as message_post reads them.
        alias_domains = records.sudo()._mail_get_alias_domains(
            default_company=self.env.company
        )
        companies = records._mail_get_companies(default=self.env.company)
        parents = self._shipment_post_batch_parents(records)
        msg_values_list, notif_kwargs_list = [], []
        for record in records:
            kwargs = dict(values[record.id])
            body = kwargs.pop("body", "")
            subtype_id = kwargs.pop("subtype_id", False)
            if kwargs.get("subtype_xmlid"):
                subtype_id = IrModelData._xmlid_to_res_id(kwargs["subtype_xmlid"])
            kwargs.pop("subtype_xmlid", None)
            author_id, email_from = record._message_compute_author(
                kwargs.pop("author_id", None),
                kwargs.pop("email_from", None),
                raise_on_email=True,
            )
            message_type = kwargs.pop("message_type", "notification")
            parent_id = kwargs.pop("parent_id", False) or parents.get(record.id, False)
            partner_ids = list(kwargs.pop("partner_ids", None) or [])
            kwargs.pop("attachment_ids", None)
            kwargs.pop("attachments", None)
            msg_values = {k: v for k, v in kwargs.items() if k in Message._fields}
            notif_kwargs_list.append(
                {k: v for k, v in kwargs.items() if k not in msg_values}
            )
            msg_values.setdefault("email_add_signature", True)
            if not msg_values.get("record_name"):
                # sudo: as message_post, which names the record for everyone.
                msg_values["record_name"] = record.sudo().display_name
            msg_values.setdefault("record_alias_domain_id", alias_domains[record.id].id)
            msg_values.setdefault("record_company_id", companies[record.id].id)
            msg_values.update(
                {
                    "author_id": author_id,
                    "author_guest_id": False,
                    "email_from": email_from,
                    "model": record._name,
                    "res_id": record.id,
                    "body": escape(body),
                    "message_type": message_type,
                    "parent_id": parent_id,
                    "subject": msg_values.get("subject") or False,
                    "subtype_id": subtype_id
                    or IrModelData._xmlid_to_res_id("mail.mt_note"),
                    "partner_ids": partner_ids,
                    "attachment_ids": [],
                    # Posted, not written: no tracking values (spares the
                    # notification a search for them, per message).
                    "tracking_value_ids": [],
                }
            )
            msg_values_list.append(msg_values)
        self._shipment_post_batch_reply_to(records, msg_values_list)
        return msg_values_list, notif_kwargs_list

    @api.model
    def _shipment_post_batch_parents(self, records):
        """{record id: its first message}: the parent message_post gives a
        new message on a flat thread, for all records in one query."""
        if not records._mail_flat_thread:
            return {}
        # sudo: ids only, as message_post searches them.
        return dict(
            self.env["mail.message"]
            .sudo()
            ._read_group(
                [
                    ("model", "=", records._name),
                    ("res_id", "in", records.ids),
                    ("message_type", "!=", "user_notification"),
                ],
                ["res_id"],
                ["id:min"],
            )
        )

    @api.model
    def _shipment_post_batch_reply_to(self, records, msg_values_list):
        """Reply-to addresses by sender, for all records at once."""
        by_sender = defaultdict(list)
        for record, msg_values in zip(records, msg_values_list, strict=True):
            if "reply_to" not in msg_values:
                by_sender[msg_values["email_from"]].append((record.id, msg_values))
        for email_from, pairs in by_sender.items():
            reply_tos = records.browse([rid for rid, _v in pairs])._notify_get_reply_to(
                default=email_from
            )
            for record_id, msg_values in pairs:
                msg_values["reply_to"] = reply_tos[record_id]

    # ------------------------------------------------------------------
    # Notifying posted messages in a batch
    # ------------------------------------------------------------------
    @api.model
    def _shipment_batch_mirrors(self, records):
        """Whether the methods the batch mirrors are, on ``records``' model,
        exactly the versions it mirrors (``MIRRORED_METHODS``)."""
        classes = type(records).__mro__
        for name, (required, allowed) in MIRRORED_METHODS.items():
            defined = {
                cls.__module__.split(".")[2]
                for cls in classes
                if name in vars(cls) and cls.__module__.startswith("odoo.addons.")
            }
            if not required <= defined <= allowed:
                return False
        return True

    @api.model
    def _shipment_notify_batch(self, records, messages, msg_values_list, kwargs_list):
        """``record._notify_thread(message, msg_vals, **kwargs)`` for each
        message, with what Odoo queries per message (recipients, reply
        references, portal signup data, web push devices, the ``mail.mail``,
        its recipients and ``mail.notification``) queried or inserted once
        for the batch.

        Mirrors Odoo 18.0 ``odoo/addons/mail/models/mail_thread.py``
        (``_notify_thread``, ``_notify_get_recipients``,
        ``_notify_thread_by_email``, ``_notify_by_email_get_base_mail_values``,
        ``_notify_thread_by_web_push``) for what the notification cron posts:
        emails to the customer only (context
        ``shipment_tracking_customer_only``, see ``stock.picking.
        _notify_get_recipients``), queued, not scheduled. The layout, the
        recipients' groups and links are Odoo's own methods, per message.
        Anything else (an inbox or SMS recipient, other parameters) is
        notified by Odoo, one message at a time. Keep in step;
        ``TestEmailCoreParity`` compares both ways. ``records`` are those
        ``_shipment_post_batch`` posted itself: their model passed
        ``_shipment_batch_mirrors``."""
        self = self.with_env(records.env)  # noqa: PLW0642
        records = records._fallback_lang()
        items = list(zip(records, messages, msg_values_list, kwargs_list, strict=True))
        batch, slow = [], []
        # The batch's references leave out the batch's messages: a second
        # message on one thread (which would reference the first) is Odoo's.
        threads = set()
        for item in items:
            thread = (item[1].model, item[1].res_id)
            if thread not in threads and self._shipment_notify_batch_supported(*item):
                batch.append(item)
                threads.add(thread)
            else:
                slow.append(item)
        recipients = self._shipment_notify_batch_recipients(batch)
        emails = []
        for item in batch:
            data = recipients[item[1].id]
            if any(pdata["notif"] != "email" for pdata in data):
                slow.append(item)
            elif data:
                emails.append((*item, data))
        for record, message, msg_vals, kwargs in slow:
            record._notify_thread(message, msg_vals, **kwargs)
        if emails:
            self._shipment_notify_batch_by_email(emails)
            self._shipment_notify_batch_by_web_push(emails)

    @api.model
    def _shipment_notify_batch_supported(self, record, message, msg_vals, kwargs):
        """Whether ``_shipment_notify_batch`` notifies this message itself (else
        Odoo's ``_notify_thread`` does)."""
        context = record.env.context
        force_send = context.get(
            "mail_notify_force_send", kwargs.get("force_send", True)
        )
        return bool(
            context.get("shipment_tracking_customer_only")
            and not context.get("mail_notify_author")
            # Unknown parameters: Odoo refuses them, let it say so.
            and set(kwargs) <= record._get_notify_valid_parameters()
            and not any(
                value for key, value in kwargs.items() if key not in NOTIFY_BATCH_PARAMS
            )
            and msg_vals.get("message_type") in ("comment", "notification")
            and not force_send
        )

    @api.model
    def _shipment_notify_batch_recipients(self, batch):
        """{message id: recipients data}, as ``_notify_get_recipients`` gives
        them to a customer-only post: its own partners, never the author, no
        archived partner; one query per kind of message."""
        kinds = defaultdict(list)
        for item in batch:
            msg_vals = item[2]
            kinds[(msg_vals["message_type"], msg_vals["subtype_id"])].append(item)
        result = {}
        user = self.env.user
        for (message_type, subtype_id), items in kinds.items():
            records = items[0][0].browse([record.id for record, *_rest in items])
            pids = {
                pid for _r, _m, msg_vals, _k in items for pid in msg_vals["partner_ids"]
            }
            data = self.env["mail.followers"]._get_recipient_data(
                records, message_type, subtype_id, list(pids)
            )
            for record, message, msg_vals, _kwargs in items:
                if user.active:
                    author_id = user.partner_id.id
                else:
                    author_id = msg_vals.get("author_id") or message.author_id.id
                own = set(msg_vals["partner_ids"])
                result[message.id] = [
                    pdata
                    for pid, pdata in data[record.id].items()
                    if pid in own and pid != author_id and pdata["active"] is not False
                ]
                # As _notify_thread: the users' partners known, not read again.
                for pdata in result[message.id]:
                    if pdata["uid"]:
                        recipient = self.env["res.users"].browse(pdata["uid"])
                        self.env.cache.insert_missing(
                            recipient, recipient._fields["partner_id"], [pdata["id"]]
                        )
        return result

    @api.model
    def _shipment_notify_batch_by_email(self, emails):
        """``_notify_thread_by_email`` for ``emails`` ((record, message,
        msg_vals, kwargs, recipients data) tuples): the layout rendered per
        message by Odoo's methods, the mails and notifications created for
        all messages at once."""
        env = emails[0][0].env
        base_values = self._shipment_notify_batch_base_mail_values(emails)
        gen_batch_size = (
            # sudo: a system parameter Odoo's notification reads the same way.
            int(env["ir.config_parameter"].sudo().get_param("mail.batch_size")) or 50
        )
        records = emails[0][0].browse([record.id for record, *_rest in emails])
        memo_key = f"{SIGNUP_ONCE}:{records._name}:{records.ids}"
        env.cr.cache[memo_key] = self._shipment_notify_batch_signup(records)
        try:
            mail_values, owners = self._shipment_notify_batch_mail_values(
                emails, base_values, gen_batch_size, memo_key
            )
        finally:
            env.cr.cache.pop(memo_key, None)
        # As Odoo's notification: the context without its default_* keys (a
        # default meant for another model must not shape the mails); sudo: a
        # system job creating what it sends.
        clean_env = env(context=clean_context(env.context), su=True)
        mails = clean_env["mail.mail"].create(mail_values)
        clean_env["mail.notification"].create(
            [
                {
                    "author_id": message.author_id.id,
                    "is_read": True,  # no Inbox notification
                    "mail_mail_id": mail.id,
                    "mail_message_id": message.id,
                    "notification_status": "ready",
                    "notification_type": "email",
                    "res_partner_id": recipient_id,
                }
                for mail, (message, chunk) in zip(mails, owners, strict=True)
                for recipient_id in chunk
            ]
        )

    @api.model
    def _shipment_notify_batch_mail_values(
        self, emails, base_values, gen_batch_size, memo_key
    ):
        """The ``mail.mail`` values of ``emails`` and, for each, its message
        and recipients: each layout rendered by Odoo's methods for its
        recipients' groups (portal links with the signup parameters prepared
        for the batch, under ``memo_key``)."""
        memo_env = emails[0][0].with_context(**{SIGNUP_ONCE: memo_key}).env
        mail_values, owners = [], []
        for posted_on, message, msg_vals, kwargs, data in emails:
            record = posted_on.with_env(memo_env)
            iterator = record._notify_get_classified_recipients_iterator(
                message,
                data,
                msg_vals=msg_vals,
                model_description=kwargs.get("model_description", False),
                force_email_company=kwargs.get("force_email_company", False),
                force_email_lang=kwargs.get("force_email_lang", False),
                subtitles=kwargs.get("subtitles"),
            )
            for _lang, render_values, group in iterator:
                body = record._notify_by_email_render_layout(
                    message, group, msg_vals=msg_vals, render_values=render_values
                )
                recipient_ids = group.pop("recipients")
                for chunk in split_every(gen_batch_size, recipient_ids):
                    mail_values.append(
                        record._notify_by_email_get_final_mail_values(
                            chunk,
                            base_values[message.id],
                            additional_values={"body_html": body},
                        )
                    )
                    owners.append((message, chunk))
        return mail_values, owners

    @api.model
    def _shipment_notify_batch_base_mail_values(self, emails):
        """{message id: ``_notify_by_email_get_base_mail_values``}: subject,
        references (the thread's last public messages, for all threads in one
        query) and headers."""
        references = self._shipment_notify_batch_references(
            [message for _r, message, *_x in emails]
        )
        result = {}
        for record, message, _msg_vals, kwargs, _data in emails:
            mail_subject = message.subject
            if not mail_subject and hasattr(record, "_message_compute_subject"):
                mail_subject = record._message_compute_subject()
            if not mail_subject:
                mail_subject = message.record_name
            if mail_subject:
                mail_subject = " ".join(mail_subject.splitlines())
            # sudo: the alias domain, as Odoo's notification reads it.
            message_sudo = message.sudo()
            values = {
                "mail_message_id": message.id,
                "references": references[message.id],
            }
            if mail_subject != message.subject:
                values["subject"] = mail_subject
            values["auto_delete"] = kwargs.get("mail_auto_delete", True)
            headers = {}
            if message_sudo.record_alias_domain_id.bounce_email:
                headers["Return-Path"] = (
                    message_sudo.record_alias_domain_id.bounce_email
                )
            headers = record._notify_by_email_get_headers(headers=headers)
            if headers:
                values["headers"] = repr(headers)
            result[message.id] = values
        return result

    @api.model
    def _shipment_notify_batch_references(self, messages):
        """{message id: its references}, as Odoo's
        ``_notify_by_email_get_base_mail_values`` computes them for each
        message: among the 32 newest other messages of its thread with a
        subtype and a Message-Id, the 3 that are public discussions first,
        oldest first, then the message itself; for all messages in one
        query."""
        # sudo: as Odoo's notification, which reads the thread's messages.
        Message = self.env["mail.message"].sudo()
        outgoing_types = ("comment", "auto_comment", "email", "email_outgoing")
        threads = defaultdict(list)
        for message in messages:
            threads[message.model].append(message)
        result = {}
        for model, thread_messages in threads.items():
            query = Message._search(
                [
                    ("model", "=", model),
                    ("res_id", "in", list({m.res_id for m in thread_messages})),
                    ("id", "not in", [m.id for m in thread_messages]),
                    ("subtype_id", "!=", False),
                    ("message_id", "!=", False),
                ]
            )
            table = query.table
            ranked = query.select(
                *(
                    SQL.identifier(table, name)
                    for name in (
                        "id",
                        "res_id",
                        "is_internal",
                        "message_type",
                        "message_id",
                        "subtype_id",
                    )
                ),
                SQL(
                    "row_number() OVER (PARTITION BY %s ORDER BY %s DESC) AS rank",
                    SQL.identifier(table, "res_id"),
                    SQL.identifier(table, "id"),
                ),
            )
            rows = self.env.execute_query(
                SQL(
                    """SELECT ranked.id, ranked.res_id, ranked.is_internal,
                              ranked.message_type, ranked.message_id,
                              subtype.internal
                         FROM (%s) AS ranked
                         JOIN mail_message_subtype subtype
                           ON subtype.id = ranked.subtype_id
                        WHERE ranked.rank <= 32
                     ORDER BY ranked.id DESC""",
                    ranked,
                )
            )
            by_res_id = defaultdict(list)
            for row in rows:
                by_res_id[row[1]].append(row)
            for message in thread_messages:
                # Newest first, then stable-sorted as Odoo sorts its search.
                history = sorted(
                    by_res_id[message.res_id],
                    key=lambda row: (
                        not row[2] and not row[5],
                        row[3] in outgoing_types,
                        row[3] != "user_notification",
                    ),
                    reverse=True,
                )
                result[message.id] = " ".join(
                    [row[4] for row in sorted(history[:3])]
                    # sudo: the message's own Message-Id, as Odoo reads it.
                    + [message.sudo().message_id]
                )
        return result

    @api.model
    def _shipment_notify_batch_signup(self, records):
        """{partner id: ``signup_get_auth_param``} for the customers of
        ``records`` (Odoo's portal links add them to each email), with one
        write for all where Odoo writes each customer once per email
        (``auth_signup/models/res_partner.py``, kept identical)."""
        if not isinstance(records, self.env.registry["portal.mixin"]):
            # Odoo's links carry signup data for portal documents only.
            return {}
        customers = records._mail_get_partners(introspect_fields=False)
        # sudo: as Odoo's portal groups, which prepare the tokens as sudo.
        partners = self.env["res.partner"].union(*customers.values()).sudo()
        partners.fetch(["user_ids", "signup_type"])
        allow_signup = self.env["res.users"]._get_signup_invitation_scope() == "b2c"
        if allow_signup:
            partners.filtered(lambda partner: not partner.user_ids).signup_prepare()
        params = {}
        for partner in partners:
            params[partner.id] = {}
            if allow_signup and not partner.user_ids:
                params[partner.id]["auth_signup_token"] = (
                    partner._generate_signup_token()
                )
            elif partner.user_ids:
                params[partner.id]["auth_login"] = partner.user_ids[0].login
        return params

    @api.model
    def _shipment_notify_batch_by_web_push(self, emails):
        """``_notify_thread_by_web_push``: the devices of every recipient
        looked up at once; a message with a device is pushed by Odoo."""
        pids = {
            message.id: record._extract_partner_ids_for_notifications(
                message, msg_vals, data
            )
            for record, message, msg_vals, _kwargs, data in emails
        }
        everyone = {pid for ids in pids.values() for pid in ids}
        if not everyone:
            return
        # sudo: as Odoo's notification, which looks the devices up.
        devices = (
            self.env["mail.push.device"]
            .sudo()
            .search([("partner_id", "in", list(everyone))])
        )
        with_device = set(devices.partner_id.ids)
        for record, message, msg_vals, kwargs, data in emails:
            if with_device & set(pids[message.id]):
                params = {k: v for k, v in kwargs.items() if k in NOTIFY_BATCH_PARAMS}
                record._notify_thread_by_web_push(message, data, msg_vals, **params)

    @api.model
    def _shipment_post_batch_subscribe(self, records, msg_values_list):
        """message_post subscribes the author of a message that is not a
        notification (unless told not to): here grouped by author."""
        if self.env.context.get("mail_create_nosubscribe"):
            return
        by_author = defaultdict(list)
        for record, msg_values in zip(records, msg_values_list, strict=True):
            if msg_values["message_type"] != "notification":
                author = self._shipment_real_author(msg_values["author_id"])
                if author:
                    by_author[author].append(record.id)
        for author, ids in by_author.items():
            records.browse(ids)._message_subscribe(partner_ids=[author])

    @api.model
    def _shipment_real_author(self, author_id):
        """The partner message_post subscribes as the author."""
        if self.env.user.active:
            return self.env.user.partner_id.id
        if author_id and self.env["res.partner"].browse(author_id).active:
            return author_id
        return False
