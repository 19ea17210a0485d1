#!/bin/sh
# Continuous training end to end, the way the replaced system ran it: a watched folder of new
# CSV files → each one trains a version warm-started from `production` → the version takes
# `production` only if it is better on the same held-out rows (and under promote.max) → the
# running server answers with it, without a restart.
#
#   examples/continuous-diamonds/run.sh
#
# Environment: TRAINYARD (the binary, default `trainyard` on PATH), PORT (default 8080),
# WORK (a scratch folder, default a new temporary one; removed at the end unless KEEP=1).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
trainyard=${TRAINYARD:-trainyard}
port=${PORT:-8080}
work=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/trainyard-continuous-diamonds.XXXXXX")}
export TRAINYARD_URL="http://127.0.0.1:$port"
model=diamonds-price-ct

mkdir -p "$work/incoming"
up_pid=
cleanup() {
    if [ -n "$up_pid" ]; then kill "$up_pid" 2>/dev/null || true; wait "$up_pid" 2>/dev/null || true; fi
    if [ "${KEEP:-0}" != 1 ]; then rm -rf "$work"; else echo "kept $work"; fi
}
trap cleanup EXIT INT TERM

echo "== trainyard up (server + workers + triggers) on $work/data, port $port"
"$trainyard" up --data-dir "$work/data" --port "$port" >"$work/up.log" 2>&1 &
up_pid=$!
tries=0
until curl -sf "$TRAINYARD_URL/healthz" >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -gt 120 ] || ! kill -0 "$up_pid" 2>/dev/null; then
        echo "the server did not start; its log:" >&2; cat "$work/up.log" >&2; exit 1
    fi
    sleep 0.5
done

echo "== a watch: every new *.csv in incoming/ submits trigger-spec.yaml with \${trigger.file} = that file"
"$trainyard" watch add diamonds-ct --path "$work/incoming" --glob '*.csv' --settle 1s --train "$here/trigger-spec.yaml"

# Waits until the model has `$1` versions (a job per batch), or stops after 5 minutes.
wait_for_versions() {
    tries=0
    while :; do
        count=$("$trainyard" models ls --json 2>/dev/null | tr -d ' \n' | sed -n 's/.*"version_count":\([0-9]*\).*/\1/p')
        [ "${count:-0}" -ge "$1" ] && return 0
        tries=$((tries + 1))
        if [ "$tries" -gt 600 ]; then
            echo "no version $1 after 5 minutes; jobs:" >&2; "$trainyard" jobs ls >&2; exit 1
        fi
        sleep 0.5
    done
}

# One diamond, priced by whatever `production` points at now, through the running server.
predict() {
    curl -sf "$TRAINYARD_URL/api/v1/models/$model/predict" -H 'content-type: application/json' -d '{"inputs": [
        {"carat": 0.7, "cut": "Ideal", "color": "G", "clarity": "VS2", "depth": 61.5, "table": 56, "x": 5.7, "y": 5.73, "z": 3.52}]}'
    echo
}

n=0
for batch in batch-1.csv batch-2.csv batch-3-shuffled-prices.csv; do
    n=$((n + 1))
    echo
    echo "== new data: $batch arrives in incoming/"
    cp "$here/batches/$batch" "$work/incoming/.$batch.part"
    mv "$work/incoming/.$batch.part" "$work/incoming/$batch"   # appears whole
    wait_for_versions "$n"
    "$trainyard" models show "$model"
    sleep 2   # the server follows an alias move within 2 s
    printf 'prediction from %s@production: ' "$model"
    predict
done

echo
echo "== the log of the last job: the production version scored on the new rows, then the decision"
last_job=$("$trainyard" jobs ls --model "$model" --limit 1 --json | tr -d ' \n' | grep -o '"id":[0-9]*' | head -1 | cut -d: -f2)
"$trainyard" jobs logs "$last_job"
echo "(the same decisions: trainyard models show $model --json, GET /api/v1/models/$model/versions)"
