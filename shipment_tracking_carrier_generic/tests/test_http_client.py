# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The carrier client's HTTP plumbing: one session per carrier and process,
urllib3's retries with the carrier's waits, and the rate limit shared by
every process through PostgreSQL. Requests, connections, waits and slots are
counted; no test measures time."""

import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import formatdate
from unittest.mock import patch

from freezegun import freeze_time

from odoo import sql_db
from odoo.exceptions import ValidationError
from odoo.tests import TransactionCase, tagged

from ..models import generic_rate_limiter
from ..models.generic_rate_limiter import (
    MAX_RATE_WAIT,
    TABLE,
    GenericRateLimiter,
    reserve_slot,
)
from ..models.generic_request import (
    MAX_RETRY_AFTER,
    MAX_SESSIONS,
    SESSIONS,
    CarrierRetry,
    GenericCarrierClient,
    GenericCarrierError,
    carrier_session,
    rate_limit_key,
)
from ..sandbox.testing import SandboxRequests
from .common import API_KEY, SandboxCarrierMixin
from .test_carrier_answers import HostileCarrier, _json


def _raw(status, body):
    def answer(handler):
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return answer


class RecordedWaits:
    """The waits CarrierRetry would sleep, recorded instead of slept."""

    def __enter__(self):
        self.waits = []
        self._patch = patch.object(
            CarrierRetry, "_sleep", staticmethod(self.waits.append)
        )
        self._patch.start()
        return self.waits

    def __exit__(self, *exc_info):
        self._patch.stop()


@tagged("post_install", "-at_install")
class TestCarrierSession(SandboxCarrierMixin, TransactionCase):
    def _use_key(self, key):
        self.sandbox.configure(api_key=key)
        self.generic.generic_api_key = key

    def test_one_session_per_carrier_reused_across_calls(self):
        # A key no earlier test used: its session starts without connections.
        self._use_key("session-reuse-key")
        before = self.sandbox.connections
        with SandboxRequests(self.sandbox) as seen:
            for _i in range(3):
                self.generic.action_generic_test_connection()
            self.generic._generic_get_tracking_batch(["SBX1"])
        self.assertEqual(len(seen.calls), 4)
        self.assertEqual(self.sandbox.connections - before, 1)
        self.assertIs(
            self.generic._generic_client().session,
            self.generic._generic_client().session,
        )

    def test_changed_key_or_url_gives_a_new_session(self):
        first = self.generic._generic_client().session
        self._use_key("session-new-key")
        second = self.generic._generic_client().session
        self.assertIsNot(second, first)
        before = self.sandbox.connections
        self.generic.action_generic_test_connection()
        self.assertEqual(self.sandbox.connections - before, 1)
        self.assertEqual(second.headers["Authorization"], "Bearer session-new-key")
        self.generic.generic_base_url = self.sandbox.url.replace(
            "127.0.0.1", "localhost"
        )
        self.assertIsNot(self.generic._generic_client().session, second)
        self._use_key(API_KEY)
        self.generic.generic_base_url = self.sandbox.url
        self.assertIs(self.generic._generic_client().session, first)

    def test_sessions_are_bounded(self):
        for index in range(MAX_SESSIONS + 5):
            carrier_session(f"http://127.0.0.1:9/{index}", "bounded-key")
        self.assertLessEqual(len(SESSIONS), MAX_SESSIONS)

    def test_an_evicted_session_is_not_closed(self):
        """Another thread may be in a call on a session the cache drops: its
        connection pool stays open (a closed one fails that call)."""
        session = carrier_session("http://127.0.0.1:9/evicted", "evicted-key")
        pool = session.get_adapter("http://127.0.0.1:9").poolmanager
        pool = pool.connection_from_url("http://127.0.0.1:9/evicted")
        for index in range(MAX_SESSIONS + 1):
            carrier_session(f"http://127.0.0.1:9/evict-{index}", "evicted-key")
        self.assertIsNot(
            carrier_session("http://127.0.0.1:9/evicted", "evicted-key"), session
        )
        self.assertIsNotNone(pool.pool)
        self.assertIs(
            session.get_adapter("http://127.0.0.1:9").poolmanager.connection_from_url(
                "http://127.0.0.1:9/evicted"
            ),
            pool,
        )

    def test_rate_limit_bounds(self):
        carrier = self.generic.with_user(self.user_logistics)
        for rate in (1e-15, 1e-13, 0.0166, 1000.5, 1e9):
            with (
                self.subTest(rate=rate),
                self.assertRaisesRegex(ValidationError, "rate limit"),
            ):
                carrier.write({"generic_rate_limit": rate})
        for rate in (0, 1 / 60, 0.0167, 1, 1000):
            carrier.write({"generic_rate_limit": rate})
            self.assertEqual(carrier.generic_rate_limit, rate)

    def test_booking_retried_after_a_lost_answer_books_once(self):
        """The protocol makes booking idempotent on its reference: the
        retry after a read timeout gets the first booking back."""
        # Odoo's test mode raises every HTTP timeout to 10 s: answer later.
        self.sandbox.configure(timeout_next=1, timeout_seconds=10.5)
        self.generic.write({"generic_timeout": 1, "generic_max_retries": 1})
        created, book = [], self.sandbox.state.book

        def recording_book(request):
            result = book(request)
            created.append(result[0])
            return result

        with (
            patch.object(self.sandbox.state, "book", recording_book),
            RecordedWaits(),
        ):
            picking = self._booked()
        self.assertEqual(created, [True, False])
        self.assertEqual(picking.shipment_state, "dispatched")


@tagged("post_install", "-at_install")
class TestCarrierRetry(TransactionCase):
    """urllib3's Retry on the carrier's session, against a loopback server
    answering what each test queues."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.hostile = HostileCarrier()
        cls.addClassCleanup(cls.hostile.stop)

    def _client(self, **kwargs):
        options = {"timeout": 2, "max_retries": 3, "backoff": 0.5, **kwargs}
        return GenericCarrierClient(self.hostile.url, "retry-key", **options)

    def test_retry_after_in_seconds(self):
        self.hostile.queue(
            _json(429, {}, {"Retry-After": "3"}), _json(200, {"carrier": "ok"})
        )
        with RecordedWaits() as waits:
            self.assertEqual(self._client().ping(), {"carrier": "ok"})
        self.assertEqual(waits, [3.0])
        self.assertEqual(len(self.hostile.paths), 2)

    def test_retry_after_as_an_http_date(self):
        with freeze_time("2026-11-30 12:00:00"), RecordedWaits() as waits:
            self.hostile.queue(
                _json(
                    503, {}, {"Retry-After": formatdate(time.time() + 10, usegmt=True)}
                ),
                _json(200, {"carrier": "ok"}),
            )
            self.assertEqual(self._client().ping(), {"carrier": "ok"})
        self.assertEqual(waits, [10.0])
        self.assertEqual(len(self.hostile.paths), 2)

    def test_long_waits_are_capped(self):
        self.hostile.queue(
            _json(429, {}, {"Retry-After": "86400"}),
            _json(503, {}),
            _json(200, {}),
        )
        with RecordedWaits() as waits:
            self._client(backoff=60).ping()
        self.assertEqual(waits, [MAX_RETRY_AFTER, MAX_RETRY_AFTER])

    def test_backoff_doubles_then_the_last_answer_is_the_error(self):
        self.hostile.queue(*[_json(503, {}) for _i in range(4)])
        with RecordedWaits() as waits:
            with self.assertRaisesRegex(GenericCarrierError, "carrier error 503"):
                self._client().ping()
        self.assertEqual(waits, [0.5, 1.0, 2.0])
        self.assertEqual(len(self.hostile.paths), 4)

    def test_what_is_retried(self):
        calls = {
            "ping": (),
            "rate": ({"reference": "R"},),
            "tracking_batch": (["SBX1"],),
            "create_shipment": ({"reference": "R"},),
            "cancel_shipment": ("shp_1",),
        }
        for status in (429, 500, 502, 503, 504):
            for name, args in calls.items():
                with self.subTest(status=status, call=name), RecordedWaits():
                    self.hostile.queue(_json(status, {}), _json(200, {}))
                    getattr(self._client(), name)(*args)
                    self.assertEqual(len(self.hostile.paths), 2)
        for status in (400, 401, 404, 409, 422):
            with self.subTest(status=status), RecordedWaits():
                self.hostile.queue(_json(status, {}), _json(200, {}))
                with self.assertRaises(GenericCarrierError):
                    self._client().create_shipment({"reference": "R"})
                self.assertEqual(len(self.hostile.paths), 1)

    def test_only_the_configured_statuses_are_retried(self):
        """urllib3 retries a 413 with a Retry-After (for POST too): not
        here, only 429 and 5xx are."""
        for status in (413, 429, 503):
            retry = self._client().session.get_adapter(self.hostile.url).max_retries
            self.assertEqual(
                retry.is_retry("POST", status, has_retry_after=True), status != 413
            )
        self.hostile.queue(_json(413, {}, {"Retry-After": "1"}), _json(200, {}))
        with RecordedWaits() as waits, self.assertRaises(GenericCarrierError):
            self._client().create_shipment({"reference": "R"})
        self.assertEqual(len(self.hostile.paths), 1)
        self.assertEqual(waits, [])

    def test_other_methods_are_not_retried(self):
        """Only the protocol's methods (GET, POST: reads or idempotent) are
        retried: a call with any other method would not be."""
        retry = self._client().session.get_adapter(self.hostile.url).max_retries
        self.assertIsInstance(retry, CarrierRetry)
        self.assertTrue(retry.is_retry("POST", 503))
        for method in ("PUT", "PATCH", "DELETE"):
            self.assertFalse(retry.is_retry(method, 503))

    def test_a_retried_answer_is_not_read(self):
        """urllib3 reads a retried answer whole, in memory and without a
        deadline, to reuse its connection: the connection is dropped instead
        (the carrier's writes fail)."""
        size, hung_up, done = 32 * 1024 * 1024, [], threading.Event()

        def big_503(handler):
            handler.send_response(503)
            handler.send_header("Content-Length", str(size))
            handler.end_headers()
            chunk = b" " * (64 * 1024)
            try:
                for _i in range(size // len(chunk)):
                    handler.wfile.write(chunk)
            except OSError:
                hung_up.append(True)
            finally:
                done.set()

        self.hostile.queue(big_503, _json(200, {"carrier": "ok"}))
        with RecordedWaits():
            self.assertEqual(self._client().ping(), {"carrier": "ok"})
        self.assertTrue(done.wait(30))
        self.assertEqual(hung_up, [True])

    def test_malformed_json_is_not_retried(self):
        self.hostile.queue(_raw(200, b'{"carrier": "cut'), _json(200, {}))
        with RecordedWaits(), self.assertRaisesRegex(GenericCarrierError, "malformed"):
            self._client().ping()
        self.assertEqual(len(self.hostile.paths), 1)

    def test_connection_errors_are_retried(self):
        client = GenericCarrierClient(
            "http://127.0.0.1:9", "retry-key", timeout=2, max_retries=2, backoff=0.5
        )
        with RecordedWaits() as waits:
            with self.assertRaisesRegex(GenericCarrierError, "cannot connect"):
                client.ping()
        self.assertEqual(waits, [0.5, 1.0])


@tagged("post_install", "-at_install")
class TestRateLimiter(TransactionCase):
    """The slots table, through connections of their own as separate
    workers would hold (each reservation is committed, as in production)."""

    NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)

    def setUp(self):
        super().setUp()
        self.key = f"test-{self._testMethodName}"
        self.addCleanup(self._drop_key)

    def _cursor(self):
        cr = sql_db.db_connect(self.env.cr.dbname).cursor()
        self.addCleanup(cr.close)
        return cr

    def _drop_key(self):
        with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
            cr.execute(f"DELETE FROM {TABLE} WHERE key = %s", [self.key])

    def _reserve(self, cr, rate=5, now=None):
        slot, wait = reserve_slot(cr, self.key, rate, now=now or self.NOW)
        # A side connection, as the limiter's: commit as it does.
        cr.commit()  # pylint: disable=invalid-commit
        return slot, wait

    def test_two_connections_share_the_spacing(self):
        first, second = self._cursor(), self._cursor()
        slots = [self._reserve(cr) for cr in (first, second, first, second)]
        step = timedelta(seconds=0.2)
        self.assertEqual(
            slots,
            [(self.NOW + i * step, round(i * 0.2, 6)) for i in range(4)],
        )

    def test_concurrent_workers_get_distinct_slots(self):
        slots, errors = [], []

        def worker():
            cr = self._cursor()
            try:
                for _i in range(10):
                    slots.append(self._reserve(cr)[0])
            except Exception as error:  # reported by the assertion below
                errors.append(error)

        threads = [threading.Thread(target=worker) for _i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(errors, [])
        self.assertEqual(
            sorted(slots),
            [self.NOW + i * timedelta(seconds=0.2) for i in range(20)],
        )

    def test_slot_in_the_past_starts_from_now(self):
        cr = self._cursor()
        self._reserve(cr)
        later = self.NOW + timedelta(days=1)
        self.assertEqual(self._reserve(cr, now=later), (later, 0.0))

    def test_slot_beyond_the_longest_wait_is_refused(self):
        cr = self._cursor()
        # One request every 10 s: slots 0, 10, ..., 60 s ahead.
        waits = [self._reserve(cr, rate=0.1)[1] for _i in range(7)]
        self.assertEqual(waits, [10.0 * i for i in range(7)])
        with self.assertRaisesRegex(GenericCarrierError, "rate limit"):
            self._reserve(cr, rate=0.1)
        cr.rollback()
        cr.execute(f"SELECT next_slot FROM {TABLE} WHERE key = %s", [self.key])
        self.assertEqual(cr.fetchone()[0], self.NOW + timedelta(seconds=70))

    def _set_row(self, next_slot):
        with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
            cr.execute(
                f"INSERT INTO {TABLE} (key, next_slot) VALUES (%s, %s)"
                " ON CONFLICT (key) DO UPDATE SET next_slot = excluded.next_slot",
                [self.key, next_slot],
            )

    def test_rates_out_of_bounds_are_clamped(self):
        """A rate below one a minute is one a minute (a tinier one would
        overflow timestamps), above 1000/s is 1000/s: no other error than
        GenericCarrierError."""
        cr = self._cursor()
        minute = timedelta(seconds=60)
        self.assertEqual(self._reserve(cr, rate=1e-15), (self.NOW, 0.0))
        self.assertEqual(self._reserve(cr, rate=1e-13), (self.NOW + minute, 60.0))
        with self.assertRaisesRegex(GenericCarrierError, "rate limit"):
            self._reserve(cr, rate=1e-300)
        cr.rollback()
        self._drop_key()
        slots = [self._reserve(cr, rate=1e9)[0] for _i in range(2)]
        self.assertEqual(slots, [self.NOW, self.NOW + timedelta(milliseconds=1)])
        limiter = GenericRateLimiter.for_database(self.env.cr.dbname)
        for rate in (float("nan"), "fast"):
            with self.subTest(rate=rate), self.assertRaises(GenericCarrierError):
                limiter(self.key, rate)

    def test_clock_stepped_back_restarts_from_now(self):
        """A row further ahead than a reservation can leave it (max_wait +
        one step, plus a margin of max_wait) was left by a clock since
        stepped back: it restarts from now instead of refusing every
        request until real time catches up."""
        cr = self._cursor()
        self._set_row(self.NOW + timedelta(days=1))
        self.assertEqual(self._reserve(cr, rate=5), (self.NOW, 0.0))
        self.assertEqual(
            self._reserve(cr, rate=5), (self.NOW + timedelta(seconds=0.2), 0.2)
        )
        # Queued past the longest wait, as many workers at once can leave
        # it: still refused.
        self._set_row(self.NOW + timedelta(seconds=MAX_RATE_WAIT + 1))
        with self.assertRaisesRegex(GenericCarrierError, "rate limit"):
            self._reserve(cr, rate=5)
        cr.rollback()
        self._set_row(self.NOW + timedelta(seconds=2 * MAX_RATE_WAIT + 0.1))
        with self.assertRaisesRegex(GenericCarrierError, "rate limit"):
            self._reserve(cr, rate=5)
        cr.rollback()
        self._set_row(self.NOW + timedelta(seconds=2 * MAX_RATE_WAIT + 0.3))
        self.assertEqual(self._reserve(cr, rate=5), (self.NOW, 0.0))

    def test_every_request_of_a_carrier_takes_a_slot(self):
        sandbox = HostileCarrier()
        self.addCleanup(sandbox.stop)
        carrier = self.env["delivery.carrier"].create(
            {
                "name": "Limited",
                "delivery_type": "generic",
                "product_id": self.env["product.product"]
                .create({"name": "Limited delivery", "type": "service"})
                .id,
                "generic_base_url": sandbox.url,
                "generic_api_key": "limited-key",
                "generic_rate_limit": 5,
                "generic_max_retries": 1,
                "generic_retry_backoff": 0,
            }
        )
        self.key = rate_limit_key(sandbox.url, "limited-key")
        sandbox.queue(_json(200, {}), _json(503, {}), _json(200, {}))
        taken = []

        def spy(cr, key, rate, **kwargs):
            taken.append((key, rate))
            return reserve_slot(cr, key, rate, **kwargs)

        with (
            patch.object(generic_rate_limiter, "reserve_slot", spy),
            patch.object(GenericRateLimiter, "_sleep", staticmethod(lambda s: None)),
            RecordedWaits(),
        ):
            carrier._generic_call("ping")
            # A retry takes its own slot.
            carrier._generic_call("ping")
        self.assertEqual(taken, [(self.key, 5.0)] * 3)
        self.assertEqual(len(sandbox.paths), 3)
