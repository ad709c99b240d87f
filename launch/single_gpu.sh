#!/usr/bin/env bash
# The single-GPU fallback: one pixelrec process training on one GPU, e.g.
#   launch/single_gpu.sh -c configs/simple.yaml --run-name r1
# CUDA_VISIBLE_DEVICES picks the GPU (default: the first). Every build has the CUDA path
# (docs/distributed.md, "GPU").
set -euo pipefail
PIXELREC=${PIXELREC:-$(dirname "$0")/../build/src/pixelrec}
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "$0: no NVIDIA GPU visible (nvidia-smi -L failed); train on the CPU with launch/local.sh" >&2
  exit 1
fi
export CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES:-0}
exec "$PIXELREC" train --device cuda "$@"
