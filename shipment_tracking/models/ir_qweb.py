# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from lxml import etree

from odoo import models

# Context key: while set, inline QWeb templates (a mail template's body) are
# compiled once per run of the notification cron instead of once per record.
COMPILE_ONCE = "shipment_tracking_qweb_compile_once"


class IrQweb(models.AbstractModel):
    _inherit = "ir.qweb"

    def _compile(self, template):
        """Odoo compiles an inline template (an etree, as a mail template's
        body is rendered) again for each record: the notification cron
        renders a batch of deliveries with the same body, so it keeps the
        compiled code for the batch, keyed by the template's source and the
        context the code depends on (language, options)."""
        memo_key = self.env.context.get(COMPILE_ONCE)
        if not memo_key or not isinstance(template, etree._Element):
            return super()._compile(template)
        memo = self.env.cr.cache.setdefault(memo_key, {})
        key = (
            etree.tostring(template),
            tuple(
                sorted(
                    (name, repr(value))
                    for name, value in self.env.context.items()
                    if name != COMPILE_ONCE
                )
            ),
        )
        if key not in memo:
            memo[key] = super()._compile(template)
        return memo[key]
