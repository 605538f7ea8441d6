#!/usr/bin/env python3
"""swiftself-check.py ELF: fails (exit 1) when a function of the linked firmware writes r10 (`sl`) without saving
it in its prologue. r10 is Swift's `self` register on ARM and callee-saved: a caller keeps using it after the call.
Swift 6.3.1's LLVM breaks that at -Osize: the ARM load/store optimiser merges three loads from `self` into
`ldm.w r10!, {...}` (writeback), so the caller then reads its fields 12 bytes off (compiler-bug/README.md).
build.sh runs this on every firmware it links. Machine-outlined fragments (OUTLINED_FUNCTION_*) are part of their
callers and are skipped."""
import re
import subprocess
import sys

elf = sys.argv[1]
symbols = {}
for line in subprocess.run(["arm-none-eabi-nm", "-S", elf], capture_output=True, text=True, check=True).stdout.splitlines():
    parts = line.split()
    if len(parts) == 4 and parts[2] in "tTwW":
        symbols[int(parts[0], 16) & ~1] = parts[3]
listing = subprocess.run(["arm-none-eabi-objdump", "-d", "--no-show-raw-insn", elf], capture_output=True, text=True,
                         check=True).stdout
writeback = re.compile(r"\bsl!|\[sl\], #|\[sl, #-?\d+\]!")
no_destination = re.compile(r"(str|stm|cmp|cmn|tst|teq|push|b|bl|bx|blx|cb|it|vstr|vpush|nop|udf|bkpt)")
function, saved, offenders = None, False, {}
for line in listing.splitlines():
    match = re.match(r"\s+([0-9a-f]+):\t(\S+)\t?(.*)", line)
    if not match:
        continue
    address, opcode, operands = int(match.group(1), 16), match.group(2), match.group(3)
    if address in symbols:
        function, saved = symbols[address], False
    if function is None or function.startswith("OUTLINED_FUNCTION_"):
        continue
    if re.match(r"(push|stmdb)", opcode) and re.search(r"\{[^}]*\bsl\b", operands):
        saved = True
    writes = bool(writeback.search(operands))
    if not no_destination.match(opcode) and re.match(r"sl\b", operands) and not opcode.startswith("ldm"):
        writes = True
    if re.match(r"(ldm|pop)", opcode) and re.search(r"\{[^}]*\bsl\b", operands) and not saved:
        writes = True
    if writes and not saved:
        offenders.setdefault(function, []).append(f"{address:x}: {opcode} {operands}")
for name, lines in offenders.items():
    print(f"swiftself-check: {name} writes r10 without saving it: {'; '.join(lines[:3])}", file=sys.stderr)
if offenders:
    print(f"swiftself-check: {len(offenders)} function(s) clobber r10 (Swift's self register); see "
          "Examples/mcu-qemu/compiler-bug/README.md", file=sys.stderr)
    sys.exit(1)
