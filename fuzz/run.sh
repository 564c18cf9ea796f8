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
. "$here/lib.sh"
for t in $targets; do
    exe="$build/fuzz/$t"
    seeds="$here/corpus/${t#fuzz_}"
    [ -x "$exe" ] || { echo "$t FAILED (not built: $exe)" >>"$results"; status=1; continue; }
    [ -d "$seeds" ] || { echo "$t FAILED (no seed corpus $seeds)" >>"$results"; status=1; continue; }
    work=$(mktemp -d)
    fuzz_cpu "$build/.cpu"; cpu0=$(cat "$build/.cpu")
    log="$build/fuzz-$t.log"
    fuzz_exec "$exe" "$secs" 10 "$build/fuzz-artifacts/$t-" "$log" "$work" "$seeds"
    rc=$?
    fuzz_cpu "$build/.cpu"; cpu=$(( $(cat "$build/.cpu") - cpu0 ))
    fuzz_stats "$log"
    corp=$(ls "$work" | wc -l)
    if [ $rc -eq 0 ]; then word=ok; else word=FAILED; status=1; fi
    line="$t $word execs=${execs:-0} cov=${cov:-0} ft=${ft:-0} corpus=$corp seconds=$secs cpu=$cpu"
    echo "$line" >>"$results"
    echo "$line"
    [ $rc -eq 0 ] || tail -40 "$log" >&2
    rm -rf "$work"
done
exit $status
