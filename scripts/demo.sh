#!/usr/bin/env bash
# The demo: generate the small synthetic dataset, then run every pipeline step that exists so
# far and print each step's report. Usage: scripts/demo.sh [path/to/pixelrec]
set -euo pipefail
cd "$(dirname "$0")/.."
PIXELREC=${1:-build/src/pixelrec}
CONFIG=configs/demo.yaml

step() { printf '\n==== %s ====\n' "$*"; }

step "1/7 synth: the small synthetic PixelRec dataset (planted topics, 1% corrupted records)"
"$PIXELREC" synth --preset small --out demo/raw --seed 42 --corrupt-frac 0.01 -c "$CONFIG"

step "2/7 preprocess: validate, clean, filter"
"$PIXELREC" preprocess -c "$CONFIG"
python3 -m json.tool demo/processed/preprocess_report.json 2>/dev/null || cat demo/processed/preprocess_report.json
echo "rejected rows: $(($(wc -l < demo/processed/rejects.csv) - 1)) (demo/processed/rejects.csv)"

step "3/7 split: leave_one_out and cold-start item splits"
"$PIXELREC" split -c "$CONFIG"
cat demo/splits/leave_one_out/split_stats.json
"$PIXELREC" split -c "$CONFIG" --set data.splitting.strategy=item \
  --set data.split_data_path=demo/splits/cold_item
cat demo/splits/cold_item/split_stats.json

# Steps that run distributed use 2 MPI ranks when mpirun is there (one process otherwise).
RANKS=()
if command -v mpirun >/dev/null 2>&1; then
  RANKS=(mpirun --allow-run-as-root --oversubscribe -np 2)
fi

step "4/7 cache: built-in image, text and numeric features into the HDF5 store (2 ranks)"
"${RANKS[@]}" "$PIXELREC" cache -c "$CONFIG"
cat demo/cache/cache_report.json

step "5/7 train on 2 ranks: the multimodal model (concat fusion, contrastive loss, early stop on val_ndcg@10)"
"${RANKS[@]}" "$PIXELREC" train -c "$CONFIG" --run-name demo --overwrite
cat demo/results/demo/metrics.csv | cut -d, -f1-6 | column -t -s, 2>/dev/null || true

step "6/7 evaluate: full-catalogue ranking of the test interactions, model vs every baseline"
"${RANKS[@]}" "$PIXELREC" evaluate -c "$CONFIG" --run-name demo --task full --baseline popularity \
  --recommender multimodal,random,itemknn,userknn,contentknn
echo "result files: demo/results/demo/eval/ (JSON with paired t-test and Wilcoxon p-values vs popularity)"

step "7/7 cold items: items never seen in training, ranked by content (item split)"
COLD=(--set data.splitting.strategy=item --set data.split_data_path=demo/splits/cold_item
      --set data.cache_config.cache_directory=demo/cache_cold_item)
"$PIXELREC" cache -c "$CONFIG" "${COLD[@]}" --log-level warn
"${RANKS[@]}" "$PIXELREC" train -c "$CONFIG" "${COLD[@]}" --run-name demo-cold --overwrite \
  --log-level warn
"$PIXELREC" evaluate -c "$CONFIG" "${COLD[@]}" --run-name demo-cold --task cold_item \
  --recommender multimodal,popularity,random,contentknn --log-level warn
"$PIXELREC" recommend -c "$CONFIG" --run-name demo --sample-users 3 --top-k 5 \
  --output demo/results/demo/recommendations.csv --log-level warn
echo; echo "sample recommendations (demo/results/demo/recommendations.csv):"
head -6 demo/results/demo/recommendations.csv

step "done: outputs are under demo/"
