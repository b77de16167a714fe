#!/usr/bin/env bash
# The main job, in one command: a Jamf Pro simulator with a sample fleet (instance "clean", and
# instance "drifty" with drift and a risky role) and an admin user account, a dev OpenBao,
# wardend with config/demo.toml, `wardenctl bootstrap` of Warden's own management client on
# both instances with that admin account, then wardenctl against it. Cleans up after itself.
#
#   scripts/demo.sh            # run the demo and stop
#   KEEP=1 scripts/demo.sh     # leave everything running; stop with: kill $(cat target/demo/pids)
#
# Bootstrap is an admin command: run the demo as root, or add your uid to daemon.admin_uids in
# config/demo.toml.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
demo="$root/target/demo"
sim_port=18080
vault_port=18200
metrics_port=18464
receiver_port=18465

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { echo "demo: $*" >&2; exit 2; }

for port in "$sim_port" "$vault_port" "$metrics_port" "$receiver_port"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "port $port is in use (an earlier demo still running? kill \$(cat target/demo/pids))"
  fi
done

uid="$(id -u)"
if [ "$uid" != 0 ] && ! grep -Eq "^admin_uids = \[([0-9, ]*[^0-9])?$uid([^0-9][0-9, ]*)?\]" config/demo.toml; then
  die "wardenctl bootstrap needs your uid ($uid) in daemon.admin_uids of config/demo.toml (or run as root)"
fi

# wardend refuses config and desired files that group or others can write (a checkout made
# with umask 002 has them 0664): make the demo's own files owner-writable only.
chmod go-w config/demo.toml config/baseline.toml config/desired/*.toml

say "build"
cargo build --quiet --bins
bin="$root/target/debug"
bao="$(scripts/install-openbao.sh)"

rm -rf "$demo"
mkdir -p "$demo"
pids=()
cleanup() {
  if [ "${KEEP:-0}" = 1 ]; then
    printf '%s\n' "${pids[@]}" > "$demo/pids"
    echo "demo: left running (pids in target/demo/pids)"
    return
  fi
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

rand() { python3 -c 'import secrets; print(secrets.token_urlsafe(24))'; }

say "dev OpenBao on 127.0.0.1:$vault_port"
( umask 077; rand > "$demo/vault-token" )
BAO_TOKEN="$(cat "$demo/vault-token")"
"$bao" server -dev -dev-no-store-token -dev-root-token-id="$BAO_TOKEN" \
  -dev-listen-address="127.0.0.1:$vault_port" > "$demo/openbao.log" 2>&1 &
pids+=($!)
export BAO_ADDR="http://127.0.0.1:$vault_port" BAO_TOKEN
for _ in $(seq 100); do
  curl -fsS "$BAO_ADDR/v1/sys/health" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "$BAO_ADDR/v1/sys/health" >/dev/null || die "openbao did not start; see $demo/openbao.log"

say "Jamf Pro simulator on 127.0.0.1:$sim_port (instances clean, drifty)"
admin_pw="$(rand)"
"$bin/jamf-sim" --listen "127.0.0.1:$sim_port" --state scripts/demo/fleet.json \
  --user "jamf-admin:$admin_pw:admin" > "$demo/jamf-sim.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "jamf-sim listening" "$demo/jamf-sim.log" && break; sleep 0.1; done
grep -q "jamf-sim listening" "$demo/jamf-sim.log" || die "the simulator did not start; see $demo/jamf-sim.log"

say "webhook receiver on 127.0.0.1:$receiver_port (verifies each alert's HMAC signature)"
(umask 077; python3 -c 'import secrets; print(secrets.token_hex(32), end="")' > "$demo/notify-hmac")
python3 scripts/demo/receiver.py "$receiver_port" "$demo/notify-hmac" "$demo/events.jsonl" \
  > "$demo/receiver.log" 2>&1 &
pids+=($!)

say "wardend --check-config"
"$bin/wardend" --config config/demo.toml --check-config > "$demo/effective-config.toml"
echo "  valid; effective configuration in target/demo/effective-config.toml"

say "wardend"
"$bin/wardend" --config config/demo.toml > "$demo/wardend.out" 2>&1 &
wardend_pid=$!
pids+=($wardend_pid)
sock="$demo/wardend.sock"
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || { cat "$demo/wardend.out" >&2; die "wardend did not start"; }
ctl() { "$bin/wardenctl" --socket "$sock" "$@"; }

# Warden's own least-privilege management client per instance, set up with the Jamf admin account
# (the seed's set-up workflow): the password goes in on stdin (never on a command line), the
# secret is generated straight into Vault, and the admin account is not needed afterwards.
for inst in clean drifty; do
  say "wardenctl bootstrap $inst --username jamf-admin --password-stdin"
  printf '%s\n' "$admin_pw" | ctl bootstrap "$inst" --username jamf-admin --password-stdin \
    | tee "$demo/bootstrap-$inst.out"
done
say "wardenctl bootstrap clean again: refused, the management secret works (use rotate)"
if printf '%s\n' "$admin_pw" | ctl bootstrap clean --username jamf-admin --password-stdin 2> "$demo/bootstrap-again.err"; then
  die "a second bootstrap replaced a working management secret"
fi
cat "$demo/bootstrap-again.err"

# Jobs that ran before the bootstrap failed for want of credentials; bootstrap lets them run again
# at once: wait until every job has run successfully.
for _ in $(seq 150); do
  ctl status --json | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if all(j.get("last_run") and not j.get("running") and (j["kind"] == "rotate" or j.get("last_outcome") == "ok") for i in d["instances"] for j in i["jobs"]) else 1)' && break
  sleep 0.2
done

say "wardenctl status (exit 0 only when every job of every instance is ok)"
rc=0; ctl status || rc=$?
echo "  (exit $rc)"
say "wardenctl status --check (one line per problem, for monitors)"
ctl status --check || true
say "wardenctl instances"
ctl instances
say "Prometheus metrics: curl http://127.0.0.1:$metrics_port/metrics (non-zero job, drift, finding and rotation lines)"
curl -fsS "http://127.0.0.1:$metrics_port/metrics" > "$demo/metrics.out"
grep -E '^warden_(job_last_run_success|drift_items|audit_findings|rotations_total|client_secret_age_seconds)\{' "$demo/metrics.out" \
  | grep -Ev ' 0(\.0)?$' | head -n 16 || true
echo "  $(grep -c '^warden_' "$demo/metrics.out") samples in target/demo/metrics.out; every metric: docs/operations.md"

say "alerts: what the webhook receiver got (drift appeared, new findings; HMAC signatures verified)"
for _ in $(seq 100); do grep -q '"drift_appeared"' "$demo/events.jsonl" 2>/dev/null && break; sleep 0.2; done
grep -q '"kind": "drift_appeared".*"signature_verified": true' "$demo/events.jsonl" \
  || die "no verified drift_appeared alert reached the receiver; see $demo/events.jsonl and $demo/wardend.out"
python3 -c 'import json,sys
lines = sorted(open(sys.argv[1]).read().splitlines(), key=lambda l: "\"drift_" not in l)
for line in lines[:6]:
    e = json.loads(line)
    print("  [{severity}] {kind} {instance}: {summary} (signature verified: {signature_verified})".format(**e))
print("  {} alerts so far in target/demo/events.jsonl".format(len(lines)))' "$demo/events.jsonl"

say "wardenctl secrets (the scheduled rotation ran: clean's clients rotated; drifty's drift blocks some)"
ctl secrets || true

base="http://127.0.0.1:$sim_port/instances/clean"
kv="secret/jamf-warden-demo/instances/clean/clients/cmdb-inventory-sync"
token_with() {  # client_id client_secret -> HTTP status of a token request
  curl -s -o /dev/null -w '%{http_code}' -X POST "$base/api/v1/oauth/token" \
    --data-urlencode grant_type=client_credentials --data-urlencode "client_id=$1" --data-urlencode "client_secret=$2"
}
say "a consumer reads the secret from OpenBao (bao kv get $kv) and gets a Jamf token"
cid=$("$bao" kv get -field=client_id "$kv")
old=$("$bao" kv get -field=client_secret "$kv")
code=$(token_with "$cid" "$old"); echo "  token request with the stored secret: HTTP $code"
[ "$code" = 200 ] || die "the consumer could not get a token with the secret in OpenBao"

say "wardenctl rotate 'clean/CMDB Inventory Sync' --yes"
ctl rotate "clean/CMDB Inventory Sync" --yes
new=$("$bao" kv get -field=client_secret "$kv")
code_old=$(token_with "$cid" "$old"); code_new=$(token_with "$cid" "$new")
echo "  old secret: HTTP $code_old (Jamf invalidated it); new secret from OpenBao: HTTP $code_new"
[ "$code_old" = 401 ] && [ "$code_new" = 200 ] || die "rotation did not replace the secret as expected"
unset old new
say "a mint whose answer is lost: Jamf commits the new secret, then answers 503 (a fault injected in the simulator)"
curl -fsS -X POST "$base/_sim/faults" -H 'content-type: application/json' \
  -d '{"endpoint": "POST /api/v1/api-integrations/{id}/client-credentials", "kind": "fail_next", "count": 1, "status": 503, "after_commit": true}' >/dev/null
if ctl rotate "clean/CMDB Inventory Sync" --yes 2> "$demo/rotate-lost.err"; then
  die "the rotation with a lost mint answer reported success"
fi
sed 's/^/  /' "$demo/rotate-lost.err"
code=$(token_with "$cid" "$("$bao" kv get -field=client_secret "$kv")")
echo "  the consumer's secret in OpenBao now: HTTP $code (Jamf killed it when it minted the lost one)"
say "wardend heals it by itself (daemon.recovery_delay = 2s in the demo; 30s by default)"
for i in $(seq 100); do
  code=$(token_with "$cid" "$("$bao" kv get -field=client_secret "$kv")")
  [ "$code" = 200 ] && break
  sleep 0.2
done
[ "$code" = 200 ] || die "wardend did not heal the rotation whose mint answer was lost"
echo "  healed after about $((i / 5)) s: the consumer's secret in OpenBao gets HTTP $code"
ctl rotate --recover "clean/CMDB Inventory Sync"

say "adopting a client in use: 'clean/Asset Export' (its consumer holds a secret set in the Jamf console)"
asset_id=$(curl -fsS "$base/_sim/clients" | python3 -c 'import json,sys; print(next(c["id"] for c in json.load(sys.stdin) if c["displayName"] == "Asset Export"))')
curl -fsS -X POST "$base/_sim/clients/$asset_id/secret" -H 'content-type: application/json' -d '{}' > "$demo/asset-console.json"
asset_cid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["clientId"])' "$demo/asset-console.json")
asset_old=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["clientSecret"])' "$demo/asset-console.json")
rm -f "$demo/asset-console.json"
asset_kv="secret/jamf-warden-demo/instances/clean/clients/asset-export"
# The consumer: a token every 0.2 s, with the secret it holds; once asset-reads-vault exists,
# with the client id and secret it reads from OpenBao.
rm -f "$demo/asset-reads-vault" "$demo/asset-stop" "$demo/asset-consumer.log"
(
  while [ ! -e "$demo/asset-stop" ]; do
    if [ -e "$demo/asset-reads-vault" ]; then
      # one read: the client id and the secret of one version (two reads could straddle a flip)
      pair=$("$bao" kv get -format=json "$asset_kv" | python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]["data"]; print(d["client_id"], d["client_secret"])')
      c=${pair%% *}; s=${pair#* }
    else
      c=$asset_cid; s=$asset_old
    fi
    echo "$(token_with "$c" "$s")" >> "$demo/asset-consumer.log"
    sleep 0.2
  done
) &
consumer_pid=$!
pids+=($consumer_pid)
consumer_report() {
  local n fail
  n=$(wc -l < "$demo/asset-consumer.log"); fail=$(grep -vc '^200$' "$demo/asset-consumer.log" || true)
  echo "  consumer: $n token requests so far, $fail failed"
  [ "$fail" = 0 ] || die "the adopted client's consumer broke"
}
sleep 1
ctl secrets clean | grep -E '^(INSTANCE|clean +Asset Export)' || true
say "held: the schedule leaves it alone, and wardenctl rotate refuses it until the cutover"
ctl rotate "clean/Asset Export" --yes 2>&1 | sed 's/^/  /' || true
consumer_report
say "wardenctl adopt 'clean/Asset Export' --cutover now --yes (alternating: the twin gets a secret in Vault first)"
ctl adopt "clean/Asset Export" --cutover now --yes
sleep 1
consumer_report
say "the consumer moves to reading OpenBao ($asset_kv), then the owner confirms"
touch "$demo/asset-reads-vault"
sleep 1
ctl adopt "clean/Asset Export" --switched --yes
say "from now on normal rotations: wardenctl rotate 'clean/Asset Export' --yes"
ctl rotate "clean/Asset Export" --yes
sleep 1
touch "$demo/asset-stop"; wait "$consumer_pid" 2>/dev/null || true
consumer_report
code=$(token_with "$asset_cid" "$asset_old"); echo "  the console secret the consumer held before: HTTP $code (rotated away once the consumer had moved)"
say "wardenctl drift --now (exit 1: drift found; read-only)"
ctl drift --now || true
say "wardenctl plan drifty (what apply would do; read-only; exit 1: changes pending)"
ctl plan drifty || true
say "wardenctl apply drifty --yes (prune = true on drifty: unmanaged objects go too)"
ctl apply drifty --yes || die "apply of drifty failed"
say "wardenctl plan drifty (after apply: nothing left to do)"
ctl plan drifty || die "apply did not converge: the plan is not empty"
say "review before load: wardenctl plan --desired on a proposed change to clean (read-only; nothing is loaded)"
mkdir -p "$demo/proposed"
python3 - config/desired/clean.toml "$demo/proposed/clean.toml" <<'PY'
import sys
text = open(sys.argv[1]).read()
text = text.replace('    "Update Smart Computer Groups",\n', '    "Update Smart Computer Groups",\n    "Delete Smart Computer Groups",\n', 1)
open(sys.argv[2], "w").write(text)
PY
ctl plan --desired "$demo/proposed/clean.toml" clean || true
say "wardenctl plan clean (the loaded desired state: unchanged by the review)"
ctl plan clean || true
say "wardenctl import clean (the live estate as a desired-state file, first lines)"
ctl import clean | head -n 12

say "wardenctl reload (SIGHUP does the same)"
ctl reload || echo "  (reload needs your uid in daemon.admin_uids of config/demo.toml)"
say "wardenctl log tail"
ctl log tail -n 10
say "wardenctl log verify"
ctl log verify

say "wardenctl audit client 'drifty/Legacy Provisioning Script' (what can this client do?)"
ctl audit client "drifty/Legacy Provisioning Script" || true
say "wardenctl audit --format markdown / html (reports for the security review)"
ctl audit --format markdown --output "$demo/audit.md" --fail-on never
ctl audit --format html --output "$demo/audit.html" --fail-on never
say "wardenctl audit --framework soc2 (each control, pass/fail per instance, the findings that evidence it)"
ctl audit --framework soc2 --fail-on never > "$demo/audit-soc2.txt" || true
head -n 24 "$demo/audit-soc2.txt"
echo "  ... whole report in target/demo/audit-soc2.txt; also --format review-csv / grc-json for access reviews"
ctl audit --format review-csv --output "$demo/access-review.csv" --fail-on never
ctl audit --format oscal --output "$demo/audit.oscal.json" --fail-on never
echo "  target/demo/audit.oscal.json: OSCAL 1.1.1 assessment results for GRC tools, $(wc -c < "$demo/audit.oscal.json") bytes"
echo "  target/demo/audit.md: $(wc -l < "$demo/audit.md") lines; target/demo/audit.html: one self-contained file, $(wc -c < "$demo/audit.html") bytes"
say "a screenshot of the HTML report (headless Chromium, installed by scripts/install-chromium.sh when missing)"
if chromium="$(scripts/install-chromium.sh)"; then
  profile="$(mktemp -d)"
  rm -f "$demo/audit.png"
  "$chromium" --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars \
    --user-data-dir="$profile" --window-size=1280,2400 --screenshot="$demo/audit.png" \
    "file://$demo/audit.html" > "$demo/chromium.log" 2>&1 || true
  rm -rf "$profile"
  if [ -s "$demo/audit.png" ]; then
    echo "  $demo/audit.png (contents, summary, fleet and charts)"
  else
    echo "  no screenshot: chromium failed, see target/demo/chromium.log"
  fi
else
  echo "  no screenshot: chromium is missing and scripts/install-chromium.sh could not install it"
fi

say "no secret or password in any log or output"
found=0
for inst in clean drifty; do
  secret=$("$bao" kv get -field=client_secret "secret/jamf-warden-demo/instances/$inst/management")
  if grep -rqF -- "$secret" "$demo"/*.log "$demo"/*.out "$demo"/*.err "$demo"/log "$demo"/state 2>/dev/null; then
    echo "  LEAK: the $inst management secret appears in target/demo" >&2; found=1
  fi
done
for path in $("$bao" kv list -format=json secret/jamf-warden-demo/instances/clean/clients | python3 -c 'import json,sys; print(" ".join(k for k in json.load(sys.stdin) if not k.endswith("/")))'); do
  secret=$("$bao" kv get -field=client_secret "secret/jamf-warden-demo/instances/clean/clients/$path")
  if grep -rqF -- "$secret" "$demo"/*.log "$demo"/*.out "$demo"/*.err "$demo"/log "$demo"/state 2>/dev/null; then
    echo "  LEAK: the secret of clean/$path appears in target/demo" >&2; found=1
  fi
done
for report in "$demo/audit.md" "$demo/audit.html"; do
  for inst in clean drifty; do
    secret=$("$bao" kv get -field=client_secret "secret/jamf-warden-demo/instances/$inst/management")
    if grep -qF -- "$secret" "$report"; then echo "  LEAK: a secret appears in $report" >&2; found=1; fi
  done
done
if grep -rqF -- "$admin_pw" "$demo"/*.out "$demo"/*.err "$demo"/log "$demo"/state 2>/dev/null; then
  echo "  LEAK: the jamf admin password appears in target/demo" >&2; found=1
fi
if grep -rqF -- "$asset_old" "$demo"/*.log "$demo"/*.out "$demo"/*.err "$demo"/log "$demo"/state 2>/dev/null; then
  echo "  LEAK: the adopted client's console secret appears in target/demo" >&2; found=1
fi
[ "$found" = 0 ] || die "a secret leaked"
echo "  checked: no management secret or admin password in target/demo logs, outputs or state"

say "wardenctl audit (both instances; exit 1: findings at or above --fail-on, default low)"
ctl audit || true

say "stop wardend (SIGTERM)"
kill -TERM "$wardend_pid"
wait "$wardend_pid" && echo "  wardend exited 0; socket removed: $([ -S "$sock" ] && echo no || echo yes)"
