"""End to end: with the company on the HTTP SMS gateway, a dispatched delivery
texts the customer's mobile (E.164) through Odoo's SMS queue and a Twilio-style
gateway on loopback, next to the dispatch email; the SMS is sent once and
logged in the delivery's chatter (shipment_tracking_sms)."""

import email
import email.policy
import warnings

import pytest
from conftest import ACCOUNT_SID, MOBILE_E164, SENDER, run_cron
from test_e2e_dispatch import TRACKING_NUMBER, dispatch, us_date

SMS_TIMEOUT = 90
# How long the SMS queue cron may take before the test runs it itself.
SMS_CRON_GRACE = 45
# How long the notification, mail and SMS crons may take to settle.
SETTLE_TIMEOUT = 120
NOTIFICATION_CRON = "shipment_tracking.ir_cron_shipment_notification"
SMS_CRON = "sms.ir_cron_sms_scheduler_action"


def sms_to(gateway, number, order_name):
    return [
        m for m in gateway.messages if m.get("To") == number and order_name in m["Body"]
    ]


def test_validation_asks_no_stock_sms_question(
    shop, login, admin, http_gateway_company, mobile_customer
):
    """The dispatch SMS replaces stock_sms's: the warehouse is not asked
    whether to text customers on validation."""
    _order, picking = shop.new_delivery()
    admin.call(
        "res.company",
        "write",
        [shop.company_id],
        {"has_received_warning_stock_sms": False},
    )
    try:
        shipment = dispatch(shop, login, picking["id"])
    finally:
        admin.call(
            "res.company",
            "write",
            [shop.company_id],
            {"has_received_warning_stock_sms": True},
        )
    assert shipment["state"] == "done"


def test_dispatch_texts_customer_through_http_gateway(
    shop,
    login,
    admin,
    smtp_sink,
    poll,
    sms_gateway,
    http_gateway_company,
    mobile_customer,
):
    order, picking = shop.new_delivery()

    shipment = dispatch(shop, login, picking["id"])
    assert shipment["state"] == "done"
    assert shipment["shipment_state"] == "dispatched"
    assert shipment["expected_delivery_date"]

    def texts():
        return sms_to(sms_gateway, MOBILE_E164, order["name"])

    # The notification cron queues the SMS and wakes Odoo's SMS queue cron.
    poll.until(
        lambda: admin.read_one("stock.picking", picking["id"], ["shipment_sms_state"])[
            "shipment_sms_state"
        ],
        "dispatch SMS queued or skipped",
        SMS_TIMEOUT,
    )
    picking_sms = admin.read_one(
        "stock.picking",
        picking["id"],
        ["shipment_sms_state", "shipment_sms_message_id", "shipment_sms_note"],
    )
    assert picking_sms["shipment_sms_state"] == "sent", picking_sms
    assert picking_sms["shipment_sms_message_id"], picking_sms

    try:
        poll.until(texts, f"SMS to {MOBILE_E164} (queue cron)", SMS_CRON_GRACE)
    except pytest.fail.Exception:
        warnings.warn(
            f"the SMS queue cron did not send within {SMS_CRON_GRACE}s: "
            "running it by hand",
            stacklevel=1,
        )
        run_cron(admin, poll, SMS_CRON)
    sms = poll.until(texts, f"SMS to {MOBILE_E164}", SMS_TIMEOUT)[0]

    assert sms["To"] == MOBILE_E164
    assert sms["From"] == SENDER
    body = sms["Body"]
    for label, expected in [
        ("order number", order["name"]),
        ("carrier", shop.carrier_name),
        ("tracking number", TRACKING_NUMBER),
        ("estimated delivery date", us_date(shipment["expected_delivery_date"])),
    ]:
        assert expected in body, f"{label} {expected!r} missing from the SMS {body!r}"
    request = next(
        r for r in sms_gateway.requests if r["form"].get("To") == MOBILE_E164
    )
    assert request["path"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"

    # Both channels by default: the dispatch email went out too.
    def order_mails():
        """This order's emails (the shop's customer also has other orders)."""
        return [
            m
            for m in smtp_sink.messages_to(shop.customer_email)
            if order["name"]
            in email.message_from_bytes(m["raw"], policy=email.policy.default)[
                "Subject"
            ]
        ]

    mails = poll.until(
        order_mails,
        f"dispatch email to {shop.customer_email}",
        SMS_TIMEOUT,
    )
    assert len(mails) == 1

    # The delivery's chatter logs the SMS, sent to the number by the gateway.
    message_id = picking_sms["shipment_sms_message_id"][0]
    messages = admin.call(
        "mail.message",
        "search_read",
        [
            ("model", "=", "stock.picking"),
            ("res_id", "=", picking["id"]),
            ("message_type", "=", "sms"),
        ],
        ["body", "partner_ids"],
    )
    assert [m["id"] for m in messages] == [message_id], messages
    assert TRACKING_NUMBER in messages[0]["body"]
    assert shop.customer_id in messages[0]["partner_ids"]
    notifications = admin.call(
        "mail.notification",
        "search_read",
        [("mail_message_id", "=", message_id)],
        ["notification_type", "notification_status", "sms_number", "failure_type"],
    )
    assert len(notifications) == 1, notifications
    assert notifications[0]["notification_type"] == "sms"
    assert notifications[0]["sms_number"] == MOBILE_E164
    assert notifications[0]["notification_status"] in ("pending", "sent")
    assert not notifications[0]["failure_type"]
    queued = admin.call(
        "sms.sms",
        "search_read",
        [("shipment_gateway_sid", "=", sms["sid"])],
        ["state", "number", "shipment_gateway_attempts"],
    )
    if queued:  # Sent SMS are deleted by the queue's garbage collection.
        assert queued[0]["state"] == "pending", queued
        assert queued[0]["number"] == MOBILE_E164
        assert queued[0]["shipment_gateway_attempts"] == 1

    # Never twice: not even when the crons run again.
    for xmlid in (NOTIFICATION_CRON, SMS_CRON):
        run_cron(admin, poll, xmlid)
    shop.wait_notifications_settled(poll, [picking["id"]], SETTLE_TIMEOUT)
    assert len(texts()) == 1, texts()
    assert len(order_mails()) == 1
