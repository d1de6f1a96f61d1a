#!/usr/bin/env bash
# The paper-scale run as one command on a lent GPU machine (the `device` tool), from the
# repository root there. Prepare here first with `make paper-carry` (CIFAR-10 archive and the
# wheels the machine lacks, into the ignored .carry/), rehearse with `make paper-rehearsal`, then:
#   run(command="bash scripts/device_paper.sh", carry=[".carry"], timeout_s=600)
# and unpack what comes back: tar xzf <files_at>/results.tgz -C results/
# The machine's own torch is used (its CUDA build; the version is recorded in every seed).
set -euo pipefail
BUDGET=${BUDGET:-420}   # seconds of runs; the install and decode come on top
DEVICE=${DEVICE:-cuda} SCALE=${SCALE:-paper}   # rehearsal here: DEVICE=cpu SCALE=smoke
OUT=${OUT:-$PWD/paper-out}
mkdir -p "$OUT/results"
${PYTHON:-python3} -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .carry/wheels/*.whl
export PYTHONPATH="$PWD/src:/tmp/site" RELU_TANH_DATA="$PWD/.carry/data" PYTHONUNBUFFERED=1
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || echo "no GPU"; } \
    | tee "$OUT/gpu.txt"
status=0
timeout $((BUDGET + 120)) ${PYTHON:-python3} -m relu_tanh paper --budget "$BUDGET" --untimed-first --out "$OUT/results" \
    --device "$DEVICE" --scale "$SCALE" 2>&1 | tee "$OUT/paper.log" || status=$?
tar czf "$OUT/results.tgz" --exclude='.*.lock' --exclude='.*.claims' --exclude='.*.tmp-*' -C "$OUT/results" .   # one file back, whatever finished
exit $status
