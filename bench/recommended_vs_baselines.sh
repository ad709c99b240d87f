#!/usr/bin/env bash
# docs/benchmarks.md "Recommended config against the baselines": on the synthetic presets `small`
# and `hard` (seed 42, leave_one_out; the data bench/recommended_search.sh prepared), full-ranking
# NDCG@10 / Recall@20 on test of
#   - the model with configs/recommended.yaml (scorer dot),
#   - the default model (scorer mlp, loss bce) at batch 1024, 10 epochs, patience 3,
#   - every baseline with its defaults, and EASE / iALS tuned on val by a `pixelrec hpo`
#     baseline study (hyperparameter_search.target),
#   - cold items (the cold_item task, on an item split) of the recommended model against
#     content-KNN and popularity, with data.numeric_source train_interactions (leak-free).
# The recommended model is trained once per training seed in SEEDS (default 42 7 123: one run is
# not enough to tell 5% apart, least of all on cold items); its runs are recommended (seed 42) and
# recommended_s<seed>, recommended_leakfree[_s<seed>] for cold items.
# RECOMMENDED_ONLY=1 re-runs only the recommended model (after a change to it or to
# configs/recommended.yaml), keeping the default model's and the baselines' results of an earlier
# run (on pixelrec50k: evaluate with --recommender multimodal only).
# ITEM_SPLITS='7 123 2024' also trains the cold-item model (with every training seed) on item
# splits drawn with those seeds (runs recommended_leakfree_split<split>[_s<seed>]), each next to
# content-KNN on the same split.
# Usage: [PRESETS='small hard'] [SEEDS='42 7 123'] [COLD_ONLY=1] [RECOMMENDED_ONLY=1] [WITH_50K=0]
#   [ITEM_SPLITS='7 123 2024'] bench/recommended_vs_baselines.sh [build-dir].
# Writes under bench-out/recommended/ (and bench-out/full50k/).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
PIXELREC=$BUILD/src/pixelrec
OUT=bench-out/recommended
BASELINES=random,popularity,itemknn,userknn,contentknn,ease,ials
SEEDS=${SEEDS:-42 7 123}
run_name() {  # base name, seed: seed 42 keeps the base name
  if [ "$2" = 42 ]; then echo "$1"; else echo "$1_s$2"; fi
}
best() {  # study folder, key: the best trial's value of key
  python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['params'][sys.argv[2]])" \
    "$1/best_params.json" "$2"
}
for preset in ${PRESETS:-small hard}; do
  dir=$OUT/$preset
  cfg=$dir/data.yaml
  [ -d "$dir/cache" ] || { echo "run bench/recommended_search.sh first"; exit 1; }
  echo "== $preset (load $(cut -d' ' -f1-3 /proc/loadavg))"
  if [ "${COLD_ONLY:-0}" = 0 ]; then
  for seed in $SEEDS; do
    run=$(run_name recommended "$seed")
    "$PIXELREC" train -c configs/recommended.yaml -c "$cfg" --no-progress --overwrite \
      --run-name "$run" --set training.seed="$seed" --log-level warn
    [ "$seed" = 42 ] || "$PIXELREC" evaluate -c configs/recommended.yaml -c "$cfg" \
      --run-name "$run" --task full --recommender multimodal --log-level warn
  done
  if [ "${RECOMMENDED_ONLY:-0}" = 0 ]; then
  "$PIXELREC" train -c "$cfg" --set training.batch_size=1024 --set training.epochs=10 \
    --set training.patience=3 --set training.early_stopping_metric=val_ndcg@10 --no-progress \
    --overwrite --run-name mlp_default --log-level warn
  fi
  for run in recommended mlp_default; do
    python3 - "$dir/results/$run/metrics.jsonl" "$preset $run" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rates = [r["train_samples_per_second"] for r in rows]
print(f"{sys.argv[2]}: {len(rows)} epochs, train samples/s median {sorted(rates)[len(rates) // 2]:.0f}, "
      f"best val_ndcg@10 {max(r['val_ndcg@10'] for r in rows):.4f}")
PY
  done
  /usr/bin/time -f "$preset recommended evaluate full: %e s" "$PIXELREC" evaluate \
    -c configs/recommended.yaml -c "$cfg" --run-name recommended --task full \
    --recommender multimodal --log-level warn
  if [ "${RECOMMENDED_ONLY:-0}" = 0 ]; then
  /usr/bin/time -f "$preset mlp evaluate full: %e s" "$PIXELREC" evaluate -c "$cfg" \
    --run-name mlp_default --task full --recommender multimodal,$BASELINES --log-level warn
  for target in ease ials; do
    rm -rf "$dir/results/hpo/$target"  # a rerun redoes the study
    "$PIXELREC" hpo -c "$cfg" -c configs/hpo/${target}_search.yaml --log-level warn | tail -1
  done
  study=$dir/results/hpo
  "$PIXELREC" evaluate -c "$cfg" --task full --recommender ease --log-level warn \
    --set evaluation.ease_lambda="$(best $study/ease evaluation.ease_lambda)" \
    --output "$dir/results/eval_tuned/ease_full.json"
  "$PIXELREC" evaluate -c "$cfg" --task full --recommender ials --log-level warn \
    --set evaluation.ials_factors="$(best $study/ials evaluation.ials_factors)" \
    --set evaluation.ials_regularization="$(best $study/ials evaluation.ials_regularization)" \
    --set evaluation.ials_alpha="$(best $study/ials evaluation.ials_alpha)" \
    --output "$dir/results/eval_tuned/ials_full.json"
  fi
  fi
  # Cold items, leak-free: leave_one_out leaves almost no cold item (2 on small), so an item split
  # (data.splitting.strategy item: held-out items never seen in training), a second store with
  # data.numeric_source train_interactions, the recommended model trained on it, and its
  # cold_item task next to content-KNN's and popularity's on the same store.
  leak=(--set data.splitting.strategy=item --set data.split_data_path="$dir/split_item"
        --set data.numeric_source=train_interactions
        --set data.cache_config.cache_directory="$dir/cache_leakfree")
  [ -d "$dir/split_item" ] || "$PIXELREC" split -c "$cfg" "${leak[@]}" --log-level warn
  [ -d "$dir/cache_leakfree" ] || "$PIXELREC" cache -c "$cfg" "${leak[@]}" --log-level warn
  # Every val item of an item split is cold: validate on them (configs/recommended.yaml's note).
  cold_run() {  # run name, training seed, recommenders, then the split's --set flags
    local run=$1 seed=$2 recommenders=$3
    shift 3
    "$PIXELREC" train -c configs/recommended.yaml -c "$cfg" "$@" --no-progress \
      --overwrite --set training.validation_task=cold_item --set training.seed="$seed" \
      --run-name "$run" --log-level warn
    "$PIXELREC" evaluate -c configs/recommended.yaml -c "$cfg" "$@" --run-name "$run" \
      --task cold_item --recommender "$recommenders" --log-level warn
  }
  for seed in $SEEDS; do
    recommenders=multimodal
    [ "$seed" = 42 ] && recommenders=multimodal,contentknn,popularity
    cold_run "$(run_name recommended_leakfree "$seed")" "$seed" "$recommenders" "${leak[@]}"
  done
  # A cold test part holds ~250 items (10% of small's catalogue): which items land in it moves
  # both the model and content-KNN by up to 1.5x. ITEM_SPLITS adds item splits drawn with other
  # seeds (data.splitting.random_state), each with its own leak-free store, trained with SEEDS.
  for split in ${ITEM_SPLITS:-}; do
    other=(--set data.splitting.strategy=item --set data.splitting.random_state="$split"
           --set data.split_data_path="$dir/split_item_s$split"
           --set data.numeric_source=train_interactions
           --set data.cache_config.cache_directory="$dir/cache_leakfree_s$split")
    [ -d "$dir/split_item_s$split" ] || "$PIXELREC" split -c "$cfg" "${other[@]}" --log-level warn
    [ -d "$dir/cache_leakfree_s$split" ] ||
      "$PIXELREC" cache -c "$cfg" "${other[@]}" --log-level warn
    for seed in $SEEDS; do
      recommenders=multimodal
      [ "$seed" = 42 ] && recommenders=multimodal,contentknn,popularity
      cold_run "$(run_name "recommended_leakfree_split$split" "$seed")" "$seed" "$recommenders" \
        "${other[@]}"
    done
  done
done
# pixelrec50k (its data: bench/full_ranking_50k.sh prepare): the recommended model against every
# baseline that fits. EASE^R refuses 82,865 items (its item x item matrix would hold 27 GB; see
# evaluation.ease_max_items), and the mlp scorer's full ranking would take ~5.3 h on 2 cores.
if [ "${WITH_50K:-1}" = 1 ]; then
  d50=bench-out/full50k
  [ -d "$d50/cache" ] || bash bench/full_ranking_50k.sh "$BUILD" prepare
  echo "== pixelrec50k (load $(cut -d' ' -f1-3 /proc/loadavg))"
  /usr/bin/time -f "pixelrec50k recommended train: %e s" "$PIXELREC" train \
    -c configs/recommended.yaml -c "$d50/data.yaml" --no-progress --overwrite \
    --run-name recommended --log-level warn
  "$PIXELREC" evaluate -c configs/recommended.yaml -c "$d50/data.yaml" --run-name recommended \
    --task full --log-level warn --recommender \
    "$([ "${RECOMMENDED_ONLY:-0}" = 1 ] && echo multimodal ||
       echo multimodal,popularity,itemknn,userknn,contentknn,ials)"
fi
