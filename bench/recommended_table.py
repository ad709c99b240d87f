#!/usr/bin/env python3
"""Markdown tables of bench/recommended_vs_baselines.sh's results: full-ranking NDCG@10 / Recall@20
on test per preset, and the cold_item task on the leak-free store.
Usage: python3 bench/recommended_table.py [bench-out/recommended]"""
import json, os, sys

out = sys.argv[1] if len(sys.argv) > 1 else "bench-out/recommended"
presets = ("small", "hard")


def metrics(path):
    if not os.path.exists(path):
        return None
    return json.load(open(path))["metrics"]


def cell(m):
    return "n/a | n/a" if m is None else f"{m['ndcg@10']:.4f} | {m['recall@20']:.4f}"


rows = [("model, configs/recommended.yaml (dot, softmax)", "recommended/eval/multimodal_full.json"),
        ("model, default (mlp, bce; batch 1024, 10 epochs)", "mlp_default/eval/multimodal_full.json")]
rows += [(b, f"mlp_default/eval/{b}_full.json")
         for b in ("random", "popularity", "itemknn", "userknn", "contentknn", "ease", "ials")]
rows += [("ease, tuned (hyperparameter_search.target ease)", "eval_tuned/ease_full.json"),
         ("ials, tuned (hyperparameter_search.target ials)", "eval_tuned/ials_full.json")]
print("| recommender | " + " | ".join(f"`{p}` NDCG@10 | `{p}` Recall@20" for p in presets) + " |")
print("|---|" + "---|---|" * len(presets))
for name, rel in rows:
    print(f"| {name} | " + " | ".join(cell(metrics(f"{out}/{p}/results/{rel}")) for p in presets) + " |")
best = {}
for p in presets:
    model = metrics(f"{out}/{p}/results/recommended/eval/multimodal_full.json")
    bases = {name: metrics(f"{out}/{p}/results/{rel}") for name, rel in rows[2:]}
    bases = {k: v for k, v in bases.items() if v}
    if model and bases:
        name, m = max(bases.items(), key=lambda kv: kv[1]["ndcg@10"])
        print(f"\n{p}: recommended / best baseline ({name}) NDCG@10 = "
              f"{model['ndcg@10']:.4f} / {m['ndcg@10']:.4f} = {model['ndcg@10'] / m['ndcg@10']:.2f}x")
print("\n| cold items (leak-free store) | " + " | ".join(f"`{p}` NDCG@10 | `{p}` Recall@20" for p in presets) + " |")
print("|---|" + "---|---|" * len(presets))
for name in ("multimodal", "contentknn", "popularity"):
    label = "model, configs/recommended.yaml" if name == "multimodal" else name
    print(f"| {label} | " + " | ".join(
        cell(metrics(f"{out}/{p}/results/recommended_leakfree/eval/{name}_cold_item.json"))
        for p in presets) + " |")
for p in presets:
    m = json.load(open(f"{out}/{p}/results/recommended_leakfree/eval/multimodal_cold_item.json")) \
        if os.path.exists(f"{out}/{p}/results/recommended_leakfree/eval/multimodal_cold_item.json") else None
    if m:
        print(f"{p}: cold_item users evaluated {m['users_evaluated']}, candidates {m['candidates']}")
