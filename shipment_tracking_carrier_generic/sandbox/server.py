# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""HTTP front of the sandbox carrier and its programmatic handle,
``SandboxCarrier``.

Three kinds of routes: ``/v1/*`` is the carrier protocol (bearer API key,
faults injected here), ``/track/*`` and ``/pod/*`` are public pages, and
``/sandbox/*`` are unauthenticated controls for tests and demos.
"""

import hmac
import html
import json
import logging
import re
import socket
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

from . import validation
from .carrier import CARRIER_NAME, CarrierState
from .documents import photo_png, signature_png
from .faults import FaultInjector, validate
from .scenarios import format_datetime
from .validation import ApiError
from .webhooks import WebhookSender

_logger = logging.getLogger(__name__)

DEFAULT_API_KEY = "sandbox-api-key"
MAX_BODY = 2 * 1024 * 1024
# What a "malformed" fault answers: cut in the middle of a JSON document.
MALFORMED_BODY = b'{"shipment_id": "shp_0f3a", "tracking_numbers": ["SBX'
# What a "wrong_shape" fault answers: valid JSON, not the documented shape.
WRONG_SHAPE_BODY = b'{"results": ["not a tracking"], "not_found": {"SBX": 1}}'
CONNECTION_SETTINGS = ("api_key", "webhook_url", "webhook_secret", "scenario")
# Never shown by config(): /sandbox/config answers whoever reaches the sandbox,
# and whoever set them knows them.
SECRET_SETTINGS = ("api_key", "webhook_secret")

ROUTES = [
    ("GET", r"/v1/ping", "api_ping", "api"),
    ("POST", r"/v1/rates", "api_rates", "api"),
    ("POST", r"/v1/shipments", "api_book", "api"),
    ("POST", r"/v1/shipments/(?P<shipment_id>[^/]+)/cancel", "api_cancel", "api"),
    ("POST", r"/v1/tracking/batch", "api_tracking_batch", "api"),
    ("GET", r"/v1/tracking/(?P<number>[^/]+)", "api_tracking", "api"),
    ("GET", r"/track/(?P<number>[^/]+)", "page_track", "public"),
    ("GET", r"/pod/(?P<number>[^/]+)\.png", "page_signature", "public"),
    ("GET", r"/pod/(?P<number>[^/]+)/photo\.png", "page_photo", "public"),
    ("GET", r"/sandbox/clock", "control_clock", "control"),
    ("POST", r"/sandbox/clock/advance", "control_advance", "control"),
    ("GET", r"/sandbox/config", "control_config", "control"),
    ("POST", r"/sandbox/config", "control_configure", "control"),
    ("POST", r"/sandbox/reset", "control_reset", "control"),
    ("GET", r"/sandbox/webhooks", "control_webhooks", "control"),
]
ROUTES = [
    (method, re.compile(pattern + "$"), name, kind)
    for method, pattern, name, kind in ROUTES
]


class Response(NamedTuple):
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple = ()


def json_response(payload, status=HTTPStatus.OK):
    return Response(status, json.dumps(payload).encode())


def error_response(error):
    payload = {"error": {"code": error.code, "message": error.message}}
    response = json_response(payload, error.status)
    return response._replace(headers=tuple(error.headers.items()))


def _parse_json(body):
    """The JSON document of a request body; None when the body is empty."""
    if not body.strip():
        return None
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiError(
            HTTPStatus.BAD_REQUEST, "invalid_json", f"body is not valid JSON: {error}"
        ) from error


def _reject_constant(name):
    raise ValueError(f"{name} is not a number")


def not_found(what):
    return ApiError(HTTPStatus.NOT_FOUND, "not_found", f"unknown {what}")


class SandboxCarrier:
    """A sandbox carrier server on a background thread.

    ``SandboxCarrier(port=0).start()`` picks a free port; ``.url`` is its base
    URL. Use it as a context manager to stop it on exit. ``public_url`` is the
    base URL written in tracking and proof-of-delivery links when receivers
    reach the sandbox under another name (e.g. a Docker service).
    """

    def __init__(
        self,
        host="127.0.0.1",
        port=0,
        api_key=DEFAULT_API_KEY,
        webhook_url=None,
        webhook_secret=None,
        rate_limit=None,
        seed=0,
        public_url=None,
        quiet=False,
    ):
        self.host = host
        self.port = port
        self.public_url = public_url
        self.quiet = quiet
        self._initial = validate(
            {
                "api_key": api_key,
                "webhook_url": webhook_url,
                "webhook_secret": webhook_secret,
                "rate_limit": rate_limit,
                "seed": seed,
                "scenario": None,
            }
        )
        self.settings = {}
        self.faults = FaultInjector()
        self.webhooks = WebhookSender()
        self.state = CarrierState(base_url="", on_release=self._push)
        self._server = None
        self._thread = None
        # TCP connections accepted since start: tests see keep-alive reuse.
        self.connections = 0
        self._apply(self._initial)

    # Life cycle -----------------------------------------------------------

    @property
    def url(self):
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def start(self):
        """Listen and serve on a daemon thread; return self."""
        self._server = _Server((self.host, self.port), _Handler)
        self._server.app = self
        self.port = self._server.server_address[1]
        self.state.base_url = (self.public_url or self.url).rstrip("/")
        self.webhooks.start()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"sandbox-carrier-{self.port}",
            daemon=True,
        )
        self._thread.start()
        _logger.info("%s listening on %s", CARRIER_NAME, self.url)
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = self._thread = None
        self.webhooks.stop()

    def __enter__(self):
        return self if self._server else self.start()

    def __exit__(self, *exc_info):
        self.stop()

    # Controls, also over HTTP under /sandbox --------------------------------

    def now(self):
        return format_datetime(self.state.now())

    def advance_clock(self, hours):
        """Move the sandbox clock forward, release (and push) the due events."""
        number_types = (int, float)
        if isinstance(hours, bool) or not isinstance(hours, number_types) or hours < 0:
            raise ApiError(
                HTTPStatus.BAD_REQUEST, "invalid_request", "hours must be a number >= 0"
            )
        now, released = self.state.advance(hours)
        return {"now": format_datetime(now), "events_released": released}

    def configure(self, **changes):
        """Change settings and faults (see ``faults.SETTINGS`` and ``FAULTS``);
        return config(). Invalid values raise ApiError (400)."""
        self._apply(validate(changes))
        return self.config()

    def config(self):
        """Settings and faults, without the API key and the webhook secret
        (``webhook_signed`` tells whether pushes are signed)."""
        shown = {
            key: value
            for key, value in self.settings.items()
            if key not in SECRET_SETTINGS
        }
        return {
            **shown,
            "webhook_signed": bool(self.settings.get("webhook_secret")),
            "rate_limit": self.faults.rate_limit,
            **self.faults.settings,
        }

    def reset(self):
        """Drop shipments, faults and the webhook log; clock back to real time
        and settings back to the constructor's."""
        self.state.reset()
        self.faults.reset()
        self.webhooks.clear()
        self._apply(self._initial)
        return {"ok": True, "now": self.now()}

    def webhook_log(self):
        """Results of the webhook pushes: url, status, events, attempts, error."""
        return self.webhooks.log()

    def wait_for_webhooks(self, timeout=10):
        """Wait until the queued pushes are delivered (or given up)."""
        return self.webhooks.wait(timeout)

    def _apply(self, changes):
        for key in CONNECTION_SETTINGS:
            if key in changes:
                self.settings[key] = changes[key]
        self.state.default_scenario = self.settings.get("scenario")
        self.faults.configure(changes)

    def shipment(self, shipment_id):
        """A booking as the carrier keeps it: the answer it gave, plus the
        request it received under ``request``."""
        return self.state.shipment(shipment_id)

    def _push(self, events):
        url = self.settings.get("webhook_url")
        if url:
            self.webhooks.push(url, self.settings.get("webhook_secret"), events)

    # Dispatch -------------------------------------------------------------

    def handle(self, method, target, headers, body):
        """Answer one request: the whole HTTP-free logic of the server."""
        try:
            name, kind, params = self._route(method, urlsplit(target).path)
            self.state.release_due()
            if kind == "api":
                return self._handle_api(getattr(self, name), headers, body, params)
            return getattr(self, name)(body, **params)
        except ApiError as error:
            return error_response(error)

    @staticmethod
    def _route(method, path):
        allowed = []
        for route_method, pattern, name, kind in ROUTES:
            match = pattern.match(path)
            if match and route_method == method:
                params = {
                    key: unquote(value) for key, value in match.groupdict().items()
                }
                return name, kind, params
            if match:
                allowed.append(route_method)
        if allowed:
            raise ApiError(
                HTTPStatus.METHOD_NOT_ALLOWED,
                "method_not_allowed",
                f"{method} not allowed on {path}",
                headers={"Allow": ", ".join(allowed)},
            )
        raise not_found(f"path {path}")

    def _handle_api(self, handler, headers, body, params):
        self._authenticate(headers.get("Authorization") or "")
        self.faults.throttle(self.settings["api_key"])
        fault, latency, timeout = self.faults.decide()
        if latency:
            time.sleep(latency)
        if isinstance(fault, ApiError):
            raise fault
        try:
            response = handler(body, **params)
        except ApiError as error:
            response = error_response(error)
        if fault == "malformed":
            return Response(HTTPStatus.OK, MALFORMED_BODY)
        if fault == "wrong_shape":
            return Response(HTTPStatus.OK, WRONG_SHAPE_BODY)
        if fault == "timeout":
            # The work is done, only the answer is late: a client that gave up
            # must rely on idempotency when it tries again.
            time.sleep(timeout)
        return response

    def _authenticate(self, authorization):
        scheme, _sep, key = authorization.partition(" ")
        expected = self.settings["api_key"].encode()
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            key.strip().encode(), expected
        ):
            raise ApiError(
                HTTPStatus.UNAUTHORIZED,
                "unauthorized",
                "missing or invalid API key (Authorization: Bearer <api_key>)",
                headers={"WWW-Authenticate": "Bearer"},
            )

    # /v1 ------------------------------------------------------------------

    def api_ping(self, body):
        return json_response(self.state.ping())

    def api_rates(self, body):
        request = validation.rate_request(_parse_json(body))
        return json_response(self.state.rate(request))

    def api_book(self, body):
        request = validation.shipment_request(_parse_json(body))
        created, booking = self.state.book(request)
        return json_response(booking, HTTPStatus.CREATED if created else HTTPStatus.OK)

    def api_cancel(self, body, shipment_id):
        return json_response(self.state.cancel(shipment_id))

    def api_tracking(self, body, number):
        tracking = self.state.tracking(number)
        if tracking is None:
            raise not_found(f"tracking number {number}")
        return json_response(tracking)

    def api_tracking_batch(self, body):
        numbers = validation.tracking_numbers(_parse_json(body))
        results, missing = [], []
        for number in numbers:
            tracking = self.state.tracking(number)
            if tracking is None:
                missing.append(number)
            else:
                results.append(tracking)
        return json_response({"results": results, "not_found": missing})

    # Public pages ---------------------------------------------------------

    def page_track(self, body, number):
        tracking = self.state.tracking(number)
        if tracking is None:
            page = _html_page(
                "Unknown tracking number",
                f"<p>No parcel with tracking number "
                f"<strong>{html.escape(number)}</strong>.</p>",
            )
            return Response(HTTPStatus.NOT_FOUND, page, "text/html; charset=utf-8")
        return Response(
            HTTPStatus.OK, _tracking_page(tracking), "text/html; charset=utf-8"
        )

    def page_signature(self, body, number):
        return self._pod_image(number, signature_png)

    def page_photo(self, body, number):
        return self._pod_image(number, photo_png)

    def _pod_image(self, number, build):
        if self.state.tracking(number) is None:
            raise not_found(f"tracking number {number}")
        return Response(HTTPStatus.OK, build(), "image/png")

    # /sandbox -------------------------------------------------------------

    def control_clock(self, body):
        return json_response({"now": self.now()})

    def control_advance(self, body):
        payload = _parse_json(body)
        if not isinstance(payload, dict) or "hours" not in payload:
            raise validation.invalid('body must be {"hours": <number>}')
        return json_response(self.advance_clock(payload["hours"]))

    def control_config(self, body):
        return json_response(self.config())

    def control_configure(self, body):
        payload = _parse_json(body) or {}
        if not isinstance(payload, dict):
            raise validation.invalid("body must be a JSON object")
        return json_response(self.configure(**payload))

    def control_reset(self, body):
        return json_response(self.reset())

    def control_webhooks(self, body):
        return json_response(self.webhook_log())


def _html_page(title, content):
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)} - {CARRIER_NAME}</title></head>"
        f"<body><h1>{CARRIER_NAME}</h1>{content}</body></html>\n"
    ).encode()


def _tracking_page(tracking):
    escape = html.escape
    rows = "".join(
        f"<tr><td>{escape(event['occurred_at'])}</td><td>{escape(event['status'])}</td>"
        f"<td>{escape(event['description'])}</td><td>{escape(event['location'])}</td>"
        "</tr>"
        for event in reversed(tracking["events"])
    )
    edd = tracking["estimated_delivery_date"] or "-"
    content = (
        f'<p>Tracking number: <strong id="tracking-number">'
        f"{escape(tracking['tracking_number'])}</strong></p>"
        f"<p>Status: <strong>{escape(tracking['status_description'])}</strong></p>"
        f"<p>Estimated delivery: {escape(edd)}</p>"
        "<table><thead><tr><th>Date (UTC)</th><th>Status</th><th>Description</th>"
        f"<th>Location</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    return _html_page(f"Tracking {tracking['tracking_number']}", content)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    app = None

    def get_request(self):
        connection, address = super().get_request()
        # One accepting thread: no lock needed.
        self.app.connections += 1
        # Headers and body go out in two writes: without this, Nagle's
        # algorithm and delayed ACKs add 40 ms to every keep-alive answer.
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SandboxCarrier/1.0"
    # Idle keep-alive connections are closed after this many seconds.
    timeout = 60

    def do_GET(self):
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _serve(self):
        started = time.perf_counter()
        app = self.server.app
        try:
            body = self._read_body()
        except ApiError as error:
            self.close_connection = True
            response = error_response(error)
        else:
            try:
                response = app.handle(self.command, self.path, self.headers, body)
            except Exception:
                _logger.exception("%s %s failed", self.command, self.path)
                response = error_response(
                    ApiError(
                        HTTPStatus.INTERNAL_SERVER_ERROR,
                        "server_error",
                        "internal error",
                    )
                )
        self._write(response)
        if not app.quiet:
            _logger.info(
                "%s %s %d %.1fms",
                self.command,
                self.path,
                response.status,
                (time.perf_counter() - started) * 1000,
            )

    def _read_body(self):
        if self.headers.get("Transfer-Encoding"):
            raise ApiError(
                HTTPStatus.LENGTH_REQUIRED, "length_required", "send a Content-Length"
            )
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError as error:
            raise validation.invalid("invalid Content-Length") from error
        if length > MAX_BODY:
            raise ApiError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                "too_large",
                f"body larger than {MAX_BODY} bytes",
            )
        return self.rfile.read(length) if length > 0 else b""

    def _write(self, response):
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError) as error:
            # The client gave up (e.g. on a timeout fault).
            self.close_connection = True
            _logger.debug("client went away: %s", error)

    def log_message(self, format, *args):
        _logger.debug(format, *args)
