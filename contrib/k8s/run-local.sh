#!/bin/sh
# The commands the pods of shards-job.yaml and merge-job.yaml run, with
# SHARDS shard processes on this host against the built-in simulator: what
# CI can test of the Kubernetes example (docs/scale.md).
#
#   contrib/k8s/run-local.sh [LLMLOAD] [SHARDS]
set -eu
LLMLOAD=${1:-build/src/llmload}
SHARDS=${2:-4}
DIR=$(mktemp -d)
trap 'kill "$MOCK" 2>/dev/null; rm -rf "$DIR"' EXIT
"$LLMLOAD" mock --listen 127.0.0.1:0 --profile fast --slots 256 >"$DIR/url" &
MOCK=$!
while [ ! -s "$DIR/url" ]; do sleep 0.1; done
URL=$(head -1 "$DIR/url")/v1
MODEL=llmload-mock
START_AT=$(date -u -d '+3 sec' +%Y-%m-%dT%H:%M:%SZ)
i=0; PIDS=""
while [ "$i" -lt "$SHARDS" ]; do
    JOB_COMPLETION_INDEX=$i
    "$LLMLOAD" run --url "$URL" --model "$MODEL" \
        --shard "$JOB_COMPLETION_INDEX/$SHARDS" --seed 42 --start-at "$START_AT" \
        -c 32 -n 400 --monitor none --quiet \
        --json "$DIR/shard-$JOB_COMPLETION_INDEX.json" >/dev/null &
    PIDS="$PIDS $!"
    i=$((i + 1))
done
failed=0
for p in $PIDS; do
    wait "$p" || failed=1
done
[ "$failed" = 0 ] || { echo "run-local: a shard failed" >&2; exit 1; }
i=0; SHARDFILES=""
while [ "$i" -lt "$SHARDS" ]; do SHARDFILES="$SHARDFILES $DIR/shard-$i.json"; i=$((i + 1)); done
# shellcheck disable=SC2086
"$LLMLOAD" merge $SHARDFILES -o "$DIR/run.json" \
    --assert 'p99(ttft) < 2s' --assert 'error_rate < 0.01' --junit "$DIR/junit.xml"
