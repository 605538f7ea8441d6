#!/bin/bash
# Builds the TinyFleet leaf firmware for QEMU mps2-an386 (Cortex-M4): FleetTinyKit and firmware/*.swift with
# Embedded Swift for armv7em, firmware/startup.c, uart.c and hostfile.c with arm-none-eabi-gcc, linked with newlib-nano into
# .build/mcu-qemu/firmware.elf (and a map file beside it). Run from anywhere; prints the ELF's path.
# -O, not -Osize: the -Osize build traps in TinyWireReader.map on armv7em (a bounds check that cannot fail in the
# source; the miscompilation Scripts/tinykit-crypto-qemu met), so the firmware is larger than the kit could be.
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
swiftc -enable-experimental-feature Embedded -enable-experimental-feature Extern \
    -target armv7em-none-none-eabi -wmo -O -parse-as-library -module-name FleetTinyKit \
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
echo "$out/firmware.elf"
