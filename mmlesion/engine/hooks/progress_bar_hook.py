"""Progress bars for training, validation and testing."""

from __future__ import annotations

import torch
from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from tqdm import tqdm


@HOOKS.register_module()
class ProgressBarHook(Hook):
    """Show a tqdm bar over all training iterations (with the latest loss and the best
    validation value) and one per validation / test pass.

    Add it with ``custom_hooks = [..., dict(type='ProgressBarHook')]``. The log keeps its usual
    lines; the bars go to stderr, when it is a terminal (redirected to a file, no bars).

    Args:
        monitor: the validation metric shown on the training bar.
        desc: a label for the bars (e.g. the stage of a pipeline).
        disable: ``None`` shows the bars only when stderr is a terminal; ``True`` never,
            ``False`` always.
    """

    priority = 'VERY_LOW'

    def __init__(
        self, monitor: str = 'deeplesion/mAP', desc: str = '', disable: bool | None = None
    ) -> None:
        self.monitor = monitor
        self.desc = desc
        self.disable = disable
        self._train_bar: tqdm | None = None
        self._eval_bar: tqdm | None = None
        self._best: float | None = None

    def _label(self, phase: str) -> str:
        return f'{self.desc} {phase}'.strip()

    def before_train(self, runner) -> None:
        total = runner.max_iters if runner.max_iters else None
        self._train_bar = tqdm(
            total=total,
            initial=runner.iter,
            desc=self._label('train'),
            unit='it',
            leave=True,
            disable=self.disable,
        )

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self._train_bar is None:
            return
        self._train_bar.update(1)
        postfix = {'epoch': runner.epoch + 1}
        if outputs and 'loss' in outputs:
            loss = outputs['loss']
            loss = loss.detach() if isinstance(loss, torch.Tensor) else loss
            postfix['loss'] = f'{float(loss):.4f}'
        if self._best is not None:
            postfix[f'best {self.monitor.split("/")[-1]}'] = f'{self._best:.4f}'
        self._train_bar.set_postfix(postfix, refresh=False)

    def after_train(self, runner) -> None:
        if self._train_bar is not None:
            self._train_bar.close()
            self._train_bar = None

    def _start_eval(self, phase: str, dataloader) -> None:
        self._eval_bar = tqdm(
            total=len(dataloader),
            desc=self._label(phase),
            unit='batch',
            leave=False,
            disable=self.disable,
        )

    def _step_eval(self) -> None:
        if self._eval_bar is not None:
            self._eval_bar.update(1)

    def _close_eval(self) -> None:
        if self._eval_bar is not None:
            self._eval_bar.close()
            self._eval_bar = None

    def before_val_epoch(self, runner) -> None:
        self._start_eval('val', runner.val_dataloader)

    def after_val_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._step_eval()

    def after_val_epoch(self, runner, metrics: dict | None = None) -> None:
        self._close_eval()
        value = (metrics or {}).get(self.monitor)
        if value is not None and (self._best is None or value > self._best):
            self._best = float(value)

    def before_test_epoch(self, runner) -> None:
        self._start_eval('test', runner.test_dataloader)

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._step_eval()

    def after_test_epoch(self, runner, metrics: dict | None = None) -> None:
        self._close_eval()
