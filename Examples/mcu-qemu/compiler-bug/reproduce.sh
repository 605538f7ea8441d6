#!/bin/bash
# Shows the Swift 6.3.1 (LLVM) armv7em -Osize miscompilation that reader.swift reduces: prints the offending
# instruction and exits 1 while the compiler has the bug; exits 0 when `-Osize` no longer emits it. Also shows that
# -O and `-Xllvm -arm-load-store-opt=false` (the firmware's workaround, build.sh) do not emit it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
compile() {
    swiftc -enable-experimental-feature Embedded -target armv7em-none-none-eabi -wmo -parse-as-library \
        -module-name Reduced -Xcc -mfloat-abi=soft -S "$here/reader.swift" -o "$work/out.s" "$@"
    # The function that must preserve r10 and the writeback that does not.
    awk '/^\$e7Reduced6ReaderV5count.*:/,/\.fnend/' "$work/out.s" | grep -E 'ldm(\.w)?[[:space:]]+r10!' || true
}
echo "-O:                                $(compile -O | wc -l) writeback(s) of r10 in Reader.count"
echo "-Osize -arm-load-store-opt=false:  $(compile -Osize -Xllvm -arm-load-store-opt=false | wc -l) writeback(s)"
found=$(compile -Osize)
echo "-Osize:                            $(printf '%s' "$found" | grep -c . || true) writeback(s) $found"
[ -z "$found" ]
