#!/usr/bin/env bash
# Regenerates the golden TPM fixtures under tests/DeviceTrust.Tpm.Tests/Fixtures from a fresh swtpm, with
# tpm2-tools doing the TPM side (we did not write either). Needs: swtpm swtpm-tools tpm2-tools libtss2-tcti-swtpm0.
#   tests/tpm/make-fixtures.sh [port]
# Per kind (rsa = RSA EK + RSASSA AK, rsapss = RSA EK + RSAPSS AK, ecc = P-256 EK + ECDSA AK):
#   ek.pub ak.pub (TPM2B_PUBLIC), ak.name, ak.qname, quote-N.{nonce,attest,sig,pcrs} with pcrs as "bank index hex" lines.
# Also: p384/ek.pub + ek-cert.der (the high-range P-384 EK), rsa/ek-cert.der, ca/{root,intermediate}.pem,
# akcreation/ (AK made with TPM2_Create + TPM2_CertifyCreation), generated-at (the chain verification time to pin).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/softtpm.sh"
OUT="$HERE/../DeviceTrust.Tpm.Tests/Fixtures"
P=${1:-27321}
D=$(mktemp -d /tmp/dt-fixtures.XXXXXX)
trap 'st_stop "$D" "$P"; rm -rf "$D"' EXIT
rm -rf "$OUT"; mkdir -p "$OUT/ca" "$OUT/rsa" "$OUT/rsapss" "$OUT/ecc" "$OUT/p384" "$OUT/akcreation"
st_manufacture "$D"
st_start "$D" "$P"
T() { st_tool "$D" "$P" "$@"; }
cp "$D/ca/swtpm-localca-rootca-cert.pem" "$OUT/ca/root.pem"
cp "$D/ca/issuercert.pem" "$OUT/ca/intermediate.pem"
date -u +%Y-%m-%dT%H:%M:%SZ > "$OUT/generated-at"

# the P-256 EK (low-range template L-2; swtpm_setup makes no certificate for it) persisted at 0x81010002
T tpm2_createek -G ecc -c "$D/ek-ecc.ctx" -u "$D/ek-ecc.pub" -f tss >/dev/null
T tpm2_evictcontrol -C o -c "$D/ek-ecc.ctx" 0x81010002 >/dev/null
st_ak "$D" "$P" 0x81010001 0x81000101 rsa rsassa
st_ak "$D" "$P" 0x81010001 0x81000102 rsa rsapss
st_ak "$D" "$P" 0x81010002 0x81000103 ecc ecdsa

# measurements into PCRs 0, 4, 7 of both banks
for pcr in 0 4 7; do printf 'measurement %s' "$pcr" > "$D/event"; T tpm2_pcrevent "$pcr" "$D/event" >/dev/null; done

kind() { # kind ek ak scheme
  local k=$1 ek=$2 ak=$3 scheme=$4 o="$OUT/$1"
  T tpm2_readpublic -c "$ek" -f tss -o "$o/ek.pub" >/dev/null
  T tpm2_readpublic -c "$ak" -f tss -o "$o/ak.pub" -n "$o/ak.name" -q "$o/ak.qname" >/dev/null
  local n=1 sel
  for sel in "sha256:0,1,2,3,4,5,6,7" "sha1:0,4,7+sha256:0,4,7,16,23"; do
    head -c 20 /dev/urandom > "$o/quote-$n.nonce"
    T tpm2_quote -c "$ak" -l "$sel" -q "$o/quote-$n.nonce" -g sha256 --scheme "$scheme" \
      -m "$o/quote-$n.attest" -s "$o/quote-$n.sig" >/dev/null
    # PCR values as the device reports them: "bank index hex", read right after the quote
    : > "$o/quote-$n.pcrs"
    local bank list i
    for part in ${sel//+/ }; do
      bank=${part%%:*}; list=${part#*:}
      for i in ${list//,/ }; do
        echo "$bank $i $(T tpm2_pcrread "$bank:$i" -o "$D/pcr.bin" >/dev/null && xxd -p -c 256 "$D/pcr.bin")" >> "$o/quote-$n.pcrs"
      done
    done
    n=$((n + 1))
  done
}
kind rsa 0x81010001 0x81000101 rsassa
kind rsapss 0x81010001 0x81000102 rsapss
kind ecc 0x81010002 0x81000103 ecdsa
T tpm2_nvread 0x01c00002 -C o -o "$OUT/rsa/ek-cert.der" >/dev/null
T tpm2_readpublic -c 0x81010016 -f tss -o "$OUT/p384/ek.pub" >/dev/null
T tpm2_nvread 0x01c00016 -C o -o "$OUT/p384/ek-cert.der" >/dev/null

# an AK created with TPM2_Create under the RSA EK, with its creation certified by itself
A="$OUT/akcreation"
export TPM2TOOLS_TCTI; TPM2TOOLS_TCTI=$(st_tcti "$D" "$P")
tpm2_startauthsession --policy-session -S "$D/s.ctx" >/dev/null
tpm2_policysecret -S "$D/s.ctx" -c e >/dev/null
tpm2_create -C 0x81010001 -P "session:$D/s.ctx" -g sha256 -G rsa2048:rsassa-sha256:null \
  -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign' -u "$A/ak.pub" -r "$D/ak.priv" \
  --creation-data "$D/creation-data" -t "$D/creation-ticket" -d "$D/creation-hash" >/dev/null
st_flush "$D" "$P"
tpm2_startauthsession --policy-session -S "$D/s.ctx" >/dev/null
tpm2_policysecret -S "$D/s.ctx" -c e >/dev/null
tpm2_load -C 0x81010001 -P "session:$D/s.ctx" -u "$A/ak.pub" -r "$D/ak.priv" -c "$D/akc.ctx" >/dev/null
tpm2_evictcontrol -C o -c "$D/akc.ctx" 0x81000104 >/dev/null
st_flush "$D" "$P"
tail -c +3 "$D/creation-data" > "$A/creation-data"
head -c 20 /dev/urandom > "$A/nonce"
T tpm2_certifycreation -C 0x81000104 -c 0x81000104 -d "$D/creation-hash" -t "$D/creation-ticket" -g sha256 -s rsassa -f tss \
  -o "$A/creation-sig" --attestation "$A/creation-attest" -q "$A/nonce" >/dev/null
cp "$OUT/rsa/ek.pub" "$A/ek.pub"
echo "fixtures written to $OUT"
