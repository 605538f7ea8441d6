#!/bin/bash
# Power cuts on the Cortex-M4 leaf under QEMU. Run from the repository root:
#   Examples/mcu-qemu/powercut.sh [KILLS [SEED]]        (defaults: 20 kills, a seed from /dev/urandom, printed)
# Starts a coordinator, a gateway, relay.py between them and the leaf (it re-cuts transfers into 1 KiB chunks) and
# the firmware with its flash and key storage in a host file; installs digits-mlp v1 int8, then v2 as a delta, then
# pushes v3, v4, ... (odd versions with the v1 file, even ones with the v2 file: each a 15 KB delta, 16 chunks) one
# at a time. For each version QEMU is killed with SIGKILL up to 10 times, each after a random chunk K (1 to 18: 17
# and 18 let the install complete) reached the leaf (the relay then sends nothing more) and a random 0 to 300 ms
# more, K and the delay drawn from the printed seed; it restarts on the same flash file, until a restart finds the
# new version or it installs it uncut. Every start must find the old or the new version active, bit-exact (the
# SHA-256 the leaf computes from its flash, and the flash file's bytes, equal the published file's), and classify
# the digit row as its label; at the end the leaf reports the last version to the coordinator.
# Prints one line per cut and `power cuts: N, every restart on the right model` on success.
# Needs: qemu-system-arm gcc-arm-none-eabi libnewlib-arm-none-eabi python3
set -euo pipefail
cd "$(dirname "$0")/../.."
kills=${1:-20}
cut_seed=${2:-$(($(od -An -tu4 -N4 /dev/urandom) % 32768))}
echo "power-cut seed: $cut_seed (Examples/mcu-qemu/powercut.sh $kills $cut_seed repeats the delays)"
. Examples/mcu-qemu/lib.sh
RANDOM=$cut_seed
flash="$work/flash.bin"
# Version N is published with the v1 file when N is odd, the v2 file when even: each update is a 15 KB delta.
file_number() { echo $((($1 - 1) % 2 + 1)); }
file_of() { echo "$models/digits-mlp-v$(file_number "$1")-int8.safetensors"; }
now_ms() { date +%s%3N; }
run=0
# boot: starts QEMU on the flash file with a fresh console log and checks what it runs at start: one of the
# versions given. Sets log, version.
boot() {
    run=$((run + 1))
    log="$work/qemu-$run.log"
    start_qemu "$relay_port" "$log" "$flash"
    # The active slot line is whole once a line follows it (the console writes a line in pieces).
    wait_for 30 "the leaf to start (run $run)" bash -c "grep -A1 '^active slot' '$log' | sed -n 2p | grep -q ."
    local line allowed=()
    line=$(grep -m1 '^active slot' "$log")
    for v in "$@"; do allowed+=("$v=$(file_of "$v")"); done
    version=$(check_active "$line" "$flash" "${allowed[@]}") || fail "run $run: $line"
    wait_for 30 "the leaf to classify at start (run $run)" grep -q '^classified digit' "$log"
    [ "$(grep -m1 '^classified digit' "$log")" = "classified digit: class 1 (row label 1)" ] \
        || fail "run $run classified wrongly: $(grep -m1 '^classified digit' "$log")"
}

start_fleet
# The leaf behind relay.py, which re-cuts transfers into 1 KiB chunks and stops one at the chunk a cut falls after.
start_relay
log="$work/qemu-0.log"
start_qemu "$relay_port" "$log" "$flash"
wait_for 60 "the leaf to enrol" grep -q '^enrolled' "$log"
push 1
wait_for 180 "the leaf to install v1" grep -q '^installed digits-mlp v1 int8' "$log"
kill_qemu
# v2 as a delta, uncut.
push 2
boot 1
wait_for 180 "the leaf to install v2" grep -q '^installed digits-mlp v2 int8' "$log"
kill_qemu
version=2
cuts=0
old_seen=0
new_seen=0
during=0
while [ "$cuts" -lt "$kills" ]; do
    old=$version
    new=$((old + 1))
    push "$new" "$(file_number "$new")"
    # Up to 10 cuts per version: once a restart finds the new version active, it moves on to the next.
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        [ "$cuts" -lt "$kills" ] || break
        # The cut falls after chunk K of the transfer's 1 KiB chunks (a 15 KB delta has 16: K = 17 or 18 lets the
        # install complete), then 0 to 300 ms later, while the leaf may still be writing that chunk's pages.
        chunk=$((RANDOM % 18 + 1))
        delay=$((RANDOM % 301))
        rm -f "$work/relay.mode.cut"
        echo "cut $chunk" >"$work/relay.mode"
        boot "$old" "$new"
        [ "$version" = "$old" ] || break
        old_seen=$((old_seen + 1))
        wait_for 180 "the relay to reach chunk $chunk or the leaf to install v$new (run $run)" bash -c \
            "test -f '$work/relay.mode.cut' || grep -q '^installed digits-mlp v$new' '$log'"
        sleep "0.$(printf '%03d' "$delay")"
        kill_qemu
        echo pass >"$work/relay.mode"
        cuts=$((cuts + 1))
        if grep -q "^installed digits-mlp v$new" "$log"; then
            when="after the install completed"
        else
            when="during the transfer and install"
            during=$((during + 1))
        fi
        echo "cut $cuts: v$old -> v$new, SIGKILL ${delay} ms after 1 KiB chunk $chunk reached the leaf, $when"
    done
    echo pass >"$work/relay.mode"
    if [ "$version" = "$old" ]; then
        boot "$old" "$new"
        if [ "$version" = "$old" ]; then
            old_seen=$((old_seen + 1))
            line=$(after_install 180 "$new" "$log")
            version=$(check_active "$line" "$flash" "$new=$(file_of "$new")") || fail "run $run after install: $line"
        fi
    fi
    [ "$version" = "$new" ] || fail "v$new is not active after run $run"
    new_seen=$((new_seen + 1))
    kill_qemu
done
boot "$version"
leaf_reports() {
    devices | python3 -c '
import json, sys
leaf = next(d for d in json.load(sys.stdin) if d["name"] == "leaf-qemu")
assert any(m["name"] == "digits-mlp" and m["version"] == int(sys.argv[1]) for m in leaf["installedModels"]), leaf' "$1"
}
wait_for 30 "fleetctl devices to list the leaf with v$version" leaf_reports "$version"
echo "cuts during a transfer and install: $during of $cuts (the others just after it completed)"
echo "restarts that found the old version: $old_seen, the new one: $new_seen (all bit-exact, all classified)"
echo "power cuts: $cuts, every restart on the right model"
