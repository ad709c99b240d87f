#!/usr/bin/env bash
# N ranks of one pixelrec step on this machine, e.g.:
#   launch/local.sh 2 train -c configs/simple.yaml --run-name r1
# One thread per rank unless training.num_workers says otherwise (cores are shared).
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: $0 N SUBCOMMAND [ARGS...]" >&2
  exit 2
fi
N=$1
shift
PIXELREC=${PIXELREC:-$(dirname "$0")/../build/src/pixelrec}
ROOT_FLAGS=()
[[ $(id -u) -eq 0 ]] && ROOT_FLAGS=(--allow-run-as-root)
exec mpirun "${ROOT_FLAGS[@]}" --oversubscribe -np "$N" "$PIXELREC" "$@"
