#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn a guest's test log into KTAP result lines and a summary.

The guest frames each program's output with "=== BEGIN name" and
"=== END name rc=N" (scripts/guest-init.sh), on a serial port of its own;
the kernel console, given with --console, is searched for splats too.
Exit status is non-zero when a test failed, when the guest did not reach
"=== DONE" (hang, panic, timeout), or when the kernel log shows a splat.
"""
import argparse
import re
import sys

# A kernel console line starts with the printk timestamp (CONFIG_PRINTK_TIME).
KLINE = re.compile(r"^\[\s*\d+\.\d+\]\s?(.*)$")
SPLAT = re.compile(
    r"(BUG:|WARNING:|Oops|Kernel panic|kernel BUG at|KASAN:|UBSAN:|"
    r"general protection fault|possible circular locking|possible recursive locking|"
    r"inconsistent lock state|rcu: INFO:|rcu_sched self-detected stall|"
    r"blocked for more than|Call Trace:|rust_panic|panicked at|"
    r"suspected memory leak|page_table_check)"
)
UNIT = re.compile(
    r"Testing (?P<name>.+?)\.\.\. (?:(?P<done>done)|skipped \[reason: (?P<skip>.*?)\]|"
    r"failed \[reason: (?P<fail>.*?)\])?$"
)
# After the description, "# " and a directive with its reason, or any other
# note: run_vmtests.sh and the kselftest runner say "not ok N name # exit=1"
# and "# TIMEOUT 45 seconds".
TAP = re.compile(r"^(?P<not>not )?ok \d+ (?P<desc>[^#]*?)\s*"
                 r"(?:#\s*(?:(?P<dir>SKIP|XFAIL|TODO)\b\s*(?P<why>.*)|(?P<note>.*)))?$")


class Results:
    def __init__(self):
        self.lines = []
        self.passed = self.failed = self.skipped = 0

    def add(self, status, name, why=""):
        n = len(self.lines) + 1
        if status == "pass":
            self.passed += 1
            line = f"ok {n} {name}"
        elif status == "skip":
            self.skipped += 1
            line = f"ok {n} {name} # SKIP {why}".rstrip()
        else:
            self.failed += 1
            line = f"not ok {n} {name}" + (f" # {why}" if why else "")
        self.lines.append(line)
        print(line)


def sections(lines):
    """Yield (name, body lines, rc or None) for each framed program."""
    name, body = None, []
    for line in lines:
        if line.startswith("=== BEGIN "):
            if name is not None:
                yield name, body, None
            name, body = line[len("=== BEGIN "):].strip(), []
        elif line.startswith("=== END ") and name is not None:
            m = re.search(r"rc=(\d+)", line)
            yield name, body, int(m.group(1)) if m else None
            name, body = None, []
        elif name is not None:
            body.append(line)
    if name is not None:
        yield name, body, None


def user_lines(body):
    """The program's own output: drop kernel console lines."""
    return [l for l in body if not KLINE.match(l)]


def parse_unit_tests(res, body, rc):
    ran = 0
    summary = None
    for line in user_lines(body):
        if line.startswith("Userfaults unit tests:"):
            summary = line.strip()
        m = UNIT.search(line)
        if not m:
            continue
        ran += 1
        name = "uffd-unit-tests: " + m.group("name")
        if m.group("done"):
            res.add("pass", name)
        elif m.group("skip") is not None:
            res.add("skip", name, m.group("skip"))
        elif m.group("fail") is not None:
            res.add("fail", name, m.group("fail"))
        else:
            res.add("fail", name, "no result: the program died in this test")
    print(f"# uffd-unit-tests: {ran} tests reported; {summary or 'no summary line'}")
    if rc is None:
        res.add("fail", "uffd-unit-tests: finished", "did not finish (timeout or crash)")
    elif rc != 0 and rc != 4 and not any(l.startswith("not ok") and "uffd-unit-tests" in l for l in res.lines):
        res.add("fail", "uffd-unit-tests: exit status", f"rc={rc}")


def parse_tap(res, name, body, rc):
    seen = 0
    fails = 0
    for line in user_lines(body):
        m = TAP.match(line.strip())
        if not m:
            continue
        seen += 1
        desc, why = m.group("desc"), m.group("why") or ""
        if not desc and m.group("dir") == "SKIP":
            # kselftest.h's skips carry their description after the
            # directive: "ok N # SKIP <what>: <why>".
            desc, why = why, ""
        desc = f"{name}: {desc}"
        if m.group("not") and m.group("dir") not in ("TODO",):
            fails += 1
            res.add("fail", desc, (m.group("note") or "").strip())
        elif m.group("dir") == "SKIP":
            res.add("skip", desc, why)
        else:
            res.add("pass", desc)
    if rc is None:
        res.add("fail", f"{name}: finished", "did not finish (timeout or crash)")
    elif rc == 124:
        res.add("fail", f"{name}: finished", "timed out in the guest")
    elif seen == 0:
        res.add("pass" if rc == 0 else ("skip" if rc == 4 else "fail"), name,
                "" if rc in (0, 4) else f"rc={rc}, no KTAP lines")
    elif rc not in (0, 4) and fails == 0:
        res.add("fail", f"{name}: exit status", f"rc={rc}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("--mode", default="test")
    ap.add_argument("--impl", default="?")
    ap.add_argument("--console", help="the kernel console log, searched for splats too")
    args = ap.parse_args()
    try:
        text = open(args.log, errors="replace").read()
    except OSError as e:
        print(f"results: cannot read {args.log}: {e}", file=sys.stderr)
        return 2
    lines = text.splitlines()
    res = Results()

    head = [l for l in lines if l.startswith("=== GUEST") or l.startswith("=== IMPL")]
    for l in head:
        print("#", l[4:])
    impl_line = next((l for l in head if l.startswith("=== IMPL")), None)

    if args.mode == "run":
        for name, body, rc in sections(lines):
            # The program's narrative ("# ..." lines); its KTAP lines
            # follow, numbered, from parse_tap().
            for l in user_lines(body):
                if l.startswith("# ") and not l.startswith("# Totals"):
                    print(l)
            parse_tap(res, name, body, rc)
    else:
        print("TAP version 13")
        for name, body, rc in sections(lines):
            if name == "uffd-unit-tests":
                parse_unit_tests(res, body, rc)
            elif name.startswith("uffd-stress"):
                tail = [l for l in user_lines(body) if l.strip()][-1:] or [""]
                if rc == 0:
                    res.add("pass", name)
                else:
                    res.add("fail", name, f"rc={rc}: {tail[0].strip()[:100]}" if rc is not None
                            else "did not finish (timeout or crash)")
            else:
                parse_tap(res, name, body, rc)

    problems = []
    # IMPL variants (rust-nowp) run the implementation their name starts with.
    want_impl = args.impl.split("-")[0]
    if impl_line and want_impl in ("rust", "c") and impl_line.split()[-1] != want_impl:
        problems.append(f"expected the {args.impl} implementation, guest says: {impl_line}")
    splats = []
    klines = list(lines)
    if args.console:
        try:
            klines += open(args.console, errors="replace").read().splitlines()
        except OSError as e:
            problems.append(f"cannot read the console log {args.console}: {e}")
    for l in klines:
        m = KLINE.match(l)
        if m and SPLAT.search(m.group(1)):
            splats.append(l)
    if splats:
        problems.append(f"kernel splat in the guest log ({len(splats)} lines), first: {splats[0].strip()}")
    if "=== DONE" not in lines:
        problems.append("the guest did not finish (no '=== DONE': hang, panic or timeout)")
    if not res.lines:
        problems.append("no test results in the guest log")
    for p in problems:
        print(f"# ERROR: {p}")

    summary = f"{res.passed} passed, {res.failed} failed"
    if res.skipped:
        summary += f", {res.skipped} skipped"
    print(summary)
    print(f"# guest log: {args.log}")
    return 1 if res.failed or problems else 0


if __name__ == "__main__":
    sys.exit(main())
