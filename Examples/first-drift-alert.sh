#!/bin/sh
# A first drift alert: a model pushed with reference statistics from its training rows, a device whose owner
# allows drift statistics, and inputs unlike the training data (inverted images) that raise an alert.
# Run from anywhere: Examples/first-drift-alert.sh (PORT, WORK, DIGITS and MODEL may be set; see common.sh).
set -eu
. "$(dirname "$0")/common.sh"
MODEL=${MODEL:-$root/Tests/FleetDeltaTests/Fixtures/digits-mlp-v1-fp32.safetensors}

# 1. A coordinator and one agent that reports drift summaries every 5 s (default: every hour).
background coordinator fleet-coordinator --data-dir "$WORK/coordinator" --listen "127.0.0.1:$PORT"
wait_until "the coordinator listens" test -f "$WORK/coordinator/coordinator.json"
fleetctl token create --data-dir "$WORK/coordinator" >"$WORK/token.txt"
TOKEN=$(head -n 1 "$WORK/token.txt")
background cam-1 fleet-agent --data-dir "$WORK/cam-1" --coordinator "127.0.0.1:$PORT" --token "$TOKEN" \
    --name cam-1 --report-interval 5s
wait_until "the agent online" online 1

# 2. The owner allows drift statistics (histograms of the inputs, never the inputs themselves).
fleet-agent consent grant drift-stats --data-dir "$WORK/cam-1"

# 3. The model, with reference statistics computed here from its training rows (only the statistics are sent).
awk -F, 'NR == 1 || $66 == "train"' "$DIGITS" | cut -d, -f1-65 >"$WORK/train.csv"
fleetctl model push digits-mlp --data-dir "$WORK/coordinator" --version 1 --variant fp32 --file "$MODEL" \
    --reference-data "$WORK/train.csv"
wait_until "the device holds the model and its reference" sh -c \
    "fleet-agent drift --data-dir '$WORK/cam-1' | grep -q 'digits-mlp v1'"

# 4. The application's inputs drift: inverted images (16 - pixel). Inference runs through the agent.
awk -F, 'BEGIN { OFS = "," } NR == 1 { print; next } $66 == "test" { for (i = 1; i <= 64; i++) $i = 16 - $i; print }' \
    "$DIGITS" | cut -d, -f1-65 >"$WORK/inverted.csv"
fleet-agent infer "$WORK/inverted.csv" --data-dir "$WORK/cam-1" --model digits-mlp | tail -n 1

# 5. After the next report, the coordinator raises the alert: in the event log and in `fleetctl drift`.
wait_until "a drift alert" sh -c "fleetctl events --data-dir '$WORK/coordinator' | grep -q drift_alert"
fleetctl drift digits-mlp --data-dir "$WORK/coordinator"
fleetctl events --data-dir "$WORK/coordinator" | grep drift_alert
