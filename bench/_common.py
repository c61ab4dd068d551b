"""Helpers shared by the bench scripts (not a script itself): where Odoo's
source and this checkout are, PostgreSQL connections and the throw-away
databases, ``odoo-bin`` in a subprocess, and an SMTP session that drops
every message.

Only the standard library is imported here; psycopg2 and Odoo are imported
by the helpers that use them, so that ``wakeup_cost.py`` and ``poll.py``'s
sandbox process do not load Odoo. A script that imports Odoo at its top
calls ``add_odoo_to_path()`` first.
"""

import contextlib
import logging
import os
import re
import shutil
import smtplib
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
CACHE = os.path.join(
    os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
    "shipment_tracking",
)
ODOO_SRC = os.environ.get("ODOO_SRC", os.path.join(CACHE, "odoo-18.0"))

_logger = logging.getLogger("bench.common")


def add_odoo_to_path():
    """Odoo's source (``ODOO_SRC``) first on ``sys.path``."""
    if ODOO_SRC not in sys.path:
        sys.path.insert(0, ODOO_SRC)


# ----------------------------------------------------------------------
# Databases
# ----------------------------------------------------------------------
def pg_connect(dbname="postgres"):
    import psycopg2

    conn = psycopg2.connect(
        dbname=dbname,
        host=os.environ.get("PGHOST", "127.0.0.1"),
        port=os.environ.get("PGPORT", "5432"),
        user=os.environ.get("PGUSER", os.environ.get("USER", "root")),
        connect_timeout=10,
    )
    conn.autocommit = True
    return conn


def pg_query(dbname, query, params=None):
    with contextlib.closing(pg_connect(dbname)) as conn, conn.cursor() as cr:
        cr.execute(query, params)
        return cr.fetchall()


def check_prefix(prefix):
    for forbidden in ("st_base", "st_dev", "st_tpl", "shipment_test_"):
        if prefix.startswith(forbidden) or forbidden.startswith(prefix):
            sys.exit(f"--db-prefix {prefix!r} could clash with {forbidden}*")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", prefix):
        sys.exit("--db-prefix: lowercase letters, digits and _ only")


def db_exists(name):
    return bool(
        pg_query("postgres", "SELECT 1 FROM pg_database WHERE datname = %s", [name])
    )


def close_registry(db):
    """Forget this process's registry of ``db`` and close its connections."""
    from odoo import sql_db
    from odoo.modules.registry import Registry

    Registry.delete(db)
    sql_db.close_db(db)


def drop_db(name, data_dir):
    from psycopg2 import sql

    close_registry(name)
    # Identifiers quoted by psycopg2's composition, not string formatting.
    query = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
        sql.Identifier(name)
    )
    with contextlib.closing(pg_connect()) as conn, conn.cursor() as cr:
        cr.execute(query)  # pylint: disable=sql-injection
    shutil.rmtree(os.path.join(data_dir, "filestore", name), ignore_errors=True)


def copy_db(template, name, data_dir):
    from psycopg2 import sql

    close_registry(template)
    query = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
        sql.Identifier(name), sql.Identifier(template)
    )
    with contextlib.closing(pg_connect()) as conn, conn.cursor() as cr:
        cr.execute(query)  # pylint: disable=sql-injection
    src = os.path.join(data_dir, "filestore", template)
    dst = os.path.join(data_dir, "filestore", name)
    shutil.rmtree(dst, ignore_errors=True)  # left by a database dropped by hand
    if os.path.isdir(src):
        shutil.copytree(src, dst)


def percentile(values, fraction):
    """The value at ``fraction`` (0.95: p95) of ``values``, nearest rank."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(0, int(round(fraction * len(ordered))) - 1)]


# ----------------------------------------------------------------------
# odoo-bin
# ----------------------------------------------------------------------
def backend_cpu(pid):
    """CPU seconds (user + system) the PostgreSQL backend ``pid`` has used,
    from /proc: the server runs on this machine; None where it cannot be
    read (another host, another OS)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # utime and stime, the 14th and 15th fields (the 12th and 13th after
    # the command name).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_args(opts, addons_path=None):
    """odoo-bin's options for ``opts`` (``data_dir``, ``log_level``); the
    add-ons path is Odoo's and this checkout's (or ``opts.repo``'s) unless
    given."""
    if addons_path is None:
        addons_path = (
            f"{os.path.join(ODOO_SRC, 'odoo', 'addons')},"
            f"{getattr(opts, 'repo', None) or REPO}"
        )
    return [
        "--db_host",
        os.environ.get("PGHOST", "127.0.0.1"),
        "--db_port",
        os.environ.get("PGPORT", "5432"),
        "--db_user",
        os.environ.get("PGUSER", os.environ.get("USER", "root")),
        f"--addons-path={addons_path}",
        f"--data-dir={opts.data_dir}",
        "--without-demo=all",
        f"--log-level={opts.log_level}",
    ]


def odoo_bin(args, opts, addons_path=None):
    """Run odoo-bin (install modules) in a subprocess."""
    cmd = [
        sys.executable,
        os.path.join(ODOO_SRC, "odoo-bin"),
        *server_args(opts, addons_path),
        "--no-http",
        "--max-cron-threads=0",
        "--stop-after-init",
        *args,
    ]
    _logger.info("running %s", " ".join(cmd[2:]))
    subprocess.run(cmd, check=True)


# ----------------------------------------------------------------------
# No email leaves the process
# ----------------------------------------------------------------------
class FakeSMTP:
    """Stands for an instant SMTP server: accepts and drops every message."""

    from_filter = False
    smtp_from = None
    sent = 0

    def send_message(self, message, smtp_from, smtp_to_list):
        FakeSMTP.sent += 1

    def quit(self):
        pass


class _NoSMTP:
    def __init__(self, *args, **kwargs):
        raise RuntimeError("bench: real SMTP connections are disabled")


def disable_email():
    """Odoo's mail servers hand messages to ``FakeSMTP``; a real SMTP
    connection raises."""
    from odoo.addons.base.models.ir_mail_server import IrMailServer

    smtplib.SMTP = smtplib.SMTP_SSL = _NoSMTP
    IrMailServer.connect = lambda self, *args, **kwargs: FakeSMTP()
