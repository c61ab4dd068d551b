# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
import os
import threading
import time
import weakref

import psycopg2
from psycopg2 import sql

from odoo import sql_db

from odoo.addons.base.models.ir_cron import ODOO_NOTIFY_FUNCTION

_logger = logging.getLogger(__name__)

# Every CronWakeup, so that a forked child starts them afresh.
_INSTANCES = weakref.WeakSet()

# libpq settings of the kept connection: a wake-up never waits long on a
# server that is gone, or on a connection a firewall dropped silently.
CONNECT_PARAMS = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 5000,
}

# Odoo's wake-up (ir.cron._notifydb): the same function, channel and payload.
NOTIFY_QUERY = sql.SQL("SELECT {}('cron_trigger', %s)").format(
    sql.Identifier(ODOO_NOTIFY_FUNCTION)
)


class CronWakeup:
    """Wakes Odoo's cron workers (``NOTIFY cron_trigger``, as
    ``ir.cron._notifydb`` does) over one connection to the ``postgres``
    database kept by the process.

    Odoo's pool never keeps connections to ``postgres``, so its
    ``_notifydb`` connects and disconnects at every wake-up: about 3 ms of
    CPU, on the machine of the benchmarks, for every transaction that
    queues a customer message. Here the connection is opened at the first
    wake-up and shared by the process's threads under a lock. It is
    replaced, not reused, after ``idle_seconds`` without a wake-up (a
    firewall may have dropped it silently) and when the server dropped
    it. A forked process
    (Odoo's prefork workers) starts without one: the parent's connection
    is forgotten, not closed: closing it would end the parent's session
    (and psycopg2 does not close a connection of another process when it
    is garbage-collected).
    """

    # A thread waits this long for another's wake-up, then goes Odoo's way.
    lock_timeout = 5.0
    idle_seconds = 60.0

    def __init__(self):
        self._forget()
        _INSTANCES.add(self)

    def _forget(self):
        self._lock = threading.Lock()
        self._cnx = None
        self._used = 0.0

    def notify(self, dbname):
        """Send the wake-up for ``dbname``; ``False`` when no connection
        took it (the caller then wakes the workers Odoo's way)."""
        if not self._lock.acquire(timeout=self.lock_timeout):
            _logger.warning("cron wake-up: another wake-up holds the connection")
            return False
        try:
            error = self._send(NOTIFY_QUERY, dbname)
        finally:
            self._lock.release()
        if error:
            _logger.warning("cron wake-up connection failed: %s", error)
        return not error

    def _send(self, query, dbname):
        """Under the lock: the error that stopped the wake-up, or ``None``."""
        # A kept connection the server dropped since the last wake-up gets
        # one more try, on a new connection; a new one that failed does not.
        retry = self._cnx is not None
        while True:
            try:
                cnx = self._connection()
                with cnx.cursor() as cr:
                    start = time.perf_counter()
                    cr.execute(query, [dbname])
                self._count(time.perf_counter() - start)
                self._used = time.monotonic()
                return None
            except (psycopg2.OperationalError, psycopg2.InterfaceError) as error:
                self._drop()
                if not retry:
                    return error
                retry = False
            except psycopg2.Error as error:
                # Not the connection: another try would fail the same way.
                self._drop()
                return error

    @staticmethod
    def _count(delay):
        """Count the statement as Odoo counts its cursors' (the request
        log's query count and time, and the benchmarks' totals)."""
        sql_db.sql_counter += 1
        thread = threading.current_thread()
        if hasattr(thread, "query_count"):
            thread.query_count += 1
            thread.query_time += delay

    def backend_pid(self):
        """The server process of the kept connection (``None`` if none)."""
        with self._lock:
            if self._cnx is None or self._cnx.closed:
                return None
            return self._cnx.get_backend_pid()

    def _connection(self):
        if self._cnx is not None and (
            self._cnx.closed or time.monotonic() - self._used > self.idle_seconds
        ):
            self._drop()
        if self._cnx is None:
            _dbname, info = sql_db.connection_info_for("postgres")
            self._cnx = psycopg2.connect(**{**CONNECT_PARAMS, **info})
            self._cnx.autocommit = True
        return self._cnx

    def _drop(self):
        cnx, self._cnx = self._cnx, None
        if cnx is not None:
            try:
                cnx.close()
            except psycopg2.Error:
                _logger.debug("closing a dropped wake-up connection failed")


def _after_fork():
    for wakeup in list(_INSTANCES):
        wakeup._forget()


os.register_at_fork(after_in_child=_after_fork)

# One per process: its connection serves every database of the process.
CRON_WAKEUP = CronWakeup()
