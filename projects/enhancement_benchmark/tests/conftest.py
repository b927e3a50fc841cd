"""The study's tests reuse the library tests' fixtures and helpers (``tests/conftest.py``).

That file is loaded here under its own module name (this folder is a package, so pytest imports
this file as ``projects.enhancement_benchmark.tests.conftest``): the library tests' ``conftest``
module stays theirs when both folders run in one pytest session, and the study's tests import
from ``.conftest``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_PATH = Path(__file__).resolve().parents[3] / 'tests' / 'conftest.py'
_spec = importlib.util.spec_from_file_location('mmlesion_tests_conftest', _PATH)
library_conftest = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = library_conftest
_spec.loader.exec_module(library_conftest)

# Fixtures (pytest collects them from this module's names) and the helpers the tests import.
_ieee_subnormals_after_each_test = library_conftest._ieee_subnormals_after_each_test
data_root = library_conftest.data_root
trained_detector = library_conftest.trained_detector
DEMO_CONFIGS = library_conftest.DEMO_CONFIGS
DEMO_DETECTOR = library_conftest.DEMO_DETECTOR
DEMO_ENHANCER = library_conftest.DEMO_ENHANCER
REPO_ROOT = library_conftest.REPO_ROOT
data_options = library_conftest.data_options
detector_options = library_conftest.detector_options
enhancer_options = library_conftest.enhancer_options
