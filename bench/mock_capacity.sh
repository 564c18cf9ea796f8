#!/bin/sh
# Capacity of `llmload mock`: open streams and streamed events/s on one core.
#
#   bench/mock_capacity.sh [BUILD_DIR]
#
# Environment (defaults in brackets):
#   CONNS     open streams, one per connection                [10000]
#   RATE      tokens/s of each stream (events/s = CONNS*RATE) [10]
#   DURATION  seconds of measurement after the ramp           [20]
#   RAMP      seconds to let all connections open             [10]
#   MOCK_CPU  CPU the simulator is pinned to                  [1]
#   LOAD_CPU  CPU the load generator (wrk) is pinned to       [0]
#
# The simulator runs with --batch-slowdown 0 and --slots above CONNS, so
# every stream decodes at RATE whatever the batch.  wrk keeps CONNS
# connections, each holding one streamed /v1/completions that outlasts the
# run.  The numbers come from the simulator's own /metrics (events written,
# streams active) and its CPU time from /proc; wrk's own report is not used,
# because its requests never finish.  Needs wrk (apt-get install wrk) and
# taskset (util-linux); Linux only.
set -eu
cd "$(dirname "$0")/.."
BUILD=${1:-build}
LLMLOAD=${LLMLOAD:-$BUILD/src/llmload}
CONNS=${CONNS:-10000}
RATE=${RATE:-10}
DURATION=${DURATION:-20}
RAMP=${RAMP:-10}
MOCK_CPU=${MOCK_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}

die() { echo "mock_capacity: $*" >&2; exit 1; }
[ -x "$LLMLOAD" ] || die "no binary at $LLMLOAD (build first, or pass the build dir)"
command -v wrk >/dev/null || die "wrk not found: apt-get install wrk"
command -v taskset >/dev/null || die "taskset not found: apt-get install util-linux"
# wrk holds CONNS sockets; the simulator raises its own limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -gt "$((CONNS + 64))" ] ||
    die "open-file limit $(ulimit -n) is below CONNS=$CONNS"

tmp=$(mktemp -d)
mock_pid=""
wrk_pid=""
cleanup() {
    [ -n "$wrk_pid" ] && kill "$wrk_pid" 2>/dev/null || true
    [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

mkfifo "$tmp/url"
taskset -c "$MOCK_CPU" "$LLMLOAD" mock --listen 127.0.0.1:0 --slots "$((CONNS * 2))" \
    --decode-rate "$RATE" --batch-slowdown 0 --ttft-base 0 --prefill-rate 1e9 \
    --idle-timeout 0 >"$tmp/url" 2>"$tmp/mock.err" &
mock_pid=$!
read -r url <"$tmp/url" || die "the simulator did not start: $(cat "$tmp/mock.err")"

# One sample: "<wall seconds> <events_total> <active> <cpu ticks>".
sample() {
    m=$(curl -s "$url/metrics") || die "cannot read $url/metrics"
    ev=$(printf '%s\n' "$m" | awk '$1 == "llmload_mock_events_total" { print $2 }')
    act=$(printf '%s\n' "$m" | awk '$1 == "llmload_mock_active_streams" { print $2 }')
    # utime + stime, fields 14 and 15 of /proc/PID/stat (after the comm field).
    cpu=$(sed 's/^.*) //' "/proc/$mock_pid/stat" | awk '{ print $12 + $13 }')
    printf '%s %s %s %s\n' "$(date +%s.%N)" "$ev" "$act" "$cpu"
}

taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"$((RAMP + DURATION + 5))s" \
    --timeout "$((RAMP + DURATION + 30))s" -s bench/mock_stream.lua "$url" \
    >"$tmp/wrk.out" 2>&1 &
wrk_pid=$!
sleep "$RAMP"
s1=$(sample)
sleep "$DURATION"
s2=$(sample)
hz=$(getconf CLK_TCK)
rss_kb=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$mock_pid/status")

echo "$s1 $s2 $hz $CONNS $RATE" | awk '{
    dt = $5 - $1; ev = $6 - $2; cpu = ($8 - $4) / $9;
    printf "streams open (target %d):   %d at start, %d at end\n", $10, $3, $7;
    printf "events/s written:           %.0f (model: %d streams x %d tok/s = %d)\n",
           ev / dt, $10, $11, $10 * $11;
    printf "simulator CPU:              %.0f%% of one core over %.1f s\n", 100 * cpu / dt, dt;
    if (cpu > 0) printf "events per CPU-second:      %.0f\n", ev / cpu;
}'
echo "$rss_kb $CONNS" | awk '{ printf "simulator RSS:              %.1f MiB (%.2f KiB per stream)\n", $1 / 1024, $1 / $2 }'
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg) (other processes share the CPUs)"
grep -o 'Socket errors.*' "$tmp/wrk.out" || true
