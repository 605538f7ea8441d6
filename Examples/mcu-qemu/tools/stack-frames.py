#!/usr/bin/env python3
"""stack-frames.py ELF [N]: the N (25) largest stack frames of the firmware's functions, read from each prologue in
`arm-none-eabi-objdump -d` (push/stmdb: 4 B a register, vpush: 8 B a register, `sub sp, #N`, or `sub sp` by a register
set with movw/movt), with the function's code size; Swift names demangled. -fstack-usage does not exist for Swift."""
import re, subprocess, sys
elf = sys.argv[1]
syms = {}
for line in subprocess.run(["arm-none-eabi-nm", "-S", elf], capture_output=True, text=True).stdout.splitlines():
    parts = line.split()
    if len(parts) == 4 and parts[2] in "tTwW":
        syms[int(parts[0], 16) & ~1] = (int(parts[1], 16), parts[3])
dis = subprocess.run(["arm-none-eabi-objdump", "-d", "--no-show-raw-insn", elf], capture_output=True, text=True).stdout
insns = []
for line in dis.splitlines():
    m = re.match(r"\s+([0-9a-f]+):\t(.*)", line)
    if m: insns.append((int(m.group(1), 16), m.group(2)))
frames = {}
current = None; count = 0; regs = {}
for addr, text in insns:
    if addr in syms:
        current = syms[addr][1]; frames[current] = [0, syms[addr][0]]; count = 0; regs = {}
    if current is None: continue
    count += 1
    if count > 40: continue
    m = re.match(r"(push|stmdb)(\.w)?\t(sp!, )?\{(.*)\}", text)
    if m: frames[current][0] += 4 * len(m.group(4).split(",")); continue
    m = re.match(r"vpush\t\{(.*)\}", text)
    if m:
        r = m.group(1)
        n = len(r.split(","))
        if "-" in r: a, b = r.split("-"); n = int(b.strip()[1:]) - int(a.strip()[1:]) + 1
        frames[current][0] += 8 * n; continue
    m = re.match(r"subw?(\.w)?\tsp, (sp, )?#(\d+)", text)
    if m: frames[current][0] += int(m.group(3)); continue
    m = re.match(r"movw\t(\w+), #(\d+)", text)
    if m: regs[m.group(1)] = int(m.group(2)); continue
    m = re.match(r"movt\t(\w+), #(\d+)", text)
    if m: regs[m.group(1)] = regs.get(m.group(1), 0) + (int(m.group(2)) << 16); continue
    m = re.match(r"sub(\.w)?\tsp, (sp, )?(\w+)$", text)
    if m: frames[current][0] += regs.get(m.group(3), 0); continue
rows = sorted(((f, s, n) for n, (f, s) in frames.items()), reverse=True)
limit = int(sys.argv[2]) if len(sys.argv) > 2 else 25
names = [n for _, _, n in rows[:limit]]
dem = subprocess.run(["swift", "demangle", "--compact", "--simplified"], input="\n".join(names), capture_output=True, text=True).stdout.splitlines()
for (f, s, n), d in zip(rows[:limit], dem):
    print(f"{f:7d} {s:6d}  {d[:140]}")
