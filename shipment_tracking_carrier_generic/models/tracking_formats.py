# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Webhook formats the generic connector accepts: our own protocol, EasyPost
tracker webhooks and AfterShip tracking webhooks. Plain functions: signature
checks (constant time) and payload parsing into neutral event dicts
(``tracking_ref``, ``carrier_status_code``, ``carrier_substatus_code``,
``carrier_status_text``, ``event_time`` (naive UTC), ``location``,
``pickup_location``, ``pickup_deadline`` (naive UTC), ``carrier_event_id``,
``expected_delivery_date``, ``pod_*``, ``next_tracking_refs`` (the numbers the
parcel continues under after a hand-over) and ``index``: the event's position
in the payload, for the answer). Status codes are mapped by the carrier's
status table (code and sub-status), not here.

Each vendor is read as it means its payload: the tracker's own current status
wins over a late, out-of-order scan (``_tracker_event``), every estimated
delivery field counts (``aftership_edd``), and a signer placeholder
("Signature not required") is no person (``signer``).

Everything here treats its input as hostile: a check never raises anything but
``PayloadError`` (the request or one event is refused), whatever the headers
and whatever the JSON. Caps (documented in api/openapi.yaml and the readme):
``MAX_EVENTS`` events per request (more: the request is refused), identifiers
(tracking number, status code, event and delivery ids) of at most
``MAX_REF_LENGTH`` / ``MAX_ID_LENGTH`` characters (longer: the event is
refused), free texts truncated to ``MAX_TEXT_LENGTH`` characters, proof of
delivery links kept only when they are http(s) URLs of at most
``MAX_URL_LENGTH`` characters, at most ``MAX_NEXT_REFS`` hand-over numbers
per event (each a valid identifier, others dropped)."""

import base64
import binascii
import hashlib
import hmac
import re
import time
import unicodedata
from datetime import date, datetime, timedelta, timezone
from typing import NamedTuple

from odoo.addons.shipment_tracking.const import MAX_HANDOVER_REFS
from odoo.addons.shipment_tracking.tools import clean_pod_signer

REPLAY_TOLERANCE = 300
MAX_EVENTS = 1000
MAX_REF_LENGTH = 64
MAX_ID_LENGTH = 128
MAX_TEXT_LENGTH = 1000
MAX_NAME_LENGTH = 256
MAX_URL_LENGTH = 2048
# Hand-over numbers per event: as many as the core keeps.
MAX_NEXT_REFS = MAX_HANDOVER_REFS
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
    sender put in the signed body (None when the format has none); ``kind``:
    the sender's name of the delivery's type, cleaned for logging."""

    relevant: bool
    delivery_id: str | None = None
    sent_at: int | None = None
    kind: str = ""


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


def parse_optional_datetime(value):
    """A date-time the event can do without (a pickup deadline): naive UTC,
    False when absent or unusable."""
    try:
        return parse_datetime(value)
    except PayloadError:
        return False


def parse_date(value):
    """A date (or the date part of a date-time); False when absent or not a
    date: an estimate nobody can read is ignored, not an error."""
    if not isinstance(value, str) or not value:
        return False
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return False


def signer(mapping, key):
    """Who signed for the parcel: free text, False for a placeholder that
    names nobody ("Signature not required", "N/A", "Left at door")."""
    return clean_pod_signer(_text(mapping, key, MAX_NAME_LENGTH))


def next_refs(numbers, own=None):
    """Hand-over tracking numbers: the valid identifiers of ``numbers``
    (strings or integers of at most ``MAX_REF_LENGTH`` characters without
    control characters), without duplicates and ``own``, at most
    ``MAX_NEXT_REFS``; anything else is dropped, never the event."""
    refs = []
    for number in numbers[: MAX_NEXT_REFS * 4]:
        try:
            ref = _ref({"number": number}, "number", required=False)
        except PayloadError:
            continue
        if ref and ref != own and ref not in refs:
            refs.append(ref)
    return refs[:MAX_NEXT_REFS]


def _event(index, **values):
    """A neutral event dict."""
    return {
        "index": index,
        "carrier_event_id": False,
        "carrier_substatus_code": False,
        "expected_delivery_date": False,
        "pod_signed_by": False,
        "pod_signature_url": False,
        "pod_photo_url": False,
        "pickup_location": False,
        "pickup_deadline": False,
        "next_tracking_refs": [],
        **values,
    }


def _kind(value):
    """A delivery type for the log: a short single line, whatever was sent."""
    if not isinstance(value, str):
        return "?"
    return CONTROL_RE.sub(" ", value)[:64].strip() or "?"


def _newest(events):
    """The newest event by event time (the later in the payload on a tie)."""
    return max(events, key=lambda event: (event["event_time"], event["index"]))


def _tracker_event(events, index, number, status, detail, text, updated_at, stage):
    """The tracker's own current status as one more event when the newest
    scan says otherwise (scans arrive late and out of order; the vendor's
    tracker status is its verdict). Dated one second after the newest scan
    (the tracker's update time when there is no scan), so it is the newest
    event now and any later real scan still supersedes it; its
    ``carrier_event_id`` is made of the number, the status and the newest
    scan's time, so a re-delivered tracker is a duplicate and a later verdict
    is not. None when the tracker agrees, has no status, has no date at all,
    or lags behind the newest scan: ``stage`` ranks the vendor's statuses
    along the journey, and a tracker at an earlier stage than its newest scan
    (a summary not refreshed yet) must not pull the shipment back."""
    if not status:
        return None
    newest = _newest(events) if events else None
    if newest and stage.get(status, 0) < stage.get(newest["carrier_status_code"], 0):
        return None
    if newest and newest["carrier_status_code"] == status:
        if not detail or newest["carrier_substatus_code"] == detail:
            return None
    if newest:
        event_time = newest["event_time"] + timedelta(seconds=1)
    elif updated_at:
        event_time = updated_at
    else:
        return None
    event_id = f"tracker:{number}:{status}:{detail or ''}:{event_time.isoformat()}"
    if len(event_id) > MAX_ID_LENGTH:
        digest = hashlib.sha256(event_id.encode()).hexdigest()
        event_id = f"tracker:{digest}"
    return _event(
        index,
        tracking_ref=number,
        carrier_status_code=status,
        carrier_substatus_code=detail or False,
        carrier_status_text=text or f"Carrier status: {status}",
        event_time=event_time,
        location=False,
        carrier_event_id=event_id,
    )


def _add_tracker_event(events, rejected, index, build):
    """Append the tracker's own status event ``build()`` makes, if any; an
    unusable tracker status is reported like a bad scan, the scans stay."""
    try:
        extra = build()
    except PayloadError as error:
        rejected.append({"index": index, "reason": str(error)})
        return
    if extra:
        events.append(extra)


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
    number = _ref(raw, "tracking_number")
    pickup = _object(raw, "pickup_point")
    pickup_location = ", ".join(
        part for part in (_text(pickup, "name", 200), _text(pickup, "address")) if part
    )
    return _event(
        index,
        tracking_ref=number,
        carrier_status_code=_ref(raw, "status"),
        carrier_substatus_code=_ref(raw, "substatus", required=False) or False,
        carrier_status_text=_text(raw, "description") or "",
        event_time=parse_datetime(_get(raw, "occurred_at", required=True)),
        location=_text(raw, "location"),
        carrier_event_id=_ref(raw, "id", MAX_ID_LENGTH, required=False) or False,
        expected_delivery_date=parse_date(edd),
        pod_signed_by=signer(pod, "signed_by"),
        pod_signature_url=_url(pod, "signature_url"),
        pod_photo_url=_url(pod, "photo_url"),
        pickup_location=pickup_location[:MAX_TEXT_LENGTH] or False,
        pickup_deadline=parse_optional_datetime(pickup.get("deadline")),
        next_tracking_refs=next_refs(
            _get(raw, "next_tracking_numbers", (list,)) or [], own=number
        ),
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
# https://docs.easypost.com/docs/trackers: ``status`` and ``status_detail``
# of the Tracker and of each TrackingDetail.
EASYPOST_NO_NEWS = frozenset({"unknown"})
EASYPOST_PICKUP = frozenset({"available_for_pickup", "arrived_at_pickup_location"})
# Stages of EasyPost's tracker statuses along the journey (see _tracker_event).
EASYPOST_STAGES = {
    "pre_transit": 1,
    "in_transit": 2,
    "out_for_delivery": 3,
    "available_for_pickup": 3,
    "failure": 4,
    "error": 4,
    "delivered": 5,
    "return_to_sender": 5,
    "cancelled": 5,
}


def envelope_easypost(payload):
    """An EasyPost ``Event``: its ``id`` (``evt_...``) identifies the delivery
    (EasyPost signs no timestamp); only ``tracker.*`` events are processed,
    others (``batch.created``, ``refund.successful``...: EasyPost posts every
    event type to the same URL) are acknowledged and ignored."""
    if not isinstance(payload, dict):
        raise PayloadError("expected an EasyPost Event object")
    event_id = _ref(payload, "id", MAX_ID_LENGTH)
    description = payload.get("description")
    relevant = isinstance(description, str) and description.startswith("tracker.")
    return Envelope(
        relevant=relevant,
        delivery_id=f"easypost:{event_id}",
        kind=_kind(description),
    )


def _newest_pickup_location(events):
    """Where the newest pickup scan says the parcel waits (False: none)."""
    pickups = [event for event in events if event["pickup_location"]]
    return _newest(pickups)["pickup_location"] if pickups else False


def _location_easypost(location):
    parts = [_text(location, key, 100) for key in ("city", "state", "country")]
    return ", ".join(p for p in parts if p) or False


def events_easypost(payload):
    """EasyPost ``Event`` whose ``result`` is a ``Tracker`` with its
    ``tracking_details`` (every scan so far), plus the tracker's own status
    when the newest scan disagrees with it."""
    if not isinstance(payload, dict) or not isinstance(payload.get("result"), dict):
        raise PayloadError("expected an EasyPost Event with a Tracker 'result'")
    tracker = payload["result"]
    if tracker.get("object", "Tracker") != "Tracker":
        raise PayloadError("the event's result is not a Tracker")
    number = _ref(tracker, "tracking_code")
    edd = parse_date(tracker.get("est_delivery_date"))
    signed_by = signer(tracker, "signed_by")
    details = _list(tracker, "tracking_details", "tracking details")

    def parse(detail, index):
        status = _ref(detail, "status")
        substatus = _ref(detail, "status_detail", required=False) or False
        location = _location_easypost(_object(detail, "tracking_location"))
        pickup = status in EASYPOST_PICKUP or substatus in EASYPOST_PICKUP
        return _event(
            index,
            tracking_ref=number,
            carrier_status_code=status,
            carrier_substatus_code=substatus,
            carrier_status_text=_text(detail, "message")
            or _text(detail, "status_detail")
            or "",
            event_time=parse_datetime(_get(detail, "datetime", required=True)),
            location=location,
            pickup_location=location if pickup else False,
            pod_signed_by=signed_by if status == "delivered" else False,
        )

    events, rejected = _each(details, parse)

    def tracker_status():
        status = _ref(tracker, "status", required=False)
        if status in EASYPOST_NO_NEWS:
            return None
        detail = _ref(tracker, "status_detail", required=False)
        extra = _tracker_event(
            events,
            len(details),
            number,
            status,
            detail,
            detail and f"Carrier status: {status} ({detail})",
            parse_optional_datetime(tracker.get("updated_at")),
            EASYPOST_STAGES,
        )
        if extra:
            extra["pod_signed_by"] = signed_by if status == "delivered" else False
            if status in EASYPOST_PICKUP or detail in EASYPOST_PICKUP:
                extra["pickup_location"] = _newest_pickup_location(events)
        return extra

    _add_tracker_event(events, rejected, len(details), tracker_status)
    if events:
        _newest(events)["expected_delivery_date"] = edd
    return events, rejected


# -- AfterShip ------------------------------------------------------------------------
# https://www.aftership.com/docs/tracking/enum/delivery-statuses (tags) and
# .../delivery-sub-statuses (subtags), the Tracking object's estimate fields.
AFTERSHIP_NO_NEWS = frozenset({"Pending"})
AFTERSHIP_PICKUP = frozenset({"AvailableForPickup"})
# Stages of AfterShip's tags along the journey (see _tracker_event).
AFTERSHIP_STAGES = {
    "InfoReceived": 1,
    "InTransit": 2,
    "OutForDelivery": 3,
    "AvailableForPickup": 3,
    "AttemptFail": 3,
    "Exception": 4,
    "Expired": 4,
    "Delivered": 5,
}


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
    kind = payload.get("event", "tracking_update")
    return Envelope(
        relevant=kind == "tracking_update",
        delivery_id=f"aftership:{event_id}",
        sent_at=sent_at,
        kind=_kind(kind),
    )


def _lenient_object(mapping, key):
    """An optional object the events do without: {} when absent or not an
    object (a broken estimate is ignored, not an error)."""
    value = mapping.get(key)
    return value if isinstance(value, dict) else {}


def _estimate(estimate, point, low, high, prefer_high=False):
    """One estimate object's date: its point value, else the upper bound,
    else the lower one (the upper bound first when it is a range)."""
    keys = (high, point, low) if prefer_high else (point, high, low)
    for key in keys:
        value = parse_date(estimate.get(key))
        if value:
            return value
    return False


def aftership_edd(tracking):
    """The expected delivery date of an AfterShip tracking, from the most
    recent and most specific of its estimate fields:
    ``latest_estimated_delivery`` (the current estimate, whatever its
    source), ``courier_estimated_delivery_date`` (the carrier's),
    ``expected_delivery`` (the legacy carrier field),
    ``aftership_estimated_delivery_date`` (AfterShip's prediction) and
    ``first_estimated_delivery`` (the first estimate ever made, the oldest
    news). A range counts as its upper bound: the latest day the parcel is
    promised by, so a parcel within its window is not reported late."""
    latest = _lenient_object(tracking, "latest_estimated_delivery")
    courier = _lenient_object(tracking, "courier_estimated_delivery_date")
    predicted = _lenient_object(tracking, "aftership_estimated_delivery_date")
    first = _lenient_object(tracking, "first_estimated_delivery")
    return (
        _estimate(
            latest,
            "datetime",
            "datetime_min",
            "datetime_max",
            prefer_high=latest.get("type") == "range",
        )
        or _estimate(
            courier,
            "estimated_delivery_date",
            "estimated_delivery_date_min",
            "estimated_delivery_date_max",
        )
        or parse_date(tracking.get("expected_delivery"))
        or _estimate(
            predicted,
            "estimated_delivery_date",
            "estimated_delivery_date_min",
            "estimated_delivery_date_max",
        )
        or _estimate(
            first,
            "datetime",
            "datetime_min",
            "datetime_max",
            prefer_high=first.get("type") == "range",
        )
    )


def _aftership_next_refs(tracking, own):
    """``next_couriers``: the numbers the parcel continues under with another
    carrier (``[{"slug", "tracking_number", "source"}]``)."""
    couriers = tracking.get("next_couriers")
    if not isinstance(couriers, list):
        return []
    return next_refs(
        [
            c.get("tracking_number")
            for c in couriers[:MAX_EVENTS]
            if isinstance(c, dict)
        ],
        own=own,
    )


def events_aftership(payload):
    """AfterShip ``tracking_update`` webhook: ``msg`` is the tracking with its
    ``checkpoints`` (each with ``tag`` and ``subtag``), plus the tracking's own
    ``tag``/``subtag`` when the newest checkpoint disagrees with it."""
    if not isinstance(payload, dict) or not isinstance(payload.get("msg"), dict):
        raise PayloadError("expected an AfterShip webhook with a 'msg' tracking")
    tracking = payload["msg"]
    number = _ref(tracking, "tracking_number")
    edd = aftership_edd(tracking)
    signed_by = signer(tracking, "signed_by")
    pickup_point = _text(tracking, "pickup_location")
    handed_over = _aftership_next_refs(tracking, number)
    checkpoints = _list(tracking, "checkpoints", "checkpoints")

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
            carrier_substatus_code=_ref(checkpoint, "subtag", required=False) or False,
            carrier_status_text=_text(checkpoint, "message")
            or _text(checkpoint, "subtag_message")
            or _text(checkpoint, "subtag")
            or tag,
            event_time=parse_datetime(
                _get(checkpoint, "checkpoint_time", required=True)
            ),
            location=location or False,
            pickup_location=(pickup_point or location or False)
            if tag in AFTERSHIP_PICKUP
            else False,
            pod_signed_by=signed_by if tag == "Delivered" else False,
        )

    events, rejected = _each(checkpoints, parse)

    def tracker_status():
        tag = _ref(tracking, "tag", required=False)
        if tag in AFTERSHIP_NO_NEWS:
            return None
        times = [
            parse_optional_datetime(tracking.get(key))
            for key in ("updated_at", "last_updated_at")
        ]
        extra = _tracker_event(
            events,
            len(checkpoints),
            number,
            tag,
            _ref(tracking, "subtag", required=False),
            _text(tracking, "subtag_message"),
            max((t for t in times if t), default=None),
            AFTERSHIP_STAGES,
        )
        if extra:
            extra["pod_signed_by"] = signed_by if tag == "Delivered" else False
            if tag in AFTERSHIP_PICKUP:
                extra["pickup_location"] = pickup_point or False
        return extra

    _add_tracker_event(events, rejected, len(checkpoints), tracker_status)
    if events:
        _newest(events)["expected_delivery_date"] = edd
    for event in events:
        event["next_tracking_refs"] = list(handed_over)
    return events, rejected


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

# Default status tables: rows (carrier code, sub-status or "" for any
# sub-status of the code, our shipment status or False for none, incident kind
# or False). A carrier gets the generic rows and its webhook format's; the
# user edits them on the carrier. Lookup: (code, sub-status), then (code, "").
DEFAULT_STATUS_MAPS = {
    # Our protocol (api/openapi.yaml): status, and optionally substatus.
    "generic": [
        ("label_created", "", "dispatched", False),
        ("picked_up", "", "in_transit", False),
        ("in_transit", "", "in_transit", False),
        ("delayed", "", "in_transit", False),
        ("delayed", "customs", "in_transit", "customs"),
        ("delayed", "weather", "in_transit", "carrier_delay"),
        ("out_for_delivery", "", "out_for_delivery", False),
        ("available_for_pickup", "", "available_for_pickup", False),
        ("delivered", "", "delivered", False),
        ("delivered_to_pickup_point", "", "delivered", False),
        ("delivery_failed", "", "exception", "failed_attempt"),
        ("delivery_failed", "address", "exception", "address"),
        ("delivery_failed", "refused", "exception", "refused"),
        ("exception", "", "exception", False),
        ("exception", "address", "exception", "address"),
        ("exception", "refused", "exception", "refused"),
        ("exception", "customs", "exception", "customs"),
        ("exception", "payment", "exception", "payment"),
        ("exception", "damaged", "exception", "damaged"),
        ("exception_resolved", "", "in_transit", False),
        ("lost", "", "exception", "lost"),
        ("returned_to_sender", "", "returned", "returned"),
    ],
    # https://docs.easypost.com/docs/trackers: status, and status_detail.
    "easypost": [
        ("unknown", "", False, False),
        ("pre_transit", "", "dispatched", False),
        ("in_transit", "", "in_transit", False),
        ("in_transit", "arrived_at_pickup_location", "available_for_pickup", False),
        ("in_transit", "address_correction", "in_transit", "address"),
        ("in_transit", "delayed", "in_transit", "carrier_delay"),
        ("in_transit", "weather_delay", "in_transit", "carrier_delay"),
        ("out_for_delivery", "", "out_for_delivery", False),
        ("available_for_pickup", "", "available_for_pickup", False),
        ("delivered", "", "delivered", False),
        ("return_to_sender", "", "returned", "returned"),
        ("failure", "", "exception", False),
        ("failure", "address_correction", "exception", "address"),
        ("failure", "refused", "exception", "refused"),
        ("failure", "damaged", "exception", "damaged"),
        ("failure", "lost", "exception", "lost"),
        ("error", "", "exception", False),
        ("cancelled", "", "cancelled", False),
    ],
    # https://www.aftership.com/docs/tracking/enum/delivery-statuses (tag)
    # and .../delivery-sub-statuses (subtag).
    "aftership": [
        ("Pending", "", "dispatched", False),
        ("InfoReceived", "", "dispatched", False),
        ("InTransit", "", "in_transit", False),
        ("OutForDelivery", "", "out_for_delivery", False),
        ("AvailableForPickup", "", "available_for_pickup", False),
        ("AttemptFail", "", "exception", "failed_attempt"),
        ("Delivered", "", "delivered", False),
        ("Exception", "", "exception", False),
        ("Exception", "Exception_002", "exception", "address"),  # customer moved
        ("Exception", "Exception_003", "exception", "refused"),
        ("Exception", "Exception_004", "exception", "customs"),
        ("Exception", "Exception_005", "exception", "carrier_delay"),  # external
        ("Exception", "Exception_006", "exception", "payment"),
        ("Exception", "Exception_007", "exception", "address"),  # incorrect
        ("Exception", "Exception_010", "returned", "returned"),  # returning
        ("Exception", "Exception_011", "returned", "returned"),  # returned
        ("Exception", "Exception_012", "exception", "damaged"),
        ("Exception", "Exception_013", "exception", "lost"),
        ("Exception", "Exception_016", "exception", "carrier_delay"),  # processing
        ("Exception", "Exception_017", "exception", "carrier_delay"),  # weather
        ("Exception", "Exception_018", "exception", "customs"),  # documents
        ("Exception", "Exception_019", "exception", "carrier_delay"),  # flight
        ("Expired", "", "expired", False),
    ],
}


def default_status_rows(webhook_format):
    """The default rows of a carrier with this webhook format, keyed by
    ``(code, sub-status)``: the generic protocol's (polling speaks it) and
    the format's own, the format's winning."""
    rows = {}
    for name in dict.fromkeys(("generic", webhook_format)):
        for code, subcode, state, kind in DEFAULT_STATUS_MAPS.get(name, []):
            rows[(code, subcode)] = (state, kind)
    return rows
