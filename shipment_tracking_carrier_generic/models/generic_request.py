# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""HTTP client of our JSON carrier protocol (api/openapi.yaml).

A plain class: it holds the session and credentials, makes one method per
remote call, always with a timeout, retries what is worth retrying (timeouts,
connection errors, 5xx, 429 honouring Retry-After, malformed JSON) with
exponential backoff, spaces requests to the carrier's rate limit, returns plain
data and raises GenericCarrierError."""

import base64
import binascii
import json
import logging
import math
import socket
import threading
import time
from datetime import date
from email.utils import parsedate_to_datetime
from urllib.parse import quote

import requests

_logger = logging.getLogger(__name__)

MAX_RETRY_AFTER = 30.0
MAX_RATE_WAIT = 60.0
# Largest answer read from the carrier, decoded (a gzip bomb counts unpacked).
# Booking answers carry the label PDF in base64: 10 MiB leaves room for a
# multi-parcel label set while a hostile answer cannot exhaust a worker.
MAX_RESPONSE_BYTES = 10 * 1024 * 1024
# requests' timeout bounds each read only; a whole attempt (connect, headers,
# body) must end within timeout x this factor, so a trickling body cannot
# stall a cron worker.
DEADLINE_FACTOR = 3
CHUNK_SIZE = 64 * 1024
MAX_ERROR_MESSAGE = 500


def _quote(value):
    """An id as one URL path segment: '/', '?', '#', '..' cannot reroute."""
    segment = quote(str(value), safe="")
    return segment.replace(".", "%2E") if segment in (".", "..") else segment


def _clamp(value, cap):
    """``value`` as a float in [0, cap]; 0 when it is no finite number."""
    try:
        value = float(value)
    except (TypeError, ValueError, OverflowError):
        return 0.0
    if math.isnan(value):
        return 0.0
    return min(max(value, 0.0), cap)


def parse_retry_after(value, now=None):
    """A Retry-After header value as seconds in [0, MAX_RETRY_AFTER], or None
    when there is none or it means nothing (nan, text, garbage dates)."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except (ValueError, OverflowError):
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when is None or when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds):
        return None
    return _clamp(seconds, MAX_RETRY_AFTER)


def _error_message(data):
    """The carrier's message in an error answer of any JSON shape, or None:
    ``{"error": {"message": ...}}`` (documented), ``{"error": "..."}``,
    ``{"message": "..."}``; anything else gives None."""
    if not isinstance(data, dict):
        return None
    error = data.get("error")
    message = error.get("message") if isinstance(error, dict) else error
    if not isinstance(message, str):
        message = data.get("message")
    if not isinstance(message, str) or not message.strip():
        return None
    return message.strip()[:MAX_ERROR_MESSAGE]


def _object(answer, what):
    if not isinstance(answer, dict):
        raise GenericCarrierError(f"the carrier's {what} answer is not a JSON object")
    return answer


def _price(answer):
    price = answer.get("price")
    if price is None or price == "":
        return
    try:
        valid = not isinstance(price, bool) and math.isfinite(float(price))
    except (TypeError, ValueError, OverflowError):
        valid = False
    if not valid:
        raise GenericCarrierError("the carrier's price is not a number")


def _check_booking(answer):
    """What the booking code reads from the answer has the documented
    types, so that any other shape is a GenericCarrierError."""

    def bad(field):
        return GenericCarrierError(f"the carrier's booking answer: bad {field}")

    _price(answer)
    if not isinstance(answer.get("shipment_id") or "", str):
        raise bad("shipment_id")
    numbers = answer.get("tracking_numbers") or []
    if not isinstance(numbers, list) or not all(isinstance(n, str) for n in numbers):
        raise bad("tracking_numbers")
    parcels = answer.get("parcels") or []
    if not isinstance(parcels, list):
        raise bad("parcels")
    for parcel in parcels:
        if not isinstance(parcel, dict):
            raise bad("parcels")
        for key in ("tracking_number", "reference"):
            if not isinstance(parcel.get(key) or "", str):
                raise bad(f"parcels.{key}")
    edd = answer.get("estimated_delivery_date")
    if edd:
        try:
            date.fromisoformat(edd[:10] if isinstance(edd, str) else None)
        except (TypeError, ValueError) as error:
            raise bad("estimated_delivery_date") from error
    label = answer.get("label") or {}
    if not isinstance(label, dict):
        raise bad("label")
    content = label.get("content_base64")
    if content:
        try:
            base64.b64decode(content, validate=True)
        except (TypeError, ValueError, binascii.Error) as error:
            raise bad("label") from error


class GenericCarrierError(Exception):
    def __init__(self, message, status=None, retryable=False):
        super().__init__(message)
        self.status = status
        self.retryable = retryable


class _RateLimiter:
    """Spaces requests to at most ``rate`` per second per key, process-wide."""

    _lock = threading.Lock()
    _next_slot = {}

    @classmethod
    def wait(cls, key, rate):
        if not rate or rate <= 0:
            return
        with cls._lock:
            now = time.monotonic()
            slot = cls._next_slot.get(key, 0.0)
            # A slot further ahead than a minute comes from a clock that went
            # back (e.g. a frozen clock released): start again from now rather
            # than sleep for it.
            if not now <= slot <= now + MAX_RATE_WAIT:
                slot = now
            cls._next_slot[key] = slot + 1.0 / rate
        if slot > now:
            time.sleep(slot - now)


class GenericCarrierClient:
    def __init__(
        self,
        base_url,
        api_key,
        timeout=10.0,
        max_retries=3,
        backoff=0.5,
        rate_limit=0.0,
        log=None,
    ):
        self.base_url = (base_url or "").rstrip("/")
        self.api_key = api_key or ""
        self.timeout = timeout
        self.max_retries = max(0, max_retries)
        self.backoff = backoff
        self.rate_limit = rate_limit
        self.log = log
        self.session = requests.Session()
        self.session.headers.update(
            {
                "Authorization": f"Bearer {self.api_key}",
                "Accept": "application/json",
                "User-Agent": "odoo-shipment-tracking/18.0",
            }
        )

    # -- remote calls ------------------------------------------------------
    def ping(self):
        return _object(self._request("GET", "/v1/ping"), "ping")

    def rate(self, shipment):
        answer = _object(self._request("POST", "/v1/rates", shipment), "rate")
        _price(answer)
        return answer

    def create_shipment(self, shipment):
        answer = _object(self._request("POST", "/v1/shipments", shipment), "booking")
        _check_booking(answer)
        return answer

    def cancel_shipment(self, shipment_id):
        return _object(
            self._request("POST", f"/v1/shipments/{_quote(shipment_id)}/cancel"),
            "cancellation",
        )

    def tracking(self, tracking_number):
        return self._request("GET", f"/v1/tracking/{_quote(tracking_number)}")

    def tracking_batch(self, tracking_numbers):
        return self._request(
            "POST", "/v1/tracking/batch", {"tracking_numbers": list(tracking_numbers)}
        )

    # -- plumbing -------------------------------------------------------------
    def _request(self, method, path, payload=None):
        if not self.base_url.startswith(("http://", "https://")):
            raise GenericCarrierError("The carrier's base URL is not set.")
        url = self.base_url + path
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._request_once(method, url, payload)
            except GenericCarrierError as error:
                if not error.retryable or attempt > self.max_retries:
                    raise
                delay = getattr(error, "retry_after", None)
                if delay is None:
                    delay = self.backoff * 2 ** (attempt - 1)
                delay = _clamp(delay, MAX_RETRY_AFTER)
                _logger.info(
                    "carrier %s %s failed (%s), retry %s/%s in %.1fs",
                    method,
                    path,
                    error,
                    attempt,
                    self.max_retries,
                    delay,
                )
                time.sleep(delay)

    def _request_once(self, method, url, payload):
        _RateLimiter.wait(f"{self.base_url}|{self.api_key}", self.rate_limit)
        self._log("request", f"{method} {url}", payload)
        deadline = time.monotonic() + self.timeout * DEADLINE_FACTOR
        try:
            # stream: the body is read below, under a size cap and a deadline.
            # No redirects: requests would read a redirect's body whole, and
            # the API key is for the configured host only.
            response = self.session.request(
                method,
                url,
                json=payload,
                timeout=self.timeout,
                stream=True,
                allow_redirects=False,
            )
        except requests.Timeout as error:
            raise GenericCarrierError(
                f"timed out after {self.timeout}s", retryable=True
            ) from error
        except requests.ConnectionError as error:
            raise GenericCarrierError(
                f"cannot connect to {self.base_url}", retryable=True
            ) from error
        with response:
            body = self._read_body(response, deadline)
        status = response.status_code
        self._log("response", f"{status} {url}", body[:2000].decode("utf-8", "replace"))
        if status == 429:
            error = GenericCarrierError(
                "rate limited by the carrier", status=429, retryable=True
            )
            error.retry_after = self._retry_after(response)
            raise error
        if 300 <= status < 400:
            raise GenericCarrierError(
                f"the carrier redirected the request ({status}); set its final "
                "address as the base URL",
                status=status,
            )
        if status >= 500:
            raise GenericCarrierError(
                f"carrier error {status}", status=status, retryable=True
            )
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as error:
            # ValueError covers JSONDecodeError and undecodable bytes.
            raise GenericCarrierError(
                "the carrier answered with malformed JSON",
                status=status,
                retryable=True,
            ) from error
        if not 200 <= status < 300:
            raise GenericCarrierError(
                _error_message(data) or f"carrier refused the request ({status})",
                status=status,
            )
        return data

    def _read_body(self, response, deadline):
        """The body, at most MAX_RESPONSE_BYTES, read before ``deadline``."""
        status = response.status_code
        declared = response.headers.get("Content-Length", "")
        if declared.strip().isdigit() and int(declared) > MAX_RESPONSE_BYTES:
            raise GenericCarrierError(
                f"the carrier's answer is too large ({int(declared)} bytes, "
                f"at most {MAX_RESPONSE_BYTES})",
                status=status,
            )
        late = GenericCarrierError(
            "the carrier's answer did not arrive in time "
            f"({self.timeout * DEADLINE_FACTOR:g}s)",
            status=status,
        )
        # A read blocks until its whole chunk came or a gap exceeds the
        # timeout: a trickle of bytes would never return. At the deadline, a
        # watchdog shuts the socket down, which ends the read.
        expired = threading.Event()

        def expire():
            expired.set()
            connection = getattr(response.raw, "connection", None)
            sock = getattr(connection, "sock", None)
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError as error:
                    # Already closed: the read has ended anyway.
                    _logger.debug("carrier socket already closed: %s", error)

        watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), expire)
        watchdog.daemon = True
        watchdog.start()
        chunks, size = [], 0
        try:
            for chunk in response.iter_content(CHUNK_SIZE):
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise GenericCarrierError(
                        "the carrier's answer is too large "
                        f"(more than {MAX_RESPONSE_BYTES} bytes)",
                        status=status,
                    )
                if expired.is_set() or time.monotonic() > deadline:
                    raise late
                chunks.append(chunk)
        except requests.RequestException as error:
            if expired.is_set():
                raise late from error
            # A read timeout or a connection cut in the middle of the body.
            raise GenericCarrierError(
                f"the carrier's answer was cut off ({type(error).__name__})",
                status=status,
                retryable=True,
            ) from error
        finally:
            watchdog.cancel()
        if expired.is_set():
            raise late
        return b"".join(chunks)

    @staticmethod
    def _retry_after(response):
        """Seconds to wait from a Retry-After header (delta-seconds or an
        HTTP date), within [0, MAX_RETRY_AFTER]; None (exponential backoff)
        when absent or unusable (nan, text, a date that does not parse)."""
        return parse_retry_after(response.headers.get("Retry-After"))

    def _log(self, kind, what, data):
        if self.log:
            self.log(kind, what, data)
