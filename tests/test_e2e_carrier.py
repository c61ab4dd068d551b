"""End to end with the generic HTTP connector and the sandbox carrier: the
warehouse validates, the booking at validation brings the tracking number and
the label, the customer's dispatch email links to the carrier's tracking page,
then the carrier's signed webhooks (real HTTP, pushed as the sandbox clock
moves) take the shipment to in transit and delivered; unsigned or badly signed
webhooks are refused and change nothing."""

import base64
import email
import email.policy
import json
import time
from http import HTTPStatus

import pytest
import requests
from conftest import (
    HTTP_TIMEOUT,
    SANDBOX_API_KEY,
    SANDBOX_WEBHOOK_SECRET,
    html_links,
    log_tail,
    validate_as_warehouse,
)
from sandbox import sign

MAIL_TIMEOUT = 90
WEBHOOK_TIMEOUT = 60
# The sandbox's "normal" story: picked up after 4 h, in transit after 12 h,
# out for delivery after 36 h, delivered (with a signature) after 42 h.
HOURS_TO_IN_TRANSIT = 13
HOURS_TO_DELIVERED = 30
PICKING_FIELDS = [
    "name",
    "state",
    "shipment_state",
    "carrier_tracking_ref",
    "carrier_tracking_url",
    "expected_delivery_date",
    "generic_shipment_id",
    "shipment_pod_signed_by",
    "shipment_pod_signature_url",
    "shipment_last_event_date",
]


def create_sandbox_carrier(admin, shop, sandbox, odoo_server, label):
    """A 'generic' delivery carrier speaking to the sandbox (whose "normal"
    story it books); returns its id, name and webhook URL. The caller decides
    when the sandbox learns the webhook URL."""
    product_id = admin.call(
        "product.product",
        "create",
        {"name": f"E2E {label} Shipping {shop.tag}", "type": "service"},
    )
    name = f"E2E {label} {shop.tag}"
    carrier_id = admin.call(
        "delivery.carrier",
        "create",
        {
            "name": name,
            "delivery_type": "generic",
            "product_id": product_id,
            "generic_base_url": sandbox.url,
            "generic_api_key": SANDBOX_API_KEY,
            "generic_webhook_secret": SANDBOX_WEBHOOK_SECRET,
            "generic_timeout": 5,
            "generic_max_retries": 2,
            "generic_retry_backoff": 0.1,
        },
    )
    sandbox.configure(scenario="normal")
    # The tests move the sandbox's clock days ahead of the server's: accept
    # its events that far in the future (the default bound is a day).
    admin.call(
        "ir.config_parameter",
        "set_param",
        "shipment_tracking.event_future_hours",
        str(20 * 24),
    )
    ensure_sender_address(admin, shop)
    webhook_url = f"{odoo_server['url']}/shipment_tracking/webhook/{carrier_id}"
    return {"id": carrier_id, "name": name, "webhook_url": webhook_url}


@pytest.fixture(scope="module")
def sandbox_carrier(admin, shop, sandbox, odoo_server):
    """A sandbox carrier whose webhooks the sandbox pushes to the running
    Odoo server."""
    carrier = create_sandbox_carrier(admin, shop, sandbox, odoo_server, "Sandbox")
    sandbox.configure(webhook_url=carrier["webhook_url"])
    return carrier


def ensure_sender_address(admin, shop):
    """The carrier needs a full sender address: the warehouse's."""
    partner_id = admin.read_one("stock.warehouse", shop.warehouse_id, ["partner_id"])[
        "partner_id"
    ][0]
    fields = ["street", "city", "zip", "country_id"]
    partner = admin.read_one("res.partner", partner_id, fields)
    if not all(partner[field] for field in fields):
        admin.call(
            "res.partner",
            "write",
            [partner_id],
            {
                "street": "Kanaalstraat 1",
                "city": "Antwerp",
                "zip": "2000",
                "country_id": admin.ref("base.be"),
            },
        )


def validate(shop, login, picking_id):
    """No tracking number beforehand: the booking at validation brings it."""
    return validate_as_warehouse(shop, login, picking_id, PICKING_FIELDS)


def tracking_events(admin, picking_id):
    return admin.call(
        "shipment.tracking.event",
        "search_read",
        [("picking_id", "=", picking_id)],
        ["source", "carrier_status_code", "state", "tracking_ref", "event_time"],
        order="event_time, id",
    )


def webhook_codes(events):
    """The carrier status codes of the events that came by webhook."""
    return [e["carrier_status_code"] for e in events if e["source"] == "webhook"]


def snapshot(admin, picking_id):
    """What a webhook could change on the shipment."""
    return (
        admin.read_one("stock.picking", picking_id, PICKING_FIELDS),
        tracking_events(admin, picking_id),
    )


def check_booking(admin, sandbox, carrier, shop, shipment):
    number = shipment["carrier_tracking_ref"]
    numbers = admin.call(
        "shipment.tracking.number",
        "search_read",
        [("picking_id", "=", shipment["id"])],
        ["name", "carrier_id"],
    )
    assert [n["name"] for n in numbers] == [number], numbers
    assert numbers[0]["carrier_id"][0] == carrier["id"], numbers

    labels = admin.call(
        "ir.attachment",
        "search_read",
        [
            ("res_model", "=", "stock.picking"),
            ("res_id", "=", shipment["id"]),
            ("mimetype", "=", "application/pdf"),
        ],
        ["name", "datas"],
    )
    assert len(labels) == 1, [label["name"] for label in labels]
    label = base64.b64decode(labels[0]["datas"])
    assert label.startswith(b"%PDF"), label[:20]
    assert number.encode() in label, "the label does not show the tracking number"

    booked = sandbox.shipment(shipment["generic_shipment_id"])
    assert booked["tracking_numbers"] == [number]
    assert booked["scenario"] == "normal"
    assert booked["request"]["reference"] == shipment["name"]
    assert booked["request"]["ship_to"]["name"] == shop.customer_name
    (parcel,) = booked["request"]["parcels"]
    assert (parcel["length"], parcel["width"], parcel["height"]) == (30, 20, 10)
    assert parcel["weight_kg"] == pytest.approx(3.0)
    assert shipment["expected_delivery_date"] == booked["estimated_delivery_date"]


def check_dispatch_email(shop, smtp_sink, poll, sandbox, order, number):
    mails = poll.until(
        lambda: smtp_sink.messages_to(shop.customer_email),
        f"dispatch email to {shop.customer_email}",
        MAIL_TIMEOUT,
    )
    assert len(mails) == 1, f"{len(mails)} emails to the customer"
    message = email.message_from_bytes(mails[0]["raw"], policy=email.policy.default)
    assert order["name"] in message["Subject"]
    body = message.get_body(preferencelist=("html",)).get_content()
    assert number in body, "the tracking number is missing from the email"
    page_url = f"{sandbox.url}/track/{number}"
    links = [href for href in html_links(body) if href.startswith(sandbox.url)]
    assert links == [page_url], links
    page = requests.get(page_url, timeout=HTTP_TIMEOUT)
    assert page.status_code == HTTPStatus.OK
    assert number in page.text


def advance_and_wait(admin, sandbox, poll, picking_id, hours, state):
    """Move the sandbox clock, wait for its pushes and for the shipment to
    reach ``state``; return the shipment."""
    advanced = sandbox.advance_clock(hours)
    assert advanced["events_released"], advanced
    assert sandbox.wait_for_webhooks(WEBHOOK_TIMEOUT), "webhooks still queued"
    statuses = [entry["status"] for entry in sandbox.webhook_log()]
    assert set(statuses) == {
        HTTPStatus.OK
    }, f"webhook answers {statuses}; Odoo log tail:\n{log_tail(poll.log)}"

    def reached():
        shipment = admin.read_one("stock.picking", picking_id, PICKING_FIELDS)
        return shipment if shipment["shipment_state"] == state else None

    return poll.until(reached, f"shipment state {state!r}", WEBHOOK_TIMEOUT)


def check_webhook_log(sandbox, carrier, statuses):
    log = sandbox.webhook_log()
    assert log, "the sandbox pushed no webhook"
    assert {entry["url"] for entry in log} == {carrier["webhook_url"]}
    assert {entry["status"] for entry in log} == {HTTPStatus.OK}, log
    pushed = [event["status"] for entry in log for event in entry["events"]]
    assert pushed == statuses, pushed


def post_webhook(carrier, body, headers):
    return requests.post(
        carrier["webhook_url"],
        data=body,
        headers={"Content-Type": "application/json", **headers},
        timeout=HTTP_TIMEOUT,
    )


def test_sandbox_carrier_books_emails_and_tracks(
    shop, login, admin, sandbox, sandbox_carrier, smtp_sink, poll
):
    order, picking = shop.new_delivery(carrier_id=sandbox_carrier["id"])

    # Validation books the parcel: tracking number, label, dispatch.
    shipment = validate(shop, login, picking["id"])
    number = shipment["carrier_tracking_ref"]
    assert shipment["state"] == "done"
    assert shipment["shipment_state"] == "dispatched"
    assert number and number.startswith("SBX"), number
    assert shipment["carrier_tracking_url"] == f"{sandbox.url}/track/{number}"
    check_booking(admin, sandbox, sandbox_carrier, shop, shipment)
    check_dispatch_email(shop, smtp_sink, poll, sandbox, order, number)

    # The carrier's webhooks: picked up and in transit after 13 hours.
    shipment = advance_and_wait(
        admin, sandbox, poll, picking["id"], HOURS_TO_IN_TRANSIT, "in_transit"
    )
    events = tracking_events(admin, picking["id"])
    assert {"picked_up", "in_transit"} <= set(webhook_codes(events)), events
    assert {e["tracking_ref"] for e in events} == {number}
    check_webhook_log(
        sandbox, sandbox_carrier, ["label_created", "picked_up", "in_transit"]
    )

    # Out for delivery and delivered, with the proof of delivery, 30 hours on.
    shipment = advance_and_wait(
        admin, sandbox, poll, picking["id"], HOURS_TO_DELIVERED, "delivered"
    )
    assert shipment["shipment_pod_signed_by"] == shop.customer_name
    assert shipment["shipment_pod_signature_url"] == f"{sandbox.url}/pod/{number}.png"
    events = tracking_events(admin, picking["id"])
    assert webhook_codes(events)[-2:] == ["out_for_delivery", "delivered"], events
    check_webhook_log(
        sandbox,
        sandbox_carrier,
        ["label_created", "picked_up", "in_transit", "out_for_delivery", "delivered"],
    )

    # Forged pushes: no signature, a wrong secret, a replayed (stale) timestamp.
    before = snapshot(admin, picking["id"])
    forged = {
        "id": "evt_forged",
        "tracking_number": number,
        "status": "returned_to_sender",
        "description": "Returned to sender",
        "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    body = json.dumps({"type": "tracking.updated", "events": [forged]}).encode()
    now = str(int(time.time()))
    stale = str(int(time.time()) - 3600)
    attempts = {
        "unsigned": {"X-Shipment-Timestamp": now},
        "wrong secret": {
            "X-Shipment-Timestamp": now,
            "X-Shipment-Signature": sign("not-the-secret", now, body),
        },
        "stale timestamp": {
            "X-Shipment-Timestamp": stale,
            "X-Shipment-Signature": sign(SANDBOX_WEBHOOK_SECRET, stale, body),
        },
    }
    for what, headers in attempts.items():
        response = post_webhook(sandbox_carrier, body, headers)
        assert response.status_code == HTTPStatus.UNAUTHORIZED, (what, response.text)
    assert snapshot(admin, picking["id"]) == before
