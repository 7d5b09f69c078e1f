#!/bin/bash
# Whole-model PyTorch CPU reference (Hugging Face transformers v4.40.2 model code, random full-size weights):
# Grounding DINO tiny at 800x1333 with a 9-token caption, and SAM ViT-B at 1024x1024, each in the "tuned"
# configuration of /work/shared/tools/cpuref (jemalloc, OpenBLAS on torch's OpenMP pool, 2 threads),
# median of RUNS (default 3) timed runs after one warm-up. Prints bench_ref.py's median lines, the peak RSS,
# and leaves the logs in $OUT (default /tmp/gsam-bench/cpuref). compare.sh models joins its output with
# `gsam bench --random-weights --json`.
#
# Usage: bench/cpuref.sh [gdino|sam ...]         (default: gdino sam; ~1 min for SAM, ~1 min for GDINO)
#
# Set-up, once per machine (nothing of it is committed here):
#   1. apt-get install -y python3-torch python3-torchvision python3-numpy python3-packaging python3-regex \
#        python3-requests python3-filelock python3-tqdm python3-pil python3-fsspec time \
#        libopenblas0-pthread libopenblas0-openmp libjemalloc2
#   2. transformers v4.40.2 (commit 4fdf58afb72b0754da30037fc800b6044e7d9c99) into $REF_DIR/transformers and
#      huggingface_hub v0.23.0 (commit 5737175baae77138b09d16f5bcfeff3558c00549) into $REF_DIR/hf_hub,
#      from any git copy of the public repositories (the fork tianhua2/my_huggingface carries the same
#      v4.40.2 tag and is much smaller than huggingface/transformers):
#        mkdir -p $REF_DIR/transformers $REF_DIR/hf_hub
#        git --git-dir=<transformers git dir> archive v4.40.2 | tar -x -C $REF_DIR/transformers
#        git --git-dir=<huggingface_hub git dir> archive v0.23.0 | tar -x -C $REF_DIR/hf_hub
#      With TRANSFORMERS_GIT and HF_HUB_GIT set to those git dirs this script does step 2 itself.
#   3. /work/shared/tools/cpuref/stubs supplies huggingface_hub's dist-info and a pure-Python safetensors.
set -euo pipefail
CPUREF=${CPUREF:-/work/shared/tools/cpuref}
REF_DIR=${REF_DIR:-/tmp/cpuref}
OUT=${OUT:-/tmp/gsam-bench}/cpuref
RUNS=${RUNS:-3}
THREADS=${THREADS:-2}
MODELS=("$@")
[ ${#MODELS[@]} -eq 0 ] && MODELS=(gdino sam)

if ! /usr/bin/python3 -c "import torch, numpy" 2>/dev/null; then
  echo "cpuref.sh: Debian's python3-torch/python3-numpy are missing: run set-up step 1 (see the header)" >&2
  exit 2
fi
for pair in "transformers:${TRANSFORMERS_GIT:-}:v4.40.2" "hf_hub:${HF_HUB_GIT:-}:v0.23.0"; do
  IFS=: read -r dir gitdir tag <<<"$pair"
  src=$REF_DIR/$dir/src
  if [ ! -d "$src" ]; then
    if [ -n "$gitdir" ]; then
      mkdir -p "$REF_DIR/$dir"
      git --git-dir="$gitdir" archive "$tag" | tar -x -C "$REF_DIR/$dir"
    else
      echo "cpuref.sh: $src missing: run set-up step 2 (see the header), or set ${dir^^}_GIT" >&2
      exit 2
    fi
  fi
done

mkdir -p "$OUT"
export PYTHONPATH=$REF_DIR/transformers/src:$REF_DIR/hf_hub/src:$CPUREF/stubs
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
export HF_HOME=$REF_DIR/hf_home
# tuned: jemalloc keeping freed pages, OpenBLAS sharing torch's OpenMP pool
export LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1
export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp
cd "$REF_DIR"
rc=0
for m in "${MODELS[@]}"; do
  log=$OUT/$m.log
  if /usr/bin/time -v /usr/bin/python3 "$CPUREF/bench_ref.py" --which "$m" --runs "$RUNS" --threads "$THREADS" >"$log" 2>&1; then
    :
  else
    echo "cpuref.sh: $m failed, see $log" >&2
    rc=1
  fi
  grep -E "^# torch" "$log" | head -1 || true
  grep -E "median=" "$log" || true
  grep -E "Maximum resident set size" "$log" | sed "s/^\s*/# $m: /" || true
done
exit $rc
