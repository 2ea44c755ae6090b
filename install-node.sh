#!/usr/bin/env bash
# Builds dtnode with NativeAOT (one self-contained executable, fast to start: sshd runs it twice per login) and
# installs it as /usr/local/bin/dtnode, root-owned, which is where sshd agrees to run an AuthorizedPrincipalsCommand.
# Run as root on the SSH node (or build elsewhere with `dotnet publish cli/dtnode -c Release -r linux-x64` and copy).
set -euo pipefail
cd "$(dirname "$0")"
[ "$(id -u)" = 0 ] || { echo "run as root: sshd only runs a principals command that root owns" >&2; exit 1; }
out=$(mktemp -d /tmp/dtnode-build.XXXXXX)
trap 'rm -rf "$out"' EXIT
dotnet publish cli/dtnode -c Release -r linux-x64 -o "$out" -nologo -v quiet
install -o root -g root -m 0755 "$out/dtnode" /usr/local/bin/dtnode
echo "dtnode is in /usr/local/bin. Next: dtnode join --proxy HOST:PORT --token TOKEN (add --dry-run to see what it writes)."
