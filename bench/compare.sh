#!/bin/bash
# Side-by-side timings of the Go code and PyTorch on this machine's CPU, printed as markdown tables.
#
#   bench/compare.sh kernels   go test -bench in ./bench vs bench/torch_kernels.py (same names and shapes)
#   bench/compare.sh models    gsam bench --random-weights --json vs the cpuref reference (bench/cpuref.sh)
#   bench/compare.sh all       both
#
# Both sides use THREADS threads (default 2): GOMAXPROCS and -cpu for Go; torch.set_num_threads,
# OMP_NUM_THREADS and OPENBLAS_NUM_THREADS for PyTorch, which runs in cpuref's "tuned" configuration
# (jemalloc LD_PRELOAD, OpenBLAS-OpenMP LD_LIBRARY_PATH). Run it on an otherwise idle machine.
#
# Knobs (environment):
#   BENCH=regex       which Go benchmarks (default .); TORCH_ONLY=regex for torch_kernels.py --only
#   BENCHTIME=3x COUNT=3   go test -benchtime / -count (the table shows the median over COUNT)
#   RUNS=5            torch_kernels.py timed runs (median)
#   OUT=/tmp/gsam-bench   where the raw outputs go
#   GO_LOG, TORCH_LOG, GSAM_JSON, CPUREF_LOG: existing raw outputs to use instead of running that side
#   GSAM_BENCH_ARGS   extra arguments for gsam bench (e.g. its run count)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
MODE=${1:-kernels}
THREADS=${THREADS:-2}
OUT=${OUT:-/tmp/gsam-bench}
mkdir -p "$OUT"
export THREADS OUT

tuned_env() {
  env OMP_NUM_THREADS="$THREADS" OPENBLAS_NUM_THREADS="$THREADS" \
    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1 \
    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp "$@"
}

machine() {
  local kernel
  kernel=$(cd "$ROOT" && go test -run TestKernelInfo -v -count 1 ./bench/ 2>/dev/null | grep -o 'SGEMM kernel: .*' | head -1)
  echo "Machine: $(lscpu | sed -n 's/^Model name:\s*//p' | head -1), $(nproc) CPUs," \
    "$(grep -q -w avx512f /proc/cpuinfo && echo AVX-512 || echo 'AVX2/FMA, no AVX-512'), $(date -u '+%F %H:%M UTC')," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg). Threads: $THREADS. Go ${kernel:-SGEMM kernel: ?}." \
    "$(/usr/bin/python3 -c 'import torch; print("PyTorch", torch.__version__)' 2>/dev/null)"
  echo
}

kernels() {
  local go_log=${GO_LOG:-} torch_log=${TORCH_LOG:-}
  if [ -z "$go_log" ]; then
    go_log=$OUT/go_kernels.txt
    echo "== go test -bench '${BENCH:-.}' -benchtime ${BENCHTIME:-3x} -count ${COUNT:-3} -cpu $THREADS ./bench/ > $go_log" >&2
    (cd "$ROOT" && GOMAXPROCS=$THREADS go test -run '^$' -bench "${BENCH:-.}" -benchtime "${BENCHTIME:-3x}" \
      -count "${COUNT:-3}" -cpu "$THREADS" -timeout 60m ./bench/) >"$go_log"
  fi
  if [ -z "$torch_log" ]; then
    torch_log=$OUT/torch_kernels.jsonl
    echo "== torch_kernels.py --runs ${RUNS:-5} (tuned) > $torch_log" >&2
    tuned_env /usr/bin/python3 "$HERE/torch_kernels.py" --json --runs "${RUNS:-5}" --threads "$THREADS" \
      --only "${TORCH_ONLY:-}" >"$torch_log"
  fi
  machine
  /usr/bin/python3 "$HERE/compare.py" kernels --go "$go_log" --torch "$torch_log"
}

models() {
  local gsam_json=${GSAM_JSON:-} cpuref_log=${CPUREF_LOG:-}
  if [ -z "$gsam_json" ]; then
    gsam_json=$OUT/gsam_bench.json
    echo "== gsam bench --random-weights --json ${GSAM_BENCH_ARGS:-} > $gsam_json" >&2
    (cd "$ROOT" && go build -o "$OUT/gsam" ./cmd/gsam)
    if ! GOMAXPROCS=$THREADS "$OUT/gsam" bench --random-weights --json ${GSAM_BENCH_ARGS:-} >"$gsam_json"; then
      echo "compare.sh: gsam bench failed (see $gsam_json); the Go column stays empty" >&2
      gsam_json=""
    fi
  fi
  if [ -z "$cpuref_log" ]; then
    cpuref_log=$OUT/cpuref.txt
    echo "== bench/cpuref.sh > $cpuref_log" >&2
    if ! "$HERE/cpuref.sh" >"$cpuref_log"; then
      echo "compare.sh: cpuref.sh failed (see $cpuref_log and $OUT/cpuref/)" >&2
    fi
  fi
  machine
  /usr/bin/python3 "$HERE/compare.py" models --gsam "$gsam_json" --cpuref "$cpuref_log"
}

case $MODE in
  kernels) kernels ;;
  models) models ;;
  all) kernels; echo; models ;;
  *) echo "usage: $0 [kernels|models|all]" >&2; exit 2 ;;
esac
