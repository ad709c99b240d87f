# Finds LibTorch inside the pinned PyPI torch wheel (CUDA 13.0 build) that scripts/install_torch.sh
# installs once per machine, outside the clone, so that a plain `cmake -S . -B build` needs no
# flags. An explicit -DTorch_DIR=... or CMAKE_PREFIX_PATH still wins. Sets PIXELREC_WITH_CUDA when
# the LibTorch found has CUDA (the NCCL communicator and --device cuda are then compiled).
file(STRINGS ${CMAKE_CURRENT_LIST_DIR}/torch-version.txt PIXELREC_TORCH_VERSION LIMIT_COUNT 1)

set(_pixelrec_torch_homes "")
if(DEFINED ENV{PIXELREC_TORCH_HOME})
  list(APPEND _pixelrec_torch_homes "$ENV{PIXELREC_TORCH_HOME}")
endif()
list(APPEND _pixelrec_torch_homes "/opt/pixelrec-mm/torch-${PIXELREC_TORCH_VERSION}")
if(DEFINED ENV{XDG_CACHE_HOME})
  list(APPEND _pixelrec_torch_homes "$ENV{XDG_CACHE_HOME}/pixelrec-mm/torch-${PIXELREC_TORCH_VERSION}")
endif()
if(DEFINED ENV{HOME})
  list(APPEND _pixelrec_torch_homes "$ENV{HOME}/.cache/pixelrec-mm/torch-${PIXELREC_TORCH_VERSION}")
endif()
list(APPEND _pixelrec_torch_homes "/opt/torch/.venv")  # the lent GPU machine's preinstalled torch

foreach(home ${_pixelrec_torch_homes})
  file(GLOB _torch_cmake_dirs "${home}/lib/python3*/site-packages/torch/share/cmake")
  if(_torch_cmake_dirs)
    list(GET _torch_cmake_dirs 0 _torch_cmake_dir)
    list(APPEND CMAKE_PREFIX_PATH "${_torch_cmake_dir}")
    # The venv's python and `make backbones`' exports (tests/pretrained use both).
    set(PIXELREC_TORCH_HOME_DIR "${home}")
    break()
  endif()
endforeach()

# LibTorch 2's CMake files look for the CUDA toolkit; the toolkit's usual home is not always on PATH.
if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
  set(CUDAToolkit_ROOT /usr/local/cuda CACHE PATH "CUDA toolkit used by LibTorch's CMake files")
endif()

# No CUDA kernels of our own are compiled: the list only keeps LibTorch's CMake files quiet.
if(NOT DEFINED ENV{TORCH_CUDA_ARCH_LIST})
  set(ENV{TORCH_CUDA_ARCH_LIST} "8.0;9.0")
endif()
find_package(Torch QUIET)
if(NOT Torch_FOUND)
  message(FATAL_ERROR
    "LibTorch was not found. Run scripts/install_torch.sh (make bootstrap runs it): it installs "
    "PyPI's torch ${PIXELREC_TORCH_VERSION} once per machine into "
    "/opt/pixelrec-mm/torch-${PIXELREC_TORCH_VERSION} (or PIXELREC_TORCH_HOME). To use another "
    "LibTorch, pass -DTorch_DIR=<prefix>/share/cmake/Torch.")
endif()
if(DEFINED Torch_VERSION AND NOT Torch_VERSION VERSION_EQUAL PIXELREC_TORCH_VERSION)
  message(WARNING "LibTorch ${Torch_VERSION} found, the project is tested with "
                  "${PIXELREC_TORCH_VERSION} (cmake/torch-version.txt)")
endif()
get_filename_component(PIXELREC_TORCH_LIB_DIR "${TORCH_LIBRARY}" DIRECTORY)

# A cache entry (read-only in effect: recomputed on every configure), so CMakeCache.txt shows
# whether this build compiles the CUDA code.
set(_pixelrec_cuda OFF)
if(TORCH_CUDA_LIBRARIES OR CAFFE2_USE_CUDA)
  set(_pixelrec_cuda ON)
endif()
set(PIXELREC_WITH_CUDA ${_pixelrec_cuda} CACHE BOOL
    "LibTorch has CUDA: the NCCL communicator and --device cuda are compiled (detected)" FORCE)
if(PIXELREC_WITH_CUDA)
  # ProcessGroupNCCL.hpp includes <nccl.h>: the header of the NCCL the wheel ships (its
  # nvidia-nccl dependency) first, else the CUDA toolkit's.
  get_filename_component(_torch_site "${PIXELREC_TORCH_LIB_DIR}/../.." ABSOLUTE)
  find_path(PIXELREC_NCCL_INCLUDE_DIR nccl.h
            HINTS "${_torch_site}/nvidia/nccl/include" /usr/local/cuda/include)
  if(NOT PIXELREC_NCCL_INCLUDE_DIR)
    message(FATAL_ERROR "LibTorch has CUDA but nccl.h was found neither in the wheel's "
                        "nvidia/nccl/include nor in /usr/local/cuda/include")
  endif()
endif()
message(STATUS "LibTorch ${Torch_VERSION} in ${PIXELREC_TORCH_LIB_DIR} (CUDA: ${PIXELREC_WITH_CUDA})")

# The wheel ships fmt 12 headers in its include directory; spdlog is built against Debian's fmt.
# A directory placed ahead of LibTorch's makes every <fmt/...> resolve to the system fmt.
set(_system_fmt_dir "${CMAKE_BINARY_DIR}/system-fmt")
find_path(PIXELREC_SYSTEM_FMT_INCLUDE fmt/format.h PATHS /usr/include NO_DEFAULT_PATH)
if(PIXELREC_SYSTEM_FMT_INCLUDE AND NOT EXISTS "${_system_fmt_dir}/fmt")
  file(MAKE_DIRECTORY "${_system_fmt_dir}")
  file(CREATE_LINK "${PIXELREC_SYSTEM_FMT_INCLUDE}/fmt" "${_system_fmt_dir}/fmt" SYMBOLIC)
endif()
if(EXISTS "${_system_fmt_dir}/fmt")
  include_directories(BEFORE SYSTEM "${_system_fmt_dir}")
endif()

# The wheel's libtorch.so exports its own static copy of std::filesystem (remove_all, equivalent,
# ...) that crashes when our code calls it (seen: a null call inside remove_all). The dynamic
# linker binds a symbol to the first library in DT_NEEDED order: naming libstdc++ before anything
# else on every link line makes those calls go to the system's libstdc++.
add_link_options("LINKER:--push-state,--no-as-needed,-lstdc++,--pop-state")
