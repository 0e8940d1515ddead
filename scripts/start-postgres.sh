#!/usr/bin/env bash
# Install (if needed) and start a local PostgreSQL for the review app's PostgreSQL test, then
# print the URL to export as CRIMEDETECT_TEST_POSTGRES_URL. Listens on 127.0.0.1 only.
set -euo pipefail
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql >&2
fi
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | grep -q "^$version main"; then
  pg_createcluster "$version" main >&2
fi
pg_ctlcluster "$version" main start >&2 || true   # already running is fine
for _ in $(seq 30); do
  su postgres -c "pg_isready -q -h 127.0.0.1" && break
  sleep 1
done
su postgres -c "psql -q -tAc \"SELECT 1 FROM pg_roles WHERE rolname='crimedetect'\"" | grep -q 1 \
  || su postgres -c "psql -q -c \"CREATE ROLE crimedetect LOGIN PASSWORD 'crimedetect-test'\"" >&2
su postgres -c "psql -q -tAc \"SELECT 1 FROM pg_database WHERE datname='crimedetect_test'\"" | grep -q 1 \
  || su postgres -c "createdb -O crimedetect crimedetect_test" >&2
echo "postgresql+psycopg://crimedetect:crimedetect-test@127.0.0.1:5432/crimedetect_test"
