#!/usr/bin/env bash
# A bad-login flood against a fresh embedded gateway with default settings: starts the gateway in a temporary folder,
# logs the bootstrap admin in, runs `loadtest login-flood`, stops the gateway. Release build. Usage:
#   loadtest/login-flood.sh [flood-sources] [gateway dll]
# flood-sources 1: one flooding address (127.0.1.1); 64: a flood spread over 127.0.1.1-64. Pass another build's
# gateway dll to measure it the same way (docs/benchmarks.md compares with the gateway before the change).
set -euo pipefail
cd "$(dirname "$0")/.."
sources=${1:-1}
dll=${2:-gateway/bin/Release/net10.0/DeviceTrust.Gateway.dll}
[ -f cli/dtsh/bin/Release/net10.0/dtsh.dll ] && [ -f loadtest/bin/Release/net10.0/DeviceTrust.LoadTest.dll ] && [ -f "$dll" ] \
  || dotnet build Cluster.sln -c Release -nologo -v quiet
dir=$(mktemp -d /tmp/dt-flood.XXXXXX)
port=$((20000 + RANDOM % 20000))
DeviceTrust__DataDir="$dir/data" DeviceTrust__Gateway__Listen="127.0.0.1:$port" \
  DeviceTrust__Cluster__SiloPort=$((port + 1)) DeviceTrust__Cluster__ClientPort=$((port + 2)) dotnet "$dll" >"$dir/gateway.log" 2>&1 &
gateway=$!
trap 'kill -TERM $gateway 2>/dev/null; wait $gateway 2>/dev/null; rm -rf "$dir"' EXIT
until grep -q "CA pin" "$dir/gateway.log"; do sleep 0.2; done
export DTSH_HOME="$dir/home" DT_PASSWORD="admin password 1234"
echo "$DT_PASSWORD" | dotnet cli/dtsh/bin/Release/net10.0/dtsh.dll login --proxy "127.0.0.1:$port" --invite "$(cat "$dir/data/admin-invite")" >/dev/null
dotnet loadtest/bin/Release/net10.0/DeviceTrust.LoadTest.dll login-flood --flood 64 --flood-sources "$sources" --seconds 20
