#!/usr/bin/env bash
# embedq services: make Redis and Postgres+pgvector reachable at REDIS_URL / DATABASE_URL.
#
#   scripts/services.sh up       ensure both answer (reuse, start local, install, or docker)
#   scripts/services.sh down     stop the local instances this script started (by recorded PID)
#   scripts/services.sh status   say what answers where
#
# Order of attempts for `up` (each step only if the previous did not give a working service):
#   1. the configured URLs already answer (and CREATE EXTENSION vector works): do nothing;
#   2. the binaries are installed: start local instances under .data/ on loopback, non-default ports;
#   3. Debian/Ubuntu as root: apt-get the missing parts (redis-server, postgresql-15, pgvector built
#      from Debian's own source package), then step 2;
#   4. a Docker engine answers: docker compose up -d redis postgres;
#   5. stop with a message naming what is missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${EMBEDQ_DATA_DIR:-$ROOT/.data}"
DEFAULT_REDIS_URL="redis://127.0.0.1:56379"
DEFAULT_DATABASE_URL="postgres://embedq@127.0.0.1:55432/embedq"
REDIS_URL="${REDIS_URL:-$DEFAULT_REDIS_URL}"
DATABASE_URL="${DATABASE_URL:-$DEFAULT_DATABASE_URL}"
PG_MAJOR="${EMBEDQ_PG_MAJOR:-15}"
QUIET="${EMBEDQ_SERVICES_QUIET:-}"
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"

say() { [ -n "$QUIET" ] || echo "services: $*" >&2; }
die() { echo "services: $*" >&2; exit 1; }

# --- URL parsing (scheme://[user[:pass]@]host[:port][/db]) ------------------------------------
url_host() { local u="${1#*://}"; u="${u##*@}"; u="${u%%/*}"; u="${u%%\?*}"; echo "${u%%:*}"; }
url_port() { local u="${1#*://}"; u="${u##*@}"; u="${u%%/*}"; u="${u%%\?*}"; [[ "$u" == *:* ]] && echo "${u##*:}" || echo "$2"; }
url_user() { local u="${1#*://}"; [[ "$u" == *@* ]] || { echo ""; return; }; u="${u%%@*}"; echo "${u%%:*}"; }
url_pass() { local u="${1#*://}"; [[ "$u" == *@* ]] || { echo ""; return; }; u="${u%%@*}"; [[ "$u" == *:* ]] && echo "${u#*:}" || echo ""; }
url_db()   { local u="${1#*://}"; u="${u#*@}"; [[ "$u" == */* ]] || { echo ""; return; }; u="${u#*/}"; echo "${u%%\?*}"; }
redact()   { echo "$1" | sed -E 's#(://[^:/@]*):[^@]*@#\1:***@#'; }
is_loopback() { case "$1" in 127.*|localhost|::1|"[::1]") return 0 ;; *) return 1 ;; esac; }

REDIS_HOST="$(url_host "$REDIS_URL")"; REDIS_PORT="$(url_port "$REDIS_URL" 6379)"
PG_HOST="$(url_host "$DATABASE_URL")"; PG_PORT="$(url_port "$DATABASE_URL" 5432)"
PG_USER="$(url_user "$DATABASE_URL")"; PG_USER="${PG_USER:-embedq}"
PG_DB="$(url_db "$DATABASE_URL")"; PG_DB="${PG_DB:-embedq}"

pg_bindir() {
  if [ -n "${EMBEDQ_PG_BINDIR:-}" ]; then echo "$EMBEDQ_PG_BINDIR"; return; fi
  if [ -x "/usr/lib/postgresql/$PG_MAJOR/bin/postgres" ]; then echo "/usr/lib/postgresql/$PG_MAJOR/bin"; return; fi
  local d; d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
  if [ -n "$d" ] && [ -x "$d/postgres" ]; then echo "$d"; return; fi
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/postgres" ]; then pg_config --bindir; return; fi
  echo ""
}

# --- probes -----------------------------------------------------------------------------------
# Redis PING over bash's /dev/tcp, so no client binary is needed to tell whether Redis answers.
redis_answers() {
  local pass; pass="$(url_pass "$REDIS_URL")"
  local user; user="$(url_user "$REDIS_URL")"
  { exec 9<>"/dev/tcp/$REDIS_HOST/$REDIS_PORT"; } 2>/dev/null || return 1
  if [ -n "$pass" ]; then
    if [ -n "$user" ]; then printf 'AUTH %s %s\r\n' "$user" "$pass" >&9; else printf 'AUTH %s\r\n' "$pass" >&9; fi
    local a; IFS= read -r -t 2 a <&9 || { exec 9>&-; return 1; }
  fi
  printf 'PING\r\n' >&9
  local r=""; IFS= read -r -t 2 r <&9 || true
  exec 9>&- 9<&- || true
  [[ "$r" == +PONG* ]]
}

psql_bin() { local b; b="$(pg_bindir)"; if [ -n "$b" ] && [ -x "$b/psql" ]; then echo "$b/psql"; elif command -v psql >/dev/null 2>&1; then command -v psql; else echo ""; fi; }

# 0 = answers and pgvector works; 1 = does not answer; 2 = answers but no pgvector
pg_state() {
  local psql; psql="$(psql_bin)"; [ -n "$psql" ] || return 1
  PGCONNECT_TIMEOUT=3 "$psql" "$DATABASE_URL" -qAtX -c 'select 1' >/dev/null 2>&1 || return 1
  PGCONNECT_TIMEOUT=3 "$psql" "$DATABASE_URL" -qAtX -c 'CREATE EXTENSION IF NOT EXISTS vector' >/dev/null 2>&1 || return 2
  return 0
}

pgvector_installed() {
  local b; b="$(pg_bindir)"; [ -n "$b" ] || return 1
  local share; share="$("$b/pg_config" --sharedir 2>/dev/null || echo "/usr/share/postgresql/$PG_MAJOR")"
  [ -f "$share/extension/vector.control" ]
}

# --- local instances --------------------------------------------------------------------------
as_pg_user() {
  # Postgres refuses to run as root; when we are root, run it as the `postgres` system user.
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

ensure_traversable() {
  # The postgres user must reach $DATA; mktemp-made checkouts are 0700. Add o+x (traverse only,
  # not list) on the folders in the way.
  [ "$(id -u)" = 0 ] || return 0
  local d="$1"
  while [ "$d" != "/" ]; do
    if ! runuser -u postgres -- test -x "$d" 2>/dev/null; then chmod o+x "$d"; fi
    d="$(dirname "$d")"
  done
}

start_redis() {
  is_loopback "$REDIS_HOST" || die "REDIS_URL $(redact "$REDIS_URL") does not answer and is not on this machine; fix the URL, or unset REDIS_URL to use a local instance"
  command -v redis-server >/dev/null 2>&1 || return 1
  mkdir -p "$DATA/redis"
  say "starting redis-server on $REDIS_HOST:$REDIS_PORT (data in ${DATA#$ROOT/}/redis)"
  local pass; pass="$(url_pass "$REDIS_URL")"
  local args=(--bind 127.0.0.1 --port "$REDIS_PORT" --dir "$DATA/redis" --daemonize yes
    --pidfile "$DATA/redis/redis.pid" --logfile "$DATA/redis/redis.log"
    --appendonly yes --save "" --maxmemory-policy noeviction --protected-mode yes)
  [ -n "$pass" ] && args+=(--requirepass "$pass")
  redis-server "${args[@]}" >/dev/null
  for _ in $(seq 1 50); do redis_answers && return 0; sleep 0.1; done
  die "redis-server did not answer on port $REDIS_PORT; see ${DATA}/redis/redis.log"
}

start_postgres() {
  is_loopback "$PG_HOST" || die "DATABASE_URL $(redact "$DATABASE_URL") does not answer and is not on this machine; fix the URL, or unset DATABASE_URL to use a local instance"
  local bin; bin="$(pg_bindir)"; [ -n "$bin" ] || return 1
  local pgdata="$DATA/pg"
  mkdir -p "$DATA"
  ensure_traversable "$DATA"
  if [ ! -f "$pgdata/PG_VERSION" ]; then
    say "initialising a Postgres cluster in ${pgdata#$ROOT/}"
    mkdir -p "$pgdata"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$pgdata"
    chmod 700 "$pgdata"
    as_pg_user "$bin/initdb" -D "$pgdata" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
    cat >>"$pgdata/postgresql.conf" <<CONF
# embedq local instance (scripts/services.sh)
listen_addresses = '127.0.0.1'
unix_socket_directories = '$pgdata'
max_connections = 300
shared_buffers = 512MB
maintenance_work_mem = 1GB
max_wal_size = 4GB
shared_preload_libraries = 'pg_stat_statements'
CONF
  fi
  say "starting postgres $("$bin/postgres" --version | awk '{print $3}') on $PG_HOST:$PG_PORT (data in ${pgdata#$ROOT/})"
  as_pg_user "$bin/pg_ctl" -D "$pgdata" -o "-p $PG_PORT" -l "$pgdata/server.log" -w -t 60 start >/dev/null \
    || die "postgres did not start; see $pgdata/server.log"
  head -1 "$pgdata/postmaster.pid" >"$DATA/postgres.pid"
  local psql="$bin/psql" admin="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
  local pass; pass="$(url_pass "$DATABASE_URL")"
  if ! "$psql" "$admin" -qAtX -c "select 1 from pg_roles where rolname='$PG_USER'" | grep -q 1; then
    "$psql" "$admin" -qAtX -c "CREATE ROLE \"$PG_USER\" LOGIN SUPERUSER${pass:+ PASSWORD '$pass'}" >/dev/null
  fi
  if ! "$psql" "$admin" -qAtX -c "select 1 from pg_database where datname='$PG_DB'" | grep -q 1; then
    "$psql" "$admin" -qAtX -c "CREATE DATABASE \"$PG_DB\" OWNER \"$PG_USER\"" >/dev/null
  fi
  "$psql" "postgres://postgres@127.0.0.1:$PG_PORT/$PG_DB" -qAtX -c 'CREATE EXTENSION IF NOT EXISTS vector; CREATE EXTENSION IF NOT EXISTS pg_stat_statements' >/dev/null \
    || die "postgres started but CREATE EXTENSION vector failed; is pgvector built for PostgreSQL $PG_MAJOR?"
}

# --- installing -------------------------------------------------------------------------------
can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }

apt_install() {
  local need=()
  command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
  [ -n "$(pg_bindir)" ] || need+=("postgresql-$PG_MAJOR")
  if ! pgvector_installed; then need+=("postgresql-server-dev-$PG_MAJOR" make gcc dpkg-dev); fi
  [ ${#need[@]} -gt 0 ] || return 0
  say "installing with apt-get: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # Debian's postgresql package starts a cluster on 5432; we run our own, so leave that one alone.
  pgvector_installed || build_pgvector
}

build_pgvector() {
  # Debian 12 has no pgvector binary for PostgreSQL 15; build Debian's own source package (from
  # the trixie suite's deb-src) against postgresql-server-dev. A deb-src entry does not change
  # which binary packages apt installs.
  local list=/etc/apt/sources.list.d/embedq-pgvector-src.sources
  if ! apt-get source --print-uris -qq pgvector >/dev/null 2>&1; then
    say "adding Debian trixie deb-src (source packages only) to fetch pgvector's source"
    cat >"$list" <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    apt-get update -qq >/dev/null
  fi
  local work; work="$(mktemp -d)"
  say "building pgvector from Debian's source package for PostgreSQL $PG_MAJOR"
  (cd "$work" && apt-get source -qq --download-only pgvector >/dev/null 2>&1 && tar xzf pgvector_*.orig.tar.gz) \
    || die "could not download pgvector's source package"
  local src; src="$(ls -d "$work"/pgvector-*/ | head -1)"
  local pgc; pgc="$(pg_bindir)/pg_config"
  # OPTFLAGS="" avoids -march=native so the build runs on any x86-64 machine the data dir moves to.
  make -s -C "$src" PG_CONFIG="$pgc" OPTFLAGS="" >/dev/null 2>&1 && make -s -C "$src" PG_CONFIG="$pgc" install >/dev/null 2>&1 \
    || die "building pgvector failed (in $work)"
  rm -rf "$work"
}

docker_up() {
  command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1 || return 1
  say "starting redis and postgres with docker compose"
  (cd "$ROOT" && docker compose up -d --wait redis postgres)
}

# --- commands ---------------------------------------------------------------------------------
up() {
  local redis_ok=0 pg=1
  redis_answers && redis_ok=1
  pg_state && pg=0 || pg=$?
  if [ "$redis_ok" = 1 ] && [ "$pg" = 0 ]; then say "redis and postgres+pgvector already answer"; return 0; fi
  if [ "$pg" = 2 ]; then
    if is_loopback "$PG_HOST" && [ -f "$DATA/postgres.pid" ] && ! pgvector_installed && can_apt; then
      apt_install
      pg_state || die "postgres at $(redact "$DATABASE_URL") still has no pgvector after installing it; restart it (scripts/services.sh down && up)"
    else
      die "postgres at $(redact "$DATABASE_URL") answers but CREATE EXTENSION vector fails: install pgvector there (https://github.com/pgvector/pgvector#installation) or point DATABASE_URL at a server that has it"
    fi
  fi
  if [ "$redis_ok" = 0 ] && ! command -v redis-server >/dev/null 2>&1 || { [ "$pg" = 1 ] && { [ -z "$(pg_bindir)" ] || ! pgvector_installed; }; }; then
    if can_apt; then apt_install
    elif docker_up; then redis_answers && pg_state && return 0
    else
      local missing=()
      command -v redis-server >/dev/null 2>&1 || missing+=("redis-server (apt-get install redis-server)")
      [ -n "$(pg_bindir)" ] || missing+=("PostgreSQL $PG_MAJOR (apt-get install postgresql-$PG_MAJOR)")
      pgvector_installed || missing+=("pgvector for PostgreSQL $PG_MAJOR (https://github.com/pgvector/pgvector#installation)")
      die "missing: ${missing[*]}. Install them (as root this script does it with apt-get), start a Docker engine, or set REDIS_URL/DATABASE_URL to running servers."
    fi
  fi
  [ "$redis_ok" = 1 ] || start_redis
  [ "$pg" = 0 ] || start_postgres
  redis_answers || die "redis does not answer at $(redact "$REDIS_URL")"
  pg_state || die "postgres+pgvector does not answer at $(redact "$DATABASE_URL")"
  say "ready: REDIS_URL=$(redact "$REDIS_URL") DATABASE_URL=$(redact "$DATABASE_URL")"
}

down() {
  if [ -f "$DATA/redis/redis.pid" ]; then
    local pid; pid="$(cat "$DATA/redis/redis.pid")"
    if kill -0 "$pid" 2>/dev/null; then say "stopping redis (pid $pid)"; kill "$pid"; fi
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$DATA/redis/redis.pid"
  fi
  if [ -f "$DATA/postgres.pid" ]; then
    local bin; bin="$(pg_bindir)"
    say "stopping postgres (pid $(cat "$DATA/postgres.pid"))"
    as_pg_user "$bin/pg_ctl" -D "$DATA/pg" -m fast -w stop >/dev/null 2>&1 || kill "$(cat "$DATA/postgres.pid")" 2>/dev/null || true
    rm -f "$DATA/postgres.pid"
  fi
}

status() {
  local rc=0
  if redis_answers; then echo "redis:    up   $(redact "$REDIS_URL")"; else echo "redis:    down $(redact "$REDIS_URL")"; rc=1; fi
  local s=0; pg_state || s=$?
  case "$s" in
    0) echo "postgres: up   $(redact "$DATABASE_URL") (pgvector ok)" ;;
    2) echo "postgres: up   $(redact "$DATABASE_URL") but CREATE EXTENSION vector fails"; rc=1 ;;
    *) echo "postgres: down $(redact "$DATABASE_URL")"; rc=1 ;;
  esac
  return $rc
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  env) echo "export REDIS_URL='$REDIS_URL' DATABASE_URL='$DATABASE_URL'" ;;
  *) echo "usage: scripts/services.sh up|down|status" >&2; exit 2 ;;
esac
