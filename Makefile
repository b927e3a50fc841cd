# mmlesion — the two commands a newcomer needs:
#   make demo   generate the synthetic DeepLesion set, train and evaluate (CPU, minutes)
#   make test   run the test suite
# Both create the virtualenv .venv/ first when it is missing.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.mmlesion-installed
# The packages mmcv's sdist build imports, taken from requirements.txt so the pins live in one place.
MMCV_BUILD_DEPS = $(shell grep -E '^(torch|numpy|opencv-python)==' requirements.txt)
MMCV_PIN = $(shell grep -E '^mmcv==' requirements.txt)

.PHONY: venv demo test lint clean-venv

venv: $(STAMP)

$(STAMP): requirements.txt setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q $(MMCV_BUILD_DEPS) wheel ninja
	@# mmcv's setup.py imports pkg_resources; torch itself asks for a newer setuptools,
	@# which step 3 restores once mmcv is built.
	$(PIP) install -q "setuptools<70"
	MMCV_WITH_OPS=1 $(PIP) install --no-build-isolation $(MMCV_PIN)
	$(PIP) install -q -r requirements.txt
	$(PIP) install -q --no-build-isolation -e .
	$(PY) -c "import cv2, mmcv.ops, mmdet, mmlesion; print('mmlesion', mmlesion.__version__, 'mmcv', mmcv.__version__, 'mmdet', mmdet.__version__)"
	@# The fused CPU GLCAE kernel is optional for pip users, not here: a C++ compiler is already
	@# needed for mmcv, and the tests compare the kernel with the torch ops.
	$(PY) -c "from mmlesion.enhancement import native; assert native.available(), 'mmlesion.enhancement._glcae_native was not built: see the pip log above'; print('fused CPU GLCAE kernel: built')"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) projects/enhancement_benchmark/tools/run_demo.py --work-dir work_dirs/demo

test: $(STAMP)
	$(PY) -m pytest -q tests projects/enhancement_benchmark/tests

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean-venv:
	rm -rf $(VENV)
