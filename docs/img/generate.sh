#!/bin/sh
# Regenerates the pictures in docs/img with llmload's own commands, from runs
# against the built-in simulator:  docs/img/generate.sh [BUILD_DIR]
set -eu
L=$(cd "${1:-build}" && pwd)/src/llmload
out=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fast="--mock-arg=--profile=fast --max-tokens 32"

# A closed-loop run with 3% of the requests failing, and an open-loop run
# whose rate is more than 4 slots can serve, so that a queue builds.
$L run -q -n 400 -c 8 $fast --mock-arg=--slots=4 --mock-arg=--fault-500=0.03 --mock-arg=--seed=1 \
    --json run.json --raw run.raw.jsonl >/dev/null
$L run -q -n 300 --rate 150 --arrival constant -c 64 $fast --mock-arg=--slots=4 \
    --json open-loop.json --raw open-loop.raw.jsonl >/dev/null
# Sweeps of two servers (4 and 2 slots), compared; a prompt-length sweep, a
# temperature sweep, and a run repeated five times.
$L sweep -q --concurrency 1,2,4,8,16 -n 48 $fast --mock-arg=--slots=4 --slo 'p95(ttft)<=20ms' \
    --json 4-slots.json >/dev/null
$L sweep -q --concurrency 1,2,4,8,16 -n 48 $fast --mock-arg=--slots=2 --json 2-slots.json >/dev/null
$L compare 4-slots.json 2-slots.json --json compare.json >/dev/null
$L sweep -q --prompt-set tiny,short,medium,long -n 16 -c 4 $fast --json prompts.json >/dev/null
$L sweep -q --temperature 0,0.5,1.0 -n 16 -c 4 $fast --json temperature.json >/dev/null
$L run -q -n 60 -c 4 $fast --repeat 5 --save-baseline repeat.json >/dev/null

# The overviews, then one picture of every figure.
$L report run.json -o "$out/run.png"
$L report 4-slots.json -o "$out/sweep.png"
$L report compare.json -o "$out/compare.png"
$L report repeat.json -o "$out/repeat.png"
$L report run.json -o "$out/run.txt"
$L report compare.json -o "$out/compare.txt"
rm -rf "$out/fig"
mkdir "$out/fig"
$L report run.json -o run/
$L report open-loop.json -o open/
$L report compare.json -o compare/
$L report prompts.json -o prompts/
$L report temperature.json -o temperature/
$L report repeat.json -o repeat/
cp run/*.png "$out/fig/"
cp run/ttft_cdf.svg "$out/ttft_cdf.svg"
for f in offered_vs_achieved queue_over_time queue_time_cdf queue_time_hist; do
    cp "open/$f.png" "$out/fig/"
done
for f in compare/*.png; do cp "$f" "$out/fig/sweep_$(basename "$f")"; done
cp prompts/prompt_length_impact.png temperature/temperature_tokens.png \
   temperature/temperature_speed.png repeat/*.png "$out/fig/"
