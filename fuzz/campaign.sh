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
. "$here/lib.sh"
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
        fuzz_cpu "$state/.cpu.$$"; c0=$(cat "$state/.cpu.$$")
        # -timeout is wall-clock: on a loaded machine a 10 s timeout fired
        # on an input that runs in 0.4 s, so a campaign allows 60 s.
        fuzz_exec "$exe" "${FUZZ_CHUNK:-600}" 60 "$build/fuzz-artifacts/$t-" "$log" "$state/$t" "$seeds"
        rc=$?
        fuzz_cpu "$state/.cpu.$$"; c1=$(cat "$state/.cpu.$$")
        total=$execs
        fuzz_stats "$log"
        cpu=$((cpu + c1 - c0)); execs=$((total + ${execs:-0})); chunks=$((chunks + 1))
        echo "$cpu $execs $chunks" >"$tot"
        cp "$log" "$state/$t.chunk$chunks.log"
        if [ $rc -ne 0 ]; then word=FAILED; status=1; tail -40 "$log" >&2; break; fi
    done
    line="$t $word execs=$execs cov=${cov:-0} ft=${ft:-0} corpus=$(ls "$state/$t" | wc -l) cpu=$cpu chunks=$chunks"
    echo "$line" | tee -a "$state/results.txt"
    rm -f "$state/.cpu.$$"
done
exit $status
