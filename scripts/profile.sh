#!/usr/bin/env bash
# Instruction profile of one benchmark row: where the guest instructions of
# its timed regions go, per function.
#   scripts/profile.sh rust|c ROW      e.g. scripts/profile.sh c continue-shmem
# Boots build/out-$IMPL as scripts/guest.sh's bench mode does (QEMU -icount,
# one vCPU), with the QEMU plugin scripts/profile/uffd-prof.c loaded and
# uffd.profile=ROW on the kernel command line: the guest's /init exports
# UFFD_PROFILE=ROW, and the benchmark that has the row executes a start and
# a stop marker around each of its timed regions (uffd-util.h, prof_*()).
# The plugin counts the instructions executed in between, user and kernel,
# per address; scripts/profile/symbolize.py maps them to the functions of
# build/out-$IMPL/vmlinux and divides by the units (pages, faults, calls)
# that the windows covered, from the benchmark's "# profile" line.
# Only the benchmark program that has the row runs (PROG= to name it).
# Writes build/out-$IMPL/profile-ROW.raw (address, count), profile-ROW.txt
# (the table, also printed) and guest-bench-profile-ROW.{log,console}.
# TOP=N rows in the table (default 40; 0: all).  GRAN=tb counts per
# translation block instead of per instruction.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
IMPL=${1:?usage: profile.sh rust|c ROW}
ROW=${2:?usage: profile.sh rust|c ROW}
B=${B:-$top/build}
OUT=$B/out-$IMPL
BENCH=$top/tools/testing/selftests/vm/bench
PLUGIN_SRC=$top/scripts/profile/uffd-prof.c
PLUGIN=$B/uffd-prof.so
RAW=$OUT/profile-$ROW.raw
TABLE=$OUT/profile-$ROW.txt
LOG=$OUT/guest-bench-profile-$ROW.log

die() { echo "profile: ERROR: $*" >&2; exit 1; }
case $ROW in *[!A-Za-z0-9-]*) die "ROW must be a benchmark row name like continue-shmem, not '$ROW'" ;; esac
[ -f "$OUT/vmlinux" ] || die "no $OUT/vmlinux: build it first (make build IMPL=$IMPL)"
case $B in *[[:space:]]*) die "B ($B) has a blank in it: QEMU_ARGS cannot carry it" ;; esac

# The plugin: our own C file and a header of the API declarations (Debian's
# QEMU does not install qemu-plugin.h).
if [ ! -f "$PLUGIN" ] || [ "$PLUGIN_SRC" -nt "$PLUGIN" ] ||
   [ "$top/scripts/profile/qemu-plugin-api.h" -nt "$PLUGIN" ]; then
	mkdir -p "$B"
	gcc -shared -fPIC -O2 -Wall -o "$PLUGIN" "$PLUGIN_SRC" || die "building the plugin failed"
fi

# The benchmark program that has the row: its name in quotes ("ROW") or in
# its "bench ROW" line; else the name without a -K suffix, for the rows
# built with snprintf (zeropage-anon-16, continue-shmem-512).
prog=${PROG:-}
if [ -z "$prog" ]; then
	files=$(grep -lE -- "\"$ROW\"|\"bench $ROW " "$BENCH"/*.c || true)
	[ -n "$files" ] || files=$(grep -lE -- "\"${ROW%-[0-9]*}(\"|-%zu\")" "$BENCH"/*.c || true)
	[ "$(echo "$files" | grep -c .)" = 1 ] ||
		die "cannot tell which benchmark has the row '$ROW' (found: ${files:-none}); set PROG=<program>"
	prog=$(basename "$files" .c)
fi

# The initramfs must have the markers and the /init that passes the row on:
# both arrive with a rebuild of the test programs and the initramfs.
bin=$OUT/tests/bench/$prog
[ -f "$bin" ] || die "no $bin: build the guest's programs (make build IMPL=$IMPL)"
LC_ALL=C grep -qaP '\x0f\x1f\x80UPR\+' "$bin" && grep -q 'uffd.profile=' "$OUT/initramfs.root/init" 2>/dev/null ||
	die "the guest's $prog or /init predates the profiling hooks: rebuild the test programs and the initramfs (make build IMPL=$IMPL)"
[ "$OUT/initramfs.cpio.gz" -nt "$bin" ] || die "$OUT/initramfs.cpio.gz is older than $bin: rebuild it (scripts/initramfs.sh $IMPL)"

append="uffd.profile=$ROW"
# Addresses are looked up in vmlinux: no KASLR slide.
grep -q '^CONFIG_RANDOMIZE_BASE=y' "$OUT/.config" 2>/dev/null && append="$append nokaslr"

rm -f "$RAW"
echo "profile: $IMPL kernel, row $ROW (program $prog); plugin output $RAW"
rc=0
TAG=profile-$ROW ONLY=$prog APPEND=$append \
	QEMU_ARGS="-plugin $PLUGIN,out=$RAW${GRAN:+,gran=$GRAN}" \
	"$top/scripts/guest.sh" "$IMPL" bench || rc=$?
[ -f "$RAW" ] || die "the plugin wrote no $RAW (QEMU did not start or did not exit cleanly; see above)"
[ "$rc" = 0 ] || echo "profile: warning: the guest run reported a problem (rc=$rc, see $LOG); the profile may be partial" >&2

# "# profile ROW: W windows, U units" from the benchmark, at its exit.
read -r W U < <(sed -n "s/^# profile $ROW: \([0-9]*\) windows, \([0-9]*\) units$/\1 \2/p" "$LOG" | tail -1) ||
	die "no '# profile $ROW' line in $LOG: did $prog run to its end?"
[ "${W:-0}" -gt 0 ] || die "$prog ran no timed region of a row named '$ROW' (a typo, or a skipped row: see $LOG)"
PW=$(sed -n 's/^# uffd-prof windows \([0-9]*\) .*/\1/p' "$RAW")
[ "$PW" = "$W" ] || echo "profile: warning: the plugin saw $PW windows, the benchmark opened $W" >&2
fig=$(sed -n "s/^bench $ROW //p" "$LOG" | tail -1)

{
	echo "# $IMPL kernel ($(cat "$OUT/include/config/kernel.release" 2>/dev/null || echo '?')), row $ROW of $prog"
	echo "# $W windows over $U units ($((U / W)) per window); per unit = instructions / $U (the mean over the windows)"
	echo "# the benchmark's figure (median of its repeats, guest ns = instructions): ${fig:-none}"
	awk -v u="$((U / W))" '/^# window / { printf "%s%.1f", (n++ ? " " : "# each window, instructions per unit: "), $4 / u } END { if (n) print "" }' "$RAW"
	python3 "$top/scripts/profile/symbolize.py" "$RAW" "$OUT/vmlinux" --per "$U" --top "${TOP:-40}"
} | tee "$TABLE"
echo "profile: table in $TABLE"
