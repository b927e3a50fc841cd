"""Configs for running the command-line tools on the synthetic set of ``conftest.data_root``."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import torch
from conftest import REPO_ROOT, tiny_detector_config
from mmengine.config import Config

#: The user-facing real-data config, whose path stays put; its data are swapped for the
#: synthetic set and its model for the tiny detector.
REAL_CONFIG = REPO_ROOT / 'configs' / 'faster_rcnn_r50_fpn_deeplesion.py'
#: Cap on the resampled slice's long side: the synthetic slices' coarse spacing would otherwise
#: grow them several times over at 0.8 mm.
MAX_SIZE_PX = 128


def tiny_real_config(tmp_path: Path, data_root: Path) -> Path:
    """``configs/faster_rcnn_r50_fpn_deeplesion.py`` on ``data_root`` (every split, batch 2, no
    worker processes), with the tiny detector, dumped to a file in ``tmp_path``."""
    cfg = Config.fromfile(str(REAL_CONFIG))
    cfg.model = tiny_detector_config()
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        loader.update(batch_size=2, num_workers=0, persistent_workers=False)
        loader.dataset.data_root = str(data_root)
        for step in loader.dataset.pipeline:
            if step['type'] == 'RescaleToSpacing':
                step['max_size'] = MAX_SIZE_PX
    path = tmp_path / 'tiny_real_config.py'
    cfg.dump(str(path))
    return path


def load_tool(relative_path: str) -> ModuleType:
    """A script of ``tools/`` as a module, so that a test runs its ``main()`` in-process."""
    path = REPO_ROOT / relative_path
    spec = importlib.util.spec_from_file_location(path.stem + '_tool', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def untrained_checkpoint(config: Path, path: Path) -> Path:
    """A checkpoint of the config's model with its initial weights."""
    from mmdet.registry import MODELS
    from mmengine.config import Config

    from mmlesion.utils import register_all_modules

    register_all_modules()
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(str(config)).model)
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path
