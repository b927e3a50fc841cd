"""Taking a trained regressor (and its config) out of an enhancer checkpoint."""

from __future__ import annotations

import os.path as osp

from mmengine.config import Config
from mmengine.runner.checkpoint import _load_checkpoint
from torch import nn

#: Where a ``FrozenDetectorEnhancer`` keeps its regressor's weights.
REGRESSOR_PREFIX = 'data_preprocessor.regressor.'


def _read(checkpoint: str) -> dict:
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'enhancer checkpoint does not exist: {checkpoint}')
    return _load_checkpoint(checkpoint, map_location='cpu')


def load_regressor_weights(regressor: nn.Module, checkpoint: str) -> None:
    """Load ``data_preprocessor.regressor.*`` of an enhancer checkpoint into ``regressor``.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the checkpoint holds no regressor, or one of another architecture (the
            differing keys are named).
    """
    state = _read(checkpoint)
    state = state.get('state_dict', state)
    weights = {
        k[len(REGRESSOR_PREFIX) :]: v for k, v in state.items() if k.startswith(REGRESSOR_PREFIX)
    }
    if not weights:
        raise ValueError(
            f'{checkpoint} holds no regressor weights ({REGRESSOR_PREFIX}*): is it the checkpoint '
            'of a trained enhancer (FrozenDetectorEnhancer), not of a detector?'
        )
    own = regressor.state_dict()
    problems = sorted(set(own) ^ set(weights)) + sorted(
        k for k in set(own) & set(weights) if own[k].shape != weights[k].shape
    )
    if problems:
        shown = ', '.join(problems[:5]) + (' ...' if len(problems) > 5 else '')
        raise ValueError(
            f'the regressor in {checkpoint} does not fit the regressor config: {len(problems)} '
            f'keys missing, unexpected or of another shape ({shown})'
        )
    regressor.load_state_dict(weights, strict=True)


def enhancer_preprocessor_config(checkpoint: str) -> dict:
    """The ``model.data_preprocessor`` config an enhancer checkpoint was trained with.

    mmengine's Runner stores the whole config in the checkpoint's ``meta['cfg']``.

    Raises:
        ValueError: the checkpoint carries no config, or not an enhancer's.
    """
    meta = _read(checkpoint).get('meta', {})
    if 'cfg' not in meta:
        raise ValueError(
            f'{checkpoint} carries no training config (meta.cfg); pass the enhancer config file'
        )
    cfg = Config.fromstring(meta['cfg'], file_format='.py')
    preprocessor = cfg.model.get('data_preprocessor', {})
    if preprocessor.get('type') != 'AdaptiveCLAHEPreprocessor':
        raise ValueError(
            f'{checkpoint} is not an enhancer checkpoint: its model.data_preprocessor is '
            f'{preprocessor.get("type")!r}, not AdaptiveCLAHEPreprocessor'
        )
    return preprocessor.to_dict()


def build_regressor_from_checkpoint(checkpoint: str, config: str | None = None) -> nn.Module:
    """The trained regressor of an enhancer checkpoint, ready to predict (eval mode).

    Args:
        checkpoint: a trained ``FrozenDetectorEnhancer`` checkpoint.
        config: the enhancer config file; None reads the config stored in the checkpoint.
    """
    from mmdet.registry import MODELS

    if config is not None:
        preprocessor = Config.fromfile(config).model.data_preprocessor.to_dict()
    else:
        preprocessor = enhancer_preprocessor_config(checkpoint)
    if preprocessor.get('regressor') is None:
        raise ValueError(f'the enhancer config of {checkpoint} has no regressor')
    regressor = MODELS.build(preprocessor['regressor'])
    load_regressor_weights(regressor, checkpoint)
    return regressor.eval()
