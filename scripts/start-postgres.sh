#!/usr/bin/env bash
# Starts a PostgreSQL server on loopback for the tests (the request store's PostgreSQL back end), installing
# Debian's postgresql package when it is missing, and makes sure the test role and database exist.
# Prints nothing on success; the tests find it at $HANDOVER_TEST_POSTGRES_URL or the default below.
set -euo pipefail

port=${HANDOVER_TEST_POSTGRES_PORT:-5432}
role=handover_test
database=handover_test

if ! command -v pg_lsclusters >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    if [[ $(id -u) -ne 0 ]]; then
        echo "The tests need a PostgreSQL server: sudo apt-get install -y postgresql" >&2
        exit 1
    fi
    echo "Installing: postgresql" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi

as_postgres() {
    if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}

version=$(ls /usr/lib/postgresql | sort -V | tail -1)
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$version main"; then
    as_postgres pg_createcluster "$version" main -p "$port" >/dev/null
fi
if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $4}' | grep -q online; then
    # Loopback only; enough connections for several workers and the parallel tests.
    pg_ctlcluster "$version" main start -o "-c listen_addresses=127.0.0.1 -c max_connections=200" >/dev/null 2>&1 \
        || as_postgres pg_ctlcluster "$version" main start -o "-c listen_addresses=127.0.0.1 -c max_connections=200"
fi
actual_port=$(pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $3}')
for _ in $(seq 50); do
    as_postgres psql -p "$actual_port" -Atqc "SELECT 1" >/dev/null 2>&1 && break
    sleep 0.2
done
as_postgres psql -p "$actual_port" -v ON_ERROR_STOP=1 -Atq >/dev/null <<SQL
SELECT 'CREATE ROLE $role LOGIN PASSWORD ''$role''' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$role')
\gexec
SELECT 'CREATE DATABASE $database OWNER $role' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$database')
\gexec
SQL
if [[ $actual_port != "$port" ]]; then
    echo "PostgreSQL listens on $actual_port; set HANDOVER_TEST_POSTGRES_URL=postgres://$role:$role@127.0.0.1:$actual_port/$database" >&2
fi
