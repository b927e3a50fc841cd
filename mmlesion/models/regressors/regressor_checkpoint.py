"""Taking a trained regressor (and its config) out of an enhancer checkpoint."""

from __future__ import annotations

from collections.abc import Mapping

from mmengine.config import Config
from torch import nn

from mmlesion.utils.checkpoint_loading import (
    BENIGN_MISSING_SUFFIXES,
    CheckpointError,
    literal_config_entry,
    load_state_strictly,
    read_checkpoint,
    state_dict_of,
)

#: Where a ``FrozenDetectorEnhancer`` keeps its regressor's weights.
REGRESSOR_PREFIX = 'data_preprocessor.regressor.'
#: The data preprocessors of a trained (learned) enhancer.
ENHANCER_PREPROCESSORS = ('AdaptiveCLAHEPreprocessor', 'WindowDenoisePreprocessor')


def _read(checkpoint: str | Mapping, source: str | None) -> tuple[Mapping, str]:
    """A checkpoint's dict and the name messages give it: read from a path, or already read."""
    if isinstance(checkpoint, Mapping):
        return checkpoint, source or 'the enhancer checkpoint'
    return read_checkpoint(checkpoint, map_location='cpu'), checkpoint


def load_regressor_weights(
    regressor: nn.Module, checkpoint: str | Mapping, source: str | None = None
) -> None:
    """Load ``data_preprocessor.regressor.*`` of an enhancer checkpoint into ``regressor``.

    Args:
        checkpoint: the checkpoint's path, or its dict already read
            (:func:`~mmlesion.utils.checkpoint_loading.read_checkpoint`).
        source: the file a dict came from, for messages.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the checkpoint holds no regressor, or one of another architecture (the
            differing keys are named).
    """
    checkpoint, source = _read(checkpoint, source)
    state = state_dict_of(checkpoint, source)
    weights = {
        k[len(REGRESSOR_PREFIX) :]: v for k, v in state.items() if k.startswith(REGRESSOR_PREFIX)
    }
    if not weights:
        raise ValueError(
            f'{source} holds no regressor weights ({REGRESSOR_PREFIX}*): is it the checkpoint '
            'of a trained enhancer (FrozenDetectorEnhancer), not of a detector?'
        )
    load_state_strictly(
        regressor,
        weights,
        f'the regressor in {source}',
        'the regressor config',
        benign_missing=BENIGN_MISSING_SUFFIXES,
    )


def enhancer_preprocessor_config(checkpoint: str | Mapping, source: str | None = None) -> dict:
    """The ``model.data_preprocessor`` config an enhancer checkpoint was trained with.

    mmengine's Runner stores the whole config as Python text in the checkpoint's
    ``meta['cfg']``. Only its ``model`` entry is read, and only as literals
    (:func:`~mmlesion.utils.checkpoint_loading.literal_config_entry`): nothing in the text runs.

    Args:
        checkpoint: the checkpoint's path, or its dict already read.
        source: the file a dict came from, for messages.

    Raises:
        ValueError: the checkpoint carries no config, one that is not plain literals, or not an
            enhancer's.
    """
    checkpoint, source = _read(checkpoint, source)
    meta = checkpoint.get('meta')
    cfg_text = meta.get('cfg') if isinstance(meta, Mapping) else None
    if not isinstance(cfg_text, str):
        raise CheckpointError(
            f'{source} carries no training config (meta.cfg); pass the enhancer config file'
        )
    try:
        model = literal_config_entry(cfg_text, 'model', source)
    except CheckpointError as error:
        raise CheckpointError(f'{error}; pass the enhancer config file instead') from None
    preprocessor = model.get('data_preprocessor') or {}
    found = preprocessor.get('type') if isinstance(preprocessor, dict) else preprocessor
    if found not in ENHANCER_PREPROCESSORS:
        raise CheckpointError(
            f'{source} is not an enhancer checkpoint: its model.data_preprocessor is '
            f'{found!r}, not one of {ENHANCER_PREPROCESSORS}'
        )
    return preprocessor


def build_regressor_from_checkpoint(checkpoint: str, config: str | None = None) -> nn.Module:
    """The trained regressor of an enhancer checkpoint, ready to predict (eval mode).

    Args:
        checkpoint: a trained ``FrozenDetectorEnhancer`` checkpoint (read once).
        config: the enhancer config file; None reads the config stored in the checkpoint.
    """
    from mmdet.registry import MODELS

    state = read_checkpoint(checkpoint, map_location='cpu')
    if config is not None:
        preprocessor = Config.fromfile(config).model.data_preprocessor.to_dict()
    else:
        preprocessor = enhancer_preprocessor_config(state, checkpoint)
    if preprocessor.get('regressor') is None:
        raise ValueError(f'the enhancer config of {checkpoint} has no regressor')
    regressor = MODELS.build(preprocessor['regressor'])
    load_regressor_weights(regressor, state, checkpoint)
    return regressor.eval()
