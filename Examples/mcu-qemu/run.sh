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
# `run.sh --serial` does the same over a serial line: QEMU's UART0 on a pseudo-terminal (`-serial pty`) and the
# gateway started with `--leaf-serial` on it, as a board on /dev/ttyUSB0 would be carried.
# MCU_QEMU_KEEP=1 keeps the temporary directory and its logs.
# Needs: qemu-system-arm gcc-arm-none-eabi libnewlib-arm-none-eabi python3
set -euo pipefail
cd "$(dirname "$0")/../.."
. Examples/mcu-qemu/lib.sh
case "${1:-}" in
"")
    start_fleet
    start_qemu "$leaf_port" "$work/qemu.log"
    ;;
--serial)
    start_coordinator
    start_qemu_pty "$work/qemu.log"
    start_gateway --leaf-serial "$leaf_tty"
    echo "leaf on the serial line $leaf_tty"
    ;;
*) fail "usage: Examples/mcu-qemu/run.sh [--serial]" ;;
esac
wait_for 60 "the leaf to enrol" grep -q '^enrolled' "$work/qemu.log"

push 1
wait_for 180 "the leaf to install v1" grep -q '^installed digits-mlp v1 int8' "$work/qemu.log"
push 2
after_install 180 2 "$work/qemu.log" >/dev/null
result=$(grep -A2 '^installed digits-mlp v2 int8' "$work/qemu.log" | grep -m1 '^classified digit')
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
grep -E '^(leaf |kit state|enrolled|installed|classified|stack)' "$work/qemu.log"
echo "fleetctl devices: leaf-qemu $(leaf_check)"
leaf_id=$(leaf_check | cut -d' ' -f1)
transfers=$(fleetctl transfers --data-dir "$work/coordinator" --model digits-mlp)
echo "$transfers" | grep -Eq "^$leaf_id +digits-mlp +v2 +int8 +delta " || fail "v2 did not reach the leaf as a delta: $transfers"
echo "fleetctl transfers (what the coordinator served; the gateway relays it to the leaf):"
echo "$transfers"
echo "installed digits-mlp v2"
