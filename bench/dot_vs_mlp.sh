#!/usr/bin/env bash
# model.scorer mlp + training.loss bce (the reference) against dot + softmax on the synthetic
# `small` preset: training samples/s and full-ranking NDCG@10 / Recall@20 next to the baselines.
# Usage: bench/dot_vs_mlp.sh [build-dir] [epochs]. Writes under bench-out/dot/.
source "$(dirname "$0")/dataset_paths.sh"
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
EPOCHS=${2:-5}
PIXELREC=$BUILD/src/pixelrec
OUT=bench-out/dot
mkdir -p "$OUT"
"$PIXELREC" synth --preset small --out "$OUT/raw" --seed 1 --log-level warn
{
  dataset_paths_yaml "$OUT"
  cat <<YAML
training:
  epochs: $EPOCHS
  batch_size: 1024
  num_workers: 2
  early_stopping_metric: val_ndcg@10
results_dir: $OUT/results
checkpoint_dir: $OUT/checkpoints
evaluation:
  k_values: [10, 20]
YAML
} > "$OUT/small.yaml"
for step in preprocess split cache; do "$PIXELREC" $step -c "$OUT/small.yaml" --log-level warn; done
train() {  # run name, flags
  "$PIXELREC" train -c "$OUT/small.yaml" --no-progress --overwrite --run-name "$1" "${@:2}" \
    --log-level warn
  python3 - "$OUT/results/$1/metrics.jsonl" "$1" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rates = [r["train_samples_per_second"] for r in rows]
print(f"{sys.argv[2]}: train samples/s per epoch {[round(x) for x in rates]}, "
      f"mean {sum(rates) / len(rates):.0f}; val_ndcg@10 {[round(r['val_ndcg@10'], 4) for r in rows]}")
PY
}
train mlp_bce
train dot_bce --set model.scorer=dot
train dot_softmax --set model.scorer=dot --set training.loss=softmax
"$PIXELREC" evaluate -c "$OUT/small.yaml" --run-name mlp_bce --task full --log-level warn \
  --recommender multimodal,popularity,itemknn,userknn,contentknn,ease,ials
for run in dot_bce dot_softmax; do
  /usr/bin/time -f "$run full ranking: %e s wall" "$PIXELREC" evaluate -c "$OUT/small.yaml" \
    --run-name $run --set model.scorer=dot --task full --log-level warn --recommender multimodal
done
