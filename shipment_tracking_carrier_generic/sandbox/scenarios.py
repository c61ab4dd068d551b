# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Tracking timelines of the sandbox carrier.

A scenario is a list of steps, each ``hours`` after booking. Which scenario a
shipment follows is the booking's ``scenario`` field, else a stable hash of its
reference, so the same reference always tells the same story.
"""

import hashlib
from datetime import timedelta
from typing import NamedTuple

STATUSES = (
    "label_created",
    "picked_up",
    "in_transit",
    "delayed",
    "out_for_delivery",
    "delivered",
    "available_for_pickup",
    "delivered_to_pickup_point",
    "delivery_failed",
    "exception",
    "exception_resolved",
    "lost",
    "returned_to_sender",
)
# After these nothing is on its way any more: no estimated delivery date.
FINAL_STATUSES = {"delivered", "delivered_to_pickup_point", "returned_to_sender"}
DESCRIPTIONS = {
    "label_created": "Shipping label created, awaiting pickup",
    "picked_up": "Parcel picked up by the carrier",
    "in_transit": "In transit to the destination depot",
    "delayed": "Delayed in transit, new delivery date estimated",
    "out_for_delivery": "Out for delivery",
    "delivered": "Delivered",
    "available_for_pickup": "Available for pickup at the pickup point",
    "delivered_to_pickup_point": "Collected by the recipient at the pickup point",
    "delivery_failed": "Delivery attempt failed: recipient not at home",
    "exception": "Exception in transit",
    "exception_resolved": "Exception resolved, delivery rescheduled",
    "lost": "Parcel lost",
    "returned_to_sender": "Returned to sender",
}
# Where each status happens on the parcel's route.
PLACES = {
    "label_created": "origin",
    "picked_up": "origin",
    "in_transit": "hub",
    "delayed": "hub",
    "exception": "destination",
    "exception_resolved": "destination",
    "lost": "hub",
    "returned_to_sender": "origin",
}
LOCATIONS = (
    "Amsterdam, NL",
    "Antwerp, BE",
    "Brussels, BE",
    "Cologne, DE",
    "Lille, FR",
    "Luxembourg, LU",
    "Lyon, FR",
    "Rotterdam, NL",
)
DEFAULT_TRANSIT_DAYS = 2
# How long a pickup point keeps a parcel.
PICKUP_KEPT = timedelta(days=7)


class Step(NamedTuple):
    hours: float
    status: str
    description: str = ""
    # New estimated delivery date, in days after the booking date.
    edd_days: int | None = None
    proof_of_delivery: bool = False


SCENARIOS = {
    "normal": (
        Step(0, "label_created"),
        Step(4, "picked_up"),
        Step(12, "in_transit"),
        Step(36, "out_for_delivery"),
        Step(42, "delivered", proof_of_delivery=True),
    ),
    "delayed": (
        Step(0, "label_created"),
        Step(4, "picked_up"),
        Step(12, "in_transit"),
        Step(30, "delayed", "Delayed at the sorting hub: high volumes", edd_days=4),
        Step(60, "in_transit", "In transit again, on the new schedule"),
        Step(84, "out_for_delivery"),
        Step(90, "delivered", proof_of_delivery=True),
    ),
    "exception_recovered": (
        Step(0, "label_created"),
        Step(4, "picked_up"),
        Step(14, "exception", "Address incomplete, contacting recipient"),
        Step(26, "exception_resolved", "Address completed by the recipient"),
        Step(40, "out_for_delivery"),
        Step(46, "delivered", proof_of_delivery=True),
    ),
    "lost": (
        Step(0, "label_created"),
        Step(4, "picked_up"),
        Step(12, "in_transit"),
    ),
    "returned": (
        Step(0, "label_created"),
        Step(4, "picked_up"),
        Step(30, "delivery_failed", edd_days=3),
        Step(54, "delivery_failed", "Second delivery attempt failed", edd_days=4),
        Step(80, "returned_to_sender", "Undeliverable, returned to sender"),
    ),
    "pickup_point": (
        Step(0, "label_created"),
        Step(4, "picked_up"),
        Step(20, "in_transit"),
        Step(36, "available_for_pickup"),
        Step(60, "delivered_to_pickup_point", proof_of_delivery=True),
    ),
}
# Normal is the most frequent story, as in real life.
ROTATION = (
    "normal",
    "normal",
    "normal",
    "delayed",
    "exception_recovered",
    "lost",
    "returned",
    "pickup_point",
)


def _digest(*parts):
    return hashlib.sha256(":".join(parts).encode()).digest()


def choose_scenario(reference, requested=None):
    """The requested scenario, else one picked by a stable hash of the reference."""
    if requested:
        return requested
    return ROTATION[int.from_bytes(_digest("scenario", reference)[:4]) % len(ROTATION)]


def route(reference):
    """Distinct origin, hub and destination cities, fixed per reference."""
    digest = _digest("route", reference)
    cities = list(LOCATIONS)
    origin = cities.pop(digest[0] % len(cities))
    hub = cities.pop(digest[1] % len(cities))
    destination = cities.pop(digest[2] % len(cities))
    return {"origin": origin, "hub": hub, "destination": destination}


def event_id(tracking_number, index):
    return "evt_" + _digest("event", tracking_number, str(index)).hex()[:20]


def format_datetime(value):
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def build_events(tracking_number, scenario, booked_at, reference, recipient, base_url):
    """Return the parcel's whole timeline as ``[(occurred_at, event), ...]``.

    ``booked_at`` is an aware UTC datetime; events only become visible once the
    sandbox clock reaches their ``occurred_at``.
    """
    places = route(reference)
    edd = booked_at.date() + timedelta(days=DEFAULT_TRANSIT_DAYS)
    timeline = []
    for index, step in enumerate(SCENARIOS[scenario]):
        occurred_at = booked_at + timedelta(hours=step.hours)
        if step.edd_days is not None:
            edd = booked_at.date() + timedelta(days=step.edd_days)
        final = step.status in FINAL_STATUSES
        pod = None
        if step.proof_of_delivery:
            pod = {
                "signed_by": recipient,
                "signature_url": f"{base_url}/pod/{tracking_number}.png",
                "photo_url": f"{base_url}/pod/{tracking_number}/photo.png",
            }
        extra = {}
        if step.status == "available_for_pickup":
            extra["pickup_point"] = {
                "name": f"Sandbox pickup point {places['destination'].split(',')[0]}",
                "address": places["destination"],
                "deadline": format_datetime(occurred_at + PICKUP_KEPT),
            }
        event = {
            "id": event_id(tracking_number, index),
            "tracking_number": tracking_number,
            "status": step.status,
            "description": step.description or DESCRIPTIONS[step.status],
            "occurred_at": format_datetime(occurred_at),
            "location": places[PLACES.get(step.status, "destination")],
            "estimated_delivery_date": None if final else edd.isoformat(),
            "proof_of_delivery": pod,
            **extra,
        }
        timeline.append((occurred_at, event))
    return timeline
