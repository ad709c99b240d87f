#!/usr/bin/env bash
# Submits a distributed study: the coordinator job, then the worker-group array, which starts once
# the coordinator runs.
# Usage: CONFIG=configs/my_study.yaml slurm/hpo_submit.sh [array range [sbatch options...]]
# The array range (sbatch --array, e.g. 0-7 for eight groups; default 0-3) sets the number of worker
# groups; further options go to both sbatch calls (--partition=..., --cpus-per-task=1, ...).
# Run it from the folder the jobs should work in (the repository root for the default CONFIG and
# PIXELREC paths): logs/ is made there and both jobs start there.
set -euo pipefail
scripts=$(cd "$(dirname "$0")" && pwd)
mkdir -p logs
array=${1:-}
shift $(($# > 0 ? 1 : 0))
coordinator=$(sbatch --parsable "$@" "$scripts/hpo_coordinator.sbatch")
workers=$(sbatch --parsable --dependency="after:$coordinator" ${array:+--array="$array"} "$@" \
  "$scripts/hpo_workers.sbatch")
echo "coordinator job $coordinator, worker array $workers"
echo "outputs: <results_dir>/hpo/<study_name>/ (best_params.json, best_config.yaml, trials.csv,"
echo "history.html); pixelrec report on that folder renders the search history"
