#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432: starts the local
# cluster if it is installed but stopped, installs it from Debian if missing.
set -euo pipefail

ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

if command -v pg_isready >/dev/null && ready; then
  echo "PostgreSQL: running on 127.0.0.1:5432"
  exit 0
fi

if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  echo "PostgreSQL: not installed; installing from Debian packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
fi

version=$(ls /etc/postgresql | sort -V | tail -1)
echo "PostgreSQL: starting cluster ${version}/main"
pg_ctlcluster --skip-systemctl-redirect "${version}" main start || true

for _ in $(seq 1 60); do
  if ready; then
    # Trust auth on loopback is how this machine's cluster is set up; make sure the test role exists.
    su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='postgres'\"" >/dev/null 2>&1 || true
    echo "PostgreSQL: running on 127.0.0.1:5432"
    exit 0
  fi
  sleep 1
done
echo "PostgreSQL: did not start on 127.0.0.1:5432" >&2
exit 1
