#!/usr/bin/env bash
# The private PostgreSQL cluster of `make run` and `make test`, for a machine where
# no PostgreSQL answers on PGHOST:PGPORT: PostgreSQL's own initdb and pg_ctl
# (Debian's postgresql package, which scripts/setup.sh installs as root), a
# cluster in $PG_PRIVATE_DIR (default $CACHE_DIR/postgresql) created once, then
# reused by every run. It keeps running after the command that started it, until
# `make stop`.
#
# It takes no TCP connection: it listens on a Unix socket in $PG_PRIVATE_DIR/run
# (port $PG_PRIVATE_PORT, default 15432, names the socket), owner-only, with peer
# authentication, its superuser being your user name: no other user of the
# machine can reach it and no port can clash with another server.
#
# As root, initdb and the server run as the system user postgres (PostgreSQL
# refuses to run as root; Debian's package creates that user). That user cannot
# enter /root, so root's cluster then lives in ~postgres/shipment_tracking-<n>,
# linked from $PG_PRIVATE_DIR.
#
# Sourced (scripts/run_demo.sh, scripts/run_tests.sh): pg_ensure exports PGHOST,
# PGPORT and PGUSER of a server that lets PGUSER in, starting the private cluster
# when needed. Run as a command:
#   pg_private.sh ensure   as pg_ensure, then prints PGHOST=, PGPORT=, PGUSER= lines
#   pg_private.sh stop     stops the private cluster (nothing else)
#   pg_private.sh status   exit 0 when it runs, 3 when it does not
# The first two read the settings of scripts/env.sh; `ensure` needs the
# virtualenv ($VENV) for scripts/pgtool.py.

pg_say() { printf '[postgres] %s\n' "$*" >&2; }
pg_die() {
  printf '\n[postgres] ERROR: %s\n\n' "$*" >&2
  exit 2
}

# True when PGHOST is this machine (a name, an address or a socket directory).
pg_is_local() {
  case "${PGHOST:-}" in
    "" | /* | localhost | 127.0.0.1 | ::1) return 0 ;;
    *) return 1 ;;
  esac
}

# True when something listens on PGHOST:PGPORT (no PostgreSQL handshake).
pg_listening() {
  # shellcheck disable=SC2016 # $0 and $1 are the inner shell's
  case "${PGHOST:-}" in
    "") [ -S "/var/run/postgresql/.s.PGSQL.$PGPORT" ] || [ -S "/tmp/.s.PGSQL.$PGPORT" ] ;;
    /*) [ -S "$PGHOST/.s.PGSQL.$PGPORT" ] ;;
    *) timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$PGHOST" "$PGPORT" 2>/dev/null ;;
  esac
}

# The folder of PostgreSQL's initdb and pg_ctl: the newest Debian one, else PATH.
pg_bindir() {
  local dir
  while read -r dir; do
    [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && {
      echo "$dir"
      return 0
    }
  done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -rV)
  dir=$(command -v pg_ctl 2>/dev/null) || return 1
  dir=$(dirname "$dir")
  [ -x "$dir/initdb" ] && echo "$dir"
}

pg_owner_check() {
  [ "$(id -u)" != 0 ] || id -u postgres >/dev/null 2>&1 ||
    pg_die "running as root: PostgreSQL does not run as root, and there is no system user 'postgres' to run the private cluster (Debian's postgresql package creates it). Install that package, run as a normal user, or point PGHOST/PGPORT/PGUSER at a PostgreSQL server."
}

# Run a command as the cluster's owner: you, or postgres when you are root.
pg_as_owner() {
  if [ "$(id -u)" = 0 ]; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# The cluster's real folder (see the header for root), created if needed.
pg_private_home() {
  local dir=${PG_PRIVATE_DIR:?} real
  if [ "$(id -u)" != 0 ]; then
    mkdir -p "$dir" && chmod 700 "$dir" && echo "$dir"
    return
  fi
  pg_owner_check
  mkdir -p "$(dirname "$dir")"
  if [ -L "$dir" ]; then
    readlink -f "$dir"
    return
  fi
  if pg_as_owner test -x "$(dirname "$dir")"; then
    install -d -o postgres -g "$(id -gn postgres)" -m 700 "$dir" && echo "$dir"
    return
  fi
  [ ! -e "$dir" ] ||
    pg_die "the private cluster's folder $dir is out of reach of the user postgres, who runs it: remove it, or set PG_PRIVATE_DIR to a folder that user can enter."
  real="$(getent passwd postgres | cut -d: -f6)/shipment_tracking-$(printf %s "$dir" | cksum | cut -d' ' -f1)"
  install -d -o postgres -g "$(id -gn postgres)" -m 700 "$real"
  ln -s "$real" "$dir"
  echo "$real"
}

# Line N of the running server's postmaster.pid (4: port, 5: socket folder).
pg_pid_line() { sed -n "${2}p" "$1/data/postmaster.pid" 2>/dev/null; }

pg_private_running() {
  local bindir=$1 home=$2
  [ -f "$home/data/PG_VERSION" ] &&
    pg_as_owner "$bindir/pg_ctl" status -D "$home/data" >/dev/null 2>&1
}

# Create (once) and start (unless it runs) the private cluster; sets PGHOST and
# PGPORT to it.
pg_private_start() {
  local bindir home locale=C
  bindir=$(pg_bindir) ||
    pg_die "PostgreSQL's server programs (initdb, pg_ctl) are not installed, so no private cluster can start. Install them (Debian/Ubuntu: sudo apt-get install postgresql; 'make setup' does it when run as root), or start a PostgreSQL server and set PGHOST/PGPORT/PGUSER."
  pg_owner_check
  home=$(pg_private_home) || exit 2
  [[ "$PG_PRIVATE_PORT" =~ ^[0-9]+$ ]] || pg_die "PG_PRIVATE_PORT must be a number, not '$PG_PRIVATE_PORT'"
  # A socket's path holds at most 107 bytes.
  ((${#home} + 20 <= 107)) ||
    pg_die "the private cluster's socket path under $home would be too long: set PG_PRIVATE_DIR to a shorter folder."
  if pg_private_running "$bindir" "$home"; then
    PGHOST=$(pg_pid_line "$home" 5) PGPORT=$(pg_pid_line "$home" 4)
    pg_say "private cluster already running ($home, socket $PGHOST, port $PGPORT)"
    return 0
  fi
  if [ ! -f "$home/data/PG_VERSION" ]; then
    pg_say "creating the private cluster in $home/data (once; superuser $PGUSER)"
    # What a failed initdb of ours left (its marker says so); any other
    # data folder is not ours to delete.
    if [ -e "$home/data" ]; then
      [ -f "$home/.initdb-started" ] ||
        pg_die "$home/data exists and is not a cluster this script created: move it away or set PG_PRIVATE_DIR"
      pg_as_owner rm -rf "${home:?}/data"
    fi
    pg_as_owner touch "$home/.initdb-started"
    pg_as_owner mkdir -m 700 -p "$home/run"
    # Not grep -q: locale would die of SIGPIPE and fail the pipeline.
    if locale -a 2>/dev/null | grep -ixE 'c\.utf-?8' >/dev/null; then locale=C.UTF-8; fi
    # The log is written by the owner too: root never writes into a folder
    # the postgres user controls.
    pg_as_owner "$bindir/initdb" -D "$home/data" -U "$PGUSER" -E UTF8 --locale="$locale" \
      --auth-local=peer --auth-host=reject 2>&1 | pg_as_owner tee "$home/initdb.log" >/dev/null ||
      true # judged by its result below
    [ -f "$home/data/PG_VERSION" ] ||
      pg_die "initdb failed (see $home/initdb.log): $(tail -n 3 "$home/initdb.log")"
    # Unix socket only; single quotes doubled for postgresql.conf.
    printf "listen_addresses = ''\nunix_socket_directories = '%s'\nunix_socket_permissions = 0700\n" \
      "${home//\'/\'\'}/run" | pg_as_owner tee -a "$home/data/postgresql.conf" >/dev/null
  fi
  pg_say "starting the private cluster ($home, port $PG_PRIVATE_PORT; log $home/server.log)"
  pg_as_owner "$bindir/pg_ctl" start -D "$home/data" -l "$home/server.log" -w -t 60 \
    -o "-p $PG_PRIVATE_PORT" >/dev/null ||
    pg_die "the private cluster did not start: $(tail -n 5 "$home/server.log" 2>/dev/null)"
  PGHOST="$home/run" PGPORT=$PG_PRIVATE_PORT
}

pg_private_stop() {
  local bindir home
  home=$(readlink -f "${PG_PRIVATE_DIR:?}" 2>/dev/null) || home=
  if ! bindir=$(pg_bindir) || [ -z "$home" ] || ! pg_private_running "$bindir" "$home"; then
    pg_say "no private cluster running (in $PG_PRIVATE_DIR)"
    return 0
  fi
  pg_say "stopping the private cluster ($home)"
  pg_as_owner "$bindir/pg_ctl" stop -D "$home/data" -m fast -w >/dev/null
}

# Point PGHOST/PGPORT/PGUSER at a server that lets PGUSER in: the one on
# PGHOST:PGPORT, else (PGHOST being this machine) the private cluster, when
# nothing listens there, or when a server listens but refuses PGUSER and
# PGHOST/PGPORT are not yours (Debian's package may have started its own
# cluster, which knows no role of yours).
pg_ensure() {
  local rc=0 why
  if pg_listening; then
    why=$("$VENV/bin/python" "$here/scripts/pgtool.py" ping 2>&1) || rc=$?
    case $rc in
      0) return 0 ;;
      3)
        why="PostgreSQL on $PGHOST:$PGPORT does not let role '$PGUSER' in: $why"
        if [ -n "${PG_SERVER_GIVEN:-}" ] || ! pg_is_local; then
          pg_die "$why
  Use a role that may create databases (PGUSER), or give it one (e.g. sudo -u postgres createuser --createdb $PGUSER)."
        fi
        ;;
      *) pg_die "could not check PostgreSQL on $PGHOST:$PGPORT: $why" ;;
    esac
  else
    why="nothing answers on $PGHOST:$PGPORT"
    pg_is_local ||
      pg_die "$why: start PostgreSQL on $PGHOST, or set PGHOST/PGPORT/PGUSER (a private cluster starts only when PGHOST is this machine)."
  fi
  pg_say "$why; using the private cluster"
  PGUSER=$(id -un)
  pg_private_start
  export PGHOST PGPORT PGUSER
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  here=$(cd "$(dirname "$0")/.." && pwd)
  # shellcheck source=scripts/env.sh
  source "$here/scripts/env.sh"
  case "${1:-}" in
    ensure)
      pg_ensure
      printf 'PGHOST=%s\nPGPORT=%s\nPGUSER=%s\n' "$PGHOST" "$PGPORT" "$PGUSER"
      ;;
    stop) pg_private_stop ;;
    status)
      home=$(readlink -f "$PG_PRIVATE_DIR" 2>/dev/null) && bindir=$(pg_bindir) &&
        pg_private_running "$bindir" "$home" || exit 3
      ;;
    *)
      sed -n '/^# Sourced/,/^# virtualenv/s/^# \{0,1\}//p' "$0" >&2
      exit 2
      ;;
  esac
fi
