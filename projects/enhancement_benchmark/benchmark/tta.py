"""Test-time augmentation of the frozen detector: the standard way to get more out of a detector
without training, measured beside the enhancers (method ``tta``) with its time per image.

The views and their merging are the library's (``tools/test.py --tta``,
:func:`mmlesion.utils.run_config.apply_tta`); this module runs them on a split and times them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmlesion.utils import load_checkpoint_strictly, prepare_test_config

from .train_and_test import _add_progress_bar


def num_views(cfg: Config) -> int:
    """How many views of each slice the test pipeline makes: the product of the sizes of its
    ``TestTimeAug`` step's transform lists (1 without one)."""
    dataset = cfg.test_dataloader.dataset
    while isinstance(dataset.get('dataset'), dict):
        dataset = dataset.dataset
    for step in dataset.pipeline:
        if step.get('type') == 'TestTimeAug':
            return math.prod(len(choices) for choices in step['transforms'])
    return 1


def _timed(step: Callable, device: torch.device, spent: list[float]) -> Callable:
    """``step`` adding the seconds each call takes (the device synchronised) to ``spent[0]``."""

    def timed(data):
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        result = step(data)
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        spent[0] += time.perf_counter() - start
        return result

    return timed


def evaluate_tta(
    config: str,
    checkpoint: str,
    data_root: str,
    work_dir: str,
    cfg_options: dict | None = None,
    out: str | None = None,
    tta: bool = True,
    desc: str = '',
) -> dict:
    """Test a detector checkpoint with test-time augmentation on the config's test split.

    Args:
        config: a detector config (its ``tta_model`` / ``tta_pipeline``, else the library's
            flips and shifts).
        checkpoint: the detector's weights, loaded strictly.
        data_root: the DeepLesion-format folder of every split.
        work_dir: where the evaluation log goes.
        cfg_options: ``--cfg-options`` style overrides (e.g. ``test_dataloader.dataset.split``).
        out: also dump every merged prediction to this ``.pkl`` (for the paired bootstrap).
        tta: ``False``: the same evaluation and timing of the detector alone, one view a slice.
        desc: the progress bar's label.

    Returns:
        ``metrics`` (the test evaluator's, as floats); ``seconds_per_image``: the model's time
        per slice, all views and the merge included, data loading excluded (comparable to the
        detector alone's with ``tta=False``); ``wall_seconds_per_image``: the whole test run's,
        loading, augmentation and metric included; ``num_images``; ``num_views``.
    """
    cfg = prepare_test_config(
        config,
        checkpoint,
        work_dir=work_dir,
        cfg_options=cfg_options,
        out=out,
        data_root=data_root,
        tta=tta,
    )
    _add_progress_bar(cfg, desc)
    cfg.load_from = None  # loaded strictly below, as tools/test.py does
    runner = Runner.from_cfg(cfg)
    load_checkpoint_strictly(runner.model, checkpoint)
    spent = [0.0]
    device = next(runner.model.parameters()).device
    runner.model.test_step = _timed(runner.model.test_step, device, spent)
    start = time.perf_counter()
    metrics = runner.test()
    wall = time.perf_counter() - start
    num_images = len(runner.test_dataloader.dataset)
    return {
        'metrics': {key: float(value) for key, value in metrics.items()},
        'seconds_per_image': spent[0] / num_images,
        'wall_seconds_per_image': wall / num_images,
        'num_images': num_images,
        'num_views': num_views(cfg),
    }
