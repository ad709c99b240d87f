#!/usr/bin/env python3
"""Markdown tables of bench/recommended_vs_baselines.sh's results: full-ranking NDCG@10 / Recall@20
on test per preset, and the cold_item task on the leak-free store. The recommended model's row is
the mean (± sample sd) over its training seeds (SEEDS in the bench script); the ratios use that mean.
Usage: python3 bench/recommended_table.py [bench-out/recommended] [seeds, default '42 7 123']"""
import json, os, statistics, sys

out = sys.argv[1] if len(sys.argv) > 1 else "bench-out/recommended"
seeds = (sys.argv[2] if len(sys.argv) > 2 else "42 7 123").split()
presets = ("small", "hard")


def metrics(path):
    if not os.path.exists(path):
        return None
    return json.load(open(path))["metrics"]


def run_name(base, seed):
    return base if seed == "42" else f"{base}_s{seed}"


def seed_runs(preset, base, file):
    """Each seed's metrics of the recommended model (seeds whose run is missing are left out)."""
    found = [metrics(f"{out}/{preset}/results/{run_name(base, s)}/eval/{file}") for s in seeds]
    return [m for m in found if m]


def mean_of(runs):
    if not runs:
        return None
    return {k: statistics.mean(r[k] for r in runs) for k in ("ndcg@10", "recall@20")}


def cell(m):
    return "n/a | n/a" if m is None else f"{m['ndcg@10']:.4f} | {m['recall@20']:.4f}"


def seed_cell(runs):
    if not runs:
        return "n/a | n/a"
    sd = lambda k: statistics.stdev(r[k] for r in runs) if len(runs) > 1 else 0.0
    m = mean_of(runs)
    return f"{m['ndcg@10']:.4f} ± {sd('ndcg@10'):.4f} | {m['recall@20']:.4f} ± {sd('recall@20'):.4f}"


def per_seed(runs):
    return ", ".join(f"{r['ndcg@10']:.4f}" for r in runs)


model_runs = {p: seed_runs(p, "recommended", "multimodal_full.json") for p in presets}
rows = [("mlp_default/eval/multimodal_full.json", "model, default (mlp, bce; batch 1024, 10 epochs)")]
rows += [(f"mlp_default/eval/{b}_full.json", b)
         for b in ("random", "popularity", "itemknn", "userknn", "contentknn", "ease", "ials")]
rows += [("eval_tuned/ease_full.json", "ease, tuned (hyperparameter_search.target ease)"),
         ("eval_tuned/ials_full.json", "ials, tuned (hyperparameter_search.target ials)")]
print("| recommender | " + " | ".join(f"`{p}` NDCG@10 | `{p}` Recall@20" for p in presets) + " |")
print("|---|" + "---|---|" * len(presets))
print(f"| model, configs/recommended.yaml (dot, softmax), mean ± sd of {len(seeds)} seeds | "
      + " | ".join(seed_cell(model_runs[p]) for p in presets) + " |")
for rel, name in rows:
    print(f"| {name} | " + " | ".join(cell(metrics(f"{out}/{p}/results/{rel}")) for p in presets) + " |")
for p in presets:
    model = mean_of(model_runs[p])
    bases = {name: metrics(f"{out}/{p}/results/{rel}") for rel, name in rows[1:]}
    bases = {k: v for k, v in bases.items() if v}
    if model and bases:
        name, m = max(bases.items(), key=lambda kv: kv[1]["ndcg@10"])
        print(f"\n{p}: recommended (mean of {len(model_runs[p])} seeds: {per_seed(model_runs[p])}) / "
              f"best baseline ({name}) NDCG@10 = {model['ndcg@10']:.4f} / {m['ndcg@10']:.4f} = "
              f"{model['ndcg@10'] / m['ndcg@10']:.2f}x")
cold_runs = {p: seed_runs(p, "recommended_leakfree", "multimodal_cold_item.json") for p in presets}
print("\n| cold items (leak-free store) | " + " | ".join(f"`{p}` NDCG@10 | `{p}` Recall@20" for p in presets) + " |")
print("|---|" + "---|---|" * len(presets))
print(f"| model, configs/recommended.yaml, mean ± sd of {len(seeds)} seeds | "
      + " | ".join(seed_cell(cold_runs[p]) for p in presets) + " |")
for name in ("contentknn", "popularity"):
    print(f"| {name} | " + " | ".join(
        cell(metrics(f"{out}/{p}/results/recommended_leakfree/eval/{name}_cold_item.json"))
        for p in presets) + " |")
for p in presets:
    model = mean_of(cold_runs[p])
    knn = metrics(f"{out}/{p}/results/recommended_leakfree/eval/contentknn_cold_item.json")
    if model and knn:
        print(f"{p}: cold items, recommended (seeds: {per_seed(cold_runs[p])}) / contentknn NDCG@10 = "
              f"{model['ndcg@10']:.4f} / {knn['ndcg@10']:.4f} = {model['ndcg@10'] / knn['ndcg@10']:.2f}x")
    path = f"{out}/{p}/results/recommended_leakfree/eval/multimodal_cold_item.json"
    if os.path.exists(path):
        m = json.load(open(path))
        print(f"{p}: cold_item users evaluated {m['users_evaluated']}, candidates {m['candidates']}")
# ITEM_SPLITS runs: every training seed on each extra item split, next to content-KNN on it.
splits = {p: sorted({d[len("recommended_leakfree_split"):].split("_")[0]
                     for d in os.listdir(f"{out}/{p}/results")
                     if d.startswith("recommended_leakfree_split")})
          for p in presets if os.path.isdir(f"{out}/{p}/results")}
if any(splits.values()):
    print("\n| cold items, other item splits | model NDCG@10 (mean of seeds) | seeds | content-KNN NDCG@10 | ratio |")
    print("|---|---|---|---|---|")
    ratios = {p: [] for p in presets}
    for p, found in splits.items():
        for split in found:
            runs = seed_runs(p, f"recommended_leakfree_split{split}", "multimodal_cold_item.json")
            knn = metrics(f"{out}/{p}/results/recommended_leakfree_split{split}/eval/contentknn_cold_item.json")
            model = mean_of(runs)
            if model and knn:
                ratios[p].append(model["ndcg@10"] / knn["ndcg@10"])
                print(f"| `{p}` split seed {split} | {model['ndcg@10']:.4f} | {per_seed(runs)} | "
                      f"{knn['ndcg@10']:.4f} | {ratios[p][-1]:.2f}x |")
    for p in presets:
        if ratios[p]:
            print(f"{p}: model / content-KNN over {len(ratios[p])} other item splits: mean "
                  f"{statistics.mean(ratios[p]):.2f}x, lowest {min(ratios[p]):.2f}x")
