"""Training and testing from a config inside one Python process (the demo, the benchmark).

The same Runner as ``tools/train.py`` / ``tools/test.py``; these add a progress bar and return
what a pipeline needs next (best checkpoint, metrics) instead of printing it.
"""

from __future__ import annotations

import glob
import os.path as osp
import time
from dataclasses import dataclass
from pathlib import Path

from mmengine.config import Config
from mmengine.runner import Runner

from mmlesion.utils import prepare_test_config, prepare_train_config


@dataclass(frozen=True)
class TrainResult:
    """Where a finished training run left its outputs."""

    work_dir: str
    best_checkpoint: str
    log_dir: str
    elapsed_s: float


def data_options(data_root: str, seed: int) -> dict:
    """``--cfg-options`` pointing every split at ``data_root`` and seeding the run."""
    root = str(Path(data_root)) + '/'
    options = {f'{s}_dataloader.dataset.data_root': root for s in ('train', 'val', 'test')}
    options['randomness.seed'] = seed
    return options


def _add_progress_bar(cfg: Config, desc: str) -> None:
    hooks = list(cfg.get('custom_hooks', []))
    if not any(h.get('type') == 'ProgressBarHook' for h in hooks):
        hooks.append({'type': 'ProgressBarHook', 'desc': desc})
    cfg.custom_hooks = hooks


def best_checkpoint(work_dir: str) -> str:
    """The ``best_*.pth`` the CheckpointHook kept in ``work_dir`` (else the latest epoch)."""
    best = sorted(glob.glob(osp.join(work_dir, 'best_*.pth')), key=osp.getmtime)
    if best:
        return best[-1]
    epochs = sorted(glob.glob(osp.join(work_dir, 'epoch_*.pth')), key=osp.getmtime)
    if epochs:
        return epochs[-1]
    raise FileNotFoundError(f'no checkpoint in {work_dir}')


def train(
    config: str,
    work_dir: str,
    cfg_options: dict | None = None,
    desc: str = '',
    seed: int | None = None,
    resume: str | None = None,
) -> TrainResult:
    """Train ``config`` with the mmengine Runner; return its best checkpoint.

    Args:
        resume: ``'auto'`` (latest checkpoint in ``work_dir``) or a checkpoint path to resume
            from, as ``tools/train.py --resume``.
    """
    cfg = prepare_train_config(config, work_dir=work_dir, cfg_options=cfg_options, resume=resume)
    if seed is not None:
        cfg.randomness = {'seed': seed}
    _add_progress_bar(cfg, desc)
    start = time.perf_counter()
    runner = Runner.from_cfg(cfg)
    runner.train()
    return TrainResult(
        work_dir=work_dir,
        best_checkpoint=best_checkpoint(work_dir),
        log_dir=runner.log_dir,
        elapsed_s=time.perf_counter() - start,
    )


def test(
    config: str,
    checkpoint: str,
    work_dir: str,
    cfg_options: dict | None = None,
    out: str | None = None,
    desc: str = '',
) -> dict[str, float]:
    """Evaluate ``checkpoint`` on the config's test split; return the metrics."""
    cfg = prepare_test_config(
        config, checkpoint, work_dir=work_dir, cfg_options=cfg_options, out=out
    )
    _add_progress_bar(cfg, desc)
    runner = Runner.from_cfg(cfg)
    return dict(runner.test())
