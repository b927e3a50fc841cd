"""Stop an epoch-based training when its wall-clock budget would run out."""

from __future__ import annotations

import time

from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.logging import print_log


@HOOKS.register_module()
class TrainTimeBudgetHook(Hook):
    """End training at an epoch boundary before ``max_seconds`` of wall-clock time are spent.

    For runs that must fit a fixed time slot (a lent GPU, a CI budget): after each training
    epoch the hook estimates, from the slowest epoch so far, whether one more epoch still fits;
    if not it sets ``runner.train_loop.stop_training`` (the flag mmengine's
    ``EarlyStoppingHook`` uses), so that epoch's validation and checkpoints still happen and
    the best checkpoint is kept as usual. ``max_epochs`` stays the upper bound.

    Args:
        max_seconds: the training budget in seconds, counted from ``before_train``
            (validation passes included).
    """

    priority = 'LOW'

    def __init__(self, max_seconds: float) -> None:
        if not max_seconds > 0:
            raise ValueError(f'TrainTimeBudgetHook: max_seconds must be > 0, got {max_seconds}')
        self.max_seconds = float(max_seconds)
        self._start: float | None = None  # None outside training (e.g. a val-only run)
        self._epoch_start = 0.0
        self._longest_epoch = 0.0

    def before_train(self, runner) -> None:
        self._start = time.perf_counter()
        self._longest_epoch = 0.0

    def before_train_epoch(self, runner) -> None:
        self._epoch_start = time.perf_counter()

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._check(runner)

    def after_train_epoch(self, runner) -> None:
        # Epochs without a validation pass are checked here; with one, after it as well.
        self._check(runner)

    def _check(self, runner) -> None:
        if self._start is None:
            return
        now = time.perf_counter()
        self._longest_epoch = max(self._longest_epoch, now - self._epoch_start)
        spent = now - self._start
        if spent + self._longest_epoch > self.max_seconds and not runner.train_loop.stop_training:
            runner.train_loop.stop_training = True
            print_log(
                f'TrainTimeBudgetHook: {spent:.0f} s of {self.max_seconds:.0f} s spent and an '
                f'epoch takes up to {self._longest_epoch:.0f} s: training stops after this epoch.',
                logger='current',
            )
