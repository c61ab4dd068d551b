# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models


class MailMail(models.Model):
    _inherit = "mail.mail"

    def _postprocess_sent_message(
        self, success_pids, failure_reason=False, failure_type=None
    ):
        # Before super(): auto-deleted mails are gone after it. sudo: the
        # outbox is system-maintained; only the messages these mails carry
        # are touched.
        # On a failure, exists(): a mail another process sent and deleted
        # meanwhile (Odoo sends a forced email after its transaction commits,
        # whatever the mail queue is doing) fails in the queue's run with a
        # MissingError, and has no outcome left to record, here or in super(),
        # which would fail the whole queue run on it. A mail just sent by
        # this process exists: no query for it.
        mails = self.exists() if failure_type else self
        ours = mails.filtered(lambda mail: mail.model == "stock.picking")
        if ours:
            self.env["shipment.tracking.notification"].sudo()._on_mail_outcome(
                ours, failure_type=failure_type, reason=failure_reason
            )
        return super(MailMail, mails)._postprocess_sent_message(
            success_pids, failure_reason=failure_reason, failure_type=failure_type
        )
