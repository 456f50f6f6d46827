#!/usr/bin/env bash
# Boot build/out-$IMPL under QEMU and run MODE (run | test) in the guest.
# Two serial ports keep test output and kernel messages apart: the guest's
# /init writes everything it runs to the second one (ttyS1), which goes to
# build/out-$IMPL/guest-$MODE.log; the kernel console (ttyS0) goes to
# build/out-$IMPL/guest-$MODE.console.  scripts/results.py reads both (the
# results from the first, splats from both) and gives the exit status.
# For scripts/profile.sh: APPEND adds to the kernel command line, QEMU_ARGS
# to QEMU's arguments (split at blanks), and TAG goes into the names of
# the two files (guest-$MODE-$TAG.log), to keep those of plain runs.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
IMPL=${1:?usage: guest.sh rust|c run|test}
MODE=${2:?usage: guest.sh rust|c run|test}
B=${B:-$top/build}
OUT=$B/out-$IMPL
LOG=$OUT/guest-$MODE${TAG:+-$TAG}.log
CONSOLE=$OUT/guest-$MODE${TAG:+-$TAG}.console
# The memory-checker kernels run the same tests several times slower.
case $IMPL in
*-kasan) GUEST_TIMEOUT=${GUEST_TIMEOUT:-1800} ;;
*-lockdep) GUEST_TIMEOUT=${GUEST_TIMEOUT:-1200} ;;
*) GUEST_TIMEOUT=${GUEST_TIMEOUT:-600} ;;
esac
ACCEL=${ACCEL:-tcg}	# KVM guests hang on these machines; ACCEL=kvm to try it
CPUS=${CPUS:-2}
MEM=${MEM:-2G}
EXTRA=()
if [ "$MODE" = bench ]; then
	# Guest time = instruction count (1 ns each): repeatable figures under
	# software emulation.  -icount needs single-threaded TCG; one vCPU.
	EXTRA=(-icount shift=0,sleep=off)
	CPUS=1
fi

die() { echo "guest: ERROR: $*" >&2; exit 1; }
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found (make deps)"
[ -f "$OUT/arch/x86/boot/bzImage" ] || die "no kernel in $OUT: build it first (make build IMPL=$IMPL)"
[ -f "$OUT/initramfs.cpio.gz" ] || die "no initramfs in $OUT: build it first"

append="console=ttyS0 loglevel=5 panic=-1 oops=panic uffd.mode=$MODE"
[ -n "${ONLY:-}" ] && append="$append uffd.only=$ONLY"
[ -n "${SOAK:-}" ] && append="$append uffd.soak=$SOAK"
[ -n "${APPEND:-}" ] && append="$append $APPEND"
# shellcheck disable=SC2206 # split at blanks on purpose
[ -n "${QEMU_ARGS:-}" ] && EXTRA+=($QEMU_ARGS)

echo "guest: booting $IMPL kernel ($ACCEL, $CPUS vCPUs, $MEM), log in $LOG"
rc=0
rm -f "$LOG.raw"
timeout --foreground -k 10 "$GUEST_TIMEOUT" qemu-system-x86_64 \
	-accel "$ACCEL" -cpu max -smp "$CPUS" -m "$MEM" \
	-kernel "$OUT/arch/x86/boot/bzImage" -initrd "$OUT/initramfs.cpio.gz" \
	-append "$append" -nographic -no-reboot -monitor none \
	-serial stdio -serial "file:$LOG.raw" "${EXTRA[@]}" \
	</dev/null 2>&1 | tr -d '\r' >"$CONSOLE" || rc=$?
# pipefail: rc is timeout's (124 on a hang) or QEMU's status.
tr -d '\r' <"$LOG.raw" >"$LOG" 2>/dev/null || : >"$LOG"
rm -f "$LOG.raw"
[ "$rc" = 124 ] && echo "guest: ERROR: the guest did not finish within ${GUEST_TIMEOUT}s (hang?); killed" >&2
python3 "$top/scripts/results.py" --mode "$MODE" --impl "$IMPL" --console "$CONSOLE" "$LOG" || exit $?
[ "$rc" = 0 ] || exit 1
