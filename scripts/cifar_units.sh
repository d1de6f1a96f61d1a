#!/usr/bin/env bash
# Figure 1 at paper scale (CIFAR-10, 50,000 images at 32x32) on this CPU, in the background.
#
#   scripts/cifar_units.sh start    # train the missing spans: PROCS processes x THREADS threads
#   scripts/cifar_units.sh status   # the plan (done, left, hours), the workers, what to commit
#   scripts/cifar_units.sh stop     # end the workers this script started (a span in flight is lost)
#
# PROCS and THREADS: what scripts/bench_cifar_step.py recommends (default 2 x 1: 1.1-1.3x the
# images/s of 1 x 2 here); keep them across sittings, so every span of a run has the same threads;
# BUDGET: seconds per worker (default 6 h). Each finished span is already stored atomically in
# results/krizhevsky/; commit them at any time; a new `start` computes only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}  # `make test` or `make book` creates it
PROCS=${PROCS:-2} THREADS=${THREADS:-1} BUDGET=${BUDGET:-21600}
LOGS=${LOGS:-logs/cifar}
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$LOGS"

case "${1:-status}" in
start)
    for k in $(seq 1 "$PROCS"); do
        if [ -f "$LOGS/worker-$k.pid" ] && kill -0 "$(cat "$LOGS/worker-$k.pid")" 2>/dev/null; then
            echo "worker $k is running already (pid $(cat "$LOGS/worker-$k.pid"))"; continue
        fi
        OMP_NUM_THREADS=$THREADS nohup nice -n 10 "$PY" -m relu_tanh paper --only krizhevsky \
            --device cpu --threads "$THREADS" --budget "$BUDGET" >>"$LOGS/worker-$k.log" 2>&1 &
        echo $! >"$LOGS/worker-$k.pid"
        echo "worker $k: pid $!, log $LOGS/worker-$k.log"
    done
    echo "monitor: scripts/cifar_units.sh status; tail -f $LOGS/worker-*.log" ;;
status)
    "$PY" -m relu_tanh paper --plan --only krizhevsky --processes "$PROCS"
    echo
    for f in "$LOGS"/worker-*.pid; do
        [ -f "$f" ] || continue
        pid=$(cat "$f")
        if kill -0 "$pid" 2>/dev/null; then echo "$(basename "$f" .pid): running (pid $pid)"
        else echo "$(basename "$f" .pid): not running"; fi
        tail -n 1 "${f%.pid}.log" 2>/dev/null | sed 's/^/    /'
    done
    echo
    echo "to commit (finished spans, checkpoints of unfinished runs, the assembled record):"
    git status --short results/krizhevsky | sed 's/^/    /'
    echo "    git add results/krizhevsky && git commit -m 'Figure 1 paper scale: spans done so far'" ;;
stop)
    for f in "$LOGS"/worker-*.pid; do
        [ -f "$f" ] || continue
        pid=$(cat "$f")
        kill -0 "$pid" 2>/dev/null && kill "$pid" && echo "stopped $(basename "$f" .pid) (pid $pid)"
        rm -f "$f"
    done ;;
*)
    echo "usage: $0 start|status|stop" >&2; exit 2 ;;
esac
