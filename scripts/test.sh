#!/usr/bin/env bash
# `npm test`: lint, typecheck and vitest against real services, with nothing shared with the host:
#   - a throwaway PostgreSQL cluster on a free 127.0.0.1 port  -> DEPOTLINE_TEST_PG_URL
#   - a throwaway Redis on a free 127.0.0.1 port (no persistence) -> DEPOTLINE_TEST_REDIS_URL
#   - a private D-Bus session with an unlocked gnome-keyring   -> DEPOTLINE_TEST_KEYRING=1 (keytar works headless)
#   - the nginx binary (not started here: each multi-process test runs its own nginx on a free
#     loopback port, in its own temp directory, from deploy/nginx/depotline.conf) -> DEPOTLINE_TEST_NGINX
# Extra args go to vitest:  npm test -- sync-server
# Debugging aid: DEPOTLINE_TEST_CMD='<shell code>' replaces lint/typecheck/vitest with that code, run in
# the same environment, e.g.
#   DEPOTLINE_TEST_CMD='psql "$DEPOTLINE_TEST_PG_URL" -c "select 1" && redis-cli -u "$DEPOTLINE_TEST_REDIS_URL" ping && secret-tool lookup service depotline-probe account preflight' npm test
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

die() { printf 'test.sh: %s\n' "$*" >&2; exit 1; }
SETUP_HINT='run `npm run setup` (installs system packages)'

# --- prerequisites ----------------------------------------------------------------------------------
# Debian keeps server binaries off PATH, one directory per major version; take the newest usable one.
PG_BIN=
for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
  if [[ -x $dir/initdb && -x $dir/pg_ctl ]]; then PG_BIN=$dir; break; fi
done
[[ -n $PG_BIN ]] || die "PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin; $SETUP_HINT"
for tool in redis-server redis-cli dbus-run-session gnome-keyring-daemon secret-tool node; do
  command -v "$tool" >/dev/null || die "'$tool' not found; $SETUP_HINT"
done
# Debian installs nginx in /usr/sbin, which is not on every user's PATH.
NGINX_BIN=$(command -v nginx || true)
[[ -n $NGINX_BIN ]] || { [[ -x /usr/sbin/nginx ]] && NGINX_BIN=/usr/sbin/nginx; }
[[ -n $NGINX_BIN ]] || die "'nginx' not found (neither on PATH nor /usr/sbin/nginx); $SETUP_HINT"
export DEPOTLINE_TEST_NGINX=$NGINX_BIN

# --- scratch space, always removed ------------------------------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/depotline-test.XXXXXX")
PGDATA_DIR=$TMP/pg/data
AS_PG=()   # PostgreSQL refuses to run as root, so as root we run it as the Debian "postgres" user.
mkdir -p "$TMP/pg/sock" "$TMP/redis"
REDIS_PID=
if ((EUID == 0)); then
  chmod 711 "$TMP"   # postgres must traverse into its own subdirectory, but nothing else here
  chown -R postgres: "$TMP/pg"
  AS_PG=(runuser -u postgres --)
fi

cleanup() {
  local rc=$?
  if [[ -f $PGDATA_DIR/postmaster.pid ]]; then
    # immediate: the data is thrown away anyway, no point in a clean checkpoint
    "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m immediate stop >/dev/null 2>&1 || true
  fi
  if [[ -n $REDIS_PID ]]; then
    kill "$REDIS_PID" 2>/dev/null || true   # SIGTERM: Redis exits at once, nothing to save (--save '')
    wait "$REDIS_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT    # go through the EXIT trap so the servers are stopped on Ctrl-C too
trap 'exit 143' TERM

# --- throwaway PostgreSQL ---------------------------------------------------------------------------
echo "==> starting PostgreSQL ($PG_BIN)"
# trust auth is fine: the cluster only listens on 127.0.0.1 and a socket inside our private temp dir.
(cd "$TMP" && "${AS_PG[@]}" "$PG_BIN/initdb" -D "$PGDATA_DIR" --username=postgres --auth=trust \
  --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$TMP/initdb.log" 2>&1) \
  || { cat "$TMP/initdb.log" >&2; die "initdb failed"; }

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
# Another process may grab the port between picking and binding it, hence a few attempts.
for attempt in 1 2 3; do
  PG_PORT=$(free_port)
  # Durability settings off: nothing here needs to survive a crash, and tests run much faster.
  if (cd "$TMP" && "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$TMP/pg/server.log" -w -t 30 \
      -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $TMP/pg/sock -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >/dev/null); then
    break
  fi
  ((attempt < 3)) || { tail -n 20 "$TMP/pg/server.log" >&2; die "PostgreSQL did not start"; }
done
for _ in $(seq 50); do
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres && break
  sleep 0.2
done
"$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres || die "PostgreSQL is not answering on 127.0.0.1:$PG_PORT"
export DEPOTLINE_TEST_PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
export PATH="$PG_BIN:$PATH"   # psql/pg_dump matching the server version, for tests and DEPOTLINE_TEST_CMD
echo "    $DEPOTLINE_TEST_PG_URL"

# --- throwaway Redis --------------------------------------------------------------------------------
echo "==> starting Redis ($(command -v redis-server))"
# Loopback only, nothing written to disk (no RDB snapshots, no AOF), working dir inside $TMP. Tests
# share this one server, so each test picks its own key prefix.
for attempt in 1 2 3; do
  REDIS_PORT=$(free_port)
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --protected-mode yes --save '' --appendonly no \
    --dir "$TMP/redis" --logfile "$TMP/redis/server.log" >/dev/null 2>&1 &
  REDIS_PID=$!
  for _ in $(seq 50); do
    # the process ending means it could not start (most likely the port was taken meanwhile)
    kill -0 "$REDIS_PID" 2>/dev/null || break
    [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]] && break 2
    sleep 0.2
  done
  kill "$REDIS_PID" 2>/dev/null || true
  wait "$REDIS_PID" 2>/dev/null || true
  REDIS_PID=
  ((attempt < 3)) || { tail -n 20 "$TMP/redis/server.log" >&2 || true; die "Redis did not start"; }
done
export DEPOTLINE_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
echo "    $DEPOTLINE_TEST_REDIS_URL"

# --- private keychain + test steps ------------------------------------------------------------------
# Point gnome-keyring at directories inside $TMP: it keeps keyrings in $XDG_DATA_HOME/keyrings and its
# control socket in $XDG_RUNTIME_DIR, so it can neither read nor unlock the user's real keyring.
export XDG_DATA_HOME=$TMP/xdg-data XDG_RUNTIME_DIR=$TMP/xdg-run
mkdir -m 700 "$XDG_DATA_HOME" "$XDG_RUNTIME_DIR"
unset GNOME_KEYRING_CONTROL
DEPOTLINE_KEYRING_PW=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')   # throwaway; the keyring dies with $TMP
export DEPOTLINE_KEYRING_PW

set +e
# shellcheck disable=SC2016  # the inner script is expanded by the inner bash
dbus-run-session -- bash -c '
  set -euo pipefail
  echo "==> starting test keychain (gnome-keyring in a private D-Bus session)"
  eval "$(printf %s "$DEPOTLINE_KEYRING_PW" | gnome-keyring-daemon --unlock --components=secrets)"
  unset DEPOTLINE_KEYRING_PW
  # The daemon claims its bus name a moment after --unlock returns; asking earlier makes D-Bus
  # auto-start a second daemon (works, but races and floods stderr), so wait for the name first.
  for _ in $(seq 50); do
    dbus-send --session --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.NameHasOwner \
      string:org.freedesktop.secrets 2>/dev/null | grep -q "boolean true" && break
    sleep 0.1
  done
  # Cheap round trip through the Secret Service (what keytar uses); timeouts because a missing or
  # locked keyring tends to hang waiting for a prompt rather than fail.
  printf ok | timeout 10 secret-tool store --label=depotline-probe service depotline-probe account preflight \
    && [[ $(timeout 10 secret-tool lookup service depotline-probe account preflight) == ok ]] \
    || { echo "test.sh: the test keychain did not start (Secret Service not answering); run \`npm run setup\` (installs system packages)" >&2; exit 1; }
  export DEPOTLINE_TEST_KEYRING=1

  if [[ -n ${DEPOTLINE_TEST_CMD:-} ]]; then
    echo "==> DEPOTLINE_TEST_CMD: $DEPOTLINE_TEST_CMD"
    eval "$DEPOTLINE_TEST_CMD"
    exit
  fi
  echo "==> npm run lint";      npm run lint
  echo "==> npm run typecheck"; npm run typecheck
  echo "==> vitest run $*";     npx --no -- vitest run "$@"
' test.sh "$@"
rc=$?
set -e
((rc == 0)) && echo "==> all tests passed" || echo "==> FAILED (exit $rc)" >&2
exit "$rc"
