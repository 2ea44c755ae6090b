#!/usr/bin/env bash
# The inventory at fleet size: a fresh embedded gateway on PostgreSQL (a new database on the server the standard
# PGHOST/PGPORT/PGUSER/PGPASSWORD variables name, dropped afterwards) or, without PGHOST, on SQLite in a temporary
# folder; logs the bootstrap admin in and runs `loadtest inventory`, then prints the gateway's resident memory and
# the database size. Release build. Usage:
#   PGHOST=127.0.0.1 PGPORT=5432 PGUSER=postgres loadtest/inventory.sh [devices] [concurrency] [batch: 1 = CreateDevice per device]
set -euo pipefail
cd "$(dirname "$0")/.."
devices=${1:-100000}
concurrency=${2:-4}
batch=${3:-1000}
[ -f cli/dtsh/bin/Release/net10.0/dtsh.dll ] && [ -f loadtest/bin/Release/net10.0/DeviceTrust.LoadTest.dll ] \
  && [ -f gateway/bin/Release/net10.0/DeviceTrust.Gateway.dll ] || dotnet build Cluster.sln -c Release -nologo -v quiet
dir=$(mktemp -d /tmp/dt-inventory.XXXXXX)
port=$((20000 + RANDOM % 20000))
database=""
if [ -n "${PGHOST:-}" ]; then
  database="dt_inventory_$$"
  psql -qc "CREATE DATABASE $database" postgres
  export DeviceTrust__Storage__Provider=postgresql
  export DeviceTrust__Storage__ConnectionString="Host=$PGHOST;Port=${PGPORT:-5432};Username=${PGUSER:-postgres};Password=${PGPASSWORD:-};Database=$database;Maximum Pool Size=200"
  export DEVICETRUST_MASTER_KEY="$(openssl rand -base64 32)"
  dotnet silo/bin/Release/net10.0/DeviceTrust.Silo.dll db init >/dev/null
fi
for limit in LoginPerAddress LoginPerUser TokensPerAddress TokensPerUser CeremoniesPerAddress CeremoniesPerUser; do
  export "DeviceTrust__Gateway__RateLimits__${limit}__Burst=1000000" "DeviceTrust__Gateway__RateLimits__${limit}__PerMinute=6000000"
done
DeviceTrust__DataDir="$dir/data" DeviceTrust__Gateway__Listen="127.0.0.1:$port" Logging__LogLevel__Default=Warning \
  DeviceTrust__Cluster__SiloPort=$((port + 1)) DeviceTrust__Cluster__ClientPort=$((port + 2)) \
  dotnet gateway/bin/Release/net10.0/DeviceTrust.Gateway.dll >"$dir/gateway.log" 2>&1 &
gateway=$!
cleanup() {
  kill -TERM $gateway 2>/dev/null; wait $gateway 2>/dev/null || true
  [ -z "$database" ] || psql -qc "DROP DATABASE IF EXISTS $database" postgres || true
  rm -rf "$dir"
}
trap cleanup EXIT
until grep -q "CA pin" "$dir/gateway.log"; do sleep 0.2; done
export DTSH_HOME="$dir/home"
echo "admin password 1234" | dotnet cli/dtsh/bin/Release/net10.0/dtsh.dll login --proxy "127.0.0.1:$port" --invite "$(cat "$dir/data/admin-invite")" >/dev/null
dotnet loadtest/bin/Release/net10.0/DeviceTrust.LoadTest.dll inventory --devices "$devices" --concurrency "$concurrency" --batch "$batch" --lookups 2000
ps -o rss= -p $gateway | awk '{printf "gateway resident memory: %.0f MB\n", $1/1024}'
if [ -n "$database" ]; then
  psql -Atc "SELECT 'database size: ' || pg_size_pretty(pg_database_size('$database'))" postgres
fi
