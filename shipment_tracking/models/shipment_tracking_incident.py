# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import SUPERUSER_ID, _, api, fields, models

from ..const import CLOSED_SHIPMENT_STATES, DELAY_KINDS, INCIDENT_KINDS
from ..tools import create_unique


class ShipmentTrackingIncident(models.Model):
    """Something wrong with a shipment, detected by the monitoring cron.

    At most one open incident per shipment and kind, enforced by a partial
    unique index, so re-runs and concurrent runs never duplicate one."""

    _name = "shipment.tracking.incident"
    _description = "Shipment incident"
    _order = "opened_at desc, id desc"
    _rec_name = "kind"

    picking_id = fields.Many2one(
        "stock.picking", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="picking_id.company_id", store=True)
    carrier_id = fields.Many2one(related="picking_id.carrier_id", store=True)
    kind = fields.Selection(INCIDENT_KINDS, required=True)
    reason = fields.Char(required=True)
    opened_at = fields.Datetime(required=True, default=fields.Datetime.now)
    closed_at = fields.Datetime(index=True)
    is_open = fields.Boolean(compute="_compute_is_open", store=True)

    @api.depends("closed_at")
    def _compute_is_open(self):
        for incident in self:
            incident.is_open = not incident.closed_at

    def init(self):
        self.env.cr.execute(
            """CREATE UNIQUE INDEX IF NOT EXISTS shipment_tracking_incident_open_uniq
                ON shipment_tracking_incident (picking_id, kind)
                WHERE closed_at IS NULL"""
        )

    @api.model
    def _open(self, picking, kind, reason):
        """Open an incident unless one of that kind is open already; return
        the new incident or an empty recordset. Safe against concurrent runs."""
        # Incidents closed in this transaction must be closed in the table
        # before the partial unique index judges the new one.
        self.flush_model(["closed_at"])
        return create_unique(
            self, {"picking_id": picking.id, "kind": kind, "reason": reason}
        )

    # ------------------------------------------------------------------
    # Rules: what is wrong with a shipment
    # ------------------------------------------------------------------
    @api.model
    def _thresholds(self, picking):
        """The delay limits of ``picking``: its carrier's, else its company's."""
        company, carrier = picking.company_id, picking.carrier_id
        late = carrier.shipment_late_after_days
        return {
            "late_days": late if late >= 0 else company.shipment_late_after_days,
            "stalled_hours": carrier.shipment_stalled_hours
            or company.shipment_stalled_hours,
            "ofd_hours": carrier.shipment_out_for_delivery_hours
            or company.shipment_out_for_delivery_hours,
        }

    @api.model
    def _detect_incidents(self, picking, now):
        """{kind: reason} of what is wrong with ``picking`` right now: what
        its carrier reports, and the delays its thresholds reveal."""
        picking.ensure_one()
        # The one2many cache keeps creation order: sort by event time here.
        events = picking.tracking_event_ids.sorted(
            lambda e: (e.event_time, e.id), reverse=True
        )
        found = self._detect_reported(picking, events[:1])
        found.update(self._detect_delays(picking, events, now))
        return found

    @api.model
    def _detect_reported(self, picking, last_event):
        """{kind: reason} of the problem ``picking``'s status or its
        ``last_event``'s sub-status reports (at most one)."""
        state = picking.shipment_state
        carrier_kind = last_event.incident_kind
        if state == "returned":
            return {
                "returned": (
                    last_event.state == "returned" and last_event.carrier_status_text
                )
                or _("The parcel is being returned to us.")
            }
        if carrier_kind and state not in CLOSED_SHIPMENT_STATES:
            # What the carrier's sub-status says replaces the bare exception.
            return {
                carrier_kind: last_event.carrier_status_text
                or dict(
                    last_event._fields["incident_kind"]._description_selection(self.env)
                ).get(carrier_kind, carrier_kind)
            }
        if state == "exception":
            return {
                "exception": last_event.carrier_status_text
                or _("The carrier reported a problem.")
            }
        return {}

    @api.model
    def _detect_delays(self, picking, events, now):
        """{kind: reason} of the delays of ``picking`` (``events`` newest
        first) past its thresholds: late, stalled, out for delivery too long."""
        state = picking.shipment_state
        limits = self._thresholds(picking)
        found = {}
        today = fields.Date.context_today(picking, now)
        edd = picking.expected_delivery_date
        # Waiting at a pickup point is not late: the customer holds the next step.
        if (
            edd
            and state not in (*CLOSED_SHIPMENT_STATES, "available_for_pickup")
            and (today - edd).days > limits["late_days"]
        ):
            found["late"] = _(
                "Expected on %(date)s, not delivered yet.",
                date=fields.Date.to_string(edd),
            )
        last = picking.shipment_last_event_date or picking.shipment_date
        if (
            state in ("dispatched", "in_transit")
            and limits["stalled_hours"]
            and last
            and (now - last).total_seconds() > limits["stalled_hours"] * 3600
        ):
            found["stalled"] = _(
                "No news from the carrier for %(hours)s hours.",
                hours=int((now - last).total_seconds() // 3600),
            )
        if state == "out_for_delivery" and limits["ofd_hours"]:
            since = (
                events.filtered(lambda e: e.state == "out_for_delivery")[-1:].event_time
                or last
            )
            if since and (now - since).total_seconds() > limits["ofd_hours"] * 3600:
                found["out_for_delivery_long"] = _(
                    "Out for delivery since %(since)s.",
                    since=fields.Datetime.to_string(since),
                )
        return found

    # ------------------------------------------------------------------
    # Monitor: open, close and tell
    # ------------------------------------------------------------------
    @api.model
    def _monitor_domain(self):
        """The deliveries to watch: open shipments, plus those with an
        incident still open; the cost grows with open shipments, not with
        every delivery ever made."""
        return [
            ("picking_type_code", "=", "outgoing"),
            ("state", "=", "done"),
            "|",
            ("shipment_has_incident", "=", True),
            "|",
            (
                "shipment_state",
                "in",
                ["dispatched", "in_transit", "out_for_delivery", "exception"],
            ),
            "&",
            ("shipment_state", "=", "returned"),
            ("shipment_incident_ids", "not any", [("kind", "=", "returned")]),
        ]

    @api.model
    def _cron_monitor(self, batch_size=200):
        """Detect exceptions, delays, stalls and returns; batched, committing
        after each batch."""
        # sudo: a system job working for every company's shipments.
        self = self.sudo()  # noqa: PLW0642
        Picking = self.env["stock.picking"]
        todo = Picking.search(self._monitor_domain(), order="id")
        cron = self.env["ir.cron"]
        now = fields.Datetime.now()
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            for picking in batch:
                self._monitor(picking, now)
            cron._notify_progress(
                done=start + len(batch), remaining=len(todo) - start - len(batch)
            )
            self.env.cr.commit()  # pylint: disable=invalid-commit

    @api.model
    def _monitor(self, picking, now):
        """Open the incidents detected on ``picking`` (once each), close the
        recovered ones, and queue what the customer must hear."""
        picking.ensure_one()
        # sudo: incidents and the update queue are system-maintained.
        Incident = self.sudo()
        Notification = self.env["shipment.tracking.notification"].sudo()
        detected = Incident._detect_incidents(picking, now)
        open_incidents = picking.shipment_incident_ids.filtered("is_open")
        # Late, stalled and too long out for delivery all mean "delayed" to the
        # customer: one delay email while any of them is open.
        delay_told = bool(open_incidents.filtered(lambda i: i.kind in DELAY_KINDS))
        for kind, reason in detected.items():
            if kind in open_incidents.mapped("kind"):
                continue
            incident = Incident._open(picking, kind, reason)
            if not incident:
                continue  # opened meanwhile by a concurrent run
            picking._compute_shipment_incident()
            key = f"incident:{incident.id}"
            if kind not in DELAY_KINDS:
                Notification._enqueue(picking, self._update_kind(kind), key, incident)
            elif not delay_told:
                delay_told = bool(Notification._enqueue(picking, "late", key, incident))
            incident._schedule_activity()
        recovered = open_incidents.filtered(lambda i: i.kind not in detected)
        if recovered:
            recovered.write({"closed_at": now})
            # Delivered and ready for pickup have their own update; returned
            # and cancelled are no recovery.
            if not picking.shipment_incident_ids.filtered("is_open") and (
                picking.shipment_state
                not in ("delivered", "available_for_pickup", "returned", "cancelled")
            ):
                Notification._enqueue(
                    picking,
                    "recovered",
                    f"recovered:{recovered[:1].id}",
                    recovered[:1],
                )

    @api.model
    def _update_kind(self, kind):
        """The customer update an incident of ``kind`` (not a delay) calls
        for: returned, or a delivery problem (the carrier's sub-statuses)."""
        return kind if kind in ("exception", "returned") else "exception"

    def _schedule_activity(self):
        """A to-do for whoever handles this incident: the company's incident
        handler, else the order's salesperson, else the delivery's
        responsible, else the administrator."""
        self.ensure_one()
        # As the system, whoever's transaction found the incident: a carrier's
        # webhook runs as the public user, who has no email address to send the
        # assignee's "assigned to you" email from (it failed in the mail queue).
        # Safe: only the to-do on this delivery is written, as the cron would.
        # The assignee's email waits in Odoo's mail queue: never sent within
        # the webhook, poll or monitor transaction that found the incident
        # (nor beside the mail queue's own run of it).
        picking = self.picking_id.with_user(SUPERUSER_ID).with_context(
            mail_notify_force_send=False
        )
        user = (
            picking.company_id.shipment_incident_user_id
            or picking.sale_id.user_id
            or picking.user_id
            or self.env.ref("base.user_admin")
        )
        picking.activity_schedule(
            "mail.mail_activity_data_todo",
            summary=_(
                "Shipment incident: %(kind)s",
                kind=dict(self._fields["kind"]._description_selection(self.env))[
                    self.kind
                ],
            ),
            note=picking._shipment_plain_note(self.reason),
            user_id=user.id,
        )
