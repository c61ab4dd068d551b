#!/usr/bin/env bash
# Serve the demo: database $DEMO_DB (default shipment_demo) with our add-ons and
# their demo data, on http://localhost:$HTTP_PORT (default 8069).
# The first run creates the database (-i), later runs upgrade our add-ons (-u).
# With the generic connector's demo carrier in the database, the sandbox carrier
# (shipment_tracking_carrier_generic/sandbox) runs beside the server on
# http://127.0.0.1:$SANDBOX_PORT (default 8070) and pushes its webhooks to it; it
# stops with the server. Its log: $SANDBOX_LOG (default /tmp/sandbox-$DEMO_DB.log).
# Odoo's outgoing mail goes to a mail catcher (scripts/mailcatcher.py) on
# 127.0.0.1:$MAIL_SMTP_PORT (default 1025), whose page lists the caught emails:
# http://localhost:$MAIL_HTTP_PORT (default 8025); it stops with the server too.
# PostgreSQL: the server on PGHOST:PGPORT, else the private cluster of
# scripts/pg_private.sh (left running for the next run; `make stop` stops it).
# Environment (besides scripts/env.sh): DEMO_DB, HTTP_PORT, SANDBOX_PORT,
# SANDBOX_LOG, MAIL_SMTP_PORT, MAIL_HTTP_PORT, MAIL_LOG, ADDONS (comma list,
# default: every top-level folder holding a __manifest__.py), EXTRA_ADDONS_PATH.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/env.sh
source "$here/scripts/env.sh"

die() { printf 'run_demo: %s\n' "$*" >&2; exit 2; }

PY="$VENV/bin/python"
ODOO_BIN="$ODOO_SRC/odoo-bin"
[ -x "$PY" ] || die "no virtualenv at $VENV: run 'make setup' (scripts/setup.sh) first"
[ -f "$ODOO_BIN" ] || die "no odoo-bin in $ODOO_SRC: run 'make setup' first"
DEMO_DB=${DEMO_DB:-shipment_demo}
HTTP_PORT=${HTTP_PORT:-8069}
# Loopback only: the demo's logins (admin/admin, role users) stay off the
# network you are on; HTTP_INTERFACE=0.0.0.0 opens it, knowingly.
HTTP_INTERFACE=${HTTP_INTERFACE:-127.0.0.1}
SANDBOX_PORT=${SANDBOX_PORT:-8070}
SANDBOX_LOG=${SANDBOX_LOG:-${TMPDIR:-/tmp}/sandbox-$DEMO_DB.log}
MAIL_SMTP_PORT=${MAIL_SMTP_PORT:-1025}
MAIL_HTTP_PORT=${MAIL_HTTP_PORT:-8025}
MAIL_LOG=${MAIL_LOG:-${TMPDIR:-/tmp}/mailcatcher-$DEMO_DB.log}
# As in shipment_tracking_carrier_generic/demo/delivery_carrier_demo.xml.
SANDBOX_API_KEY=sandbox-demo-key
SANDBOX_WEBHOOK_SECRET=sandbox-demo-secret
SANDBOX_CARRIER_XMLID=shipment_tracking_carrier_generic.delivery_carrier_sandbox_demo

resolve_addons || die "no add-on found (no top-level folder holds a __manifest__.py)"
# shellcheck source=scripts/pg_private.sh
source "$here/scripts/pg_private.sh"
pg_ensure

odoo=("$PY" "$ODOO_BIN" -d "$DEMO_DB"
  --db_host "$PGHOST" --db_port "$PGPORT" --db_user "$PGUSER"
  --smtp 127.0.0.1 --smtp-port "$MAIL_SMTP_PORT"
  --addons-path="$ODOO_ADDONS_PATH")

if "$PY" "$here/scripts/pgtool.py" exists "$DEMO_DB"; then
  echo "==> upgrading $ADDONS in $DEMO_DB"
  "${odoo[@]}" -u "$ADDONS" --stop-after-init --log-level=warn
else
  # Demo data is on by default in 18.0 (no --without-demo): it brings the role users.
  echo "==> creating $DEMO_DB with $ADDONS and demo data (a few minutes)"
  if ! "${odoo[@]}" -i "$ADDONS" --stop-after-init --log-level=warn; then
    # A half-initialised database would only be upgraded next time: start over then.
    "$PY" "$here/scripts/pgtool.py" drop "$DEMO_DB" || true
    die "could not create $DEMO_DB (see the log above)"
  fi
fi

# The demo carrier's id (its webhook URL holds it), with its base URL aligned on
# SANDBOX_PORT; prints nothing when the database has no such carrier.
sandbox_carrier_id() {
  "$PY" - "$DEMO_DB" "$SANDBOX_CARRIER_XMLID" "http://127.0.0.1:$SANDBOX_PORT" <<'PY'
import sys

import psycopg2  # connection settings from libpq's environment (scripts/env.sh)

db, xmlid, base_url = sys.argv[1:]
module, name = xmlid.split(".")
with psycopg2.connect(dbname=db, connect_timeout=10) as conn, conn.cursor() as cr:
    cr.execute(
        "SELECT res_id FROM ir_model_data"
        " WHERE module = %s AND name = %s AND model = 'delivery.carrier'",
        [module, name],
    )
    row = cr.fetchone()
    if row:
        cr.execute(
            "UPDATE delivery_carrier SET generic_base_url = %s"
            " WHERE id = %s AND generic_base_url IS DISTINCT FROM %s",
            [base_url, row[0], base_url],
        )
        if cr.rowcount:
            print(f"run_demo: demo carrier's base URL set to {base_url}", file=sys.stderr)
        print(row[0])
PY
}

# The children stop with this shell (Ctrl-C, TERM, an error or the server's end).
sandbox_pid="" mail_pid="" server_pid=""
stop_children() {
  local pid
  for pid in $server_pid $sandbox_pid $mail_pid; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in $server_pid $sandbox_pid $mail_pid; do
    wait "$pid" 2>/dev/null || true
  done
}
trap stop_children EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_listening PID PORT LOG WHAT: until the child PID listens on PORT (10 s).
wait_listening() {
  for _ in $(seq 1 100); do
    kill -0 "$1" 2>/dev/null || die "$4 stopped: $(tail -n 3 "$3")"
    listening "$2" && return 0
    sleep 0.1
  done
  die "$4 does not listen on port $2 (log: $3)"
}

# Else the readiness checks below would take the other program for ours.
for port_var in MAIL_SMTP_PORT MAIL_HTTP_PORT; do
  ! listening "${!port_var}" ||
    die "port ${!port_var} is taken: stop what listens there or set $port_var"
done
echo "==> starting the mail catcher on http://localhost:$MAIL_HTTP_PORT (log: $MAIL_LOG)"
"$PY" "$here/scripts/mailcatcher.py" --smtp-port "$MAIL_SMTP_PORT" \
  --http-port "$MAIL_HTTP_PORT" </dev/null >"$MAIL_LOG" 2>&1 &
mail_pid=$!
wait_listening "$mail_pid" "$MAIL_HTTP_PORT" "$MAIL_LOG" "the mail catcher"

carrier_id=$(sandbox_carrier_id) || die "could not read the demo carrier in $DEMO_DB"
sandbox_url="http://127.0.0.1:$SANDBOX_PORT"
if [ -n "$carrier_id" ]; then
  # Else the readiness check below would take the other program for ours.
  ! listening "$SANDBOX_PORT" ||
    die "port $SANDBOX_PORT is taken: stop what listens there or set SANDBOX_PORT"
  webhook_url="http://127.0.0.1:$HTTP_PORT/shipment_tracking/webhook/$carrier_id"
  echo "==> starting the sandbox carrier on $sandbox_url (log: $SANDBOX_LOG)"
  (cd "$here/shipment_tracking_carrier_generic" && exec "$PY" -m sandbox \
    --port "$SANDBOX_PORT" --api-key "$SANDBOX_API_KEY" \
    --webhook-url "$webhook_url" --webhook-secret "$SANDBOX_WEBHOOK_SECRET") \
    </dev/null >"$SANDBOX_LOG" 2>&1 &
  sandbox_pid=$!
  wait_listening "$sandbox_pid" "$SANDBOX_PORT" "$SANDBOX_LOG" "the sandbox carrier"
  sandbox_help="
  Sandbox carrier: $sandbox_url   (API key $SANDBOX_API_KEY)
    Webhooks go to $webhook_url
    Move its clock to release tracking events (usual story: picked up after
    4 h, in transit 12 h, out for delivery 36 h, delivered 42 h):
      curl -X POST $sandbox_url/sandbox/clock/advance \\
        -H 'Content-Type: application/json' -d '{\"hours\": 13}'
    What it pushed: curl $sandbox_url/sandbox/webhooks
"
else
  sandbox_help="
  (No sandbox carrier: $SANDBOX_CARRIER_XMLID is not in $DEMO_DB.)
"
fi

cat <<EOF

  Shipment Tracking demo: http://localhost:$HTTP_PORT   (database $DEMO_DB)
  Logins:
    admin / admin                       Administrator
    warehouse / warehouse               Warehouse Staff
    logistics / logistics               Logistics Team
    customerservice / customerservice   Customer Service

  Emails Odoo sends (to anyone) are caught, not delivered: read them on
    http://localhost:$MAIL_HTTP_PORT   (SMTP 127.0.0.1:$MAIL_SMTP_PORT)
$sandbox_help
  Stop with Ctrl-C.

EOF
# In the background (not exec): the traps above must outlive the server's start
# to stop the sandbox, and a signal reaches them without waiting for the server.
"${odoo[@]}" --db-filter "^${DEMO_DB}\$" \
  --http-interface "$HTTP_INTERFACE" --http-port "$HTTP_PORT" --workers 0 \
  --no-database-list </dev/null &
server_pid=$!
rc=0
wait "$server_pid" || rc=$?
server_pid=
exit "$rc"
