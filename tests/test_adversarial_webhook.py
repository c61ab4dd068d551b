"""The webhook and the poller against a hostile or misbehaving carrier, on a
real server over real HTTP (issue 8, sections 1, 2 and 4): oversize chunked
bodies, hostile signature headers, a fuzz run of signed malformed payloads,
concurrent identical pushes, a webhook racing the poller, archived carriers,
replays, and events out of time bounds. Every answer is 2xx or 4xx, never 5xx,
and what is refused changes nothing."""

import base64
import hashlib
import hmac
import json
import random
import select
import socket
import threading
import time
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from urllib.parse import urlsplit

import pytest
import requests
from conftest import HTTP_TIMEOUT, SANDBOX_API_KEY, SANDBOX_WEBHOOK_SECRET
from sandbox import sign
from test_e2e_carrier import create_sandbox_carrier, validate

MAX_BODY = 1024 * 1024
OVERSIZE = 24 * 1024 * 1024
FUZZ_RUNS = 500
FUZZ_SEED = 20261129
CONCURRENT_PUSHES = 10
# Defaults of the event time bounds (shipment_tracking.event_future_hours...).
FUTURE_HOURS = 24
HISTORY_DAYS = 30
SNAPSHOT_FIELDS = [
    "shipment_state",
    "shipment_last_event_date",
    "shipment_delivered_date",
    "expected_delivery_date",
    "shipment_pod_signed_by",
    "shipment_pod_signature_url",
    "shipment_pod_photo_url",
]


# ----------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------
def utcnow():
    return datetime.now(timezone.utc).replace(microsecond=0)


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def ago(**delta):
    return iso(utcnow() - timedelta(**delta))


def generic_headers(body, secret=SANDBOX_WEBHOOK_SECRET, timestamp=None):
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": "application/json",
        "X-Shipment-Timestamp": timestamp,
        "X-Shipment-Signature": sign(secret, timestamp, body),
    }


def easypost_headers(body):
    digest = hmac.new(SANDBOX_WEBHOOK_SECRET.encode(), body, hashlib.sha256)
    return {
        "Content-Type": "application/json",
        "X-Hmac-Signature": f"hmac-sha256-hex={digest.hexdigest()}",
    }


def aftership_headers(body):
    digest = hmac.new(SANDBOX_WEBHOOK_SECRET.encode(), body, hashlib.sha256)
    return {
        "Content-Type": "application/json",
        "aftership-hmac-sha256": base64.b64encode(digest.digest()).decode(),
    }


def event(number, status, when, event_id=None, **extra):
    return {
        "id": event_id or f"adv-{number}-{status}-{when}",
        "tracking_number": number,
        "status": status,
        "description": status.replace("_", " ").capitalize(),
        "occurred_at": when,
        "location": "Brussels, BE",
        **extra,
    }


def body_of(*events):
    return json.dumps({"type": "tracking.updated", "events": list(events)}).encode()


def post(url, body, headers):
    return requests.post(url, data=body, headers=headers, timeout=HTTP_TIMEOUT)


def push(carrier, *events):
    body = body_of(*events)
    return post(carrier["webhook_url"], body, generic_headers(body))


def send_chunked(url, extra_headers, total, chunk_size=64 * 1024):
    """POST ``total`` bytes with ``Transfer-Encoding: chunked`` (no length) on
    a raw socket, stopping as soon as the server answers. Returns (status,
    bytes sent): a server that reads the whole body answers only after all
    of it is sent."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
    head = "".join(
        [
            f"POST {parts.path} HTTP/1.1\r\n",
            f"Host: {parts.netloc}\r\n",
            "Transfer-Encoding: chunked\r\n",
            *(f"{key}: {value}\r\n" for key, value in extra_headers.items()),
            "\r\n",
        ]
    )
    chunk = f"{chunk_size:x}\r\n".encode() + b" " * chunk_size + b"\r\n"
    sent, interrupted = 0, None
    try:
        sock.sendall(head.encode())
        while sent < total:
            if select.select([sock], [], [], 0)[0]:
                break  # the server answered
            sock.sendall(chunk)
            sent += chunk_size
        else:
            sock.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError, TimeoutError) as error:
        # The server answered and closed while we were sending.
        interrupted = error
    answer = b""
    try:
        while b"\r\n" not in answer:
            data = sock.recv(4096)
            if not data:
                break
            answer += data
    finally:
        sock.close()
    assert answer.startswith(b"HTTP/1."), (answer[:100], sent, interrupted)
    return int(answer.split()[1]), sent


def picking_snapshot(admin, picking_id):
    return (
        admin.read_one("stock.picking", picking_id, SNAPSHOT_FIELDS),
        admin.call(
            "shipment.tracking.event",
            "search_count",
            [("picking_id", "=", picking_id)],
        ),
    )


def events_of(admin, picking_id):
    return admin.call(
        "shipment.tracking.event",
        "search_read",
        [("picking_id", "=", picking_id)],
        ["carrier_event_id", "carrier_status_code", "source", "event_time"],
        order="event_time, id",
    )


def chatter_lines(admin, picking_id, text="Carrier update"):
    return admin.call(
        "mail.message",
        "search_count",
        [
            ("model", "=", "stock.picking"),
            ("res_id", "=", picking_id),
            ("body", "ilike", text),
        ],
    )


def customer_updates(admin, picking_id, kind):
    return admin.call(
        "shipment.tracking.notification",
        "search_count",
        [("picking_id", "=", picking_id), ("kind", "=", kind)],
    )


# ----------------------------------------------------------------------------
# Fixtures
# ----------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def bounds(admin):
    """The default time bounds, set after the module's carriers are made
    (the shared sandbox-carrier factory widens the future one for the other
    end-to-end tests' time travel)."""
    admin.call(
        "ir.config_parameter",
        "set_param",
        "shipment_tracking.event_future_hours",
        str(FUTURE_HOURS),
    )


@pytest.fixture(scope="module")
def carrier(admin, shop, sandbox, odoo_server):
    """A generic carrier of the sandbox; the sandbox does not push to it
    (the tests push themselves)."""
    sandbox.configure(webhook_url=None)
    return create_sandbox_carrier(admin, shop, sandbox, odoo_server, "Adversarial")


def format_carrier(admin, shop, sandbox, odoo_server, fmt):
    created = create_sandbox_carrier(admin, shop, sandbox, odoo_server, fmt)
    admin.call(
        "delivery.carrier",
        "write",
        [created["id"]],
        {"generic_webhook_format": fmt},
    )
    return created


@pytest.fixture(scope="module")
def easypost_carrier(admin, shop, sandbox, odoo_server):
    return format_carrier(admin, shop, sandbox, odoo_server, "easypost")


@pytest.fixture(scope="module")
def aftership_carrier(admin, shop, sandbox, odoo_server):
    return format_carrier(admin, shop, sandbox, odoo_server, "aftership")


def book(shop, login, carrier):
    """A delivery validated (so booked at the sandbox) with ``carrier``:
    (picking id, tracking number)."""
    _order, picking = shop.new_delivery(carrier_id=carrier["id"])
    shipment = validate(shop, login, picking["id"])
    assert shipment["shipment_state"] == "dispatched", shipment
    return picking["id"], shipment["carrier_tracking_ref"]


@pytest.fixture
def shipment(shop, login, carrier):
    return book(shop, login, carrier)


@pytest.fixture(scope="module")
def delivered(shop, login, admin, carrier):
    """A shipment the carrier delivered (by a signed push)."""
    picking_id, number = book(shop, login, carrier)
    answer = push(
        carrier,
        event(number, "picked_up", ago(hours=6)),
        event(
            number,
            "delivered",
            ago(hours=1),
            proof_of_delivery={"signed_by": "J. Doe"},
        ),
    )
    assert answer.status_code == HTTPStatus.OK, answer.text
    assert answer.json()["accepted"] == 2, answer.text
    state = admin.read_one("stock.picking", picking_id, ["shipment_state"])
    assert state["shipment_state"] == "delivered"
    return picking_id, number


# ----------------------------------------------------------------------------
# Size and headers
# ----------------------------------------------------------------------------
CONTENT_TYPES = [
    "application/json",
    # Odoo parses these whole before any route runs, unless told otherwise.
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
]


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
def test_chunked_oversize_body_is_413(content_type, carrier, admin, shipment):
    """24 MiB without Content-Length: refused once 1 MiB is read, long before
    the sender is done, and nothing changes."""
    picking_id, _number = shipment
    before = picking_snapshot(admin, picking_id)
    status, sent = send_chunked(
        carrier["webhook_url"], {"Content-Type": content_type}, OVERSIZE
    )
    assert status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert sent < OVERSIZE, "the server read the whole body before answering"
    assert picking_snapshot(admin, picking_id) == before


def test_chunked_oversize_body_with_requests_is_413(carrier, admin, shipment):
    """The same with an ordinary client sending a generator (chunked)."""
    picking_id, _number = shipment
    before = picking_snapshot(admin, picking_id)
    block = b" " * (1024 * 1024)

    def body():
        for _i in range(OVERSIZE // len(block)):
            yield block

    try:
        response = post(carrier["webhook_url"], body(), {"Content-Type": "text/plain"})
    except requests.ConnectionError:
        # The server answered 413 and closed the connection while the client
        # was still sending: what the raw-socket test shows.
        response = None
    if response is not None:
        assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert picking_snapshot(admin, picking_id) == before


def _hostile_generic(body):
    good = generic_headers(body)
    return {
        "non-ascii timestamp": {**good, "X-Shipment-Timestamp": "١٧٠٠٠".encode()},
        "5000-digit timestamp": {**good, "X-Shipment-Timestamp": "9" * 5000},
        "non-hex signature": {**good, "X-Shipment-Signature": "sha256=" + "g" * 64},
        "non-ascii signature": {
            **good,
            "X-Shipment-Signature": ("sha256=" + "é" * 64).encode(),
        },
    }


HOSTILE = [
    ("generic", "non-ascii timestamp"),
    ("generic", "5000-digit timestamp"),
    ("generic", "non-hex signature"),
    ("generic", "non-ascii signature"),
    ("easypost", "non-hex signature"),
    ("easypost", "non-ascii signature"),
    ("aftership", "non-base64 signature"),
    ("aftership", "non-ascii signature"),
]


@pytest.mark.parametrize(
    ("fmt", "case"), HOSTILE, ids=[f"{fmt}: {case}" for fmt, case in HOSTILE]
)
def test_hostile_header_is_401(
    fmt, case, carrier, easypost_carrier, aftership_carrier, admin, shipment
):
    picking_id, number = shipment
    target = {
        "generic": carrier,
        "easypost": easypost_carrier,
        "aftership": aftership_carrier,
    }[fmt]
    body = body_of(event(number, "in_transit", ago(hours=1)))
    headers = {
        "generic": _hostile_generic(body),
        "easypost": {
            "non-hex signature": {"X-Hmac-Signature": "hmac-sha256-hex=" + "g" * 64},
            "non-ascii signature": {
                "X-Hmac-Signature": ("hmac-sha256-hex=" + "é" * 64).encode()
            },
        },
        "aftership": {
            "non-base64 signature": {"aftership-hmac-sha256": "!" * 44},
            "non-ascii signature": {"aftership-hmac-sha256": ("é" * 43 + "=").encode()},
        },
    }[fmt][case]
    before = picking_snapshot(admin, picking_id)
    response = post(
        target["webhook_url"], body, {"Content-Type": "application/json", **headers}
    )
    assert response.status_code == HTTPStatus.UNAUTHORIZED, response.text
    assert picking_snapshot(admin, picking_id) == before


# ----------------------------------------------------------------------------
# Payload shapes: named cases and a fuzz run
# ----------------------------------------------------------------------------
SHAPES = {
    "deeply nested list": (b"[" * 5000, 400),
    "deeply nested object": (b'{"a":' * 5000, 400),
    "5000-digit integer": (b'{"type": "tracking.updated", "n": ' + b"9" * 5000, 400),
    "not json": (b"{not json", 400),
    "top-level list": (b"[]", 400),
    "other type": (b'{"type": "tracking.deleted", "events": []}', 400),
}


@pytest.mark.parametrize("case", list(SHAPES))
def test_malformed_request_is_400(case, carrier, admin, shipment):
    picking_id, _number = shipment
    body, status = SHAPES[case]
    before = picking_snapshot(admin, picking_id)
    response = post(carrier["webhook_url"], body, generic_headers(body))
    assert response.status_code == status, response.text
    assert picking_snapshot(admin, picking_id) == before


BAD_EVENTS = {
    "list as tracking number": {"tracking_number": ["X"]},
    "number as tracking number": {"tracking_number": 1.5},
    "object as status": {"status": {"code": "delivered"}},
    "list as description": {"description": ["x"]},
    "object as location": {"location": {"city": "Ghent"}},
    "string as proof of delivery": {"proof_of_delivery": "signed"},
    "number as estimated delivery": {"estimated_delivery_date": 20301201},
    "overflowing time": {"occurred_at": "0001-01-01T00:00:00+01:00"},
    "100 kB tracking number": {"tracking_number": "T" * 100_000},
}


@pytest.mark.parametrize("case", list(BAD_EVENTS))
def test_bad_event_is_listed_in_rejected(case, carrier, admin, shipment):
    picking_id, number = shipment
    bad = dict(event(number, "delivered", ago(hours=1)), **BAD_EVENTS[case])
    good = event(number, "in_transit", ago(hours=2))
    before = picking_snapshot(admin, picking_id)
    response = push(carrier, bad, good)
    assert response.status_code == HTTPStatus.OK, response.text
    answer = response.json()
    assert [item["index"] for item in answer["rejected"]] == [0], answer
    assert answer["accepted"] == 1, answer
    after = picking_snapshot(admin, picking_id)
    assert after[0]["shipment_state"] == "in_transit", "the bad event was applied"
    assert after[1] == before[1] + 1


def fuzz_value(rng, depth=0):
    """A random JSON value, hostile more often than not."""
    kinds = [
        lambda: None,
        lambda: rng.choice([True, False]),
        lambda: rng.randint(-(2**70), 2**70),
        lambda: rng.choice([0.5, -1e308, 1e308, 0.0]),
        lambda: "".join(chr(rng.randint(0, 0x10FFFF)) for _i in range(8))
        .encode("utf-8", "replace")
        .decode("utf-8", "replace"),
        lambda: rng.choice(
            [
                "",
                "\x00",
                "9999-12-31T23:59:59Z",
                "0001-01-01T00:00:00+01:00",
                "2026-02-30T10:00:00Z",
                "tracking.updated",
                "delivered",
                "x" * rng.choice([1000, 20_000, 100_000]),
            ]
        ),
    ]
    if depth < 3:
        kinds += [
            lambda: [fuzz_value(rng, depth + 1) for _i in range(rng.randint(0, 3))],
            lambda: {
                rng.choice(["a", "id", "status", "events"]): fuzz_value(rng, depth + 1)
                for _i in range(rng.randint(0, 3))
            },
        ]
    return rng.choice(kinds)()


def fuzz_body(rng, number):
    """A signed-able body: a valid template with one to three fields spoiled,
    or a random document, or raw garbage. Valid-looking events are older than
    the delivery, so nothing may move a delivered shipment."""
    roll = rng.random()
    if roll < 0.1:
        return bytes(rng.getrandbits(8) for _i in range(rng.randint(0, 300)))
    if roll < 0.15:
        return rng.choice([b"[", b"{"]) * rng.randint(1000, 20_000)
    if roll < 0.3:
        return json.dumps(fuzz_value(rng)).encode()
    events = []
    for index in range(rng.randint(1, 4)):
        item = event(
            number,
            rng.choice(["delivered", "returned_to_sender", "exception", "in_transit"]),
            ago(hours=rng.randint(2, 48)),
            event_id=f"fuzz-{rng.getrandbits(32)}-{index}",
            estimated_delivery_date=ago(days=-3)[:10],
            proof_of_delivery={"signed_by": "Mallory"},
        )
        for _i in range(rng.randint(1, 3)):
            key = rng.choice([*item, "proof_of_delivery", "extra"])
            item[key] = fuzz_value(rng)
        events.append(item)
    payload = {"type": "tracking.updated", "events": events}
    if rng.random() < 0.1:
        payload[rng.choice(["type", "events"])] = fuzz_value(rng)
    return json.dumps(payload).encode()


def test_fuzz_signed_payloads_never_5xx(carrier, admin, delivered):
    """500 signed random or malformed payloads (seeded): no 5xx, and the
    delivered shipment stays as it was."""
    picking_id, number = delivered
    before = admin.read_one("stock.picking", picking_id, SNAPSHOT_FIELDS)
    rng = random.Random(FUZZ_SEED)
    statuses = {}
    for run in range(FUZZ_RUNS):
        body = fuzz_body(rng, number)
        response = post(carrier["webhook_url"], body, generic_headers(body))
        assert response.status_code < 500, (run, body[:300], response.text[:300])
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    assert set(statuses) <= {200, 400, 413}, statuses
    assert statuses.get(200) and statuses.get(400), statuses
    assert admin.read_one("stock.picking", picking_id, SNAPSHOT_FIELDS) == before


# ----------------------------------------------------------------------------
# Concurrency
# ----------------------------------------------------------------------------
def test_concurrent_identical_pushes(carrier, admin, shipment):
    """Ten deliveries of one signed event at once: ten 200s, one event, one
    chatter line, at most one customer update."""
    picking_id, number = shipment
    body = body_of(event(number, "out_for_delivery", ago(minutes=30)))
    headers = generic_headers(body)
    barrier = threading.Barrier(CONCURRENT_PUSHES)
    answers = [None] * CONCURRENT_PUSHES

    def deliver(slot):
        barrier.wait()
        try:
            answers[slot] = post(carrier["webhook_url"], body, headers)
        except requests.RequestException as error:
            answers[slot] = error

    threads = [
        threading.Thread(target=deliver, args=(slot,))
        for slot in range(CONCURRENT_PUSHES)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(HTTP_TIMEOUT * 2)
    statuses = [getattr(answer, "status_code", answer) for answer in answers]
    assert statuses == [HTTPStatus.OK] * CONCURRENT_PUSHES, [
        getattr(answer, "text", answer) for answer in answers
    ]
    assert sum(answer.json()["accepted"] for answer in answers) == 1
    assert sum(answer.json()["duplicates"] for answer in answers) == 9
    pushed = [e for e in events_of(admin, picking_id) if e["source"] == "webhook"]
    assert len(pushed) == 1, pushed
    assert chatter_lines(admin, picking_id) == 1
    assert customer_updates(admin, picking_id, "out_for_delivery") <= 1
    state = admin.read_one("stock.picking", picking_id, ["shipment_state"])
    assert state["shipment_state"] == "out_for_delivery"


def test_webhook_and_poll_race_on_one_event(carrier, admin, sandbox, shipment):
    """The carrier pushes the scans the poller fetches at the same moment:
    each is recorded once, neither side fails."""
    picking_id, number = shipment
    # Just booked, so due for polling; the scans of the first 12 hours.
    assert sandbox.advance_clock(13)["events_released"]
    tracking = requests.get(
        f"{sandbox.url}/v1/tracking/{number}",
        headers={"Authorization": f"Bearer {SANDBOX_API_KEY}"},
        timeout=HTTP_TIMEOUT,
    ).json()
    scans = tracking["events"]
    assert len(scans) >= 2, tracking
    body = body_of(*scans)
    headers = generic_headers(body)
    cron_id = admin.ref("shipment_tracking.ir_cron_shipment_poll")
    barrier = threading.Barrier(2)
    results = {}

    def webhook():
        barrier.wait()
        results["webhook"] = post(carrier["webhook_url"], body, headers)

    def poller():
        barrier.wait()
        results["poll"] = admin.call("ir.cron", "method_direct_trigger", [cron_id])

    threads = [threading.Thread(target=webhook), threading.Thread(target=poller)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert results["webhook"].status_code == HTTPStatus.OK, results["webhook"].text
    assert results["poll"] is True
    stored = events_of(admin, picking_id)
    ids = [item["carrier_event_id"] for item in stored]
    assert sorted(ids) == sorted(scan["id"] for scan in scans), stored
    shipment_after = admin.read_one(
        "stock.picking", picking_id, ["shipment_state", "shipment_poll_error"]
    )
    assert shipment_after["shipment_state"] == "in_transit"
    assert not shipment_after["shipment_poll_error"], shipment_after
    assert chatter_lines(admin, picking_id, "Carrier update: In Transit") == 1


# ----------------------------------------------------------------------------
# Carrier, replays, time bounds
# ----------------------------------------------------------------------------
def test_archived_carrier_refuses_webhooks(carrier, admin, shipment):
    picking_id, number = shipment
    before = picking_snapshot(admin, picking_id)
    admin.call("delivery.carrier", "write", [carrier["id"]], {"active": False})
    try:
        response = push(carrier, event(number, "in_transit", ago(hours=1)))
    finally:
        admin.call("delivery.carrier", "write", [carrier["id"]], {"active": True})
    assert response.status_code == HTTPStatus.NOT_FOUND, response.text
    assert picking_snapshot(admin, picking_id) == before


def test_easypost_replay_refused(easypost_carrier, admin, shop, login):
    picking_id, number = book(shop, login, easypost_carrier)
    scanned = ago(hours=2)
    payload = {
        "object": "Event",
        "id": f"evt_{number}",
        "description": "tracker.updated",
        "result": {
            "object": "Tracker",
            "tracking_code": number,
            "tracking_details": [{"status": "in_transit", "datetime": scanned}],
        },
    }
    body = json.dumps(payload).encode()
    first = post(easypost_carrier["webhook_url"], body, easypost_headers(body))
    assert first.json()["accepted"] == 1, first.text
    # An attacker replays it after the carrier moved on.
    newer = push_easypost_details(easypost_carrier, number, scanned, "out_for_delivery")
    assert newer.json()["accepted"] == 2, newer.text
    before = picking_snapshot(admin, picking_id)
    replay = post(easypost_carrier["webhook_url"], body, easypost_headers(body))
    assert replay.status_code == HTTPStatus.OK
    assert replay.json()["ignored"] is True, replay.text
    assert picking_snapshot(admin, picking_id) == before
    other = dict(payload, id=f"evt_other_{number}", description="batch.created")
    other = json.dumps(other).encode()
    ignored = post(easypost_carrier["webhook_url"], other, easypost_headers(other))
    assert ignored.json() == {"ignored": True, "reason": "not a tracking update"}


def push_easypost_details(carrier, number, scanned, status):
    """The tracker with the scan of ``scanned`` and two more."""
    body = json.dumps(
        {
            "object": "Event",
            "id": f"evt_{number}_{status}",
            "description": "tracker.updated",
            "result": {
                "object": "Tracker",
                "tracking_code": number,
                "tracking_details": [
                    {"status": "in_transit", "datetime": scanned},
                    {"status": "pre_transit", "datetime": ago(hours=3)},
                    {"status": status, "datetime": ago(hours=1)},
                ],
            },
        }
    ).encode()
    return post(carrier["webhook_url"], body, easypost_headers(body))


def aftership_body(number, event_id, ts, tag="InTransit"):
    return json.dumps(
        {
            "event": "tracking_update",
            "event_id": event_id,
            "ts": ts,
            "msg": {
                "tracking_number": number,
                "checkpoints": [{"tag": tag, "checkpoint_time": ago(hours=2)}],
            },
        }
    ).encode()


def test_aftership_replay_refused(aftership_carrier, admin, shop, login):
    picking_id, number = book(shop, login, aftership_carrier)
    body = aftership_body(number, f"as-{number}", int(time.time()))
    first = post(aftership_carrier["webhook_url"], body, aftership_headers(body))
    assert first.json()["accepted"] == 1, first.text
    before = picking_snapshot(admin, picking_id)
    replay = post(aftership_carrier["webhook_url"], body, aftership_headers(body))
    assert replay.status_code == HTTPStatus.OK
    assert replay.json()["ignored"] is True, replay.text
    stale = aftership_body(
        number, f"as-stale-{number}", int(time.time()) - 3600, tag="Delivered"
    )
    answer = post(aftership_carrier["webhook_url"], stale, aftership_headers(stale))
    assert answer.status_code == HTTPStatus.UNAUTHORIZED, answer.text
    assert picking_snapshot(admin, picking_id) == before


def test_future_and_ancient_events_rejected(carrier, admin, shipment):
    picking_id, number = shipment
    shipped = admin.read_one("stock.picking", picking_id, ["shipment_date"])
    shipped = datetime.fromisoformat(shipped["shipment_date"])
    ancient = iso(shipped - timedelta(days=HISTORY_DAYS + 1))
    future = iso(utcnow() + timedelta(hours=FUTURE_HOURS + 1))
    response = push(
        carrier,
        event(number, "delivered", "9999-12-31T23:00:00Z"),
        event(number, "delivered", future),
        event(number, "returned_to_sender", ancient),
        event(number, "in_transit", ago(hours=1)),
    )
    assert response.status_code == HTTPStatus.OK, response.text
    answer = response.json()
    assert answer["accepted"] == 1, answer
    assert [item["index"] for item in answer["rejected"]] == [0, 1, 2], answer
    state = admin.read_one("stock.picking", picking_id, ["shipment_state"])
    assert state["shipment_state"] == "in_transit"
    # Nothing froze the status: the next real scan moves it on.
    push(carrier, event(number, "out_for_delivery", ago(minutes=5)))
    state = admin.read_one("stock.picking", picking_id, ["shipment_state"])
    assert state["shipment_state"] == "out_for_delivery"


def send_raw(url, head_extra, raw_body, hang_up=False):
    """POST ``raw_body`` as it is after a chunked header (for broken chunked
    encodings); ``hang_up`` closes our side before the body ends. Returns
    the status the server answered."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(
            (
                f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                "Transfer-Encoding: chunked\r\n"
                f"{head_extra}\r\n"
            ).encode()
            + raw_body
        )
        if hang_up:
            sock.shutdown(socket.SHUT_WR)
        answer = b""
        while b"\r\n" not in answer:
            data = sock.recv(4096)
            if not data:
                break
            answer += data
    assert answer.startswith(b"HTTP/1."), answer[:100]
    return int(answer.split()[1])


BROKEN_CHUNKS = {
    "size not hex": (b"zz\r\n{}\r\n0\r\n\r\n", False),
    "negative size": (b"-1\r\n{}\r\n0\r\n\r\n", False),
    "chunk extension": (b"2;x=y\r\n{}\r\n0\r\n\r\n", False),
    "hung up mid-chunk": (b"ffff\r\n{}", True),
}


@pytest.mark.parametrize("case", BROKEN_CHUNKS, ids=list(BROKEN_CHUNKS))
def test_broken_chunked_body_is_4xx(case, carrier, admin, shipment):
    """A broken chunked encoding is the sender's fault: 4xx, never 500, and
    nothing changes."""
    picking_id, _number = shipment
    before = picking_snapshot(admin, picking_id)
    raw, hang_up = BROKEN_CHUNKS[case]
    status = send_raw(
        carrier["webhook_url"], "Content-Type: application/json\r\n", raw, hang_up
    )
    assert 400 <= status < 500, status
    assert picking_snapshot(admin, picking_id) == before
