"""The main job and its experiments, kept apart from the user-facing :mod:`mmlesion.apis`:
the demo pipeline (synthetic data → detector → frozen detector + enhancer → report), the
multi-seed synthetic benchmark, detector transfer, inference timing and the reports.

Thin command-line shells over these live in ``tools/`` (``run_demo.py``,
``analysis_tools/synthetic_benchmark.py``, ``analysis_tools/detector_transfer.py``,
``analysis_tools/benchmark_inference.py``).
"""
