"""Turning a config file plus command-line choices into the config a Runner is built from.

``tools/train.py`` and ``tools/test.py`` are thin shells over these functions.
"""

from __future__ import annotations

import os.path as osp

from mmengine.config import Config


def load_config(config_path: str, cfg_options: dict | None = None) -> Config:
    """Read ``config_path`` and merge ``--cfg-options`` style overrides into it."""
    cfg = Config.fromfile(config_path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def default_work_dir(config_path: str) -> str:
    """``work_dirs/<config file name without .py>``, mmdet's convention."""
    return osp.join('work_dirs', osp.splitext(osp.basename(config_path))[0])


def enable_fp16(cfg: Config) -> None:
    """Switch the optimizer wrapper to fp16 automatic mixed precision.

    fp16, not bf16: mmcv 2.1's CUDA ``roi_align`` has no bfloat16 kernel.
    """
    optim_type = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if optim_type == 'AmpOptimWrapper':
        return
    if optim_type != 'OptimWrapper':
        raise ValueError(f'--amp needs optim_wrapper.type OptimWrapper, got {optim_type!r}')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.loss_scale = 'dynamic'
    cfg.optim_wrapper.dtype = 'float16'


def prepare_train_config(
    config_path: str,
    work_dir: str | None = None,
    cfg_options: dict | None = None,
    amp: bool = False,
    auto_scale_lr: bool = False,
    resume: str | None = None,
    launcher: str = 'none',
) -> Config:
    """The training config after the command-line choices of ``tools/train.py``.

    Args:
        resume: ``'auto'`` resumes from the latest checkpoint in the work dir, a path resumes
            from that checkpoint (weights, optimizer state, epoch), ``None`` starts afresh.
    """
    cfg = load_config(config_path, cfg_options)
    cfg.launcher = launcher
    cfg.work_dir = work_dir or cfg.get('work_dir') or default_work_dir(config_path)
    if amp:
        enable_fp16(cfg)
    if auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise ValueError(f'{config_path} has no auto_scale_lr.base_batch_size to scale from')
        cfg.auto_scale_lr.enable = True
    if resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif resume is not None:
        cfg.resume = True
        cfg.load_from = resume
    return cfg


def prepare_test_config(
    config_path: str,
    checkpoint: str,
    work_dir: str | None = None,
    cfg_options: dict | None = None,
    out: str | None = None,
    launcher: str = 'none',
) -> Config:
    """The test config after the command-line choices of ``tools/test.py``.

    Args:
        out: also dump every prediction to this ``.pkl`` file (mmdet's ``DumpDetResults``).
    """
    cfg = load_config(config_path, cfg_options)
    cfg.launcher = launcher
    cfg.work_dir = work_dir or cfg.get('work_dir') or default_work_dir(config_path)
    cfg.load_from = checkpoint
    if out is not None:
        if not out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out must end with .pkl or .pickle, got {out!r}')
        evaluators = cfg.test_evaluator
        evaluators = list(evaluators) if isinstance(evaluators, (list, tuple)) else [evaluators]
        evaluators.append({'type': 'DumpDetResults', 'out_file_path': out})
        cfg.test_evaluator = evaluators
    return cfg
