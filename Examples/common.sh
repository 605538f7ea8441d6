# Shared by the Examples/first-*.sh recipes (sourced, not run): where things are, how to start a program in the
# background with its log in $WORK, how to wait for a condition, and clean-up when the recipe ends.
# The programs are taken from PATH (after Scripts/install.sh, or: export PATH="$PWD/.build/debug:$PATH").

root=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/tinyfleet-example.XXXXXX")}
PORT=${PORT:-7420}
DIGITS=${DIGITS:-$root/Tests/FleetObserveTests/Fixtures/digits.csv}
mkdir -p "$WORK"
pids=""

# background NAME COMMAND...: starts COMMAND with its output in $WORK/NAME.log.
background() {
    name=$1
    shift
    "$@" >>"$WORK/$name.log" 2>&1 &
    pids="$pids $!"
}

# wait_until WHAT COMMAND...: runs COMMAND every 0.2 s until it succeeds (at most 120 s).
wait_until() {
    what=$1
    shift
    tries=0
    until "$@" >/dev/null 2>&1; do
        tries=$((tries + 1))
        if [ "$tries" -ge 600 ]; then
            echo "timed out waiting for $what; the logs are in $WORK" >&2
            exit 1
        fi
        sleep 0.2
    done
    echo "ok: $what"
}

# online N: true when fleetctl lists N devices online.
online() {
    [ "$(fleetctl devices --data-dir "$WORK/coordinator" | grep -c ' online ')" -eq "$1" ]
}

stop_all() {
    for pid in $pids; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap stop_all EXIT INT TERM
echo "working in $WORK"
