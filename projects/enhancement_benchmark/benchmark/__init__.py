"""The enhancement benchmark: the study around mmlesion, kept out of the installable package.

The main job (synthetic data → detector → frozen detector + enhancer → report,
:mod:`.demo`), the multi-seed synthetic benchmark, detector transfer, timing and the reports.
It imports :mod:`mmlesion`, never the reverse. Its command-line shells are in
``projects/enhancement_benchmark/tools/``.
"""
