#!/bin/bash
# Builds the TinyFleet leaf firmware for QEMU mps2-an386 (Cortex-M4): FleetTinyKit and firmware/*.swift with
# Embedded Swift for armv7em, firmware/startup.c, uart.c and hostfile.c with arm-none-eabi-gcc, linked with newlib-nano into
# .build/mcu-qemu/firmware.elf (and a map file beside it). Run from anywhere; prints the ELF's path.
# -Osize, with LLVM's ARM load/store optimiser off: with it on, Swift 6.3.1 emits `ldm r10!` that clobbers Swift's
# self register (compiler-bug/README.md); tools/swiftself-check.py fails the build if any function still does.
# MCU_QEMU_OPT=-O builds at -O instead.
# MCU_QEMU_FIRMWARE=c builds the firmware written in C instead (firmware-c/main.c over tinyfleet.h, with the kit alone
# in Embedded Swift and the same startup.c, uart.c and hostfile.c) into .build/mcu-qemu/firmware-c.elf; the scripts
# that call build.sh then run that one.
# MCU_QEMU_SLOTS=1MiB builds the Swift firmware with two 1 MiB model slots (for models larger than the 128 KiB slots:
# widemodel.sh) into .build/mcu-qemu/firmware-slots1mib.elf: `-D MCU_QEMU_SLOTS_1MIB` (firmware/HostFileFlash.swift's
# Layout) and the emulated flash at 0x21000000, mps2-an386's 16 MiB PSRAM (the 2 MiB after 0x20200000 in SSRAM2/3
# cannot hold two 1 MiB slots and the records); the kit's code and state are the same.
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
if [ "${MCU_QEMU_FIRMWARE:-swift}" = c ]; then
    name=firmware-c
    swift_sources=("${sources[@]}")
    main_c=("$here/firmware-c/main.c")
    inputs=("${sources[@]}" Sources/FleetTinyKit/include "$here"/firmware/*.c "$here/firmware/link.ld" "$here/firmware-c")
else
    name=firmware
    case "${MCU_QEMU_SLOTS:-}" in
    "") ;;
    1MiB) name=firmware-slots1mib ;;
    *) echo "build.sh: MCU_QEMU_SLOTS is 1MiB or unset" >&2; exit 2 ;;
    esac
    # Without the kit's C entry points (Sources/FleetTinyKit/C), which the Swift firmware does not call: in the same
    # whole-module compile they change the optimiser's inlining and cost the firmware 672 B of flash (66,416 B
    # against 65,744), although the linker drops their own code.
    mapfile -t swift_sources < <(find Sources/FleetTinyKit -name '*.swift' -not -path 'Sources/FleetTinyKit/C/*' | sort)
    swift_sources+=("$here"/firmware/*.swift)
    main_c=()
    inputs=("${sources[@]}" "$here/firmware")
fi
# Up to date: nothing it is built from is newer than the ELF (the scripts that call this run it every time).
if [ -f "$out/$name.elf" ] && [ -z "$(find "${inputs[@]}" "$here/build.sh" -newer "$out/$name.elf")" ]
then
    echo "$out/$name.elf"
    exit 0
fi
rm -f "$out/$name-kit.o" "$out/$name.elf"
slots_flags=()
slots_link=()
if [ "$name" = firmware-slots1mib ]; then
    slots_flags=(-D MCU_QEMU_SLOTS_1MIB)
    slots_link=(-Wl,--defsym=_model_flash=0x21000000)
fi
swiftc "${slots_flags[@]}" -enable-experimental-feature Embedded -enable-experimental-feature Extern \
    -target armv7em-none-none-eabi -wmo "${MCU_QEMU_OPT:--Osize}" -Xllvm -arm-load-store-opt=false \
    -parse-as-library -module-name FleetTinyKit \
    -Xfrontend -disable-stack-protector -Xfrontend -function-sections \
    -Xcc -mfloat-abi=soft -Xcc -fshort-enums \
    -c "${swift_sources[@]}" -o "$out/$name-kit.o"
objects=()
for file in "$here/firmware/startup.c" "$here/firmware/uart.c" "$here/firmware/hostfile.c" "${main_c[@]}"; do
    object="$out/$name-$(basename "$file" .c).o"
    arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=soft -Os -ffunction-sections -Wall \
        -I Sources/FleetTinyKit/include -c "$file" -o "$object"
    objects+=("$object")
done
arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=soft -nostartfiles --specs=nano.specs \
    -T "$here/firmware/link.ld" "${slots_link[@]}" -Wl,--gc-sections -Wl,--no-warn-rwx-segments -Wl,--no-warn-execstack -Wl,-Map="$out/$name.map" \
    "${objects[@]}" "$out/$name-kit.o" -lm -o "$out/$name.elf"
python3 "$here/tools/swiftself-check.py" "$out/$name.elf"
echo "$out/$name.elf"
