#!/bin/bash
# Compiles FleetTinyKit with Embedded Swift for a Cortex-M4 (armv7em-none-none-eabi), as firmware links it.
# Usage: Scripts/tinykit-embedded.sh [OUTPUT.o]   (default: .build/tinykit/FleetTinyKit.o)
# TINYKIT_TARGET=x86_64-unknown-linux-gnu (or another triple Embedded Swift supports) builds it for that target
# instead: an object a C program links with `cc` and the C library only (Examples/c-leaf uses it on the host).
# It proves the kit stays inside Embedded Swift (no Foundation, no existentials, no reflection); the package build
# never runs it, so it cannot break `swift build`.
set -euo pipefail
cd "$(dirname "$0")/.."
output="${1:-.build/tinykit/FleetTinyKit.o}"
target="${TINYKIT_TARGET:-armv7em-none-none-eabi}"
mkdir -p "$(dirname "$output")"
mapfile -t sources < <(find Sources/FleetTinyKit -name '*.swift' | sort)
flags=()
case "$target" in
    arm*-none-*) flags=(-Xfrontend -disable-stack-protector -Xcc -mfloat-abi=soft -Xcc -fshort-enums) ;;
esac
swiftc -enable-experimental-feature Embedded -enable-experimental-feature Extern \
    -target "$target" -wmo -Osize -parse-as-library -module-name FleetTinyKit \
    -Xfrontend -function-sections "${flags[@]}" \
    -c "${sources[@]}" -o "$output"
echo "$output"
