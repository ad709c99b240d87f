#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages PixelRec-MM needs that are missing; installs nothing else.
# Idempotent: a second run finds everything present and does no apt work at all.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libtorch-dev libgloo-dev libopenblas0-pthread
  libopenmpi-dev openmpi-bin
  libhdf5-dev libyaml-cpp-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libcli11-dev
  libboost-dev libopencv-dev libutf8proc-dev
  libsqlite3-dev zlib1g-dev
  nodejs npm chromium
  googletest libgtest-dev libgmock-dev libbenchmark-dev
)

# Packages whose command may come from elsewhere: NodeSource's nodejs bundles npm and conflicts
# with Debian's npm package, so a working command counts as installed.
declare -A PROVIDED_BY_COMMAND=([nodejs]=node [npm]=npm [chromium]=chromium)

missing=()
for pkg in "${PACKAGES[@]}"; do
  command_name="${PROVIDED_BY_COMMAND[$pkg]:-}"
  if [ -n "$command_name" ] && command -v "$command_name" >/dev/null 2>&1; then
    continue
  fi
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "bootstrap: all ${#PACKAGES[@]} packages present"
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
