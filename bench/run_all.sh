#!/usr/bin/env bash
# Runs every benchmark and prints the figures recorded in docs/benchmarks.md.
# Usage: bench/run_all.sh [build-dir]. Needs ~3 GB of disk under bench-out/ for pixelrec50k.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
PIXELREC=$BUILD/src/pixelrec
OUT=bench-out
mkdir -p "$OUT"

echo "== CSV parse throughput"
"$BUILD/bench/bench_csv"

echo "== synth pixelrec50k (50,000 users, 82,865 items, 989,494 interactions)"
/usr/bin/time -f "synth: %e s wall, %M KB max RSS" \
  "$PIXELREC" synth --preset pixelrec50k --out "$OUT/raw50k" --seed 1 --log-level warn

cat > "$OUT/bench50k.yaml" <<YAML
data:
  item_info_path: $OUT/raw50k/item_info.csv
  interactions_path: $OUT/raw50k/interactions.csv
  image_folder: $OUT/raw50k/images
  processed_item_info_path: $OUT/processed50k/item_info.csv
  processed_interactions_path: $OUT/processed50k/interactions.csv
  processed_image_destination_folder: $OUT/processed50k/images
  split_data_path: $OUT/splits50k
  splitting:
    min_interactions_per_user: 5
    min_interactions_per_item: 5
YAML

echo "== preprocess pixelrec50k (images included, 2 threads)"
/usr/bin/time -f "preprocess: %e s wall, %M KB max RSS" \
  "$PIXELREC" preprocess -c "$OUT/bench50k.yaml" --force-reprocess --log-level warn

for strategy in leave_one_out temporal random user item; do
  echo "== split pixelrec50k: $strategy"
  /usr/bin/time -f "split $strategy: %e s wall, %M KB max RSS" \
    "$PIXELREC" split -c "$OUT/bench50k.yaml" --set data.splitting.strategy=$strategy \
    --set data.split_data_path=$OUT/splits50k/$strategy --log-level warn
done

echo "== feature store load (HDF5 hyperslab reads vs fread of the same file)"
"$BUILD/bench/bench_store"

echo "== cache pixelrec50k: built-in image features only (images/s = items / wall seconds)"
/usr/bin/time -f "cache image-only: %e s wall, %M KB max RSS" \
  "$PIXELREC" cache -c "$OUT/bench50k.yaml" --set data.split_data_path=$OUT/splits50k/leave_one_out \
  --set model.language_model=none --set "data.numerical_features_cols=[]" \
  --set data.feature_store_path=$OUT/cache50k/image.h5 --force-recompute --log-level warn

echo "== cache pixelrec50k: built-in text features only (items/s = items / wall seconds)"
/usr/bin/time -f "cache text-only: %e s wall, %M KB max RSS" \
  "$PIXELREC" cache -c "$OUT/bench50k.yaml" --set data.split_data_path=$OUT/splits50k/leave_one_out \
  --set model.vision_model=none --set "data.numerical_features_cols=[]" \
  --set data.feature_store_path=$OUT/cache50k/text.h5 --force-recompute --log-level warn

echo "== training step throughput: default model, pixelrec50k shapes, 1 and 2 threads"
"$BUILD/bench/bench_train"

echo "== ranking and evaluation: score_block over 82,865 items, ItemKNN fit, sampled evaluation"
"$BUILD/bench/bench_ranking"

echo "== small preset, real pipeline: synth → preprocess → split → cache → train 1 epoch → evaluate"
SMALL=$OUT/small
rm -rf "$SMALL"
cat > "$OUT/small.yaml" <<YAML
data:
  item_info_path: $SMALL/raw/item_info.csv
  interactions_path: $SMALL/raw/interactions.csv
  image_folder: $SMALL/raw/images
  processed_item_info_path: $SMALL/processed/item_info.csv
  processed_interactions_path: $SMALL/processed/interactions.csv
  processed_image_destination_folder: $SMALL/processed/images
  split_data_path: $SMALL/splits/leave_one_out
  feature_store_path: $SMALL/cache/features.h5
  splitting:
    min_interactions_per_user: 5
    min_interactions_per_item: 5
checkpoint_dir: $SMALL/checkpoints
results_dir: $SMALL/results
YAML
timed() {
  local name=$1
  shift
  /usr/bin/time -f "$name: %e s wall, %U s user, %M KB max RSS" "$@"
}
timed "small synth" "$PIXELREC" synth --preset small --out "$SMALL/raw" --seed 1 --log-level warn
timed "small preprocess" "$PIXELREC" preprocess -c "$OUT/small.yaml" --log-level warn
timed "small split" "$PIXELREC" split -c "$OUT/small.yaml" --log-level warn
timed "small cache" "$PIXELREC" cache -c "$OUT/small.yaml" --log-level warn
timed "small train, 1 epoch (validation included)" "$PIXELREC" train -c "$OUT/small.yaml" \
  --set training.epochs=1 --run-name bench --no-progress
for task in full sampled; do
  timed "small evaluate --task $task" "$PIXELREC" evaluate -c "$OUT/small.yaml" \
    --run-name bench --task $task --log-level warn
done

echo "== HPO: TPE suggestion latency at 100 / 1,000 trials vs random; Study ask()+tell() on SQLite"
"$BUILD/bench/bench_hpo_tpe_latency"

echo "== HPO: ASHA vs full-budget random search, epochs until within 1% of the best (20 seeds)"
# The figures count epochs; tmpfs only spares the benchmark one fsync per report (96 s → 15 s).
TMPDIR=$([ -d /dev/shm ] && echo /dev/shm || echo "${TMPDIR:-/tmp}") "$BUILD/bench/bench_hpo_asha"

echo "== HPO: coordinator soak: 64 simulated workers, 2,000 trials, worker faults, one kill -9"
"$BUILD/bench/bench_hpo_soak" 64 2000 1

echo "== Distributed: allreduce bandwidth by size and broadcast latency, mpi vs gloo (2 ranks)"
MPIRUN=(mpirun --oversubscribe -np 2)
[[ $(id -u) -eq 0 ]] && MPIRUN=(mpirun --allow-run-as-root --oversubscribe -np 2)
"${MPIRUN[@]}" "$BUILD/bench/bench_dist_collectives" 20

echo "== Distributed: weak scaling of the training step (1 thread per rank) and per-rank features"
"${MPIRUN[@]}" "$BUILD/bench/bench_dist_scaling" 10 1024
