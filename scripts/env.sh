# Shared settings for the scripts; every value can be overridden from the environment.
: "${PYTHON:=python3.11}"
: "${CACHE_DIR:=${XDG_CACHE_HOME:-$HOME/.cache}/shipment_tracking}"
: "${ODOO_SRC:=$CACHE_DIR/odoo-18.0}"
: "${ODOO_NIGHTLY_URL:=https://nightly.odoo.com/18.0/nightly/src/odoo_18.0.latest.tar.gz}"
: "${PGHOST:=127.0.0.1}"
: "${PGPORT:=5432}"
: "${PGUSER:=$(id -un)}"
# The virtualenv lives in the cache so that fresh clones (CI) reuse it; setup.sh
# re-runs pip when the requirement files change.
: "${VENV:=$CACHE_DIR/venv-py311}"
export PYTHON CACHE_DIR ODOO_SRC PGHOST PGPORT PGUSER VENV
