#!/bin/bash
# The TinyFleet leaf firmware on a Cortex-M4 under QEMU, end to end. Run from the repository root, no arguments:
#   Examples/mcu-qemu/run.sh
# Uses fleet-coordinator, fleet-agent and fleetctl from PATH (builds them with `swift build` when missing), builds
# the firmware (build.sh), starts a coordinator, a gateway `fleet-agent --leaf-listen`, and QEMU mps2-an386 with
# UART0 on the gateway's leaf port. The firmware enrols with a one-use token and a seed for its (test-only) random
# source, both passed on its semihosting command line. Pushes digits-mlp v1 int8, waits until the leaf installed
# it, pushes v2 int8, and exits 0 once the leaf installed v2 (served to it as a delta, per fleetctl transfers),
# classified the baked-in digit row through it as the row's label, and `fleetctl devices --json` lists the leaf
# with its gateway and v2 installed.
# Prints `installed digits-mlp v2` then. Every process logs to a file in a temporary directory, printed on failure.
# MCU_QEMU_KEEP=1 keeps the temporary directory and its logs.
# Needs: qemu-system-arm gcc-arm-none-eabi libnewlib-arm-none-eabi python3
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v fleet-coordinator >/dev/null || ! command -v fleet-agent >/dev/null || ! command -v fleetctl >/dev/null
then
    swift build --product fleet-coordinator >&2 && swift build --product fleet-agent >&2 \
        && swift build --product fleetctl >&2
    PATH="$PWD/.build/debug:$PATH"
fi
models=Tests/FleetDeltaTests/Fixtures
work="$(mktemp -d "${TMPDIR:-/tmp}/mcu-qemu.XXXXXX")"
pids=()
finish() {
    status=$?
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    # QEMU inherits its parent's signal mask: started from a Swift test process, SIGTERM is blocked and never
    # delivered, so it is killed outright (it holds nothing worth saving).
    [ -z "${qemu_pid:-}" ] || kill -KILL "$qemu_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    if [ "$status" -ne 0 ]; then
        for log in "$work"/*.log; do echo "==== $log" >&2; tail -n 60 "$log" >&2; done
    fi
    if [ -n "${MCU_QEMU_KEEP:-}" ]; then echo "logs kept in $work" >&2; else rm -rf "$work"; fi
}
trap finish EXIT
fail() { echo "mcu-qemu: $*" >&2; exit 1; }
# wait_for SECONDS WHAT COMMAND...: runs COMMAND every 0.2 s until it succeeds.
wait_for() {
    local limit=$(($1 * 5)) what=$2 tries=0
    shift 2
    until "$@" >/dev/null 2>&1; do
        tries=$((tries + 1))
        [ "$tries" -lt "$limit" ] || fail "timed out waiting for $what"
        sleep 0.2
    done
}
devices() { fleetctl devices --data-dir "$work/coordinator" --json; }

firmware=$(Examples/mcu-qemu/build.sh 2>"$work/build.log")
fleet-coordinator --data-dir "$work/coordinator" --listen 127.0.0.1:0 >"$work/coordinator.log" 2>&1 &
pids+=($!)
wait_for 30 "the coordinator" test -f "$work/coordinator/coordinator.json"
leaf_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
port=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["port"])' "$work/coordinator/coordinator.json")
gateway_token=$(fleetctl token create --data-dir "$work/coordinator" | head -n 1)
fleet-agent --data-dir "$work/gateway" --coordinator "127.0.0.1:$port" --name gateway --token "$gateway_token" \
    --leaf-listen "127.0.0.1:$leaf_port" >"$work/gateway.log" 2>&1 &
pids+=($!)
wait_for 60 "the gateway's leaf port" bash -c "exec 3<>/dev/tcp/127.0.0.1/$leaf_port"
leaf_token=$(fleetctl token create --data-dir "$work/coordinator" | head -n 1)
seed=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic -monitor none \
    -serial "tcp:127.0.0.1:$leaf_port,nodelay=on" -semihosting-config enable=on,target=native \
    -kernel "$firmware" -append "$leaf_token $seed" >"$work/qemu.log" 2>&1 &
qemu_pid=$!
wait_for 60 "the leaf to enrol" grep -q '^enrolled' "$work/qemu.log"

push() {
    fleetctl model push digits-mlp --data-dir "$work/coordinator" --version "$1" --variant int8 --min-ram 64KiB \
        --file "$models/digits-mlp-v$1-int8.safetensors" >>"$work/fleetctl.log" 2>&1
}
push 1
wait_for 180 "the leaf to install v1" grep -q '^installed digits-mlp v1 int8' "$work/qemu.log"
push 2
wait_for 180 "the leaf to install v2" grep -q '^installed digits-mlp v2 int8' "$work/qemu.log"
wait_for 30 "the leaf's classification" grep -q '^classified digit' "$work/qemu.log"
result=$(grep '^classified digit' "$work/qemu.log" | tail -n 1)
[ "$result" = "classified digit: class 1 (row label 1)" ] || fail "the leaf classified the row wrongly: $result"
# The coordinator's view: the leaf is its own device, behind the gateway, reporting v2 int8.
leaf_check() {
    devices | python3 -c '
import json, sys
devices = json.load(sys.stdin)
gateway = next(d["id"] for d in devices if d["name"] == "gateway")
leaf = next(d for d in devices if d["name"] == "leaf-qemu")
assert leaf.get("gateway") == gateway, leaf
assert any(m["name"] == "digits-mlp" and m["version"] == 2 and m["variant"] == "int8" for m in leaf["installedModels"]), leaf
print(leaf["id"], "behind", gateway)'
}
wait_for 30 "fleetctl devices to list the leaf with v2 behind the gateway" leaf_check
grep -E '^(leaf |enrolled|installed|classified|stack)' "$work/qemu.log"
echo "fleetctl devices: leaf-qemu $(leaf_check)"
leaf_id=$(leaf_check | cut -d' ' -f1)
transfers=$(fleetctl transfers --data-dir "$work/coordinator" --model digits-mlp)
echo "$transfers" | grep -Eq "^$leaf_id +digits-mlp +v2 +int8 +delta " || fail "v2 did not reach the leaf as a delta: $transfers"
echo "fleetctl transfers (what the coordinator served; the gateway relays it to the leaf):"
echo "$transfers"
echo "installed digits-mlp v2"
