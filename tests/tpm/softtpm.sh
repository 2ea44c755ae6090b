#!/usr/bin/env bash
# softtpm.sh — a software TPM (swtpm) for tests, driven with tpm2-tools. Source it; every function takes the
# device folder D (absolute; swtpm chdir()s to / when it daemonizes) and the TPM port P (control port = P+1, which
# the tss2 swtpm TCTI assumes).
#
#   st_manufacture D         swtpm_setup: RSA-2048 EK (0x81010001, cert at NV 0x01c00002), P-384 EK (0x81010016,
#                            cert at 0x01c00016), SRK; SHA-1 + SHA-256 banks; a CA of its own under D/ca
#   st_start D P / st_stop D P
#   st_tool D P tool args…   run a tpm2-tools command against the device, then flush transient handles
#   st_ak D P EKHANDLE AKHANDLE rsa|ecc rsassa|rsapss|ecdsa   create and persist an AK under an EK
#   st_activate D P EKHANDLE AKHANDLE IDOBJECT ENCSECRET OUT   TPM2_ActivateCredential (policy session for the EK)
#
# Traps handled here: relative state paths put swtpm in failure mode; no resource manager, so transient objects are
# flushed after each tool; dictionary-attack lockout after unclean stops (lockout relaxed, orderly shutdown on stop).
export TSS2_LOG=${TSS2_LOG:-all+none}

st_tcti() { echo "swtpm:host=127.0.0.1,port=$2"; }

st_manufacture() {
  local d=$1
  [ -s "$d/state/tpm2-00.permall" ] && return 0
  mkdir -p "$d/ca" "$d/state" "$d/ekcerts"
  printf 'statedir = %s/ca\nsigningkey = %s/ca/signkey.pem\nissuercert = %s/ca/issuercert.pem\ncertserial = %s/ca/certserial\n' \
    "$d" "$d" "$d" "$d" > "$d/ca/localca.conf"
  printf -- '--platform-manufacturer DeviceTrustTest\n--platform-version 2.1\n--platform-model TestTPM\n' > "$d/ca/localca.options"
  printf 'create_certs_tool = /usr/bin/swtpm_localca\ncreate_certs_tool_config = %s/ca/localca.conf\ncreate_certs_tool_options = %s/ca/localca.options\nactive_pcr_banks = sha256\n' \
    "$d" "$d" > "$d/ca/setup.conf"
  swtpm_setup --tpm2 --tpmstate "$d/state" --config "$d/ca/setup.conf" --createek --create-ek-cert \
    --create-platform-cert --create-spk --lock-nvram --pcr-banks sha1,sha256 --write-ek-cert-files "$d/ekcerts" \
    --not-overwrite --logfile "$d/setup.log" >/dev/null || { cat "$d/setup.log" >&2; return 1; }
}

st_start() {
  local d=$1 p=$2
  swtpm socket --tpm2 --tpmstate dir="$d/state" --server type=tcp,port="$p",bindaddr=127.0.0.1 \
    --ctrl type=tcp,port=$((p + 1)),bindaddr=127.0.0.1 --flags not-need-init,startup-clear \
    --pid file="$d/swtpm.pid" --log file="$d/swtpm.log" -d || return 1
  local i up=""
  for i in $(seq 1 300); do (exec 3<>/dev/tcp/127.0.0.1/"$p") 2>/dev/null && { up=1; break; }; sleep 0.01; done
  # our own swtpm must be the one serving: with a port taken by another, the connect above could reach theirs
  [ -n "$up" ] && [ -f "$d/swtpm.pid" ] && kill -0 "$(cat "$d/swtpm.pid")" 2>/dev/null || return 1
  TPM2TOOLS_TCTI=$(st_tcti "$d" "$p") tpm2_dictionarylockout -s -n 1000 -t 1 -l 1 >/dev/null 2>&1 || true
}

st_stop() {
  local d=$1 p=$2
  [ -f "$d/swtpm.pid" ] || return 0
  TPM2TOOLS_TCTI=$(st_tcti "$d" "$p") tpm2_shutdown -c >/dev/null 2>&1 || true
  swtpm_ioctl --tcp 127.0.0.1:$((p + 1)) -s >/dev/null 2>&1 || kill "$(cat "$d/swtpm.pid")" 2>/dev/null || true
  rm -f "$d/swtpm.pid"
}

st_flush() {
  TPM2TOOLS_TCTI=$(st_tcti "$1" "$2") tpm2_flushcontext -t >/dev/null 2>&1 || true
  TPM2TOOLS_TCTI=$(st_tcti "$1" "$2") tpm2_flushcontext -s >/dev/null 2>&1 || true
}

st_tool() {
  local d=$1 p=$2; shift 2
  local rc=0
  TPM2TOOLS_TCTI=$(st_tcti "$d" "$p") "$@" || rc=$?
  st_flush "$d" "$p"
  return $rc
}

st_ak() {
  local d=$1 p=$2 ek=$3 ak=$4 alg=$5 scheme=$6 tmp
  TPM2TOOLS_TCTI=$(st_tcti "$d" "$p") tpm2_readpublic -c "$ak" >/dev/null 2>&1 && return 0
  tmp=$(mktemp -d)
  st_tool "$d" "$p" tpm2_createak -C "$ek" -c "$tmp/ak.ctx" -G "$alg" -g sha256 -s "$scheme" -u "$tmp/ak.pub" -f tss >/dev/null &&
  st_tool "$d" "$p" tpm2_evictcontrol -C o -c "$tmp/ak.ctx" "$ak" >/dev/null
  local rc=$?; rm -rf "$tmp"; return $rc
}

st_activate() {
  local d=$1 p=$2 ek=$3 ak=$4 idobject=$5 encsecret=$6 out=$7 tmp rc=0
  tmp=$(mktemp -d)
  # tpm2-tools' credential container: magic BADCC0DE, version 1, then the two TPM2B structures as they are
  { printf '\xba\xdc\xc0\xde\x00\x00\x00\x01'; cat "$idobject" "$encsecret"; } > "$tmp/cred"
  export TPM2TOOLS_TCTI; TPM2TOOLS_TCTI=$(st_tcti "$d" "$p")
  if tpm2_readpublic -c "$ek" | grep -q 'userwithauth'; then
    tpm2_activatecredential -c "$ak" -C "$ek" -i "$tmp/cred" -o "$out" >/dev/null 2>"$tmp/err" || rc=$?
  else
    # low-range EK templates authorize with PolicySecret(TPM_RH_ENDORSEMENT)
    { tpm2_startauthsession --policy-session -S "$tmp/s.ctx" >/dev/null &&
      tpm2_policysecret -S "$tmp/s.ctx" -c e >/dev/null &&
      tpm2_activatecredential -c "$ak" -C "$ek" -i "$tmp/cred" -o "$out" -P "session:$tmp/s.ctx" >/dev/null 2>"$tmp/err"; } || rc=$?
  fi
  [ $rc = 0 ] || cat "$tmp/err" >&2
  st_flush "$d" "$p"; rm -rf "$tmp"; return $rc
}
