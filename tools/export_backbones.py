#!/usr/bin/env python3
"""Export pretrained backbones to TorchScript for PixelRec-MM (`pixelrec cache`).

Run this on a machine that has Python with torch, torchvision and transformers, and either
network access to download the weights or the weights already in the torch/Hugging Face caches
(set HF_HUB_OFFLINE=1 to forbid downloads). PixelRec-MM itself never needs Python: it loads the
exported files with LibTorch.

For every --model NAME it writes into --out:
  NAME.pt          the backbone, traced with torch.jit.trace, in eval mode, on the CPU
  NAME.json        the sidecar that tells pixelrec how to prepare inputs and read outputs
  NAME_vocab.txt   text models only: the WordPiece vocab, one token per line (line number = id)

Vision modules take float32 [B, 3, S, S] RGB images in [0, 1], normalised with the sidecar's
mean/std after the shorter side is resized to "resize" and the centre "input_size" square is
cropped. Sidecar: {"kind": "vision", "input_size", "resize", "mean", "std",
"output": "pooled" ([B, D]) | "feature_map" ([B, D, H, W], mean-pooled by pixelrec), "dim": D}.

Text modules take int64 input_ids and attention_mask, both [B, T], built by pixelrec's WordPiece
tokenizer ([CLS] ... [SEP], then [PAD]). Sidecar: {"kind": "text", "vocab", "lowercase",
"strip_accents", "max_length", "output": "token_embeddings" ([B, T, H], masked-mean-pooled by
pixelrec) | "pooled" ([B, H]), "dim": H}. In the vocab file the model's own special tokens are
named [CLS], [SEP], [PAD] and [UNK] (MPNet's <s>, </s>, <pad> get those names), so one tokenizer
serves every model. Only WordPiece models are accepted ("roberta" is the Chinese RoBERTa-wwm,
which uses a BERT WordPiece vocab; English RoBERTa's byte-level BPE cannot be reproduced).

Each export is checked before it is written: the traced module must reproduce the eager model on
a batch and (text) a sequence length it was not traced with.

Examples:
  python3 tools/export_backbones.py --model resnet --out models/backbones
  python3 tools/export_backbones.py --model all --out models/backbones
  python3 tools/export_backbones.py --model bert --hf-name bert-base-chinese --out models/backbones
See docs/backbones.md.
"""

import argparse
import json
import pathlib
import sys

# Default weights per backbone name. Vision: (source, identifier); text: Hugging Face model id.
# roberta is the Chinese RoBERTa-wwm (BERT architecture, WordPiece vocab): the original English
# RoBERTa uses a byte-level BPE tokenizer that pixelrec's WordPiece tokenizer cannot reproduce.
VISION_MODELS = {
    "resnet": ("torchvision", "resnet50"),
    "convnext": ("torchvision", "convnext_tiny"),
    "clip": ("huggingface", "openai/clip-vit-base-patch32"),
    "dino": ("huggingface", "facebook/dinov2-small"),
}
TEXT_MODELS = {
    "sentence-bert": "sentence-transformers/all-MiniLM-L6-v2",
    "mpnet": "sentence-transformers/all-mpnet-base-v2",
    "bert": "bert-base-uncased",
    "roberta": "hfl/chinese-roberta-wwm-ext",
}
SPECIAL_ROLES = ("[CLS]", "[SEP]", "[PAD]", "[UNK]")
TOLERANCE = 1e-4  # max |traced - eager| accepted by the self-check


def fail(message):
    sys.exit(f"export_backbones.py: {message}")


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
        clip = CLIPModel.from_pretrained(identifier, torchscript=True)

        class ClipImage(torch.nn.Module):
            """get_image_features without the text tower (which would be saved too)."""

            def __init__(self):
                super().__init__()
                self.vision = clip.vision_model
                self.projection = clip.visual_projection

            def forward(self, pixel_values):
                return self.projection(self.vision(pixel_values=pixel_values)[1])

        body = ClipImage()
    else:
        backbone = AutoModel.from_pretrained(identifier, torchscript=True)

        class ClsToken(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.backbone = backbone

            def forward(self, pixel_values):
                return self.backbone(pixel_values=pixel_values)[0][:, 0]  # [B, D]

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


def export_vision(name, identifier, out_dir):
    import torch

    source, default_id = VISION_MODELS[name]
    identifier = identifier or default_id
    if source == "torchvision":
        body, output, geometry = _torchvision_vision(identifier)
    else:
        body, output, geometry = _huggingface_vision(identifier)
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
    sidecar = {"kind": "vision", **geometry, "output": output, "dim": int(actual.shape[1])}
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


def export_text(name, identifier, out_dir, max_length):
    import torch
    from transformers import AutoModel, AutoTokenizer

    identifier = identifier or TEXT_MODELS[name]
    tokenizer = AutoTokenizer.from_pretrained(identifier, use_fast=True)
    encoder = AutoModel.from_pretrained(identifier, torchscript=True)

    class TokenEmbeddings(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids, attention_mask):
            return self.encoder(input_ids=input_ids, attention_mask=attention_mask)[0]

    body = TokenEmbeddings().eval()
    model_limit = tokenizer.model_max_length if tokenizer.model_max_length < 100_000 else 512
    max_length = min(max_length, model_limit)
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
        check = batch(3, min(7, max_length))
        expected, actual = body(*check), traced(*check)
    _compare(name, expected, actual)
    lowercase, strip_accents = _lowercase_flags(tokenizer)
    vocab_name = f"{name}_vocab.txt"
    (out_dir / vocab_name).write_text("\n".join(vocab) + "\n", encoding="utf-8")
    sidecar = {
        "kind": "text",
        "vocab": vocab_name,
        "lowercase": lowercase,
        "strip_accents": strip_accents,
        "max_length": int(max_length),
        "output": "token_embeddings",
        "dim": int(actual.shape[-1]),
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


def _write(out_dir, name, traced, sidecar):
    import torch

    module_path, sidecar_path = out_dir / f"{name}.pt", out_dir / f"{name}.json"
    torch.jit.save(traced, str(module_path))
    sidecar_path.write_text(json.dumps(sidecar, indent=2) + "\n", encoding="utf-8")
    print(f"{name}: wrote {module_path} and {sidecar_path} (dim {sidecar['dim']})")


def parse_args(argv):
    names = list(VISION_MODELS) + list(TEXT_MODELS)
    defaults = [f"  {n:14} {VISION_MODELS[n][1]} ({VISION_MODELS[n][0]})" for n in VISION_MODELS]
    defaults += [f"  {n:14} {TEXT_MODELS[n]} (huggingface)" for n in TEXT_MODELS]
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
    parser.add_argument("--max-length", type=int, default=128,
                        help="text models: tokens per text incl. [CLS]/[SEP], capped by the "
                        "model's limit (default: %(default)s); features.text_max_length can only "
                        "lower it")
    args = parser.parse_args(argv)
    args.model = names if "all" in args.model else list(dict.fromkeys(args.model))
    if args.hf_name and len(args.model) != 1:
        parser.error("--hf-name needs exactly one --model")
    if args.max_length < 3:
        parser.error("--max-length must be at least 3 ([CLS], one token, [SEP])")
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        import torch
    except ImportError:
        fail("needs PyTorch (pip install torch torchvision transformers)")
    torch.set_grad_enabled(False)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.model:
        if name in VISION_MODELS:
            export_vision(name, args.hf_name, args.out)
        else:
            export_text(name, args.hf_name, args.out, args.max_length)


if __name__ == "__main__":
    main()
