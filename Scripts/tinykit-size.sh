#!/bin/bash
# Flash (.text + .rodata) of the kit's install and inference paths for armv7em, by component: compiles the kit with
# Scripts/tinykit-size-probe.swift (a memory-mapped flash, entry points probe_install and probe_infer) with Embedded
# Swift, links with ld.lld --gc-sections from those entry points (runtime and libc symbols left unresolved, so not
# counted), and sums symbol sizes by name. An estimate until Examples/mcu-qemu/size.sh measures the linked firmware.
# Usage: Scripts/tinykit-size.sh
set -euo pipefail
cd "$(dirname "$0")/.."
work=.build/tinykit-size
mkdir -p "$work"
mapfile -t sources < <(find Sources/FleetTinyKit -name '*.swift' | sort)
swiftc -enable-experimental-feature Embedded -enable-experimental-feature Extern \
    -target armv7em-none-none-eabi -wmo -Osize -parse-as-library -module-name FleetTinyKit \
    -Xfrontend -disable-stack-protector -Xfrontend -function-sections \
    -Xcc -mfloat-abi=soft -Xcc -fshort-enums \
    -c "${sources[@]}" Scripts/tinykit-size-probe.swift -o "$work/kit.o"
for entry in probe_install probe_infer; do
    ld.lld --gc-sections --unresolved-symbols=ignore-all -e "$entry" -o "$work/$entry.elf" "$work/kit.o"
    echo "$entry: $(llvm-size "$work/$entry.elf" | awk 'NR == 2 { print $1 }') bytes of text"
done
ld.lld --gc-sections --unresolved-symbols=ignore-all -e probe_install --undefined=probe_infer -o "$work/both.elf" "$work/kit.o"
llvm-nm --print-size "$work/both.elf" | awk 'NF == 4 { print $2, $4 }' | while read -r size name; do
    echo "$((16#$size)) $(swift demangle --simplified --compact "$name")"
done | python3 -c '
import sys
rules = [("inflate", ["Inflate", "Huffman", "inflate", "copyBack", "codeLength", "dynamicHeader", "fixedCodes", "take(", "decode("]),
    ("stream delta", ["Stream", "RangeDecoder", "InputWindow", "decodeAvailable", "readOperation", "element(", "readHeader", "literal(", "copy(", "produce(", "residual", "number(", "operation("]),
    ("sha256", ["SHA", "sha2", "Digest", "BlockHashing", "Rounds"]),
    ("flash slots", ["Slot", "CRC32"]),
    ("installer", ["Installer", "install", "flushPage", "readOld", "finish", "advance", "consume", "feed", "begin", "checksum"]),
    ("inference", ["Inference", "dense", "exp(", "Layout", "HeaderParser", "FlashCursor", "LayerTensors", "TensorEntry", "DenseLayer"]),
    ("drift/meter", ["Drift", "Counter", "Meter"])]
groups = {}
for line in sys.stdin:
    size, name = line.split(" ", 1)
    group = next((g for g, keys in rules if any(k in name for k in keys)), "other (probe, leaf record)")
    groups[group] = groups.get(group, 0) + int(size)
for group, size in sorted(groups.items(), key=lambda item: -item[1]):
    print("%-28s %7d" % (group, size))
print("%-28s %7d" % ("total", sum(groups.values())))
'
