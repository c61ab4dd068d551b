# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Webhook pushes (carrier to receiver), in order, from one background thread."""

import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone

from .scenarios import format_datetime
from .signing import sign

_logger = logging.getLogger(__name__)

ATTEMPTS = 3
BACKOFF = 0.2  # seconds, doubled after each failed attempt
TIMEOUT = 5
MAX_EVENTS_PER_PUSH = 100
# Answers worth trying again; others (e.g. 401 bad signature) will not change.
RETRY_STATUSES = {408, 429}
_STOP = object()


class WebhookSender:
    """Queue of pushes delivered by a daemon thread; keeps a log of results."""

    def __init__(self):
        self._queue = queue.Queue()
        self._lock = threading.Condition()
        self._log = []
        self._pending = 0
        self._generation = 0
        self._thread = None
        # The sandbox talks to the receiver directly, whatever the proxy settings.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def start(self):
        self._thread = threading.Thread(
            target=self._run, name="sandbox-carrier-webhooks", daemon=True
        )
        self._thread.start()

    def stop(self, timeout=5):
        if self._thread:
            self._queue.put(_STOP)
            self._thread.join(timeout)
            self._thread = None

    def push(self, url, secret, events):
        """Queue ``events`` for ``url``, by chunks of MAX_EVENTS_PER_PUSH."""
        with self._lock:
            for start in range(0, len(events), MAX_EVENTS_PER_PUSH):
                chunk = events[start : start + MAX_EVENTS_PER_PUSH]
                self._pending += 1
                self._queue.put((self._generation, url, secret, chunk))

    def log(self):
        """One entry per push: url, status (None: no answer), events, attempts."""
        with self._lock:
            return list(self._log)

    def clear(self):
        """Forget the log; pushes still queued are dropped."""
        with self._lock:
            self._generation += 1
            self._log = []

    def wait(self, timeout=10):
        """Wait until every queued push is done; tell whether it was."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._pending, timeout)

    def _run(self):
        while True:
            job = self._queue.get()
            if job is _STOP:
                return
            generation, url, secret, events = job
            try:
                if generation == self._generation:
                    entry = self._deliver(url, secret, events)
                    with self._lock:
                        if generation == self._generation:
                            self._log.append(entry)
            finally:
                with self._lock:
                    self._pending -= 1
                    self._lock.notify_all()

    def _deliver(self, url, secret, events):
        sent_at = format_datetime(datetime.now(timezone.utc))
        payload = {"type": "tracking.updated", "sent_at": sent_at, "events": events}
        body = json.dumps(payload).encode()
        status, error = None, None
        for attempt in range(1, ATTEMPTS + 1):
            status, error = self._post(url, secret, body)
            if status and status < 500 and status not in RETRY_STATUSES:
                break
            if attempt < ATTEMPTS:
                time.sleep(BACKOFF * 2 ** (attempt - 1))
        level = logging.INFO if status and 200 <= status < 300 else logging.WARNING
        _logger.log(
            level,
            "webhook %s: %d events, status %s after %d attempts%s",
            url,
            len(events),
            status,
            attempt,
            f" ({error})" if error else "",
        )
        return {
            "url": url,
            "status": status,
            "events": events,
            "attempts": attempt,
            "error": error,
            "sent_at": sent_at,
        }

    def _post(self, url, secret, body):
        """One attempt; return (status or None, error text or None)."""
        # Real time, not the sandbox clock: the receiver's replay window needs it.
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Shipment-Timestamp": timestamp,
        }
        if secret:
            headers["X-Shipment-Signature"] = sign(secret, timestamp, body)
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with self._opener.open(request, timeout=TIMEOUT) as response:
                return response.status, None
        except urllib.error.HTTPError as error:
            error.close()
            return error.code, None
        except OSError as error:
            # URLError, refused connection, timeout: no answer
            return None, str(error)
