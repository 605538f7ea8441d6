#!/bin/sh
# A first federated round on two devices: each keeps its own half of the digits training rows, the owners grant
# training consent, and the coordinator trains a fresh model over them, evaluated on held-out rows.
# Run from anywhere: Examples/first-round.sh (PORT, WORK and DIGITS may be set; see common.sh).
set -eu
. "$(dirname "$0")/common.sh"

# 1. Split the data: the digits CSV has columns p0..p63, label, split (train/test), client. Each device gets the
#    training rows of every other client; the coordinator keeps the test rows to evaluate each round. Devices and
#    the coordinator read the feature columns, then `label` (cut keeps p0..p63 and label).
awk -F, 'NR == 1 || ($66 == "train" && $67 % 2 == 0)' "$DIGITS" | cut -d, -f1-65 >"$WORK/device-1.csv"
awk -F, 'NR == 1 || ($66 == "train" && $67 % 2 == 1)' "$DIGITS" | cut -d, -f1-65 >"$WORK/device-2.csv"
awk -F, 'NR == 1 || $66 == "test"' "$DIGITS" | cut -d, -f1-65 >"$WORK/test.csv"

# 2. A coordinator and two agents that hold the rows (plaintext on loopback; see first-fleet-tls.sh for TLS).
background coordinator fleet-coordinator --data-dir "$WORK/coordinator" --listen "127.0.0.1:$PORT"
wait_until "the coordinator listens" test -f "$WORK/coordinator/coordinator.json"
fleetctl token create --data-dir "$WORK/coordinator" --uses 2 >"$WORK/token.txt"
TOKEN=$(head -n 1 "$WORK/token.txt")
for n in 1 2; do
    background "device-$n" fleet-agent --data-dir "$WORK/device-$n" --coordinator "127.0.0.1:$PORT" \
        --token "$TOKEN" --name "device-$n" --train-data "$WORK/device-$n.csv"
done
wait_until "both agents online" online 2

# 3. Nothing is trained without the owner's consent: each device's owner grants it.
for n in 1 2; do fleet-agent consent grant training --data-dir "$WORK/device-$n"; done

# 4. A fresh model: a 64-64-10 MLP; the pixels (0..16) are scaled by 1/16 on the devices.
fleetctl model init digits-mlp --data-dir "$WORK/coordinator" --layers 64,64,10 --seed 1 --feature-scale 0.0625
wait_until "both devices run digits-mlp v1" sh -c \
    "[ \$(fleetctl model show digits-mlp --data-dir '$WORK/coordinator' --json | grep -c '\"runningDevices\" : 2') -eq 1 ]"

# 5. Three rounds over both devices (a small fleet: --clients 2 --min-clients 2), each evaluated on test.csv.
fleetctl round start digits-mlp --data-dir "$WORK/coordinator" --clients 2 --min-clients 2 --rounds 3 \
    --eval-data "$WORK/test.csv" --deadline 60s --wait
fleetctl rounds digits-mlp --data-dir "$WORK/coordinator"
