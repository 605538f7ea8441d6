#!/bin/bash
# Issue 10: the kit's RAM during a delta install does not grow with the model, on the Cortex-M4 under QEMU. Run from
# the repository root, no arguments:
#   Examples/mcu-qemu/widemodel.sh
# Builds the firmware with two 1 MiB model slots (MCU_QEMU_SLOTS=1MiB, build.sh: the emulated flash in mps2-an386's
# PSRAM), generates a seeded ~1 MB int8 MLP pair (tools/wide-model.py, seed 10: wide-mlp v1 and a fine-tune-like v2,
# 64 inputs and 10 classes as digits), then runs the same recipe twice on that one firmware, each with its own
# coordinator, gateway `fleet-agent --leaf-listen` and leaf (QEMU on a flash file): digits-mlp (the 51,850-byte
# fixtures), then wide-mlp. Each time the leaf enrols, receives v1 in full through the gateway, then v2, which must
# reach it as a stream delta (`fleetctl transfers`), be active bit-exact (the SHA-256 the leaf reads back from its
# flash and the flash file's bytes equal the published v2's: lib.sh's check_active) and classify the digit row as its
# label. Prints, for each model, a section `== MODEL` with the firmware's lines (kit state, stack marks: this firmware
# paints its stack again after each mark, and at an install's first slot page, so the `installed` line's mark is the
# install's own, from that page to the slot record's commit) and the bytes on the wire, then a summary: wire bytes of
# the delta against the full file, the kit's RAM as the budget counts it (size.sh's .data + .bss, the deepest stack
# mark, leaf state, installer work) and the marks of v2's delta install and of its check, for both models. Exits 0
# when all held and the kit's RAM is the same for both within 64 B (a SysTick interrupt at the deepest point adds up
# to 36 B).
# Uses fleet-coordinator, fleet-agent and fleetctl from PATH (lib.sh). MCU_QEMU_KEEP=1 keeps the logs.
set -euo pipefail
cd "$(dirname "$0")/../.."
export MCU_QEMU_SLOTS=1MiB
. Examples/mcu-qemu/lib.sh
top=$work
# On failure, the logs of each model's run (in its own directory) are printed; lib.sh's finish does the rest.
trap 'status=$?; set +e; [ "$status" -eq 0 ] || for log in "$top"/*/*.log; do echo "==== $log" >&2; tail -n 60 "$log" >&2
done; work=$top; (exit "$status"); finish' EXIT
python3 Examples/mcu-qemu/tools/wide-model.py "$top/wide" >"$top/wide-model.log"

# stop_fleet: stops the leaf, the gateway and the coordinator of one model's run.
stop_fleet() {
    kill_qemu
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    pids=()
}

# run_model MODEL DIRECTORY SECONDS: the recipe for MODEL (files DIRECTORY/MODEL-vN-int8.safetensors), each install
# waited for at most SECONDS; prints its section and leaves in $work/figures: file bytes, v1's wire bytes and
# encoding, v2's delta wire bytes, v2's full (zlib) bytes, v2's install mark, the deepest mark, leaf and installer work.
run_model() {
    model=$1 models=$2 work="$top/$1"
    mkdir -p "$work"
    local started=$SECONDS line
    start_fleet
    start_qemu "$leaf_port" "$work/qemu.log" "$work/leaf.flash"
    wait_for 120 "the leaf to enrol" grep -q '^enrolled' "$work/qemu.log"
    push 1
    after_install "$3" 1 "$work/qemu.log" >/dev/null
    push 2
    line=$(after_install "$3" 2 "$work/qemu.log")
    check_active "$line" "$work/leaf.flash" "2=$models/$model-v2-int8.safetensors" >/dev/null \
        || fail "$model v2 is not active bit-exact: $line"
    line=$(grep -A2 "^installed $model v2 int8" "$work/qemu.log" | grep -m1 '^classified digit')
    [ "$line" = "classified digit: class 1 (row label 1)" ] || fail "$model v2 classified the row wrongly: $line"
    fleetctl transfers --data-dir "$work/coordinator" --device leaf-qemu --model "$model" --json >"$work/transfers.json"
    echo "== $model ($(wc -c <"$models/$model-v1-int8.safetensors") B), installs in $((SECONDS - started)) s"
    grep -E '^(kit state|enrolled|installed|active slot|classified|stack)' "$work/qemu.log"
    python3 - "$model" "$models/$model-v2-int8.safetensors" "$work/qemu.log" "$work/figures" \
        "$work/transfers.json" <<'PY'
import json, os, re, sys
model, v2_file, log, figures, transfers = sys.argv[1:]
records = json.load(open(transfers))
v1 = [r for r in records if r["version"] == 1]
v2 = [r for r in records if r["version"] == 2]
if len(v1) != 1 or len(v2) != 1 or v2[0]["encoding"] != "delta":
    sys.exit(f"{model}: expected one v1 transfer and one v2 delta to leaf-qemu, fleetctl transfers: {records}")
v1, v2 = v1[0], v2[0]
lines = open(log).read().splitlines()
marks = [int(m.group(1)) for l in lines if (m := re.search(r"stack high-water mark: (\d+) bytes", l))]
# `installed MODEL v2 int8, install stack high-water mark: N bytes`, then the check's own `stack high-water mark: M`.
after_v2 = lines[next(i for i, l in enumerate(lines) if l.startswith(f"installed {model} v2 int8")):]
v2_mark, check_mark = [int(m.group(1)) for l in after_v2
                       if (m := re.search(r"stack high-water mark: (\d+) bytes", l))][:2]
leaf, work = map(int, re.fullmatch(r"kit state: leaf (\d+) bytes, installer work (\d+) bytes",
                                   next(l for l in lines if l.startswith("kit state: "))).groups())
print(f"fleetctl transfers: v1 {v1['encoding']} {v1['wireBytes']} B on the wire, v2 delta {v2['wireBytes']} B on "
      f"the wire (the full file {v2['fileBytes']} B, {v2['fullBytes']} B as zlib)")
open(figures, "w").write(" ".join(map(str, (os.path.getsize(v2_file), v1["encoding"], v1["wireBytes"],
                                            v2["wireBytes"], v2["fullBytes"], v2_mark, check_mark, max(marks), leaf,
                                            work))))
PY
    stop_fleet
}

run_model digits-mlp "$models" 300
run_model wide-mlp "$top/wide" 1500
ram=$(Examples/mcu-qemu/size.sh | tail -n 1)
[[ "$ram" =~ ^flash=[0-9]+\ ram=([0-9]+)$ ]] || fail "size.sh printed $ram"
data_bss=${BASH_REMATCH[1]}
echo "== summary (size.sh with MCU_QEMU_SLOTS=1MiB: $ram)"
python3 - "$data_bss" "$top/digits-mlp/figures" "$top/wide-mlp/figures" <<'PY'
import sys
data_bss = int(sys.argv[1])
rams = []
for path in sys.argv[2:]:
    model = path.split("/")[-2]
    size, v1_encoding, v1_wire, delta, full_zlib, v2_mark, check_mark, deepest, leaf, work = (
        int(f) if f.isdigit() else f for f in open(path).read().split())
    ram = data_bss + deepest + leaf + work
    rams.append(ram)
    print(f"{model}: {size} B file; v2 as a delta {delta} B on the wire, {100 * delta / size:.1f}% of the file "
          f"({full_zlib} B as zlib); v1 {v1_encoding} {v1_wire} B")
    print(f"{model}: kit RAM {ram} B = .data+.bss {data_bss} + stack mark {deepest} + leaf {leaf} + installer work "
          f"{work}; v2 delta install's stack mark {v2_mark} B, its check's (SHA-256, classification) {check_mark} B")
if max(rams) > 8192 or max(rams) - min(rams) > 64:
    sys.exit(f"kit RAM {rams}: over 8,192 B or not the same for both models")
print(f"kit RAM: digits-mlp {rams[0]} B, wide-mlp {rams[1]} B, within 8,192 B")
PY
echo "wide-mlp v2 installed as a delta, kit RAM the same as digits-mlp's"
