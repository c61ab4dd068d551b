#!/usr/bin/env python3
"""Take the README's screenshots from a running demo (`make run`) with headless
Chromium, driven over the DevTools protocol.

Writes into --out (default docs/screenshots):

- delivery-form.png          a dispatched delivery's form, on its Tracking tab
- shipments-list.png         Inventory > Shipments
- dashboard.png              the shipment dashboard
- portal-list.png            /my/shipments as the customer's portal user
                             (only with --create-portal-user, see below)
- tracking-page-desktop.png  the customer's tracking page (token URL), 1366 px
- tracking-page-phone.png    the same page on a 375 px phone
- dispatch-email.png         the body of that delivery's dispatch email

The demo data has deliveries ready to validate but none dispatched. When the
database has no dispatched delivery yet, the script dispatches a few, as the
warehouse would (parcel dimensions, Validate), through JSON-RPC: the deliveries
of the sandbox carrier (booked with the sandbox carrier that `make run` starts;
its clock is then advanced so that tracking events arrive by webhook) and some
of the Demo Express ones (tracking number recorded as Logistics would). Then it
runs the customer notification cron so that the dispatch emails exist.
--no-stage refuses to change the database and fails instead.

The demo has no portal user of its customers. --create-portal-user creates one
(login and password ``customer``) for the customer of the delivery shown, or
reuses it, to shoot /my/shipments; without it portal-list.png is skipped.

Needs ``requests`` and ``websocket-client`` (both in the project's virtualenv)
and a Chromium (``chromium``, ``chromium-browser`` or ``google-chrome`` on
PATH, or --chromium). Prints each file written; exits 2 when the demo does not
answer, or a page shows an error or does not render in time (the other shots
are still taken).
"""

import argparse
import base64
import contextlib
import html
import itertools
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests
import websocket

HTTP_TIMEOUT = 30
DESKTOP = {"width": 1366, "height": 900, "deviceScaleFactor": 1, "mobile": False}
# The web client fits the window: a taller one shows the form's header, its
# Shipment group and the Tracking tab at once.
DESKTOP_TALL = dict(DESKTOP, height=1300)
PHONE = {"width": 375, "height": 812, "deviceScaleFactor": 2, "mobile": True}
# Grown to the email's height when shot.
EMAIL = {"width": 800, "height": 300, "deviceScaleFactor": 1, "mobile": False}
# Odoo's own demo has a user "portal" (of another company): ours is "customer".
PORTAL_LOGIN = "customer"
DEMO_CARRIER = "shipment_tracking.delivery_carrier_demo"
MANUAL_DISPATCHES = 3
SANDBOX_ADVANCE_HOURS = 13  # the sandbox's usual story: in transit after 12 h
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--mute-audio",
]
# The web client has rendered its action and is not loading anything.
BACKEND_READY = (
    "!!document.querySelector('.o_action_manager .o_view_controller')"
    " && !document.querySelector('.o_loading_indicator')"
)
# The text of the web client's error dialog, if one shows; opens its
# technical details (the cause) for the next call.
PAGE_ERROR = (
    "(() => { const dialog = document.querySelector('.o_error_dialog');"
    " if (!dialog) { return ''; }"
    " const details = dialog.querySelector('.btn-link');"
    " if (details && !dialog.querySelector('.o_error_detail')) { details.click(); }"
    " return dialog.innerText; })()"
)
# Transient toasts (e.g. "The page is out of date") are not part of a page.
HIDE_NOTIFICATIONS = (
    "(() => { const style = document.createElement('style');"
    " style.textContent = '.o_notification_manager { display: none !important; }';"
    " document.head.appendChild(style); })()"
)


class ScreenshotError(Exception):
    """Something the user must fix (demo down, page not rendered...)."""


# ----------------------------------------------------------------------------
# Odoo over JSON-RPC
# ----------------------------------------------------------------------------
class Odoo:
    """One logged-in user of the demo, over JSON-RPC."""

    def __init__(self, url, db, login, password):
        self.url = url.rstrip("/")
        self.db = db
        self.login = login
        self.session = requests.Session()
        self._ids = itertools.count(1)
        info = self.rpc(
            "/web/session/authenticate",
            {"db": db, "login": login, "password": password},
        )
        if not info or not info.get("uid"):
            raise ScreenshotError(f"{login} could not log in to {db} at {self.url}")
        self.uid = info["uid"]
        self.context = info.get("user_context") or {}

    @property
    def session_id(self):
        return self.session.cookies.get("session_id")

    def rpc(self, path, params):
        payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "params": params,
            "id": next(self._ids),
        }
        try:
            response = self.session.post(
                self.url + path, json=payload, timeout=HTTP_TIMEOUT
            )
            response.raise_for_status()
            answer = response.json()
        except requests.ConnectionError:
            raise ScreenshotError(
                f"the demo does not answer at {self.url};"
                " start `make run` in another terminal first"
            ) from None
        except (requests.RequestException, ValueError) as error:
            raise ScreenshotError(f"{self.url}{path}: {error}") from None
        if "error" in answer:
            data = answer["error"].get("data") or {}
            message = data.get("message") or answer["error"].get("message")
            raise ScreenshotError(f"{path} as {self.login}: {message}")
        return answer.get("result")

    def call(self, model, method, *args, **kwargs):
        context = dict(self.context, **kwargs.pop("context", {}))
        return self.rpc(
            f"/web/dataset/call_kw/{model}/{method}",
            {
                "model": model,
                "method": method,
                "args": list(args),
                "kwargs": dict(kwargs, context=context),
            },
        )

    def ref(self, xmlid):
        module, name = xmlid.split(".")
        rows = self.call(
            "ir.model.data",
            "search_read",
            [("module", "=", module), ("name", "=", name)],
            ["res_id"],
        )
        return rows[0]["res_id"] if rows else False


def wait_for(what, check, timeout, interval=0.5):
    """Return check()'s first truthy value; ScreenshotError after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise ScreenshotError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


# ----------------------------------------------------------------------------
# Demo data: the delivery to show, dispatched ones when the demo has none
# ----------------------------------------------------------------------------
DISPATCHED = [
    ("picking_type_code", "=", "outgoing"),
    ("shipment_state", "not in", ("pending", "cancelled")),
]


def dispatch_notifications(odoo, picking_ids):
    return odoo.call(
        "shipment.tracking.notification",
        "search_read",
        [("picking_id", "in", picking_ids), ("kind", "=", "dispatched")],
        ["picking_id", "mail_message_id", "email_state"],
        order="id desc",
    )


def pick_shipment(odoo):
    """The dispatched delivery to show: the one with the most tracking events
    among those whose customer has an email."""
    shipments = odoo.call(
        "stock.picking",
        "search_read",
        DISPATCHED + [("partner_id.email", "!=", False)],
        ["name", "partner_id", "tracking_event_ids", "shipment_state"],
        order="id",
    )
    if not shipments:
        return None
    return max(shipments, key=lambda s: (len(s["tracking_event_ids"]), -s["id"]))


def validate(odoo, picking_id):
    """Record the parcel's dimensions and validate, as the warehouse does."""
    odoo.call(
        "stock.picking",
        "write",
        [picking_id],
        {"shipment_length": 30, "shipment_width": 20, "shipment_height": 15},
    )
    # skip_sms: stock_sms would ask whether to text the customer.
    result = odoo.call(
        "stock.picking", "button_validate", [picking_id], context={"skip_sms": True}
    )
    if result is not True:
        raise ScreenshotError(
            f"validating delivery {picking_id} asked for more: {json.dumps(result)}"
        )


def sandbox_url(odoo, carrier_id):
    rows = odoo.call("delivery.carrier", "read", [carrier_id], ["generic_base_url"])
    base = (rows[0].get("generic_base_url") or "").rstrip("/")
    try:
        requests.get(f"{base}/sandbox/clock", timeout=5).raise_for_status()
    except requests.RequestException:
        return None
    return base


def stage(odoo, log):
    """Dispatch some ready demo deliveries (see the module docstring)."""
    ready = odoo.call(
        "stock.picking",
        "search_read",
        [
            ("picking_type_code", "=", "outgoing"),
            ("state", "=", "assigned"),
            ("shipment_state", "=", "pending"),
            ("carrier_id", "!=", False),
            ("partner_id.email", "!=", False),
        ],
        ["name", "carrier_id"],
        order="id",
    )
    if not ready:
        raise ScreenshotError(
            "the demo has no dispatched delivery and none ready to validate"
        )
    carrier_ids = {row["carrier_id"][0] for row in ready}
    carriers = {
        row["id"]: row
        for row in odoo.call(
            "delivery.carrier", "read", list(carrier_ids), ["name", "delivery_type"]
        )
    }
    sandboxes = {}
    for carrier in carriers.values():
        if carrier["delivery_type"] == "generic":
            sandboxes[carrier["id"]] = sandbox_url(odoo, carrier["id"])
    # Our demo carrier's deliveries when it is there, else any without an API.
    demo_carrier_id = odoo.ref(DEMO_CARRIER)
    booked, manual = [], []
    for row in ready:
        carrier = carriers[row["carrier_id"][0]]
        if carrier["delivery_type"] == "generic":
            if sandboxes[carrier["id"]]:
                booked.append(row)
        elif (
            carrier["id"] == demo_carrier_id
            or not demo_carrier_id
            and carrier["delivery_type"] in ("fixed", "base_on_rule")
        ):
            manual.append(row)
    manual = manual[:MANUAL_DISPATCHES]
    for row in booked:
        log(f"dispatching {row['name']} with {row['carrier_id'][1]} (booked)")
        validate(odoo, row["id"])
    for row in manual:
        log(f"dispatching {row['name']} with {row['carrier_id'][1]}")
        validate(odoo, row["id"])
        wizard_id = odoo.call(
            "stock.picking.update.shipment",
            "create",
            {"picking_id": row["id"], "carrier_tracking_ref": f"DX{row['id']:09d}"},
        )
        odoo.call("stock.picking.update.shipment", "action_apply", [wizard_id])
    if booked:
        for base in {url for url in sandboxes.values() if url}:
            log(f"advancing the sandbox carrier's clock by {SANDBOX_ADVANCE_HOURS} h")
            response = requests.post(
                f"{base}/sandbox/clock/advance",
                json={"hours": SANDBOX_ADVANCE_HOURS},
                timeout=HTTP_TIMEOUT,
            )
            response.raise_for_status()
        ids = [row["id"] for row in booked]
        wait_for(
            "the sandbox carrier's tracking events",
            lambda: all(
                row["tracking_event_ids"]
                for row in odoo.call(
                    "stock.picking", "read", ids, ["tracking_event_ids"]
                )
            ),
            timeout=60,
        )
    elif any(url is None for url in sandboxes.values()):
        log("(the sandbox carrier does not answer: no delivery with tracking events)")


def ensure_dispatch_email(odoo, picking_id, log):
    """The dispatch notification's mail.message, running the cron if needed."""

    def sent():
        rows = dispatch_notifications(odoo, [picking_id])
        return rows and rows[0]["mail_message_id"] and rows[0]

    row = sent()
    if row:
        return row["mail_message_id"][0]
    if not dispatch_notifications(odoo, [picking_id]):
        return False
    cron_id = odoo.ref("shipment_tracking.ir_cron_shipment_notification")
    if cron_id:
        log("running the customer notification cron")
        odoo.call("ir.cron", "method_direct_trigger", [cron_id])
    row = wait_for("the dispatch email", sent, timeout=60)
    return row["mail_message_id"][0]


def check_demo(odoo, args):
    """Only a demo database on this machine: the tool dispatches deliveries,
    sends their emails and may add a portal user."""
    host = urlsplit(args.url).hostname or ""
    if host not in ("localhost", "127.0.0.1", "::1") and not args.any_database:
        raise ScreenshotError(
            f"{args.url} is not this machine: refusing (--any-database to insist)"
        )
    base = odoo.call(
        "ir.module.module", "search_read", [("name", "=", "base")], ["demo"]
    )
    if not (base and base[0]["demo"]) and not args.any_database:
        raise ScreenshotError(
            f"{args.db} has no demo data: this tool changes the database it shoots "
            "(dispatches deliveries, sends their emails, may add a portal user); "
            "refusing (--any-database to insist)"
        )


def ensure_portal_user(odoo, partner_id):
    """The portal user ``customer`` of the delivery's customer (created once;
    a later run reuses it, whoever its customer is)."""
    rows = odoo.call(
        "res.users",
        "search_read",
        [("login", "=", PORTAL_LOGIN)],
        ["partner_id", "share"],
        context={"active_test": False},
    )
    # A password of this run only, never a guessable one.
    password = secrets.token_urlsafe(18)
    if rows:
        odoo.call("res.users", "write", [rows[0]["id"]], {"password": password})
        return rows[0], password
    portal_group = odoo.ref("base.group_portal")
    user_id = odoo.call(
        "res.users",
        "create",
        {
            "login": PORTAL_LOGIN,
            "password": password,
            "partner_id": partner_id,
            "groups_id": [(6, 0, [portal_group])],
        },
        context={"no_reset_password": True},
    )
    user = odoo.call("res.users", "read", [user_id], ["partner_id", "share"])[0]
    return user, password


# ----------------------------------------------------------------------------
# Chromium over the DevTools protocol
# ----------------------------------------------------------------------------
def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_chromium(explicit):
    for name in (
        [explicit]
        if explicit
        else [
            "chromium",
            "chromium-browser",
            "google-chrome",
            "google-chrome-stable",
        ]
    ):
        path = shutil.which(name) if name else None
        if path:
            return path
    raise ScreenshotError("no Chromium found: install chromium or pass --chromium")


class Browser:
    """A headless Chromium with a fresh profile and one tab, driven over CDP."""

    def __init__(self, binary, timeout):
        self.timeout = timeout
        self._ids = itertools.count(1)
        self._events = []
        self._profile = tempfile.TemporaryDirectory(
            prefix="screenshots-chromium-", ignore_cleanup_errors=True
        )
        port = free_port()
        self._log = open(Path(self._profile.name, "chromium.log"), "wb")  # noqa: SIM115
        self._process = subprocess.Popen(
            [
                binary,
                *CHROMIUM_FLAGS,
                f"--remote-debugging-port={port}",
                f"--user-data-dir={self._profile.name}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            # Its own process group: close() stops its helper processes too.
            start_new_session=True,
        )
        try:
            target = wait_for(
                "Chromium's DevTools endpoint",
                lambda: self._page_target(port),
                timeout=30,
                interval=0.2,
            )
            self._ws = websocket.create_connection(
                target["webSocketDebuggerUrl"],
                timeout=timeout,
                suppress_origin=True,
                enable_multithread=False,
            )
            self.send("Page.enable")
            self.send("Network.enable")
            self.send("Runtime.enable")
        except BaseException:
            self.close()
            raise

    def _page_target(self, port):
        if self._process.poll() is not None:
            self._log.flush()
            tail = Path(self._log.name).read_text(errors="replace")[-800:]
            raise ScreenshotError(f"Chromium stopped:\n{tail}")
        try:
            targets = requests.get(
                f"http://127.0.0.1:{port}/json/list", timeout=2
            ).json()
        except (requests.RequestException, ValueError):
            return None
        return next((t for t in targets if t.get("type") == "page"), None)

    def close(self):
        with contextlib.suppress(Exception):
            self._ws.close()
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        # Helpers (renderer, GPU, zygote) may outlive the browser process.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, signal.SIGKILL)
        self._log.close()
        self._profile.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- protocol --------------------------------------------------------------
    def _receive(self):
        try:
            return json.loads(self._ws.recv())
        except websocket.WebSocketTimeoutException:
            raise ScreenshotError(
                f"Chromium did not answer within {self.timeout:g} s"
            ) from None

    def send(self, method, **params):
        message_id = next(self._ids)
        self._ws.send(
            json.dumps({"id": message_id, "method": method, "params": params})
        )
        while True:
            message = self._receive()
            if message.get("id") == message_id:
                if "error" in message:
                    raise ScreenshotError(
                        f"{method}: {message['error'].get('message')}"
                    )
                return message.get("result", {})
            if "method" in message:
                self._events.append(message)

    def wait_event(self, method):
        deadline = time.monotonic() + self.timeout
        while True:
            for index, event in enumerate(self._events):
                if event["method"] == method:
                    del self._events[: index + 1]
                    return event.get("params", {})
            self._events.clear()
            if time.monotonic() > deadline:
                raise ScreenshotError(f"timed out waiting for {method}")
            message = self._receive()
            if "method" in message:
                self._events.append(message)

    def evaluate(self, expression):
        result = self.send(
            "Runtime.evaluate",
            expression=expression,
            returnByValue=True,
            awaitPromise=True,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get(
                "text"
            )
            raise ScreenshotError(f"{expression[:60]}...: {text}")
        return result.get("result", {}).get("value")

    # -- pages -----------------------------------------------------------------
    def set_session(self, url, session_id):
        self.send("Network.clearBrowserCookies")
        if session_id:
            self.send("Network.setCookie", name="session_id", value=session_id, url=url)

    def open(self, url, metrics, ready="true", what=None):
        """Navigate at ``metrics`` and wait until ``ready`` (a JS expression)
        holds once the document is complete."""
        self.send("Emulation.setDeviceMetricsOverride", **metrics)
        self.send(
            "Emulation.setTouchEmulationEnabled", enabled=bool(metrics.get("mobile"))
        )
        self._events.clear()
        result = self.send("Page.navigate", url=url)
        if result.get("errorText"):
            raise ScreenshotError(f"{url}: {result['errorText']}")
        self.wait_event("Page.loadEventFired")
        self.wait_until(f"document.readyState === 'complete' && ({ready})", what or url)

    def wait_until(self, expression, what):
        def check():
            error = self.evaluate(PAGE_ERROR)
            if error:
                time.sleep(0.5)
                error = self.evaluate(PAGE_ERROR)
                # The dialog's first line is generic: keep the cause lines.
                lines = [line.strip() for line in error.splitlines() if line.strip()]
                causes = [line for line in lines if line.startswith("Caused by")]
                detail = "; ".join(causes or lines[:4])[:500]
                raise ScreenshotError(f"{what} shows an error: {detail}")
            return self.evaluate(expression)

        try:
            wait_for(what, check, self.timeout, 0.25)
        except ScreenshotError as error:
            if "shows an error" in str(error):
                raise
            location = self.evaluate("location.href")
            title = self.evaluate("document.title")
            raise ScreenshotError(
                f"{what} did not render within {self.timeout:g} s"
                f" (the browser shows {location}, {title!r})"
            ) from None

    def screenshot(self, path, metrics, full_height=None):
        """Capture the viewport; with ``full_height``, first grow it to the
        page's height, up to that many CSS pixels."""
        if full_height:
            height = self.evaluate("document.documentElement.scrollHeight")
            self.send(
                "Emulation.setDeviceMetricsOverride",
                **dict(
                    metrics, height=max(metrics["height"], min(height, full_height))
                ),
            )
        # Let fonts, images and CSS transitions settle.
        self.evaluate(
            "document.fonts.ready.then(() => new Promise("
            "r => requestAnimationFrame(() => setTimeout(r, 400))))"
        )
        data = self.send(
            "Page.captureScreenshot", format="png", captureBeyondViewport=False
        )
        path.write_bytes(base64.b64decode(data["data"]))


# ----------------------------------------------------------------------------
# The shots
# ----------------------------------------------------------------------------
def backend_url(odoo, action_xmlid, record_id=None):
    url = f"{odoo.url}/odoo/action-{action_xmlid}"
    return f"{url}/{record_id}" if record_id else url


def email_page(odoo, message_id):
    """A minimal HTML page showing the email's headers and body."""
    message = odoo.call(
        "mail.message",
        "read",
        [message_id],
        ["subject", "body", "email_from", "partner_ids", "date"],
    )[0]
    recipients = ""
    if message["partner_ids"]:
        partners = odoo.call(
            "res.partner", "read", message["partner_ids"], ["name", "email"]
        )
        recipients = ", ".join(f"{p['name']} <{p['email']}>" for p in partners)
    headers = "".join(
        f"<tr><th>{label}</th><td>{html.escape(value or '')}</td></tr>"
        for label, value in [
            ("From", message["email_from"]),
            ("To", recipients),
            ("Subject", message["subject"]),
        ]
    )
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><base href="{html.escape(odoo.url)}/">
<style>
body {{ margin: 0; background: #f2f2f2; font-family: sans-serif; }}
.headers {{ width: 100%; background: #fff; border-bottom: 1px solid #ddd;
  padding: 12px 16px; }}
.headers th {{ text-align: left; color: #666; padding-right: 12px;
  font-weight: normal; }}
.body {{ background: #fff; margin: 16px; padding: 16px; border: 1px solid #ddd; }}
</style></head>
<body><table class="headers">{headers}</table>
<div class="body">{message["body"]}</div></body></html>
"""


TRACKING_TAB = '.o_notebook a.nav-link[name="shipment_tracking"]'
# Clicks the delivery form's Tracking tab (absent on a pending delivery).
OPEN_TRACKING_TAB = (
    f"(() => {{ const tab = document.querySelector('{TRACKING_TAB}');"
    " if (tab) { tab.click(); } })()"
)
TRACKING_TAB_SHOWN = (
    f"!document.querySelector('{TRACKING_TAB}')"
    f" || !!document.querySelector('{TRACKING_TAB}.active')"
)


def find_shipment(admin, args, log):
    """The dispatched delivery to show, dispatching some first if need be."""
    shipment = pick_shipment(admin)
    if not shipment:
        if args.no_stage:
            raise ScreenshotError(
                f"{args.db} has no dispatched delivery (run without --no-stage"
                " to dispatch some demo deliveries)"
            )
        stage(admin, log)
        shipment = pick_shipment(admin)
        if not shipment:
            raise ScreenshotError("no delivery got dispatched")
    log(
        f"showing {shipment['name']} ({shipment['shipment_state']},"
        f" {len(shipment['tracking_event_ids'])} tracking events)"
    )
    return shipment


def plan(args, admin, shipment, log):
    """The shots: (file name, session, URL, metrics, ready expression, what,
    JS to run once ready then wait for, full height)."""
    picking_id = shipment["id"]
    message_id = ensure_dispatch_email(admin, picking_id, log)
    page_url = admin.url + admin.call("stock.picking", "get_portal_url", [picking_id])
    shots = [
        (
            "delivery-form.png",
            admin,
            backend_url(admin, "stock.action_picking_tree_all", picking_id),
            DESKTOP_TALL,
            BACKEND_READY
            + " && !!document.querySelector('.o_form_view .o_form_sheet')",
            "the delivery form",
            (OPEN_TRACKING_TAB, TRACKING_TAB_SHOWN),
            None,
        ),
        (
            "shipments-list.png",
            admin,
            backend_url(admin, "shipment_tracking.stock_picking_shipment_action"),
            DESKTOP,
            BACKEND_READY
            + " && !!document.querySelector('.o_list_view, .o_view_nocontent')",
            "the Shipments list",
            None,
            None,
        ),
        (
            "dashboard.png",
            admin,
            backend_url(
                admin, "shipment_tracking.stock_picking_shipment_dashboard_action"
            ),
            DESKTOP,
            BACKEND_READY
            + " && !!document.querySelector('.o_pivot table, .o_graph_renderer canvas,"
            " .o_view_nocontent')",
            "the shipment dashboard",
            None,
            None,
        ),
    ]
    if args.create_portal_user:
        user, password = ensure_portal_user(admin, shipment["partner_id"][0])
        log(f"portal user {PORTAL_LOGIN}: {user['partner_id'][1]}")
        portal = Odoo(args.url, args.db, PORTAL_LOGIN, password)
        shots.append(
            (
                "portal-list.png",
                portal,
                f"{portal.url}/my/shipments",
                DESKTOP,
                "!!document.querySelector('main')",
                "the portal's shipment list",
                None,
                None,
            )
        )
    else:
        log("skipping portal-list.png (no --create-portal-user)")
    for name, metrics in [
        ("tracking-page-desktop.png", DESKTOP),
        ("tracking-page-phone.png", PHONE),
    ]:
        # Without a session: the customer follows the link of the email.
        shots.append(
            (
                name,
                None,
                page_url,
                metrics,
                "!!document.querySelector('main')",
                "the tracking page",
                None,
                1800,
            )
        )
    if message_id:
        page = Path(args.tmp, "dispatch-email.html")
        page.write_text(email_page(admin, message_id), encoding="utf-8")
        shots.append(
            (
                "dispatch-email.png",
                admin,
                page.as_uri(),
                EMAIL,
                "true",
                "the dispatch email",
                None,
                2000,
            )
        )
    else:
        log(f"skipping dispatch-email.png ({shipment['name']} has no dispatch email)")
    return shots


def take(args, log):
    """Take every shot; return the number that failed."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    admin = Odoo(args.url, args.db, args.login, args.password)
    check_demo(admin, args)
    shipment = find_shipment(admin, args, log)
    failed = 0
    with (
        tempfile.TemporaryDirectory(prefix="screenshots-") as args.tmp,
        Browser(find_chromium(args.chromium), args.timeout) as browser,
    ):
        for name, user, url, metrics, ready, what, action, height in plan(
            args, admin, shipment, log
        ):
            try:
                browser.set_session(args.url, user and user.session_id)
                browser.open(url, metrics, ready, what)
                if user and "/odoo/" in url:
                    browser.evaluate(HIDE_NOTIFICATIONS)
                if action:
                    browser.evaluate(action[0])
                    browser.wait_until(action[1], what)
                path = out / name
                browser.screenshot(path, metrics, full_height=height)
                print(path)
            except ScreenshotError as error:
                log(f"{name}: {error}")
                failed += 1
    return failed


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--url",
        default=f"http://localhost:{os.environ.get('HTTP_PORT') or 8069}",
        help="the demo server (default http://localhost:$HTTP_PORT, 8069)",
    )
    parser.add_argument(
        "--db",
        default=os.environ.get("DEMO_DB") or "shipment_demo",
        help="its database (default $DEMO_DB, shipment_demo)",
    )
    parser.add_argument("--out", default="docs/screenshots", help="output folder")
    parser.add_argument("--login", default="admin", help="back-office login")
    parser.add_argument("--password", default="admin", help="back-office password")
    parser.add_argument(
        "--create-portal-user",
        action="store_true",
        help=f"create (or reuse) the portal user {PORTAL_LOGIN} of the customer shown,"
        " with a password of this run only, for portal-list.png",
    )
    parser.add_argument(
        "--no-stage",
        action="store_true",
        help="fail instead of dispatching demo deliveries when none is dispatched",
    )
    parser.add_argument(
        "--any-database",
        action="store_true",
        help="shoot a database without demo data or on another machine (it is changed)",
    )
    parser.add_argument("--chromium", help="Chromium binary (default: found on PATH)")
    parser.add_argument(
        "--timeout", type=float, default=60, help="seconds a page may take (default 60)"
    )
    args = parser.parse_args(argv)
    if urlsplit(args.url).scheme not in ("http", "https"):
        parser.error("--url must be an http(s) URL")

    def log(text):
        print(f"screenshots: {text}", file=sys.stderr)

    try:
        failed = take(args, log)
    except ScreenshotError as error:
        log(str(error))
        return 2
    if failed:
        log(f"{failed} screenshot(s) not taken")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
