"""End to end: Logistics records the tracking number, the warehouse validates
the delivery, the customer receives the dispatch email through real SMTP and
its tracking link opens the carrier's page (SOP steps 2 to 5)."""

import email
import email.policy
from datetime import date
from email.utils import getaddresses, parseaddr
from http import HTTPStatus

import pytest
import requests
from conftest import HTTP_TIMEOUT, RPCError, html_links, validate_as_warehouse

# Mixed case on purpose: carriers' tracking numbers are case-sensitive.
TRACKING_NUMBER = "AbC123xyz"
MAIL_TIMEOUT = 90
# How long the notification, mail and SMS crons may take to settle.
SETTLE_TIMEOUT = 120


def us_date(value):
    """Odoo's en_US date format (%m/%d/%Y) of an RPC date or datetime string."""
    return date.fromisoformat(value[:10]).strftime("%m/%d/%Y")


def dispatch(shop, login, picking_id):
    """Logistics sets the tracking number, the warehouse records the parcel
    and validates; returns the delivery as the warehouse user reads it."""
    logistics = login(*shop.users["logistics"])
    wizard_id = logistics.call(
        "stock.picking.update.shipment",
        "create",
        {"picking_id": picking_id, "carrier_tracking_ref": TRACKING_NUMBER},
    )
    logistics.call("stock.picking.update.shipment", "action_apply", [wizard_id])

    return validate_as_warehouse(
        shop,
        login,
        picking_id,
        [
            "state",
            "shipment_state",
            "shipment_ref",
            "shipment_date",
            "expected_delivery_date",
            "carrier_tracking_ref",
            "carrier_tracking_url",
            "shipping_weight",
            "shipment_contents",
        ],
    )


def test_dispatch_emails_customer(shop, login, admin, smtp_sink, poll):
    order, picking = shop.new_delivery()

    shipment = dispatch(shop, login, picking["id"])

    assert shipment["state"] == "done"
    assert shipment["shipment_state"] == "dispatched"
    assert shipment["shipment_ref"]
    assert shipment["carrier_tracking_ref"] == TRACKING_NUMBER
    assert shipment["shipping_weight"] > 0
    assert shipment["shipment_contents"]
    assert shipment["shipment_date"] and shipment["expected_delivery_date"]
    shipped_on = date.fromisoformat(shipment["shipment_date"][:10])
    edd = date.fromisoformat(shipment["expected_delivery_date"])
    # Transit days count working days: weekends and holidays only add to them.
    assert (edd - shipped_on).days >= shop.transit_days

    mails = poll.until(
        lambda: smtp_sink.messages_to(shop.customer_email),
        f"dispatch email to {shop.customer_email}",
        MAIL_TIMEOUT,
    )

    def notification_state():
        fields = ["shipment_notification_state"]
        return admin.read_one("stock.picking", picking["id"], fields)[fields[0]]

    poll.until(
        lambda: notification_state() == "sent",
        "notification state 'sent'",
        MAIL_TIMEOUT,
    )

    message = email.message_from_bytes(mails[0]["raw"], policy=email.policy.default)
    assert message.is_multipart()
    assert shop.customer_email in [a for _n, a in getaddresses(message.get_all("To"))]
    assert "@" in parseaddr(message["From"])[1], message["From"]
    assert order["name"] in message["Subject"]
    body = message.get_body(preferencelist=("html",)).get_content()
    for label, expected in [
        ("order number", order["name"]),
        ("shipment date", us_date(shipment["shipment_date"])),
        ("carrier", shop.carrier_name),
        ("tracking number", TRACKING_NUMBER),
        ("estimated delivery date", us_date(shipment["expected_delivery_date"])),
    ]:
        assert expected in body, f"{label} {expected!r} missing from the email"

    links = [href for href in html_links(body) if "/track?number=" in href]
    assert links, "no tracking link in the email"
    assert links[0] == shipment["carrier_tracking_url"]
    page = requests.get(links[0], timeout=HTTP_TIMEOUT)
    assert page.status_code == HTTPStatus.OK
    assert TRACKING_NUMBER in page.text

    # Once nothing can send any more: one email, no duplicate.
    shop.wait_notifications_settled(poll, [picking["id"]], SETTLE_TIMEOUT)
    assert len(smtp_sink.messages_to(shop.customer_email)) == 1


@pytest.mark.parametrize("how", ["write", "wizard"])
def test_warehouse_cannot_set_tracking_number(shop, login, admin, how):
    _order, picking = shop.new_delivery()
    warehouse = login(*shop.users["warehouse"])

    with pytest.raises(RPCError) as error:
        if how == "write":
            warehouse.call(
                "stock.picking",
                "write",
                [picking["id"]],
                {"carrier_tracking_ref": TRACKING_NUMBER},
            )
        else:
            warehouse.call(
                "stock.picking.update.shipment",
                "create",
                {"picking_id": picking["id"], "carrier_tracking_ref": TRACKING_NUMBER},
            )

    assert error.value.name == "odoo.exceptions.AccessError", error.value
    after = admin.read_one(
        "stock.picking", picking["id"], ["carrier_tracking_ref", "shipment_state"]
    )
    assert after["carrier_tracking_ref"] is False
    assert after["shipment_state"] == "pending"
