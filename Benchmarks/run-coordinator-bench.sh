#!/bin/sh
# Builds the release executables and runs the coordinator benchmarks; results go to stdout, progress to stderr.
# Usage: Benchmarks/run-coordinator-bench.sh [--quick]
#   --quick   N = 1000 only, shorter windows (a smoke test, not figures to quote)
set -eu
cd "$(dirname "$0")/.."

# One process can hold about 19,990 sockets here: raise the soft open-files limit to the hard one.
ulimit -n "$(ulimit -Hn)"

for product in fleet-coordinator fleet-agent fleet-bench; do
    swift build -c release --product "$product" >&2
done
BIN="$(swift build -c release --show-bin-path)"

echo "# TinyFleet coordinator benchmarks, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -sr)"
echo "# open files: soft $(ulimit -Sn), hard $(ulimit -Hn)"
echo

if [ "${1:-}" = "--quick" ]; then
    "$BIN/fleet-bench" framing --seconds 0.2
    echo
    "$BIN/fleet-bench" coordinator --counts 1000 --warmup 5s --measure 10s --no-exhaustion-check
    echo
    "$BIN/fleet-bench" agent-footprint --settle 5s --idle 10s
    exit 0
fi

echo "## Framing"
"$BIN/fleet-bench" framing
echo
echo "## Coordinator under N agents (and the descriptor-exhaustion check after the largest N)"
"$BIN/fleet-bench" coordinator --counts 1000,10000,19900 --heartbeat-interval 10s --warmup 15s --measure 30s
echo
echo "## Agent idle footprint"
"$BIN/fleet-bench" agent-footprint --settle 20s --idle 20s

# The reference, measured live in the same run when mosquitto is installed (apt-get install -y mosquitto).
if [ -x /usr/sbin/mosquitto ] || command -v mosquitto >/dev/null 2>&1; then
    echo
    echo "## mosquitto, measured live with the same load generator (fleet-bench load-gen --mqtt)"
    python3 Benchmarks/mosquitto-reference.py --counts 19900 --interval 10 --warmup 15 --measure 30 \
        --fleet-bench "$BIN/fleet-bench"
fi
