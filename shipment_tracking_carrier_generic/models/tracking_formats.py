# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Webhook formats the generic connector accepts: our own protocol, EasyPost
tracker webhooks and AfterShip tracking webhooks. Plain functions: signature
checks (constant time) and payload parsing into neutral event dicts
(``tracking_ref``, ``carrier_status_code``, ``carrier_status_text``,
``event_time`` (naive UTC), ``location``, ``carrier_event_id``,
``expected_delivery_date``, ``pod_*``). Status codes are mapped by the carrier's
status table, not here."""

import base64
import hashlib
import hmac
import time
import unicodedata
from datetime import date, datetime, timezone

REPLAY_TOLERANCE = 300


class PayloadError(ValueError):
    """The payload is not what the format documents (HTTP 400)."""


# -- signatures ---------------------------------------------------------------
def _hmac(secret, message):
    return hmac.new(secret.encode(), message, hashlib.sha256)


def verify_generic(secret, headers, body, now=None):
    """``X-Shipment-Signature: sha256=<hex>`` over ``<timestamp>.<body>`` with
    ``X-Shipment-Timestamp`` at most 5 minutes away from now."""
    timestamp = headers.get("X-Shipment-Timestamp", "")
    signature = headers.get("X-Shipment-Signature", "")
    if not timestamp.isdigit() or not signature.startswith("sha256="):
        return False
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > REPLAY_TOLERANCE:
        return False
    expected = _hmac(secret, timestamp.encode() + b"." + body).hexdigest()
    return hmac.compare_digest(signature[len("sha256=") :], expected)


def verify_easypost(secret, headers, body, now=None):
    """``X-Hmac-Signature: hmac-sha256-hex=<hex>``, HMAC-SHA256 of the body
    with the NFKD-normalised webhook secret (as EasyPost documents)."""
    signature = headers.get("X-Hmac-Signature", "")
    prefix = "hmac-sha256-hex="
    if not signature.startswith(prefix):
        return False
    key = unicodedata.normalize("NFKD", secret)
    expected = _hmac(key, body).hexdigest()
    return hmac.compare_digest(signature[len(prefix) :].lower(), expected)


def verify_aftership(secret, headers, body, now=None):
    """``aftership-hmac-sha256``: base64 of HMAC-SHA256 of the body."""
    signature = headers.get("aftership-hmac-sha256", "")
    expected = base64.b64encode(_hmac(secret, body).digest()).decode()
    return bool(signature) and hmac.compare_digest(signature, expected)


VERIFIERS = {
    "generic": verify_generic,
    "easypost": verify_easypost,
    "aftership": verify_aftership,
}


# -- parsing -------------------------------------------------------------------
def parse_datetime(value):
    """ISO 8601 (``Z`` or offset) to naive UTC; PayloadError if unusable."""
    if not isinstance(value, str) or not value:
        raise PayloadError("missing event time")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise PayloadError(f"invalid event time {value!r}") from error
    if parsed.tzinfo:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed.replace(microsecond=0)


def parse_date(value):
    if not value:
        return False
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return False


def _require(mapping, *keys):
    if not isinstance(mapping, dict):
        raise PayloadError("an event must be a JSON object")
    missing = [key for key in keys if not mapping.get(key)]
    if missing:
        raise PayloadError(f"missing field(s): {', '.join(missing)}")


def events_generic(payload):
    """Our protocol: ``{"type": "tracking.updated", "events": [event, ...]}``.
    Returns ``(events, rejected)``: one bad event does not drop the others."""
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        raise PayloadError("expected an object with an 'events' list")
    events, rejected = [], []
    for index, raw in enumerate(payload["events"]):
        try:
            events.append(_event_generic(raw))
        except PayloadError as error:
            rejected.append({"index": index, "reason": str(error)})
    return events, rejected


def _event_generic(raw):
    _require(raw, "tracking_number", "status", "occurred_at")
    pod = raw.get("proof_of_delivery") or {}
    return {
        "tracking_ref": str(raw["tracking_number"]),
        "carrier_status_code": str(raw["status"]),
        "carrier_status_text": raw.get("description") or "",
        "event_time": parse_datetime(raw["occurred_at"]),
        "location": raw.get("location") or False,
        "carrier_event_id": raw.get("id") or False,
        "expected_delivery_date": parse_date(raw.get("estimated_delivery_date")),
        "pod_signed_by": pod.get("signed_by") or False,
        "pod_signature_url": pod.get("signature_url") or False,
        "pod_photo_url": pod.get("photo_url") or False,
    }


def _location_easypost(location):
    location = location or {}
    parts = [location.get("city"), location.get("state"), location.get("country")]
    return ", ".join(p for p in parts if p) or False


def events_easypost(payload):
    """EasyPost ``Event`` whose ``result`` is a ``Tracker`` with its
    ``tracking_details`` (every scan so far)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("result"), dict):
        raise PayloadError("expected an EasyPost Event with a Tracker 'result'")
    tracker = payload["result"]
    if tracker.get("object", "Tracker") != "Tracker":
        raise PayloadError("the event's result is not a Tracker")
    _require(tracker, "tracking_code")
    edd = parse_date(tracker.get("est_delivery_date"))
    details = tracker.get("tracking_details") or []
    events, rejected = [], []
    for index, detail in enumerate(details):
        try:
            _require(detail, "status", "datetime")
            events.append(
                {
                    "tracking_ref": tracker["tracking_code"],
                    "carrier_status_code": detail["status"],
                    "carrier_status_text": detail.get("message")
                    or detail.get("status_detail")
                    or "",
                    "event_time": parse_datetime(detail["datetime"]),
                    "location": _location_easypost(detail.get("tracking_location")),
                    "carrier_event_id": False,
                    "expected_delivery_date": edd
                    if index == len(details) - 1
                    else False,
                    "pod_signed_by": tracker.get("signed_by")
                    if detail["status"] == "delivered"
                    else False,
                    "pod_signature_url": False,
                    "pod_photo_url": False,
                }
            )
        except PayloadError as error:
            rejected.append({"index": index, "reason": str(error)})
    return events, rejected


def events_aftership(payload):
    """AfterShip ``tracking_update`` webhook: ``msg`` is the tracking with its
    ``checkpoints`` (each with ``tag`` and ``subtag``)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("msg"), dict):
        raise PayloadError("expected an AfterShip webhook with a 'msg' tracking")
    tracking = payload["msg"]
    _require(tracking, "tracking_number")
    edd = parse_date(
        tracking.get("expected_delivery")
        or (tracking.get("aftership_estimated_delivery_date") or {}).get(
            "estimated_delivery_date"
        )
    )
    checkpoints = tracking.get("checkpoints") or []
    events, rejected = [], []
    for index, checkpoint in enumerate(checkpoints):
        try:
            _require(checkpoint, "tag", "checkpoint_time")
            tag = checkpoint["tag"]
            location = checkpoint.get("location") or ", ".join(
                p for p in (checkpoint.get("city"), checkpoint.get("country_iso3")) if p
            )
            events.append(
                {
                    "tracking_ref": tracking["tracking_number"],
                    "carrier_status_code": tag,
                    "carrier_status_text": checkpoint.get("message")
                    or checkpoint.get("subtag_message")
                    or checkpoint.get("subtag")
                    or tag,
                    "event_time": parse_datetime(checkpoint["checkpoint_time"]),
                    "location": location or False,
                    "carrier_event_id": False,
                    "expected_delivery_date": edd
                    if index == len(checkpoints) - 1
                    else False,
                    "pod_signed_by": tracking.get("signed_by")
                    if tag == "Delivered"
                    else False,
                    "pod_signature_url": False,
                    "pod_photo_url": False,
                }
            )
        except PayloadError as error:
            rejected.append({"index": index, "reason": str(error)})
    return events, rejected


PARSERS = {
    "generic": events_generic,
    "easypost": events_easypost,
    "aftership": events_aftership,
}

# Default status tables: carrier code -> our shipment status (False: ignored).
DEFAULT_STATUS_MAPS = {
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
    # https://docs.easypost.com/docs/trackers (status)
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
    # https://www.aftership.com/docs/tracking/enum/tags
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
