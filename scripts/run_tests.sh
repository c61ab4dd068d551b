#!/usr/bin/env bash
# Run the whole test suite against a throw-away database and print one last line
# `N passed, M failed[, K skipped]` (exit status 1 when M > 0).
#
#   A. Odoo: install sale_stock + stock_delivery with demo data (a database that
#      already has sales and deliveries), then install our add-ons with their
#      at_install/post_install tests, then upgrade them (-u) to prove upgrades work.
#      Then the time-dependent test classes (tag shipment_clock) run once more
#      under a system clock shifted CLOCK_SHIFT (default a year) ahead with
#      libfaketime: they must not depend on the day the suite runs.
#      Then the test suites of the modules we extend or live beside (Odoo's
#      stock_delivery, delivery and sale_stock, OCA's delivery_state: COEXIST_TAGS)
#      run on that database with our add-ons installed and the whole registry
#      loaded (scripts/odoo_suites.py): they must stay as green as without us.
#   B. pytest: the end-to-end tests in tests/, driving that database from outside.
#
# Environment (besides scripts/env.sh): ADDONS (comma list, default: every
# top-level folder holding a __manifest__.py), EXTRA_ADDONS_PATH (comma list
# appended to the addons path), E2E_TESTS_DIR (default tests), TEST_HTTP_PORT
# (default: a free port), VERBOSE=1 (stream the full Odoo logs), KEEP_LOGS=1
# (keep the log folder on success too), COEXIST_TAGS (test tags of the other
# modules' suites, default /stock_delivery,/delivery,/sale_stock,/delivery_state;
# empty: skip that step).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/env.sh
source "$here/scripts/env.sh"

say() { printf '==> %s\n' "$*"; }
die() { printf 'run_tests: %s\n' "$*" >&2; exit 2; }

PY="$VENV/bin/python"
ODOO_BIN="$ODOO_SRC/odoo-bin"
[ -x "$PY" ] || die "no virtualenv at $VENV: run 'make setup' (scripts/setup.sh) first"
[ -f "$ODOO_BIN" ] || die "no odoo-bin in $ODOO_SRC: run 'make setup' first"
pgtool() { "$PY" "$here/scripts/pgtool.py" "$@"; }
# The server on PGHOST:PGPORT, else the private cluster (started if need be).
# shellcheck source=scripts/pg_private.sh
source "$here/scripts/pg_private.sh"
pg_ensure

resolve_addons || die "no add-on found (no top-level folder holds a __manifest__.py)"
TEST_TAGS=$(printf '%s\n' "${ADDONS//,/$'\n'}" | sed 's|^|/|' | paste -sd, -)
# HttpCase tests start Odoo's HTTP server: keep clear of a `make run` on 8069.
TEST_HTTP_PORT=${TEST_HTTP_PORT:-$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
DB="shipment_test_$$"
DATA_DIR=$("$PY" -c 'from odoo.tools import config; print(config["data_dir"])' 2>/dev/null) || DATA_DIR=
LOG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/shipment_tests.XXXXXX")

server_pid=
all_ok=0
stop_server() {
  [ -n "$server_pid" ] || return 0
  if kill -0 "$server_pid" 2>/dev/null; then
    # Odoo runs in its own session (setsid): end it with its browsers and workers.
    kill -TERM -- "-$server_pid" 2>/dev/null || kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 20); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.5
    done
    kill -KILL -- "-$server_pid" 2>/dev/null || kill -KILL "$server_pid" 2>/dev/null || true
  fi
  server_pid=
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  # Silent: the summary line must stay the last line of output.
  {
    stop_server
    pgtool drop "$DB"
    [ -n "$DATA_DIR" ] && rm -rf "${DATA_DIR:?}/filestore/$DB"
    if [ "$all_ok" = 1 ] && [ "${KEEP_LOGS:-0}" != 1 ]; then rm -rf "$LOG_DIR"; fi
  } >/dev/null 2>&1 || true
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Show warnings, errors (with their tracebacks) and test summaries of an Odoo log.
filter_log() {
  if [ "${VERBOSE:-0}" = 1 ]; then cat; return; fi
  awk '
    /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9:,]+ [0-9]+ [A-Z]+ / {
      show = ($4 == "WARNING" || $4 == "ERROR" || $4 == "CRITICAL" ||
              $0 ~ / odoo\.tests\.(result|stats): / || $0 ~ / post-tests in /)
      if (show) print
      fflush()
      next
    }
    show { print; fflush() }
  '
}

# run_odoo LABEL ARGS... : run odoo-bin on $DB, log to $LOG_DIR/LABEL.log, stream
# the filtered log, set $odoo_rc. ODOO_WRAPPER (an array) prefixes the command,
# ODOO_RUNNER replaces odoo-bin.
odoo_rc=0
ODOO_WRAPPER=()
ODOO_RUNNER=$ODOO_BIN
run_odoo() {
  local label=$1 log="$LOG_DIR/$1.log"
  shift
  : >"$log"
  setsid "${ODOO_WRAPPER[@]}" "$PY" "$ODOO_RUNNER" -d "$DB" \
    --db_host "$PGHOST" --db_port "$PGPORT" --db_user "$PGUSER" \
    --addons-path="$ODOO_ADDONS_PATH" --http-port "$TEST_HTTP_PORT" \
    --workers 0 --max-cron-threads 0 --stop-after-init "$@" \
    </dev/null >"$log" 2>&1 &
  server_pid=$!
  # In the background too: the `wait`s below let the INT/TERM traps run at once.
  tail -n +1 -F --pid="$server_pid" "$log" 2>/dev/null | filter_log &
  local tail_pid=$!
  odoo_rc=0
  wait "$server_pid" || odoo_rc=$?
  server_pid=
  wait "$tail_pid" || true # tail ends once it has printed the end of the log
}

# Counters for the final line.
passed=0 failed=0 skipped=0
details=()

# count_odoo LABEL : add the test results of one Odoo log to the counters; an
# Odoo run that crashed or logged errors outside failing tests counts as one
# failed "install/upgrade" item.
count_odoo() {
  local label=$1 log="$LOG_DIR/$1.log" summary total=0 fail=0 err=0 skip stray crit
  # odoo/service/server.py: "<F> failed, <E> error(s) of <N> tests when loading database '<db>'"
  summary=$(grep -oE '[0-9]+ failed, [0-9]+ error\(s\) of [0-9]+ tests when loading database' "$log" | tail -n 1 || true)
  if [ -n "$summary" ]; then
    read -r fail err total < <(sed -E 's/^([0-9]+) failed, ([0-9]+) error\(s\) of ([0-9]+) tests.*/\1 \2 \3/' <<<"$summary")
  fi
  # odoo/tests/result.py addSkip: "<logger>: skipped <Class.method> : <reason>"
  skip=$(grep -cE '^[0-9-]+ [0-9:,]+ [0-9]+ INFO [^ ]+ [^ ]+: skipped ' "$log" || true)
  local ok=$((total - fail - err - skip))
  ((ok < 0)) && ok=0
  passed=$((passed + ok)) failed=$((failed + fail + err)) skipped=$((skipped + skip))
  # ERROR lines that are not a failing test's own report.
  stray=$(grep -E '^[0-9-]+ [0-9:,]+ [0-9]+ (ERROR|CRITICAL) ' "$log" |
    grep -vE ' odoo\.addons\.[^ ]+\.tests[.:]| odoo\.tests[.:]| odoo\.modules\.loading: (Module [^ ]+: [0-9]+ failures|At least one test failed)' |
    wc -l || true)
  crit=$(grep -cE '^[0-9-]+ [0-9:,]+ [0-9]+ CRITICAL ' "$log" || true)
  local why=
  if ((crit > 0)); then
    why="CRITICAL log lines"
  elif ((odoo_rc != 0 && fail + err == 0)); then
    why="odoo-bin exited with status $odoo_rc"
  elif ((stray > 0 && fail + err == 0)); then
    why="$stray ERROR log line(s)"
  fi
  if [ -n "$why" ]; then
    failed=$((failed + 1))
    details+=("$label: FAILED install/upgrade ($why), see $log")
  fi
  if ((total > 0)); then
    details+=("$label: $total Odoo tests: $ok passed, $fail failed, $err error(s), $skip skipped")
  fi
}

# Print the breakdown and the summary line, then exit.
finish() {
  local line="$passed passed, $failed failed"
  ((skipped > 0)) && line+=", $skipped skipped"
  echo
  printf '  %s\n' "${details[@]}"
  if ((failed > 0)); then
    echo "  logs kept in $LOG_DIR"
  else
    all_ok=1
  fi
  printf '%s\n' "$line"
  if ((failed > 0)); then exit 1; fi
  exit 0
}

t_start=$SECONDS
say "database $DB; add-ons: $ADDONS; logs: $LOG_DIR"

# -- A1. existing data: sale_stock + stock_delivery with demo data -------------
say "[1/6] installing sale_stock, stock_delivery with demo data"
t0=$SECONDS
run_odoo 1-base -i sale_stock,stock_delivery --log-level=warn
count_odoo 1-base
echo "    ($((SECONDS - t0))s)"
if ! pgtool installed "$DB" sale_stock,stock_delivery; then
  details+=("1-base: sale_stock/stock_delivery are not installed, stopping")
  ((failed > 0)) || failed=1
  finish
fi

# -- A2. install our add-ons and run their tests --------------------------------
say "[2/6] installing $ADDONS and running their tests (tags $TEST_TAGS)"
t0=$SECONDS
run_odoo 2-install -i "$ADDONS" --test-enable --test-tags "$TEST_TAGS"
count_odoo 2-install
echo "    ($((SECONDS - t0))s)"
if ! pgtool installed "$DB" "$ADDONS"; then
  details+=("2-install: $ADDONS not installed, skipping upgrade and end-to-end tests")
  ((failed > 0)) || failed=1
  finish
fi

# -- A3. upgrade ------------------------------------------------------------------
say "[3/6] upgrading $ADDONS"
t0=$SECONDS
run_odoo 3-upgrade -u "$ADDONS"
count_odoo 3-upgrade
echo "    ($((SECONDS - t0))s)"

# -- A4. the time-dependent tests on a shifted clock ------------------------------
CLOCK_SHIFT=${CLOCK_SHIFT:-+365d}
say "[4/6] time-dependent tests (tag shipment_clock) on a clock shifted $CLOCK_SHIFT"
t0=$SECONDS
ODOO_WRAPPER=(faketime -f "$CLOCK_SHIFT")
run_odoo 4-shifted-clock --test-enable --test-tags shipment_clock
ODOO_WRAPPER=()
count_odoo 4-shifted-clock
if ! grep -q ' tests when loading database' "$LOG_DIR/4-shifted-clock.log"; then
  failed=$((failed + 1))
  details+=("4-shifted-clock: FAILED no test ran under the shifted clock, see $LOG_DIR/4-shifted-clock.log")
fi
echo "    ($((SECONDS - t0))s)"

# -- A5. the suites of the modules we extend, with our add-ons installed ----------
COEXIST_TAGS=${COEXIST_TAGS-/stock_delivery,/delivery,/sale_stock,/delivery_state}
if [ -n "$COEXIST_TAGS" ]; then
  say "[5/6] other modules' tests with our add-ons installed (tags $COEXIST_TAGS)"
  t0=$SECONDS
  ODOO_RUNNER="$here/scripts/odoo_suites.py"
  run_odoo 5-coexistence --test-enable --test-tags "$COEXIST_TAGS"
  ODOO_RUNNER=$ODOO_BIN
  count_odoo 5-coexistence
  if ! grep -q ' tests when loading database' "$LOG_DIR/5-coexistence.log"; then
    failed=$((failed + 1))
    details+=("5-coexistence: FAILED no test ran, see $LOG_DIR/5-coexistence.log")
  fi
  echo "    ($((SECONDS - t0))s)"
else
  say "[5/6] other modules' tests: skipped (COEXIST_TAGS is empty)"
fi

# -- B. end-to-end tests ---------------------------------------------------------------
E2E_TESTS_DIR=${E2E_TESTS_DIR:-tests}
if [ -d "$here/$E2E_TESTS_DIR" ] || [ -d "$E2E_TESTS_DIR" ]; then
  e2e_files=$(cd "$here" && find "$E2E_TESTS_DIR" -name 'test_*.py' -o -name '*_test.py' | head -n 1)
else
  e2e_files=
fi
if [ -n "$e2e_files" ]; then
  say "[6/6] end-to-end tests (pytest $E2E_TESTS_DIR)"
  t0=$SECONDS
  junit="$LOG_DIR/pytest.xml"
  export ODOO_BIN ODOO_ADDONS_PATH PGHOST PGPORT PGUSER
  export E2E_DB="$DB" ODOO_PYTHON="$PY"
  pytest_rc=0
  (cd "$here" && "$PY" -m pytest "$E2E_TESTS_DIR" -q -p no:cacheprovider --junitxml="$junit" </dev/null) 2>&1 |
    tee "$LOG_DIR/6-pytest.log" || pytest_rc=${PIPESTATUS[0]}
  echo "    ($((SECONDS - t0))s)"
  read -r p_tests p_fail p_err p_skip < <("$PY" - "$junit" <<'PY' 2>/dev/null || echo "0 0 0 0"
import sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
totals = [0, 0, 0, 0]
for suite in suites:
    for i, key in enumerate(("tests", "failures", "errors", "skipped")):
        totals[i] += int(suite.get(key, 0))
print(*totals)
PY
  )
  p_ok=$((p_tests - p_fail - p_err - p_skip))
  ((p_ok < 0)) && p_ok=0
  passed=$((passed + p_ok)) failed=$((failed + p_fail + p_err)) skipped=$((skipped + p_skip))
  details+=("6-pytest: $p_tests end-to-end tests: $p_ok passed, $p_fail failed, $p_err error(s), $p_skip skipped")
  # 1: some tests failed (counted above); 5: no tests collected (not a failure).
  if ((pytest_rc != 0 && pytest_rc != 1 && pytest_rc != 5)) ||
    ((pytest_rc == 1 && p_fail + p_err == 0)); then
    failed=$((failed + 1))
    details+=("6-pytest: FAILED pytest exited with status $pytest_rc")
  fi
else
  say "[6/6] no end-to-end tests in $E2E_TESTS_DIR/"
fi

details+=("total time $((SECONDS - t_start))s")
finish
