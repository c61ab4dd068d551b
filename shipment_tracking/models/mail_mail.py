# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models

# Failures that retrying cannot fix: the address itself is wrong.
PERMANENT_FAILURES = ("mail_email_invalid", "mail_email_missing")


class MailMail(models.Model):
    _inherit = "mail.mail"

    def _postprocess_sent_message(
        self, success_pids, failure_reason=False, failure_type=None
    ):
        # Before super(): auto-deleted mails lose their message link.
        for mail in self:
            # sudo: bookkeeping of the system-maintained notification status.
            pickings = mail.sudo().mail_message_id.shipment_notification_picking_ids
            pickings = pickings.filtered(
                lambda p: p.shipment_notification_state == "queued"
            )
            if not pickings:
                continue
            reason = failure_reason or mail.failure_reason or failure_type
            if not failure_type:
                pickings.write(
                    {
                        "shipment_notification_state": "sent",
                        "shipment_notification_error": False,
                    }
                )
            elif failure_type in PERMANENT_FAILURES:
                pickings._shipment_notification_failed(reason)
            else:
                # Transient (SMTP down, ...): the notification cron puts it back in
                # the queue until the attempts cap is reached.
                pickings.write({"shipment_notification_error": reason})
        return super()._postprocess_sent_message(
            success_pids, failure_reason=failure_reason, failure_type=failure_type
        )
