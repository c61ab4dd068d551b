# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
import random
import time
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tools import SQL

from ..const import (
    CLOSED_SHIPMENT_STATES,
    FINAL_SHIPMENT_STATES,
    MAX_HANDOVER_REFS,
    POLL_CONCURRENCY_RETRIES,
    POLL_CRON_XMLID,
    POLL_INTERVAL_MINUTES,
    POLL_MAX_INTERVAL_MINUTES,
)
from ..tools import create_unique, field_labels

_logger = logging.getLogger(__name__)

# How stale a carrier's "last polled" may get before a successful poll writes
# it again.
LAST_POLL_STEP = timedelta(minutes=1)


class ShipmentTrackingNumber(models.Model):
    """One carrier tracking number per parcel: the delivery itself, or one of
    its packages. Lets carrier events find their shipment in one query."""

    _name = "shipment.tracking.number"
    _description = "Parcel tracking number"
    _order = "id"

    name = fields.Char(string="Tracking Number", required=True, index=True)
    picking_id = fields.Many2one(
        "stock.picking", required=True, ondelete="cascade", index=True
    )
    package_id = fields.Many2one("stock.quant.package", ondelete="set null")
    carrier_id = fields.Many2one(
        related="picking_id.carrier_id", store=True, index=True
    )
    company_id = fields.Many2one(related="picking_id.company_id", store=True)
    is_handover = fields.Boolean(
        string="Hand-over",
        readonly=True,
        help="A number the carrier said the shipment continues under (e.g. "
        "with a local carrier): kept when the delivery's own numbers change, "
        "and without a tracking link, the carrier's link may not know it.",
    )
    tracking_url = fields.Char(compute="_compute_tracking_url")
    next_poll_date = fields.Datetime(
        string="Next Poll",
        copy=False,
        readonly=True,
        index=True,
        help="When the carrier is asked about this number next.",
    )
    poll_idle_count = fields.Integer(
        copy=False,
        readonly=True,
        help="Polls in a row that brought no news: each one doubles the wait.",
    )
    poll_error = fields.Char(string="Polling Error", copy=False, readonly=True)

    _sql_constraints = [
        (
            "name_picking_uniq",
            "unique(picking_id, name)",
            "A tracking number appears once per delivery.",
        ),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_poll_write_access(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._check_poll_write_access(vals)
        return super().write(vals)

    def _check_poll_write_access(self, vals):
        """The polling bookkeeping is the system's (the cron, carrier events):
        no role writes it by hand, as on the delivery before."""
        fnames = set(vals) & self._poll_fields()
        if fnames and not self.env.su:
            raise AccessError(
                _(
                    "These shipment fields are maintained by the system and cannot "
                    "be changed by hand: %(fields)s.",
                    fields=field_labels(self, fnames),
                )
            )

    @api.model
    def _poll_fields(self):
        return {"next_poll_date", "poll_idle_count", "poll_error"}

    def _shipment_open_domain(self):
        """Numbers of shipments a carrier may still report on (also checked
        in Python by ``_shipment_by_name``: keep both in step)."""
        return [
            ("picking_id.state", "!=", "cancel"),
            ("picking_id.shipment_state", "not in", list(CLOSED_SHIPMENT_STATES)),
        ]

    @api.constrains("name", "picking_id")
    def _check_open_number_unique(self):
        """A carrier gives a number to one parcel at a time: while a shipment
        is open, no delivery of another company takes its number with the
        same carrier, or that carrier's events (recipient, proof of delivery)
        would reach the other company. Within a company the newest open
        shipment takes the events (``_shipment_by_name``)."""
        for number in self.filtered("carrier_id"):
            # sudo: the clash is in a company the user may not read; only its
            # existence is told, not which delivery it is.
            clash = self.sudo().search_count(
                [
                    ("name", "=", number.name),
                    ("carrier_id", "=", number.carrier_id.id),
                    ("company_id", "!=", number.company_id.id),
                    *self._shipment_open_domain(),
                ],
                limit=1,
            )
            if clash:
                raise ValidationError(
                    _(
                        "Tracking number %(number)s of %(carrier)s is already used by "
                        "an open shipment of another company.",
                        number=number.name,
                        carrier=number.carrier_id.display_name,
                    )
                )

    def _shipment_by_name(self):
        """{number: record}, one shipment per number: the open one, else the
        most recent (carriers recycle numbers once a shipment is closed); a
        delivery's own number before a number it took over in a hand-over."""

        def rank(number):
            picking = number.picking_id
            return (
                # _shipment_open_domain, read from the cache: a domain walk
                # per record costs more than the rest of the ranking.
                picking.state != "cancel"
                and picking.shipment_state not in CLOSED_SHIPMENT_STATES,
                not number.is_handover,
                picking.shipment_date or picking.create_date,
                number.id,
            )

        return {number.name: number for number in self.sorted(rank)}

    @api.depends("name", "carrier_id", "is_handover")
    def _compute_tracking_url(self):
        for number in self:
            carrier = number.carrier_id
            number.tracking_url = (
                carrier._shipment_tracking_link(number.name)
                if carrier and not number.is_handover
                else False
            )

    @api.model
    def _add_handover_numbers(self, picking, refs):
        """Add the numbers the carrier says ``picking`` continues under
        (``next_tracking_refs``) to its tracking numbers, so that their events
        reach it. Never raises: a number that is not text, or already taken by
        an open shipment of another company with the same carrier, is skipped
        and logged (event intake goes on). A closed shipment takes none: its
        late scans must not pull in another parcel's number."""
        picking.ensure_one()
        if picking.shipment_state in FINAL_SHIPMENT_STATES:
            return
        if isinstance(refs, str):
            refs = [refs]
        if not isinstance(refs, list | tuple):
            _logger.warning(
                "%s: next_tracking_refs is not a list, ignored", picking.name
            )
            return
        # sudo: parcel numbers are system bookkeeping of what the carrier said.
        picking_sudo = picking.sudo()
        known = set(picking_sudo.tracking_number_ids.mapped("name"))
        refs = list(
            dict.fromkeys(
                ref.strip()
                for ref in refs[: MAX_HANDOVER_REFS * 20]
                if isinstance(ref, str) and ref.strip()
            )
        )
        refs = [ref for ref in refs if ref not in known][:MAX_HANDOVER_REFS]
        if not refs:
            return
        # A number another open shipment holds (any company, any carrier) is
        # that parcel's: a hand-over claim on it would divert its events.
        # sudo: only the existence of the clash is used, nothing is shown;
        # the numbers created are system bookkeeping (see above).
        Number = self.sudo()
        taken = set(
            Number.search(
                [
                    ("name", "in", refs),
                    ("picking_id", "!=", picking.id),
                    *Number._shipment_open_domain(),
                ]
            ).mapped("name")
        )
        added = []
        for ref in refs:
            if ref in taken:
                _logger.warning(
                    "%s: hand-over number %s not added: another open shipment "
                    "holds it",
                    picking.name,
                    ref,
                )
                continue
            try:
                number = create_unique(
                    Number,
                    {"name": ref, "picking_id": picking.id, "is_handover": True},
                )
            except ValidationError as error:
                _logger.warning(
                    "%s: hand-over number %s not added: %s", picking.name, ref, error
                )
                continue
            if number:
                added.append(ref)
        if added:
            picking_sudo.message_post(
                body=_(
                    "The carrier continues this shipment under tracking number "
                    "%(numbers)s.",
                    numbers=", ".join(added),
                ),
                subtype_xmlid="mail.mt_note",
            )

    # ------------------------------------------------------------------
    # Polling: each number keeps its own schedule and back-off
    # ------------------------------------------------------------------
    @api.model
    def _poll_domain(self, carriers):
        """Numbers of open, dispatched shipments of ``carriers`` that are due."""
        return [
            ("carrier_id", "in", carriers.ids),
            ("picking_id.picking_type_code", "=", "outgoing"),
            ("picking_id.state", "=", "done"),
            (
                "picking_id.shipment_state",
                "not in",
                [*CLOSED_SHIPMENT_STATES, "pending"],
            ),
            "|",
            ("next_poll_date", "=", False),
            ("next_poll_date", "<=", fields.Datetime.now()),
        ]

    @api.model
    def _cron_poll(self):
        """Refresh every open shipment's due numbers from their carrier, by
        carrier and in batches that commit their progress: a crash loses one
        batch at most and the next run resumes with what is still due.

        Each batch is claimed before its carrier is asked (``_poll_claim``):
        two runs at once (a cron worker and *Run Manually*, say) never ask
        for the same number. A carrier that cannot be reached ends its turn
        in this run (its other numbers wait for the next one), so that its
        retries do not eat the time of the carriers after it."""
        # sudo: a system job working for every company's shipments.
        self = self.sudo()  # noqa: PLW0642
        carriers = (
            self.env["delivery.carrier"]
            .search([])
            .filtered(lambda c: c._shipment_can_poll())
        )
        if not carriers:
            return
        todo = self.search(
            self._poll_domain(carriers), order="next_poll_date asc nulls first, id"
        )
        # A fresh snapshot for the claims: what another run committed since
        # is seen (and skipped), not a serialization failure.
        self.env.cr.commit()  # pylint: disable=invalid-commit
        done = 0
        # One pass over the due numbers, in their order (not one per carrier).
        by_carrier = todo.grouped("carrier_id")
        for carrier in carriers:
            size = carrier._shipment_poll_batch_size()
            numbers = by_carrier.get(carrier, self.browse())
            for start in range(0, len(numbers), size):
                batch = numbers[start : start + size]
                # An unreachable carrier's other numbers count as done: they
                # wait for the next run, not for a re-run of this one.
                rest = len(numbers) - start - len(batch)
                progress = (done + len(batch), done + len(batch) + rest)
                reached = batch._poll_commit(carrier, len(todo), progress)
                done = progress[0] if reached else progress[1]
                if not reached:
                    break

    def _poll_commit(self, carrier, total, progress):
        """Claim and poll this batch, report the run's progress (``progress``:
        numbers done if the carrier answered, if it did not; of ``total``)
        and commit.

        A concurrent transaction winning (a serialization failure, a
        deadlock: a webhook or the monitor writing the same shipment) costs
        this batch's transaction only: the batch is claimed again in a fresh
        one and the carrier's answer applied again (the carrier is not asked
        twice), up to POLL_CONCURRENCY_RETRIES times, as Odoo retries an RPC
        call. Past that the batch is left due, the cron is made due again a
        minute later and the carrier's turn in this run ends.

        :return: False when the carrier could not be reached, or its turn
            ended."""
        answers = {}
        for attempt in range(POLL_CONCURRENCY_RETRIES + 1):
            try:
                claimed = self._poll_claim()
                reached = claimed._poll_batch(carrier, answers) if claimed else True
                done = progress[0] if reached else progress[1]
                self.env["ir.cron"]._notify_progress(done=done, remaining=total - done)
                self.env.cr.commit()  # pylint: disable=invalid-commit
                return reached
            except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY as error:
                # As odoo.service.model.retrying: nothing of the lost
                # transaction is kept, in the database or in the caches.
                self.env.cr.rollback()
                self.env.reset()
                self.env.registry.reset_changes()
                if attempt == POLL_CONCURRENCY_RETRIES:
                    self._poll_give_up(carrier, total, progress[1], error)
                    return False
                _logger.warning(
                    "polling %s: batch of %s number(s) lost to a concurrent"
                    " transaction (%s), applying the answer again",
                    carrier.name,
                    len(self),
                    error.pgcode,
                )
                # Odoo's own retry pause (odoo.service.model.retrying).
                time.sleep(random.uniform(0.0, 2**attempt))  # noqa: S311
        return True

    def _poll_give_up(self, carrier, total, done, error):
        """A batch that kept losing to concurrent transactions stays due; the
        cron runs again a minute later (not at once, which would meet the
        same contention) and reports this carrier's numbers as done for this
        run, so that Odoo's cron runner does not call it again at once."""
        _logger.warning(
            "polling %s: batch of %s number(s) lost to concurrent transactions"
            " %s times (%s), left for the next run",
            carrier.name,
            len(self),
            POLL_CONCURRENCY_RETRIES + 1,
            error.pgcode,
        )
        cron = self.env.ref(POLL_CRON_XMLID, raise_if_not_found=False)
        if cron:
            cron._trigger(fields.Datetime.add(fields.Datetime.now(), minutes=1))
        self.env["ir.cron"]._notify_progress(done=done, remaining=total - done)
        self.env.cr.commit()  # pylint: disable=invalid-commit

    def _poll_claim(self):
        """These numbers, less those another transaction holds (a run polling
        them, a carrier event being recorded) or has polled since they were
        listed (no longer due), locked until this transaction ends."""
        if not self:
            return self
        rows = self.env.execute_query(
            SQL(
                """
                SELECT id FROM shipment_tracking_number
                 WHERE id IN %s
                   AND (next_poll_date IS NULL OR next_poll_date <= %s)
                 ORDER BY id
                   FOR NO KEY UPDATE SKIP LOCKED
                """,
                tuple(self.ids),
                fields.Datetime.now(),
                to_flush=self._fields["next_poll_date"],
            )
        )
        claimed = self.browse(row[0] for row in rows)
        # What another run wrote to them is read afresh.
        claimed.invalidate_recordset(self._poll_fields())
        return claimed

    def _poll_batch(self, carrier, answers=None):
        """Poll one batch in a savepoint: whatever fails in it (an answer the
        connector cannot read, an event the database refuses) leaves nothing
        half-written, is recorded on the carrier and the batch's numbers,
        and the other batches go on. Concurrency errors are not absorbed: the
        transaction is lost with them, the cron run stops there and the next
        run resumes with what is still due (committed batches are kept).

        :return: False when the carrier could not be reached."""
        try:
            with self.env.cr.savepoint():
                return self._poll(carrier, answers)
        except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
            raise
        except Exception as error:  # noqa: BLE001 - contained per batch
            _logger.exception(
                "polling %s failed for %s tracking number(s)", carrier.name, len(self)
            )
            self._poll_failed(carrier, _("Polling failed: %s", error))
            return True

    def _poll_failed(self, carrier, message):
        now = fields.Datetime.now()
        carrier.shipment_poll_error = message
        self._poll_backoff(now, error=message)

    def _poll(self, carrier, answers=None):
        """Poll one batch of numbers of ``carrier``: a number with news is
        asked again after the base interval, one without backs off on its
        own; then shipments silent for too long expire.

        ``answers`` (a dict, kept by the caller across attempts) remembers
        the carrier's answer: an attempt after a lost transaction applies it
        again rather than asking the carrier again for the same numbers.

        :return: whether the carrier answered."""
        now = fields.Datetime.now()
        answers = {} if answers is None else answers
        names = self.mapped("name")
        if not set(names) <= answers.get("asked", set()):
            try:
                answers["result"] = carrier._shipment_fetch_tracking(names)
            except UserError as error:
                self._poll_failed(carrier, str(error))
                return False
            answers["asked"] = set(names)
        result = answers["result"]
        last = carrier.shipment_last_poll_date
        # The carrier's row is written when it says something new: at most
        # once a minute on success, so that runs polling one carrier at once
        # rarely meet on it.
        if carrier.shipment_poll_error or not last or now - last >= LAST_POLL_STEP:
            carrier.write(
                {"shipment_poll_error": False, "shipment_last_poll_date": now}
            )
        pickings = self.picking_id
        # Numbers looked up among these shipments only: after a lost
        # transaction, the answer's numbers not claimed again are unknown here.
        applied = pickings._shipment_apply_carrier_events(
            result["events"], "poll", carrier
        )
        if applied["rejected"]:
            _logger.warning(
                "polling %s: %s event(s) refused: %s",
                carrier.name,
                len(applied["rejected"]),
                "; ".join(item["reason"] for item in applied["rejected"][:5]),
            )
        news = {(event.picking_id, event.tracking_ref) for event in applied["created"]}
        not_found = set(result.get("not_found") or [])
        # One write per group of numbers taking the same values.
        fresh, idle = {}, {}
        for number in self:
            error = (
                _("Unknown to the carrier: %(numbers)s", numbers=number.name)
                if number.name in not_found
                else False
            )
            group = fresh if (number.picking_id, number.name) in news else idle
            group.setdefault(error, []).append(number.id)
        next_poll = fields.Datetime.add(now, minutes=POLL_INTERVAL_MINUTES)
        for error, ids in fresh.items():
            self.browse(ids).write({"next_poll_date": next_poll, "poll_error": error})
        for error, ids in idle.items():
            self.browse(ids)._poll_backoff(now, error=error)
        pickings._shipment_expire_if_silent(now)
        return True

    def _poll_backoff(self, now, error=False):
        """No news: wait twice as long before asking again, up to a day
        (one write per group of numbers at the same step)."""
        for idle, numbers in self.grouped(lambda n: n.poll_idle_count + 1).items():
            delay = min(POLL_INTERVAL_MINUTES * 2**idle, POLL_MAX_INTERVAL_MINUTES)
            numbers.write(
                {
                    "poll_idle_count": idle,
                    "next_poll_date": fields.Datetime.add(now, minutes=delay),
                    "poll_error": error,
                }
            )

    @api.model
    def _poll_got_news(self, events):
        """Numbers that got news (``events`` just recorded, whatever their
        channel) start their back-off over and drop their polling error."""
        if not events:
            return
        # One query for the few numbers to reset (most have nothing to
        # reset), instead of reading every number of every shipment.
        news = {(event.picking_id.id, event.tracking_ref) for event in events}
        numbers = self.search_fetch(
            [
                ("picking_id", "in", events.picking_id.ids),
                ("picking_id.state", "!=", "cancel"),
                ("name", "in", list({ref for _picking, ref in news})),
                "|",
                ("poll_idle_count", "!=", 0),
                ("poll_error", "!=", False),
            ],
            ["picking_id", "name", "poll_idle_count", "poll_error"],
        )
        # The domain cannot pair each number with its own shipment.
        numbers.filtered(lambda n: (n.picking_id.id, n.name) in news).write(
            {"poll_idle_count": 0, "poll_error": False}
        )
