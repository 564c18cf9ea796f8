# Shell functions fuzz/run.sh and fuzz/campaign.sh share (sourced, POSIX sh).

# fuzz_cpu FILE: this shell's finished children's user+system CPU seconds so
# far (the second line of `times`, "XmY.YYYs XmY.YYYs"), written to FILE.
# POSIX sh has no per-child accounting, and `times` must run in this shell:
# in $(...), a subshell, it would report the subshell's own children, none.
fuzz_cpu() {
    times >"$1"
    awk 'NR == 2 { s = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); s += a[1] * 60 + a[2] } printf "%d", s }' "$1" >"$1.n"
    mv "$1.n" "$1"
}

# fuzz_exec EXE SECONDS TIMEOUT ARTIFACT_PREFIX LOG DIR...: one libFuzzer
# run on the corpus directories DIR (new inputs go to the first), its
# output to LOG.  -rss_limit_mb and -timeout turn a memory blow-up or a
# hang into a failure with its input saved, not a stuck job.
fuzz_exec() {
    exe=$1 secs=$2 tmo=$3 prefix=$4 log=$5
    shift 5
    "$exe" -max_total_time="$secs" -timeout="$tmo" -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$prefix" "$@" >"$log" 2>&1
}

# fuzz_stats LOG: sets execs, cov and ft from a libFuzzer log.
fuzz_stats() {
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$1")
    cov=$(grep -o 'cov: [0-9]*' "$1" | tail -1 | cut -d' ' -f2)
    ft=$(grep -o 'ft: [0-9]*' "$1" | tail -1 | cut -d' ' -f2)
}
