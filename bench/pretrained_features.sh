#!/usr/bin/env bash
# Built-in vs pretrained features (`make backbones`: sentence-bert = all-MiniLM-L6-v2,
# efficientnet-lite0): extraction throughput on pixelrec50k, one rank and two under mpirun, and
# ranking quality on the small preset (warm full ranking on a leave-one-out split, cold items on an
# item split; the same splits, seeds and model for both feature sets). Figures in
# docs/benchmarks.md ("Pretrained backbones").
# Usage: bench/pretrained_features.sh [build-dir] [image items] [text items] [epochs] [parts]
#   image/text items: the first N items of pixelrec50k's item map (0: all 82,865), extracted in
#   chunks of 128 so that two ranks share the work; parts: all (default), throughput or ranking.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
IMAGE_ITEMS=${2:-2048}
TEXT_ITEMS=${3:-0}
EPOCHS=${4:-10}
PARTS=${5:-all}
PIXELREC=$BUILD/src/pixelrec
OUT=bench-out
MPIRUN=(mpirun --oversubscribe -np 2)
[[ $(id -u) -eq 0 ]] && MPIRUN=(mpirun --allow-run-as-root --oversubscribe -np 2)
mkdir -p "$OUT"
bash scripts/install_backbones.sh  # models/backbones (nothing to do when present)

timed() {
  local name=$1
  shift
  /usr/bin/time -f "$name: %e s wall, %U s user, %M KB max RSS" "$@"
}

echo "== pixelrec50k data (bench/run_all.sh's when present)"
cat > "$OUT/bench50k.yaml" <<YAML
data:
  item_info_path: $OUT/raw50k/item_info.csv
  interactions_path: $OUT/raw50k/interactions.csv
  image_folder: $OUT/raw50k/images
  processed_item_info_path: $OUT/processed50k/item_info.csv
  processed_interactions_path: $OUT/processed50k/interactions.csv
  processed_image_destination_folder: $OUT/processed50k/images
  split_data_path: $OUT/splits50k/leave_one_out
  splitting:
    min_interactions_per_user: 5
    min_interactions_per_item: 5
YAML
if [ ! -f "$OUT/splits50k/leave_one_out/item_map.csv" ]; then
  "$PIXELREC" synth --preset pixelrec50k --out "$OUT/raw50k" --seed 1 --log-level warn
  "$PIXELREC" preprocess -c "$OUT/bench50k.yaml" --log-level warn
  "$PIXELREC" split -c "$OUT/bench50k.yaml" --log-level warn
fi

# cache LABEL ITEMS LAUNCHER... -- SETTINGS...: one timed extraction; prints items/s from the
# store's own timer (cache_report.json: start to store written, model loading included).
cache() {
  local label=$1 items=$2
  shift 2
  local launcher=()
  while [ "$1" != "--" ]; do launcher+=("$1"); shift; done
  shift
  local store=$OUT/cache50k/$label.h5
  local max=()
  [ "$items" -gt 0 ] && max=(--max-items "$items")
  timed "cache $label" "${launcher[@]}" "$PIXELREC" cache -c "$OUT/bench50k.yaml" "${max[@]}" \
    --set "data.numerical_features_cols=[]" --set data.feature_store_path="$store" \
    --set features.chunk_items=128 \
    --force-recompute --log-level warn "$@"
  jq -r --arg name "$label" \
    '"\($name): \(.items) items in \(.seconds | . * 10 | round / 10) s = \(.items / .seconds | round) items/s, world size \(.world_size)"' \
    "$OUT/cache50k/cache_report.json"
}

if [ "$PARTS" != ranking ]; then
echo "== throughput: images (first $IMAGE_ITEMS items), texts (first $TEXT_ITEMS items; 0 = all)"
cache image-builtin "$IMAGE_ITEMS" -- --set model.language_model=none
cache image-efficientnet-lite0 "$IMAGE_ITEMS" -- --set model.language_model=none \
  --set model.vision_model=efficientnet-lite0
cache image-efficientnet-lite0-2ranks "$IMAGE_ITEMS" "${MPIRUN[@]}" -- \
  --set model.language_model=none --set model.vision_model=efficientnet-lite0
cache text-builtin "$TEXT_ITEMS" -- --set model.vision_model=none
cache text-sentence-bert "$TEXT_ITEMS" -- --set model.vision_model=none \
  --set model.language_model=sentence-bert
cache text-sentence-bert-2ranks "$TEXT_ITEMS" "${MPIRUN[@]}" -- --set model.vision_model=none \
  --set model.language_model=sentence-bert
fi
[ "$PARTS" = throughput ] && exit 0

echo "== ranking quality on the small preset: built-in vs pretrained features, $EPOCHS epochs"
SMALL=$OUT/small-pretrained
rm -rf "$SMALL"
cat > "$OUT/small-pretrained.yaml" <<YAML
data:
  item_info_path: $SMALL/raw/item_info.csv
  interactions_path: $SMALL/raw/interactions.csv
  image_folder: $SMALL/raw/images
  processed_item_info_path: $SMALL/processed/item_info.csv
  processed_interactions_path: $SMALL/processed/interactions.csv
  processed_image_destination_folder: $SMALL/processed/images
  splitting:
    min_interactions_per_user: 5
    min_interactions_per_item: 5
checkpoint_dir: $SMALL/checkpoints
results_dir: $SMALL/results
training:
  seed: 42
evaluation:
  seed: 42
YAML
"$PIXELREC" synth --preset small --out "$SMALL/raw" --seed 1 --log-level warn
"$PIXELREC" preprocess -c "$OUT/small-pretrained.yaml" --log-level warn
for strategy in leave_one_out item; do
  "$PIXELREC" split -c "$OUT/small-pretrained.yaml" --set data.splitting.strategy=$strategy \
    --set data.split_data_path="$SMALL/splits/$strategy" --log-level warn
done

declare -A VISION=([builtin]=builtin [pretrained]=efficientnet-lite0)
declare -A LANGUAGE=([builtin]=builtin [pretrained]=sentence-bert)
declare -A TASK=([leave_one_out]=full [item]=cold_item)
for strategy in leave_one_out item; do
  for features in builtin pretrained; do
    run=$strategy-$features
    settings=(--set data.split_data_path="$SMALL/splits/$strategy"
              --set data.feature_store_path="$SMALL/cache/$run.h5"
              --set model.vision_model="${VISION[$features]}"
              --set model.language_model="${LANGUAGE[$features]}")
    timed "small cache $run" "$PIXELREC" cache -c "$OUT/small-pretrained.yaml" "${settings[@]}" \
      --log-level warn
    timed "small train $run" "$PIXELREC" train -c "$OUT/small-pretrained.yaml" "${settings[@]}" \
      --set training.epochs="$EPOCHS" --run-name "$run" --no-progress --log-level warn
    for recommender in multimodal contentknn; do
      result=$SMALL/results/$run-$recommender.json
      "$PIXELREC" evaluate -c "$OUT/small-pretrained.yaml" "${settings[@]}" --run-name "$run" \
        --recommender $recommender --task "${TASK[$strategy]}" --k 10,20 --output "$result" \
        --log-level warn
      jq -r --arg run "$run" --arg rec $recommender --arg task "${TASK[$strategy]}" \
        '"\($run) \($rec) \($task): " + (.. | objects | select(has("ndcg@10")) | "NDCG@10 \(.["ndcg@10"]) Recall@10 \(.["recall@10"])")' \
        "$result" | head -n1
    done
  done
done
