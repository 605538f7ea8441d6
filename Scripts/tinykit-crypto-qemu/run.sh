#!/bin/bash
# Builds the kit with Embedded Swift for armv7em together with Bench.swift, links it with startup.c (newlib-nano),
# runs it on QEMU's mps2-an386 (Cortex-M4) with -icount shift=0, and prints instruction counts and stack
# high-water marks of Ed25519 public key, sign and verify; exits non-zero unless the Cortex-M4 reproduces RFC 8032
# TEST 3 and SHA-256's empty-message digest.
# Needs: apt-get install -y gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mapfile -t sources < <(find Sources/FleetTinyKit -name '*.swift' | sort)
swiftc -enable-experimental-feature Embedded -enable-experimental-feature Extern \
    -target armv7em-none-none-eabi -wmo -Osize -parse-as-library -module-name FleetTinyKit \
    -Xfrontend -disable-stack-protector -Xfrontend -function-sections \
    -Xcc -mfloat-abi=soft -Xcc -fshort-enums \
    -c "${sources[@]}" "$here/Bench.swift" -o "$work/kit.o"
arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=soft -Os -ffunction-sections -c "$here/startup.c" \
    -o "$work/startup.o"
arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=soft -nostartfiles --specs=nano.specs -T "$here/link.ld" \
    -Wl,--gc-sections -Wl,--no-warn-rwx-segments "$work/startup.o" "$work/kit.o" -o "$work/bench.elf" 2>/dev/null
timeout 300 qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic -monitor none -serial none \
    -semihosting-config enable=on,target=native -icount shift=0 -kernel "$work/bench.elf"
