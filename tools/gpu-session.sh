#!/usr/bin/env bash
# One lent-GPU session's runs (docs/how-to/gpu.md), as one command on the device machine:
#   bash tools/gpu-session.sh "$OUT" DEADLINE_S        (carry: data .whl; see gpu.md)
# Each `bench run` is stopped by SIGINT at its cap or at the deadline, so it records itself
# as interrupted; the records, the log and `bench speed`'s JSON come back through OUTDIR.
# Here, for a dry test: bash tools/gpu-session.sh /tmp/out 300 --device cpu --set steps=4
set -u
O=$1; DEADLINE=$2; shift 2; EXTRA="$*"
T0=$(date +%s)
left() { echo $(( DEADLINE - ($(date +%s) - T0) )); }
log() { echo "[$(( $(date +%s) - T0 ))s] $*" | tee -a "$O/log.txt"; }
if [ -d .whl ] && ! python3 -c 'import pydantic' 2>/dev/null; then  # the device image lacks pydantic
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site
fi
# the package as pyproject's package-dir lays it out (methods/ is bench.methods), without a
# build; python3 -P keeps the checkout's bench/ (which has no methods/) off sys.path
rm -rf /tmp/pkg && mkdir -p /tmp/pkg && cp -r bench /tmp/pkg/ && cp -r methods /tmp/pkg/bench/methods
export PYTHONPATH=/tmp/pkg${PYTHONPATH:+:$PYTHONPATH} BENCH_DATA=$PWD/data PYTHONUNBUFFERED=1
export BENCH_GIT_COMMIT=${BENCH_GIT_COMMIT:-$(cat data/commit 2>/dev/null || echo unknown)}  # no .git there
printf '#!/bin/sh\nexec python3 -P -c "import sys; from bench.cli import main; sys.exit(main(sys.argv[1:]))" "$@"\n' >/tmp/bench
chmod +x /tmp/bench
touch /tmp/gpu-marker; sleep 1
pack() {
  mkdir -p /tmp/speed; cp -r /tmp/speed "$O/" 2>/dev/null
  find results -newer /tmp/gpu-marker -type f | tar czf "$O/results.tgz" -T -
  log "packed: $(tar tzf "$O/results.tgz" | wc -l) files"
}
run() {  # run CAP_S bench-args...
  local cap=$1; shift; local l; l=$(left); [ "$cap" -gt "$l" ] && cap=$l
  if [ "$cap" -lt 20 ]; then log "skipped (no time): bench $*"; return; fi
  log "start (cap ${cap}s): bench $*"
  timeout -s INT -k 30 "$cap" /tmp/bench "$@" >>"$O/log.txt" 2>&1; log "exit $?"
  pack
}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >>"$O/log.txt" 2>&1
python3 -P -c 'import bench, torch; print(bench.__file__, torch.__version__, torch.cuda.is_available())' >>"$O/log.txt" 2>&1
R="--results-dir results --reference --workdir /tmp/runs --no-progress"

# The list, top to bottom, as far as one session's device time goes (gpu.md, "Next GPU
# session"). A run must finish inside the session: its checkpoints (150 MB) cannot come back.
run 300 run $R --methods unrolled_infogan --seeds 5 --preset paper --set k=0 --resume $EXTRA
# item 2's look-ahead at K >= 5 cannot finish a seed in a session; item 4, seed by seed (~3.5 min each)
run 600 run $R --methods latentgan_ae --seeds 5 --preset paper --resume $EXTRA
log "done"
