#!/usr/bin/env bash
# An MDM sync at fleet size through the real dtctl: `loadtest mdm-sync` against a fresh embedded gateway
# (loadtest/storm.sh), on SQLite or, with PGHOST/PGPORT/PGUSER/PGPASSWORD set, on a new PostgreSQL database. Usage:
#   PGHOST=127.0.0.1 PGPORT=5432 PGUSER=postgres loadtest/mdm-sync.sh [devices]
set -euo pipefail
cd "$(dirname "$0")/.."
exec loadtest/storm.sh mdm-sync --devices "${1:-10000}"
