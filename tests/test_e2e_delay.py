"""End to end, one order through a delay: the warehouse validates and the
sandbox carrier books, the customer gets the dispatch email; Logistics moves
the estimated delivery date to yesterday and the monitoring cron opens a late
incident and tells the customer once; the carrier's signed webhooks then bring
the parcel to delivered, which closes the incident and sends the delivered
email. The customer receives exactly: dispatch, delay, delivered, in that
order (SOP steps 4 to 6).

The company's out-for-delivery email is switched off for this story (and put
back afterwards), so that the customer hears of three events only."""

import email
import email.policy
from datetime import datetime, timedelta, timezone
from http import HTTPStatus

import pytest
from conftest import (
    log_tail,
    run_cron,
    validate_as_warehouse,
)
from test_e2e_carrier import create_sandbox_carrier

MAIL_TIMEOUT = 90
WEBHOOK_TIMEOUT = 60
# How long the notification, mail and SMS crons may take to settle.
SETTLE_TIMEOUT = 120
# The sandbox's "normal" story ends with "delivered" 42 h after booking.
HOURS_TO_DELIVERED = 43
MONITOR_CRON = "shipment_tracking.ir_cron_shipment_monitor"
POLL_CRON = "shipment_tracking.ir_cron_shipment_poll"
# Each customer email, by a piece of its (English) subject.
SUBJECTS = {
    "dispatch": "has shipped",
    "delay": "is delayed",
    "out for delivery": "is out for delivery",
    "delivered": "was delivered",
    "back on track": "is back on track",
}
PICKING_FIELDS = [
    "state",
    "shipment_state",
    "carrier_tracking_ref",
    "expected_delivery_date",
    "shipment_has_incident",
    "shipment_incident_reason",
]


@pytest.fixture(scope="module")
def delay_carrier(admin, shop, sandbox, odoo_server):
    """A sandbox carrier telling the "normal" story. Its webhook URL is given
    to the sandbox only after the booking (see the test)."""
    return create_sandbox_carrier(admin, shop, sandbox, odoo_server, "Delay")


@pytest.fixture(scope="module")
def no_out_for_delivery_email(admin, shop):
    """Switch the company's out-for-delivery email off, and back afterwards."""
    field = "shipment_notify_out_for_delivery"
    before = admin.read_one("res.company", shop.company_id, [field])[field]
    admin.call("res.company", "write", [shop.company_id], {field: False})
    yield
    admin.call("res.company", "write", [shop.company_id], {field: before})


def kind_of(subject):
    for kind, words in SUBJECTS.items():
        if words in subject:
            return kind
    return f"other: {subject}"


def customer_mails(smtp_sink, shop):
    """The customer's emails in arrival order: dicts with kind, subject, body."""
    mails = []
    for raw in smtp_sink.messages_to(shop.customer_email):
        message = email.message_from_bytes(raw["raw"], policy=email.policy.default)
        subject = str(message["Subject"])
        body = message.get_body(preferencelist=("html",)).get_content()
        mails.append({"kind": kind_of(subject), "subject": subject, "body": body})
    return mails


def mail_kinds(smtp_sink, shop):
    return [mail["kind"] for mail in customer_mails(smtp_sink, shop)]


def wait_for_mail(smtp_sink, shop, poll, kind):
    """The first customer email of ``kind``."""

    def arrived():
        mails = [m for m in customer_mails(smtp_sink, shop) if m["kind"] == kind]
        return mails[0] if mails else None

    return poll.until(arrived, f"{kind} email to {shop.customer_email}", MAIL_TIMEOUT)


def read_shipment(admin, picking_id):
    return admin.read_one("stock.picking", picking_id, PICKING_FIELDS)


def incidents(admin, picking_id):
    found = admin.call(
        "shipment.tracking.incident",
        "search_read",
        [("picking_id", "=", picking_id)],
        ["kind", "is_open"],
        order="id",
    )
    return [(incident["kind"], incident["is_open"]) for incident in found]


def queued_updates(admin, picking_id):
    """The kinds of the customer updates queued for the shipment after its
    dispatch notice, in order."""
    found = admin.call(
        "shipment.tracking.notification",
        "search_read",
        [("picking_id", "=", picking_id), ("kind", "!=", "dispatched")],
        ["kind"],
        order="id",
    )
    return [update["kind"] for update in found]


def validate(shop, login, picking_id):
    """No tracking number beforehand: the booking at validation brings it."""
    return validate_as_warehouse(shop, login, picking_id, PICKING_FIELDS)


def make_late(shop, login, picking_id, number, edd):
    """Logistics moves the estimated delivery date in Update Shipment, saving
    the form as the web client does: with the tracking number it shows. (Both
    fields share one compute: a create with the date alone leaves the number
    empty, which action_apply takes for a change of tracking number.)"""
    logistics = login(*shop.users["logistics"])
    wizard_id = logistics.call(
        "stock.picking.update.shipment",
        "create",
        {
            "picking_id": picking_id,
            "carrier_tracking_ref": number,
            "expected_delivery_date": edd.isoformat(),
        },
    )
    logistics.call("stock.picking.update.shipment", "action_apply", [wizard_id])


def deliver(admin, sandbox, poll, carrier, picking_id):
    """Point the sandbox's webhooks at Odoo, move its clock past delivery and
    wait for the shipment to be delivered; return the shipment."""
    sandbox.configure(webhook_url=carrier["webhook_url"])
    assert sandbox.advance_clock(HOURS_TO_DELIVERED)["events_released"]
    assert sandbox.wait_for_webhooks(WEBHOOK_TIMEOUT), "webhooks still queued"
    log = sandbox.webhook_log()
    assert {entry["status"] for entry in log} == {
        HTTPStatus.OK
    }, f"webhook answers {log}; Odoo log tail:\n{log_tail(poll.log)}"
    pushed = [event["status"] for entry in log for event in entry["events"]]
    assert pushed == ["picked_up", "in_transit", "out_for_delivery", "delivered"]

    def delivered():
        shipment = read_shipment(admin, picking_id)
        return shipment if shipment["shipment_state"] == "delivered" else None

    return poll.until(delivered, "shipment state 'delivered'", WEBHOOK_TIMEOUT)


@pytest.mark.usefixtures("no_out_for_delivery_email")
def test_delay_then_delivery_emails_customer_in_order(
    shop, login, admin, sandbox, delay_carrier, smtp_sink, poll
):
    order, picking = shop.new_delivery(carrier_id=delay_carrier["id"])
    picking_id = picking["id"]

    # 1. Validation books the parcel and dispatches: the dispatch email.
    shipment = validate(shop, login, picking_id)
    number = shipment["carrier_tracking_ref"]
    assert shipment["state"] == "done"
    assert shipment["shipment_state"] == "dispatched"
    assert number and number.startswith("SBX"), number
    assert shipment["shipment_has_incident"] is False
    wait_for_mail(smtp_sink, shop, poll, "dispatch")
    # The carrier poll, now rather than whenever its 15 minutes come: it
    # records the booking's "label created" scan. Left for later, that old
    # scan would bring back the carrier's estimate over the one set below.
    run_cron(admin, poll, POLL_CRON)
    codes = admin.call(
        "shipment.tracking.event",
        "search_read",
        [("picking_id", "=", picking_id)],
        ["carrier_status_code"],
    )
    assert [code["carrier_status_code"] for code in codes] == ["label_created"]

    # 2. Late: the estimate was yesterday. The monitor opens one incident and
    # queues one delay email, however often it runs.
    yesterday = datetime.now(timezone.utc).date() - timedelta(days=1)
    make_late(shop, login, picking_id, number, yesterday)
    shipment = read_shipment(admin, picking_id)
    assert shipment["expected_delivery_date"] == yesterday.isoformat()
    assert shipment["shipment_state"] == "dispatched"

    run_cron(admin, poll, MONITOR_CRON)
    shipment = read_shipment(admin, picking_id)
    assert shipment["shipment_has_incident"] is True
    assert yesterday.isoformat() in (shipment["shipment_incident_reason"] or "")
    delay = wait_for_mail(smtp_sink, shop, poll, "delay")
    assert yesterday.isoformat() in delay["body"], "the delay email gives no reason"

    run_cron(admin, poll, MONITOR_CRON)
    assert incidents(admin, picking_id) == [("late", True)]
    assert queued_updates(admin, picking_id) == ["late"]
    shop.wait_notifications_settled(poll, [picking_id], SETTLE_TIMEOUT)
    assert mail_kinds(smtp_sink, shop).count("delay") == 1, mail_kinds(smtp_sink, shop)

    # 3. The carrier delivers: the incident closes with the delivery, which
    # has its own email (no "back on track" one).
    shipment = deliver(admin, sandbox, poll, delay_carrier, picking_id)
    wait_for_mail(smtp_sink, shop, poll, "delivered")
    assert shipment["shipment_has_incident"] is False
    assert shipment["shipment_incident_reason"] is False
    assert incidents(admin, picking_id) == [("late", False)]
    assert queued_updates(admin, picking_id) == ["late", "delivered"]

    # 4. Exactly three emails, in the order of the story, each about the order.
    shop.wait_notifications_settled(poll, [picking_id], SETTLE_TIMEOUT)
    mails = customer_mails(smtp_sink, shop)
    assert [m["kind"] for m in mails] == ["dispatch", "delay", "delivered"], [
        m["subject"] for m in mails
    ]
    for mail in mails:
        assert order["name"] in mail["subject"], mail["subject"]
        assert order["name"] in mail["body"], f"no order number in {mail['kind']}"
        assert number in mail["body"], f"no tracking number in {mail['kind']}"
