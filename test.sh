#!/usr/bin/env bash
# The README's test command. Builds everything (warnings are errors) and runs every suite against real parts:
# SQLite files, a throwaway PostgreSQL started here from the machine's initdb/pg_ctl, the real gateway process and
# the real dtsh/dtctl binaries. Installs the PostgreSQL server package when it is missing (as root), cleans up after.
set -euo pipefail
cd "$(dirname "$0")"

log() { printf '== %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi
}

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  log "installing the PostgreSQL server (initdb, pg_ctl) for the storage tests"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
    && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null \
    || { echo "PostgreSQL server binaries are missing and could not be installed: apt-get install postgresql" >&2; exit 1; }
fi

if ! command -v swtpm_setup >/dev/null || ! command -v tpm2_activatecredential >/dev/null; then
  log "installing a software TPM and tpm2-tools for the TPM cross-checks"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
    && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq swtpm swtpm-tools tpm2-tools libtss2-tcti-swtpm0 >/dev/null \
    || { echo "swtpm and tpm2-tools are missing and could not be installed: apt-get install swtpm swtpm-tools tpm2-tools libtss2-tcti-swtpm0" >&2; exit 1; }
fi

if [ ! -x /usr/sbin/sshd ] || ! command -v ssh >/dev/null || [ ! -x /usr/sbin/nginx ] || ! command -v curl >/dev/null || [ ! -x /usr/bin/chromium ] || ! command -v xdg-mime >/dev/null; then
  log "installing OpenSSH, nginx and chromium for the SSH node, web app and web console tests (private servers on loopback ports; the system ones are left alone)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
    && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server openssh-client nginx curl chromium xdg-utils >/dev/null \
    || { echo "OpenSSH, nginx or chromium is missing and could not be installed: apt-get install openssh-server openssh-client nginx curl chromium xdg-utils" >&2; exit 1; }
fi

if ! command -v kubectl >/dev/null; then
  # kubectl kustomize renders k8s/overlays offline for the manifest tests. Debian's own archive has no kubectl:
  # take it from an apt source that has it, else the upstream release, checked against its published SHA-256.
  log "installing kubectl for the Kubernetes manifest tests"
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubectl >/dev/null 2>&1; then
    kubectl_dir=$(mktemp -d /tmp/dt-test-kubectl.XXXXXX)
    kubectl_url="https://dl.k8s.io/release/v1.32.4/bin/linux/$(dpkg --print-architecture)/kubectl"
    curl -fsSL -o "$kubectl_dir/kubectl" "$kubectl_url" && curl -fsSL -o "$kubectl_dir/kubectl.sha256" "$kubectl_url.sha256" \
      && echo "$(cat "$kubectl_dir/kubectl.sha256")  $kubectl_dir/kubectl" | sha256sum --check --status \
      || { echo "kubectl is missing and could not be installed: see https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/" >&2; exit 1; }
    chmod +x "$kubectl_dir/kubectl"
    export PATH="$kubectl_dir:$PATH"
  fi
fi

# A throwaway PostgreSQL on a free loopback port, in a temporary folder, stopped and removed on exit.
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
pg_dir=$(mktemp -d /tmp/dt-test-pg.XXXXXX)
run_pg=()
if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$pg_dir"; run_pg=(runuser -u postgres --); fi
pg_port=""
for candidate in $(shuf -i 20000-60999 -n 50); do
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then pg_port=$candidate; break; fi
done
[ -n "$pg_port" ] || { echo "no free port for PostgreSQL" >&2; exit 1; }
cleanup() {
  "${run_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/db" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$pg_dir"
}
trap cleanup EXIT
(cd /tmp && "${run_pg[@]}" "$pg_bin/initdb" -D "$pg_dir/db" -U postgres --auth=trust -E UTF8 --no-sync >/dev/null)
(cd /tmp && "${run_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/db" -l "$pg_dir/server.log" -w -t 60 \
  -o "-p $pg_port -c listen_addresses=127.0.0.1 -k $pg_dir -c fsync=off -c max_connections=200" start >/dev/null)
export DEVICETRUST_TEST_POSTGRES="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=postgres;Pooling=false"
log "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$pg_port"

log "building (Release, warnings are errors)"
dotnet build Cluster.sln -c Release -warnaserror -nologo -clp:ErrorsOnly

log "checking formatting"
dotnet format Cluster.sln --verify-no-changes --no-restore

log "running the tests"
results=$(mktemp)
status=0
# A suite that finds no test fails instead of passing quietly.
dotnet test Cluster.sln -c Release --no-build --nologo -- RunConfiguration.TreatNoTestsAsError=true 2>&1 | tee "$results" || status=$?
# One closing line for every suite together, then each suite against its floor (tests/suite-floors.txt).
awk -v floors=tests/suite-floors.txt '
  BEGIN { while ((getline line < floors) > 0) { if (line ~ /^[A-Za-z]/) { split(line, parts, " "); floor[parts[1]] = parts[2] } } }
  /(Passed|Failed)! +- / {
    for (i = 1; i <= NF; i++) {
      if ($i == "Passed:") { n = $(i+1); p += n }
      if ($i == "Failed:") f += $(i+1)
      if ($i == "Skipped:") s += $(i+1)
      if ($i ~ /\.dll$/) { suite = $i; sub(/\.dll$/, "", suite) }
    }
    ran[suite] = n
  }
  END {
    printf "%d passed, %d failed, %d skipped\n", p, f, s
    bad = 0
    for (suite in floor) {
      if (!(suite in ran)) { printf "suite %s did not run\n", suite; bad = 1 }
      else if (ran[suite] < floor[suite]) { printf "suite %s ran %d tests, below its floor of %d\n", suite, ran[suite], floor[suite]; bad = 1 }
    }
    exit bad
  }' FS='[ ,]+' "$results" || status=1
rm -f "$results"

# A few seconds of the fleet simulator against a fresh gateway: every authentication must succeed, and enough of them.
log "load smoke: loadtest login-storm for 3 s"
loadtest/storm.sh mixed --devices 50 --connections 2 --concurrency 8 --access-concurrency 8 --warmup 1 --duration 3 --expect-min 150 --baseline-seconds 0.5 || status=1
exit $status
