"""Refuse to resume from a checkpoint that does not say where training stopped."""

from __future__ import annotations

from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.runner import find_latest_checkpoint

from mmlesion.utils.checkpoint_loading import CheckpointError

#: The ``meta`` fields mmengine's ``Runner.resume`` reads: where the training loop goes on.
RESUME_FIELDS = ('epoch', 'iter')


@HOOKS.register_module()
class ResumeCheckHook(Hook):
    """Check the checkpoint of ``--resume`` before mmengine's ``Runner.resume`` reads it.

    ``Runner.resume`` indexes ``checkpoint['meta']['epoch']`` and ``['iter']``: a checkpoint
    without them (bare weights, a file not saved by a Runner) fails with a bare ``KeyError``.
    :func:`~mmlesion.utils.run_config.prepare_train_config` adds this hook when resuming.

    Args:
        checkpoint: the checkpoint resumed from; None: the latest in the work dir (``--resume``
            without a path).
    """

    priority = 'VERY_HIGH'

    def __init__(self, checkpoint: str | None = None) -> None:
        self.checkpoint = checkpoint

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        source = self.checkpoint or find_latest_checkpoint(runner.work_dir) or 'the checkpoint'
        meta = checkpoint.get('meta')
        if not isinstance(meta, dict):
            raise CheckpointError(
                f'{source}: cannot resume from it: it has no meta (a checkpoint the Runner saves '
                'holds meta.epoch and meta.iter); to start a new training from its weights, set '
                'load_from without --resume'
            )
        for field in RESUME_FIELDS:
            if not isinstance(meta.get(field), int) or meta[field] < 0:
                found = 'missing' if field not in meta else f'{meta[field]!r}'
                raise CheckpointError(
                    f'{source}: cannot resume from it: meta.{field} is {found}, not the count of '
                    f'{field}s done; to start a new training from its weights, set load_from '
                    'without --resume'
                )
