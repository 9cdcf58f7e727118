#!/usr/bin/env bash
# The whole test run on a fresh Debian 12 machine with only Node.js 20: run as root from anywhere,
#   bash scripts/test-fresh-machine.sh
# It installs what is missing (Debian packages only), starts PostgreSQL, creates a password role
# and the `test` database, then runs `npm ci`, `npm run check`, `npm run demo` and `npm test`. Safe to run again.
#
# Settings (all optional):
#   TEST_DATABASE_URL  use this PostgreSQL as it is: nothing is installed, started or created there
#   TEST_PG_PORT       port of the local cluster to use or create (default 5432)
#   TEST_DB_USER       role the tests log in as (default billing_test)
#   TEST_DB_PASSWORD   its password (default billing_test_pw; never printed)
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
PG_PORT="${TEST_PG_PORT:-5432}"
DB_USER="${TEST_DB_USER:-billing_test}"
DB_PASSWORD="${TEST_DB_PASSWORD:-billing_test_pw}"

log() { printf '[test-fresh-machine] %s\n' "$*"; }
need_root() { [ "$(id -u)" -eq 0 ] || { log "$1 needs root: run this script as root${2:+, or $2}"; exit 1; }; }

# --- Debian packages -------------------------------------------------------------------------
# postgresql: the server the PostgreSQL half of the suite runs against (unless TEST_DATABASE_URL
# names one); chromium: the extension's browser tests use Debian's /usr/bin/chromium (never a
# browser download); prometheus: promtool checks ops/prometheus; git: the repository test lists
# the project's files with it; g++/make/python3: node-gyp builds better-sqlite3 when no prebuilt
# binary can be fetched (this machine reaches no download host but the registries).
missing=()
if [ -z "${TEST_DATABASE_URL:-}" ] && ! compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then missing+=(postgresql); fi
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v promtool >/dev/null || missing+=(prometheus)
command -v git >/dev/null || missing+=(git)
command -v g++ >/dev/null || missing+=(g++)
command -v make >/dev/null || missing+=(make)
command -v python3 >/dev/null || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
  need_root "installing ${missing[*]}" "install them first"
  log "installing from Debian's packages: ${missing[*]}"
  # Another apt run on the machine holds the lock for a while: wait for it instead of failing.
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >/dev/null
fi

# --- PostgreSQL ------------------------------------------------------------------------------
if [ -n "${TEST_DATABASE_URL:-}" ]; then
  log "using the PostgreSQL named by TEST_DATABASE_URL as it is"
else
  need_root "setting up PostgreSQL" "set TEST_DATABASE_URL to a database whose user may create databases"
  # The cluster on PG_PORT: started if it is down, created (Debian's defaults: local peer,
  # host scram-sha-256) if there is none.
  if ! pg_isready -h 127.0.0.1 -p "$PG_PORT" -q; then
    read -r version cluster owner < <(pg_lsclusters -h | awk -v port="$PG_PORT" '$3 == port { print $1, $2, $5; exit }') || true
    if [ -z "${version:-}" ]; then
      version="$(ls /usr/lib/postgresql | sort -V | tail -1)"
      cluster=main
      [ -d "/etc/postgresql/$version/main" ] && cluster="test_$PG_PORT"
      log "creating PostgreSQL cluster $version/$cluster on port $PG_PORT"
      pg_createcluster "$version" "$cluster" --port "$PG_PORT" >/dev/null
    fi
    log "starting PostgreSQL cluster $version/$cluster"
    # --skip-systemctl-redirect: there is no systemd on these machines (containers, CI).
    pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start || true
    for _ in $(seq 1 60); do pg_isready -h 127.0.0.1 -p "$PG_PORT" -q && break; sleep 1; done
    pg_isready -h 127.0.0.1 -p "$PG_PORT" -q || { log "PostgreSQL on 127.0.0.1:$PG_PORT did not come up"; exit 1; }
  fi
  owner="$(pg_lsclusters -h | awk -v port="$PG_PORT" '$3 == port { print $5; exit }')"
  owner="${owner:-postgres}"

  # The role and database, as the cluster's owner over the local socket: Debian's default peer
  # auth lets that OS user in, so no pg_hba.conf change is needed. The role needs LOGIN and
  # CREATEDB only: each test file creates its own database (owned by the role, so its
  # `drop database … with (force)` may end the role's own connections); the migrations create
  # tables and set column storage/compression on them, which an owner may do.
  [[ "$DB_USER" =~ ^[a-z_][a-z0-9_]*$ ]] || { log "TEST_DB_USER must be a plain lower-case name"; exit 1; }
  sql_password="${DB_PASSWORD//\'/\'\'}"
  log "creating role $DB_USER and database test if missing (password from TEST_DB_PASSWORD or the default)"
  # The statements go through stdin, so the password is never in a command line; run from /
  # because the cluster's owner may not be allowed into this checkout's folder.
  (cd / && runuser -u "$owner" -- psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres >/dev/null) <<SQL
select 'create role $DB_USER' where not exists (select from pg_roles where rolname = '$DB_USER') \gexec
alter role $DB_USER with login createdb password '$sql_password';
select 'create database test owner $DB_USER' where not exists (select from pg_database where datname = 'test') \gexec
grant connect on database test to $DB_USER;
SQL
  unset sql_password
  # Percent-encoded for the URL; passed by environment, not argv.
  encoded_password="$(PW="$DB_PASSWORD" node -e 'process.stdout.write(encodeURIComponent(process.env.PW))')"
  # Every PostgreSQL connection of the suite (and the servers it starts) authenticates with this.
  export TEST_DATABASE_URL="postgres://$DB_USER:$encoded_password@127.0.0.1:$PG_PORT/test"
  unset encoded_password
fi

# --- The tests, in the order CI has always run them --------------------------------------------
log "npm ci"
npm ci --no-audit --no-fund
# Lint, format, import cycles (Biome) and unused files, exports and dependencies (knip).
log "npm run check"
npm run check
# The story end to end against the Stripe stand-in; exits non-zero if any step goes wrong.
log "npm run demo"
npm run demo
log "npm test"
npm test
