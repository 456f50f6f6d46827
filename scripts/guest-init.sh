#!/bin/sh
# /init of the test guest.  The kernel command line says what to run:
#   uffd.mode=run    the MINOR + UFFDIO_CONTINUE demonstration
#   uffd.mode=test   every test (upstream userfaultfd selftests and ours)
#   uffd.mode=bench  the benchmarks (run under QEMU -icount by scripts/bench.sh)
#   uffd.only=NAME   with mode=test: only the programs whose name contains NAME
#   uffd.mode=soak   run upstream uffd-unit-tests -f NAME (uffd.only=NAME)
#                    uffd.soak=N times, to measure a flaky test's failure rate
#   uffd.mode=stress our shadow-model stress test, uffd.soak=N seeds of
#                    10000 operations each (from seed 1000)
#   uffd.profile=ROW with mode=bench: the benchmarks mark the timed regions
#                    of their row ROW for the QEMU plugin of
#                    scripts/profile.sh (UFFD_PROFILE in their environment)
# Each program's output is framed by "=== BEGIN name" and "=== END name rc=N";
# scripts/results.py on the host turns that into KTAP lines and a summary.
# All of it goes to the second serial port; the console keeps the kernel's
# own messages.
/bin/busybox --install -s /bin
export PATH=/bin

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
# Test output on the second serial port, kernel messages on the console
# (scripts/guest.sh): a kernel message can never land inside a test's line.
[ -c /dev/ttyS1 ] && exec >/dev/ttyS1 2>&1
mount -t tmpfs tmp /tmp
mount -t debugfs debugfs /sys/kernel/debug
mkdir -p /dev/hugepages
mount -t hugetlbfs hugetlbfs /dev/hugepages
echo 1 > /proc/sys/vm/overcommit_memory

mode=test
only=
soak=20
for arg in $(cat /proc/cmdline); do
	case $arg in
	uffd.mode=*) mode=${arg#uffd.mode=} ;;
	uffd.only=*) only=${arg#uffd.only=} ;;
	uffd.soak=*) soak=${arg#uffd.soak=} ;;
	uffd.profile=*) export UFFD_PROFILE="${arg#uffd.profile=}" ;;
	esac
done

# Huge pages for the hugetlb tests, and a zram swap device.
echo 256 > /proc/sys/vm/nr_hugepages
if [ -e /sys/block/zram0 ]; then
	echo 512M > /sys/block/zram0/disksize &&
		mkswap /dev/zram0 >/dev/null && swapon /dev/zram0
fi
echo "=== GUEST $(uname -r) cpus=$(nproc) hugepages=$(cat /proc/sys/vm/nr_hugepages)" \
	"swap_kb=$(awk '/SwapTotal/ {print $2}' /proc/meminfo) mode=$mode"
impl=c
dmesg | grep -q "userfaultfd: Rust implementation" && impl=rust
echo "=== IMPL $impl"

# KUnit ran at boot (built in): the Rust doctests of the `kernel` crate,
# which on the Rust kernel include the checks of the PTE marker encoding
# against the C headers (rust/kernel/mm/pte.rs).  Report its KTAP, from the
# first "KTAP version" line to the last top-level result, as a test.
kunit() {
	case kunit in *"$only"*) ;; *) return ;; esac
	echo "=== BEGIN kunit"
	dmesg | sed 's/^\[[^]]*\] \{0,1\}//' | awk '
		/^KTAP version/ && !on { on = 1 }
		on { buf[n++] = $0 }
		on && /^(not )?ok [0-9]+ / { last = n }
		END { for (i = 0; i < last; i++) print buf[i] }'
	if ! dmesg | grep -q "KTAP version"; then
		echo "not ok 1 KUnit ran at boot (no KTAP in the kernel log)"
	fi
	echo "=== END kunit rc=0"
}

# run NAME TIMEOUT_S CMD...
run() {
	name=$1; t=$2; shift 2
	case $name in *"$only"*) ;; *) return ;; esac
	echo "=== BEGIN $name"
	timeout "$t" "$@" 2>&1
	echo "=== END $name rc=$?"
}

cd /tests
case $mode in
run)
	run uffd-minor-demo 60 vm/uffd-minor-demo
	;;
test)
	kunit
	run uffd-unit-tests 400 upstream/uffd-unit-tests
	run uffd-stress-anon 300 upstream/uffd-stress anon 32 8
	run uffd-stress-shmem 300 upstream/uffd-stress shmem 32 8
	run uffd-stress-shmem-private 300 upstream/uffd-stress shmem-private 32 8
	run uffd-stress-hugetlb 300 upstream/uffd-stress hugetlb 64 8
	run uffd-stress-hugetlb-private 300 upstream/uffd-stress hugetlb-private 64 8
	run pagemap_ioctl 300 upstream/pagemap_ioctl
	for t in vm/*; do
		[ -x "$t" ] && run "${t#vm/}" 120 "$t" -q
	done
	# The user-space example on the userfaultfd crate (examples/uffd-rust).
	run uffd-rust-example 120 examples/uffd-rust
	# Upstream's own runner for the userfaultfd category, as a kernel
	# developer runs it (tools/testing/selftests/mm/run_vmtests.sh, its
	# programs and a static bash, built by guest.mk).  It gives each
	# hugetlb uffd-stress half the free huge pages: 128 here, so 64 MB
	# each.
	case run_vmtests in *"$only"*)
		echo 128 > /proc/sys/vm/nr_hugepages
		(cd run_vmtests && run run_vmtests 900 ./bash ./run_vmtests.sh -t userfaultfd)
		echo 256 > /proc/sys/vm/nr_hugepages
	esac
	;;
soak)
	i=0
	while [ "$i" -lt "$soak" ]; do
		i=$((i + 1))
		echo "=== BEGIN soak-$i"
		timeout 300 upstream/uffd-unit-tests -f "$only" 2>&1
		echo "=== END soak-$i rc=$?"
	done
	;;
stress)
	run uffd-shadow-stress $((60 + soak * 90)) vm/uffd-shadow-stress -s 1000 -n "$soak" -o 10000
	;;
bench)
	for t in bench/*; do
		[ -x "$t" ] && run "${t#bench/}" 300 "$t"
	done
	;;
esac

# With kmemleak (the *-kasan kernels): a scan now, reported like a test.
# Objects younger than 5 s are not reported yet; the tests are done by then.
if [ "$mode" = test ] && [ -w /sys/kernel/debug/kmemleak ]; then
	echo "=== BEGIN kmemleak"
	echo scan > /sys/kernel/debug/kmemleak
	leaks=$(cat /sys/kernel/debug/kmemleak)
	if [ -z "$leaks" ]; then
		echo "ok 1 no unreferenced objects after the tests"
	else
		echo "not ok 1 no unreferenced objects after the tests"
		echo "$leaks" | head -60 | sed 's/^/# /'
	fi
	echo "=== END kmemleak rc=0"
fi

echo "=== KERNEL LOG"
dmesg
echo "=== DONE"
sync
reboot -f
