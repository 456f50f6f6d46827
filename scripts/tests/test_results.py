#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Host tests of scripts/results.py: it must fail a run on every kind of
failure the pipeline promises to catch, and pass a clean one."""
import os
import subprocess
import sys
import tempfile
import unittest

RESULTS = os.path.join(os.path.dirname(__file__), "..", "results.py")

CLEAN = """\
=== GUEST 6.12.117 cpus=2 hugepages=256 swap_kb=1 mode=test
=== IMPL rust
=== BEGIN uffd-unit-tests
Testing register-anon on anon... done
Testing wp-fork on shmem... skipped [reason: feature missing]
Userfaults unit tests: pass=1, skip=1, fail=0 (total=2)
=== END uffd-unit-tests rc=0
=== BEGIN uffd-stress-anon
nr_pages: 8192
=== END uffd-stress-anon rc=0
=== BEGIN mine
TAP version 13
ok 1 first check
ok 2 second check # SKIP no swap
ok 3 # SKIP third check: no hugetlb pages
=== END mine rc=0
=== BEGIN kunit
KTAP version 1
1..1
    KTAP version 1
    # Subtest: rust_doctests_kernel
    1..2
    ok 1 rust_doctest_kernel_mm_pte_rs_0
    ok 2 rust_doctest_kernel_mm_pte_rs_1
# rust_doctests_kernel: pass:2 fail:0 skip:0 total:2
ok 1 rust_doctests_kernel
=== END kunit rc=0
=== KERNEL LOG
[    0.000000] Linux version 6.12.117
=== DONE
"""


def run(log, impl="rust", console=None):
    files = []
    try:
        with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as f:
            f.write(log)
        files.append(f.name)
        cmd = [sys.executable, RESULTS, "--impl", impl, f.name]
        if console is not None:
            with tempfile.NamedTemporaryFile("w", suffix=".console", delete=False) as c:
                c.write(console)
            files.append(c.name)
            cmd += ["--console", c.name]
        p = subprocess.run(cmd, capture_output=True, text=True)
    finally:
        for name in files:
            os.unlink(name)
    return p.returncode, p.stdout


class ResultsTest(unittest.TestCase):
    def test_clean_run_passes(self):
        rc, out = run(CLEAN)
        self.assertEqual(rc, 0, out)
        self.assertEqual(out.splitlines()[-2], "6 passed, 0 failed, 3 skipped")
        # kselftest.h's skip lines keep their description as the name.
        self.assertIn("mine: third check: no hugetlb pages # SKIP", out)

    def test_kunit_failure(self):
        rc, out = run(CLEAN.replace("    ok 2 rust_doctest", "    not ok 2 rust_doctest"))
        self.assertNotEqual(rc, 0)
        self.assertIn("not ok", out)

    def test_failed_unit_test(self):
        rc, out = run(CLEAN.replace("register-anon on anon... done",
                                    "register-anon on anon... failed [reason: x]"))
        self.assertNotEqual(rc, 0)
        self.assertIn("not ok 1 uffd-unit-tests: register-anon on anon", out)

    def test_program_died_mid_test(self):
        rc, out = run(CLEAN.replace("register-anon on anon... done",
                                    "register-anon on anon... "))
        self.assertNotEqual(rc, 0)
        self.assertIn("no result", out)

    def test_stress_failure(self):
        rc, _ = run(CLEAN.replace("uffd-stress-anon rc=0", "uffd-stress-anon rc=1"))
        self.assertNotEqual(rc, 0)

    def test_tap_failure(self):
        rc, _ = run(CLEAN.replace("ok 1 first check", "not ok 1 first check"))
        self.assertNotEqual(rc, 0)

    def test_nonzero_exit_without_failed_line(self):
        rc, out = run(CLEAN.replace("mine rc=0", "mine rc=1"))
        self.assertNotEqual(rc, 0)
        self.assertIn("exit status", out)

    def test_hang_no_done(self):
        rc, out = run(CLEAN.replace("=== DONE\n", ""))
        self.assertNotEqual(rc, 0)
        self.assertIn("did not finish", out)

    def test_program_cut_off(self):
        cut = CLEAN.split("=== END mine")[0]
        rc, _ = run(cut)
        self.assertNotEqual(rc, 0)

    def test_splats(self):
        for splat in ["WARNING: CPU: 1 PID: 77 at mm/memory.c:123 zap_pte_range+0x1/0x2",
                      "BUG: kernel NULL pointer dereference, address: 0000000000000008",
                      "Oops: general protection fault, probably for non-canonical address",
                      "Kernel panic - not syncing: Fatal exception",
                      "BUG: KASAN: slab-use-after-free in foo+0x1/0x2",
                      "WARNING: possible circular locking dependency detected",
                      "rcu: INFO: rcu_sched self-detected stall on CPU",
                      "INFO: task uffd-stress:88 blocked for more than 120 seconds.",
                      "rust_kernel: panicked at mm/userfaultfd_rs.rs:10:5:",
                      "kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)",
                      "kernel BUG at mm/page_table_check.c:71!"]:
            log = CLEAN.replace("=== DONE", f"[   12.345678] {splat}\n=== DONE")
            rc, out = run(log)
            self.assertNotEqual(rc, 0, splat)
            self.assertIn("kernel splat", out)

    def test_console_is_searched_for_splats(self):
        quiet = "[    1.000000] Memory failure: 0x1234: recovery action for clean LRU page: Recovered\n"
        rc, out = run(CLEAN, console=quiet)
        self.assertEqual(rc, 0, out)
        rc, out = run(CLEAN, console=quiet + "[    2.000000] WARNING: CPU: 0 PID: 1 at mm/hugetlb.c:1 x\n")
        self.assertEqual(rc, 1, out)
        self.assertIn("kernel splat", out)

    def test_console_messages_do_not_break_results(self):
        # With test output on its own port, a kernel message cannot split a
        # result line; the same messages on the console change nothing.
        console = ("[    3.000000] MCE: Killing uffd-unit-tests:100 due to hardware memory"
                   " corruption fault at 7f0000000000\n") * 5
        rc, out = run(CLEAN, console=console)
        self.assertEqual(rc, 0, out)
        self.assertIn("ok 1 uffd-unit-tests: register-anon on anon", out)

    def test_missing_console_is_an_error(self):
        with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as f:
            f.write(CLEAN)
        try:
            p = subprocess.run([sys.executable, RESULTS, "--console", "/nonexistent/console",
                                f.name], capture_output=True, text=True)
        finally:
            os.unlink(f.name)
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("cannot read the console log", p.stdout)

    def test_kmemleak_section(self):
        leak = ("=== BEGIN kmemleak\nnot ok 1 no unreferenced objects after the tests\n"
                "# unreferenced object 0xffff888003e4c000 (size 64):\n=== END kmemleak rc=0\n")
        rc, out = run(CLEAN.replace("=== KERNEL LOG", leak + "=== KERNEL LOG"))
        self.assertNotEqual(rc, 0)
        self.assertIn("not ok", out)

    def test_user_text_is_not_a_splat(self):
        log = CLEAN.replace("nr_pages: 8192", "nr_pages: 8192 (no BUG: here)")
        self.assertEqual(run(log)[0], 0)

    def test_wrong_implementation(self):
        rc, out = run(CLEAN, impl="c")
        self.assertNotEqual(rc, 0)
        self.assertIn("expected the c implementation", out)


    # Upstream's run_vmtests.sh (guest-init.sh runs "-t userfaultfd"): its own
    # TAP, each program's output as "# " comments, a failure as
    # "not ok N <command> # exit=N", and rc 4 when a program skipped.
    RUN_VMTESTS = """\
=== BEGIN run_vmtests
TAP version 13
# -----------------------
# running ./uffd-unit-tests
# -----------------------
# Testing register-anon on anon... done
# Userfaults unit tests: pass=56, skip=10, fail=0 (total=66)
# [PASS]
ok 1 uffd-unit-tests
# running ./uffd-stress hugetlb 128 32
# ok 1 this nested line is output, not a result
# [SKIP]
ok 2 uffd-stress hugetlb 128 32 # SKIP
# running ./uffd-stress shmem 20 16
# [PASS]
ok 3 uffd-stress shmem 20 16
# SKIP ./on-fault-limit
# SUMMARY: PASS=2 SKIP=1 FAIL=0
1..3
=== END run_vmtests rc=4
"""

    def test_run_vmtests(self):
        log = CLEAN.replace("=== KERNEL LOG", self.RUN_VMTESTS + "=== KERNEL LOG")
        rc, out = run(log)
        self.assertEqual(rc, 0, out)
        self.assertIn("ok 10 run_vmtests: uffd-unit-tests\n", out)
        self.assertIn("ok 11 run_vmtests: uffd-stress hugetlb 128 32 # SKIP", out)
        self.assertIn("ok 12 run_vmtests: uffd-stress shmem 20 16\n", out)
        self.assertEqual(out.splitlines()[-2], "8 passed, 0 failed, 4 skipped")

    def test_run_vmtests_failure_keeps_its_name(self):
        # "# exit=1" is a note, not a directive: the line is a failed test.
        block = self.RUN_VMTESTS.replace("ok 3 uffd-stress shmem 20 16",
                                         "not ok 3 uffd-stress shmem 20 16 # exit=1")
        block = block.replace("run_vmtests rc=4", "run_vmtests rc=1")
        rc, out = run(CLEAN.replace("=== KERNEL LOG", block + "=== KERNEL LOG"))
        self.assertNotEqual(rc, 0)
        self.assertIn("not ok 12 run_vmtests: uffd-stress shmem 20 16 # exit=1", out)
        self.assertNotIn("exit status", out)

    def test_kselftest_runner_timeout(self):
        block = ("=== BEGIN vm\nTAP version 13\n1..1\n# selftests: vm: uffd-fill-modes\n#\n"
                 "not ok 1 selftests: vm: uffd-fill-modes # TIMEOUT 180 seconds\n=== END vm rc=0\n")
        rc, out = run(CLEAN.replace("=== KERNEL LOG", block + "=== KERNEL LOG"))
        self.assertNotEqual(rc, 0)
        self.assertIn("vm: selftests: vm: uffd-fill-modes # TIMEOUT 180 seconds", out)

if __name__ == "__main__":
    unittest.main()
