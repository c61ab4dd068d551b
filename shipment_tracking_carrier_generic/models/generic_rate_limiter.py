# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A carrier's requests-per-second limit held by every process of a database.

Each request takes the next free slot of its carrier in one atomic statement
(a next-slot variant of GCRA, no burst): the row's ``next_slot`` moves one
interval past max(itself, now) and the request waits until the slot it got.
HTTP workers, cron workers and threads of one database thus share the limit.

The statement runs in its own one-statement transaction on a side connection,
never in the caller's transaction: its row lock would otherwise last until
the caller commits (a whole cron batch) and serialise every worker behind it. Times come
from PostgreSQL's clock, the same for every process.

If that clock steps back, a row can be far ahead of the new "now": one
more than CLOCK_JUMP_MARGIN past the farthest a reservation can legitimately
leave it (max_wait + one step) is taken for a clock jump and restarts from
now, instead of refusing every request until real time catches up."""

import logging
import math
import threading
import time
from datetime import timedelta

import psycopg2
from psycopg2 import errors

from odoo import sql_db
from odoo.tools import SQL

from .generic_request import GenericCarrierError

_logger = logging.getLogger(__name__)

TABLE = "shipment_tracking_generic_rate_slot"
# Longest wait for a slot. A request that would wait longer is refused rather
# than sent over the limit: the carrier is that far behind already.
MAX_RATE_WAIT = 60.0
# Rates a carrier may set (requests per second), 0 meaning no limit: at
# least one request a minute (a slower step overflows PostgreSQL's timestamps
# or Python's timedelta), at most 1000/s. The limiter clamps to these too.
MIN_RATE = 1.0 / 60
MAX_RATE = 1000.0
# Clock skew between reservations (each reads clock_timestamp() before
# waiting for the row's lock) tolerated before a row ahead of now counts as
# a clock jump: a row is at most max_wait + step ahead when written, so one
# more than max_wait + step + this margin ahead was written by a clock that
# has since stepped back.
CLOCK_JUMP_MARGIN = MAX_RATE_WAIT


def create_table(cr):
    """The slots table (from ``delivery.carrier.init``, at install and
    upgrade). Keys are digests of a carrier's URL and API key."""
    cr.execute(
        SQL(
            """
            CREATE TABLE IF NOT EXISTS %s (
                key varchar PRIMARY KEY,
                next_slot timestamptz NOT NULL
            )
            """,
            SQL.identifier(TABLE),
        )
    )


def clamp_rate(rate):
    """``rate`` as requests per second within [MIN_RATE, MAX_RATE], or 0.0
    (no limit) when it is not positive; GenericCarrierError when it is no
    number at all (nan, text)."""
    try:
        rate = float(rate or 0.0)
    except (TypeError, ValueError, OverflowError) as error:
        raise GenericCarrierError(f"invalid rate limit {rate!r}") from error
    if math.isnan(rate):
        raise GenericCarrierError("invalid rate limit (nan)")
    if rate <= 0:
        return 0.0
    return min(max(rate, MIN_RATE), MAX_RATE)


def reserve_slot(cr, key, rate, now=None, max_wait=MAX_RATE_WAIT):
    """Take the next slot of ``key`` at ``rate`` requests per second (clamped
    to [MIN_RATE, MAX_RATE]) in a new transaction of ``cr`` (the caller
    commits it); return (slot, seconds to wait until it). ``now`` (a
    timestamp) stands for PostgreSQL's clock, for tests. GenericCarrierError
    when the slot is more than ``max_wait`` seconds away (nothing is taken
    then); a row further ahead than a reservation can leave it (a clock that
    stepped back) restarts from now."""
    rate = clamp_rate(rate)
    if not rate:
        raise GenericCarrierError("no rate limit to reserve a slot at")
    max_wait = _clamp_wait(max_wait)
    step = 1.0 / rate
    # Odoo's cursors are REPEATABLE READ, where an upsert of a row another
    # worker just moved fails to serialise; READ COMMITTED waits and reads
    # the moved row. A slot lost in a crash costs nothing: the commit need
    # not wait for the disk (7x faster).
    cr.execute(
        "SET TRANSACTION ISOLATION LEVEL READ COMMITTED;"
        " SET LOCAL synchronous_commit TO OFF"
    )
    # ``excluded.next_slot`` is now + step: the row moves one step past
    # max(itself, now) unless it is already more than max_wait ahead; a row
    # more than ``jump`` ahead was left by a clock since stepped back: it
    # moves one step past now.
    cr.execute(
        SQL(
            """
            INSERT INTO %(table)s AS slot (key, next_slot)
            SELECT %(key)s,
                   COALESCE(%(now)s, clock_timestamp()) + %(step)s
            ON CONFLICT (key) DO UPDATE
               SET next_slot = CASE
                       WHEN slot.next_slot > excluded.next_slot - %(step)s + %(jump)s
                       THEN excluded.next_slot - %(step)s
                       ELSE GREATEST(slot.next_slot, excluded.next_slot - %(step)s)
                   END + %(step)s
             WHERE slot.next_slot <= excluded.next_slot - %(step)s + %(max_wait)s
                OR slot.next_slot > excluded.next_slot - %(step)s + %(jump)s
            RETURNING slot.next_slot - %(step)s,
                      EXTRACT(EPOCH FROM slot.next_slot - %(step)s
                                         - COALESCE(%(now)s, clock_timestamp()))
            """,
            table=SQL.identifier(TABLE),
            key=key,
            now=now,
            step=timedelta(seconds=step),
            max_wait=timedelta(seconds=max_wait),
            jump=timedelta(seconds=max_wait + step + CLOCK_JUMP_MARGIN),
        )
    )
    row = cr.fetchone()
    if row is None:
        raise GenericCarrierError(
            f"the carrier's rate limit ({rate:g} requests/s) is taken for more "
            f"than {max_wait:g}s ahead; try again later"
        )
    return row[0], max(0.0, float(row[1]))


def _clamp_wait(max_wait):
    try:
        max_wait = float(max_wait)
    except (TypeError, ValueError, OverflowError):
        return MAX_RATE_WAIT
    if math.isnan(max_wait):
        return MAX_RATE_WAIT
    return min(max(max_wait, 0.0), 24 * 3600.0)


class GenericRateLimiter:
    """``limiter(key, rate)`` waits for the next slot of ``key`` in database
    ``dbname``. One per database and process (``for_database``), so that the
    HTTP sessions keyed on it are shared too."""

    _instances = {}
    _lock = threading.Lock()
    # The sleep, replaced in tests to record the waits.
    _sleep = staticmethod(time.sleep)

    def __init__(self, dbname):
        self.dbname = dbname

    @classmethod
    def for_database(cls, dbname):
        with cls._lock:
            if dbname not in cls._instances:
                cls._instances[dbname] = cls(dbname)
            return cls._instances[dbname]

    def __call__(self, key, rate):
        """Wait for a slot; GenericCarrierError when none is near enough (or
        ``rate`` is no number), never another exception."""
        rate = clamp_rate(rate)
        if not rate:
            return
        try:
            # A pooled connection of this process (cheap to borrow), committed
            # at once as Odoo's own side cursors (ir.cron, ir.logging).
            with sql_db.db_connect(self.dbname).cursor() as cr:
                _slot, wait = reserve_slot(cr, key, rate)
        except errors.UndefinedTable as error:
            # The add-on's code is newer than its tables (not upgraded yet):
            # go unspaced, the carrier's 429 answers are retried.
            _logger.warning("carrier rate limit not applied: %s", error)
            return
        except psycopg2.Error as error:
            # PoolError (every connection of the pool in use) is one too: not
            # expected in a sized deployment, so an error, but still go
            # unspaced rather than fail the caller's booking or poll.
            _logger.error("carrier rate limit not applied: %s", error)
            return
        if wait > 0:
            self._sleep(wait)
