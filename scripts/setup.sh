#!/usr/bin/env bash
# Prepare everything `make run` / `make test` need, idempotently:
# system packages, PostgreSQL (a server, else the programs of a private cluster),
# the Odoo 18.0 source tree, and a Python 3.11 virtualenv with Odoo's and our
# requirements. A second run only checks. Prints the environment to use as
# `KEY=value` lines on fd 3 when asked.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/env.sh
source "$here/scripts/env.sh"
# shellcheck source=scripts/pg_private.sh
source "$here/scripts/pg_private.sh"

say() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '\n[setup] ERROR: %s\n\n' "$*" >&2; exit 2; }

# -- Python ----------------------------------------------------------------
command -v "$PYTHON" >/dev/null 2>&1 ||
  die "Python 3.11 is required ($PYTHON not found). Install python3.11 or set PYTHON=/path/to/python3.11."
"$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' ||
  die "$PYTHON is not Python 3.11 (Odoo 18 is pinned for 3.11 here). Set PYTHON=/path/to/python3.11."

# -- System packages (Debian) ------------------------------------------------
# libpq/ldap/sasl headers build psycopg2 and python-ldap; wkhtmltopdf renders
# delivery slips and labels; chromium runs the browser tours; faketime runs the
# time-dependent tests on a shifted clock.
deb_pkgs=(libpq-dev libldap2-dev libsasl2-dev wkhtmltopdf chromium faketime)
missing=()
for p in "${deb_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done

# -- PostgreSQL ----------------------------------------------------------------
# A server on PGHOST:PGPORT, else `make run` and `make test` start a private
# cluster (scripts/pg_private.sh), which needs PostgreSQL's server programs.
if pg_listening; then
  :
elif ! pg_is_local; then
  die "nothing answers on $PGHOST:$PGPORT. Start PostgreSQL there or set PGHOST/PGPORT/PGUSER (role '$PGUSER' must be able to create databases); with PGHOST on this machine, a private cluster is started instead."
elif ! pg_bindir >/dev/null; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    missing+=(postgresql)
  else
    die "nothing answers on $PGHOST:$PGPORT and PostgreSQL's server programs (initdb, pg_ctl) are not installed.
  Install them (Debian/Ubuntu: sudo apt-get install postgresql) and re-run: make run and make test then start a private cluster of their own.
  Or start a PostgreSQL server and set PGHOST/PGPORT/PGUSER (the role must be able to create databases)."
  fi
fi
if ((${#missing[@]})); then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || true
    apt-get install -y -qq "${missing[@]}" >/dev/null ||
      die "apt-get could not install: ${missing[*]}. Install them by hand and re-run."
  else
    die "missing system packages: ${missing[*]}. Install them (e.g. sudo apt-get install ${missing[*]}) and re-run."
  fi
fi

# -- Odoo source -------------------------------------------------------------
if [ ! -f "$ODOO_SRC/odoo/release.py" ]; then
  say "no Odoo source at $ODOO_SRC; downloading the official 18.0 nightly"
  mkdir -p "$ODOO_SRC.part"
  if curl -fsSL --max-time 600 "$ODOO_NIGHTLY_URL" | tar -xz --strip-components=1 -C "$ODOO_SRC.part" 2>/dev/null &&
    [ -f "$ODOO_SRC.part/odoo/release.py" ]; then
    rm -rf "$ODOO_SRC" && mv "$ODOO_SRC.part" "$ODOO_SRC"
  else
    rm -rf "$ODOO_SRC.part"
    die "Odoo 18.0 source not found at $ODOO_SRC and the download from $ODOO_NIGHTLY_URL failed.
  Put an Odoo 18.0 Community source tree there (the folder holding odoo/, odoo-bin, setup.py), e.g.
    git clone --depth 1 -b 18.0 https://github.com/odoo/odoo \"$ODOO_SRC\"
  or point ODOO_SRC at an existing one: make test ODOO_SRC=/path/to/odoo"
  fi
fi
grep -q "version_info = (18, 0" "$ODOO_SRC/odoo/release.py" ||
  die "$ODOO_SRC does not hold Odoo 18.0 (odoo/release.py says otherwise)."

# -- Virtualenv ----------------------------------------------------------------
req_hash=$(cat "$here"/requirements-odoo.txt "$here"/requirements.txt "$here"/requirements-test.txt | sha1sum | cut -c1-16)
if [ "$(cat "$VENV/.complete" 2>/dev/null)" != "$req_hash" ]; then
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating virtualenv $VENV (first run only: a few minutes)"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install -q --upgrade 'pip<25' 'setuptools<70' wheel
  else
    say "requirements changed: updating $VENV"
  fi
  # Old sdists (python-ldap, psycopg2, ...) need setuptools<70 without isolation.
  "$VENV/bin/pip" install -q --no-build-isolation \
    -r "$here/requirements-odoo.txt" -r "$here/requirements.txt" -r "$here/requirements-test.txt" ||
    die "pip could not install the requirements (see above)."
  echo "$req_hash" >"$VENV/.complete"
fi
# Odoo is used from its source tree (never copied into this repository).
site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$ODOO_SRC" >"$site/odoo-src.pth"
"$VENV/bin/python" -c 'import odoo.release as r; assert r.version_info[:2] == (18, 0)' ||
  die "the virtualenv cannot import Odoo 18.0 from $ODOO_SRC."

# -- OCA add-ons we coexist with (tests) ---------------------------------------
# OCA's delivery_state, from its PyPI wheel, unpacked into $OCA_ADDONS_DIR (an
# add-ons folder on the path; never copied into this repository). Pinned in
# requirements-oca.txt.
oca_pin=$(grep -vE '^[[:space:]]*(#|$)' "$here/requirements-oca.txt" | paste -sd' ' -)
if [ "$(cat "$OCA_ADDONS_DIR/.complete" 2>/dev/null)" != "$oca_pin" ]; then
  say "fetching OCA add-ons: $oca_pin"
  wheels=$(mktemp -d)
  # shellcheck disable=SC2086
  "$VENV/bin/pip" download -q --no-deps --only-binary=:all: -d "$wheels" $oca_pin ||
    die "pip could not download $oca_pin (OCA add-ons the coexistence tests install). Check access to PyPI, or unpack their odoo/addons/<name> folders into $OCA_ADDONS_DIR by hand."
  rm -rf "$OCA_ADDONS_DIR" && mkdir -p "$OCA_ADDONS_DIR"
  "$VENV/bin/python" - "$wheels" "$OCA_ADDONS_DIR" <<'PY' || die "could not unpack the OCA wheels into $OCA_ADDONS_DIR."
import pathlib, sys, zipfile
source, target = map(pathlib.Path, sys.argv[1:])
for wheel in source.glob("*.whl"):
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            parts = pathlib.PurePosixPath(name).parts
            # odoo/addons/<module>/...: the add-on folder, nothing else.
            if len(parts) > 3 and parts[:2] == ("odoo", "addons") and ".." not in parts:
                path = target.joinpath(*parts[2:])
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(archive.read(name))
PY
  rm -rf "$wheels"
  echo "$oca_pin" >"$OCA_ADDONS_DIR/.complete"
fi
say "ready: Odoo $("$VENV/bin/python" -c 'import odoo.release as r; print(r.version)') from $ODOO_SRC, venv $VENV"
