#!/usr/bin/env bash
# What device trust adds to an SSH login at a stock sshd: a fresh embedded gateway, a node joined with the NativeAOT
# dtnode and its agent, and two private sshds on loopback with the same settings: one trusting the cluster's user
# CA with dtnode's AuthorizedPrincipalsCommand, one with a plain key in authorized_keys. Times N logins (`ssh … true`)
# on each, `dtsh ssh` as a user runs it, and `dtnode authorize-principals` alone, warm (answer cached by the agent)
# and cold (the agent asks the gateway). As root (sshd). Usage: loadtest/ssh-login.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20}
[ "$(id -u)" = 0 ] || { echo "run as root: it starts sshd" >&2; exit 1; }
[ -f cli/dtsh/bin/Release/net10.0/dtsh.dll ] || dotnet build Cluster.sln -c Release -nologo -v quiet
dir=$(mktemp -d /tmp/dt-sshbench.XXXXXX)
chmod 755 "$dir"   # sshd runs the principals command as nobody, which must reach the agent's socket
bin=/usr/local/lib/devicetrust-bench
pids=()
trap 'for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$dir" "$bin"' EXIT
dotnet publish cli/dtnode -c Release -r linux-x64 -o "$dir/aot" -nologo -v quiet
install -D -o root -g root -m 0755 "$dir/aot/dtnode" "$bin/dtnode"
chmod 755 "$bin"

port=$((20000 + RANDOM % 20000))
DeviceTrust__DataDir="$dir/data" DeviceTrust__Gateway__Listen="127.0.0.1:$port" \
  DeviceTrust__Cluster__SiloPort=$((port + 1)) DeviceTrust__Cluster__ClientPort=$((port + 2)) \
  dotnet gateway/bin/Release/net10.0/DeviceTrust.Gateway.dll >"$dir/gateway.log" 2>&1 &
pids+=($!)
until grep -q "CA pin" "$dir/gateway.log"; do sleep 0.2; done
dtsh() { dotnet cli/dtsh/bin/Release/net10.0/dtsh.dll "$@"; }
dtctl() { DTSH_HOME="$dir/admin" dotnet cli/dtctl/bin/Release/net10.0/dtctl.dll "$@"; }
word() { tr ' ' '\n' | grep "^$1" | head -1; }
echo "admin password 1234" | DTSH_HOME="$dir/admin" dtsh login --proxy "127.0.0.1:$port" --invite "$(cat "$dir/data/admin-invite")" >/dev/null
token=$(dtctl users add bob --roles access | word dtinv1.)
echo "bob password 12345" | DTSH_HOME="$dir/bob" dtsh login --proxy "127.0.0.1:$port" --invite "$token" >/dev/null

# the node: sshd with the drop-in dtnode join writes, and the agent
cert_port=$((port + 3)) plain_port=$((port + 4))
mkdir -p "$dir/sshd/sshd_config.d" /run/sshd
ssh-keygen -q -t ed25519 -N "" -f "$dir/sshd/host_key"
token=$(dtctl nodes add bench-1 | word dtjoin1.)
"$bin/dtnode" join --proxy "127.0.0.1:$port" --token "$token" --address "127.0.0.1:$cert_port" --host-key "$dir/sshd/host_key.pub" \
  --data-dir "$dir/node" --sshd-config-dir "$dir/sshd/sshd_config.d" --socket "$dir/dtnode.sock" >/dev/null
"$bin/dtnode" serve --data-dir "$dir/node" >"$dir/agent.log" 2>&1 &
pids+=($!)
until [ -S "$dir/dtnode.sock" ]; do sleep 0.1; done
common="ListenAddress 127.0.0.1
HostKey $dir/sshd/host_key
PermitRootLogin prohibit-password
AuthenticationMethods publickey
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
LogLevel ERROR"
printf 'Include %s/sshd/sshd_config.d/*.conf\nPort %s\nPidFile %s/sshd/cert.pid\nAuthorizedKeysFile none\n%s\n' "$dir" "$cert_port" "$dir" "$common" >"$dir/sshd/cert.conf"
ssh-keygen -q -t ecdsa -b 256 -N "" -f "$dir/plain_key"
mkdir -p "$dir/plain" && cp "$dir/plain_key.pub" "$dir/plain/authorized_keys"
printf 'Port %s\nPidFile %s/sshd/plain.pid\nAuthorizedKeysFile %s/plain/authorized_keys\nStrictModes no\n%s\n' "$plain_port" "$dir" "$dir" "$common" >"$dir/sshd/plain.conf"
/usr/sbin/sshd -D -e -f "$dir/sshd/cert.conf" 2>>"$dir/sshd.log" & pids+=($!)
/usr/sbin/sshd -D -e -f "$dir/sshd/plain.conf" 2>>"$dir/sshd.log" & pids+=($!)
sleep 1

# ms per run of a command, N times; prints p50 / p90 / max
measure() {
  local label=$1; shift
  local times=()
  for _ in $(seq "$n"); do
    local start; start=$(date +%s%N)
    "$@" >/dev/null 2>>"$dir/measure.log" || { echo "$label: failed (see below)"; tail -5 "$dir/measure.log"; exit 1; }
    times+=($(( ($(date +%s%N) - start) / 1000 )))
    [ -n "${PAUSE:-}" ] && sleep "$PAUSE"
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v label="$label" '{ a[NR] = $1 } END {
    printf "%-58s p50 %6.1f ms   p90 %6.1f ms   max %6.1f ms   (%d runs)\n", label, a[int(NR * 0.5 + 0.5)] / 1000, a[int(NR * 0.9 + 0.5)] / 1000, a[NR] / 1000, NR }'
}
home="$dir/bob"
ssh_opts=(-o BatchMode=yes -o IdentitiesOnly=yes -o IdentityAgent=none -o GlobalKnownHostsFile=/dev/null)
measure "ssh, plain key in authorized_keys" \
  ssh "${ssh_opts[@]}" -i "$dir/plain_key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -p "$plain_port" root@127.0.0.1 true
measure "ssh, cluster certificate (dtnode asks the cluster)" \
  ssh "${ssh_opts[@]}" -i "$home/key.pem" -o CertificateFile="$home/ssh-cert.pub" -o UserKnownHostsFile="$home/known_hosts" \
  -o StrictHostKeyChecking=yes -o HostKeyAlias=bench-1 -p "$cert_port" root@127.0.0.1 true
measure "dtsh ssh root@bench-1 true (pre-check, then ssh)" env DTSH_HOME="$home" dotnet cli/dtsh/bin/Release/net10.0/dtsh.dll ssh root@bench-1 true
read -r type blob _ <"$home/ssh-cert.pub"
principals() { runuser -u nobody -- "$bin/dtnode" authorize-principals --socket "$dir/dtnode.sock" root "$type" "$blob"; }
[ "$(principals)" = root ] || { echo "authorize-principals did not allow root"; exit 1; }
measure "dtnode authorize-principals, warm (agent's 1 s cache)" principals
PAUSE=1.2 measure "dtnode authorize-principals, cold (agent asks the gateway)" principals
