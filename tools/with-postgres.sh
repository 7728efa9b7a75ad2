#!/usr/bin/env bash
# Run a command with WARDCAM_TEST_POSTGRES_URL pointing at a real PostgreSQL server:
# the one already listening on 127.0.0.1:5432, or the local Debian cluster, started here.
set -euo pipefail
URL="${WARDCAM_TEST_POSTGRES_URL:-postgres://wardcam:wardcam@127.0.0.1:5432/wardcam}"
listening() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
if ! listening; then
  cluster=$(pg_lsclusters --no-header 2>/dev/null | awk 'NR==1 {print $1" "$2}')
  if [ -n "$cluster" ]; then
    pg_ctlcluster $cluster start || true
  fi
  for _ in $(seq 1 30); do listening && break; sleep 0.5; done
fi
if listening && [ "$(id -u)" -eq 0 ] && id postgres >/dev/null 2>&1; then
  su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='wardcam'\"" 2>/dev/null | grep -q 1 \
    || su postgres -c "psql -qc \"CREATE ROLE wardcam LOGIN PASSWORD 'wardcam' CREATEDB;\"" || true
  su postgres -c "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname='wardcam'\"" 2>/dev/null | grep -q 1 \
    || su postgres -c "psql -qc \"CREATE DATABASE wardcam OWNER wardcam;\"" || true
fi
export WARDCAM_TEST_POSTGRES_URL="$URL"
exec "$@"
