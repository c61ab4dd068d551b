# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The carrier's business state: sandbox clock, shipments and their timelines.

No HTTP here; every public method is thread-safe and returns plain data or
raises ``ApiError``.
"""

import base64
import heapq
import itertools
import secrets
import string
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http import HTTPStatus

from .documents import label_pdf
from .scenarios import DEFAULT_TRANSIT_DAYS, build_events, choose_scenario
from .scenarios import format_datetime as iso
from .validation import ApiError

CARRIER_NAME = "Sandbox Carrier"
CURRENCY = "EUR"
BASE_PRICE = 4.90
PRICE_PER_KG = 1.10
TRACKING_ALPHABET = string.ascii_uppercase + string.digits


@dataclass
class Shipment:
    shipment_id: str
    reference: str
    scenario: str
    booked_at: datetime
    tracking_numbers: list
    booking: dict
    cancelled: bool = False
    request: dict = field(default_factory=dict)


@dataclass
class Parcel:
    tracking_number: str
    shipment: Shipment
    # [(occurred_at, event)], oldest first; the whole story, visible or not.
    timeline: list = field(default_factory=list)


def price(parcels):
    weight = sum(parcel["weight_kg"] for parcel in parcels)
    return round(BASE_PRICE + PRICE_PER_KG * weight, 2)


class CarrierState:
    """Shipments in memory, a clock that can be moved forward, and the release
    of events as the clock reaches them (``on_release`` receives them, in
    order, e.g. to push webhooks)."""

    def __init__(self, base_url, on_release=None):
        self.base_url = base_url
        self.on_release = on_release
        self.default_scenario = None
        self._lock = threading.RLock()
        self._sequence = itertools.count()
        self.reset()

    # Clock ----------------------------------------------------------------

    def now(self):
        return datetime.now(timezone.utc) + self._offset

    def advance(self, hours):
        """Move the clock ``hours`` forward; return (now, events released)."""
        with self._lock:
            self._offset += timedelta(hours=hours)
            return self.now(), len(self.release_due())

    def reset(self):
        """Forget every shipment and put the clock back to the real time."""
        with self._lock:
            self._offset = timedelta(0)
            self._shipments = {}
            self._parcels = {}
            self._active_references = {}
            # (occurred_at, sequence, tracking number, index) not released yet
            self._pending = []

    def release_due(self):
        """Release (hand to ``on_release``) the events the clock has reached."""
        with self._lock:
            now, released = self.now(), []
            while self._pending and self._pending[0][0] <= now:
                _at, _seq, number, index = heapq.heappop(self._pending)
                parcel = self._parcels.get(number)
                if parcel and index < len(parcel.timeline):
                    released.append(parcel.timeline[index][1])
            if released and self.on_release:
                self.on_release(released)
            return released

    # Shipments ------------------------------------------------------------

    def rate(self, request):
        return {
            "price": price(request["parcels"]),
            "currency": CURRENCY,
            "transit_days": DEFAULT_TRANSIT_DAYS,
        }

    def book(self, request):
        """Book ``request`` (validated); return (created, booking answer).

        A reference already booked and not cancelled gives back its booking.
        """
        with self._lock:
            known = self._active_references.get(request["reference"])
            if known:
                return False, known.booking
            shipment = self._new_shipment(request)
            self._shipments[shipment.shipment_id] = shipment
            self._active_references[shipment.reference] = shipment
            self.release_due()
            return True, shipment.booking

    def _new_shipment(self, request):
        booked_at = self.now().replace(microsecond=0)
        scenario = choose_scenario(
            request["reference"], request["scenario"] or self.default_scenario
        )
        shipment_id = "shp_" + secrets.token_hex(8)
        numbers = [self._new_tracking_number() for _parcel in request["parcels"]]
        shipment = Shipment(
            shipment_id, request["reference"], scenario, booked_at, numbers, {}
        )
        for number in numbers:
            parcel = Parcel(number, shipment)
            parcel.timeline = build_events(
                number,
                scenario,
                booked_at,
                request["reference"],
                request["ship_to"]["name"],
                self.base_url,
            )
            self._parcels[number] = parcel
            for index, (occurred_at, _event) in enumerate(parcel.timeline):
                entry = (occurred_at, next(self._sequence), number, index)
                heapq.heappush(self._pending, entry)
        shipment.booking = self._booking_answer(shipment, request)
        shipment.request = request
        return shipment

    def shipment(self, shipment_id):
        with self._lock:
            shipment = self._shipments.get(shipment_id)
            if shipment is None:
                raise ApiError(HTTPStatus.NOT_FOUND, "not_found", "unknown shipment")
            return {**shipment.booking, "request": shipment.request}

    def is_cancelled(self, shipment_id):
        """Whether the booking ``shipment_id`` is cancelled here (its booking
        answer does not say); KeyError for an unknown id."""
        with self._lock:
            return self._shipments[shipment_id].cancelled

    def _new_tracking_number(self):
        while True:
            number = "SBX" + "".join(
                secrets.choice(TRACKING_ALPHABET) for _i in range(10)
            )
            if number not in self._parcels:
                return number

    def _booking_answer(self, shipment, request):
        numbers = shipment.tracking_numbers
        edd = shipment.booked_at.date() + timedelta(days=DEFAULT_TRANSIT_DAYS)
        to = request["ship_to"]
        lines = [
            CARRIER_NAME + " - shipping label",
            "",
            f"Shipment: {shipment.shipment_id}",
            f"Reference: {shipment.reference}",
            f"To: {to['name']}, {to['street']}, {to['zip']} {to['city']}, "
            f"{to['country_code']}",
            f"Parcels: {len(numbers)}",
            "",
        ] + [f"Tracking number: {number}" for number in numbers]
        return {
            "shipment_id": shipment.shipment_id,
            "reference": shipment.reference,
            "scenario": shipment.scenario,
            "parcels": [
                {"reference": parcel["reference"], "tracking_number": number}
                for parcel, number in zip(request["parcels"], numbers, strict=True)
            ],
            "tracking_numbers": list(numbers),
            "estimated_delivery_date": edd.isoformat(),
            "tracking_url": self.tracking_url(numbers[0]),
            "label": {
                "format": "pdf",
                "filename": f"label-{shipment.shipment_id}.pdf",
                "content_base64": base64.b64encode(label_pdf(lines)).decode(),
            },
            "price": price(request["parcels"]),
            "currency": CURRENCY,
        }

    def tracking_url(self, number):
        return f"{self.base_url}/track/{number}"

    def cancel(self, shipment_id):
        with self._lock:
            shipment = self._shipments.get(shipment_id)
            if shipment is None:
                raise ApiError(
                    HTTPStatus.NOT_FOUND,
                    "not_found",
                    f"unknown shipment {shipment_id}",
                )
            if not shipment.cancelled:
                now = self.now()
                parcels = [self._parcels[n] for n in shipment.tracking_numbers]
                if any(self._visible(parcel, now)[1:] for parcel in parcels):
                    raise ApiError(
                        HTTPStatus.CONFLICT,
                        "already_picked_up",
                        f"shipment {shipment_id} was already picked up",
                    )
                shipment.cancelled = True
                self._active_references.pop(shipment.reference, None)
                for parcel in parcels:
                    # Its later events will never happen.
                    parcel.timeline = parcel.timeline[:1]
            return {"shipment_id": shipment_id, "cancelled": True}

    # Tracking -------------------------------------------------------------

    @staticmethod
    def _visible(parcel, now):
        return [event for at, event in parcel.timeline if at <= now]

    def tracking(self, number):
        """The tracking object of ``number``, None when unknown."""
        with self._lock:
            parcel = self._parcels.get(number)
            if parcel is None:
                return None
            events = self._visible(parcel, self.now())
            latest = events[-1]
            return {
                "tracking_number": number,
                "shipment_id": parcel.shipment.shipment_id,
                "status": latest["status"],
                "status_description": latest["description"],
                "estimated_delivery_date": latest["estimated_delivery_date"],
                "updated_at": latest["occurred_at"],
                "cancelled": parcel.shipment.cancelled,
                "tracking_url": self.tracking_url(number),
                "events": events,
            }

    def ping(self):
        return {"ok": True, "carrier": CARRIER_NAME, "time": iso(self.now())}
