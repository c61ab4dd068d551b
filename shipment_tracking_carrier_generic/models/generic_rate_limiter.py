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
from PostgreSQL's clock, the same for every process."""

import logging
import threading
import time
from datetime import timedelta

import psycopg2

from odoo import sql_db
from odoo.tools import SQL

from .generic_request import GenericCarrierError

_logger = logging.getLogger(__name__)

TABLE = "shipment_tracking_generic_rate_slot"
# Longest wait for a slot. A request that would wait longer is refused rather
# than sent over the limit: the carrier is that far behind already.
MAX_RATE_WAIT = 60.0


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


def reserve_slot(cr, key, rate, now=None, max_wait=MAX_RATE_WAIT):
    """Take the next slot of ``key`` at ``rate`` requests per second in a
    new transaction of ``cr`` (the caller commits it); return (slot, seconds
    to wait until it). ``now`` (a timestamp) stands for PostgreSQL's clock,
    for tests. GenericCarrierError when the slot is more than ``max_wait``
    seconds away (nothing is taken then)."""
    # Odoo's cursors are REPEATABLE READ, where an upsert of a row another
    # worker just moved fails to serialise; READ COMMITTED waits and reads
    # the moved row. A slot lost in a crash costs nothing: the commit need
    # not wait for the disk (7x faster).
    cr.execute(
        "SET TRANSACTION ISOLATION LEVEL READ COMMITTED;"
        " SET LOCAL synchronous_commit TO OFF"
    )
    # ``excluded.next_slot`` is now + step: the row moves one step past
    # max(itself, now) unless it is already more than max_wait ahead.
    cr.execute(
        SQL(
            """
            INSERT INTO %(table)s AS slot (key, next_slot)
            SELECT %(key)s,
                   COALESCE(%(now)s, clock_timestamp()) + %(step)s
            ON CONFLICT (key) DO UPDATE
               SET next_slot = GREATEST(slot.next_slot, excluded.next_slot - %(step)s)
                               + %(step)s
             WHERE slot.next_slot <= excluded.next_slot - %(step)s + %(max_wait)s
            RETURNING slot.next_slot - %(step)s,
                      EXTRACT(EPOCH FROM slot.next_slot - %(step)s
                                         - COALESCE(%(now)s, clock_timestamp()))
            """,
            table=SQL.identifier(TABLE),
            key=key,
            now=now,
            step=timedelta(seconds=1.0 / rate),
            max_wait=timedelta(seconds=max_wait),
        )
    )
    row = cr.fetchone()
    if row is None:
        raise GenericCarrierError(
            f"the carrier's rate limit ({rate:g} requests/s) is taken for more "
            f"than {max_wait:g}s ahead; try again later"
        )
    return row[0], max(0.0, float(row[1]))


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
        if not rate or rate <= 0:
            return
        try:
            # A pooled connection of this process (cheap to borrow), committed
            # at once as Odoo's own side cursors (ir.cron, ir.logging).
            with sql_db.db_connect(self.dbname).cursor() as cr:
                _slot, wait = reserve_slot(cr, key, rate)
        except psycopg2.Error as error:  # PoolError is one too
            # E.g. the add-on's code is newer than its tables (not upgraded
            # yet): go unspaced, the carrier's 429 answers are retried.
            _logger.warning("carrier rate limit not applied: %s", error)
            return
        if wait > 0:
            self._sleep(wait)
