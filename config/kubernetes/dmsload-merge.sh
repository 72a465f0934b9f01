#!/bin/sh
# The entrypoint of the merge Job (installed as /usr/local/bin/dmsload-merge). Waits until each
# of the DMSLOAD_PARTS parts has written part-<i>.summary.json (or part-<i>.failed) in
# $DMSLOAD_RESULTS/$DMSLOAD_RUN_NAME, at most DMSLOAD_MERGE_TIMEOUT_S seconds, then merges what
# is there and exits with `dmsload merge`'s status: 0 passed, 99 a threshold failed, 1 a part
# is missing or failed, 2 the parts are not of one run. Writes merged.summary.json,
# k6-summary.json and junit.xml beside the parts.
set -eu

fail() {
    echo "dmsload-merge: $1" >&2
    exit "${2:-2}"
}

parts=${DMSLOAD_PARTS:-}
run_name=${DMSLOAD_RUN_NAME:-}
timeout=${DMSLOAD_MERGE_TIMEOUT_S:-7200}
poll=${DMSLOAD_MERGE_POLL_S:-5}
case $parts in '' | *[!0-9]* | 0) fail "DMSLOAD_PARTS: expected a count of pods >= 1 (got '$parts')" ;; esac
case $run_name in '' | */* | .*) fail "DMSLOAD_RUN_NAME: expected a new name for each run (got '$run_name')" ;; esac
case $timeout in '' | *[!0-9]*) fail "DMSLOAD_MERGE_TIMEOUT_S: expected whole seconds (got '$timeout')" ;; esac
case $poll in '' | *[!0-9]* | 0) fail "DMSLOAD_MERGE_POLL_S: expected whole seconds >= 1 (got '$poll')" ;; esac

dir=${DMSLOAD_RESULTS:-/results}/$run_name
mkdir -p "$dir"
if [ -e "$dir/merged.summary.json" ]; then
    fail "$dir already holds a merged run: set a new DMSLOAD_RUN_NAME"
fi

waited=0
while :; do
    arrived=0
    i=0
    while [ "$i" -lt "$parts" ]; do
        if [ -e "$dir/part-$i.summary.json" ] || [ -e "$dir/part-$i.failed" ]; then
            arrived=$((arrived + 1))
        fi
        i=$((i + 1))
    done
    [ "$arrived" -eq "$parts" ] && break
    if [ "$waited" -ge "$timeout" ]; then
        echo "dmsload-merge: $arrived of $parts parts after ${timeout} s: merging what is there" >&2
        break
    fi
    sleep "$poll"
    waited=$((waited + poll))
done

set -- "$dir"/part-*.summary.json
[ -e "$1" ] || fail "no part in $dir: every pod failed before writing one" 1
exec dmsload merge "$@" \
    --summary-json "$dir/merged.summary.json" \
    --summary-export "$dir/k6-summary.json" \
    --junit "$dir/junit.xml" \
    --no-color
