#!/usr/bin/env bash
# The inventory at fleet size: `loadtest inventory` against a fresh embedded gateway (loadtest/storm.sh), on SQLite
# or, with PGHOST/PGPORT/PGUSER/PGPASSWORD set, on a new PostgreSQL database. Usage:
#   PGHOST=127.0.0.1 PGPORT=5432 PGUSER=postgres loadtest/inventory.sh [devices] [concurrency] [batch: 1 = CreateDevice per device]
set -euo pipefail
cd "$(dirname "$0")/.."
STORM_POOL_SIZE=${STORM_POOL_SIZE:-200} exec loadtest/storm.sh inventory --devices "${1:-100000}" --concurrency "${2:-4}" --batch "${3:-1000}" --lookups 2000
