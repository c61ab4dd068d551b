"""The mail catcher of `make run` (scripts/mailcatcher.py) over real SMTP and
HTTP: what it catches is listed and shown as HTML, escaped where it is text,
without scripts where it is the email's HTML, and bounded in number."""

import json
import smtplib
import socket
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

from mailcatcher import serve  # noqa: E402

TIMEOUT = 5


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def catcher():
    smtp_port, http_port = free_port(), free_port()
    _mailbox, controller, httpd = serve(smtp_port, http_port, 3, 1024 * 1024)
    yield smtp_port, f"http://localhost:{http_port}"
    httpd.shutdown()
    httpd.server_close()
    controller.stop()


def send(smtp_port, subject, html):
    message = EmailMessage()
    message["From"] = "Shop <shop@example.com>"
    message["To"] = "Zoë Martin <zoe@example.com>"
    message["Subject"] = subject
    message.set_content("Your parcel is on its way.")
    message.add_alternative(html, subtype="html")
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=TIMEOUT) as smtp:
        smtp.send_message(message)


def test_caught_emails_listed_and_shown(catcher):
    smtp_port, url = catcher
    send(
        smtp_port,
        "Parcel <b>SHP/1</b> dispatched",
        "<p>Track it: <a href='http://localhost:8069/my'>here</a></p>"
        "<script>alert(1)</script>",
    )

    listing = requests.get(url + "/api/messages", timeout=TIMEOUT).json()
    assert [m["subject"] for m in listing] == ["Parcel <b>SHP/1</b> dispatched"]
    assert listing[0]["to"] == "Zoë Martin <zoe@example.com>"
    assert listing[0]["rcpt_tos"] == ["zoe@example.com"]

    page = requests.get(url + "/", timeout=TIMEOUT)
    assert page.status_code == 200
    assert "Parcel &lt;b&gt;SHP/1&lt;/b&gt; dispatched" in page.text
    assert "<b>SHP/1" not in page.text

    detail = requests.get(url + listing[0]["url"], timeout=TIMEOUT)
    assert detail.status_code == 200
    assert f"src='{listing[0]['url']}/html'" in detail.text
    assert "Your parcel is on its way." in detail.text

    body = requests.get(url + listing[0]["url"] + "/html", timeout=TIMEOUT)
    assert body.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "href='http://localhost:8069/my'" in body.text
    # The email's own HTML runs no script: the page is a CSP sandbox.
    csp = body.headers["Content-Security-Policy"]
    assert csp.startswith("sandbox ") and "allow-scripts" not in csp

    source = requests.get(url + listing[0]["url"] + "/source", timeout=TIMEOUT)
    assert source.headers["Content-Type"] == "text/plain"
    assert b"Subject: Parcel <b>SHP/1</b> dispatched" in source.content


def test_newest_kept_unknown_refused(catcher):
    smtp_port, url = catcher
    for number in range(5):
        send(smtp_port, f"Message {number}", f"<p>{number}</p>")
    listing = requests.get(url + "/api/messages", timeout=TIMEOUT).json()
    # Newest first, three kept (the catcher's cap here).
    assert [m["subject"] for m in listing] == [
        "Message 4",
        "Message 3",
        "Message 2",
    ]
    for path in ("/messages/1", "/messages/x", f"{listing[0]['url']}/raw", "/n"):
        assert requests.get(url + path, timeout=TIMEOUT).status_code == 404, path
    # Another site's name resolving to loopback reads nothing (DNS rebinding).
    answer = requests.get(
        url + "/api/messages", headers={"Host": "attacker.example"}, timeout=TIMEOUT
    )
    assert answer.status_code == 421
    assert json.dumps(listing) not in answer.text
