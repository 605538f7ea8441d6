#!/bin/bash
# Instruction counts on the Cortex-M4 for applying the digits int8 v1 -> v2 delta and for one inference: builds the
# kit with cycles/CyclesMain.swift and the firmware's HostFileFlash.swift and Console.swift, startup.c and hostfile.c, runs it on QEMU
# mps2-an386 with -icount shift=0 (instruction counts are repeatable), giving it the v1 file, the stream-mode patch
# the coordinator serves a leaf (Tests/FleetDeltaTests/Fixtures/stream-digits-int8-v1-v2.tfd, 15,636 bytes) and the
# v2 file through semihosting. Prints the counts; exits non-zero unless the delta rebuilt v2 exactly and the model
# classified the row as its label. Run from anywhere. Needs: qemu-system-arm gcc-arm-none-eabi libnewlib-arm-none-eabi
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.."
out=.build/mcu-qemu-cycles
mkdir -p "$out"
mapfile -t sources < <(find Sources/FleetTinyKit -name '*.swift' | sort)
swiftc -enable-experimental-feature Embedded -enable-experimental-feature Extern \
    -target armv7em-none-none-eabi -wmo -O -parse-as-library -module-name FleetTinyKit \
    -Xfrontend -disable-stack-protector -Xfrontend -function-sections \
    -Xcc -mfloat-abi=soft -Xcc -fshort-enums \
    -c "${sources[@]}" "$here/firmware/HostFileFlash.swift" "$here/firmware/Console.swift" \
    "$here/cycles/CyclesMain.swift" -o "$out/kit.o"
for file in startup hostfile; do
    arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=soft -Os -ffunction-sections -Wall \
        -c "$here/firmware/$file.c" -o "$out/$file.o"
done
arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=soft -nostartfiles --specs=nano.specs \
    -T "$here/firmware/link.ld" -Wl,--gc-sections -Wl,--no-warn-rwx-segments -Wl,--no-warn-execstack \
    "$out/startup.o" "$out/hostfile.o" "$out/kit.o" -lm -o "$out/cycles.elf"
fixtures=Tests/FleetDeltaTests/Fixtures
timeout 300 qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic -monitor none -serial none \
    -semihosting-config enable=on,target=native -icount shift=0 -kernel "$out/cycles.elf" \
    -append "$fixtures/digits-mlp-v1-int8.safetensors $fixtures/stream-digits-int8-v1-v2.tfd $fixtures/digits-mlp-v2-int8.safetensors"
