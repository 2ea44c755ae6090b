#!/usr/bin/env bash
# Startup time to ready: from process start until GET /readyz answers 200, for a fresh data folder (cold: creates the
# database, master key, CA and the admin invitation) and for an existing one (warm). Release build. Usage:
#   loadtest/startup.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
dll=gateway/bin/Release/net10.0/DeviceTrust.Gateway.dll
[ -f "$dll" ] || dotnet build gateway -c Release -nologo -v quiet
port=$((20000 + RANDOM % 20000))
measure() {  # $1 = data folder; prints milliseconds to ready
  local start end pid
  start=$(date +%s%N)
  DeviceTrust__DataDir="$1" DeviceTrust__Gateway__Listen="127.0.0.1:$port" dotnet "$dll" >/dev/null 2>&1 &
  pid=$!
  until curl -sfk "https://127.0.0.1:$port/readyz" >/dev/null 2>&1; do sleep 0.01; done
  end=$(date +%s%N)
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  echo $(( (end - start) / 1000000 ))
}
for kind in cold warm; do
  times=()
  data=$(mktemp -d)
  for _ in $(seq "$runs"); do
    if [ "$kind" = cold ]; then rm -rf "$data"; data=$(mktemp -d); fi
    [ "$kind" = warm ] && [ ! -f "$data/devicetrust.db" ] && measure "$data" >/dev/null
    times+=("$(measure "$data")")
  done
  rm -rf "$data"
  sorted=$(printf '%s\n' "${times[@]}" | sort -n | tr '\n' ' ')
  echo "$kind start to ready (ms, $runs runs, sorted): $sorted"
done
