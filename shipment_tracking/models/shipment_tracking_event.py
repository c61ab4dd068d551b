# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import hashlib
from datetime import datetime, timedelta

from odoo import _, api, fields, models

from ..const import (
    CARRIER_INCIDENT_KINDS,
    EVENT_INCIDENT_KINDS,
    FINAL_SHIPMENT_STATES,
    SHIPMENT_STATES,
    SHIPMENT_TRANSITIONS,
)
from ..tools import clean_pod_signer, create_unique_each, value_changed

# Bounds of a carrier's event times (system parameters override them):
# - an event more than EVENT_FUTURE_HOURS ahead of now is refused (a bogus
#   year-9999 scan must not hold the status forever);
# - an event more than EVENT_HISTORY_DAYS before the shipment date is refused
#   (a recycled tracking number's old history);
# - an estimate before the event's own date, or more than EDD_HORIZON_DAYS
#   after it, is dropped (the event is kept).
EVENT_FUTURE_HOURS = 24
EVENT_HISTORY_DAYS = 30
EDD_HORIZON_DAYS = 180
# A closed shipment (delivered, returned, cancelled) takes late scans for this
# many days; anything later is a recycled number's next parcel, not its news.
CLOSED_GRACE_DAYS = 7
TIME_BOUND_PARAMS = {
    "future_hours": ("shipment_tracking.event_future_hours", EVENT_FUTURE_HOURS),
    "history_days": ("shipment_tracking.event_history_days", EVENT_HISTORY_DAYS),
    "edd_days": ("shipment_tracking.edd_horizon_days", EDD_HORIZON_DAYS),
}
# What an event dict may set on the event (others, e.g. ``index``, are the
# caller's bookkeeping).
EVENT_VALUES = (
    "tracking_ref",
    "event_time",
    "state",
    "carrier_status_code",
    "carrier_status_text",
    "carrier_substatus_code",
    "incident_kind",
    "location",
    "pickup_location",
    "pickup_deadline",
    "carrier_event_id",
    "expected_delivery_date",
    "pod_signed_by",
    "pod_signature_url",
    "pod_photo_url",
)
# What makes two scans without a carrier event id different events: the same
# status at the same minute and place with another text or sub-status is
# another scan (a second delivery attempt, a customs step).
EVENT_KEY_VALUES = (
    "tracking_ref",
    "carrier_status_code",
    "carrier_substatus_code",
    "event_time",
    "location",
    "carrier_status_text",
)
# The key before 18.0.1.2 (prefix ``sha1:``) left the text and sub-status out.
LEGACY_EVENT_KEY_VALUES = (
    "tracking_ref",
    "carrier_status_code",
    "event_time",
    "location",
)


# What applying events reads of the tracking numbers it looks up: fetched
# with the search, in one statement.
NUMBER_FIELDS = (
    "name",
    "picking_id",
    "package_id",
    "is_handover",
    "poll_idle_count",
    "poll_error",
)
# What a shipment follows of its events (``_follow_pickings``): fetched with
# the search, in one statement.
FOLLOW_FIELDS = (
    "picking_id",
    "event_time",
    "state",
    "carrier_status_text",
    "location",
    "tracking_ref",
    "incident_kind",
    "expected_delivery_date",
    "pickup_location",
    "pickup_deadline",
    "pod_signed_by",
    "pod_signature_url",
    "pod_photo_url",
)


class ShipmentTrackingEvent(models.Model):
    """A carrier scan or status change of a shipment, whatever carrier or
    channel (webhook, polling, manual) it came from."""

    _name = "shipment.tracking.event"
    _description = "Shipment tracking event"
    _order = "event_time desc, id desc"
    _rec_name = "carrier_status_text"

    picking_id = fields.Many2one(
        "stock.picking", required=True, ondelete="cascade", index=True
    )
    package_id = fields.Many2one("stock.quant.package", ondelete="set null")
    company_id = fields.Many2one(related="picking_id.company_id", store=True)
    tracking_ref = fields.Char(string="Tracking Number")
    event_time = fields.Datetime(required=True, index=True)
    state = fields.Selection(SHIPMENT_STATES, string="Status")
    carrier_status_code = fields.Char(string="Carrier Code")
    carrier_status_text = fields.Char(string="Description")
    carrier_substatus_code = fields.Char(
        string="Carrier Sub-status",
        help="The carrier's detail of its status code (AfterShip subtag, "
        "EasyPost status detail).",
    )
    incident_kind = fields.Selection(
        CARRIER_INCIDENT_KINDS,
        string="Incident",
        help="The problem the carrier reports with this event, if any.",
    )
    location = fields.Char()
    pickup_location = fields.Char(
        string="Pickup Point", help="Where the parcel waits to be collected."
    )
    pickup_deadline = fields.Datetime(
        help="Until when the pickup point keeps the parcel."
    )
    source = fields.Selection(
        [("webhook", "Webhook"), ("poll", "Polling"), ("manual", "Manual")],
        required=True,
        default="manual",
    )
    carrier_event_id = fields.Char(string="Carrier Event ID")
    event_key = fields.Char(required=True, readonly=True)
    expected_delivery_date = fields.Date(string="Estimated Delivery")
    pod_signed_by = fields.Char(string="Received By")
    pod_signature_url = fields.Char(string="Signature")
    pod_photo_url = fields.Char(string="Photo")

    _sql_constraints = [
        (
            "event_key_uniq",
            "unique(picking_id, event_key)",
            "The same carrier event is recorded once per shipment.",
        ),
    ]

    @api.model
    def _make_event_key(self, vals):
        """The carrier's event id when it has one, else a digest of what the
        event says (``EVENT_KEY_VALUES``), so a re-sent or re-polled event is
        recognised and two scans saying different things are not merged.

        The digest reads the values with whitespace collapsed and case folded:
        the same scan re-sent by the webhook and by the tracking API, one in
        capitals or with a trailing space, is one event."""
        if vals.get("carrier_event_id"):
            return f"id:{vals['carrier_event_id']}"
        raw = "|".join(self._event_key_part(vals.get(key)) for key in EVENT_KEY_VALUES)
        return "v2:" + hashlib.sha256(raw.encode()).hexdigest()

    @api.model
    def _event_key_part(self, value):
        if isinstance(value, datetime):
            value = fields.Datetime.to_string(value)
        return " ".join(str(value or "").split()).casefold()

    @api.model
    def _make_legacy_event_key(self, vals):
        """The key events without a carrier event id got before 18.0.1.2
        (``sha1:``), to recognise their re-sending after the upgrade."""
        if vals.get("carrier_event_id"):
            return False
        raw = "|".join(str(vals.get(key) or "") for key in LEGACY_EVENT_KEY_VALUES)
        return "sha1:" + hashlib.sha1(raw.encode()).hexdigest()

    @api.model
    def _prepare_carrier_values(self, event):
        """The values of a neutral event dict an event may take; a
        placeholder in place of the signer ("Signature not required") is no
        signer."""
        vals = {key: event[key] for key in EVENT_VALUES if key in event}
        if "pod_signed_by" in vals:
            vals["pod_signed_by"] = clean_pod_signer(vals["pod_signed_by"])
        return vals

    @api.model
    def _time_bounds(self):
        """The event time bounds as integers (see the module constants)."""
        # sudo: system parameters, read-only, not secrets.
        Param = self.env["ir.config_parameter"].sudo()
        bounds = {}
        for name, (key, default) in TIME_BOUND_PARAMS.items():
            try:
                value = int(Param.get_param(key, default))
            except ValueError:
                value = default
            # Bounded, so that date arithmetic never overflows.
            bounds[name] = min(max(value, 0), 10 * 366 * 24)
        return bounds

    @api.model
    def _get_time_bound_error(self, vals, picking, bounds, now):
        """Why the carrier event ``vals`` cannot be recorded on ``picking``
        (False when it can); drops an implausible estimate in place."""
        event_time = vals["event_time"]
        if event_time > now + timedelta(hours=bounds["future_hours"]):
            return self.env._(
                "event time more than %(hours)s hours in the future",
                hours=bounds["future_hours"],
            )
        shipped = picking.shipment_date or picking.date_done or picking.create_date
        if event_time < shipped - timedelta(days=bounds["history_days"]):
            return self.env._(
                "event time more than %(days)s days before the shipment date",
                days=bounds["history_days"],
            )
        closed_at = self._closed_at(picking)
        if closed_at and event_time > closed_at + timedelta(days=CLOSED_GRACE_DAYS):
            return self.env._(
                "event time more than %(days)s days after the shipment was closed",
                days=CLOSED_GRACE_DAYS,
            )
        edd = vals.get("expected_delivery_date")
        if edd and not (
            event_time.date()
            <= edd
            <= event_time.date() + timedelta(days=bounds["edd_days"])
        ):
            vals["expected_delivery_date"] = False
        return False

    @api.model
    def _record_events(self, vals_list):
        """Create the events not recorded yet; return the new ones.

        Duplicates (within the batch, already stored, or stored meanwhile by
        a concurrent transaction) are skipped: carriers re-send webhooks,
        polling returns the whole history every time, and a webhook and the
        poller may bring the same scan at the same moment. Only the
        transaction that inserted an event returns it, so only that one
        follows it up (status, chatter, customer update).

        Events stored before 18.0.1.2 carry the old key (``sha1:``, without
        text and sub-status): an incoming event whose old key a stored event
        of its shipment has is a duplicate too, so that history re-sent after
        the upgrade is not recorded twice. Trade-off: on a shipment with such
        history, a scan differing from a stored one only by its text or
        sub-status is still merged with it, as before the upgrade; shipments
        tracked after the upgrade get the new key only."""
        for vals in vals_list:
            vals["event_key"] = self._make_event_key(vals)
        legacy_keys = {
            id(vals): self._make_legacy_event_key(vals) for vals in vals_list
        }
        pickings = {vals["picking_id"] for vals in vals_list}
        keys = [vals["event_key"] for vals in vals_list]
        keys += [key for key in legacy_keys.values() if key]
        existing = {
            (event.picking_id.id, event.event_key)
            for event in self.search_fetch(
                [("picking_id", "in", list(pickings)), ("event_key", "in", keys)],
                ["picking_id", "event_key"],
            )
        }
        new_vals = []
        for vals in vals_list:
            key = (vals["picking_id"], vals["event_key"])
            legacy = (vals["picking_id"], legacy_keys[id(vals)])
            if key not in existing and legacy not in existing:
                existing.add(key)
                new_vals.append(vals)
        if not new_vals:
            return self.browse()
        # The search above cannot see what concurrent transactions insert: the
        # unique index decides (an INSERT meeting a row committed meanwhile
        # gets a unique violation, also under REPEATABLE READ, where ON
        # CONFLICT DO NOTHING would fail the transaction instead). One
        # savepoint for the whole batch, then (on a conflict) one per event,
        # the conflicting ones being duplicates. The ORM's create fills the
        # audit and related columns.
        # One order for every transaction (a webhook and a poll covering the
        # same shipments): row locks taken in the same order cannot deadlock.
        new_vals.sort(key=lambda vals: (vals["picking_id"], vals["event_key"]))
        return create_unique_each(self, new_vals)

    @api.model
    def _apply_carrier_events(self, events, source, carrier=None, pickings=None):
        """Record carrier events and let their shipments follow them: the
        work behind the connector API ``stock.picking.
        _shipment_apply_carrier_events``, which documents ``events``,
        ``source``, ``carrier`` and the result.

        :param pickings: when not empty (polling a batch), the only shipments
            the events may reach."""
        # sudo: carriers are not users; the caller authenticated the carrier.
        Event = self.sudo()
        refs = {event["tracking_ref"] for event in events}
        domain = [("name", "in", list(refs))]
        if carrier:
            domain.append(("carrier_id", "=", carrier.id))
        if pickings:
            # Polling a batch: its answers are about these shipments only.
            domain.append(("picking_id", "in", pickings.ids))
        # sudo: carriers are not users; the caller authenticated the carrier.
        Number = self.env["shipment.tracking.number"].sudo()
        numbers = Number.search_fetch(domain, NUMBER_FIELDS)
        # Their deliveries, read here and when they follow their events.
        numbers.picking_id._shipment_fetch_with_internal()
        by_ref = numbers._shipment_by_name()
        bounds = Event._time_bounds() if carrier else None
        now = fields.Datetime.now()
        vals_list, unknown, rejected, handovers = [], [], [], {}
        for event in events:
            number = by_ref.get(event["tracking_ref"])
            if not number:
                unknown.append(event["tracking_ref"])
                continue
            vals = Event._prepare_carrier_values(event)
            reason = bounds and Event._get_time_bound_error(
                vals, number.picking_id, bounds, now
            )
            if reason:
                rejected.append(
                    {
                        "index": event.get("index"),
                        "tracking_number": event["tracking_ref"],
                        "reason": reason,
                    }
                )
                continue
            vals_list.append(
                dict(
                    vals,
                    picking_id=number.picking_id.id,
                    package_id=number.package_id.id,
                    # The stored related field, given: no UPDATE after the
                    # INSERT to compute it.
                    company_id=number.picking_id.company_id.id,
                    source=source,
                )
            )
            refs = event.get("next_tracking_refs")
            if refs:
                # One call per shipment, whatever the number of events (a poll
                # answer repeats the whole history).
                handovers.setdefault(number.picking_id, []).extend(
                    refs if isinstance(refs, list | tuple) else [refs]
                )
        created = Event._record_events(vals_list)
        for picking, refs in handovers.items():
            Number._add_handover_numbers(picking, refs)
        # Only numbers backing off or in error have polling news to reset:
        # most events are a scan of a number that is neither.
        if any(
            number.poll_idle_count or number.poll_error
            for number in Number.union(*by_ref.values())
        ):
            Number._poll_got_news(created)
        Event._follow_pickings(created.picking_id)
        return {
            "created": created,
            "duplicates": len(vals_list) - len(created),
            "unknown": sorted(set(unknown)),
            "rejected": rejected,
        }

    # ------------------------------------------------------------------
    # Shipments follow their events
    # ------------------------------------------------------------------
    @api.model
    def _follow_pickings(self, pickings):
        """Status, EDD, last event date and proof of delivery of ``pickings``
        follow their newest events by event time, whatever order they arrived
        in. A closed shipment (delivered, returned, cancelled) is history: it
        never moves back, and a late, replayed or recycled-number scan changes
        neither its estimate, its last event date nor its proof of delivery.

        Works on a whole batch (a poll of 100 numbers, a webhook push): the
        writes, the chatter entries and the reactions to a status change
        (customer updates, incident monitor) are grouped, so that the number
        of SQL statements does not grow with the number of shipments."""
        # sudo: the shipment follows its carrier's events, whoever triggers it.
        events = self.sudo().search_fetch(
            [("picking_id", "in", pickings.ids)],
            FOLLOW_FIELDS,
            order="event_time desc, id desc",
        )
        by_picking = events.grouped("picking_id")
        # Each shipment's whole event list, in the one2many's order: what the
        # incident monitor reads after a status change, without a query.
        self.env.cache.update(
            pickings,
            pickings._fields["tracking_event_ids"],
            [by_picking.get(picking, self.browse())._ids for picking in pickings],
        )
        states = None
        updates, statuses, monitor = {}, {}, set()
        for picking in pickings.sudo():
            mine = by_picking.get(picking)
            if not mine or picking.state == "cancel":
                continue
            closed = picking.shipment_state in FINAL_SHIPMENT_STATES
            vals = {} if closed else mine._follow_news(picking)
            newest = mine.filtered("state")[:1]
            note = False
            if newest and self._may_follow(picking, newest.state):
                vals["shipment_state"] = newest.state
                if states is None:
                    states = dict(
                        self._fields["state"]._description_selection(self.env)
                    )
                note = newest._get_carrier_status_note(states)
                statuses.setdefault(newest.state, []).append(picking.id)
            if vals.get("shipment_state") == "delivered":
                vals["shipment_delivered_date"] = newest.event_time
            # A scan older than the newest one, or saying again what the
            # shipment shows: nothing to write (nor its write date to bump).
            vals = {
                fname: value
                for fname, value in vals.items()
                if value_changed(picking[fname], value)
            }
            if vals:
                updates[picking.id] = (vals, note)
            # The carrier says what is wrong (or no longer is), with or
            # without a new status: the monitor opens or closes it now.
            if not closed and mine[0]._is_incident_news(picking):
                monitor.add(picking.id)
        # sudo: the shipment follows its carrier's events, whoever triggers it.
        Picking = self.env["stock.picking"].sudo()
        Picking._shipment_write_carrier_updates(updates)
        for state, ids in statuses.items():
            Picking.browse(ids)._shipment_on_status(
                state, monitor=Picking.browse([i for i in ids if i in monitor])
            )
            monitor.difference_update(ids)
        # sorted: the order of the batch, as the statuses above.
        quiet = Picking.browse([i for i in pickings.ids if i in monitor])
        if quiet:
            Incident = self.env["shipment.tracking.incident"]
            now = fields.Datetime.now()
            for picking in quiet:
                Incident._monitor(picking, now)

    def _is_incident_news(self, picking):
        """Whether this (newest) event of ``picking`` opens or may close an
        incident the carrier's sub-status reports."""
        self.ensure_one()
        # The stored flag first: without an open incident, nothing to close
        # (and no query for the incidents).
        return bool(self.incident_kind) or bool(
            picking.shipment_has_incident
            and picking.shipment_incident_ids.filtered(
                lambda i: i.is_open and i.kind in EVENT_INCIDENT_KINDS
            )
        )

    def _follow_news(self, picking):
        """Last event date, estimate, pickup point and proof of delivery of
        the open shipment ``picking`` from these events (newest first)."""
        vals = {"shipment_last_event_date": self[0].event_time}
        edd_event = self.filtered(
            lambda e: e.expected_delivery_date
            and (
                not picking.shipment_edd_set_at
                or e.event_time > picking.shipment_edd_set_at
            )
        )[:1]
        if (
            edd_event
            and edd_event.expected_delivery_date != picking.expected_delivery_date
        ):
            vals["expected_delivery_date"] = edd_event.expected_delivery_date
        pickup = self.filtered(lambda e: e.pickup_location or e.pickup_deadline)[:1]
        if pickup:
            vals.update(
                shipment_pickup_location=pickup.pickup_location,
                shipment_pickup_deadline=pickup.pickup_deadline,
            )
        pod = self.filtered(lambda e: e.pod_signed_by or e.pod_signature_url)[:1]
        if pod:
            vals.update(
                shipment_pod_signed_by=pod.pod_signed_by,
                shipment_pod_signature_url=pod.pod_signature_url,
                shipment_pod_photo_url=pod.pod_photo_url,
            )
        return vals

    @api.model
    def _may_follow(self, picking, new_state):
        """Whether ``picking`` takes the carrier's ``new_state``: a dispatched
        delivery, along the allowed transitions."""
        current = picking.shipment_state
        if current == new_state or picking.state != "done" or current == "pending":
            return False
        return new_state in SHIPMENT_TRANSITIONS[current]

    def _get_carrier_status_note(self, states=None):
        """The chatter text of the status change this event made, with what
        the carrier said (plain text: carrier texts are untrusted and get
        escaped when logged).

        :param dict states: the status labels, when the caller has them."""
        self.ensure_one()
        if states is None:
            states = dict(self._fields["state"]._description_selection(self.env))
        details = " · ".join(
            part
            for part in (self.carrier_status_text, self.location, self.tracking_ref)
            if part
        )
        suffix = f" ({details})" if details else ""
        return _(
            "Carrier update: %(state)s%(details)s",
            state=states[self.state],
            details=suffix,
        )

    @api.model
    def _closed_at(self, picking):
        """When the closed shipment ``picking`` (delivered, returned,
        cancelled) closed, as far as its carrier told us; False while open."""
        picking.ensure_one()
        if picking.shipment_state not in FINAL_SHIPMENT_STATES:
            return False
        return (
            picking.shipment_delivered_date
            or picking.shipment_last_event_date
            or picking.shipment_date
            or False
        )
