# shellcheck shell=bash
# Shared settings for the scripts; every value can be overridden from the environment.
: "${PYTHON:=python3.11}"
: "${CACHE_DIR:=${XDG_CACHE_HOME:-$HOME/.cache}/shipment_tracking}"
: "${ODOO_SRC:=$CACHE_DIR/odoo-18.0}"
: "${ODOO_NIGHTLY_URL:=https://nightly.odoo.com/18.0/nightly/src/odoo_18.0.latest.tar.gz}"
# Set when you chose the server (PGHOST or PGPORT given): scripts/pg_private.sh
# then never swaps it for its private cluster when it refuses your role.
: "${PG_SERVER_GIVEN:=${PGHOST:+host}${PGPORT:+port}}"
: "${PGHOST:=127.0.0.1}"
: "${PGPORT:=5432}"
: "${PGUSER:=$(id -un)}"
# The private PostgreSQL cluster started when nothing answers on PGHOST:PGPORT
# (scripts/pg_private.sh): its folder, and its port (it takes no TCP connection:
# the port names its Unix socket, in $PG_PRIVATE_DIR/run).
: "${PG_PRIVATE_DIR:=$CACHE_DIR/postgresql}"
: "${PG_PRIVATE_PORT:=15432}"
# The virtualenv lives in the cache so that fresh clones (CI) reuse it; setup.sh
# re-runs pip when the requirement files change.
: "${VENV:=$CACHE_DIR/venv-py311}"
# OCA add-ons the coexistence tests install (setup.sh unpacks them here).
: "${OCA_ADDONS_DIR:=$CACHE_DIR/oca-addons}"
export PYTHON CACHE_DIR ODOO_SRC PGHOST PGPORT PGUSER VENV OCA_ADDONS_DIR
export PG_SERVER_GIVEN PG_PRIVATE_DIR PG_PRIVATE_PORT

# resolve_addons: ADDONS (comma list, default: every top-level folder holding a
# __manifest__.py) and ODOO_ADDONS_PATH (Odoo's add-ons, then this repository,
# then the OCA add-ons of OCA_ADDONS_DIR, then EXTRA_ADDONS_PATH). Returns 1
# when there is no add-on.
resolve_addons() {
  # shellcheck disable=SC2154 # here: the repository, set by the sourcing script
  if [ -z "${ADDONS:-}" ]; then
    ADDONS=$(for m in "$here"/*/__manifest__.py; do
      [ -f "$m" ] && basename "$(dirname "$m")"
    done | paste -sd, -)
  fi
  # A source checkout keeps most add-ons in addons/, the nightly tarball in odoo/addons.
  ODOO_ADDONS_PATH="$ODOO_SRC/odoo/addons"
  [ -d "$ODOO_SRC/addons" ] && ODOO_ADDONS_PATH="$ODOO_SRC/addons,$ODOO_ADDONS_PATH"
  ODOO_ADDONS_PATH="$ODOO_ADDONS_PATH,$here"
  [ -d "$OCA_ADDONS_DIR" ] && ODOO_ADDONS_PATH="$ODOO_ADDONS_PATH,$OCA_ADDONS_DIR"
  ODOO_ADDONS_PATH="$ODOO_ADDONS_PATH${EXTRA_ADDONS_PATH:+,$EXTRA_ADDONS_PATH}"
  [ -n "$ADDONS" ]
}
