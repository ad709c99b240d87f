#!/usr/bin/env bash
# Weak scaling of the whole `pixelrec train` command (start-up, data loading, every epoch with its
# validation and checkpoint, exit), not only of the step: the `small` preset, 1 thread per rank,
# 1 rank at batch 512 against 2 ranks at global batch 1024 (the same 512 positives per rank per
# step), the same epochs, so the same samples: efficiency = samples/s at 2 ranks over 2 x
# samples/s at 1 rank = t1 / (2 x t2).
# Usage: bash bench/whole_command_scaling.sh [BUILD_DIR] [EPOCHS] [REPEATS]
set -euo pipefail
BUILD="${1:-build}" EPOCHS="${2:-5}" REPEATS="${3:-3}"
cd "$(dirname "$0")/.."
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
B="$BUILD/src/pixelrec"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
sed "s|@OUT@|$WORK|g" > "$WORK/config.yaml" <<'YAML'
data:
  item_info_path: @OUT@/raw/item_info.csv
  interactions_path: @OUT@/raw/interactions.csv
  image_folder: @OUT@/raw/images
  processed_item_info_path: @OUT@/processed/item_info.csv
  processed_interactions_path: @OUT@/processed/interactions.csv
  processed_image_destination_folder: @OUT@/processed/images
  scaler_path: @OUT@/processed/numerical_scaler.json
  split_data_path: @OUT@/splits/leave_one_out
  cache_config: {cache_directory: @OUT@/cache}
  splitting: {strategy: leave_one_out, min_interactions_per_user: 5, min_interactions_per_item: 3}
checkpoint_dir: @OUT@/checkpoints
results_dir: @OUT@/results
model: {embedding_dim: 64, fusion_hidden_dims: [256, 128]}
training: {learning_rate: 0.005, patience: 100, early_stopping_metric: val_ndcg@10, num_workers: 1}
evaluation: {k_values: [5, 10, 20], num_negatives: 100}
YAML
C="$WORK/config.yaml"
"$B" synth --preset small --out "$WORK/raw" >/dev/null 2>&1
"$B" preprocess -c "$C" >/dev/null 2>&1
"$B" split -c "$C" >/dev/null 2>&1
"$B" cache -c "$C" >/dev/null 2>&1
seconds() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>&1; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000000 )); }
common=(--overwrite --no-progress --set training.epochs="$EPOCHS")
echo "load $(cut -d' ' -f1 /proc/loadavg); small preset, $EPOCHS epochs, 1 thread per rank"
for rep in $(seq "$REPEATS"); do
  one=$(seconds "$B" train -c "$C" "${common[@]}" --set training.batch_size=512 --run-name one)
  mpi=$(seconds mpirun --oversubscribe -np 2 "$B" train -c "$C" "${common[@]}" \
    --set training.batch_size=1024 --run-name mpi)
  gloo=$(seconds mpirun --oversubscribe -np 2 "$B" train -c "$C" "${common[@]}" \
    --set training.batch_size=1024 --set distributed.backend=gloo --run-name gloo)
  awk -v a="$one" -v m="$mpi" -v g="$gloo" 'BEGIN {
    printf "run: 1 rank %.2f s; 2 ranks mpi %.2f s (weak scaling %.0f%%), gloo %.2f s (%.0f%%)\n",
      a / 1000, m / 1000, 100 * a / (2 * m), g / 1000, 100 * a / (2 * g) }'
done
