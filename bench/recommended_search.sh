#!/usr/bin/env bash
# Reproduces the search behind configs/recommended.yaml: `pixelrec hpo` (TPE + ASHA, the study in
# configs/hpo/recommended_search.yaml) on the synthetic presets `small` and `hard` (seed 42,
# leave_one_out), same space and sampler seed on both. With 10 trials TPE is still in its 10
# random start-up trials, so both studies draw the same 10 configurations; the script prints each
# configuration's best val_ndcg@10 on both presets so one can be picked that does well on both.
# Usage: bench/recommended_search.sh [build-dir]. Writes under bench-out/recommended/.
source "$(dirname "$0")/dataset_paths.sh"
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
PIXELREC=$BUILD/src/pixelrec
OUT=bench-out/recommended
for preset in small hard; do
  dir=$OUT/$preset
  mkdir -p "$dir"
  [ -f "$dir/raw/interactions.csv" ] ||
    "$PIXELREC" synth --preset $preset --out "$dir/raw" --seed 42 --log-level warn
  {
  dataset_paths_yaml "$dir"
  cat <<YAML
training:
  num_workers: 2
results_dir: $dir/results
checkpoint_dir: $dir/checkpoints
evaluation:
  k_values: [10, 20]
YAML
} > "$dir/data.yaml"
  [ -d "$dir/cache" ] || for step in preprocess split cache; do
    "$PIXELREC" $step -c "$dir/data.yaml" --log-level warn
  done
  /usr/bin/time -f "$preset study: %e s wall" "$PIXELREC" hpo -c "$dir/data.yaml" \
    -c configs/hpo/recommended_search.yaml --log-level warn
done
# The selection: each trial's best val_ndcg@10 over the epochs it ran (pruned trials included),
# relative to the preset's best; the configuration with the highest mean over both presets wins.
python3 - "$OUT" <<'PY'
import csv, json, sys
out = sys.argv[1]
study = out + "/{}/results/hpo/recommended"
rows = {p: list(csv.DictReader(open(study.format(p) + "/trials.csv"))) for p in ("small", "hard")}
def best(p, n):
    lines = open(f"{study.format(p)}/trials/trial_{int(n):04d}/metrics.jsonl").read().split()
    return max(json.loads(l)["val_ndcg@10"] for l in lines)
top = {p: max(best(p, r["number"]) for r in rows[p]) for p in rows}
params = [k for k in rows["small"][0] if k.startswith("params_")]
print("trial,state_small,best_small,state_hard,best_hard,mean_relative," + ",".join(params))
for s, h in zip(rows["small"], rows["hard"]):
    bs, bh = best("small", s["number"]), best("hard", h["number"])
    print(f"{s['number']},{s['state']},{bs:.4f},{h['state']},{bh:.4f},"
          f"{(bs / top['small'] + bh / top['hard']) / 2:.3f}," + ",".join(s[k] for k in params))
PY
