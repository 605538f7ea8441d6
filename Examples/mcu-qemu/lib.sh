# Shared by the mcu-qemu scripts (run.sh, attacks.sh, powercut.sh); sourced from the repository root with `set -euo
# pipefail`. Sets `work` (a temporary directory whose logs are printed on failure, kept with MCU_QEMU_KEEP=1), and
# gives functions to start a coordinator, a gateway agent and the firmware under QEMU, push models and wait.
if ! command -v fleet-coordinator >/dev/null || ! command -v fleet-agent >/dev/null || ! command -v fleetctl >/dev/null
then
    swift build --product fleet-coordinator >&2 && swift build --product fleet-agent >&2 \
        && swift build --product fleetctl >&2
    PATH="$PWD/.build/debug:$PATH"
fi
# The model the scripts push and check: `model` (digits-mlp), its int8 files `$models/$model-vN-int8.safetensors`
# (widemodel.sh sets both for its 1 MB model).
models=Tests/FleetDeltaTests/Fixtures
model=digits-mlp
work="$(mktemp -d "${TMPDIR:-/tmp}/mcu-qemu.XXXXXX")"
pids=()
relay_pid=
qemu_pid=
finish() {
    status=$?
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    # QEMU and the relay inherit their parent's signal mask: started from a Swift test process, SIGTERM is blocked
    # and never delivered, so they are killed outright (they hold nothing worth saving).
    for pid in "$relay_pid" "$qemu_pid"; do [ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ "$status" -ne 0 ]; then
        for log in "$work"/*.log; do echo "==== $log" >&2; tail -n 60 "$log" >&2; done
    fi
    if [ -n "${MCU_QEMU_KEEP:-}" ]; then echo "logs kept in $work" >&2; else rm -rf "$work"; fi
}
trap finish EXIT
fail() { echo "mcu-qemu: $*" >&2; exit 1; }
# wait_for SECONDS WHAT COMMAND...: runs COMMAND every 0.1 s until it succeeds, for at most about SECONDS (the
# commands' own run time included).
wait_for() {
    local deadline=$((SECONDS + $1)) what=$2
    shift 2
    until "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] || fail "timed out waiting for $what"
        sleep 0.1
    done
}
# after_install SECONDS VERSION LOG: waits until the leaf has installed $model VERSION int8 and printed its
# active slot and a classification after it, and prints that active slot line. (The leaf writes those lines one after
# the other: taking the last "active slot" line as soon as "installed" appears can find the slot it booted with.)
after_install() {
    local pattern="^installed $model v$2 int8"
    wait_for "$1" "the leaf to install v$2 and run it" bash -c \
        "grep -A2 '$pattern' '$3' | grep -q '^classified digit'"
    grep -A1 "$pattern" "$3" | grep '^active slot' | tail -n 1
}
devices() { fleetctl devices --data-dir "$work/coordinator" --json; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Builds the firmware, starts a coordinator and a gateway; sets firmware, leaf_port, leaf_token, seed.
start_fleet() {
    start_coordinator
    leaf_port=$(free_port)
    start_gateway --leaf-listen "127.0.0.1:$leaf_port"
    wait_for 60 "the gateway's leaf port" bash -c "exec 3<>/dev/tcp/127.0.0.1/$leaf_port"
}

# Builds the firmware and starts a coordinator; sets firmware, leaf_token, seed.
start_coordinator() {
    firmware=$(Examples/mcu-qemu/build.sh 2>"$work/build.log")
    fleet-coordinator --data-dir "$work/coordinator" --listen 127.0.0.1:0 >"$work/coordinator.log" 2>&1 &
    pids+=($!)
    wait_for 30 "the coordinator" test -f "$work/coordinator/coordinator.json"
    leaf_token=$(fleetctl token create --data-dir "$work/coordinator" | head -n 1)
    seed=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
}

# start_gateway LEAF_ARGUMENTS...: starts the gateway agent, carrying leaves as LEAF_ARGUMENTS say
# (`--leaf-listen HOST:PORT` or `--leaf-serial PATH`).
start_gateway() {
    local port gateway_token
    port=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["port"])' "$work/coordinator/coordinator.json")
    gateway_token=$(fleetctl token create --data-dir "$work/coordinator" | head -n 1)
    fleet-agent --data-dir "$work/gateway" --coordinator "127.0.0.1:$port" --name gateway --token "$gateway_token" \
        "$@" >"$work/gateway.log" 2>&1 &
    pids+=($!)
}

# start_relay: starts relay.py between the leaf and the gateway's leaf port, in the mode "$work/relay.mode" names
# (pass to begin with); sets relay_port.
start_relay() {
    relay_port=$(free_port)
    echo pass >"$work/relay.mode"
    python3 Examples/mcu-qemu/relay.py "$relay_port" "$leaf_port" "$work/relay.mode" >"$work/relay.log" 2>&1 &
    relay_pid=$!
    wait_for 30 "the relay" bash -c "exec 3<>/dev/tcp/127.0.0.1/$relay_port"
}

# start_qemu PORT LOG [FLASH_FILE]: boots the firmware with UART0 on 127.0.0.1:PORT, its console appended to LOG,
# its flash and key storage in FLASH_FILE (RAM only without one); sets qemu_pid. With `app_port` set, UART1 (the
# application's query channel) listens on 127.0.0.1:app_port.
start_qemu() {
    local app=()
    [ -z "${app_port:-}" ] || app=(-serial "tcp:127.0.0.1:$app_port,server=on,wait=off,nodelay=on")
    qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic -monitor none \
        -serial "tcp:127.0.0.1:$1,nodelay=on" "${app[@]}" -semihosting-config enable=on,target=native \
        -kernel "$firmware" -append "$leaf_token $seed${3:+ $3}" >>"$2" 2>&1 &
    qemu_pid=$!
}

# start_qemu_pty LOG: boots the firmware with UART0 on a pseudo-terminal (QEMU's `-serial pty`), its console
# appended to LOG; sets qemu_pid and leaf_tty (the terminal's path, which QEMU prints).
start_qemu_pty() {
    qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic -monitor none \
        -serial pty -semihosting-config enable=on,target=native \
        -kernel "$firmware" -append "$leaf_token $seed" >>"$1" 2>&1 &
    qemu_pid=$!
    wait_for 30 "QEMU's pseudo-terminal" grep -q 'char device redirected to /dev/pts/' "$1"
    leaf_tty=$(grep -o 'char device redirected to /dev/pts/[0-9]*' "$1" | head -n 1 | cut -d' ' -f5)
}

# Stops QEMU with SIGKILL (a power cut) and waits for it to end.
kill_qemu() {
    kill -KILL "$qemu_pid" 2>/dev/null || true
    wait "$qemu_pid" 2>/dev/null || true
    qemu_pid=
}

# push VERSION [FILE_VERSION]: pushes $model VERSION int8 with the file of FILE_VERSION (VERSION's own).
push() {
    fleetctl model push "$model" --data-dir "$work/coordinator" --version "$1" --variant int8 --min-ram 64KiB \
        --file "$models/$model-v${2:-$1}-int8.safetensors" >>"$work/fleetctl.log" 2>&1
}

# check_active LINE FLASH_FILE VERSION=FILE...: LINE is the firmware's `active slot S: NAME vV VARIANT, LENGTH bytes
# at OFFSET, sha256 HEX` line. Passes when the model is $model int8 in one of the VERSIONs, HEX (the SHA-256 the
# leaf computed from its flash) is that version's published FILE's, and FLASH_FILE holds the same bytes at OFFSET.
# Prints the version.
check_active() {
    python3 - "$model" "$@" <<'PY'
import hashlib, re, sys
model, line, flash, allowed = sys.argv[1], sys.argv[2], sys.argv[3], dict(a.split("=", 1) for a in sys.argv[4:])
m = re.fullmatch(r"active slot [01]: " + re.escape(model) + r" v(\d+) int8, (\d+) bytes at (\d+), sha256 ([0-9a-f]{64})",
                 line)
if not m:
    sys.exit(f"not an active slot line with a model: {line!r}")
version, length, offset, digest = m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)
if version not in allowed:
    sys.exit(f"the leaf runs v{version}, expected one of {sorted(allowed)}: {line}")
published = hashlib.sha256(open(allowed[version], "rb").read()).hexdigest()
if digest != published:
    sys.exit(f"v{version} in flash has sha256 {digest}, the published file {published}")
with open(flash, "rb") as f:
    f.seek(offset)
    stored = hashlib.sha256(f.read(length)).hexdigest()
if stored != published:
    sys.exit(f"the flash file holds sha256 {stored} at {offset}, the published file {published}")
print(version)
PY
}
