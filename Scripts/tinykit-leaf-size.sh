#!/bin/bash
# Flash (.text) of the leaf's protocol side for armv7em: FleetTinyKit compiled with Embedded Swift together with
# Scripts/tinykit-leaf-probe.swift (TinyLeaf specialised for a no-op platform and installer, entry probe_leaf), linked
# with ld.lld --gc-sections from that entry (runtime and libc symbols left unresolved, so not counted); prints the
# total and the part that is crypto (Ed25519, SHA-256/512). An estimate until the linked firmware is measured.
# Usage: Scripts/tinykit-leaf-size.sh
set -euo pipefail
cd "$(dirname "$0")/.."
work=.build/tinykit-leaf-size
mkdir -p "$work"
mapfile -t sources < <(find Sources/FleetTinyKit -name '*.swift' | sort)
swiftc -enable-experimental-feature Embedded -enable-experimental-feature Extern \
    -target armv7em-none-none-eabi -wmo -Osize -parse-as-library -module-name FleetTinyKit \
    -Xfrontend -disable-stack-protector -Xfrontend -function-sections \
    -Xcc -mfloat-abi=soft -Xcc -fshort-enums \
    -c "${sources[@]}" Scripts/tinykit-leaf-probe.swift -o "$work/kit.o"
ld.lld --gc-sections --unresolved-symbols=ignore-all -e probe_leaf -o "$work/leaf.elf" "$work/kit.o"
echo "probe_leaf: $(llvm-size "$work/leaf.elf" | awk 'NR == 2 { print $1 }') bytes of text"
llvm-nm --print-size "$work/leaf.elf" | awk 'NF == 4 { print $2, $4 }' | while read -r size name; do
    echo "$((16#$size)) $(swift demangle --simplified --compact "$name")"
done | python3 -c '
import sys
crypto = ["Ed25519", "Field25519", "Scalar25519", "Edwards", "SHA", "sha2", "Digest", "BlockHashing", "Rounds"]
total = cryptography = 0
for line in sys.stdin:
    size, name = line.split(" ", 1)
    total += int(size)
    if any(word in name for word in crypto):
        cryptography += int(size)
print(f"crypto (Ed25519, SHA-256/512) {cryptography}")
print(f"protocol (wire, session) {total - cryptography}")
'
