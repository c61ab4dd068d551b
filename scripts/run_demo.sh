#!/usr/bin/env bash
# Serve the demo: database $DEMO_DB (default shipment_demo) with our add-ons and
# their demo data, on http://localhost:$HTTP_PORT (default 8069).
# The first run creates the database (-i), later runs upgrade our add-ons (-u).
# Environment (besides scripts/env.sh): DEMO_DB, HTTP_PORT, ADDONS (comma list,
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

if [ -z "${ADDONS:-}" ]; then
  ADDONS=$(for m in "$here"/*/__manifest__.py; do
    [ -f "$m" ] && basename "$(dirname "$m")"
  done | paste -sd, -)
fi
[ -n "$ADDONS" ] || die "no add-on found (no top-level folder holds a __manifest__.py)"
# A source checkout keeps most add-ons in addons/, the nightly tarball in odoo/addons.
addons_path="$ODOO_SRC/odoo/addons"
[ -d "$ODOO_SRC/addons" ] && addons_path="$ODOO_SRC/addons,$addons_path"
addons_path="$addons_path,$here${EXTRA_ADDONS_PATH:+,$EXTRA_ADDONS_PATH}"

odoo=("$PY" "$ODOO_BIN" -d "$DEMO_DB"
  --db_host "$PGHOST" --db_port "$PGPORT" --db_user "$PGUSER"
  --addons-path="$addons_path")

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

# Hook (issue 3): the sandbox carrier process is to be started here, before the
# server (which replaces this shell through exec).

cat <<EOF

  Shipment Tracking demo: http://localhost:$HTTP_PORT   (database $DEMO_DB)
  Logins:
    admin / admin                       Administrator
    warehouse / warehouse               Warehouse Staff
    logistics / logistics               Logistics Team
    customerservice / customerservice   Customer Service
  Stop with Ctrl-C.

EOF
exec "${odoo[@]}" --db-filter "^${DEMO_DB}\$" \
  --http-interface 0.0.0.0 --http-port "$HTTP_PORT" --workers 0
