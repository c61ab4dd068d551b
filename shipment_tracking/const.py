# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Constants shared by the shipment tracking models, wizards and add-ons
(statuses, transitions, incident kinds, field sets of the write guards).

Import them from here (``from odoo.addons.shipment_tracking.const import
SHIPMENT_STATES``), the way Odoo's own add-ons keep theirs in ``const.py``."""

INCIDENT_KINDS = [
    ("exception", "Carrier exception"),
    ("late", "Late"),
    ("stalled", "No carrier news"),
    ("out_for_delivery_long", "Out for delivery too long"),
    ("returned", "Returned to sender"),
    # What a carrier's sub-status says (see the carrier's status table).
    ("failed_attempt", "Delivery attempt failed"),
    ("address", "Address problem"),
    ("refused", "Refused by the recipient"),
    ("customs", "Held in customs"),
    ("carrier_delay", "Delayed by the carrier"),
    ("payment", "Held for payment"),
    ("damaged", "Damaged"),
    ("lost", "Lost"),
]
# Kinds the monitor finds itself (thresholds, status): never a carrier's.
MONITOR_INCIDENT_KINDS = ("exception", "late", "stalled", "out_for_delivery_long")
# Kinds a carrier's sub-status may report (``incident_kind`` of its events and
# of its status table's rows).
CARRIER_INCIDENT_KINDS = [
    (kind, label)
    for kind, label in INCIDENT_KINDS
    if kind not in MONITOR_INCIDENT_KINDS
]

SHIPMENT_STATES = [
    ("pending", "Pending"),
    ("dispatched", "Dispatched"),
    ("in_transit", "In Transit"),
    ("out_for_delivery", "Out for Delivery"),
    ("available_for_pickup", "Ready for Pickup"),
    ("delivered", "Delivered"),
    ("exception", "Exception"),
    ("returned", "Returned"),
    ("cancelled", "Cancelled"),
    ("expired", "Expired"),
]
FINAL_SHIPMENT_STATES = ("delivered", "returned", "cancelled")
# States in which nobody polls the carrier any more.
CLOSED_SHIPMENT_STATES = (*FINAL_SHIPMENT_STATES, "expired")
# Transitions a carrier or a user may make without an explicit Logistics override.
SHIPMENT_TRANSITIONS = {
    "pending": {"dispatched", "cancelled"},
    "dispatched": {
        "in_transit",
        "out_for_delivery",
        "available_for_pickup",
        "delivered",
        "exception",
        "returned",
        "cancelled",
        "expired",
    },
    "in_transit": {
        "out_for_delivery",
        "available_for_pickup",
        "delivered",
        "exception",
        "returned",
        "expired",
    },
    "out_for_delivery": {
        "in_transit",
        "available_for_pickup",
        "delivered",
        "exception",
        "returned",
        "expired",
    },
    # A parcel waiting at a pickup point: collected (delivered), sent back
    # (returned), or moved on (a failed pickup point, redelivery).
    "available_for_pickup": {
        "in_transit",
        "out_for_delivery",
        "delivered",
        "exception",
        "returned",
        "expired",
    },
    "exception": {
        "in_transit",
        "out_for_delivery",
        "available_for_pickup",
        "delivered",
        "returned",
        "cancelled",
        "expired",
    },
    # News after expiry revives the shipment.
    "expired": {
        "in_transit",
        "out_for_delivery",
        "available_for_pickup",
        "delivered",
        "exception",
        "returned",
    },
    "delivered": set(),
    "returned": set(),
    "cancelled": set(),
}
# Incidents the customer hears of as "delayed" (one delay update while any is
# open); every other incident kind is told as a delivery problem, or a return.
# A customs hold and a delay the carrier reports itself are delays: the parcel
# is fine, it takes longer.
DELAY_KINDS = ("late", "stalled", "out_for_delivery_long", "carrier_delay", "customs")
# Incidents the carrier's sub-statuses report (``incident_kind`` of an
# event), as opposed to those the monitor finds itself.
EVENT_INCIDENT_KINDS = frozenset(kind for kind, _label in INCIDENT_KINDS) - {
    "exception",
    "late",
    "stalled",
    "out_for_delivery_long",
    "returned",
}
# States in which a passed estimate does not make a shipment late: not gone
# yet, over, or waiting for the customer at a pickup point.
NOT_LATE_STATES = (*FINAL_SHIPMENT_STATES, "pending", "available_for_pickup")
# How many numbers one event may hand a shipment over to.
MAX_HANDOVER_REFS = 5
# Polling: every hour while there is news, then twice as long each time
# nothing changed, up to once a day.
POLL_INTERVAL_MINUTES = 60
POLL_MAX_INTERVAL_MINUTES = 24 * 60
# A poll batch lost to a concurrent transaction is applied again this many
# times in the same run (Odoo retries an RPC call 5 times).
POLL_CONCURRENCY_RETRIES = 3
POLL_CRON_XMLID = "shipment_tracking.ir_cron_shipment_poll"
# The dispatch email as the delivery shows it (computed from its outbox row).
NOTIFICATION_STATES = [
    ("none", "Not sent"),
    ("to_send", "To send"),
    ("queued", "Queued"),
    ("sent", "Sent"),
    ("no_email", "No email address"),
    ("opted_out", "Customer prefers no email"),
    ("failed", "Failed"),
]
# One channel (email, SMS) of an outbox row: *pending* until the cron renders
# it (or retries it once ``<channel>_next_attempt`` passed), *outgoing* while
# Odoo's mail or SMS queue holds it, then *sent* or *failed*; the other states
# say why it was not sent at all.
OUTBOX_CHANNEL_STATES = [
    ("pending", "To send"),
    ("outgoing", "In the queue"),
    ("sent", "Sent"),
    ("failed", "Failed"),
    ("no_address", "No address"),
    ("opted_out", "Customer prefers not"),
    ("disabled", "Not sent"),
]
# The delivery's dispatch-email state by its outbox row's email state.
DISPATCH_EMAIL_STATES = {
    "pending": "to_send",
    "outgoing": "queued",
    "sent": "sent",
    "failed": "failed",
    "no_address": "no_email",
    "opted_out": "opted_out",
    "disabled": "none",
}
# Channel states with work left for the outbox or the mail/SMS queue.
OUTBOX_ACTIVE_STATES = ("pending", "outgoing")
# Channel states that mean "not sent, and nothing to retry".
OUTBOX_SKIPPED_STATES = ("no_address", "opted_out", "disabled")
OUTBOX_STATES = [
    ("queued", "Queued"),
    ("sent", "Sent"),
    ("failed", "Failed"),
    ("skipped", "Skipped"),
]
# Minutes before the next attempt of a channel whose transport failed for a
# reason that may pass (SMTP down, SMS gateway error), by attempts made; the
# last figure repeats until the company's attempt cap.
OUTBOX_BACKOFF_MINUTES = (5, 30, 120, 480)
# Rows the notification cron claims per call (system parameter
# shipment_tracking.notification_batch_size); Odoo calls it again at once
# while some remain (up to 10 calls a run, then it re-schedules itself).
# A call has a cost of its own, whatever its size (the composer, the
# template's compilation, the batch's reads): bench/notify.py measured 10-12
# ms per message at 50, 8.4-8.9 at 100, 7.7-7.9 at 200 and 8.0 at 500.
OUTBOX_BATCH_SIZE = 200
# A batch that fails is sent again in this many parts, each a batch of its
# own; a part that fails too goes row by row (up to a quarter of the batch a
# call, the rest waits for the next call).
OUTBOX_FALLBACK_PARTS = 8
# Fields only Logistics (Inventory / Administrator) may write.
LOGISTICS_FIELDS = frozenset(
    {
        "shipment_edd_set_at",
        "shipment_ref",
        "carrier_tracking_ref",
        "expected_delivery_date",
        "shipment_state",
        "shipment_date",
    }
)
# Shipment details Warehouse Staff (Inventory / User) record and verify.
DETAIL_FIELDS = frozenset(
    {
        "shipment_length",
        "shipment_width",
        "shipment_height",
        "shipment_contents",
        "shipping_weight",
    }
)
NOTIFICATION_FIELDS = frozenset(
    {
        "shipment_notification_state",
        "shipment_notification_attempts",
        "shipment_notification_error",
        "shipment_notification_message_id",
    }
)
# Fields the system alone writes (carrier events, polling, notifications,
# portal questions, computed KPIs): never by hand, whatever the role.
SYSTEM_FIELDS = NOTIFICATION_FIELDS | frozenset(
    {
        "shipment_contents_typed",
        "shipment_delivered_date",
        "shipment_last_event_date",
        "shipment_pod_signed_by",
        "shipment_pod_signature_url",
        "shipment_pod_photo_url",
        "shipment_pickup_location",
        "shipment_pickup_deadline",
        "shipment_next_poll_date",
        "shipment_poll_error",
        "shipment_inquiry_date",
        "shipment_has_incident",
        "shipment_incident_reason",
        "shipment_transit_days",
        "shipment_on_time",
        "shipment_on_time_rate",
    }
)
# Once a shipment left (dispatched or later), only Logistics re-routes it.
DISPATCHED_LOGISTICS_FIELDS = ("carrier_id", "partner_id")
# Internal fields: readable by the back-office roles, not by portal users.
INTERNAL_GROUPS = "stock.group_stock_user,sales_team.group_sale_salesman"
# The prefetch group of the stored internal fields of a delivery: reading any
# other field of a delivery (every screen and flow of Odoo's that touches one,
# the validation included) neither selects their columns nor checks the
# user's groups for each of them (about 20 us a field, twice per fetch); the
# first read of one of them fetches them all, the back office's views read
# them with the other fields in one query.
INTERNAL_PREFETCH = "shipment_internal"
# Context key of the cron triggers this suite writes: their wake-up goes over
# the process's kept connection (ir.cron._notifydb, tools/cron_wakeup.py).
SHARED_WAKEUP = "shipment_tracking_shared_wakeup"
