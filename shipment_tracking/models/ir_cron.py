# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
import os

from odoo import fields, models
from odoo.tools import SQL

from ..const import SHARED_WAKEUP
from ..tools.cron_wakeup import CRON_WAKEUP

_logger = logging.getLogger(__name__)


class IrCron(models.Model):
    _inherit = "ir.cron"

    def _shipment_trigger(self, at=None):
        """``_trigger(at)`` for this suite's queues: the triggers written in
        one statement, and the wake-up, when one is due now, over the
        process's kept connection (``_notifydb``)."""
        return self.with_context(**{SHARED_WAKEUP: True})._trigger(at)

    def _trigger_list(self, at_list):
        """The triggers this suite asks for (context key ``SHARED_WAKEUP``),
        as Odoo's ``_trigger_list`` writes them, in one statement instead of
        two and without the ORM's ``create``: it runs in the transaction of
        every dispatch, the warehouse worker's click included. The rule is
        Odoo's: an inactive job only takes triggers in the future; the
        workers are woken after the commit when one is due now. Nothing
        computes from, tracks or extends a trigger row (Odoo's model has
        its two columns and the audit ones); other add-ons' overrides of
        this method above this one still run."""
        if not self.env.context.get(SHARED_WAKEUP):
            return super()._trigger_list(at_list)
        self.ensure_one()
        if not at_list:
            return self.env["ir.cron.trigger"]
        now = fields.Datetime.now()
        # The job's flag as this transaction left it.
        self.flush_recordset(["active"])
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO ir_cron_trigger
                       (cron_id, call_at, create_uid, create_date,
                        write_uid, write_date)
                SELECT cron.id, at.call_at,
                       %(uid)s, now() AT TIME ZONE 'UTC',
                       %(uid)s, now() AT TIME ZONE 'UTC'
                  FROM ir_cron cron, unnest(%(ats)s::timestamp[]) AS at(call_at)
                 WHERE cron.id = %(cron)s
                   AND (cron.active OR at.call_at > %(now)s)
                RETURNING id, call_at
                """,
                uid=self.env.uid,
                now=now,
                ats=list(at_list),
                cron=self.id,
            )
        )
        rows = self.env.cr.fetchall()
        triggers = self.env["ir.cron.trigger"].browse([row[0] for row in rows])
        _logger.debug("Job %s will execute at %s", self.id, [row[1] for row in rows])
        if rows and (
            min(row[1] for row in rows) <= now or os.getenv("ODOO_NOTIFY_CRON_CHANGES")
        ):
            self.env.cr.postcommit.add(self._notifydb)
        return triggers

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
