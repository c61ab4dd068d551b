# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Webhook formats the generic connector accepts: our own protocol, EasyPost
tracker webhooks and AfterShip tracking webhooks. Plain functions: signature
checks (constant time) and payload parsing into neutral event dicts
(``tracking_ref``, ``carrier_status_code``, ``carrier_status_text``,
``event_time`` (naive UTC), ``location``, ``carrier_event_id``,
``expected_delivery_date``, ``pod_*``, and ``index``: the event's position in
the payload, for the answer). Status codes are mapped by the carrier's status
table, not here.

Everything here treats its input as hostile: a check never raises anything but
``PayloadError`` (the request or one event is refused), whatever the headers
and whatever the JSON. Caps (documented in api/openapi.yaml and the readme):
``MAX_EVENTS`` events per request (more: the request is refused), identifiers
(tracking number, status code, event and delivery ids) of at most
``MAX_REF_LENGTH`` / ``MAX_ID_LENGTH`` characters (longer: the event is
refused), free texts truncated to ``MAX_TEXT_LENGTH`` characters, proof of
delivery links kept only when they are http(s) URLs of at most
``MAX_URL_LENGTH`` characters."""

import base64
import binascii
import hashlib
import hmac
import re
import time
import unicodedata
from datetime import date, datetime, timezone
from typing import NamedTuple

REPLAY_TOLERANCE = 300
MAX_EVENTS = 1000
MAX_REF_LENGTH = 64
MAX_ID_LENGTH = 128
MAX_TEXT_LENGTH = 1000
MAX_NAME_LENGTH = 256
MAX_URL_LENGTH = 2048
# A Unix time in seconds: 1 to 12 ASCII digits (int() of thousands of digits
# costs time and raises in Python 3.11).
TIMESTAMP_RE = re.compile(r"[0-9]{1,12}")
HEX_SHA256_RE = re.compile(r"[0-9a-fA-F]{64}")
BASE64_SHA256_RE = re.compile(r"[A-Za-z0-9+/]{43}=")
# Control characters (C0, DEL, C1), lone surrogates (which PostgreSQL cannot
# store), line and paragraph separators and bidirectional overrides (which
# spoof log lines and chatter text).
CONTROL_RE = re.compile(
    "[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
GENERIC_TYPE = "tracking.updated"


class PayloadError(ValueError):
    """The payload is not what the format documents (HTTP 400)."""


class Envelope(NamedTuple):
    """What a webhook delivery says about itself, before its events.

    ``relevant``: False for a delivery of another kind (acknowledged and
    ignored); ``delivery_id``: the sender's id of this delivery, remembered to
    refuse replays (None when the format has none); ``sent_at``: Unix time the
    sender put in the signed body (None when the format has none)."""

    relevant: bool
    delivery_id: str | None = None
    sent_at: int | None = None


# -- signatures ---------------------------------------------------------------
def _hmac(secret, message):
    return hmac.new(secret.encode(), message, hashlib.sha256)


def _same(given, expected):
    """Constant-time comparison of two ASCII strings, as bytes:
    ``hmac.compare_digest`` raises TypeError on non-ASCII str."""
    return hmac.compare_digest(
        given.encode("utf-8", "replace"), expected.encode("ascii")
    )


def verify_generic(secret, headers, body, now=None):
    """``X-Shipment-Signature: sha256=<hex>`` over ``<timestamp>.<body>`` with
    ``X-Shipment-Timestamp`` at most 5 minutes away from now."""
    timestamp = headers.get("X-Shipment-Timestamp", "")
    signature = headers.get("X-Shipment-Signature", "")
    prefix = "sha256="
    if not TIMESTAMP_RE.fullmatch(timestamp) or not (
        signature.startswith(prefix) and HEX_SHA256_RE.fullmatch(signature[7:])
    ):
        return False
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > REPLAY_TOLERANCE:
        return False
    expected = _hmac(secret, timestamp.encode() + b"." + body).hexdigest()
    return _same(signature[len(prefix) :].lower(), expected)


def verify_easypost(secret, headers, body, now=None):
    """``X-Hmac-Signature: hmac-sha256-hex=<hex>``, HMAC-SHA256 of the body
    with the NFKD-normalised webhook secret (as EasyPost documents). No
    timestamp: replays are refused by the event id (see ``envelope_easypost``)."""
    signature = headers.get("X-Hmac-Signature", "")
    prefix = "hmac-sha256-hex="
    if not (
        signature.startswith(prefix)
        and HEX_SHA256_RE.fullmatch(signature[len(prefix) :])
    ):
        return False
    key = unicodedata.normalize("NFKD", secret)
    expected = _hmac(key, body).hexdigest()
    return _same(signature[len(prefix) :].lower(), expected)


def verify_aftership(secret, headers, body, now=None):
    """``aftership-hmac-sha256``: base64 of HMAC-SHA256 of the body. The
    freshness of the signed ``ts`` is checked after parsing (``is_fresh``)."""
    signature = headers.get("aftership-hmac-sha256", "")
    if not BASE64_SHA256_RE.fullmatch(signature):
        return False
    try:
        base64.b64decode(signature, validate=True)
    except binascii.Error:
        return False
    expected = base64.b64encode(_hmac(secret, body).digest()).decode()
    return _same(signature, expected)


VERIFIERS = {
    "generic": verify_generic,
    "easypost": verify_easypost,
    "aftership": verify_aftership,
}


def is_fresh(envelope, now=None):
    """A delivery with a signed send time must be within the replay window."""
    if envelope.sent_at is None:
        return True
    now = time.time() if now is None else now
    return abs(now - envelope.sent_at) <= REPLAY_TOLERANCE


# -- field checks ----------------------------------------------------------------
def _get(mapping, key, kinds=(str,), required=False):
    """``mapping[key]`` when of one of ``kinds``; None when absent or null
    (PayloadError when required); PayloadError when of another JSON type."""
    value = mapping.get(key)
    if value is None or value == "":
        if required:
            raise PayloadError(f"missing field {key}")
        return None
    # bool is an int in Python, never one in JSON.
    if isinstance(value, bool) or not isinstance(value, kinds):
        names = "/".join(_JSON_TYPES[kind] for kind in kinds)
        raise PayloadError(f"{key} must be a {names}")
    return value


_JSON_TYPES = {str: "string", int: "integer", dict: "object", list: "list"}


def _ref(mapping, key, max_length=MAX_REF_LENGTH, required=True):
    """An identifier (tracking number, status code, event id): a string, or an
    integer read as its digits; refused when too long or holding control
    characters, never truncated (a cut identifier is another one)."""
    value = _get(mapping, key, (str, int), required)
    if value is None:
        return None
    value = str(value).strip()
    if not value and required:
        raise PayloadError(f"missing field {key}")
    if len(value) > max_length:
        raise PayloadError(f"{key} longer than {max_length} characters")
    if CONTROL_RE.search(value):
        raise PayloadError(f"{key} holds control characters")
    return value or None


def _text(mapping, key, max_length=MAX_TEXT_LENGTH):
    """Free text: truncated to ``max_length``, NUL dropped, other control
    characters (lone surrogates, bidi overrides...: ``CONTROL_RE``) replaced
    by spaces."""
    value = _get(mapping, key)
    if value is None:
        return False
    value = CONTROL_RE.sub(" ", value.replace("\x00", ""))
    return value[:max_length].strip() or False


def _url(mapping, key):
    """A proof-of-delivery link: kept only when it is an http(s) URL."""
    value = _get(mapping, key)
    if (
        value is None
        or len(value) > MAX_URL_LENGTH
        or not value.lower().startswith(("https://", "http://"))
        or CONTROL_RE.search(value)
        or " " in value
    ):
        return False
    return value


def _object(mapping, key):
    return _get(mapping, key, (dict,)) or {}


def _list(mapping, key, what):
    items = _get(mapping, key, (list,)) or []
    if len(items) > MAX_EVENTS:
        raise PayloadError(f"too many {what}: at most {MAX_EVENTS} per request")
    return items


def parse_datetime(value):
    """ISO 8601 (``Z`` or offset) to naive UTC; PayloadError if unusable."""
    if not isinstance(value, str) or not value:
        raise PayloadError("missing event time")
    if len(value) > 64:
        raise PayloadError("invalid event time")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo:
            # Years 1 and 9999 overflow when moved to UTC.
            parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    except (ValueError, OverflowError) as error:
        raise PayloadError(f"invalid event time {value[:40]!r}") from error
    return parsed.replace(microsecond=0)


def parse_date(value):
    """A date (or the date part of a date-time); False when absent or not a
    date: an estimate nobody can read is ignored, not an error."""
    if not isinstance(value, str) or not value:
        return False
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return False


def _event(index, **values):
    """A neutral event dict."""
    return {
        "index": index,
        "carrier_event_id": False,
        "expected_delivery_date": False,
        "pod_signed_by": False,
        "pod_signature_url": False,
        "pod_photo_url": False,
        **values,
    }


def _each(items, parse):
    """Parse every item; one bad item is reported, not fatal."""
    events, rejected = [], []
    for index, raw in enumerate(items):
        try:
            if not isinstance(raw, dict):
                raise PayloadError("an event must be a JSON object")
            events.append(parse(raw, index))
        except PayloadError as error:
            rejected.append({"index": index, "reason": str(error)})
    return events, rejected


# -- our protocol ------------------------------------------------------------------
def envelope_generic(payload):
    """``{"type": "tracking.updated", "events": [...]}``: any other type is
    refused (400): it is our protocol and it has no other type."""
    if not isinstance(payload, dict):
        raise PayloadError("expected a JSON object")
    if payload.get("type") != GENERIC_TYPE:
        raise PayloadError(f"unsupported type: expected {GENERIC_TYPE!r}")
    return Envelope(relevant=True)


def events_generic(payload):
    """Our protocol: ``{"type": "tracking.updated", "events": [event, ...]}``
    (the type is checked by ``envelope_generic``; polling answers carry the
    same events). Returns ``(events, rejected)``: one bad event does not drop
    the others."""
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        raise PayloadError("expected an object with an 'events' list")
    return _each(_list(payload, "events", "events"), _event_generic)


def _event_generic(raw, index):
    pod = _object(raw, "proof_of_delivery")
    edd = _get(raw, "estimated_delivery_date")
    return _event(
        index,
        tracking_ref=_ref(raw, "tracking_number"),
        carrier_status_code=_ref(raw, "status"),
        carrier_status_text=_text(raw, "description") or "",
        event_time=parse_datetime(_get(raw, "occurred_at", required=True)),
        location=_text(raw, "location"),
        carrier_event_id=_ref(raw, "id", MAX_ID_LENGTH, required=False) or False,
        expected_delivery_date=parse_date(edd),
        pod_signed_by=_text(pod, "signed_by", MAX_NAME_LENGTH),
        pod_signature_url=_url(pod, "signature_url"),
        pod_photo_url=_url(pod, "photo_url"),
    )


def tracking_batch(answer):
    """A ``/v1/tracking/batch`` answer, ``{"results": [{"tracking_number",
    "events": [...]}], "not_found": [numbers]}``, as ``(events, rejected,
    not_found)``; PayloadError when the answer is not of that shape (valid
    JSON is not enough)."""
    if not isinstance(answer, dict):
        raise PayloadError("the tracking answer is not a JSON object")
    results = _get(answer, "results", (list,)) or []
    not_found = _get(answer, "not_found", (list,)) or []
    if not all(isinstance(number, str) for number in not_found):
        raise PayloadError("not_found must be a list of strings")
    events, rejected = [], []
    for result in results:
        if not isinstance(result, dict):
            raise PayloadError("a tracking result is not a JSON object")
        parsed, bad = events_generic({"events": _get(result, "events", (list,)) or []})
        events += parsed
        rejected += bad
    return events, rejected, not_found


# -- EasyPost ------------------------------------------------------------------------
def envelope_easypost(payload):
    """An EasyPost ``Event``: its ``id`` (``evt_...``) identifies the delivery
    (EasyPost signs no timestamp); only ``tracker.*`` events are processed,
    others are acknowledged and ignored."""
    if not isinstance(payload, dict):
        raise PayloadError("expected an EasyPost Event object")
    event_id = _ref(payload, "id", MAX_ID_LENGTH)
    description = payload.get("description")
    relevant = isinstance(description, str) and description.startswith("tracker.")
    return Envelope(relevant=relevant, delivery_id=f"easypost:{event_id}")


def _location_easypost(location):
    parts = [_text(location, key, 100) for key in ("city", "state", "country")]
    return ", ".join(p for p in parts if p) or False


def events_easypost(payload):
    """EasyPost ``Event`` whose ``result`` is a ``Tracker`` with its
    ``tracking_details`` (every scan so far)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("result"), dict):
        raise PayloadError("expected an EasyPost Event with a Tracker 'result'")
    tracker = payload["result"]
    if tracker.get("object", "Tracker") != "Tracker":
        raise PayloadError("the event's result is not a Tracker")
    number = _ref(tracker, "tracking_code")
    edd = parse_date(tracker.get("est_delivery_date"))
    signed_by = _text(tracker, "signed_by", MAX_NAME_LENGTH)
    details = _list(tracker, "tracking_details", "tracking details")
    last = len(details) - 1

    def parse(detail, index):
        status = _ref(detail, "status")
        return _event(
            index,
            tracking_ref=number,
            carrier_status_code=status,
            carrier_status_text=_text(detail, "message")
            or _text(detail, "status_detail")
            or "",
            event_time=parse_datetime(_get(detail, "datetime", required=True)),
            location=_location_easypost(_object(detail, "tracking_location")),
            expected_delivery_date=edd if index == last else False,
            pod_signed_by=signed_by if status == "delivered" else False,
        )

    return _each(details, parse)


# -- AfterShip ------------------------------------------------------------------------
def envelope_aftership(payload):
    """An AfterShip webhook: ``event_id`` identifies the delivery and ``ts``
    (signed, in the body) dates it; only ``tracking_update`` is processed,
    other events are acknowledged and ignored."""
    if not isinstance(payload, dict):
        raise PayloadError("expected an AfterShip webhook object")
    event_id = _ref(payload, "event_id", MAX_ID_LENGTH)
    sent_at = payload.get("ts")
    if (
        isinstance(sent_at, bool)
        or not isinstance(sent_at, int)
        or not 0 < sent_at < 2**40
    ):
        # Without a plausible send time the delivery cannot be shown fresh:
        # as stale (and no arithmetic on a 400-digit integer).
        sent_at = 0
    return Envelope(
        relevant=payload.get("event", "tracking_update") == "tracking_update",
        delivery_id=f"aftership:{event_id}",
        sent_at=sent_at,
    )


def events_aftership(payload):
    """AfterShip ``tracking_update`` webhook: ``msg`` is the tracking with its
    ``checkpoints`` (each with ``tag`` and ``subtag``)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("msg"), dict):
        raise PayloadError("expected an AfterShip webhook with a 'msg' tracking")
    tracking = payload["msg"]
    number = _ref(tracking, "tracking_number")
    estimate = _object(tracking, "aftership_estimated_delivery_date")
    edd = parse_date(
        tracking.get("expected_delivery") or estimate.get("estimated_delivery_date")
    )
    signed_by = _text(tracking, "signed_by", MAX_NAME_LENGTH)
    checkpoints = _list(tracking, "checkpoints", "checkpoints")
    last = len(checkpoints) - 1

    def parse(checkpoint, index):
        tag = _ref(checkpoint, "tag")
        location = _text(checkpoint, "location") or ", ".join(
            p
            for p in (_text(checkpoint, "city", 100), _text(checkpoint, "country_iso3"))
            if p
        )
        return _event(
            index,
            tracking_ref=number,
            carrier_status_code=tag,
            carrier_status_text=_text(checkpoint, "message")
            or _text(checkpoint, "subtag_message")
            or _text(checkpoint, "subtag")
            or tag,
            event_time=parse_datetime(
                _get(checkpoint, "checkpoint_time", required=True)
            ),
            location=location or False,
            expected_delivery_date=edd if index == last else False,
            pod_signed_by=signed_by if tag == "Delivered" else False,
        )

    return _each(checkpoints, parse)


ENVELOPES = {
    "generic": envelope_generic,
    "easypost": envelope_easypost,
    "aftership": envelope_aftership,
}
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
