# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import functools
import logging
from datetime import timedelta

from markupsafe import Markup
from psycopg2.errors import SerializationFailure

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tools import SQL, split_every
from odoo.tools.sql import create_index

from ..const import (
    OUTBOX_ACTIVE_STATES,
    OUTBOX_BACKOFF_MINUTES,
    OUTBOX_BATCH_SIZE,
    OUTBOX_CHANNEL_STATES,
    OUTBOX_FALLBACK_PARTS,
    OUTBOX_STATES,
)
from ..tools import create_unique_each
from .ir_qweb import COMPILE_ONCE

_logger = logging.getLogger(__name__)

# cr.precommit.data key: when this transaction wants the cron woken up.
TRIGGER_KEY = "shipment_tracking.notification_due"
CRON_XMLID = "shipment_tracking.ir_cron_shipment_notification"


def _trigger_before_commit(env, due):
    """Pre-commit hook: one trigger per time messages were queued for (see
    ``_shipment_due_times``) since the hooks last ran. Odoo runs them at each
    flush (a commit, and a flushing savepoint's start and release), so the
    trigger is written in the same transaction, in the savepoint of the
    messages: a shipment rolled back in a batch takes its trigger with it,
    and the trigger exists exactly when the messages do.

    Odoo's ``ir.cron._trigger()`` writes it (two statements: the job's
    ``active`` flag, then the trigger rows, their audit columns by the ORM)
    and wakes the cron workers after the commit when one is due now, over
    the process's kept connection (``ir.cron._notifydb``)."""
    if not due:
        return
    # The id from the registry's cache of XML ids (no query, unlike env.ref).
    # sudo: waking a system job; no record of the user's is read or written.
    cron_id = (
        env["ir.model.data"]
        .sudo()
        ._xmlid_to_res_id(CRON_XMLID, raise_if_not_found=False)
    )
    if not cron_id:
        return
    now = fields.Datetime.now()
    cron = env["ir.cron"].browse(cron_id).sudo()
    cron._shipment_trigger(sorted({at or now for at in due}))


# kind -> (company setting that enables it, mail template xmlid)
NOTIFICATION_KINDS = {
    "dispatched": (
        "shipment_notify_dispatch",
        "shipment_tracking.mail_template_shipment_dispatched",
    ),
    "out_for_delivery": (
        "shipment_notify_out_for_delivery",
        "shipment_tracking.mail_template_shipment_out_for_delivery",
    ),
    "available_for_pickup": (
        "shipment_notify_available_for_pickup",
        "shipment_tracking.mail_template_shipment_available_for_pickup",
    ),
    "delivered": (
        "shipment_notify_delivered",
        "shipment_tracking.mail_template_shipment_delivered",
    ),
    "exception": (
        "shipment_notify_exception",
        "shipment_tracking.mail_template_shipment_exception",
    ),
    "late": ("shipment_notify_late", "shipment_tracking.mail_template_shipment_late"),
    "returned": (
        "shipment_notify_returned",
        "shipment_tracking.mail_template_shipment_returned",
    ),
    "recovered": (
        "shipment_notify_recovered",
        "shipment_tracking.mail_template_shipment_recovered",
    ),
}
# Channel states Customer Service may send again (the address may be fixed).
RETRY_STATES = ("failed", "no_address")
# Mail failures that may pass (the mail server could not be reached): retried
# after a backoff. Any other failure (a wrong address, an error after the
# server may have taken the email) is shown failed, never resent by itself.
TRANSIENT_MAIL_FAILURES = ("mail_smtp",)


class ShipmentTrackingNotification(models.Model):
    """The outbox: one row per customer message (the dispatch notice, each
    update), with a state per channel.

    ``key`` names the event the message is about (dispatch, a status reached,
    an incident opened or recovered); unique per shipment, so no event is
    ever told twice. The notification cron claims due rows (``FOR UPDATE SKIP
    LOCKED``: concurrent runs never take the same row), renders each channel
    in a savepoint of its own, and hands the result to Odoo's mail or SMS
    queue; the queues' outcomes come back here (``_on_mail_outcome``), and a
    transport failure that may pass is retried with a backoff up to the
    company's attempt cap."""

    _name = "shipment.tracking.notification"
    _description = "Shipment customer message"
    _order = "id desc"

    picking_id = fields.Many2one(
        "stock.picking", required=True, ondelete="cascade", index=True
    )
    # Stored for the multi-company record rule.
    company_id = fields.Many2one(
        related="picking_id.company_id", store=True, index=True, precompute=True
    )
    partner_id = fields.Many2one(related="picking_id.partner_id", string="Customer")
    kind = fields.Selection(
        [(kind, kind.replace("_", " ").capitalize()) for kind in NOTIFICATION_KINDS],
        required=True,
        readonly=True,
    )
    key = fields.Char(required=True, readonly=True)
    incident_id = fields.Many2one(
        "shipment.tracking.incident", ondelete="set null", readonly=True
    )
    state = fields.Selection(
        OUTBOX_STATES,
        compute="_compute_state",
        store=True,
        precompute=True,
        index=True,
        help="Queued while a channel has work left (to send, waiting for a "
        "retry, in Odoo's mail or SMS queue); Failed when a channel gave up.",
    )
    is_pending = fields.Boolean(
        string="To Send",
        compute="_compute_state",
        store=True,
        precompute=True,
        help="A channel waits to be sent or retried by the notification cron.",
    )
    next_attempt = fields.Datetime(
        compute="_compute_state",
        store=True,
        precompute=True,
        help="When the cron takes this message next: the earliest retry "
        "among the channels waiting; empty: as soon as it runs.",
    )
    email_state = fields.Selection(
        OUTBOX_CHANNEL_STATES,
        string="Email",
        default="pending",
        required=True,
        readonly=True,
    )
    email_attempts = fields.Integer(readonly=True)
    email_error = fields.Char(readonly=True)
    email_next_attempt = fields.Datetime(readonly=True, string="Next Email Attempt")
    mail_message_id = fields.Many2one(
        "mail.message", string="Email Message", ondelete="set null", readonly=True
    )
    # The mail.mail by id, not a foreign key: Odoo deletes a sent mail in the
    # mail queue's transaction, and an ON DELETE SET NULL on this row would
    # make that transaction fail on any concurrent change of the row (the
    # cron on its SMS channel), rolling back the record that the email went.
    mail_ref = fields.Integer(
        string="Outgoing Email ID", readonly=True, index="btree_not_null"
    )
    mail_id = fields.Many2one(
        "mail.mail",
        string="Outgoing Email",
        compute="_compute_mail_id",
        groups="base.group_system",
    )

    can_retry = fields.Boolean(compute="_compute_can_retry")

    _sql_constraints = [
        ("key_uniq", "unique(picking_id, key)", "An event is notified once."),
    ]

    def init(self):
        # The claim loop reads the pending rows only: a small index however
        # long the history of sent messages grows.
        create_index(
            self.env.cr,
            "shipment_tracking_notification_due_idx",
            self._table,
            ["next_attempt", "id"],
            where="is_pending",
        )

    @api.depends("picking_id.name", "kind")
    def _compute_display_name(self):
        kinds = dict(self._fields["kind"]._description_selection(self.env))
        for row in self:
            row.display_name = f"{row.picking_id.name} – {kinds.get(row.kind, '')}"

    @api.depends("mail_ref")
    def _compute_mail_id(self):
        for row in self:
            row.mail_id = row._get_mail()

    def _get_mail(self):
        """The outgoing email, if Odoo still has it (deleted once sent)."""
        self.ensure_one()
        return self.env["mail.mail"].sudo().browse(self.mail_ref).exists()

    def _compute_can_retry(self):
        for row in self:
            row.can_retry = any(
                row._channel_retryable(channel) for channel in self._channels()
            )

    def _channel_retryable(self, channel):
        """Whether Customer Service may send ``channel`` again."""
        self.ensure_one()
        return self[f"{channel}_state"] in RETRY_STATES

    # ------------------------------------------------------------------
    # Queueing
    # ------------------------------------------------------------------
    @api.model
    def _enqueue(self, picking, kind, key, incident=None):
        """Queue ``kind`` for ``picking`` unless that event was queued before
        or the company does not notify it. Safe against concurrent runs: the
        unique key decides, a duplicate is absorbed."""
        picking.ensure_one()
        return self._enqueue_many(picking, kind, key, incident)

    @api.model
    def _enqueue_many(self, pickings, kind, key, incident=None):
        """``_enqueue`` for each of ``pickings`` under the same ``key``: their
        rows created together in one savepoint (the ORM's INSERTs, up to 100
        rows each), one savepoint per delivery only when one of them was
        queued before. Returns the messages queued. The rows go in in the
        deliveries' order, the same in every transaction: two that queue for
        the same deliveries wait for each other, never deadlock."""
        # The deliveries' notification state (an internal field) in the
        # cache with the rest: its recompute leaves it alone when unchanged.
        pickings._shipment_fetch_with_internal()
        wanted = pickings.sorted("id").filtered(
            lambda picking: self._enqueue_wanted(picking, kind)
        )
        return create_unique_each(
            self,
            [self._prepare_values(picking, kind, key, incident) for picking in wanted],
        )

    @api.model
    def _enqueue_wanted(self, picking, kind):
        """Whether a ``kind`` message is wanted for ``picking``: its
        company's setting. The hook add-ons extend (every path that queues a
        customer message asks it, the dispatch included)."""
        setting, _template = NOTIFICATION_KINDS[kind]
        return bool(picking.company_id[setting])

    @api.model_create_multi
    def create(self, vals_list):
        rows = super().create(vals_list)
        # A message queued by any path (a dispatch, an update): the cron
        # must run once this transaction commits.
        if any(rows.mapped("is_pending")):
            self._shipment_mark_due()
        return rows

    def write(self, vals):
        res = super().write(vals)
        # A channel put back in the queue (a retry, a resend): the cron must
        # run, at once or when the retry is due.
        for channel in self._channels():
            if vals.get(f"{channel}_state") == "pending":
                at = vals.get(f"{channel}_next_attempt")
                self._shipment_mark_due(fields.Datetime.to_datetime(at) if at else None)
        return res

    @api.model
    def _prepare_values(self, picking, kind, key, incident=None):
        """Every field of a new message, channels included: the system's
        values, never a default someone set (``ir.default``)."""
        vals = {
            "picking_id": picking.id,
            "kind": kind,
            "key": key,
            "incident_id": incident.id if incident else False,
            "mail_message_id": False,
            "mail_ref": 0,
        }
        for channel in self._channels():
            vals.update(
                {
                    f"{channel}_state": "pending",
                    f"{channel}_attempts": 0,
                    f"{channel}_error": False,
                    f"{channel}_next_attempt": False,
                }
            )
        return vals

    @api.model
    def _channels(self):
        """The channels of a message; each has ``<channel>_state``,
        ``_attempts``, ``_error``, ``_next_attempt`` fields and a
        ``_send_<channel>`` method."""
        return ["email"]

    @api.depends("email_state", "email_next_attempt")
    def _compute_state(self):
        channels = self._channels()
        for row in self:
            states = [row[f"{channel}_state"] for channel in channels]
            if any(state in OUTBOX_ACTIVE_STATES for state in states):
                row.state = "queued"
            elif "failed" in states:
                row.state = "failed"
            elif "sent" in states:
                row.state = "sent"
            else:
                row.state = "skipped"
            due = [
                row[f"{channel}_next_attempt"]
                for channel in channels
                if row[f"{channel}_state"] == "pending"
            ]
            row.is_pending = bool(due)
            # A channel without a retry time is due at once.
            row.next_attempt = min(due) if due and all(due) else False

    # ------------------------------------------------------------------
    # The claim loop
    # ------------------------------------------------------------------
    @api.model
    def _cron_send(self, batch_size=None):
        """Send one batch of due messages and report the rest to the cron
        runner, which calls again at once while some remain (and re-schedules
        itself after ten calls): bounded work per call, as core's mail queue.
        Return how many messages were taken."""
        # sudo: a system job; it only sends what the system queued.
        self = self.sudo()  # noqa: PLW0642
        batch_size = batch_size or int(
            self.env["ir.config_parameter"].get_param(
                "shipment_tracking.notification_batch_size", OUTBOX_BATCH_SIZE
            )
        )
        lost = self._reconcile(batch_size)
        rows = self._claim(batch_size, exclude=lost)
        rows._process()
        remaining = self.search_count(self._due_domain()) if rows else 0
        self.env["ir.cron"]._notify_progress(done=len(rows), remaining=remaining)
        rows._wake_queues()
        return len(rows)

    @api.model
    def _due_domain(self):
        return [
            ("is_pending", "=", True),
            "|",
            ("next_attempt", "=", False),
            ("next_attempt", "<=", fields.Datetime.now()),
        ]

    @api.model
    def _claim(self, limit, exclude=None):
        """Lock up to ``limit`` due messages, oldest due first, skipping those
        a concurrent run holds: no message is taken twice. ``exclude``: rows
        this call already lost to a concurrent transaction (they would lose
        the lock too)."""
        domain = self._due_domain()
        if exclude:
            domain = [*domain, ("id", "not in", exclude.ids)]
        query = self._search(
            domain, order="next_attempt asc nulls first, id", limit=limit
        )
        try:
            return self.browse(self._lock_ids(query))
        except SerializationFailure:
            # A due row changed since this transaction began (an outcome
            # recorded by Odoo's mail or SMS queue, a user's retry): it
            # cannot be locked in this transaction, the others can: the due
            # rows, read without a lock, are locked by parts.
            due_ids = [row[0] for row in self.env.execute_query(query.select())]
        except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY as error:
            # A lock held past the lock timeout, a deadlock: nothing is
            # taken this call.
            self.browse()._defer_after_conflict("claim", error)
            return self.browse()
        return self.browse(due_ids)._claim_by_halves()

    @api.model
    def _lock_ids(self, query):
        """The ids of ``query`` (a ``Query``) locked, less those a concurrent
        transaction holds, in a savepoint: a conflict leaves the transaction
        usable."""
        # Raw SQL: the ORM has no row lock. What the query reads is flushed
        # first (pending recomputes of the due fields included).
        lock_sql = SQL("%s FOR UPDATE SKIP LOCKED", query.select())
        self.env.flush_query(lock_sql)
        with self.env.cr.savepoint(flush=False):
            # Not logged as an error: the caller handles a conflict.
            self.env.cr.execute(lock_sql, log_exceptions=False)
            return [row[0] for row in self.env.cr.fetchall()]

    def _claim_by_halves(self):
        """Lock these due rows (read without a lock, in the claim's order) by
        parts, halving a part that holds a row changed since this
        transaction began down to that row, which is left for the next call.

        Locking by id without the due domain is safe: in this REPEATABLE
        READ transaction a row locks only if nobody changed it since the
        snapshot the ids were read in, so it is still due. Rows another run
        holds are skipped and not replaced: the batch may be smaller than
        the claim's limit. One changed row costs two lock attempts per
        halving; past ``8 x log2(rows)`` attempts (a batch that changed
        wholesale) the parts not locked yet wait for the next call too."""
        locked, left, parts = set(), [], [self.ids] if self else []
        budget = 8 * len(self).bit_length()
        error = None
        while parts:
            part = parts.pop()
            if not budget:
                left += part
                continue
            budget -= 1
            try:
                locked.update(
                    self._lock_ids(self._search([("id", "in", part)], order="id"))
                )
            except SerializationFailure as failure:
                error = failure
                if len(part) == 1:
                    left += part
                    continue
                middle = len(part) // 2
                parts += [part[middle:], part[:middle]]
            except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY as failure:
                # A lock timeout or a deadlock: what is locked goes now.
                error = failure
                left += part + [row_id for rest in parts for row_id in rest]
                parts = []
        if left:
            self.browse(left)._defer_after_conflict("claim", error)
        return self.filtered(lambda row: row.id in locked)

    def _process(self):
        """Send the due channels of these messages, channel by channel, in
        batches: one savepoint per channel for the whole batch, templates
        rendered for all its rows at once (``_process_channel`` for what
        happens when the batch fails)."""
        # The deliveries as sending reads them, their internal fields with
        # the rest (one statement): the inquiry flag a post looks at, the
        # notification state a sent message recomputes.
        self.picking_id._shipment_fetch_with_internal()
        now = fields.Datetime.now()
        for channel in self._channels():
            due = self.filtered(
                lambda row, channel=channel: row._channel_due(channel, now)
            )
            if due:
                due._process_channel(channel)

    def _channel_due(self, channel, now):
        self.ensure_one()
        due = self[f"{channel}_next_attempt"]
        return self[f"{channel}_state"] == "pending" and not (due and due > now)

    def _process_channel(self, channel):
        """Send ``channel`` of these rows in one batch. Should the batch fail,
        it is sent again in eighths, each a batch of its own, and an eighth
        that fails too row by row: one message that cannot be sent costs its
        eighth of single sends, not the whole batch. Row by row, a call sends
        at most a quarter of its rows; the eighths past that stay due for the
        next call (Odoo's cron runner calls again at once), so that a call
        stays as short as a batch whatever its rows hold."""
        if len(self) == 1 or not self._send_batch(channel):
            if len(self) <= OUTBOX_FALLBACK_PARTS:
                self._send_one_by_one(channel)
                return
            budget = len(self) // 4
            for ids in split_every(-(-len(self) // OUTBOX_FALLBACK_PARTS), self.ids):
                part = self.browse(ids)
                if part._send_batch(channel):
                    continue
                if budget < len(part):
                    _logger.info(
                        "shipment messages %s: %s left for the next call",
                        part.ids,
                        channel,
                    )
                    continue
                budget -= len(part)
                part._send_one_by_one(channel)

    def _send_batch(self, channel):
        """Send ``channel`` of these rows at once, in one savepoint: True when
        the batch went, or lost to a concurrent transaction and was deferred
        (``_defer_after_conflict``; not split: its parts would lose in the
        same snapshot); False when a message failed (nothing of the batch
        kept), to be found row by row."""
        # Opened before the try: a conflict in its opening flush has lost
        # the transaction, not this batch, and is not absorbed.
        savepoint = self.env.cr.savepoint()
        try:
            with savepoint:
                getattr(self, f"_send_{channel}_batch")()
            return True
        except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY as error:
            self._defer_after_conflict(channel, error, channel=channel)
            return True
        except Exception:  # noqa: BLE001 - found row by row
            _logger.info(
                "shipment messages %s: %s batch failed",
                self.ids,
                channel,
                exc_info=True,
            )
            return False

    def _send_one_by_one(self, channel):
        """Send ``channel`` of each row in a savepoint of its own: a message
        that fails to render or send is marked failed with the reason, and
        the others go on."""
        for row in self:
            savepoint = self.env.cr.savepoint()
            try:
                with savepoint:
                    getattr(row, f"_send_{channel}")()
            except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY as error:
                row._defer_after_conflict(channel, error, channel=channel)
            except Exception as error:  # noqa: BLE001 - one message, not the queue
                _logger.exception(
                    "shipment message %s (%s): %s failed", row.id, row.kind, channel
                )
                row._channel_failed_safely(
                    channel,
                    _("could not be prepared: %(error)s", error=str(error)[:300]),
                )

    def _fresh_for(self, channel):
        """The rows whose ``channel`` was never rendered (no message yet):
        the batch renders them; a retry re-queues what exists, row by row."""
        ref, message = {"email": ("mail_ref", "mail_message_id")}.get(
            channel, (f"{channel}_ref", f"{channel}_message_id")
        )
        return self.filtered(lambda row: not row[ref] and not row[message])

    def _by_template(self, templates):
        """``(template xmlid, rows)`` for these rows, at most one row per
        delivery in each (a composer renders a delivery once)."""
        groups = []
        for kind, rows in self.grouped("kind").items():
            left = rows
            while left:
                chunk, seen = self.browse(), set()
                for row in left:
                    if row.picking_id.id not in seen:
                        seen.add(row.picking_id.id)
                        chunk |= row
                groups.append((templates[kind], chunk))
                left -= chunk
        return groups

    def _channel_failed_safely(self, channel, reason):
        """Mark ``channel`` failed after an error; should telling the chatter
        fail too (the delivery's chatter is what broke), the state alone is
        written: the row is never claimed again."""
        self.ensure_one()
        savepoint = self.env.cr.savepoint()
        try:
            with savepoint:
                self._channel_failed(channel, reason, attempted=True)
        except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY as error:
            # Still pending: the next attempt fails again, or goes through.
            self._defer_after_conflict(channel, error, channel=channel)
            return
        except Exception:  # noqa: BLE001
            _logger.exception("shipment message %s: chatter note failed", self.id)
            self.write(
                {
                    f"{channel}_state": "failed",
                    f"{channel}_error": reason,
                    f"{channel}_attempts": self[f"{channel}_attempts"] + 1,
                }
            )

    def _defer_after_conflict(self, step, error, channel=None):
        """These rows lost ``step`` to a concurrent transaction (Odoo's mail
        or SMS queue recording an outcome of the same delivery, a user's
        retry): their savepoint was rolled back and the rest of the call
        goes on. Odoo never runs a cron again after such an error, as it
        does a request: the rows wait for a run in a minute or two (the
        cron's wake-ups are on the minute). Rows this call claimed (locked,
        ``channel`` given) wait on that channel, so that a conflict that
        lasts never keeps them at the head of the queue; for the others
        (reconciled rows, rows the claim could not lock, or none when the
        claim lost) the cron is woken then."""
        _logger.info(
            "shipment messages %s: %s lost to a concurrent transaction (%s),"
            " deferred a minute",
            self.ids,
            step,
            error.pgcode,
        )
        at = fields.Datetime.now() + timedelta(minutes=1)
        if channel:
            # The rows' own columns only: their channel state, which the
            # delivery follows, would write the delivery again, the row the
            # concurrent transaction changed (the whole call would be lost).
            self.write({f"{channel}_next_attempt": at})
        self._shipment_mark_due(at)

    def _wake_queues(self):
        """Odoo's mail queue sends what these messages queued now, not at its
        next run."""
        if any(row.email_state == "outgoing" for row in self):
            self.env.ref("mail.ir_cron_mail_scheduler_action")._shipment_trigger()

    # ------------------------------------------------------------------
    # Email
    # ------------------------------------------------------------------
    def _email_skip_state(self):
        """``(state, reason)`` when this message must not be emailed, else
        ``(False, False)``."""
        self.ensure_one()
        if not self.picking_id._get_shipment_notification_partner():
            return (
                "no_address",
                _("neither the delivery address nor the customer has an email address"),
            )
        return False, False

    def _send_email(self):
        """Render the email in the customer's language into Odoo's mail queue,
        logged in the delivery's chatter; a retry re-queues the same email."""
        self.ensure_one()
        mail = self._get_mail()
        if mail and mail.state in ("exception", "cancel"):
            mail.mark_outgoing()
            self.write(
                {"email_state": "outgoing", "email_attempts": self.email_attempts + 1}
            )
            return
        if self._email_notification_status() == "sent":
            # Resent by hand (chatter, Technical > Emails) while it waited for
            # its retry: it went, never render it again.
            self.write({"email_state": "sent", "email_error": False})
            return
        state, reason = self._email_skip_state()
        if state:
            self._email_skipped(state, reason)
            return
        self._email_post(NOTIFICATION_KINDS[self.kind][1])

    def _send_email_batch(self):
        """``_send_email`` for many rows: those never rendered are rendered
        and posted together, per template; retries one by one."""
        fresh = self._fresh_for("email")
        for row in self - fresh:
            row._send_email()
        to_post = self.browse()
        for row in fresh:
            state, reason = row._email_skip_state()
            if state:
                row._email_skipped(state, reason)
            else:
                to_post |= row
        templates = {kind: xmlid for kind, (_s, xmlid) in NOTIFICATION_KINDS.items()}
        for xmlid, rows in to_post._by_template(templates):
            rows._email_post(xmlid)

    def _email_skipped(self, state, reason):
        self.ensure_one()
        self.write({"email_state": state, "email_error": reason})
        if self.kind == "dispatched":
            self.picking_id.message_post(
                body=_("No dispatch email was sent: %(reason)s.", reason=reason),
                subtype_xmlid="mail.mt_note",
            )

    def _email_post(self, template_xmlid):
        """Render ``template_xmlid`` for these rows (one per delivery) in the
        customer's language, post it on each delivery for the customer only,
        into Odoo's mail queue."""
        context = {
            "mail_notify_force_send": False,
            "shipment_tracking_customer_only": True,
            # Read later than sent: never "today" or "tomorrow".
            "shipment_tracking_absolute_dates": True,
        }
        template = self.env.ref(template_xmlid)
        one_by_one = self._email_post_one_by_one()
        for row in one_by_one:
            row._email_post_with_source(template, context)
        rows = self - one_by_one
        if rows:
            rows._email_post_batch(template, context)

    def _email_post_one_by_one(self):
        """The rows whose email goes through the delivery's
        ``message_post_with_source``, one at a time: add-ons that send
        another email in its place override that method."""
        return self.browse()

    def _email_post_with_source(self, template, context):
        self.ensure_one()
        picking = self.picking_id
        partner = picking._get_shipment_notification_partner()
        message = picking.with_context(**context).message_post_with_source(
            template,
            email_layout_xmlid="mail.mail_notification_layout",
            subtype_xmlid="mail.mt_comment",
            message_type="comment",
            partner_ids=partner.ids,
        )[:1]
        mail = self.env["mail.mail"].search(
            [("mail_message_id", "=", message.id)], limit=1
        )
        self._email_posted({picking.id: message}, {message.id: mail})

    def _email_post_batch(self, template, context):
        pickings = self.picking_id
        composer = (
            self.env["mail.compose.message"]
            .with_context(
                default_composition_mode="comment",
                default_model=pickings._name,
                default_res_ids=pickings.ids,
                default_template_id=template.id,
                **context,
            )
            .create(
                {
                    "message_type": "comment",
                    "subtype_id": self.env["ir.model.data"]._xmlid_to_res_id(
                        "mail.mt_comment"
                    ),
                    "email_layout_xmlid": "mail.mail_notification_layout",
                }
            )
        )
        # The body is compiled once for the batch, not once per delivery.
        memo_key = f"{COMPILE_ONCE}:{template.id}"
        try:
            values = composer.with_context(
                **{COMPILE_ONCE: memo_key}
            )._prepare_mail_values(pickings.ids)
        finally:
            self.env.cr.cache.pop(memo_key, None)
        self._set_authors(values)
        posting = pickings.with_context(**context)
        # The records' environment (context, user) is the one the batch
        # reads, as message_post reads the record's.
        messages = posting.env["mail.thread"]._shipment_post_batch(posting, values)
        mails = {
            mail.mail_message_id.id: mail
            for mail in self.env["mail.mail"].search(
                [("mail_message_id", "in", [m.id for m in messages.values()])]
            )
        }
        self._email_posted(messages, mails)

    def _email_posted(self, messages, mails):
        """Record the emails posted for these rows: ``messages`` by delivery
        id, ``mails`` (the queued mail.mail) by message id."""
        for row in self:
            message = messages[row.picking_id.id]
            mail = mails.get(message.id, self.env["mail.mail"])
            row.write(
                {
                    # No email when the customer reads Odoo's inbox (a user).
                    "email_state": "outgoing" if mail else "sent",
                    "email_attempts": row.email_attempts + 1,
                    "email_error": False,
                    "mail_message_id": message.id,
                    "mail_ref": mail.id,
                }
            )
        self.filtered(lambda row: row.kind == "dispatched")._log_dispatch_on_order()

    @api.model
    def _set_authors(self, values):
        """The author of each email: the partner of its rendered sender
        address, else the current user, as the composer sets it for one
        delivery (for a batch, it takes the current user)."""
        Thread = self.env["mail.thread"].with_context(active_test=False)
        authors = {}
        for post in values.values():
            email_from = post.get("email_from")
            if email_from not in authors:
                author_id = None
                if email_from:
                    author_id, _email = Thread._message_compute_author(
                        None, email_from, raise_on_email=False
                    )
                authors[email_from] = author_id or self.env.user.partner_id.id
            post["author_id"] = authors[email_from]

    def _email_notification_status(self):
        """What Odoo's notifications of this message's email say: 'sent' when
        it reached the customer's mail server, else the most telling status
        ('exception', 'bounce', 'canceled', 'ready') or False. They outlive the
        ``mail.mail``, deleted once sent."""
        self.ensure_one()
        statuses = set(
            self.mail_message_id.notification_ids.filtered(
                lambda n: n.notification_type == "email"
            ).mapped("notification_status")
        )
        for status in ("sent", "exception", "bounce", "canceled", "ready"):
            if status in statuses:
                return status
        return False

    def _log_dispatch_on_order(self):
        """The sales orders' chatter says what the customer was told: a note
        on each order, logged for all of them at once."""
        pending = self.filtered("picking_id.sale_id")
        SaleOrder = self.env["sale.order"]
        while pending:
            bodies, done = {}, self.browse()
            for row in pending:
                order = row.picking_id.sale_id
                if order.id not in bodies:
                    bodies[order.id] = row._dispatch_note()
                    done |= row
            SaleOrder.browse(list(bodies))._message_log_batch(bodies)
            pending -= done

    def _dispatch_note(self):
        self.ensure_one()
        picking = self.picking_id
        return Markup(
            "<p>%s</p>"
            '<p><a href="#" data-oe-model="stock.picking" '
            'data-oe-id="%s">%s</a></p>'
        ) % (
            _(
                "Dispatch notification queued for %(email)s: %(carrier)s, "
                "tracking number %(ref)s, estimated delivery %(edd)s.",
                email=picking._get_shipment_notification_partner().email,
                carrier=picking.carrier_id.name or "",
                ref=picking.carrier_tracking_ref,
                edd=picking.expected_delivery_date or _("unknown"),
            ),
            picking.id,
            picking.name,
        )

    @api.model
    def _on_mail_outcome(self, mails, failure_type=None, reason=False):
        """Odoo's mail queue tried ``mails``: the messages they carry are
        sent, failed for good (a wrong address), or wait for a retry.

        In a savepoint: a concurrent change of the same row (the cron working
        on its other channel) must never fail the mail queue's transaction,
        which would forget that the email went and send it again. The cron
        then reads the outcome from the mail itself (``_reconcile``)."""
        self._record_outcome(
            lambda: self._apply_mail_outcome(mails, failure_type, reason), "mail", mails
        )

    @api.model
    def _record_outcome(self, apply, what, records):
        """Run ``apply()`` (an outcome hook of Odoo's mail or SMS queue) in a
        savepoint that swallows any error: the queue's transaction, after the
        message went, must never fail; the woken cron reconciles instead."""
        try:
            with self.env.cr.savepoint():
                apply()
        except Exception:  # noqa: BLE001 - never fail a queue after a send
            _logger.info(
                "%s %s: outcome left to the notification cron",
                what,
                records.ids,
                exc_info=True,
            )
            # Nothing was queued, but the cron has an outcome to reconcile.
            self._shipment_mark_due()

    @api.model
    def _reconcile(self, limit):
        """Channels still *in the queue* whose mail or SMS has an outcome the
        hooks could not record (a concurrent change of the row, a message
        deleted after it was sent): record it now, channel by channel
        (``_reconcile_rows_<channel>`` finds them, ``_reconcile_<channel>``
        settles one). Return the rows lost to a concurrent transaction."""
        lost = self.browse()
        for channel in self._channels():
            for row in getattr(self, f"_reconcile_rows_{channel}")(limit) - lost:
                # A row at a time in a savepoint: one that cannot be settled
                # never stops the others or the claim loop.
                savepoint = self.env.cr.savepoint()
                try:
                    with savepoint:
                        getattr(row, f"_reconcile_{channel}")()
                except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY as error:
                    row._defer_after_conflict(f"{channel} outcome", error)
                    lost |= row
                except Exception:  # noqa: BLE001
                    _logger.exception("shipment message %s: reconcile failed", row.id)
        return lost

    @api.model
    def _reconcile_rows_email(self, limit):
        return self._reconcile_rows(
            "email", "mail_ref", "mail.mail", ("outgoing",), limit
        )

    @api.model
    def _reconcile_rows(self, channel, ref, model, waiting_states, limit):
        """Up to ``limit`` rows whose ``channel`` is in the queue while its
        message (``ref``, an id of ``model``) is not waiting there any more:
        one query, however many rows are in the queue."""
        self.env[model].flush_model(["state"])
        table = self.env[model]._table
        query = self._search(
            [(f"{channel}_state", "=", "outgoing")], order="id", limit=limit
        )
        query.add_where(
            SQL(
                "NOT EXISTS (SELECT 1 FROM %s WHERE %s.id = %s AND %s.state IN %s)",
                SQL.identifier(table),
                SQL.identifier(table),
                SQL.identifier(self._table, ref),
                SQL.identifier(table),
                waiting_states,
            )
        )
        return self.browse(row[0] for row in self.env.execute_query(query.select()))

    def _reconcile_email(self):
        self.ensure_one()
        mail = self._get_mail()
        if not mail:
            # Deleted: once sent (auto-delete), or by someone before it went.
            if self._email_notification_status() == "sent":
                self.write({"email_state": "sent", "email_error": False})
            else:
                self._channel_failed(
                    "email", _("deleted from the mail queue before it was sent")
                )
        elif mail.state == "cancel":
            # Cancelled by someone in Odoo's mail queue: not ours to retry.
            self._channel_failed("email", _("cancelled in the mail queue"))
        else:
            failure = mail.failure_type or (
                "mail_smtp" if mail.state == "exception" else None
            )
            self._apply_mail_outcome(mail, failure, mail.failure_reason)

    @api.model
    def _apply_mail_outcome(self, mails, failure_type=None, reason=False):
        if not failure_type:
            # Also a mail resent by hand while its row waited for a retry or
            # had failed: it went, the row must not send it again.
            self.search(
                [
                    ("mail_ref", "in", mails.ids),
                    ("email_state", "in", ("outgoing", "pending", "failed")),
                ]
            ).write({"email_state": "sent", "email_error": False})
            return
        rows = self.search(
            [("mail_ref", "in", mails.ids), ("email_state", "=", "outgoing")]
        )
        for row in rows:
            error = reason or row._get_mail().failure_reason or failure_type
            if failure_type in TRANSIENT_MAIL_FAILURES:
                row._channel_retry_or_fail("email", error)
            else:
                row._channel_failed("email", error)

    # ------------------------------------------------------------------
    # Retries and failures (every channel)
    # ------------------------------------------------------------------
    def _channel_retry_or_fail(self, channel, reason):
        """A transport failure that may pass: try again after a backoff, or
        give up once the company's attempt cap is reached."""
        self.ensure_one()
        attempts = self[f"{channel}_attempts"]
        if attempts >= self._channel_max_attempts(channel):
            self._channel_failed(channel, reason)
            return
        delay = OUTBOX_BACKOFF_MINUTES[
            min(max(attempts - 1, 0), len(OUTBOX_BACKOFF_MINUTES) - 1)
        ]
        self.write(
            {
                f"{channel}_state": "pending",
                f"{channel}_error": reason,
                f"{channel}_next_attempt": fields.Datetime.add(
                    fields.Datetime.now(), minutes=delay
                ),
            }
        )

    def _channel_max_attempts(self, channel):
        """How many times ``channel`` is tried before it is marked failed."""
        self.ensure_one()
        return self.company_id._get_shipment_notification_max_attempts()

    def _channel_failed(self, channel, reason, attempted=False):
        """Give up on ``channel``: the message shows it failed and why, in
        the *Failed* list and the delivery's chatter."""
        self.ensure_one()
        vals = {f"{channel}_state": "failed", f"{channel}_error": reason}
        if attempted:
            vals[f"{channel}_attempts"] = self[f"{channel}_attempts"] + 1
        self.write(vals)
        getattr(self, f"_{channel}_given_up", lambda: None)()
        labels = dict(self._fields["kind"]._description_selection(self.env))
        # Outside _(): the .pot extraction evaluates its arguments' names.
        channel_label = self._fields[f"{channel}_state"]._description_string(self.env)
        attempts = self[f"{channel}_attempts"]
        self.picking_id.message_post(
            body=_(
                'The customer message "%(message)s" could not be delivered by '
                "%(channel)s after %(count)s attempt(s): %(reason)s",
                message=labels[self.kind],
                channel=channel_label,
                count=attempts,
                reason=reason or _("unknown error"),
            ),
            subtype_xmlid="mail.mt_note",
        )

    def _email_given_up(self):
        """Out of the mail queue's retries: the outbox said it failed."""
        mail = self._get_mail()
        if mail.state == "exception":
            mail.cancel()

    @api.model
    def _shipment_mark_due(self, at=None):
        """Note that a message is due (now, or at ``at``): the transaction's
        commit leaves one trigger per distinct time, however many messages
        it queued."""
        due = self._shipment_due_times()
        if at:
            # To the next whole minute (the cron's precision): never before
            # the message is due, one trigger for the retries of a minute.
            at = (at + timedelta(seconds=59)).replace(second=0, microsecond=0)
        due.add(at or False)

    @api.model
    def _shipment_due_times(self):
        """The set of times this transaction wants the cron woken at (False:
        at once), with the pre-commit hook that creates the triggers (one
        per distinct time, however many messages were queued)."""
        data = self.env.cr.precommit.data
        if TRIGGER_KEY not in data:
            data[TRIGGER_KEY] = set()
            self.env.cr.precommit.add(
                functools.partial(_trigger_before_commit, self.env, data[TRIGGER_KEY])
            )
        return data[TRIGGER_KEY]

    def _check_retry_access(self):
        if not (
            self.env.user.has_group("sales_team.group_sale_salesman")
            or self.env.user.has_group("stock.group_stock_manager")
        ):
            raise AccessError(
                _(
                    "Only Customer Service or Logistics can send customer "
                    "messages again."
                )
            )
        self.check_access("read")

    def action_retry(self):
        """Customer Service: send again the channels that failed (or had no
        address, once the customer's address is fixed)."""
        self._check_retry_access()
        retryable = self.filtered("can_retry")
        if not retryable:
            raise UserError(
                _(
                    "Nothing to send again: only channels that failed or had no "
                    "address are retried."
                )
            )
        # sudo: the outbox is system-maintained; the role and access to each
        # message were checked above.
        for row in retryable.sudo():
            vals = {}
            for channel in self._channels():
                if row._channel_retryable(channel):
                    vals.update(row._prepare_channel_reset(channel))
            # The write wakes the cron (see write()).
            row.write(vals)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": _(
                    "%(count)s message(s) will be sent again shortly.",
                    count=len(retryable),
                ),
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def _prepare_channel_reset(self, channel, fresh=False):
        """Values that put ``channel`` back in the queue, now, with a fresh
        count of attempts; ``fresh`` renders a new message instead of
        re-sending the one that failed."""
        vals = {
            f"{channel}_state": "pending",
            f"{channel}_attempts": 0,
            f"{channel}_error": False,
            f"{channel}_next_attempt": False,
        }
        if fresh and channel == "email":
            vals.update(mail_ref=0, mail_message_id=False)
        return vals
