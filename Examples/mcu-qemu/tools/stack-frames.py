#!/usr/bin/env python3
"""stack-frames.py ELF [N]: the N (25) largest stack frames of the firmware's functions, read from each prologue in
`arm-none-eabi-objdump -d` (push/stmdb: 4 B a register, vpush: 8 B a register, `sub sp, #N`, or `sub sp` by a register
set with movw/movt), with the function's code size; Swift names demangled. -fstack-usage does not exist for Swift.

stack-frames.py ELF --chains SYMBOL...: for each (mangled) symbol, its deepest static call chain (direct `bl`/`b`
calls only; `*` marks a function that also calls through a register, which is not followed) with each frame, and
the deepest chain under each of its direct callees. A painted stack mark is at most the deepest chain from
Reset_Handler plus an interrupt's frame; where it is actually reached is for a debugger to say (README.md)."""
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
calls = {}; indirect = set()
current = None; count = 0; regs = {}
for addr, text in insns:
    if addr in syms:
        current = syms[addr][1]; frames[current] = [0, syms[addr][0]]; calls[current] = set(); count = 0; regs = {}
    if current is None: continue
    count += 1
    m = re.match(r"(bl|b\.w|b)\t([0-9a-f]+) <", text)
    if m and int(m.group(2), 16) in syms and syms[int(m.group(2), 16)][1] != current:
        calls[current].add(syms[int(m.group(2), 16)][1])
    if re.match(r"blx\t(r\d+|ip|lr)", text): indirect.add(current)
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
def demangle(names):
    return subprocess.run(["swift", "demangle", "--compact", "--simplified"], input="\n".join(names), capture_output=True, text=True).stdout.splitlines()
if len(sys.argv) > 2 and sys.argv[2] == "--chains":
    deepest = {}
    def chain(name, path=()):
        """The deepest chain from `name`: (bytes, [names]); a recursive call ends a chain."""
        if name in deepest: return deepest[name]
        if name in path: return (0, [])
        best = (0, [])
        for callee in calls.get(name, ()):
            below = chain(callee, path + (name,))
            if below[0] > best[0]: best = below
        result = (frames.get(name, [0])[0] + best[0], [name] + best[1])
        deepest[name] = result
        return result
    for root in sys.argv[3:]:
        total, names = chain(root)
        print(f"{total:7d}  deepest chain from {demangle([root])[0][:120]}")
        for n, d in zip(names, demangle(names)):
            print(f"{frames.get(n, [0])[0]:7d} {'*' if n in indirect else ' '} {d[:130]}")
        callees = sorted(((chain(c)[0], c) for c in calls.get(root, ())), reverse=True)
        for (depth, c), d in zip(callees, demangle([c for _, c in callees])):
            print(f"{depth:7d}  under callee {d[:120]}")
    sys.exit(0)
rows = sorted(((f, s, n) for n, (f, s) in frames.items()), reverse=True)
limit = int(sys.argv[2]) if len(sys.argv) > 2 else 25
names = [n for _, _, n in rows[:limit]]
for (f, s, n), d in zip(rows[:limit], demangle(names)):
    print(f"{f:7d} {s:6d}  {d[:140]}")
