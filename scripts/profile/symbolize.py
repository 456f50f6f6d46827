#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the "address count" lines of the uffd-prof plugin into a table of
functions: instructions executed inside the profiling windows, and per unit
(page, fault, call) when --per gives the number of units the windows
covered (scripts/profile.sh takes it from the guest's "# profile" line).

Kernel addresses are looked up in the symbol table of VMLINUX (nm -n -S -C:
Rust names demangled); an address belongs to the nearest text symbol at or
below it.  Several names at one address (aliases, merged functions) show
as the first one and "(+N)".  Addresses below the kernel half are "[user]"
(the benchmark's own code, libc, the vDSO); kernel addresses outside the
text of VMLINUX are "[kernel, not in vmlinux]".  The kernel must run
where VMLINUX says: without KASLR (profile.sh adds nokaslr when the
kernel has CONFIG_RANDOMIZE_BASE), or give the slide with --kaslr-offset.

  symbolize.py PROFILE VMLINUX [--per N] [--top N] [--kaslr-offset N]

Each line's address is looked up: with the plugin's default gran=insn that
is every instruction's own address; with gran=tb, a block's instructions
all go to the function the block starts in.
"""
import argparse
import bisect
import subprocess
import sys

KERNEL_BASE = 0xFFFF800000000000


def load_symbols(vmlinux):
    out = subprocess.run(["nm", "-n", "-S", "-C", "--defined-only", vmlinux],
                         check=True, capture_output=True, text=True).stdout
    starts, ends, names = [], [], []
    for line in out.splitlines():
        f = line.split(None, 3)
        if len(f) == 4:
            addr, size, typ, name = f
        elif len(f) == 3:
            (addr, typ, name), size = f, None
        else:
            continue
        if typ not in "tTwW":
            continue
        a = int(addr, 16)
        if a < KERNEL_BASE:
            continue
        if starts and starts[-1] == a:
            names[-1].append(name)
            if size:
                ends[-1] = max(ends[-1] or 0, a + int(size, 16))
            continue
        starts.append(a)
        ends.append(a + int(size, 16) if size else None)
        names.append([name])
    if not starts:
        sys.exit(f"symbolize: no text symbols in {vmlinux}")
    # The end of the text (with the init text after _etext).
    text_end = max([e for e in ends if e] + [starts[-1] + 4096])
    return starts, names, text_end


def label(names):
    # Of aliases, the first with the fewest leading underscores that is not
    # a section marker (startup_64, not _stext; _raw_spin_lock, not
    # __lock_text_start).
    def rank(n):
        return (n.endswith("_start") or n.endswith("_end") or n.endswith("text"),
                len(n) - len(n.lstrip("_")))
    n = min(names, key=rank)
    return n if len(names) == 1 else f"{n} (+{len(names) - 1})"


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("profile", help="the plugin's output (out=FILE)")
    ap.add_argument("vmlinux", help="the kernel's vmlinux (symbols)")
    ap.add_argument("--per", type=float, default=0,
                    help="divide by N for the per-unit column (units covered by all windows)")
    ap.add_argument("--top", type=int, default=40,
                    help="rows to show (the rest summed as one row); 0: all")
    ap.add_argument("--kaslr-offset", type=lambda s: int(s, 0), default=0,
                    help="the kernel's KASLR slide, subtracted from kernel addresses")
    args = ap.parse_args()

    starts, names, text_end = load_symbols(args.vmlinux)
    header, counts = [], {}
    total = 0
    for line in open(args.profile):
        if line.startswith("#"):
            header.append(line.rstrip("\n"))
            continue
        a, c = line.split()
        a, c = int(a, 16), int(c)
        total += c
        if a < KERNEL_BASE:
            key = "[user]"
        else:
            a -= args.kaslr_offset
            i = bisect.bisect_right(starts, a) - 1
            if i < 0 or a >= text_end:
                key = "[kernel, not in vmlinux]"
            else:
                key = label(names[i])
        counts[key] = counts.get(key, 0) + c

    for h in header:
        if h.startswith("# uffd-prof") or h.startswith("# anomalies"):
            print(h)
    if "gran tb" in " ".join(header):
        print("# note: the file is per translation block (gran=tb): each block's"
              " instructions go to the function it starts in")
    per = args.per
    rows = sorted(counts.items(), key=lambda kv: -kv[1])
    if args.top and len(rows) > args.top:
        rest = rows[args.top:]
        rows = rows[:args.top] + [(f"({len(rest)} more functions)", sum(c for _, c in rest))]
    w = max([len("function")] + [len(k) for k, _ in rows])
    w = min(w, 100)
    unit = "per unit" if per else ""
    print(f"{'function':<{w}} {'instructions':>14} {unit:>12} {'%':>6}")
    for k, c in rows + [("total", total)]:
        if k == "total":
            print("-" * (w + 36))
        pu = f"{c / per:12.1f}" if per else ""
        pct = 100.0 * c / total if total else 0.0
        name = k if len(k) <= w else k[:w - 3] + "..."
        print(f"{name:<{w}} {c:>14} {pu:>12} {pct:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
