#!/bin/bash
# Builds the TinyFleet leaf firmware for QEMU mps2-an386 (Cortex-M4): FleetTinyKit and firmware/*.swift with
# Embedded Swift for armv7em, firmware/startup.c, uart.c and hostfile.c with arm-none-eabi-gcc, linked with newlib-nano into
# .build/mcu-qemu/firmware.elf (and a map file beside it). Run from anywhere; prints the ELF's path.
# -Osize, with LLVM's ARM load/store optimiser off: with it on, Swift 6.3.1 emits `ldm r10!` that clobbers Swift's
# self register (compiler-bug/README.md); tools/swiftself-check.py fails the build if any function still does.
# MCU_QEMU_OPT=-O builds at -O instead.
# Needs: apt-get install -y gcc-arm-none-eabi libnewlib-arm-none-eabi
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.."
out=.build/mcu-qemu
mkdir -p "$out"
# One build at a time (tests run the scripts that call this in parallel).
exec 9>"$out/build.lock"
flock 9
mapfile -t sources < <(find Sources/FleetTinyKit -name '*.swift' | sort)
# Up to date: nothing it is built from is newer than the ELF (the scripts that call this run it every time).
if [ -f "$out/firmware.elf" ] && [ -z "$(find "${sources[@]}" "$here/firmware" "$here/build.sh" -newer "$out/firmware.elf")" ]
then
    echo "$out/firmware.elf"
    exit 0
fi
rm -f "$out/kit.o" "$out/firmware.elf"
swiftc -enable-experimental-feature Embedded -enable-experimental-feature Extern \
    -target armv7em-none-none-eabi -wmo "${MCU_QEMU_OPT:--Osize}" -Xllvm -arm-load-store-opt=false \
    -parse-as-library -module-name FleetTinyKit \
    -Xfrontend -disable-stack-protector -Xfrontend -function-sections \
    -Xcc -mfloat-abi=soft -Xcc -fshort-enums \
    -c "${sources[@]}" "$here"/firmware/*.swift -o "$out/kit.o"
for file in startup uart hostfile; do
    arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=soft -Os -ffunction-sections -Wall \
        -c "$here/firmware/$file.c" -o "$out/$file.o"
done
arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=soft -nostartfiles --specs=nano.specs \
    -T "$here/firmware/link.ld" -Wl,--gc-sections -Wl,--no-warn-rwx-segments -Wl,--no-warn-execstack -Wl,-Map="$out/firmware.map" \
    "$out/startup.o" "$out/uart.o" "$out/hostfile.o" "$out/kit.o" -lm -o "$out/firmware.elf"
python3 "$here/tools/swiftself-check.py" "$out/firmware.elf"
echo "$out/firmware.elf"
