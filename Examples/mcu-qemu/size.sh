#!/bin/bash
# Flash and RAM of the leaf firmware (.build/mcu-qemu/firmware.elf, built by build.sh when missing), split by
# component by keywords of the linked symbols' names and their sizes (arm-none-eabi-nm -S, Swift names demangled): protocol (Wire, Leaf),
# crypto, delta (Install, Flash), inference, metering (TinyLeafMeter, grants, receipts, the leaf's metering messages,
# and the firmware's query channel and meter log), the firmware's own code (main.swift, startup.c, uart.c) and newlib/
# runtime (code the compiler inlined into another component's function counts there: TinyLeaf's session is
# partly inside leafMain, so "protocol" is an under-estimate). The last line, `flash=BYTES ram=BYTES`, is the whole firmware from arm-none-eabi-size: flash = .text
# (code and read-only data) + .ARM.exidx + .data's initial values, ram = .data + .bss. Not in ram: the stack
# (reserved 512 KiB; the high-water mark is measured at run time and printed by the firmware after each install),
# the 64 KiB start-up heap region (the leaf's frame buffers, 16 KiB + 2 KiB, the 4 KiB page buffer, the inference
# scratch), and the 264 KiB of RAM that stands in for the model flash (two 128 KiB slots, two record pages).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.."
elf=.build/mcu-qemu/firmware.elf
# MCU_QEMU_FIRMWARE=c: the firmware written in C (build.sh's firmware-c.elf).
[ "${MCU_QEMU_FIRMWARE:-swift}" != c ] || elf=.build/mcu-qemu/firmware-c.elf
# MCU_QEMU_SLOTS=1MiB: the Swift firmware with two 1 MiB model slots (build.sh's firmware-slots1mib.elf).
[ "${MCU_QEMU_SLOTS:-}" != 1MiB ] || elf=.build/mcu-qemu/firmware-slots1mib.elf
[ -f "$elf" ] || "$here/build.sh" >/dev/null
arm-none-eabi-nm -S --size-sort "$elf" | awk '$3 ~ /^[tTrRdDbBwWvV]$/ && !seen[$1]++ { print $2, $3, $4 }' | while read -r size kind name; do
    echo "$((16#$size)) $kind $name"
done | swift demangle --compact --simplified | cut -c1-300 | awk '
function component(text) {
    if (text ~ /TinyLeafMeter|QuotaGrant|UsageReceipt|MeterLink|meterInference|MeterRecord|Metered|QuotaSync|quotaSync|receiveGrants|syncUsage|usageReport|meterAcknowledged|meterRequestFailed|loadMeter|load\(meter:|MeterLog|answerQuery|app_uart/) return "metering"
    if (text ~ /SHA256|SHA512|sha2RoundConstants|ExpandedSeed|TinyByteRange|Ed25519|Field25519|Scalar25519|Edwards|FieldElement|Manifest|Digest|BlockHash/) return "crypto"
    if (text ~ /Inference|ModelLayout|LayerTensors|HeaderParser|Drift|Meter|QueryCounter|FlashCursor|Prediction/) return "inference"
    if (text ~ /Install|Inflate|Huffman|RangeDecoder|Stream|Patch|ColumnSums|Slot|CRC32/) return "delta"
    if (text ~ /Wire|UTF8|Frame|Inbound|Outbound|MessageType|TinyLeaf|Leaf|Challenge|TinyBytes|Transfer|PendingReport|tinyfleet_|TinyC[A-Z]/) return "protocol"
    if (text ~ /QEMUPlatform|RAMFlash|leafMain|leaf_main|classify|digitRow|digitLabel|Layout|uart_|put|host_argument|semihost|clock_|SysTick|Reset_Handler|fault_report|stack_|heap_|posix_memalign|vectors|main/) return "firmware"
    return "newlib/runtime"
}
{
    name = $3; text = $0
    c = component(text)
    if ($2 ~ /[tTrRwW]/) flash[c] += $1; else ram[c] += $1
    seen[c] = 1
}
END {
    printf "%-16s %12s %12s\n", "component", "flash bytes", "ram bytes"
    n = split("protocol crypto delta inference metering firmware newlib/runtime", order, " ")
    for (i = 1; i <= n; i++) { c = order[i]; printf "%-16s %12d %12d\n", c, flash[c], ram[c]; kit += (i <= 4) ? flash[c] : 0 }
    printf "%-16s %12d  (issue 10: protocol, crypto, delta, inference)\n", "kit (first 4)", kit
    printf "%-16s %12d  (and metering: quota grants, signed usage receipts, issue 11)\n", "kit (first 5)", kit + flash["metering"]
}'
arm-none-eabi-size -A "$elf" | awk '
$1 == ".text" || $1 == ".ARM.exidx" { flash += $2 }
$1 == ".data" { flash += $2; ram += $2 }
$1 == ".bss" { ram += $2 }
END { printf "flash=%d ram=%d\n", flash, ram }'
