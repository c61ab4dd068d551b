# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict

from odoo import models
from odoo.exceptions import AccessDenied

# Context key: while set, names the cr.cache entry where the notification cron
# keeps the signup parameters it prepared for its batch's customers.
SIGNUP_ONCE = "shipment_tracking_signup_once"


class ResPartner(models.Model):
    _inherit = "res.partner"

    def signup_get_auth_param(self):
        """Odoo's portal links call this once per email, and for a customer
        without a user it writes the customer each time (``signup_prepare``):
        the notification cron prepares its batch's customers at once
        (``mail.thread._shipment_notify_batch_signup``) and the
        emails of the batch read what it prepared."""
        memo_key = self.env.context.get(SIGNUP_ONCE)
        # The context comes from the client over RPC: only our own memo's
        # name is looked up (and the memo lives in the cron's cursor only).
        memo = (
            self.env.cr.cache.get(memo_key)
            if isinstance(memo_key, str) and memo_key.startswith(f"{SIGNUP_ONCE}:")
            else None
        )
        if memo is None or not set(self.ids) <= memo.keys():
            return super().signup_get_auth_param()
        # Odoo's access rule.
        if not self.env.user._is_internal() and not self.env.is_admin():
            raise AccessDenied()
        res = defaultdict(dict)
        for partner_id in self.ids:
            res[partner_id].update(memo[partner_id])
        return res
