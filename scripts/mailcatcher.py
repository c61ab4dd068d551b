"""Mail catcher of the demo (`make run`): an SMTP server that keeps what Odoo
sends instead of delivering it, and a web page listing the caught messages,
each viewable as HTML, so the demo user reads the email they just caused.

    python scripts/mailcatcher.py [--smtp-port 1025] [--http-port 8025]

Both listen on 127.0.0.1 only. The newest --max-messages (default 200) messages
are kept, in memory, up to --max-bytes in all (default 64 MiB); a message over
10 MiB is refused. Pages:

    /                     the caught messages, newest first
    /messages/<id>        one message: its headers, its HTML body (sandboxed
                          frame), its text body
    /messages/<id>/html   the HTML body alone (no scripts: CSP sandbox)
    /messages/<id>/source the message as received
    /api/messages         the list as JSON

Runs with the project's virtualenv (aiosmtpd, from requirements-test.txt).
"""

import argparse
import html
import itertools
import json
import signal
import sys
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

HOST = "127.0.0.1"
MAX_MESSAGE_BYTES = 10 * 1024 * 1024
# The HTML body may show images and styles from anywhere (as a mail client
# would), never run a script, submit a form or reach the catcher's pages.
BODY_CSP = (
    "sandbox allow-popups allow-popups-to-escape-sandbox; "
    "default-src 'none'; img-src * data:; style-src * 'unsafe-inline'; "
    "font-src * data:; frame-ancestors 'self'"
)
PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; frame-src 'self'; "
    "frame-ancestors 'none'; form-action 'none'"
)
STYLE = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35em .6em; border-bottom: 1px solid #ddd;
         vertical-align: top; }
th { background: #f4f4f4; }
iframe { width: 100%; height: 70vh; border: 1px solid #ccc; }
pre { white-space: pre-wrap; background: #f8f8f8; padding: .8em; }
.muted { color: #777; }
"""


def _text(value):
    """A header or envelope value as text, whatever its encoding defects."""
    try:
        return str(value or "")
    except (ValueError, LookupError):  # undecodable header
        return ""


@dataclass
class Caught:
    id: int
    received: datetime
    mail_from: str
    rcpt_tos: list
    raw: bytes
    message: EmailMessage = field(repr=False)

    def header(self, name):
        try:
            return _text(self.message.get(name))
        except Exception:  # noqa: BLE001 - a malformed header never breaks the list
            return "(unreadable header)"

    def body(self, subtype):
        """The text of the message's preferred ``subtype`` (html, plain) part."""
        try:
            part = self.message.get_body(preferencelist=(subtype,))
            return part.get_content() if part is not None else ""
        except (KeyError, LookupError, ValueError):  # unknown charset, broken part
            return ""

    def summary(self):
        return {
            "id": self.id,
            "received": self.received.isoformat(timespec="seconds"),
            "mail_from": self.mail_from,
            "rcpt_tos": self.rcpt_tos,
            "from": self.header("From"),
            "to": self.header("To"),
            "subject": self.header("Subject"),
            "url": f"/messages/{self.id}",
        }


class Mailbox:
    """The caught messages, newest kept, bounded in count and bytes; an
    aiosmtpd handler."""

    def __init__(self, max_messages, max_bytes):
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self._messages = deque()
        self._bytes = 0
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    async def handle_DATA(self, _server, _session, envelope):
        raw = envelope.original_content or envelope.content
        self.add(envelope.mail_from, envelope.rcpt_tos, raw)
        return "250 Message caught"

    def add(self, mail_from, rcpt_tos, raw):
        message = message_from_bytes(raw, policy=policy.default)
        with self._lock:
            caught = Caught(
                id=next(self._ids),
                received=datetime.now(timezone.utc),
                mail_from=_text(mail_from),
                rcpt_tos=[_text(rcpt) for rcpt in rcpt_tos],
                raw=raw,
                message=message,
            )
            self._messages.append(caught)
            self._bytes += len(raw)
            while len(self._messages) > self.max_messages or (
                self._bytes > self.max_bytes and len(self._messages) > 1
            ):
                self._bytes -= len(self._messages.popleft().raw)
        return caught

    def newest_first(self):
        with self._lock:
            return list(reversed(self._messages))

    def get(self, message_id):
        with self._lock:
            return next((m for m in self._messages if m.id == message_id), None)


def _page(title, body):
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body>{body}</body></html>"
    )


def render_list(messages):
    rows = "".join(
        "<tr><td>{received}</td><td>{sender}</td><td>{to}</td>"
        "<td><a href='/messages/{id}'>{subject}</a></td></tr>".format(
            id=m.id,
            received=html.escape(m.received.astimezone().strftime("%Y-%m-%d %H:%M:%S")),
            sender=html.escape(m.header("From") or m.mail_from),
            to=html.escape(m.header("To") or ", ".join(m.rcpt_tos)),
            subject=html.escape(m.header("Subject") or "(no subject)"),
        )
        for m in messages
    )
    if not rows:
        rows = "<tr><td colspan='4' class='muted'>No email caught yet.</td></tr>"
    return _page(
        "Caught emails",
        "<h1>Caught emails</h1><p class='muted'>Everything the demo's Odoo sent, "
        "newest first (this page reloads itself every 5 seconds). Nothing "
        "here was delivered to anyone.</p><table><tr><th>Received</th>"
        f"<th>From</th><th>To</th><th>Subject</th></tr>{rows}</table>",
    )


def render_message(caught):
    headers = [
        ("From", caught.header("From")),
        ("To", caught.header("To")),
        ("Cc", caught.header("Cc")),
        ("Reply-To", caught.header("Reply-To")),
        ("Subject", caught.header("Subject")),
        ("Date", caught.header("Date")),
        ("Envelope", f"{caught.mail_from} → {', '.join(caught.rcpt_tos)}"),
    ]
    rows = "".join(
        f"<tr><th>{html.escape(name)}</th><td>{html.escape(value)}</td></tr>"
        for name, value in headers
        if value
    )
    parts = []
    if caught.body("html"):
        parts.append(
            f"<h2>HTML</h2><iframe src='/messages/{caught.id}/html' "
            "sandbox='allow-popups allow-popups-to-escape-sandbox' "
            "referrerpolicy='no-referrer'></iframe>"
        )
    text = caught.body("plain")
    if text:
        parts.append(f"<h2>Text</h2><pre>{html.escape(text)}</pre>")
    attachments = [
        html.escape(_text(part.get_filename()) or part.get_content_type())
        for part in caught.message.iter_attachments()
    ]
    if attachments:
        parts.append(f"<h2>Attachments</h2><p>{', '.join(attachments)}</p>")
    subject = caught.header("Subject") or "(no subject)"
    return _page(
        subject,
        f"<p><a href='/'>← all caught emails</a> · "
        f"<a href='/messages/{caught.id}/source'>source</a></p>"
        f"<h1>{html.escape(subject)}</h1><table>{rows}</table>{''.join(parts)}",
    )


class CatcherHandler(BaseHTTPRequestHandler):
    server_version = "mailcatcher"
    mailbox = None  # set by serve()

    def do_GET(self):
        # DNS rebinding: a page of another site must not read the caught
        # emails (they hold portal links) through a name resolving to us.
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
        if host not in ("127.0.0.1", "localhost", "[::1]"):
            self._send(HTTPStatus.MISDIRECTED_REQUEST, "text/plain", b"wrong host")
            return
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        if path == "/":
            page = render_list(self.mailbox.newest_first())
            self._send(HTTPStatus.OK, "text/html", page.encode(), refresh=True)
            return
        if path == "/api/messages":
            body = json.dumps([m.summary() for m in self.mailbox.newest_first()])
            self._send(HTTPStatus.OK, "application/json", body.encode())
            return
        parts = path.split("/")
        # ["", "messages", "<id>"(, "html" | "source")]
        caught = None
        if len(parts) in (3, 4) and parts[1] == "messages" and parts[2].isdigit():
            caught = self.mailbox.get(int(parts[2]))
        view = parts[3] if len(parts) == 4 else ""
        if caught is None or view not in ("", "html", "source"):
            self._send(HTTPStatus.NOT_FOUND, "text/plain", b"no such message")
        elif view == "html":
            body = '<base target="_blank">' + caught.body("html")
            self._send(HTTPStatus.OK, "text/html", body.encode(), csp=BODY_CSP)
        elif view == "source":
            self._send(HTTPStatus.OK, "text/plain", caught.raw)
        else:
            page = render_message(caught)
            self._send(HTTPStatus.OK, "text/html", page.encode())

    def _send(self, status, content_type, body, csp=PAGE_CSP, refresh=False):
        self.send_response(status)
        charset = "" if content_type == "text/plain" else "; charset=utf-8"
        self.send_header("Content-Type", content_type + charset)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", csp)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-store")
        if refresh:
            self.send_header("Refresh", "5")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        """Quiet: the page is the log."""


def serve(smtp_port, http_port, max_messages, max_bytes):
    """Start both servers; return (mailbox, smtp controller, http server)."""
    mailbox = Mailbox(max_messages, max_bytes)
    controller = Controller(
        mailbox,
        hostname=HOST,
        port=smtp_port,
        data_size_limit=MAX_MESSAGE_BYTES,
        enable_SMTPUTF8=True,
    )
    controller.start()
    handler = type("Handler", (CatcherHandler,), {"mailbox": mailbox})
    httpd = ThreadingHTTPServer((HOST, http_port), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return mailbox, controller, httpd


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smtp-port", type=int, default=1025)
    parser.add_argument("--http-port", type=int, default=8025)
    parser.add_argument("--max-messages", type=int, default=200)
    parser.add_argument("--max-bytes", type=int, default=64 * 1024 * 1024)
    args = parser.parse_args(argv)
    try:
        _mailbox, controller, httpd = serve(
            args.smtp_port, args.http_port, args.max_messages, args.max_bytes
        )
    except OSError as error:
        sys.exit(f"mailcatcher: {error}")
    print(
        f"mailcatcher: SMTP on {HOST}:{args.smtp_port}, "
        f"caught emails on http://localhost:{args.http_port}",
        flush=True,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    httpd.shutdown()
    controller.stop()


if __name__ == "__main__":
    main()
