#!/usr/bin/env bash
# Full-catalogue ranking of pixelrec50k (50,000 users x 82,865 items) with model.scorer dot: data
# preparation, one training epoch with configs/recommended.yaml (1 negative per positive instead of
# 7, to keep the epoch short: the ranking's cost does not depend on it), the timed
# `pixelrec evaluate --task full`, and torch::matmul at the evaluator's block shape (256 users x D
# x every item) in the same run, so the ranking's FLOP rate (2 x users x items x D / seconds) can
# be read next to the matmul rate. Usage: bench/full_ranking_50k.sh [build-dir] [prepare|run|all].
# Writes under bench-out/full50k/.
source "$(dirname "$0")/dataset_paths.sh"
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
PHASE=${2:-all}
PIXELREC=$BUILD/src/pixelrec
OUT=bench-out/full50k
mkdir -p "$OUT"
{
  dataset_paths_yaml "$OUT"
  cat <<YAML
training:
  num_workers: 2
results_dir: $OUT/results
checkpoint_dir: $OUT/checkpoints
evaluation:
  k_values: [10, 20]
YAML
} > "$OUT/data.yaml"
if [ "$PHASE" != run ]; then
  /usr/bin/time -f "synth: %e s" "$PIXELREC" synth --preset pixelrec50k --out "$OUT/raw" --seed 42 \
    --no-progress --log-level warn
  for step in preprocess split cache; do
    /usr/bin/time -f "$step: %e s" "$PIXELREC" $step -c "$OUT/data.yaml" --log-level warn
  done
fi
[ "$PHASE" = prepare ] && exit 0
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/time -f "train 1 epoch: %e s" "$PIXELREC" train -c configs/recommended.yaml \
  -c "$OUT/data.yaml" --set training.epochs=1 \
  --set data.negative_sampling_ratio=1 --no-progress --overwrite --run-name dot1 \
  --log-level warn
python3 -c "import json,sys; r=json.loads(open(sys.argv[1]).readline()); \
print('train samples/s', round(r['train_samples_per_second']), 'val_ndcg@10', round(r['val_ndcg@10'], 4))" \
  "$OUT/results/dot1/metrics.jsonl"
echo "load before evaluate: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/time -f "evaluate --task full: %e s wall, %U s user" "$PIXELREC" evaluate \
  -c configs/recommended.yaml -c "$OUT/data.yaml" --run-name dot1 --task full \
  --recommender multimodal --log-level warn
DIM=$(grep -E '^\s+embedding_dim:' configs/recommended.yaml | head -1 | awk '{print $2}')
"$BUILD/bench/bench_matmul" 256 "$DIM" 82865 2
echo "ranking FLOP = 2 x 50000 x 82865 x $DIM = $(python3 -c "print(f'{2*50000*82865*$DIM:.3g}')")"
