#!/bin/bash
# Power cuts on the Cortex-M4 leaf under QEMU. Run from the repository root:
#   Examples/mcu-qemu/powercut.sh [KILLS [SEED]]        (defaults: 20 kills, a seed from /dev/urandom, printed)
# Starts a coordinator, a gateway and the firmware with its flash and key storage in a host file; installs
# digits-mlp v1 int8 and v2 (timing v2's delta install), then pushes v3, v4, ... (versions 4, 5, ... reuse the v1,
# v2, v3 files) one at a time. For each version, QEMU is killed with SIGKILL at a random delay after the leaf's
# install began (its flash file changed; the delay uniform within the time v2's uncut install took, so the cuts
# fall across the transfer and install, the slot switch included, or just after), up to 4 times, and
# restarted on the same flash file; then it runs until the version is installed. Every start must find the old or
# the new version active, bit-exact (the SHA-256 the leaf computes from its flash, and the flash file's bytes, equal
# the published file's), and classify the digit row as its label; at the end the leaf reports the last version.
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
file_of() { echo "$models/digits-mlp-v$((($1 - 1) % 3 + 1))-int8.safetensors"; }
now_ms() { date +%s%3N; }
run=0
# boot: starts QEMU on the flash file with a fresh console log and checks what it runs at start: one of the
# versions given. Sets log, version.
boot() {
    run=$((run + 1))
    log="$work/qemu-$run.log"
    start_qemu "$leaf_port" "$log" "$flash"
    wait_for 30 "the leaf to start (run $run)" grep -q '^active slot' "$log"
    local line allowed=()
    line=$(grep -m1 '^active slot' "$log")
    for v in "$@"; do allowed+=("$v=$(file_of "$v")"); done
    version=$(check_active "$line" "$flash" "${allowed[@]}") || fail "run $run: $line"
    wait_for 30 "the leaf to classify at start (run $run)" grep -q '^classified digit' "$log"
    [ "$(grep -m1 '^classified digit' "$log")" = "classified digit: class 1 (row label 1)" ] \
        || fail "run $run classified wrongly: $(grep -m1 '^classified digit' "$log")"
}

start_fleet
log="$work/qemu-0.log"
start_qemu "$leaf_port" "$log" "$flash"
wait_for 60 "the leaf to enrol" grep -q '^enrolled' "$log"
push 1
wait_for 180 "the leaf to install v1" grep -q '^installed digits-mlp v1 int8' "$log"
kill_qemu
# The flash's contents (not the key storage after it): they change once an install has begun.
flash_digest() { head -c $((66 * 4096)) "$flash" | sha256sum | cut -d' ' -f1; }
# wait_install_begins BEFORE: waits (60 s at most) until the flash differs from digest BEFORE or the log shows an
# install; prints the milliseconds it waited.
wait_install_begins() {
    local start limit
    start=$(now_ms)
    limit=$((start + 60000))
    until [ "$(flash_digest)" != "$1" ] || grep -q '^installed' "$log"; do
        [ "$(now_ms)" -lt "$limit" ] || fail "run $run: the install did not begin within 60 s"
        sleep 0.02
    done
    echo $(($(now_ms) - start))
}
# How long a delta install takes once it has begun (v1 -> v2, uncut): the cuts' window.
push 2
before=$(flash_digest)
boot 1
wait_install_begins "$before" >/dev/null
begun_at=$(now_ms)
wait_for 180 "the leaf to install v2" grep -q '^installed digits-mlp v2 int8' "$log"
window=$(($(now_ms) - begun_at))
kill_qemu
echo "v2's delta installed ${window} ms after its install began: cuts fall 0..${window} ms after an install begins"
version=2
cuts=0
old_seen=0
new_seen=0
during=0
while [ "$cuts" -lt "$kills" ]; do
    old=$version
    new=$((old + 1))
    push "$new" "$((($new - 1) % 3 + 1))"
    # Up to 4 cuts per version: once a restart finds the new version active, it moves on to the next.
    for _ in 1 2 3 4; do
        [ "$cuts" -lt "$kills" ] || break
        before=$(flash_digest)
        boot "$old" "$new"
        [ "$version" = "$old" ] || break
        old_seen=$((old_seen + 1))
        waited=$(wait_install_begins "$before")
        delay=$((RANDOM * 32768 + RANDOM))
        delay=$((delay % (window + 1)))
        sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
        kill_qemu
        cuts=$((cuts + 1))
        if grep -q "^installed digits-mlp v$new" "$log"; then
            when="after the install completed"
        else
            when="during the transfer and install"
            during=$((during + 1))
        fi
        echo "cut $cuts: v$old -> v$new, SIGKILL ${delay} ms after the install began (${waited} ms after boot), $when"
    done
    if [ "$version" = "$old" ]; then
        boot "$old" "$new"
        if [ "$version" = "$old" ]; then
            old_seen=$((old_seen + 1))
            wait_for 180 "the leaf to install v$new (run $run)" grep -q "^installed digits-mlp v$new int8" "$log"
            line=$(grep '^active slot' "$log" | tail -n 1)
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
