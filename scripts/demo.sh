#!/usr/bin/env bash
# The main job, in one command: a Jamf Pro simulator with a sample fleet (instance "clean", and
# instance "drifty" with drift and a risky role), a dev OpenBao, Warden's management credentials
# stored in it, wardend with config/demo.toml, then wardenctl against it. Cleans up after itself.
#
#   scripts/demo.sh            # run the demo and stop
#   KEEP=1 scripts/demo.sh     # leave everything running; stop with: kill $(cat target/demo/pids)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
demo="$root/target/demo"
sim_port=18080
vault_port=18200

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { echo "demo: $*" >&2; exit 2; }

for port in "$sim_port" "$vault_port"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "port $port is in use (an earlier demo still running? kill \$(cat target/demo/pids))"
  fi
done

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
json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {"d": d}))' "$1"; }

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

# Warden's own least-privilege management client per instance, made with a Jamf admin account
# (the seed's set-up workflow), its secret stored straight into Vault (never on a command line).
for inst in clean drifty; do
  base="http://127.0.0.1:$sim_port/instances/$inst"
  token=$(curl -fsS -X POST -u "jamf-admin:$admin_pw" "$base/api/v1/auth/token" | json 'd["token"]')
  curl -fsS -X POST "$base/api/v1/api-roles" -H "authorization: Bearer $token" -H 'content-type: application/json' \
    -d '{"displayName":"Jamf Warden","privileges":["Read API Roles","Create API Roles","Update API Roles","Delete API Roles","Read API Integrations","Create API Integrations","Update API Integrations","Delete API Integrations"]}' >/dev/null
  id=$(curl -fsS -X POST "$base/api/v1/api-integrations" -H "authorization: Bearer $token" -H 'content-type: application/json' \
    -d '{"displayName":"Jamf Warden","authorizationScopes":["Jamf Warden"],"enabled":true,"accessTokenLifetimeSeconds":300}' | json 'd["id"]')
  creds=$(curl -fsS -X POST "$base/api/v1/api-integrations/$id/client-credentials" -H "authorization: Bearer $token")
  client_id=$(printf '%s' "$creds" | json 'd["clientId"]')
  printf '%s' "$creds" | json 'd["clientSecret"]' | tr -d '\n' \
    | "$bao" kv put "secret/jamf-warden-demo/instances/$inst/management" client_id="$client_id" client_secret=- >/dev/null
  curl -fsS -X POST "$base/api/v1/auth/invalidate-token" -H "authorization: Bearer $token" >/dev/null
  echo "  $inst: management client $client_id stored at secret/jamf-warden-demo/instances/$inst/management"
done
unset creds

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

# Never-run jobs are due at once: wait for the first round to finish.
for _ in $(seq 100); do
  ctl status --json | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if all(j.get("last_run") for i in d["instances"] for j in i["jobs"]) else 1)' && break
  sleep 0.2
done

say "wardenctl status"
ctl status
say "wardenctl instances"
ctl instances
say "wardenctl reload (SIGHUP does the same)"
ctl reload || echo "  (reload needs your uid in daemon.admin_uids of config/demo.toml)"
say "wardenctl log tail"
ctl log tail -n 10
say "wardenctl log verify"
ctl log verify

say "no secret in any log or output"
found=0
for inst in clean drifty; do
  secret=$("$bao" kv get -field=client_secret "secret/jamf-warden-demo/instances/$inst/management")
  if grep -rqF -- "$secret" "$demo"/*.log "$demo"/*.out "$demo"/log "$demo"/state 2>/dev/null; then
    echo "  LEAK: the $inst management secret appears in target/demo" >&2; found=1
  fi
done
[ "$found" = 0 ] && echo "  checked: no management secret in target/demo logs, outputs or state"

say "stop wardend (SIGTERM)"
kill -TERM "$wardend_pid"
wait "$wardend_pid" && echo "  wardend exited 0; socket removed: $([ -S "$sock" ] && echo no || echo yes)"
