#!/usr/bin/env bash
# A real Citus cluster on this machine, for the scale-out part of the suite (issue 17, README "Scaling out").
#
#   citus_cluster.sh up              build Citus (cached), create/start a coordinator (no shards) and two workers,
#                                    create the product's roles and the `cxm` database with the extension everywhere
#   citus_cluster.sh test            migrate a fresh database on the cluster as the owner role, distribute it
#                                    (manage.py citus_distribute), run the cluster subset of the suite on it
#   citus_cluster.sh down [--purge]  stop the three clusters (--purge: drop them and their data)
#
# Three PostgreSQL 15 clusters (pg_createcluster), on loopback only, trust auth, fsync off: a throwaway test
# cluster. Ports 5440 (coordinator), 5441 and 5442 (workers). The main cluster on 5432 is never touched.
# Needs root (build, pg_createcluster). Every step is idempotent: `up` twice is fine.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

PG_VERSION=15
HOST=127.0.0.1
COORDINATOR=citus_coord:5440
WORKERS=(citus_w1:5441 citus_w2:5442)
NODES=("$COORDINATOR" "${WORKERS[@]}")
OWNER_ROLE=${PG_OWNER_ROLE:-cxm_owner}
APP_ROLE=${DATABASE_APP_ROLE:-cxm_app}
DATABASE=cxm                                     # what `up` prepares, like scripts/pg_setup.py on one server
TEST_DATABASE=${CITUS_TEST_DATABASE:-test_cxm_citus}  # what `test` migrates, distributes and tests on
PY=$ROOT/.venv/bin/python

say() { printf '[citus] %s\n' "$*"; }
name_of() { echo "${1%%:*}"; }
port_of() { echo "${1##*:}"; }
# psql as the postgres superuser on one node (through TCP: trust on loopback).
psql_at() { local port=$1 db=$2; shift 2; PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -h "$HOST" -p "$port" -U postgres -d "$db" "$@"; }

# --- up -------------------------------------------------------------------------------------------------------

create_node() {
  local name=$1 port=$2 confd=/etc/postgresql/$PG_VERSION/$1/conf.d
  if ! pg_lsclusters -h | awk '{print $1"/"$2}' | grep -qx "$PG_VERSION/$name"; then
    say "creating cluster $name on port $port"
    # trust only on loopback and the local socket: this cluster never listens elsewhere.
    pg_createcluster "$PG_VERSION" "$name" -p "$port" --start-conf=manual -- \
      --auth-local=trust --auth-host=trust >/dev/null
  fi
  # Rewritten on every `up`, so a changed setting here reaches existing clusters on their next start.
  mkdir -p "$confd"
  cat >"$confd/citus.conf" <<EOF
# Written by scripts/citus_cluster.sh: a small throwaway Citus test node.
listen_addresses = '$HOST'
port = $port
shared_preload_libraries = 'citus'
max_connections = 200
shared_buffers = 128MB
work_mem = 8MB
maintenance_work_mem = 64MB
fsync = off
synchronous_commit = off
full_page_writes = off
max_wal_size = 1GB
wal_level = logical
max_prepared_transactions = 200
EOF
  if ! pg_lsclusters -h | awk -v n="$name" '$2 == n {print $4}' | grep -qx online; then
    say "starting $name"
    pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$name" start
  fi
  for _ in $(seq 1 30); do pg_isready -q -h "$HOST" -p "$port" && return 0; sleep 1; done
  echo "citus: $name did not start on port $port" >&2
  exit 1
}

# The product's roles (scripts/pg_setup.py: cxm_owner runs migrations, cxm_app is what the code connects as,
# under forced row-level security) on one node, with the `cxm` database owned by the owner role.
create_roles() {
  local port=$1
  PG_ADMIN_URL="postgresql://postgres@$HOST:$port/postgres" "$PY" scripts/pg_setup.py --quiet \
    --owner "$OWNER_ROLE" --app "$APP_ROLE" --database "$DATABASE"
}

# One database as Citus wants it: present on every node with the extension, the coordinator knowing its
# workers. Citus keeps its node list per database, so every database used on the cluster goes through here.
prepare_database() {
  local db=$1 node port coordinator_port
  coordinator_port=$(port_of "$COORDINATOR")
  for node in "${NODES[@]}"; do
    port=$(port_of "$node")
    if [ -z "$(psql_at "$port" postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]; then
      psql_at "$port" postgres -c "CREATE DATABASE \"$db\" OWNER \"$OWNER_ROLE\""
    fi
    psql_at "$port" "$db" -c "CREATE EXTENSION IF NOT EXISTS citus"
  done
  # The coordinator holds metadata and reference tables only: no shards (so every shard query crosses a
  # connection, as in a real deployment). Both calls are no-ops when already done.
  psql_at "$coordinator_port" "$db" -tA >/dev/null <<SQL
SELECT citus_set_coordinator_host('$HOST', $coordinator_port);
$(for node in "${WORKERS[@]}"; do echo "SELECT citus_add_node('$HOST', $(port_of "$node"));"; done)
SQL
  psql_at "$coordinator_port" "$db" -tAc "SELECT count(*) || ' active workers' FROM citus_get_active_worker_nodes()"
}

cmd_up() {
  say "building Citus (cached: a no-op when installed)"
  bash ../shared/vendor/citus/build.sh
  local node
  for node in "${NODES[@]}"; do
    create_node "$(name_of "$node")" "$(port_of "$node")"
    create_roles "$(port_of "$node")"
  done
  # The tenant context is `SET LOCAL app.tenant_id` (apps/tenancy/context.py); Citus forwards SET LOCAL to
  # the workers of the transaction only with this setting. Set for both roles, on the coordinator (the
  # only node the product connects to).
  local role
  for role in "$APP_ROLE" "$OWNER_ROLE"; do
    psql_at "$(port_of "$COORDINATOR")" postgres -c "ALTER ROLE \"$role\" SET citus.propagate_set_commands = 'local'"
  done
  prepare_database "$DATABASE"
  say "up: coordinator $HOST:$(port_of "$COORDINATOR"), workers $(for n in "${WORKERS[@]}"; do printf '%s:%s ' "$HOST" "$(port_of "$n")"; done)"
}

# --- test -----------------------------------------------------------------------------------------------------

# The subset of the suite that proves the promise on the cluster: tests/conftest.py marks it `citus`
# (CITUS_SUBSET there), so `make test` on plain Postgres runs the very same tests as usual.
cmd_test() {
  local coordinator_port node
  coordinator_port=$(port_of "$COORDINATOR")
  for node in "${NODES[@]}"; do
    pg_isready -q -h "$HOST" -p "$(port_of "$node")" || { echo "citus: $(name_of "$node") is not running: run '$0 up' first" >&2; exit 1; }
  done
  say "fresh database $TEST_DATABASE on every node"
  for node in "${NODES[@]}"; do
    psql_at "$(port_of "$node")" postgres -c "DROP DATABASE IF EXISTS \"$TEST_DATABASE\" WITH (FORCE)"
  done
  prepare_database "$TEST_DATABASE"

  export DATABASE_URL="postgres://$OWNER_ROLE@$HOST:$coordinator_port/$TEST_DATABASE"
  export DATABASE_APP_ROLE=$APP_ROLE TEST_DATABASE_NAME=$TEST_DATABASE DJANGO_SETTINGS_MODULE=cxm.settings.test
  export CXM_CITUS=1 CXM_REQUIRE_CITUS=1 CXM_REQUIRE_POSTGRES=1
  # Few shards on the test cluster: every TransactionTestCase empties every table with TRUNCATE, one command
  # per shard; at 32 shards (the production default) that took about 50 s per test here, at 4 a few seconds.
  # Still two per worker, so tenants land on both workers; the code does not depend on the count.
  export CITUS_SHARD_COUNT=${CITUS_SHARD_COUNT:-4}
  say "migrate as $OWNER_ROLE"
  "$PY" manage.py migrate --noinput -v 0
  say "distribute"
  "$PY" manage.py citus_distribute || { "$PY" manage.py citus_distribute --check; exit 1; }
  say "the cluster subset of the suite"
  # --reuse-db: pytest-django keeps this prepared database (its `migrate` is a no-op); one process, no xdist
  # (each xdist worker would want a database of its own, prepared as above).
  "$PY" -m pytest -p no:xdist --reuse-db -m citus -q "$@"
}

# --- down -----------------------------------------------------------------------------------------------------

cmd_down() {
  local purge=${1:-} node name
  for node in "${NODES[@]}"; do
    name=$(name_of "$node")
    pg_lsclusters -h | awk '{print $2}' | grep -qx "$name" || continue
    if pg_lsclusters -h | awk -v n="$name" '$2 == n {print $4}' | grep -qx online; then
      say "stopping $name"
      pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$name" stop -m fast
    fi
    if [ "$purge" = "--purge" ]; then
      say "dropping $name and its data"
      pg_dropcluster "$PG_VERSION" "$name"
    fi
  done
}

case "${1:-}" in
  up) cmd_up ;;
  test) shift; cmd_test "$@" ;;
  down) cmd_down "${2:-}" ;;
  *) echo "usage: $0 up | test [pytest args] | down [--purge]" >&2; exit 2 ;;
esac
