#!/usr/bin/env bash
# Prepares, on a CPU machine of the project, everything scripts/device_check.sh needs on the lent
# GPU machine (which has torch, nvcc, CMake and ninja but none of the Debian -dev libraries and no
# network), in .device-kit/ (git-ignored, well under 60 MiB):
#   sysroot.tar.xz  the Debian files the build includes and links: the exact system headers the
#                   compiler read here (ninja's dependency log), CMake package files, and the
#                   libraries, extracted from `apt-get download`ed .debs of the installed versions
#   prebuilt/       pixelrec-torch and bench_device built here against the same torch 2.11.0+cu130
#                   (used only when building on the GPU machine fails; the JSON says which ran)
#   data/           the `small` synthetic dataset: its split, item table and feature store
#   device.yaml     the configuration the check trains with
# Usage: bash scripts/device_kit.sh [BUILD_DIR]   (after `make build`)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build}"
KIT=.device-kit
ARCH_LIB=/usr/lib/x86_64-linux-gnu
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

say() { echo "device_kit: $*"; }
[ -f "$BUILD/build.ninja" ] || { echo "device_kit: no build in $BUILD; run make build first" >&2; exit 1; }
cmake --build "$BUILD" --target pixelrec pixelrec-torch bench_device >/dev/null

rm -rf "$KIT"
mkdir -p "$KIT/prebuilt" "$KIT/data"

# --- 1. System headers the build read, minus the C/C++ runtime the GPU machine's compiler brings.
say "collecting the system headers the build includes"
ninja -C "$BUILD" -t deps | awk '/^    \/usr\//{print $1}' | grep -v '^/usr/local/' | sort -u \
  > "$WORK/headers"
xargs -a "$WORK/headers" dpkg -S 2>/dev/null | sed 's/: /\t/' > "$WORK/header_owners" || true
EXCLUDED='^(libc6-dev|linux-libc-dev|libstdc\+\+-[0-9]+-dev|libgcc-[0-9]+-dev|libgomp1|libcrypt-dev)(:amd64)?$'
awk -F'\t' '{print $1"\t"$2}' "$WORK/header_owners" | while IFS=$'\t' read -r pkgs file; do
  first="${pkgs%%,*}"
  if ! [[ "$first" =~ $EXCLUDED ]]; then echo "$file"; fi
done | sort -u > "$WORK/kit_headers"

# --- 2. Libraries: what the link line names (and what they point to) and what pixelrec-torch and
# bench_device load at run time, except LibTorch/CUDA and the C/C++ runtime.
say "collecting the libraries the build links"
link_libs() {
  awk -v t="build $1:" 'index($0, t) == 1 {f = 1} f && /LINK_LIBRARIES/ {print; exit}' \
    "$BUILD/build.ninja" | tr ' ' '\n' | grep -E '^/usr/lib/.*\.so' || true
}
{
  link_libs src/pixelrec-torch
  link_libs bench/bench_device
  for exe in "$BUILD/src/pixelrec-torch" "$BUILD/bench/bench_device"; do
    ldd "$exe" | awk '/=> \//{print $3}'
  done
} | grep -vE '/torch/lib/|/nvidia/|/usr/local/cuda|/(libc|libm|libdl|libpthread|librt|ld-linux-x86-64|libstdc\+\+|libgcc_s)\.so' \
  | sort -u > "$WORK/libs_named"
: > "$WORK/libs"
while read -r lib; do
  echo "$lib" >> "$WORK/libs"
  real="$(readlink -f "$lib")"
  echo "$real" >> "$WORK/libs"
  # The soname link (libfoo.so.N) the loader looks for.
  soname="$(objdump -p "$real" 2>/dev/null | awk '/SONAME/{print $2}')"
  [ -n "$soname" ] && echo "$(dirname "$real")/$soname" >> "$WORK/libs"
done < "$WORK/libs_named"
# /lib is /usr/lib on Debian 12 (merged /usr): name every library by its /usr path.
sed -i 's|^/lib/|/usr/lib/|' "$WORK/libs"
sort -u -o "$WORK/libs" "$WORK/libs"

# --- 3. CMake and pkg-config files of the packages found by find_package / pkg_check_modules.
say "collecting CMake package files"
DEV_PACKAGES=(libyaml-cpp-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libcli11-dev
  libboost1.74-dev libutf8proc-dev libsqlite3-dev libhdf5-dev libgloo-dev)
for pkg in "${DEV_PACKAGES[@]}"; do
  dpkg -L "$pkg" 2>/dev/null | grep -E '/(cmake|pkgconfig)/.+\.(cmake|pc)$' || true
done | sort -u > "$WORK/package_files"
# h5cc is how FindHDF5 learns Debian's serial HDF5 layout (a shell script); pkg-config finds
# utf8proc; the report library embeds Debian's Chart.js at configure time.
{
  echo /usr/bin/h5cc
  echo /usr/bin/pkgconf
  echo /usr/bin/pkg-config
  echo "$ARCH_LIB/libpkgconf.so.3"
  readlink -f "$ARCH_LIB/libpkgconf.so.3"
  echo /usr/share/javascript/chart.js/chart.min.js
} >> "$WORK/package_files"

# --- 4. Every file above, taken from the .debs of the installed package versions.
say "downloading the .debs of $(cat "$WORK/kit_headers" "$WORK/libs" "$WORK/package_files" | wc -l) files"
cat "$WORK/kit_headers" "$WORK/libs" "$WORK/package_files" | sort -u > "$WORK/wanted"
xargs -a "$WORK/wanted" dpkg -S 2>/dev/null | cut -d: -f1 | tr ',' '\n' | tr -d ' ' | sort -u \
  > "$WORK/packages" || true
# Files dpkg knows only under their /lib name (merged /usr) are found there.
sed 's|^/usr/lib/|/lib/|' "$WORK/libs" | xargs dpkg -S 2>/dev/null | cut -d: -f1 | tr ',' '\n' \
  | tr -d ' ' >> "$WORK/packages" || true
sort -u -o "$WORK/packages" "$WORK/packages"
mkdir -p "$WORK/debs" "$WORK/extracted" "$WORK/sysroot"
(
  cd "$WORK/debs"
  while read -r pkg; do
    version="$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || true)"
    [ -n "$version" ] || continue
    apt-get download -qq "$pkg=$version" 2>/dev/null || apt-get download -qq "$pkg"
  done < "$WORK/packages"
)
for deb in "$WORK"/debs/*.deb; do dpkg-deb -x "$deb" "$WORK/extracted"; done
# Merged /usr: a .deb may carry a library under /lib; the kit names it under /usr/lib.
if [ -d "$WORK/extracted/lib" ]; then
  mkdir -p "$WORK/extracted/usr/lib"
  cp -a "$WORK/extracted/lib/." "$WORK/extracted/usr/lib/"
fi
missing=0
while read -r file; do
  if [ -e "$WORK/extracted$file" ] || [ -L "$WORK/extracted$file" ]; then
    mkdir -p "$WORK/sysroot$(dirname "$file")"
    cp -a "$WORK/extracted$file" "$WORK/sysroot$file"
  else
    missing=$((missing + 1))
    echo "  not in any downloaded .deb: $file" >> "$WORK/missing"
  fi
done < "$WORK/wanted"
[ "$missing" -eq 0 ] || { say "$missing files were in no .deb:"; head -20 "$WORK/missing"; }

# OpenCV's own CMake files describe all of its ~50 modules; the build uses three.
mkdir -p "$WORK/sysroot/usr/share/pixelrec-device-kit/opencv"
cat > "$WORK/sysroot/usr/share/pixelrec-device-kit/opencv/OpenCVConfig.cmake" <<'CMAKE'
# Written by scripts/device_kit.sh: the three OpenCV modules the build links, from the kit.
set(OpenCV_VERSION 4.6.0)
set(OpenCV_INCLUDE_DIRS /usr/include/opencv4)
foreach(module core imgproc imgcodecs)
  if(NOT TARGET opencv_${module})
    add_library(opencv_${module} SHARED IMPORTED)
    set_target_properties(opencv_${module} PROPERTIES
      IMPORTED_LOCATION /usr/lib/x86_64-linux-gnu/libopencv_${module}.so.406
      INTERFACE_INCLUDE_DIRECTORIES /usr/include/opencv4)
  endif()
endforeach()
set(OpenCV_LIBS opencv_core opencv_imgproc opencv_imgcodecs)
set(OpenCV_FOUND TRUE)
CMAKE
dpkg-query -W -f='${Package} ${Version}\n' $(cat "$WORK/packages") > "$KIT/packages.txt" 2>/dev/null || true
tar -C "$WORK/sysroot" -cJf "$KIT/sysroot.tar.xz" .
say "sysroot: $(find "$WORK/sysroot" -type f | wc -l) files from $(wc -l < "$KIT/packages.txt") packages, $(du -h "$KIT/sysroot.tar.xz" | cut -f1) compressed"

# --- 5. The fallback binaries.
for exe in src/pixelrec-torch bench/bench_device; do
  cp "$BUILD/$exe" "$KIT/prebuilt/"
  strip "$KIT/prebuilt/$(basename "$exe")"
done

# --- 6. The dataset: `small` preset, leave-one-out split, feature store (no images carried).
say "generating the small dataset and its feature store"
PIXELREC="$BUILD/src/pixelrec"
D="$KIT/data"
cat > "$KIT/device.yaml" <<YAML
# Written by scripts/device_kit.sh for scripts/device_check.sh (paths relative to the repo root).
data:
  item_info_path: $D/raw/item_info.csv
  interactions_path: $D/raw/interactions.csv
  image_folder: $D/raw/images
  processed_item_info_path: $D/processed/item_info.csv
  processed_interactions_path: $D/processed/interactions.csv
  processed_image_destination_folder: $D/processed/images
  scaler_path: $D/processed/numerical_scaler.json
  split_data_path: $D/splits/leave_one_out
  cache_config:
    cache_directory: $D/cache
  splitting:
    strategy: leave_one_out
    min_interactions_per_user: 5
    min_interactions_per_item: 3
checkpoint_dir: device-out/checkpoints
results_dir: device-out/results
model:
  embedding_dim: 64
  fusion_hidden_dims: [256, 128]
training:
  epochs: 3
  batch_size: 1024
  learning_rate: 0.005
  patience: 3
  early_stopping_metric: val_ndcg@10
evaluation:
  k_values: [5, 10, 20]
  num_negatives: 100
YAML
"$PIXELREC" synth --preset small --out "$D/raw" >/dev/null
"$PIXELREC" preprocess -c "$KIT/device.yaml" >/dev/null
"$PIXELREC" split -c "$KIT/device.yaml" >/dev/null
"$PIXELREC" cache -c "$KIT/device.yaml" >/dev/null
rm -rf "$D/raw/images" "$D/processed/images"
say "done: $(du -sh "$KIT" | cut -f1) in $KIT (carry it with the run: carry [\"$KIT\"])"
