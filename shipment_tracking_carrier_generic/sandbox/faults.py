# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Settings of the sandbox and the faults it injects into ``/v1`` calls.

Random faults come from a ``random.Random(seed)``: the same seed and the same
sequence of requests give the same faults.
"""

import math
import random
import threading
import time
from http import HTTPStatus

from .scenarios import SCENARIOS
from .validation import ApiError


def _number(minimum=0.0, maximum=math.inf):
    def check(value):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("must be a number")
        if not (math.isfinite(value) and minimum <= value <= maximum):
            bounds = (
                f">= {minimum}" if maximum == math.inf else f"in [{minimum}, {maximum}]"
            )
            raise ValueError(f"must be a number {bounds}")
        return value

    return check


def _count(value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("must be an integer >= 0")
    return value


def _text(value):
    if not isinstance(value, str) or not value:
        raise ValueError("must be a non-empty string")
    return value


def _optional(check):
    def optional(value):
        return None if value is None else check(value)

    return optional


def _url(value):
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise ValueError("must be an http(s) URL")
    return value


def _rate_limit(value):
    # 0 or null: no limit
    return _number(0.0)(value) or None


FAULTS = {
    "latency_ms": (0, _number()),
    "error_rate": (0.0, _number(0.0, 1.0)),
    "malformed_rate": (0.0, _number(0.0, 1.0)),
    "timeout_rate": (0.0, _number(0.0, 1.0)),
    "timeout_seconds": (5, _number()),
    "throttle_next": (0, _count),
    "fail_next": (0, _count),
    "malformed_next": (0, _count),
    "wrong_shape_next": (0, _count),
    "timeout_next": (0, _count),
    "seed": (0, _count),
}


def _scenario(value):
    if value not in SCENARIOS:
        raise ValueError(f"must be one of {', '.join(SCENARIOS)}")
    return value


SETTINGS = {
    "api_key": _text,
    # Scenario of the next bookings that do not ask for one (null: by hash).
    "scenario": _optional(_scenario),
    "webhook_url": _optional(_url),
    "webhook_secret": _optional(_text),
    "rate_limit": _optional(_rate_limit),
}


def validate(changes):
    """Checked copy of ``changes`` to the configuration, or ApiError (400)."""
    result = {}
    for key, value in changes.items():
        check = SETTINGS.get(key) or FAULTS.get(key, (None, None))[1]
        if check is None:
            known = ", ".join(sorted([*SETTINGS, *FAULTS]))
            raise ApiError(
                HTTPStatus.BAD_REQUEST,
                "invalid_request",
                f"unknown setting {key!r}; known: {known}",
            )
        try:
            result[key] = check(value)
        except ValueError as error:
            raise ApiError(
                HTTPStatus.BAD_REQUEST, "invalid_request", f"{key} {error}"
            ) from error
    return result


class FaultInjector:
    """Decides, request by request, which fault (if any) a ``/v1`` call gets."""

    def __init__(self, rate_limit=None):
        self._lock = threading.Lock()
        self.reset(rate_limit)

    def reset(self, rate_limit=None):
        with self._lock:
            self.settings = {key: default for key, (default, _c) in FAULTS.items()}
            self.rate_limit = rate_limit
            self._random = random.Random(0)
            self._buckets = {}

    def configure(self, changes):
        """Apply validated fault settings (and ``rate_limit``)."""
        with self._lock:
            for key, value in changes.items():
                if key == "rate_limit":
                    self.rate_limit = value
                    self._buckets = {}
                elif key in FAULTS:
                    self.settings[key] = value
            if "seed" in changes:
                self._random = random.Random(changes["seed"])

    def throttle(self, api_key):
        """Token bucket per API key; ApiError 429 when it is empty."""
        with self._lock:
            rate = self.rate_limit
            if not rate:
                return
            now = time.monotonic()
            capacity = max(1.0, rate)
            tokens, last = self._buckets.get(api_key, (capacity, now))
            tokens = min(capacity, tokens + (now - last) * rate)
            if tokens >= 1:
                self._buckets[api_key] = (tokens - 1, now)
                return
            self._buckets[api_key] = (tokens, now)
            retry_after = max(1, math.ceil((1 - tokens) / rate))
        raise too_many_requests(retry_after, "rate limit exceeded")

    def _take(self, key):
        if self.settings[key] > 0:
            self.settings[key] -= 1
            return True
        return False

    def decide(self):
        """Return (fault, latency seconds, timeout seconds) for the next call.

        ``fault`` is None, or an ApiError to answer instead of the call, or
        ``"malformed"`` (cut JSON) / ``"wrong_shape"`` (valid JSON, not what the
        API documents) / ``"timeout"`` to spoil the answer once computed.
        """
        with self._lock:
            settings = self.settings
            draws = [self._random.random() for _i in range(3)]
            latency = settings["latency_ms"] / 1000
            timeout = settings["timeout_seconds"]
            if self._take("throttle_next"):
                fault = too_many_requests(1, "throttled (throttle_next)")
            elif self._take("fail_next"):
                fault = unavailable("forced failure (fail_next)")
            elif self._take("malformed_next"):
                fault = "malformed"
            elif self._take("wrong_shape_next"):
                fault = "wrong_shape"
            elif self._take("timeout_next"):
                fault = "timeout"
            elif draws[0] < settings["error_rate"]:
                fault = self._random_error()
            elif draws[1] < settings["malformed_rate"]:
                fault = "malformed"
            elif draws[2] < settings["timeout_rate"]:
                fault = "timeout"
            else:
                fault = None
            return fault, latency, timeout

    def _random_error(self):
        if self._random.random() < 0.5:
            return ApiError(
                HTTPStatus.INTERNAL_SERVER_ERROR, "server_error", "injected error"
            )
        return unavailable("injected error")


def too_many_requests(retry_after, message):
    return ApiError(
        HTTPStatus.TOO_MANY_REQUESTS,
        "rate_limited",
        message,
        headers={"Retry-After": str(retry_after)},
    )


def unavailable(message):
    return ApiError(HTTPStatus.SERVICE_UNAVAILABLE, "unavailable", message)
