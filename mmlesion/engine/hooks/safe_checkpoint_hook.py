"""A CheckpointHook that never leaves a run without a complete best and last checkpoint."""

from __future__ import annotations

import os.path as osp
from collections import deque

from mmdet.registry import HOOKS
from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook
from mmengine.utils import mkdir_or_exist

from mmlesion.utils.atomic_write import atomic_write_bytes, atomic_write_text

#: mmengine file backend name of :class:`AtomicLocalBackend`.
ATOMIC_LOCAL_BACKEND = 'mmlesion_atomic_local'


@register_backend(ATOMIC_LOCAL_BACKEND, force=True)
class AtomicLocalBackend(LocalBackend):
    """mmengine's local disk backend whose ``put``/``put_text`` replace a file atomically
    (:mod:`mmlesion.utils.atomic_write`), so that ``runner.save_checkpoint`` (which serialises
    into memory, then ``put``\\ s the bytes) never leaves a truncated ``.pth``."""

    def put(self, obj: bytes | memoryview, filepath: str) -> None:
        mkdir_or_exist(osp.dirname(str(filepath)))
        atomic_write_bytes(filepath, obj)

    def put_text(self, obj: str, filepath: str, encoding: str = 'utf-8') -> None:
        mkdir_or_exist(osp.dirname(str(filepath)))
        atomic_write_text(filepath, obj, encoding)


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """mmengine's :class:`~mmengine.hooks.CheckpointHook` (same arguments) that keeps the
    previous checkpoints until their successors are complete on disk.

    mmengine 0.10 removes the previous best checkpoint before it saves the new one, writes each
    ``.pth`` in place and rewrites ``last_checkpoint`` in place: a full disk in the middle left a
    work dir with a truncated ``best_*.pth`` and no usable ``last_checkpoint``. Here:

    - every ``.pth`` is written to a temporary file beside it and renamed into place
      (:class:`AtomicLocalBackend`, the default when ``out_dir`` is local and no
      ``backend_args`` are given);
    - the previous best is removed only after the new best is saved; a failed save keeps the
      previous best as the best (file, ``best_ckpt`` and ``best_score``);
    - a checkpoint beyond ``max_keep_ckpts`` is removed only after the new one is saved, and
      ``last_checkpoint`` is replaced atomically after it, so it always names a complete file.

    It is ``default_hooks.checkpoint`` in ``configs/_base_/default_runtime.py``.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        local = self.out_dir is None or '://' not in str(self.out_dir)
        if self.backend_args is None and self.file_client_args is None and local:
            self.backend_args = {'backend': ATOMIC_LOCAL_BACKEND}

    # -- regular checkpoints and last_checkpoint ------------------------------------------------
    def _save_checkpoint_with_step(self, runner, step: int, meta: dict) -> None:
        rotates = self.max_keep_ckpts > 0
        kept_before = list(self.keep_ckpt_ids) if rotates else []
        last_before = self.last_ckpt
        stale = []
        if rotates and not (kept_before and kept_before[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                stale.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            # Saved inside the checkpoint: a resumed run then removes what this one would have.
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        try:
            runner.save_checkpoint(
                self.out_dir,
                filename,
                self.file_client_args,
                save_optimizer=self.save_optimizer,
                save_param_scheduler=self.save_param_scheduler,
                meta=meta,
                by_epoch=self.by_epoch,
                backend_args=self.backend_args,
                **self.args,
            )
        except BaseException:  # the run is as before this save: nothing of it is on disk
            if rotates:
                self.keep_ckpt_ids = deque(kept_before, self.max_keep_ckpts)
                runner.message_hub.update_info('keep_ckpt_ids', kept_before)
            self.last_ckpt = last_before
            if last_before is not None:
                runner.message_hub.update_info('last_ckpt', last_before)
            raise
        if not is_main_process():
            return
        atomic_write_text(osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt)
        for old_step in stale:
            self._remove(
                self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(old_step))
            )

    # -- best checkpoints -----------------------------------------------------------------------
    def _save_best_checkpoint(self, runner, metrics: dict) -> None:
        if not self.save_best:
            return
        single = len(self.key_indicators) == 1
        previous = {key: self._best_path(key, single) for key in self.key_indicators}
        hub_before = {
            name: runner.message_hub.get_info(name)
            for key in self.key_indicators
            for name in self._hub_names(key, single)
            if name in runner.message_hub.runtime_info
        }
        # The base class removes the best it knows of before saving: let it know of none.
        for key in self.key_indicators:
            self._set_best_path(key, single, None)
        failed = True
        try:
            super()._save_best_checkpoint(runner, metrics)
            failed = False
        finally:
            for key, old in previous.items():
                new = self._best_path(key, single)
                saved = new is not None and self.file_backend.exists(new)
                if not saved:  # not improved, or its save failed: the previous best stays
                    self._set_best_path(key, single, old)
                    if failed:
                        self._restore_hub(runner, key, single, hub_before)
                elif old is not None and old != new and is_main_process():
                    self._remove(old)
                    runner.logger.info(f'The previous best checkpoint {old} is removed')

    def _best_path(self, key: str, single: bool) -> str | None:
        if single:
            return self.best_ckpt_path
        return self.best_ckpt_path_dict.get(key)

    def _set_best_path(self, key: str, single: bool, path: str | None) -> None:
        if single:
            self.best_ckpt_path = path
        else:
            self.best_ckpt_path_dict[key] = path

    @staticmethod
    def _hub_names(key: str, single: bool) -> tuple[str, str]:
        """The message hub's names of ``key``'s best score and best checkpoint (mmengine's)."""
        return ('best_score', 'best_ckpt') if single else (f'best_score_{key}', f'best_ckpt_{key}')

    def _restore_hub(self, runner, key: str, single: bool, before: dict) -> None:
        for name in self._hub_names(key, single):
            if name in before:
                runner.message_hub.update_info(name, before[name])
            else:
                runner.message_hub.runtime_info.pop(name, None)

    def _remove(self, path: str) -> None:
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):  # deepspeed saves a checkpoint as a folder
            self.file_backend.rmtree(path)
