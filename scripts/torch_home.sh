# Sourced by install_torch.sh and install_backbones.sh: where the pinned torch wheel lives on this
# machine. Sets TORCH_VERSION and TORCH_HOME_DIR (PIXELREC_TORCH_HOME first; cmake/PixelrecTorch.cmake
# looks in the same places).
TORCH_VERSION="$(head -n1 "$(dirname "${BASH_SOURCE[0]}")/../cmake/torch-version.txt")"
default_torch_home() {
  if [ "$(id -u)" -eq 0 ] || [ -w /opt ]; then echo "/opt/pixelrec-mm/torch-${TORCH_VERSION}"
  else echo "${XDG_CACHE_HOME:-$HOME/.cache}/pixelrec-mm/torch-${TORCH_VERSION}"; fi
}
TORCH_HOME_DIR="${PIXELREC_TORCH_HOME:-$(default_torch_home)}"
