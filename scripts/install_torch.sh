#!/usr/bin/env bash
# Installs the pinned PyPI torch wheel (its C++ LibTorch, CUDA 13.0 build) once per machine, into a
# virtual environment outside any clone, so later clones and CI reuse it without downloading again.
# Prints one status line when it is already there. cmake/PixelrecTorch.cmake looks in the same
# places (PIXELREC_TORCH_HOME first); the version is pinned in cmake/torch-version.txt.
set -euo pipefail

source "$(dirname "$0")/torch_home.sh"
MARKER="$TORCH_HOME_DIR/.pixelrec-installed"

if [ -f "$MARKER" ]; then
  echo "install_torch: torch $TORCH_VERSION present in $TORCH_HOME_DIR"
  exit 0
fi

PYTHON="${PIXELREC_PYTHON:-$(command -v python3 || true)}"
if [ -z "$PYTHON" ]; then
  echo "install_torch: python3 is needed to install the torch wheel (apt-get install python3-venv)" >&2
  exit 1
fi

echo "install_torch: installing torch $TORCH_VERSION (CUDA 13.0 build, ~2.7 GB download) into $TORCH_HOME_DIR"
mkdir -p "$(dirname "$TORCH_HOME_DIR")"
# A partial environment from an interrupted run is replaced, never half-reused.
staging="$TORCH_HOME_DIR.partial"
rm -rf "$staging"
"$PYTHON" -m venv "$staging"
"$staging/bin/python3" -m pip install --quiet --no-cache-dir --disable-pip-version-check \
  "torch==${TORCH_VERSION}"
"$staging/bin/python3" -c "import torch, sys; sys.exit(0 if torch.version.cuda else 1)" || {
  echo "install_torch: the installed torch has no CUDA build (torch.version.cuda is empty)" >&2
  exit 1
}
# A venv records its own path; recreate its scripts at the final place before moving it there.
mv "$staging" "$TORCH_HOME_DIR"
"$PYTHON" -m venv --upgrade "$TORCH_HOME_DIR" >/dev/null
"$TORCH_HOME_DIR/bin/python3" -c "import torch; print(torch.__version__, torch.version.cuda)" \
  > "$MARKER"
echo "install_torch: done ($(cat "$MARKER"))"
