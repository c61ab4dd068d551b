# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

from odoo import models

from ..const import SHARED_WAKEUP
from ..tools.cron_wakeup import CRON_WAKEUP

_logger = logging.getLogger(__name__)


class IrCron(models.Model):
    _inherit = "ir.cron"

    def _shipment_trigger(self, at=None):
        """``_trigger(at)`` for this suite's queues: the wake-up, when one is
        due now, goes over the process's kept connection (``_notifydb``)."""
        return self.with_context(**{SHARED_WAKEUP: True})._trigger(at)

    def _notifydb(self):
        """The wake-ups this suite asks for (context key ``SHARED_WAKEUP``)
        go over the process's kept connection, not a new one each time;
        those requested by other code, and one the kept connection did not
        take, as Odoo sends them. A wake-up sent here does not reach other
        add-ons' overrides of this method (it is the same ``NOTIFY``)."""
        if self.env.context.get(SHARED_WAKEUP) and CRON_WAKEUP.notify(
            self.env.cr.dbname
        ):
            _logger.debug("cron workers notified (kept connection)")
            return
        super()._notifydb()
