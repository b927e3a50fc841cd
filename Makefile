# mmlesion — the two commands a newcomer needs:
#   make demo   generate the synthetic DeepLesion set, train and evaluate (CPU, minutes)
#   make test   run the test suite
# Both create the virtualenv .venv/ first when it is missing. A CUDA machine runs
# `make venv-cuda` once first (CUDA=cu130 by default); `make demo` / `make test` then use it.
# Every pin lives in requirements/*.txt; the CPU and CUDA recipes below are one recipe.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.mmlesion-installed
REQ := requirements
# numpy and OpenCV, which mmcv's source build imports, from the one place they are pinned.
MMCV_IMPORTS = $(shell grep -E '^(numpy|opencv-python)==' $(REQ)/runtime.txt)
# Empty: the CPU build of torch (and mmcv's CPU ops). cu130, cu128, ...: the CUDA build of the same
# torch from the PyTorch index, torchvision beside it, and mmcv compiled with FORCE_CUDA=1.
CUDA ?=
ifeq ($(CUDA),)
TORCH_INSTALL = $(PIP) install -q -r $(REQ)/torch.txt
MMCV_FLAGS = MMCV_WITH_OPS=1
CHECK_FLAGS =
else
TORCH_INSTALL = $(PIP) install -q -r $(REQ)/torch.txt -r $(REQ)/optional.txt \
	--index-url https://download.pytorch.org/whl/$(CUDA) --extra-index-url https://pypi.org/simple
MMCV_FLAGS = MMCV_WITH_OPS=1 FORCE_CUDA=1
CHECK_FLAGS = --cuda
endif

.PHONY: venv venv-cuda demo test lint clean-venv

venv: $(STAMP)

$(STAMP): requirements.txt $(wildcard $(REQ)/*.txt) setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(TORCH_INSTALL)
	$(PIP) install -q -r $(REQ)/build.txt $(MMCV_IMPORTS)
	$(MMCV_FLAGS) $(PIP) install --no-build-isolation -r $(REQ)/mmcv.txt
	@# torch's own setuptools requirement comes back here, once mmcv is built.
	$(PIP) install -q -r requirements.txt
	@# --no-build-isolation: the fused CPU GLCAE kernel compiles against the torch above.
	$(PIP) install -q --no-build-isolation -e .
	$(PY) tools/misc/check_install.py --require-native-kernel $(CHECK_FLAGS)
	touch $(STAMP)

venv-cuda:
	rm -f $(STAMP)
	$(MAKE) venv CUDA=$(or $(CUDA),cu130)

demo: $(STAMP)
	$(PY) projects/enhancement_benchmark/tools/run_demo.py --work-dir work_dirs/demo

test: $(STAMP)
	$(PY) -m pytest -q tests projects/enhancement_benchmark/tests

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean-venv:
	rm -rf $(VENV)
