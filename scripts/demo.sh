#!/usr/bin/env bash
# The demo: generate the small synthetic dataset, then run every pipeline step that exists so
# far and print each step's report. Usage: scripts/demo.sh [path/to/pixelrec]
set -euo pipefail
cd "$(dirname "$0")/.."
PIXELREC=${1:-build/src/pixelrec}
CONFIG=configs/demo.yaml

step() { printf '\n==== %s ====\n' "$*"; }

step "1/4 synth: the small synthetic PixelRec dataset (planted topics, 1% corrupted records)"
"$PIXELREC" synth --preset small --out demo/raw --seed 42 --corrupt-frac 0.01 -c "$CONFIG"

step "2/4 preprocess: validate, clean, filter"
"$PIXELREC" preprocess -c "$CONFIG"
python3 -m json.tool demo/processed/preprocess_report.json 2>/dev/null || cat demo/processed/preprocess_report.json
echo "rejected rows: $(($(wc -l < demo/processed/rejects.csv) - 1)) (demo/processed/rejects.csv)"

step "3/4 split: leave_one_out and cold-start item splits"
"$PIXELREC" split -c "$CONFIG"
cat demo/splits/leave_one_out/split_stats.json
"$PIXELREC" split -c "$CONFIG" --set data.splitting.strategy=item \
  --set data.split_data_path=demo/splits/cold_item
cat demo/splits/cold_item/split_stats.json

step "4/4 cache: built-in image, text and numeric features into the HDF5 store (2 ranks)"
if command -v mpirun >/dev/null 2>&1; then
  mpirun --allow-run-as-root --oversubscribe -np 2 "$PIXELREC" cache -c "$CONFIG"
else
  "$PIXELREC" cache -c "$CONFIG"
fi
cat demo/cache/cache_report.json

step "done: outputs are under demo/"
