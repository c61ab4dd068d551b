"""Tiny PostgreSQL helper for the shell scripts (runs with the virtualenv's Python).

Connection settings come from libpq's environment (PGHOST, PGPORT, PGUSER, ...),
which scripts/env.sh exports. Usage:

    pgtool.py exists DB             exit 0 when DB exists, 1 otherwise
    pgtool.py drop DB...            drop databases (closing their connections)
    pgtool.py list PREFIX           print the databases whose name starts with PREFIX
    pgtool.py installed DB MOD,...  exit 0 when every module is installed in DB
    pgtool.py ping                  exit 0 when the server lets us in, else 3 and
                                    its answer on stderr
"""

import sys

import psycopg2
from psycopg2 import sql


def _connect(dbname="postgres"):
    conn = psycopg2.connect(dbname=dbname, connect_timeout=10)
    conn.autocommit = True  # DROP DATABASE cannot run inside a transaction
    return conn


def exists(dbname):
    with _connect() as conn, conn.cursor() as cr:
        cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname])
        return 0 if cr.fetchone() else 1


def drop(*dbnames):
    conn = _connect()
    try:
        with conn.cursor() as cr:
            for dbname in dbnames:
                cr.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(dbname)
                    )
                )
    finally:
        conn.close()
    return 0


def list_(prefix):
    with _connect() as conn, conn.cursor() as cr:
        cr.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s) "
            "ORDER BY datname",
            [prefix],
        )
        for (name,) in cr.fetchall():
            sys.stdout.write(name + "\n")
    return 0


def installed(dbname, modules):
    names = [m for m in modules.split(",") if m]
    if exists(dbname):
        return 1
    with _connect(dbname) as conn, conn.cursor() as cr:
        cr.execute(
            "SELECT count(*) FROM ir_module_module "
            "WHERE name = ANY(%s) AND state = 'installed'",
            [names],
        )
        return 0 if cr.fetchone()[0] == len(names) else 1


def ping():
    try:
        _connect().close()
    except psycopg2.OperationalError as exc:
        sys.stderr.write(f"{str(exc).strip()}\n")
        return 3
    return 0


COMMANDS = {
    "exists": exists,
    "drop": drop,
    "list": list_,
    "installed": installed,
    "ping": ping,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    try:
        sys.exit(COMMANDS[sys.argv[1]](*sys.argv[2:]))
    except psycopg2.Error as exc:
        sys.exit(f"pgtool: {exc}".strip())
