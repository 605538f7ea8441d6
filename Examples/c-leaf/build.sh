#!/bin/bash
# Builds host-leaf, a TinyFleet leaf written in C (Examples/c-leaf/host-leaf.c), on Linux: FleetTinyKit compiled
# with Embedded Swift for the host (Scripts/tinykit-embedded.sh with TINYKIT_TARGET), then `cc -std=c99` links it
# with host-leaf.c against tinyfleet.h and the C library alone. Prints the executable's path
# (.build/c-leaf/host-leaf). Run from anywhere; does nothing when nothing it is built from changed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.."
out=.build/c-leaf
mkdir -p "$out"
exec 9>"$out/build.lock"
flock 9
mapfile -t sources < <(find Sources/FleetTinyKit -name '*.swift' -o -name '*.h' | sort)
if [ -f "$out/host-leaf" ] && [ -z "$(find "${sources[@]}" "$here" Scripts/tinykit-embedded.sh -newer "$out/host-leaf")" ]
then
    echo "$out/host-leaf"
    exit 0
fi
rm -f "$out/host-leaf"
TINYKIT_TARGET="$(uname -m)-unknown-linux-gnu" Scripts/tinykit-embedded.sh "$out/kit.o" >/dev/null
${CC:-cc} -std=c99 -Wall -Wextra -Wpedantic -Werror -O2 -I Sources/FleetTinyKit/include \
    -c "$here/host-leaf.c" -o "$out/host-leaf.o"
${CC:-cc} "$out/host-leaf.o" "$out/kit.o" -Wl,--gc-sections -lm -o "$out/host-leaf"
echo "$out/host-leaf"
