# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Status tables learn sub-statuses and incident kinds.

- One row per carrier, code and sub-status: the unique index (see the
  model's ``init``) replaces the old per-code constraint.
- Rows still holding their 18.0.1.1.0 default take the new default (e.g.
  ``available_for_pickup`` was "Out for Delivery", is now "Ready for Pickup";
  ``AttemptFail`` now reports a failed attempt). A row the user changed is
  left alone: a user's mapping wins over a new default.
- The new default rows (sub-statuses) are added where missing.
"""

from odoo import SUPERUSER_ID, api

from odoo.addons.shipment_tracking_carrier_generic.models.tracking_formats import (
    default_status_rows,
)

# The default tables of 18.0.1.1.0, frozen: code -> status.
OLD_DEFAULTS = {
    "generic": {
        "label_created": "dispatched",
        "picked_up": "in_transit",
        "in_transit": "in_transit",
        "delayed": "in_transit",
        "out_for_delivery": "out_for_delivery",
        "available_for_pickup": "out_for_delivery",
        "delivered": "delivered",
        "delivered_to_pickup_point": "delivered",
        "delivery_failed": "exception",
        "exception": "exception",
        "exception_resolved": "in_transit",
        "lost": "exception",
        "returned_to_sender": "returned",
    },
    "easypost": {
        "unknown": False,
        "pre_transit": "dispatched",
        "in_transit": "in_transit",
        "out_for_delivery": "out_for_delivery",
        "available_for_pickup": "out_for_delivery",
        "delivered": "delivered",
        "return_to_sender": "returned",
        "failure": "exception",
        "error": "exception",
        "cancelled": "cancelled",
    },
    "aftership": {
        "Pending": "dispatched",
        "InfoReceived": "dispatched",
        "InTransit": "in_transit",
        "OutForDelivery": "out_for_delivery",
        "AvailableForPickup": "out_for_delivery",
        "AttemptFail": "exception",
        "Delivered": "delivered",
        "Exception": "exception",
        "Expired": "expired",
    },
}


def _refresh_untouched_defaults(carrier):
    fmt = carrier.generic_webhook_format
    old = OLD_DEFAULTS["generic"] | OLD_DEFAULTS.get(fmt, {})
    new = default_status_rows(fmt)
    for row in carrier.generic_status_map_ids.filtered(lambda r: not r.subcode):
        if row.code not in old or (row.code, "") not in new:
            continue
        state, kind = new[(row.code, "")]
        untouched = (row.state or False) == old[row.code] and not row.incident_kind
        if untouched and (row.state or False, False) != (state, kind):
            row.write({"state": state or False, "incident_kind": kind or False})


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    carriers = (
        env["delivery.carrier"]
        .with_context(active_test=False)
        .search([("delivery_type", "=", "generic")])
    )
    for carrier in carriers:
        _refresh_untouched_defaults(carrier)
    carriers._generic_fill_status_map()
