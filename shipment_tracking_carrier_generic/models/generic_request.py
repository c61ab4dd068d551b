# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""HTTP client of our JSON carrier protocol (api/openapi.yaml).

A plain class: one method per remote call, always with a timeout, plain data
back, GenericCarrierError on any failure. Its HTTP session is shared by every
client of the same carrier settings in the process (keep-alive connections
reused, see ``carrier_session``); retries are urllib3's ``Retry`` mounted on
that session: connection errors, read timeouts, 429 and 5xx, waiting as the
carrier's ``Retry-After`` says (seconds or an HTTP date, capped) or with a
doubling backoff. Requests are spaced to the carrier's rate limit by a limiter
the caller injects (the models inject one shared by every process, see
generic_rate_limiter.py).

What a retry cannot fix is not retried: an answer whose body is not JSON, or
is cut off after its headers, fails the call at once (a carrier bug, or the
polling's next run tries again, and booking again is idempotent)."""

import base64
import binascii
import hashlib
import json
import logging
import math
import os
import socket
import threading
import time
from collections import OrderedDict
from datetime import date
from email.utils import parsedate_to_datetime
from http.cookiejar import DefaultCookiePolicy
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

_logger = logging.getLogger(__name__)

MAX_RETRY_AFTER = 30.0
# Largest answer read from the carrier, decoded (a gzip bomb counts unpacked).
# Booking answers carry the label PDF in base64: 10 MiB leaves room for a
# multi-parcel label set while a hostile answer cannot exhaust a worker.
MAX_RESPONSE_BYTES = 10 * 1024 * 1024
# requests' timeout bounds each read only; an answer's body must arrive
# within timeout x this factor of its headers, so a trickling body cannot
# stall a cron worker.
DEADLINE_FACTOR = 3
CHUNK_SIZE = 64 * 1024
MAX_ERROR_MESSAGE = 500
# Answers worth another try. 500 too: the protocol asks clients to retry it.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Every call of the protocol may be sent twice: GET and POST /v1/rates and
# /v1/tracking/batch only read, booking is idempotent on its ``reference``
# (the first booking comes back, 200) and cancelling twice answers 200 again
# (api/openapi.yaml). A call that is none of these must not use these sessions.
RETRY_METHODS = frozenset({"GET", "POST"})
# Carrier settings whose sessions a process keeps (least recently used out).
MAX_SESSIONS = 32
# Keep-alive connections kept per carrier and process (threaded server).
POOL_SIZE = 8


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
    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


class CarrierRetry(Retry):
    """urllib3's retry policy with the carrier's waits.

    urllib3 decides what is retried (methods, statuses, error kinds) and
    counts the attempts; this class only changes how long to wait: the
    ``Retry-After`` header as parse_retry_after reads it (urllib3 would sleep
    whatever a carrier asks, and fails on non-integer values), else the
    backoff doubling from its first retry, both at most MAX_RETRY_AFTER; then
    the next request waits for its rate-limit slot (``throttle``)."""

    # The sleep, replaced in tests to record the waits.
    _sleep = staticmethod(time.sleep)

    def __init__(self, *args, throttle=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.throttle = throttle

    def is_retry(self, method, status_code, has_retry_after=False):
        """Only the configured statuses: urllib3 would also retry a 413 (and
        any of its RETRY_AFTER_STATUS_CODES) that carries a Retry-After,
        whatever the method."""
        return bool(
            self._is_method_retryable(method)
            and self.status_forcelist
            and status_code in self.status_forcelist
        )

    def new(self, **kwargs):
        retry = super().new(**kwargs)
        retry.throttle = self.throttle
        return retry

    def increment(self, method=None, url=None, response=None, *args, **kwargs):
        # Exhausted: MaxRetryError, and the caller gets ``response`` unread.
        retry = super().increment(method, url, response, *args, **kwargs)
        if response is not None:
            # urllib3 would read the whole answer (in memory, without a
            # deadline) to keep the connection: drop the connection instead.
            response.close()
        return retry

    def get_backoff_time(self):
        # No redirect is followed (requests' adapter): history holds errors.
        errors = len(self.history)
        if not errors:
            return 0.0
        return _clamp(self.backoff_factor * 2 ** (errors - 1), MAX_RETRY_AFTER)

    def sleep(self, response=None):
        delay = None
        if response is not None and self.respect_retry_after_header:
            delay = parse_retry_after(response.headers.get("Retry-After"))
        if delay is None:
            delay = self.get_backoff_time()
        last = self.history[-1] if self.history else None
        _logger.info(
            "carrier %s %s failed (%s), retry %s in %.1fs",
            last and last.method,
            last and last.url,
            last and (last.status or last.error),
            len(self.history),
            delay,
        )
        if delay > 0:
            self._sleep(delay)
        if self.throttle:
            self.throttle()


class _SessionCache:
    """Process-wide HTTP sessions by what they depend on, least recently used
    dropped beyond ``size``. Sessions are made before being shared and never
    changed after, so threads may use one together (urllib3's pool is
    thread-safe). A dropped session is not closed: another thread may be
    in a call on it (a closed pool fails that call); its connections close
    when the last user lets go of it (garbage collection)."""

    def __init__(self, size):
        self.size = size
        self._forget()
        # A forked worker must not share its parent's sockets.
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self):
        self._lock = threading.Lock()
        self._sessions = OrderedDict()

    def get(self, key, build):
        with self._lock:
            session = self._sessions.pop(key, None) or build()
            self._sessions[key] = session
            while len(self._sessions) > self.size:
                self._sessions.popitem(last=False)
        return session

    def clear(self):
        """Forget every session (not closed, as when dropped)."""
        with self._lock:
            self._sessions = OrderedDict()

    def __len__(self):
        return len(self._sessions)


SESSIONS = _SessionCache(MAX_SESSIONS)


def _new_session(api_key, retry):
    session = requests.Session()
    session.headers.update(
        {
            "Authorization": f"Bearer {api_key}",
            "Accept": "application/json",
            "User-Agent": "odoo-shipment-tracking/18.0",
        }
    )
    # Stateless calls, as with a session per call: a carrier's cookies are
    # neither kept nor sent back (nor shared between threads).
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    adapter = HTTPAdapter(max_retries=retry, pool_connections=1, pool_maxsize=POOL_SIZE)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def carrier_session(
    base_url, api_key, max_retries=3, backoff=0.5, limiter=None, rate_limit=0.0
):
    """The process's session for these carrier settings: the same one for
    the same settings, a new one when any changes (another URL or key)."""
    key = (base_url, api_key, max_retries, backoff, limiter, rate_limit)

    def build():
        throttle = None
        if limiter and rate_limit and rate_limit > 0:
            slot_key = rate_limit_key(base_url, api_key)

            def throttle():
                limiter(slot_key, rate_limit)

        retry = CarrierRetry(
            total=max_retries,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=RETRY_METHODS,
            backoff_factor=backoff,
            # After the last retry, the answer itself (e.g. the 503) is
            # returned and read as any other.
            raise_on_status=False,
            throttle=throttle,
        )
        return _new_session(api_key, retry)

    return SESSIONS.get(key, build)


def rate_limit_key(base_url, api_key):
    """What a carrier's rate limit counts by: its endpoint and account (as a
    digest: the limiter may store it)."""
    return hashlib.sha256(f"{base_url}|{api_key}".encode()).hexdigest()


class GenericCarrierClient:
    """``limiter(key, rate)``: blocks until a request of ``key`` may go at
    ``rate`` requests per second (see generic_rate_limiter.py); without one
    requests are not spaced."""

    def __init__(
        self,
        base_url,
        api_key,
        timeout=10.0,
        max_retries=3,
        backoff=0.5,
        rate_limit=0.0,
        log=None,
        limiter=None,
    ):
        self.base_url = (base_url or "").rstrip("/")
        self.api_key = api_key or ""
        self.timeout = timeout
        self.max_retries = max(0, max_retries)
        self.backoff = backoff
        self.rate_limit = rate_limit
        self.log = log
        self.limiter = limiter
        self.session = carrier_session(
            self.base_url,
            self.api_key,
            max_retries=self.max_retries,
            backoff=self.backoff,
            limiter=limiter,
            rate_limit=rate_limit,
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
        if self.limiter and self.rate_limit and self.rate_limit > 0:
            self.limiter(rate_limit_key(self.base_url, self.api_key), self.rate_limit)
        self._log("request", f"{method} {url}", payload)
        try:
            # stream: the body is read below, under a size cap and a deadline.
            # No redirects: requests would read a redirect's body whole, and
            # the API key is for the configured host only. Retries happen in
            # here (CarrierRetry).
            response = self.session.request(
                method,
                url,
                json=payload,
                timeout=self.timeout,
                stream=True,
                allow_redirects=False,
            )
        except requests.ConnectionError as error:
            if isinstance(error, requests.Timeout) or _read_timed_out(error):
                raise GenericCarrierError(f"timed out after {self.timeout}s") from error
            raise GenericCarrierError(f"cannot connect to {self.base_url}") from error
        except requests.Timeout as error:
            raise GenericCarrierError(f"timed out after {self.timeout}s") from error
        deadline = time.monotonic() + self.timeout * DEADLINE_FACTOR
        with response:
            body = self._read_body(response, deadline)
        status = response.status_code
        self._log("response", f"{status} {url}", body[:2000].decode("utf-8", "replace"))
        if status == 429:
            raise GenericCarrierError("rate limited by the carrier", status=429)
        if 300 <= status < 400:
            raise GenericCarrierError(
                f"the carrier redirected the request ({status}); set its final "
                "address as the base URL",
                status=status,
            )
        if status >= 500:
            raise GenericCarrierError(f"carrier error {status}", status=status)
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as error:
            # ValueError covers JSONDecodeError and undecodable bytes.
            raise GenericCarrierError(
                "the carrier answered with malformed JSON", status=status
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
            ) from error
        finally:
            watchdog.cancel()
        if expired.is_set():
            raise late
        return b"".join(chunks)

    def _log(self, kind, what, data):
        if self.log:
            self.log(kind, what, data)


def _read_timed_out(error):
    """Whether a requests ConnectionError is a read timeout: once urllib3
    retried, a last read timeout comes wrapped in MaxRetryError."""
    reason = getattr(error.args[0] if error.args else None, "reason", None)
    return isinstance(reason, ReadTimeoutError)
