#!/bin/sh
# The entrypoint of each pod of the Indexed Job (installed as /usr/local/bin/dmsload-part).
# Pod JOB_COMPLETION_INDEX = i of DMSLOAD_PARTS = N runs segment i/N:(i+1)/N of the even
# sequence 0,1/N,...,1: it announces itself on the shared volume, waits for every pod and the
# agreed start (dmsload rendezvous), runs its part with --start-at, and writes
# $DMSLOAD_RESULTS/$DMSLOAD_RUN_NAME/part-<i>.summary.json. Arguments are passed to `run`.
# Exit: 0 when the part ran (its own thresholds are not the verdict: the merge judges them on
# the whole), else run's status; a part that wrote no summary leaves part-<i>.failed.
set -eu

fail() {
    echo "dmsload-part: $1" >&2
    exit "${2:-2}"
}

index=${JOB_COMPLETION_INDEX:-}
parts=${DMSLOAD_PARTS:-}
run_name=${DMSLOAD_RUN_NAME:-}
profile=${DMSLOAD_PROFILE:-/etc/dmsload/profile.toml}
case $index in '' | *[!0-9]*) fail "JOB_COMPLETION_INDEX: expected 0 to N-1 (got '$index')" ;; esac
case $parts in '' | *[!0-9]* | 0) fail "DMSLOAD_PARTS: expected a count of pods >= 1 (got '$parts')" ;; esac
[ "$index" -lt "$parts" ] || fail "JOB_COMPLETION_INDEX: $index is not below DMSLOAD_PARTS ($parts)"
case $run_name in '' | */* | .*) fail "DMSLOAD_RUN_NAME: expected a new name for each run (got '$run_name')" ;; esac

dir=${DMSLOAD_RESULTS:-/results}/$run_name
# One run id for every part (8 hex digits), from the run's name unless DMSLOAD_RUN_ID is set:
# generated identities hold it and the part's index, so parts never collide.
run_id=${DMSLOAD_RUN_ID:-$(printf '%s' "$run_name" | sha256sum | cut -c1-8)}
part=$dir/part-$index.summary.json
segment="$index/$parts:$((index + 1))/$parts"
sequence=0
k=1
while [ "$k" -lt "$parts" ]; do
    sequence="$sequence,$k/$parts"
    k=$((k + 1))
done
sequence="$sequence,1"

mkdir -p "$dir"
if [ -e "$part" ] || [ -e "$dir/part-$index.failed" ]; then
    fail "$dir already holds part $index of an earlier run: set a new DMSLOAD_RUN_NAME"
fi

set +e
start=$(dmsload rendezvous "$dir/rendezvous" --parties "$parts" --index "$index" \
    --timeout "${DMSLOAD_RENDEZVOUS_TIMEOUT:-10m}" --lead "${DMSLOAD_START_LEAD:-10s}")
status=$?
set -e
if [ "$status" -ne 0 ]; then
    echo "$status" >"$dir/part-$index.failed"
    exit "$status"
fi
echo "dmsload-part: part $index of $parts, segment $segment, starts at $start" >&2

set +e
dmsload run "$profile" \
    --execution-segment "$segment" \
    --execution-segment-sequence "$sequence" \
    --start-at "$start" \
    --summary-json "$part" \
    --run-id "$run_id" \
    --no-color "$@"
status=$?
set -e
if [ ! -e "$part" ]; then
    echo "$status" >"$dir/part-$index.failed"
fi
case $status in
    0 | 99) exit 0 ;;
    *) exit "$status" ;;
esac
