#!/usr/bin/env bash
# Submits a distributed study: the coordinator job, then the worker-group array, which starts once
# the coordinator runs. Usage: CONFIG=configs/my_study.yaml slurm/hpo_submit.sh [array range]
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p logs
coordinator=$(sbatch --parsable slurm/hpo_coordinator.sbatch)
workers=$(sbatch --parsable --dependency="after:$coordinator" ${1:+--array="$1"} \
  slurm/hpo_workers.sbatch)
echo "coordinator job $coordinator, worker array $workers"
echo "outputs: <results_dir>/hpo/<study_name>/ (best_params.json, best_config.yaml, trials.csv,"
echo "history.html); pixelrec report on that folder renders the search history"
