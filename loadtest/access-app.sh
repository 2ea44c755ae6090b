#!/usr/bin/env bash
# The proxy access endpoint (what nginx auth_request calls) against a fresh embedded gateway with default settings:
# starts the gateway in a temporary folder, creates the proxy's bot (role with access: [read]) and a user bob with
# role access, then runs `loadtest access-app` for each connection count given (allowed: 200), the same requests to
# /healthz (what HTTPS alone costs here), and once with bob
# needing a trusted device he does not have (denied: 403, the refusal path with sampled audit). Release build. Usage:
#   loadtest/access-app.sh [seconds] [connections...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
shift || true
counts=("${@:-1 16 64}")
[ -f cli/dtsh/bin/Release/net10.0/dtsh.dll ] && [ -f loadtest/bin/Release/net10.0/DeviceTrust.LoadTest.dll ] \
  || dotnet build Cluster.sln -c Release -nologo -v quiet
dir=$(mktemp -d /tmp/dt-access.XXXXXX)
port=$((20000 + RANDOM % 20000))
DeviceTrust__DataDir="$dir/data" DeviceTrust__Gateway__Listen="127.0.0.1:$port" \
  DeviceTrust__Cluster__SiloPort=$((port + 1)) DeviceTrust__Cluster__ClientPort=$((port + 2)) \
  dotnet gateway/bin/Release/net10.0/DeviceTrust.Gateway.dll >"$dir/gateway.log" 2>&1 &
gateway=$!
trap 'kill -TERM $gateway 2>/dev/null; wait $gateway 2>/dev/null; rm -rf "$dir"' EXIT
until grep -q "CA pin" "$dir/gateway.log"; do sleep 0.2; done
dtsh() { dotnet cli/dtsh/bin/Release/net10.0/dtsh.dll "$@"; }
dtctl() { DTSH_HOME="$dir/admin" dotnet cli/dtctl/bin/Release/net10.0/dtctl.dll "$@"; }
invite() { sed -n 's/.*\(dtinv1\.[^ ]*\).*/\1/p' | head -1; }
echo "admin password 1234" | DTSH_HOME="$dir/admin" dtsh login --proxy "127.0.0.1:$port" --invite "$(cat "$dir/data/admin-invite")" >/dev/null
printf 'kind: role\nmetadata: {name: access-proxy}\nspec: {allow: {rules: {access: [read]}}}\n' >"$dir/proxy-role.yaml"
dtctl roles create -f "$dir/proxy-role.yaml" >/dev/null
token=$(dtctl users add nginx-proxy --kind bot --roles access-proxy | invite)
echo "proxy password 1234" | DTSH_HOME="$dir/proxy" dtsh login --proxy "127.0.0.1:$port" --invite "$token" >/dev/null
token=$(dtctl users add bob --roles access | invite)
echo "bob password 12345" | DTSH_HOME="$dir/bob" dtsh login --proxy "127.0.0.1:$port" --invite "$token" >/dev/null
# CPU seconds the gateway used (utime + stime), so each figure can be read per core of server work
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.1f", ($14 + $15) / hz }' "/proc/$gateway/stat"; }
run() {
  local before; before=$(cpu)
  dotnet loadtest/bin/Release/net10.0/DeviceTrust.LoadTest.dll access-app --proxy-home "$dir/proxy" --user-home "$dir/bob" --seconds "$seconds" "$@"
  echo "  gateway CPU: $(awk -v a="$before" -v b="$(cpu)" 'BEGIN { printf "%.1f", b - a }') s (warm-up included)"
}
for c in ${counts[@]}; do run --connections "$c"; done
# the ceiling: the same requests to /healthz (TLS, HTTP/1.1, Kestrel, no decision)
run --connections 16 --path /healthz
dtctl users update bob --set-roles require-trusted-device >/dev/null
sleep 3
run --connections 16 --expect 403
