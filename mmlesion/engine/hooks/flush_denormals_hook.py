"""Turn on the CPU's flush-to-zero mode for every run (:mod:`mmlesion.utils.denormals`)."""

from __future__ import annotations

import logging

import torch
from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmlesion.utils.denormals import denormals_flushed, flush_denormals, flushes_on_this_thread


@HOOKS.register_module()
class FlushDenormalsHook(Hook):
    """Flush subnormal floats to zero from the start of the run (training, validation, test).

    Without it, a CPU run slows down as AdamW decays unused weights into the subnormal range
    (:mod:`mmlesion.utils.denormals`). It is in
    every mmlesion config's ``default_hooks`` (``configs/_base_/default_runtime.py``); set
    ``default_hooks.flush_denormals=None`` to run without it.

    The mode is per thread: torch's intra-op threads started before this hook keep theirs, so
    ``tools/`` also call :func:`~mmlesion.utils.flush_denormals` first thing. The hook warns
    when a thread still computes subnormals (the run is then correct, only slower). After the
    run it gives the calling thread back the mode it found, so that a Runner inside a larger
    program (a test suite) leaves no global state behind.
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._found_flushing = True

    def before_run(self, runner) -> None:
        self._found_flushing = flushes_on_this_thread()
        if not flush_denormals():
            print_log(
                'FlushDenormalsHook: this CPU cannot flush subnormal floats to zero; '
                'the run goes on without it',
                logger='current',
                level=logging.WARNING,
            )
        elif not denormals_flushed():
            print_log(
                'FlushDenormalsHook: some intra-op threads were started before the '
                'flush-to-zero mode was set and still compute subnormal floats (slowly); call '
                'mmlesion.utils.flush_denormals() before the first torch operation',
                logger='current',
                level=logging.WARNING,
            )

    def after_run(self, runner) -> None:
        if not self._found_flushing:
            torch.set_flush_denormal(False)
