# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""HTTP client of our JSON carrier protocol (api/openapi.yaml).

A plain class: it holds the session and credentials, makes one method per
remote call, always with a timeout, retries what is worth retrying (timeouts,
connection errors, 5xx, 429 honouring Retry-After, malformed JSON) with
exponential backoff, spaces requests to the carrier's rate limit, returns plain
data and raises GenericCarrierError."""

import json
import logging
import threading
import time
from urllib.parse import quote

import requests

_logger = logging.getLogger(__name__)

MAX_RETRY_AFTER = 30.0
MAX_RATE_WAIT = 60.0


def _quote(value):
    """An id as one URL path segment: '/', '?', '#', '..' cannot reroute."""
    segment = quote(str(value), safe="")
    return segment.replace(".", "%2E") if segment in (".", "..") else segment


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
        return self._request("GET", "/v1/ping")

    def rate(self, shipment):
        return self._request("POST", "/v1/rates", shipment)

    def create_shipment(self, shipment):
        return self._request("POST", "/v1/shipments", shipment)

    def cancel_shipment(self, shipment_id):
        return self._request("POST", f"/v1/shipments/{_quote(shipment_id)}/cancel")

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
        try:
            response = self.session.request(
                method, url, json=payload, timeout=self.timeout
            )
        except requests.Timeout as error:
            raise GenericCarrierError(
                f"timed out after {self.timeout}s", retryable=True
            ) from error
        except requests.ConnectionError as error:
            raise GenericCarrierError(
                f"cannot connect to {self.base_url}", retryable=True
            ) from error
        self._log("response", f"{response.status_code} {url}", response.text[:2000])
        if response.status_code == 429:
            error = GenericCarrierError(
                "rate limited by the carrier", status=429, retryable=True
            )
            error.retry_after = self._retry_after(response)
            raise error
        if response.status_code >= 500:
            raise GenericCarrierError(
                f"carrier error {response.status_code}",
                status=response.status_code,
                retryable=True,
            )
        try:
            data = response.json()
        except (ValueError, json.JSONDecodeError) as error:
            raise GenericCarrierError(
                "the carrier answered with malformed JSON",
                status=response.status_code,
                retryable=True,
            ) from error
        if response.status_code >= 400:
            message = (
                (data.get("error") or {}).get("message")
                if isinstance(data, dict)
                else None
            )
            raise GenericCarrierError(
                message or f"carrier refused the request ({response.status_code})",
                status=response.status_code,
            )
        return data

    @staticmethod
    def _retry_after(response):
        try:
            value = float(response.headers.get("Retry-After", 1))
        except ValueError:
            value = 1.0
        return min(max(value, 0.0), MAX_RETRY_AFTER)

    def _log(self, kind, what, data):
        if self.log:
            self.log(kind, what, data)
