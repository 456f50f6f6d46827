#!/bin/sh
# /init of the test guest.  The kernel command line says what to run:
#   uffd.mode=run    the MINOR + UFFDIO_CONTINUE demonstration
#   uffd.mode=test   every test (upstream userfaultfd selftests and ours)
#   uffd.only=NAME   with mode=test: only the programs whose name contains NAME
# Each program's output is framed by "=== BEGIN name" and "=== END name rc=N";
# scripts/results.py on the host turns that into KTAP lines and a summary.
/bin/busybox --install -s /bin
export PATH=/bin

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t tmpfs tmp /tmp
mount -t debugfs debugfs /sys/kernel/debug
mkdir -p /dev/hugepages
mount -t hugetlbfs hugetlbfs /dev/hugepages
echo 1 > /proc/sys/vm/overcommit_memory

mode=test
only=
for arg in $(cat /proc/cmdline); do
	case $arg in
	uffd.mode=*) mode=${arg#uffd.mode=} ;;
	uffd.only=*) only=${arg#uffd.only=} ;;
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
dmesg | grep -q "userfaultfd: Rust implementation" &&
	echo "=== IMPL rust" || echo "=== IMPL c"

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
	run uffd-unit-tests 900 upstream/uffd-unit-tests
	run uffd-stress-anon 300 upstream/uffd-stress anon 32 8
	run uffd-stress-shmem 300 upstream/uffd-stress shmem 32 8
	run uffd-stress-shmem-private 300 upstream/uffd-stress shmem-private 32 8
	run uffd-stress-hugetlb 300 upstream/uffd-stress hugetlb 64 8
	run uffd-stress-hugetlb-private 300 upstream/uffd-stress hugetlb-private 64 8
	for t in vm/*; do
		[ -x "$t" ] && run "${t#vm/}" 300 "$t" -q
	done
	;;
esac

echo "=== KERNEL LOG"
dmesg
echo "=== DONE"
sync
reboot -f
