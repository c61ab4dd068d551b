"""The private PostgreSQL cluster of `make run` and `make test`
(scripts/pg_private.sh) on a machine where no server answers: PGPORT is a port
where nothing listens and the cache folder a fresh one, as on a bare machine.
The cluster is created, takes a database, is reused while it runs, stops with
`make stop` and starts again with its data; a server that refuses a role you
chose is an error, not a reason to swap it."""

import getpass
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg2
import pytest
from psycopg2 import sql

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "pg_private.sh"
TIMEOUT = 90

pytestmark = pytest.mark.skipif(
    not (glob.glob("/usr/lib/postgresql/*/bin/initdb") or shutil.which("initdb")),
    reason="PostgreSQL's server programs (initdb, pg_ctl) are not installed",
)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_script(env, command):
    return subprocess.run(
        ["bash", str(SCRIPT), command],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def ensure(env):
    result = run_script(env, "ensure")
    assert result.returncode == 0, result.stderr
    settings = dict(line.split("=", 1) for line in result.stdout.splitlines())
    return settings, result.stderr


def connect(settings, dbname="postgres"):
    return psycopg2.connect(
        host=settings["PGHOST"],
        port=settings["PGPORT"],
        user=settings["PGUSER"],
        dbname=dbname,
        connect_timeout=5,
    )


def start_time(settings):
    conn = connect(settings)
    try:
        with conn.cursor() as cr:
            cr.execute("SELECT pg_postmaster_start_time()")
            return cr.fetchone()[0]
    finally:
        conn.close()


@pytest.fixture
def bare_env():
    """The environment of a machine where nothing answers on PGHOST:PGPORT,
    with its own cache folder (so its own private cluster)."""
    cache = tempfile.mkdtemp(prefix="st-pg-private-")
    # As root the cluster runs as the user postgres, who must enter the folder.
    os.chmod(cache, 0o755)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PG") or key in ("PGCONNECT_TIMEOUT",)
    }
    env.update(
        CACHE_DIR=cache,
        VENV=sys.prefix,  # pgtool.py needs psycopg2
        PGHOST="127.0.0.1",
        PGPORT=str(free_port()),
        PG_PRIVATE_PORT=str(free_port()),
    )
    yield env
    run_script(env, "stop")
    # As root with a folder the user postgres cannot enter, the cluster lives
    # in ~postgres, linked from the cache folder.
    shutil.rmtree(Path(cache, "postgresql").resolve(), ignore_errors=True)
    shutil.rmtree(cache, ignore_errors=True)


def test_private_cluster_on_a_bare_machine(bare_env):
    nobody = bare_env["PGPORT"]
    settings, log = ensure(bare_env)
    assert f"nothing answers on 127.0.0.1:{nobody}" in log
    assert settings["PGPORT"] == bare_env["PG_PRIVATE_PORT"]
    assert settings["PGUSER"] == getpass.getuser()
    # Kept in (or linked from) the cache folder, reached through its socket only.
    home = (Path(bare_env["CACHE_DIR"]) / "postgresql").resolve()
    assert settings["PGHOST"] == str(home / "run")
    assert (home / "data" / "PG_VERSION").is_file()

    # It takes a database, as Odoo creates them.
    dbname = "st_private_probe"
    conn = connect(settings)
    conn.autocommit = True  # CREATE DATABASE runs outside a transaction
    with conn.cursor() as cr:
        cr.execute(
            sql.SQL("CREATE DATABASE {} ENCODING 'unicode' TEMPLATE template0").format(
                sql.Identifier(dbname)
            )
        )
    conn.close()
    with connect(settings, dbname) as conn, conn.cursor() as cr:
        cr.execute("CREATE TABLE probe (name text)")
        cr.execute("INSERT INTO probe VALUES ('kept')")
    conn.close()

    # The next run reuses the running cluster.
    started = start_time(settings)
    again, log = ensure(bare_env)
    assert again == settings
    assert "already running" in log
    assert start_time(settings) == started

    # `make stop` stops it.
    result = run_script(bare_env, "stop")
    assert result.returncode == 0, result.stderr
    assert run_script(bare_env, "status").returncode == 3
    with pytest.raises(psycopg2.OperationalError):
        connect(settings).close()

    # The next run starts it again, with its data.
    again, log = ensure(bare_env)
    assert again == settings
    assert "creating" not in log
    with connect(settings, dbname) as conn, conn.cursor() as cr:
        cr.execute("SELECT name FROM probe")
        assert cr.fetchall() == [("kept",)]
    conn.close()

    # A server you chose that refuses your role stops the run with the reason.
    chosen = dict(
        bare_env,
        PGHOST=settings["PGHOST"],
        PGPORT=settings["PGPORT"],
        PGUSER="nobody_here",
    )
    result = run_script(chosen, "ensure")
    assert result.returncode == 2
    assert "does not let role 'nobody_here' in" in result.stderr
