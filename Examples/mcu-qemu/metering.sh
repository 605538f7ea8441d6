#!/bin/bash
# Pay-per-query on the Cortex-M4 leaf under QEMU, end to end. Run from the repository root:
#   Examples/mcu-qemu/metering.sh [QUERIES [EXTRA]]        (defaults 20 and 5)
# Starts a coordinator, a gateway `fleet-agent --leaf-listen` and the firmware (lib.sh) on a flash file, with UART1,
# the firmware's query channel, on a TCP port. Once the leaf installed digits-mlp v1 int8, `fleetctl quota grant
# leaf-qemu digits-mlp --queries QUERIES --price 1.50/1000`; once the leaf holds the grant (it arrived over the
# gateway and its signature verified), sends QUERIES / 2 queries (`q` bytes) on UART1, which must all be answered;
# then kills QEMU (SIGKILL, a power cut), restarts it on the same flash file and, once it is back online, sends the
# other QUERIES - QUERIES / 2 + EXTRA. Passes when the leaf answered exactly QUERIES in all (console `query answered:
# class 1`, the row's label, and `1` on UART1) and refused the last EXTRA (`refused query: quota-exhausted`, `x` on
# UART1): its grant and counters survived the restart. And `fleetctl usage --json` shows, from the signed receipts
# the leaf sent, QUERIES queries, 0 remaining, the exact amount at 1.50 per 1,000 and no tamper flag.
# MCU_QEMU_FIRMWARE=c runs the firmware written in C (firmware-c/main.c: the same meter through tinyfleet.h).
# Every process logs to a file in a temporary directory, printed on failure; MCU_QEMU_KEEP=1 keeps it.
set -euo pipefail
cd "$(dirname "$0")/../.."
. Examples/mcu-qemu/lib.sh
queries=${1:-20}
extra=${2:-5}
total=$((queries + extra))
first=$((queries / 2))
start_fleet
app_port=$(free_port)
start_qemu "$leaf_port" "$work/qemu.log" "$work/leaf.flash"
wait_for 60 "the leaf to enrol" grep -q '^enrolled' "$work/qemu.log"
push 1
after_install 180 1 "$work/qemu.log" >/dev/null
fleetctl quota grant leaf-qemu digits-mlp --data-dir "$work/coordinator" --queries "$queries" --price 1.50/1000 \
    >>"$work/fleetctl.log" 2>&1
wait_for 60 "the grant to reach the leaf" grep -q '^quota grant [0-9]* held' "$work/qemu.log"
echo "$(grep -m1 '^quota grant' "$work/qemu.log") (granted $queries queries at 1.50/1000)"

# ask COUNT EXPECTED: the application asks COUNT queries on UART1, one `q` byte each, and reads one reply byte per
# query; they must be EXPECTED.
ask() {
    local replies=
    exec 4<>"/dev/tcp/127.0.0.1/$app_port"
    printf 'q%.0s' $(seq "$1") >&4
    read -r -N "$1" -t 60 replies <&4 || fail "the leaf replied '$replies' on UART1 to $1 queries"
    exec 4>&-
    [ "$replies" = "$2" ] || fail "UART1 replies '$replies' to $1 queries, expected '$2'"
}
repeat() { [ "$2" -eq 0 ] || printf "$1%.0s" $(seq "$2"); }
ask "$first" "$(repeat 1 "$first")"
# A power cut, then the same flash file: the grant and the counters come back from the meter's records.
kill_qemu
app_port=$(free_port)
start_qemu "$leaf_port" "$work/qemu.log" "$work/leaf.flash"
wait_for 60 "the leaf to restart and authenticate" grep -q '^authenticated' "$work/qemu.log"
[ "$(grep -c '^quota grant 1 held' "$work/qemu.log")" -eq 2 ] || fail "the restarted leaf does not hold grant 1"
ask "$((queries - first + extra))" "$(repeat 1 "$((queries - first))")$(repeat x "$extra")"
results=$(grep -E '^(query answered|refused query)' "$work/qemu.log")
answered=$(grep -c '^query answered: class 1$' <<<"$results" || true)
refused=$(grep -c '^refused query: quota-exhausted$' <<<"$results" || true)
[ "$answered" -eq "$queries" ] && [ "$refused" -eq "$extra" ] && [ "$(wc -l <<<"$results")" -eq "$total" ] \
    || fail "expected $queries answers and $extra quota-exhausted refusals, the leaf printed: $results"
echo "leaf: $answered queries answered ($first before a power cut), $refused refused (quota-exhausted)"

# The coordinator's ledger: the leaf's signed receipts, verified and billed.
usage_check() {
    fleetctl usage --data-dir "$work/coordinator" --json | python3 -c '
import json, sys
queries = int(sys.argv[1])
rows = [r for r in json.load(sys.stdin) if r["name"] == "leaf-qemu" and r["model"] == "digits-mlp"]
assert len(rows) == 1, rows
r = rows[0]
assert (r["queries"], r["granted"], r["remaining"]) == (queries, queries, 0), r
assert r["amountMicros"] == queries * 1500 and abs(r["amount"] - queries * 0.0015) < 1e-9, r
assert r["cloudQueries"] == 0 and not r["flags"], r
print("queries %d, remaining %d, amount %s (%d micro-units)" % (r["queries"], r["remaining"], r["amount"], r["amountMicros"]))' "$queries"
}
wait_for 60 "fleetctl usage to bill $queries queries" usage_check
echo "fleetctl usage: leaf-qemu digits-mlp $(usage_check)"
grep -E '^(leaf |kit state|enrolled|authenticated|quota grant|usage receipts|stack high-water)' "$work/qemu.log"
echo "metered on the leaf: $queries answered, $extra refused, billed exactly"
