#!/bin/sh
# Runs every libFuzzer target for a bounded time, each on its seed corpus,
# and writes one result line per target.
#
#   fuzz/run.sh BUILD_DIR SECONDS [TARGET...]
#
# BUILD_DIR is a clang build with -Dfuzz=true (./dev fuzz makes one).  Each
# target starts from fuzz/corpus/<name> (read only: new inputs go to a
# scratch directory, so a run never changes the repository) and stops after
# SECONDS.  A crash, leak, timeout or out-of-memory fails the target and
# leaves the input in BUILD_DIR/fuzz-artifacts/.  Results, one line a target,
# go to BUILD_DIR/fuzz-results.txt:
#   NAME ok|FAILED execs=N cov=N ft=N corpus=N seconds=N cpu=N
# (cpu: the target's user+system CPU seconds; on a busy machine it is less
# than the wall-clock SECONDS, and it is what the executions were bought with)
# The campaign in docs/reliability.md is this script with SECONDS=3600.
set -u
[ $# -ge 2 ] || { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
build=$1; secs=$2; shift 2
here=$(cd "$(dirname "$0")" && pwd)
targets=${*:-$(cd "$here" && ls fuzz_*.c | sed 's/\.c$//')}
results="$build/fuzz-results.txt"
mkdir -p "$build/fuzz-artifacts"
: >"$results"
status=0
# Children's user+system CPU seconds so far (the second line of `times`,
# "XmY.YYYs XmY.YYYs"): POSIX sh has no per-child accounting.  `times` runs
# in this shell (a subshell would report its own, empty, children).
child_cpu() {
    times >"$build/.times"
    awk 'NR == 2 { s = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); s += a[1] * 60 + a[2] } printf "%d", s }' "$build/.times"
}
for t in $targets; do
    exe="$build/fuzz/$t"
    seeds="$here/corpus/${t#fuzz_}"
    [ -x "$exe" ] || { echo "$t FAILED (not built: $exe)" >>"$results"; status=1; continue; }
    [ -d "$seeds" ] || { echo "$t FAILED (no seed corpus $seeds)" >>"$results"; status=1; continue; }
    work=$(mktemp -d)
    child_cpu >"$build/.cpu0"; cpu0=$(cat "$build/.cpu0")
    log="$build/fuzz-$t.log"
    # -rss_limit_mb and -timeout turn a memory blow-up or a hang into a
    # failure with its input saved, not a stuck CI job.
    "$exe" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$build/fuzz-artifacts/$t-" "$work" "$seeds" >"$log" 2>&1
    rc=$?
    child_cpu >"$build/.cpu1"; cpu=$(( $(cat "$build/.cpu1") - cpu0 ))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    corp=$(ls "$work" | wc -l)
    if [ $rc -eq 0 ]; then word=ok; else word=FAILED; status=1; fi
    line="$t $word execs=${execs:-0} cov=${cov:-0} ft=${ft:-0} corpus=$corp seconds=$secs cpu=$cpu"
    echo "$line" >>"$results"
    echo "$line"
    [ $rc -eq 0 ] || tail -40 "$log" >&2
    rm -rf "$work"
done
exit $status
