"""The sandbox carrier (shipment_tracking_carrier_generic/sandbox) over real HTTP:
the protocol of api/openapi.yaml, its scenarios, webhooks and faults."""

import base64
import hashlib
import hmac
import io
import json
import re
import socket
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parent.parent
ADDON = REPO / "shipment_tracking_carrier_generic"
sys.path.insert(0, str(ADDON))

from sandbox import SandboxCarrier, sign, verify  # noqa: E402
from sandbox.scenarios import SCENARIOS, choose_scenario  # noqa: E402

API_KEY = "test-key"
SECRET = "whsec-test"
TIMEOUT = 5
TRACKING_RE = re.compile(r"^SBX[A-Z0-9]{10}$")


def address(**values):
    return {
        "name": "Jane Doe",
        "street": "1 Rue de la Paix",
        "city": "Lyon",
        "zip": "69001",
        "country_code": "FR",
        **values,
    }


def parcel(**values):
    return {"length": 30, "width": 20, "height": 10, "weight": 1.5, **values}


def shipment(reference="WH/OUT/00001", parcels=None, **values):
    return {
        "reference": reference,
        "ship_to": address(),
        "parcels": [parcel(reference="PACK1")] if parcels is None else parcels,
        **values,
    }


@pytest.fixture(scope="module")
def carrier():
    with SandboxCarrier(api_key=API_KEY, quiet=True) as server:
        yield server


@pytest.fixture(autouse=True)
def fresh(carrier):
    yield
    carrier.reset()


class Client:
    """requests against the sandbox, with the API key unless told otherwise."""

    def __init__(self, base_url):
        self.base_url = base_url
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy on loopback
        self.session.headers["Authorization"] = f"Bearer {API_KEY}"

    def __call__(self, method, path, **kwargs):
        kwargs.setdefault("timeout", TIMEOUT)
        return self.session.request(method, self.base_url + path, **kwargs)

    def book(self, payload=None, **values):
        response = self("POST", "/v1/shipments", json=payload or shipment(**values))
        assert response.status_code in (200, 201), response.text
        return response.json()

    def statuses(self, numbers):
        response = self(
            "POST", "/v1/tracking/batch", json={"tracking_numbers": numbers}
        )
        assert response.status_code == 200, response.text
        return {
            item["tracking_number"]: item["status"]
            for item in response.json()["results"]
        }

    def advance(self, hours):
        response = self("POST", "/sandbox/clock/advance", json={"hours": hours})
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def api(carrier):
    client = Client(carrier.url)
    yield client
    client.session.close()


def get(url, **kwargs):
    """GET without the API key nor proxies, as a browser would."""
    with requests.Session() as session:
        session.trust_env = False
        return session.get(url, timeout=TIMEOUT, **kwargs)


def error_code(response):
    return response.json()["error"]["code"]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Authentication, booking, rates ------------------------------------------------


def test_auth(api):
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer wrong"}):
        response = api("GET", "/v1/ping", headers=headers)
        assert response.status_code == 401
        assert error_code(response) == "unauthorized"
    response = api("GET", "/v1/ping")
    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert response.json()["carrier"] == "Sandbox Carrier"


@pytest.mark.parametrize(
    "payload, field",
    [
        ({**shipment(), "reference": ""}, "reference"),
        ({k: v for k, v in shipment().items() if k != "ship_to"}, "ship_to"),
        (shipment(ship_to=address(city=None)), "ship_to.city"),
        (shipment(ship_to=address(country_code="France")), "country_code"),
        ({k: v for k, v in shipment().items() if k != "parcels"}, "parcels"),
        (shipment(parcels=[]), "parcels"),
        (shipment(parcels=[parcel()] * 51), "at most 50"),
        (shipment(parcels=[parcel(), parcel(weight=0)]), "parcels[1].weight"),
        (shipment(parcels=[parcel(length=-1)]), "parcels[0].length"),
        (shipment(parcels=[parcel(height="10")]), "parcels[0].height"),
        (shipment(parcels=[parcel(weight=True)]), "parcels[0].weight"),
        (shipment(parcels=[parcel(weight_unit="stone")]), "weight_unit"),
        (shipment(scenario="teleported"), "scenario"),
        ([shipment()], "body"),
    ],
)
def test_booking_validation(api, payload, field):
    response = api("POST", "/v1/shipments", json=payload)
    assert response.status_code == 400, response.text
    assert error_code(response) == "invalid_request"
    assert field in response.json()["error"]["message"]


def test_booking_invalid_json(api):
    response = api("POST", "/v1/shipments", data=b"{not json")
    assert response.status_code == 400
    assert error_code(response) == "invalid_json"


def test_booking(api, carrier):
    parcels = [
        parcel(reference=f"PACK{i}", weight=w) for i, w in enumerate([1, 2.5, 0.5])
    ]
    response = api("POST", "/v1/shipments", json=shipment(parcels=parcels))
    assert response.status_code == 201
    booking = response.json()
    assert re.match(r"^shp_[0-9a-f]+$", booking["shipment_id"])
    numbers = booking["tracking_numbers"]
    assert len(set(numbers)) == 3 and all(TRACKING_RE.match(n) for n in numbers)
    assert booking["parcels"] == [
        {"reference": f"PACK{i}", "tracking_number": n} for i, n in enumerate(numbers)
    ]
    today = date.fromisoformat(carrier.now()[:10])
    assert booking["estimated_delivery_date"] == (today + timedelta(days=2)).isoformat()
    assert booking["tracking_url"] == f"{carrier.url}/track/{numbers[0]}"
    assert booking["price"] == 9.30 and booking["currency"] == "EUR"
    label = booking["label"]
    assert label["format"] == "pdf"
    assert label["filename"] == f"label-{booking['shipment_id']}.pdf"
    pdf = base64.b64decode(label["content_base64"])
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    for number in numbers:
        assert number.encode() in pdf
    # Every cross-reference offset points at its object.
    xref = int(pdf.rsplit(b"startxref", 1)[1].split()[0])
    entries = pdf[xref:].split(b"trailer")[0].splitlines()[3:]
    for index, entry in enumerate(entries, start=1):
        offset = int(entry.split()[0])
        assert pdf[offset:].startswith(b"%d 0 obj" % index)
    tracking = api("GET", f"/v1/tracking/{numbers[1]}").json()
    assert tracking["status"] == "label_created"
    assert tracking["shipment_id"] == booking["shipment_id"]


def test_label_readable(api):
    pypdf = pytest.importorskip("PyPDF2")
    booking = api.book()
    content = base64.b64decode(booking["label"]["content_base64"])
    reader = pypdf.PdfReader(io.BytesIO(content), strict=True)
    assert len(reader.pages) == 1
    assert booking["tracking_numbers"][0] in reader.pages[0].extract_text()


def test_rates(api):
    payload = {"parcels": [parcel(weight=2), parcel(weight=500, weight_unit="g")]}
    response = api("POST", "/v1/rates", json=payload)
    assert response.status_code == 200
    assert response.json() == {"price": 7.65, "currency": "EUR", "transit_days": 2}
    assert api("POST", "/v1/rates", json={"parcels": []}).status_code == 400


def test_idempotent_booking(api):
    first = api("POST", "/v1/shipments", json=shipment(reference="REF-1"))
    again = api("POST", "/v1/shipments", json=shipment(reference="REF-1"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    other = api.book(reference="REF-2")
    assert other["shipment_id"] != first.json()["shipment_id"]
    # Once cancelled, the reference books a new shipment.
    shipment_id = first.json()["shipment_id"]
    assert api("POST", f"/v1/shipments/{shipment_id}/cancel").status_code == 200
    rebooked = api("POST", "/v1/shipments", json=shipment(reference="REF-1"))
    assert rebooked.status_code == 201
    assert rebooked.json()["shipment_id"] != shipment_id


# Scenarios and tracking ------------------------------------------------------


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_scenario_timeline(api, scenario):
    booking = api.book(
        reference=f"S-{scenario}", scenario=scenario, parcels=[parcel()] * 2
    )
    numbers = booking["tracking_numbers"]
    assert booking["scenario"] == scenario
    elapsed, seen = 0, []
    for step in SCENARIOS[scenario]:
        api.advance(step.hours - elapsed)
        elapsed = step.hours
        statuses = api.statuses(numbers)
        assert set(statuses.values()) == {step.status}, (step, statuses)
        seen.append(step.status)
    api.advance(200)
    tracking = api("GET", f"/v1/tracking/{numbers[0]}").json()
    events = tracking["events"]
    assert [event["status"] for event in events] == seen
    assert tracking["status"] == seen[-1]
    assert tracking["updated_at"] == events[-1]["occurred_at"]
    assert len({event["id"] for event in events}) == len(events)
    assert all(
        re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", e["occurred_at"]) for e in events
    )
    booked = date.fromisoformat(events[0]["occurred_at"][:10])
    assert events[0]["estimated_delivery_date"] == str(booked + timedelta(days=2))
    pod = events[-1]["proof_of_delivery"]
    if seen[-1] in ("delivered", "delivered_to_pickup_point"):
        assert pod["signed_by"] == "Jane Doe"
        assert tracking["estimated_delivery_date"] is None
        image = get(pod["signature_url"])
        assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    else:
        assert pod is None
    if scenario == "delayed":
        delayed = next(event for event in events if event["status"] == "delayed")
        assert delayed["estimated_delivery_date"] == str(booked + timedelta(days=4))
    if scenario == "lost":
        assert tracking["status"] == "in_transit"


def test_scenario_from_reference(api, carrier):
    references = [f"WH/OUT/{i:05d}" for i in range(40)]
    scenarios = {ref: api.book(reference=ref)["scenario"] for ref in references}
    assert scenarios == {ref: choose_scenario(ref) for ref in references}
    assert set(scenarios.values()) == set(SCENARIOS)
    carrier.reset()
    assert api.book(reference=references[0])["scenario"] == scenarios[references[0]]


def test_tracking_lookup(api):
    number = api.book()["tracking_numbers"][0]
    assert api("GET", f"/v1/tracking/{number}").status_code == 200
    response = api("GET", f"/v1/tracking/{number.lower()}")
    assert response.status_code == 404 and error_code(response) == "not_found"


def test_tracking_batch(api):
    numbers = api.book(parcels=[parcel()] * 3)["tracking_numbers"]
    response = api(
        "POST",
        "/v1/tracking/batch",
        json={"tracking_numbers": numbers + ["SBXUNKNOWN00"]},
    )
    body = response.json()
    assert [item["tracking_number"] for item in body["results"]] == numbers
    assert body["not_found"] == ["SBXUNKNOWN00"]
    hundred = numbers + [f"SBXNONE{i:06d}" for i in range(97)]
    response = api("POST", "/v1/tracking/batch", json={"tracking_numbers": hundred})
    assert response.status_code == 200 and len(response.json()["not_found"]) == 97
    for numbers in ([], hundred + ["SBXONEMORE00"]):
        response = api("POST", "/v1/tracking/batch", json={"tracking_numbers": numbers})
        assert response.status_code == 400, numbers
    assert api("POST", "/v1/tracking/batch", json={}).status_code == 400


def test_cancel(api):
    assert api("POST", "/v1/shipments/shp_unknown/cancel").status_code == 404
    booking = api.book(reference="C-1", scenario="normal")
    path = f"/v1/shipments/{booking['shipment_id']}/cancel"
    response = api("POST", path)
    assert response.status_code == 200
    assert response.json() == {"shipment_id": booking["shipment_id"], "cancelled": True}
    assert api("POST", path).status_code == 200
    api.advance(100)
    tracking = api("GET", f"/v1/tracking/{booking['tracking_numbers'][0]}").json()
    assert tracking["cancelled"] is True
    assert [event["status"] for event in tracking["events"]] == ["label_created"]
    picked = api.book(reference="C-2", scenario="normal")
    api.advance(4)
    response = api("POST", f"/v1/shipments/{picked['shipment_id']}/cancel")
    assert response.status_code == 409 and error_code(response) == "already_picked_up"


def test_tracking_page(api):
    number = api.book(reference="P-1", scenario="exception_recovered")[
        "tracking_numbers"
    ][0]
    api.advance(15)
    page = get(f"{api.base_url}/track/{number}")
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert number in page.text
    assert "Address incomplete, contacting recipient" in page.text
    missing = get(f"{api.base_url}/track/%3Cb%3Ex")
    assert missing.status_code == 404
    assert "&lt;b&gt;x" in missing.text and "<b>x" not in missing.text
    assert get(f"{api.base_url}/track/{number.lower()}").status_code == 404


def test_controls(api, carrier):
    before = api("GET", "/sandbox/clock").json()["now"]
    moved = api.advance(24)
    assert moved["now"] > before
    assert api("POST", "/sandbox/clock/advance", json={"hours": -1}).status_code == 400
    response = api("POST", "/sandbox/config", json={"teleport": True})
    assert response.status_code == 400
    assert api("POST", "/sandbox/config", json={"error_rate": 2}).status_code == 400
    config = api("POST", "/sandbox/config", json={"latency_ms": 1}).json()
    assert config["latency_ms"] == 1
    number = api.book()["tracking_numbers"][0]
    assert api("POST", "/sandbox/reset").status_code == 200
    assert api("GET", f"/v1/tracking/{number}").status_code == 404
    assert api("GET", "/sandbox/config").json()["latency_ms"] == 0
    assert api("GET", "/sandbox/clock").json()["now"] < moved["now"]


def test_config_never_shows_api_key_or_webhook_secret(api, carrier):
    """GET /sandbox/config is unauthenticated: it must not hand out the API
    key or the webhook secret (nor echo them when they are set)."""
    carrier.configure(webhook_secret=SECRET, webhook_url="http://127.0.0.1:9/hook")
    answers = {
        "GET": api("GET", "/sandbox/config"),
        "POST": api("POST", "/sandbox/config", json={"latency_ms": 0}),
        "POST secrets": api(
            "POST",
            "/sandbox/config",
            json={"api_key": API_KEY, "webhook_secret": SECRET},
        ),
    }
    for label, response in answers.items():
        assert response.status_code == 200, label
        config = response.json()
        assert "api_key" not in config and "webhook_secret" not in config, label
        assert API_KEY not in response.text and SECRET not in response.text, label
        assert config["webhook_signed"] is True, label
        assert config["webhook_url"] == "http://127.0.0.1:9/hook", label
    assert API_KEY not in json.dumps(carrier.config())
    assert SECRET not in json.dumps(carrier.config())
    # The secrets still work: the key authenticates, the secret signs.
    assert api("GET", "/v1/ping").status_code == 200


# Webhooks --------------------------------------------------------------------


class Receiver:
    """A webhook receiver on loopback; answers the planned statuses, then 200."""

    def __init__(self, statuses=()):
        self.requests = []
        self.statuses = list(statuses)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def events(self):
        return [
            event for _h, body in self.requests for event in json.loads(body)["events"]
        ]


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


def test_webhooks(api, carrier, receiver):
    carrier.configure(webhook_url=receiver.url, webhook_secret=SECRET)
    numbers = api.book(scenario="normal", parcels=[parcel()] * 2)["tracking_numbers"]
    assert api.advance(13)["events_released"] == 4
    assert carrier.wait_for_webhooks()
    for headers, body in receiver.requests:
        assert headers["Content-Type"] == "application/json"
        timestamp = headers["X-Shipment-Timestamp"]
        assert abs(int(timestamp) - time.time()) < 60  # wall clock, not sandbox clock
        assert verify(SECRET, timestamp, body, headers["X-Shipment-Signature"])
        assert not verify("other", timestamp, body, headers["X-Shipment-Signature"])
        assert json.loads(body)["type"] == "tracking.updated"
    pushed = receiver.events()
    assert [(e["tracking_number"], e["status"]) for e in pushed] == [
        (numbers[0], "label_created"),
        (numbers[1], "label_created"),
        (numbers[0], "picked_up"),
        (numbers[1], "picked_up"),
        (numbers[0], "in_transit"),
        (numbers[1], "in_transit"),
    ]
    tracked = api("GET", f"/v1/tracking/{numbers[0]}").json()["events"]
    assert [e for e in pushed if e["tracking_number"] == numbers[0]] == tracked
    log = api("GET", "/sandbox/webhooks").json()
    assert [(entry["status"], entry["attempts"]) for entry in log] == [
        (200, 1),
        (200, 1),
    ]
    assert log[0]["url"] == receiver.url and len(log[1]["events"]) == 4


def test_webhook_retries(api, carrier):
    receiver = Receiver(statuses=[500, 503])
    try:
        carrier.configure(webhook_url=receiver.url, webhook_secret=SECRET)
        api.book()
        assert carrier.wait_for_webhooks()
        assert [(e["status"], e["attempts"]) for e in carrier.webhook_log()] == [
            (200, 3)
        ]
        # Each attempt is signed afresh.
        assert len(receiver.requests) == 3
        for headers, body in receiver.requests:
            signature = headers["X-Shipment-Signature"]
            assert verify(SECRET, headers["X-Shipment-Timestamp"], body, signature)
    finally:
        receiver.close()


def test_sign_verify():
    body = b'{"type": "tracking.updated"}'
    signature = sign("s3cret", 1700000000, body)
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256)
    assert signature == "sha256=" + expected.hexdigest()
    assert verify("s3cret", "1700000000", body, signature, now=1700000100)
    assert not verify("s3cret", "1700000000", body + b" ", signature, now=1700000100)
    assert not verify("s3cret", "1700000000", body, signature, now=1700000301)
    assert not verify("s3cret", "1700000000", body, signature.upper(), now=1700000000)
    assert not verify("s3cret", "-1700000000", body, signature, now=1700000000)
    assert not verify("", "1700000000", body, signature, now=1700000000)
    assert not verify("s3cret", "1700000000", body, "", now=1700000000)


# Faults ----------------------------------------------------------------------


def test_forced_faults(api, carrier):
    carrier.configure(throttle_next=1, fail_next=2, malformed_next=1)
    response = api("GET", "/v1/ping")
    assert response.status_code == 429 and response.headers["Retry-After"] == "1"
    assert error_code(response) == "rate_limited"
    assert [api("GET", "/v1/ping").status_code for _i in range(2)] == [503, 503]
    response = api("GET", "/v1/ping")
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()
    assert api("GET", "/v1/ping").json()["ok"] is True


def test_timeout_fault(api, carrier):
    carrier.configure(timeout_next=1, timeout_seconds=1)
    with pytest.raises(requests.Timeout):
        api("POST", "/v1/shipments", json=shipment(reference="T-1"), timeout=0.3)
    # The booking went through; the retry gets it back.
    response = api("POST", "/v1/shipments", json=shipment(reference="T-1"))
    assert response.status_code == 200


def test_random_faults_deterministic(api, carrier):
    def statuses():
        return [api("GET", "/v1/ping").status_code for _i in range(20)]

    carrier.configure(error_rate=0.5, seed=42)
    first = statuses()
    assert set(first) == {200, 500, 503}
    carrier.configure(seed=42)
    assert statuses() == first
    carrier.configure(error_rate=0, malformed_rate=1)
    assert (
        api("GET", "/v1/ping").text.startswith("{")
        and api("GET", "/v1/ping").status_code == 200
    )


def test_rate_limit(api, carrier):
    carrier.configure(rate_limit=2)
    responses = [api("GET", "/v1/ping") for _i in range(6)]
    limited = [r for r in responses if r.status_code == 429]
    assert responses[0].status_code == 200 and limited
    assert all(int(r.headers["Retry-After"]) >= 1 for r in limited)
    # Control endpoints are never limited.
    assert api("GET", "/sandbox/clock").status_code == 200


# Command line ----------------------------------------------------------------


def test_command_line():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", str(port), "--api-key", "cli"],
        cwd=ADDON,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                response = get(
                    f"http://127.0.0.1:{port}/v1/ping",
                    headers={"Authorization": "Bearer cli"},
                )
                break
            except requests.ConnectionError:
                assert process.poll() is None, process.stderr.read().decode()
                assert time.monotonic() < deadline, "sandbox did not start"
                time.sleep(0.05)
        assert response.status_code == 200 and response.json()["ok"] is True
    finally:
        process.terminate()
        _out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err.decode()
    assert b"GET /v1/ping 200" in err
