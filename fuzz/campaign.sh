#!/bin/sh
# A long fuzz campaign measured in CPU time, resumable across sittings.
#
#   fuzz/campaign.sh BUILD_DIR STATE_DIR CPU_SECONDS TARGET...
#
# fuzz/run.sh gives each target SECONDS of wall-clock time; on a shared
# machine that can be minutes of CPU.  This script runs TARGET in chunks of
# ten minutes until the CPU seconds spent on it reach CPU_SECONDS, keeping
# the corpus in STATE_DIR/TARGET/ (new inputs accumulate there, the seed
# corpus in fuzz/corpus/ is read only) and the running totals in
# STATE_DIR/TARGET.total.  Stopped and started again with the same
# STATE_DIR, it goes on where it was: a campaign can span sittings.  A
# finding stops the target, leaves the input in BUILD_DIR/fuzz-artifacts/
# and exits 1.  The last line for each target, also appended to
# STATE_DIR/results.txt:
#   NAME ok|FAILED execs=N cov=N ft=N corpus=N cpu=N chunks=N
# Several targets given together run one after another; run two copies of
# the script for two cores.  FUZZ_CHUNK sets the chunk length (seconds).
set -u
[ $# -ge 4 ] || { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
build=$1; state=$2; goal=$3; shift 3
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$state" "$build/fuzz-artifacts"
# CPU seconds of finished children so far (see fuzz/run.sh).  Called in
# this shell with its output to a file: in $(...), a subshell, `times`
# would report the subshell's own children, none.
child_cpu() {
    times >"$state/.times.$$"
    awk 'NR == 2 { s = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); s += a[1] * 60 + a[2] } printf "%d", s }' "$state/.times.$$"
}
status=0
for t in "$@"; do
    exe="$build/fuzz/$t"
    seeds="$here/corpus/${t#fuzz_}"
    [ -x "$exe" ] || { echo "$t: not built: $exe" >&2; exit 2; }
    [ -d "$seeds" ] || { echo "$t: no seed corpus $seeds" >&2; exit 2; }
    mkdir -p "$state/$t"
    tot="$state/$t.total"
    # cpu execs chunks: the totals of earlier chunks and sittings.
    [ -f "$tot" ] || echo "0 0 0" >"$tot"
    read -r cpu execs chunks <"$tot"
    word=ok; cov=0; ft=0
    while [ "$cpu" -lt "$goal" ]; do
        log="$state/$t.log"
        child_cpu >"$state/.cpu.$$"; c0=$(cat "$state/.cpu.$$")
        # -timeout is wall-clock: on a loaded machine a 10 s timeout fired
        # on an input that runs in 0.4 s, so a campaign allows 60 s.
        "$exe" -max_total_time="${FUZZ_CHUNK:-600}" -timeout=60 -rss_limit_mb=2048 -print_final_stats=1 \
            -artifact_prefix="$build/fuzz-artifacts/$t-" "$state/$t" "$seeds" >"$log" 2>&1
        rc=$?
        child_cpu >"$state/.cpu.$$"; c1=$(cat "$state/.cpu.$$")
        n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        cpu=$((cpu + c1 - c0)); execs=$((execs + ${n:-0})); chunks=$((chunks + 1))
        echo "$cpu $execs $chunks" >"$tot"
        cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
        ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
        cp "$log" "$state/$t.chunk$chunks.log"
        if [ $rc -ne 0 ]; then word=FAILED; status=1; tail -40 "$log" >&2; break; fi
    done
    line="$t $word execs=$execs cov=${cov:-0} ft=${ft:-0} corpus=$(ls "$state/$t" | wc -l) cpu=$cpu chunks=$chunks"
    echo "$line" | tee -a "$state/results.txt"
    rm -f "$state/.times.$$" "$state/.cpu.$$"
done
exit $status
