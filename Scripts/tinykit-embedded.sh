#!/bin/bash
# Compiles FleetTinyKit with Embedded Swift for a Cortex-M4 (armv7em-none-none-eabi), as firmware links it.
# Usage: Scripts/tinykit-embedded.sh [OUTPUT.o]   (default: .build/tinykit/FleetTinyKit.o)
# It proves the kit stays inside Embedded Swift (no Foundation, no existentials, no reflection); the package build
# never runs it, so it cannot break `swift build`.
set -euo pipefail
cd "$(dirname "$0")/.."
output="${1:-.build/tinykit/FleetTinyKit.o}"
mkdir -p "$(dirname "$output")"
mapfile -t sources < <(find Sources/FleetTinyKit -name '*.swift' | sort)
swiftc -enable-experimental-feature Embedded -enable-experimental-feature Extern \
    -target armv7em-none-none-eabi -wmo -Osize -parse-as-library -module-name FleetTinyKit \
    -Xfrontend -disable-stack-protector -Xfrontend -function-sections \
    -Xcc -mfloat-abi=soft -Xcc -fshort-enums \
    -c "${sources[@]}" -o "$output"
echo "$output"
