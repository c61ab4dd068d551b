# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import os
import select
import signal
import threading
import time
import uuid
from unittest.mock import patch

import psycopg2

from odoo import sql_db
from odoo.tests import TransactionCase, tagged
from odoo.tools import config

from ..const import SHARED_WAKEUP
from ..tools.cron_wakeup import CRON_WAKEUP, CronWakeup
from .common import ShipmentTrackingCase


class WakeupListener:
    """A cron worker's side of the wake-up: ``LISTEN cron_trigger`` on the
    ``postgres`` database, over a connection of its own."""

    def __init__(self):
        _dbname, info = sql_db.connection_info_for("postgres")
        self.cnx = psycopg2.connect(**info)
        self.cnx.autocommit = True
        with self.cnx.cursor() as cr:
            cr.execute("LISTEN cron_trigger")

    def heard(self, payload, expected, timeout=10):
        """How many wake-ups with ``payload`` came (other servers on the
        cluster wake theirs too), waiting until ``expected`` of them did
        or ``timeout`` seconds passed."""
        count = 0
        deadline = time.monotonic() + timeout
        while count < expected and time.monotonic() < deadline:
            select.select([self.cnx], [], [], max(deadline - time.monotonic(), 0))
            self.cnx.poll()
            count += sum(notify.payload == payload for notify in self.cnx.notifies)
            self.cnx.notifies.clear()
        return count

    def terminate(self, backend_pid):
        """End that server process, and wait until it has ended."""
        with self.cnx.cursor() as cr:
            cr.execute("SELECT pg_terminate_backend(%s, 5000)", [backend_pid])
            return cr.fetchone()[0]


@tagged("post_install", "-at_install")
class TestCronWakeup(TransactionCase):
    """The cron workers are woken over one connection per process, kept
    across wake-ups, opened again when the server or a fork took it."""

    def setUp(self):
        super().setUp()
        self.listener = WakeupListener()
        self.addCleanup(self.listener.cnx.close)
        self.wakeup = CronWakeup()
        self.addCleanup(self.wakeup._drop)
        # A payload of this test's own: other servers wake their workers too.
        self.payload = f"wakeup-test-{uuid.uuid4()}"

    def test_wakeups_share_one_connection(self):
        self.assertIsNone(self.wakeup.backend_pid())
        self.assertTrue(self.wakeup.notify(self.payload))
        backend = self.wakeup.backend_pid()
        self.assertTrue(backend)
        self.assertTrue(self.wakeup.notify(self.payload))
        self.assertEqual(self.wakeup.backend_pid(), backend)
        self.assertEqual(self.listener.heard(self.payload, 2), 2)

    def test_wakeup_counted_as_a_query(self):
        """Counted where Odoo counts a request's statements (its log line)."""
        thread = threading.current_thread()
        with patch.multiple(
            thread, query_count=0, query_time=0, perf_t0=time.time(), create=True
        ):
            self.assertTrue(self.wakeup.notify(self.payload))
            self.assertEqual(thread.query_count, 1)
            self.assertGreater(thread.query_time, 0)

    def test_connection_dropped_by_the_server_is_opened_again(self):
        self.assertTrue(self.wakeup.notify(self.payload))
        backend = self.wakeup.backend_pid()
        self.assertTrue(self.listener.terminate(backend))
        # The server has ended that session; the next wake-up still goes out.
        self.assertTrue(self.wakeup.notify(self.payload))
        self.assertNotIn(self.wakeup.backend_pid(), (None, backend))
        self.assertEqual(self.listener.heard(self.payload, 2), 2)

    def test_idle_connection_is_replaced(self):
        """After ``idle_seconds`` without a wake-up the connection is not
        trusted (a firewall may have dropped it silently)."""
        self.wakeup.idle_seconds = 0.05
        self.assertTrue(self.wakeup.notify(self.payload))
        first = self.wakeup._cnx
        time.sleep(0.1)
        self.assertTrue(self.wakeup.notify(self.payload))
        self.assertIsNot(self.wakeup._cnx, first)
        self.assertTrue(first.closed)
        self.assertEqual(self.listener.heard(self.payload, 2), 2)

    def test_no_server_falls_back(self):
        """No connection takes it: ``False``, so that the caller wakes the
        workers Odoo's way; a new connection that failed is not retried."""
        with (
            patch.dict(config.options, {"db_host": "127.0.0.1", "db_port": 9}),
            patch.object(psycopg2, "connect", wraps=psycopg2.connect) as connect,
            self.assertLogs("odoo.addons.shipment_tracking.tools.cron_wakeup") as logs,
        ):
            self.assertFalse(self.wakeup.notify(self.payload))
        self.assertEqual(connect.call_count, 1)
        self.assertIn("cron wake-up connection failed", logs.output[0])
        self.assertIsNone(self.wakeup.backend_pid())
        # Back to a reachable server: the next wake-up connects.
        self.assertTrue(self.wakeup.notify(self.payload))
        self.assertEqual(self.listener.heard(self.payload, 1), 1)

    def test_forked_process_opens_its_own_connection(self):
        self.assertTrue(self.wakeup.notify(self.payload))
        parent_backend = self.wakeup.backend_pid()
        read_end, write_end = os.pipe()
        child = os.fork()
        if not child:  # pragma: no cover - the child reports through the pipe
            code = 1
            try:
                os.close(read_end)
                sent = self.wakeup.notify(self.payload)
                os.write(write_end, f"{int(sent)} {self.wakeup.backend_pid()}".encode())
                code = 0
            finally:
                os._exit(code)
        os.close(write_end)
        with os.fdopen(read_end) as pipe:
            ready, _w, _x = select.select([pipe], [], [], 30)
            if not ready:
                os.kill(child, signal.SIGKILL)
            report = pipe.read() if ready else ""
        _pid, status = os.waitpid(child, 0)
        self.assertTrue(report, "the forked process did not report in 30 s")
        self.assertEqual(os.waitstatus_to_exitcode(status), 0)
        sent, child_backend = report.split()
        self.assertEqual(sent, "1")
        self.assertNotEqual(int(child_backend), parent_backend)
        # The parent's connection was left open by the child: it still works.
        self.assertTrue(self.wakeup.notify(self.payload))
        self.assertEqual(self.wakeup.backend_pid(), parent_backend)
        self.assertEqual(self.listener.heard(self.payload, 3), 3)


@tagged("post_install", "-at_install")
class TestCronWakeupUse(ShipmentTrackingCase):
    """Which wake-ups take the kept connection, and Odoo's way otherwise."""

    def setUp(self):
        super().setUp()
        self.listener = WakeupListener()
        self.addCleanup(self.listener.cnx.close)
        self.cron = self.env.ref("shipment_tracking.ir_cron_shipment_notification")

    def _spies(self):
        return (
            patch.object(CRON_WAKEUP, "notify", wraps=CRON_WAKEUP.notify),
            patch.object(sql_db, "db_connect", wraps=sql_db.db_connect),
        )

    def test_flagged_wakeup_uses_the_kept_connection(self):
        flagged = self.cron.with_context(**{SHARED_WAKEUP: True})
        kept, odoo_way = self._spies()
        with kept as notify, odoo_way as db_connect:
            flagged._notifydb()
            backend = CRON_WAKEUP.backend_pid()
            flagged._notifydb()
        self.assertTrue(backend)
        self.assertEqual(CRON_WAKEUP.backend_pid(), backend)
        self.assertEqual(notify.call_count, 2)
        db_connect.assert_not_called()
        self.assertGreaterEqual(self.listener.heard(self.env.cr.dbname, 2), 2)

    def test_unflagged_wakeup_goes_odoos_way(self):
        kept, odoo_way = self._spies()
        with kept as notify, odoo_way as db_connect:
            self.cron._notifydb()
        notify.assert_not_called()
        db_connect.assert_called_once_with("postgres")
        self.assertGreaterEqual(self.listener.heard(self.env.cr.dbname, 1), 1)

    def test_busy_kept_connection_falls_back_to_odoos_way(self):
        """A wake-up that cannot have the kept connection in time (another
        thread's is stuck on it) is sent Odoo's way, not dropped."""
        kept, odoo_way = self._spies()
        CRON_WAKEUP._lock.acquire()
        try:
            with (
                patch.object(CRON_WAKEUP, "lock_timeout", 0.05),
                kept as notify,
                odoo_way as db_connect,
                self.assertLogs("odoo.addons.shipment_tracking.tools.cron_wakeup"),
            ):
                self.cron.with_context(**{SHARED_WAKEUP: True})._notifydb()
        finally:
            CRON_WAKEUP._lock.release()
        self.assertEqual(notify.call_count, 1)
        db_connect.assert_called_once_with("postgres")
        self.assertGreaterEqual(self.listener.heard(self.env.cr.dbname, 1), 1)

    def test_queued_message_wakes_the_cron_over_the_kept_connection(self):
        """The commit of a dispatch wakes the notification cron over the
        kept connection (the post-commit hooks run as a commit runs them)."""
        picking = self._create_delivery()
        self._fill_details(picking)
        self._set_tracking(picking)
        self._validate(picking)
        self.env.cr.precommit.run()
        trigger = self.env["ir.cron.trigger"].search(
            [("cron_id", "=", self.cron.id)], order="id desc", limit=1
        )
        self.assertTrue(trigger)
        kept, _odoo_way = self._spies()
        with kept as notify:
            self.env.cr.postcommit.run()
        notify.assert_called_once_with(self.env.cr.dbname)

    def test_mail_queue_woken_over_the_kept_connection(self):
        mail_cron = self.env.ref("mail.ir_cron_mail_scheduler_action")
        outgoing = self.env["shipment.tracking.notification"].new(
            {"email_state": "outgoing"}
        )
        Trigger = self.env["ir.cron.trigger"]
        before = Trigger.search_count([("cron_id", "=", mail_cron.id)])
        self.env.cr.postcommit.clear()
        outgoing._wake_queues()
        self.assertEqual(
            Trigger.search_count([("cron_id", "=", mail_cron.id)]), before + 1
        )
        kept, _odoo_way = self._spies()
        with kept as notify:
            self.env.cr.postcommit.run()
        notify.assert_called_once_with(self.env.cr.dbname)
