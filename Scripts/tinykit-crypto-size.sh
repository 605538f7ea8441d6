#!/bin/bash
# Flash cost of the kit's crypto for armv7em (Cortex-M4), per entry point, as a firmware that calls only those
# would link it: Scripts/tinykit-embedded.sh, then arm-none-eabi-gcc --gc-sections (newlib-nano) rooted at the
# entry points, then the kept sections summed from the link map: the kit's own bytes (.text + .rodata; the crypto
# has no .data or .bss) and, apart, newlib/libgcc's (memcpy, memset, 64-bit shifts).
# Needs gcc-arm-none-eabi and libnewlib-arm-none-eabi (apt-get install -y gcc-arm-none-eabi libnewlib-arm-none-eabi).
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
object="$(Scripts/tinykit-embedded.sh "$work/FleetTinyKit.o")"

# Every global function of the object: mangled name, a tab, demangled name.
llvm-nm --defined-only "$object" | awk '$2 == "T" { print $3 }' > "$work/names"
swift demangle --compact < "$work/names" | paste "$work/names" - > "$work/symbols"

# The mangled name of the first global function whose demangled name contains $1.
symbol() { grep -F -- "$1" "$work/symbols" | head -1 | cut -f1; }

# Links a firmware rooted at the given demangled-name fragments; prints "kit-bytes libc-bytes".
measure() {
    local flags=()
    for fragment in "$@"; do
        local name
        name="$(symbol "$fragment")"
        [[ -n "$name" ]] || { echo "no symbol matches $fragment" >&2; exit 1; }
        flags+=("-Wl,-u,$name")
    done
    arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=soft -nostartfiles --specs=nano.specs \
        -Wl,--gc-sections -Wl,-e,0 -Wl,--no-warn-rwx-segments "${flags[@]}" -Wl,-Map="$work/map" \
        "$object" -o "$work/elf" 2>/dev/null
    python3 - "$work/map" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().split("\n")
start = next(i for i, l in enumerate(lines) if l.startswith("Linker script and memory map"))
kit = other = 0
section = None
for line in lines[start:]:
    m = re.match(r"^ (\.\S+)(?:\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+))?$", line)
    if m and m.group(2) is None:
        section = m.group(1)
        continue
    if m:
        section, size, source = m.group(1), int(m.group(3), 16), m.group(4)
    else:
        m = re.match(r"^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+)$", line)
        if not m or section is None:
            continue
        size, source = int(m.group(2), 16), m.group(3)
    if not re.match(r"\.(text|rodata|data|bss)", section):
        continue
    if source.endswith("FleetTinyKit.o"):
        kit += size
    else:
        other += size
print(kit, other)
PY
}

printf '%-34s %10s %12s\n' component "kit bytes" "libc bytes"
row() { local name="$1"; shift; read -r kit other < <(measure "$@"); printf '%-34s %10s %12s\n' "$name" "$kit" "$other"; }
row "SHA-256" "TinySHA256.init()" "TinySHA256.update(" "TinySHA256.finalize()"
row "Ed25519 verify (with SHA-512)" "TinyEd25519.verify(signature:"
row "Ed25519 verify + sign + public key" "TinyEd25519.verify(signature:" "TinyEd25519.sign(message:" \
    "TinyEd25519.publicKey(seed:"
row "manifest check (with verify)" "TinyManifest.init(verifying:"
row "all crypto (the above together)" "TinySHA256.init()" "TinySHA256.update(" "TinySHA256.finalize()" \
    "TinyEd25519.verify(signature:" "TinyEd25519.sign(message:" "TinyEd25519.publicKey(seed:" \
    "TinyManifest.init(verifying:" "TinyManifest.value(forKey:"
