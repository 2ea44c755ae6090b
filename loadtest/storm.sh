#!/usr/bin/env bash
# A loadtest scenario against a fresh embedded gateway: SQLite in a temporary folder or, with PGHOST set, a new
# PostgreSQL database on that server (dropped afterwards). Logs the bootstrap admin in, runs the simulator with the
# arguments given, prints the gateway's resident memory (and the database's size), cleans up. Release build. Rate
# limits are raised: the fleet comes from one address (and, with --shared-user, one user); so is the password
# hashing queue, since the fleet's users accept their invitations at once. Usage:
#   loadtest/storm.sh login-storm --devices 1000 --connections 4 --rate 1000 --duration 60 --json r.json --chart r.png
#   PGHOST=127.0.0.1 PGPORT=5432 PGUSER=postgres loadtest/storm.sh enroll-storm --devices 5000 --concurrency 32
#   DeviceTrust__Cluster__IdleGrainLifetime=00:02:00 STORM_IDLE_WAIT=240 loadtest/storm.sh login-storm --devices 100000 --shared-user --rounds 1 --warmup 0
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: loadtest/storm.sh login-storm|enroll-storm|inventory|… [options]" >&2; exit 64; }
[ -f cli/dtsh/bin/Release/net10.0/dtsh.dll ] && [ -f loadtest/bin/Release/net10.0/DeviceTrust.LoadTest.dll ] \
  && [ -f gateway/bin/Release/net10.0/DeviceTrust.Gateway.dll ] || dotnet build Cluster.sln -c Release -nologo -v quiet
dir=$(mktemp -d /tmp/dt-storm.XXXXXX)
port=""
# Below the kernel's ephemeral range (32768-60999), where a previous run's thousand connections linger in TIME_WAIT.
for candidate in $(shuf -i 10000-32000 -n 50); do
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null && ! (exec 3<>"/dev/tcp/127.0.0.1/$((candidate + 1))") 2>/dev/null \
    && ! (exec 3<>"/dev/tcp/127.0.0.1/$((candidate + 2))") 2>/dev/null; then port=$candidate; break; fi
done
[ -n "$port" ] || { echo "no free ports for the gateway" >&2; exit 1; }
database=""
if [ -n "${PGHOST:-}" ]; then
  database="dt_storm_$$"
  psql -qc "CREATE DATABASE $database" postgres
  export DeviceTrust__Storage__Provider=postgresql
  export DeviceTrust__Storage__ConnectionString="Host=$PGHOST;Port=${PGPORT:-5432};Username=${PGUSER:-postgres};Password=${PGPASSWORD:-};Database=$database;Maximum Pool Size=${STORM_POOL_SIZE:-50}"
  export DEVICETRUST_MASTER_KEY="$(openssl rand -base64 32)"
  dotnet silo/bin/Release/net10.0/DeviceTrust.Silo.dll db init >/dev/null
fi
for limit in LoginPerAddress LoginPerUser TokensPerAddress TokensPerUser CeremoniesPerAddress CeremoniesPerUser; do
  export "DeviceTrust__Gateway__RateLimits__${limit}__Burst=1000000" "DeviceTrust__Gateway__RateLimits__${limit}__PerMinute=6000000"
done
export DeviceTrust__Gateway__PasswordHashing__Queue=256
DeviceTrust__DataDir="$dir/data" DeviceTrust__Gateway__Listen="127.0.0.1:$port" Logging__LogLevel__Default=Warning \
  DeviceTrust__Cluster__SiloPort=$((port + 1)) DeviceTrust__Cluster__ClientPort=$((port + 2)) \
  dotnet gateway/bin/Release/net10.0/DeviceTrust.Gateway.dll >"$dir/gateway.log" 2>&1 &
gateway=$!
export STORM_GATEWAY_PID=$gateway  # the simulator reports the gateway's CPU per operation
cleanup() {
  kill -TERM $gateway 2>/dev/null; wait $gateway 2>/dev/null || true
  [ -z "$database" ] || psql -qc "DROP DATABASE IF EXISTS $database" postgres || true
  rm -rf "$dir"
}
trap cleanup EXIT
for _ in $(seq 300); do
  grep -q "CA pin" "$dir/gateway.log" && break
  kill -0 $gateway 2>/dev/null || { cat "$dir/gateway.log" >&2; exit 1; }
  sleep 0.1
done
export DTSH_HOME="$dir/home"
echo "admin password 1234" | dotnet cli/dtsh/bin/Release/net10.0/dtsh.dll login --proxy "127.0.0.1:$port" --invite "$(cat "$dir/data/admin-invite")" >/dev/null
rss() { ps -o rss= -p $gateway | awk -v when="$1" '{printf "gateway resident memory %s: %.0f MB\n", when, $1/1024}'; }
rss "before the storm"
status=0
dotnet loadtest/bin/Release/net10.0/DeviceTrust.LoadTest.dll "$@" || status=$?
rss "after the storm"
if [ -n "${STORM_IDLE_WAIT:-}" ]; then
  # With DeviceTrust__Cluster__IdleGrainLifetime set: what is left once the fleet's grains have been deactivated.
  sleep "$STORM_IDLE_WAIT"
  rss "$STORM_IDLE_WAIT s later"
fi
if [ -n "$database" ]; then
  psql -Atc "SELECT 'database size: ' || pg_size_pretty(pg_database_size('$database'))" postgres
fi
if [ $status -ne 0 ]; then
  cp "$dir/gateway.log" "${STORM_GATEWAY_LOG:-/tmp/dt-storm-gateway.log}"
  echo "the storm failed: the gateway's log is in ${STORM_GATEWAY_LOG:-/tmp/dt-storm-gateway.log}" >&2
fi
exit $status
