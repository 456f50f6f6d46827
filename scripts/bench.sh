#!/usr/bin/env bash
# Run the guest benchmarks (tools/testing/selftests/vm/bench/) on the Rust
# and the C kernel under QEMU -icount, and print a table of Rust / C.
# Figures are guest nanoseconds under -icount shift=0, i.e. guest
# instructions; each is the median of the repeats the benchmark does.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-$top/build}
RUNS=${RUNS:-3}

for impl in rust c; do
	for r in $(seq "$RUNS"); do
		"$top/scripts/guest.sh" "$impl" bench >/dev/null ||
			{ echo "bench: the $impl guest run failed, see $B/out-$impl/guest-bench.log" >&2; exit 1; }
		grep '^bench ' "$B/out-$impl/guest-bench.log" | sed "s/^/$impl /" >>"$B/bench.$$"
	done
done
python3 - "$B/bench.$$" "$RUNS" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    impl, _, name, val = line.split()
    rows.setdefault(name, {}).setdefault(impl, []).append(float(val))
print(f"{'operation':<16} {'rust ns/op':>13} {'c ns/op':>10} {'rust/c':>7}   (median of {sys.argv[2]} boots, guest instructions under -icount)")
for name, d in rows.items():
    r, c = statistics.median(d.get("rust", [0])), statistics.median(d.get("c", [0]))
    ratio = f"{r / c:.3f}" if c else "n/a"
    print(f"{name:<16} {r:>13.1f} {c:>10.1f} {ratio:>7}")
PY
rm -f "$B/bench.$$"
