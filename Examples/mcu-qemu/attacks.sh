#!/bin/bash
# Attacks on the Cortex-M4 leaf under QEMU, through a dishonest carrier (relay.py) between its UART and the gateway.
# Run from the repository root, no arguments: Examples/mcu-qemu/attacks.sh
# The leaf installs digits-mlp v1 int8 through the relay passing frames; v2 is pushed, and:
#   1. a bad signature: the relay flips a byte of v2's signed manifest: the leaf refuses v2 (bad-signature);
#   2. a tampered payload: QEMU restarts on its flash file, the relay flips a byte of v2's payload and re-hashes
#      transferStart's payloadSHA256 to match: the leaf's install checks refuse it;
#   3. QEMU restarts and the relay passes: the leaf installs v2 (the attacks did not wedge it);
#   4. a replayed older manifest: QEMU restarts, the relay replaces v2's manifest by v1's genuine one: the leaf
#      refuses the rollback.
# After each refusal the leaf must still run the model it had, bit-exact (the SHA-256 it computes from its flash,
# and the flash file's bytes, equal the published file's), and classify the digit row with it; the coordinator must
# list it with that version. Prints `attacks refused: bad signature, tampered payload, replayed manifest` on success.
# Needs: qemu-system-arm gcc-arm-none-eabi libnewlib-arm-none-eabi python3
set -euo pipefail
cd "$(dirname "$0")/../.."
. Examples/mcu-qemu/lib.sh
flash="$work/flash.bin"
v1="$models/digits-mlp-v1-int8.safetensors"
v2="$models/digits-mlp-v2-int8.safetensors"
start_fleet
start_relay
run=0
boot() {
    run=$((run + 1))
    log="$work/qemu-$run.log"
    start_qemu "$relay_port" "$log" "$flash"
}
# reported VERSION: the coordinator lists the leaf with digits-mlp VERSION only.
reported() {
    devices | python3 -c '
import json, sys
leaf = next(d for d in json.load(sys.stdin) if d["name"] == "leaf-qemu")
assert [m["version"] for m in leaf["installedModels"] if m["name"] == "digits-mlp"] == [int(sys.argv[1])], leaf' "$1"
}
# still_runs VERSION FILE WHAT REFUSAL: after the leaf's first line matching REFUSAL (a regular expression), it
# printed its active slot (VERSION, bit-exact with FILE) and classified the row as its label; the coordinator lists
# it with VERSION.
still_runs() {
    local line refusal
    wait_for 30 "the leaf to classify after refusing $3" bash -c \
        "grep -E -A3 '$4' '$log' | grep -q '^classified digit'"
    refusal=$(grep -E -m1 "$4" "$log")
    line=$(grep -E -m1 -A1 "$4" "$log" | grep -m1 '^active slot')
    check_active "$line" "$flash" "$1=$2" >/dev/null || fail "after refusing $3: $line"
    [ "$(grep -E -m1 -A3 "$4" "$log" | grep -m1 '^classified digit')" = "classified digit: class 1 (row label 1)" ] \
        || fail "after refusing $3 the leaf classified wrongly"
    wait_for 30 "fleetctl devices to list the leaf with v$1" reported "$1"
    echo "refused $3: $refusal; still runs v$1 bit-exact, classified the row as its label"
}

boot
wait_for 60 "the leaf to enrol" grep -q '^enrolled' "$log"
push 1
wait_for 180 "the leaf to install v1" grep -q '^installed digits-mlp v1 int8' "$log"

echo signature >"$work/relay.mode"
push 2
refusal='^refused v2: bad-signature'
wait_for 60 "the leaf to refuse v2's altered manifest" grep -q "$refusal" "$log"
still_runs 1 "$v1" "a manifest with a bad signature" "$refusal"

echo payload >"$work/relay.mode"
kill_qemu
boot
refusal='^refused v2: (hash-mismatch|reconstruction-failed)'
wait_for 60 "the leaf to refuse v2's tampered payload" grep -Eq "$refusal" "$log"
grep -q '^relay: flipped payload byte' "$work/relay.log" || fail "the relay altered no payload"
still_runs 1 "$v1" "a tampered payload" "$refusal"

echo pass >"$work/relay.mode"
kill_qemu
boot
line=$(after_install 60 2 "$log")
check_active "$line" "$flash" "2=$v2" >/dev/null || fail "v2 is not active once the relay passes: $line"

echo replay >"$work/relay.mode"
kill_qemu
boot
refusal='^refused v1: rollback'
wait_for 60 "the leaf to refuse the replayed v1 manifest" grep -q "$refusal" "$log"
grep -q '^relay: replayed' "$work/relay.log" || fail "the relay replayed nothing"
still_runs 2 "$v2" "a replayed older manifest" "$refusal"
echo "attacks refused: bad signature, tampered payload, replayed manifest"
