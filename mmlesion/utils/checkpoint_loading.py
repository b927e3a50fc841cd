"""Loading local mmengine checkpoints under torch >= 2.6.

torch 2.6 made ``torch.load(weights_only=True)`` the default. mmengine 0.10 checkpoints carry the
runner's message hub (``HistoryBuffer`` objects holding numpy arrays and scalars), which that
restricted unpickler refuses, so ``--resume`` and every ``load_from`` fail. mmengine's
``CheckpointLoader`` has a scheme registry for exactly this kind of extension: the local-file
scheme is re-registered here to load with ``weights_only=False``; the ``torchvision://`` scheme
is wrapped to say what to do when torchvision or the network is missing.

As with any pickle, only load checkpoints you trust (your own training runs, published
releases).
"""

from __future__ import annotations

import os.path as osp

import torch
from mmengine.model import is_model_wrapper
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint, load_from_torchvision
from torch import nn


def load_local_checkpoint(filename: str, map_location=None):
    """``torch.load`` of a local checkpoint file, including mmengine's runner state."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint not found: {filename}')
    return torch.load(filename, map_location=map_location, weights_only=False)


CheckpointLoader.register_scheme(prefixes='', loader=load_local_checkpoint, force=True)


# -- torchvision:// ImageNet weights ----------------------------------------------------------
#: The torchvision of the pinned torch 2.13 (setup.py's ``imagenet`` extra).
TORCHVISION_REQUIREMENT = 'torchvision==0.28.0'
_NO_IMAGENET_HINT = (
    'or train from scratch without ImageNet weights: --cfg-options model.backbone.init_cfg=None '
    '(model.detector.backbone.init_cfg=None in an enhancer config)'
)


def load_torchvision_weights(filename: str, map_location=None):
    """mmengine's ``torchvision://`` loader, failing with what to do instead of a bare
    ``ModuleNotFoundError`` or network error."""
    try:
        import torchvision  # noqa: F401
    except ImportError as error:
        raise ImportError(
            f'{filename}: ImageNet weights need torchvision, the build of your torch '
            f"({TORCHVISION_REQUIREMENT}: pip install -e '.[imagenet]' with a CUDA torch; "
            f'{TORCHVISION_REQUIREMENT}+cpu from https://download.pytorch.org/whl/cpu with the '
            f'CPU torch), {_NO_IMAGENET_HINT}'
        ) from error
    try:
        return load_from_torchvision(filename, map_location=map_location)
    except OSError as error:  # urllib's URLError and socket errors are OSErrors
        raise RuntimeError(
            f'{filename}: could not download the ImageNet weights ({error}); they need network '
            f'access once (then torch caches them), {_NO_IMAGENET_HINT}'
        ) from error


CheckpointLoader.register_scheme(
    prefixes='torchvision://', loader=load_torchvision_weights, force=True
)


# -- strict loading for evaluation -------------------------------------------------------------
#: Keys a checkpoint may lack without changing a prediction: the reinforce objective's running
#: reward baseline (training only), and BatchNorm counters older checkpoints do not store.
BENIGN_MISSING_SUFFIXES = ('reward_baseline', 'num_batches_tracked')


def _listing(keys: list[str]) -> str:
    return f'{len(keys)} ({", ".join(keys[:5])}{" ..." if len(keys) > 5 else ""})'


def load_checkpoint_strictly(model: nn.Module, checkpoint: str) -> None:
    """Load ``checkpoint`` into ``model`` (unwrapped from DDP), refusing weights that do not fit.

    mmengine's Runner loads ``load_from`` non-strictly: a checkpoint of another model leaves
    every weight random, logs a warning and evaluates noise. Here any missing key (beyond
    :data:`BENIGN_MISSING_SUFFIXES`), unexpected key or shape mismatch is an error.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the weights do not fit; the keys are counted and the first ones named.
    """
    if is_model_wrapper(model):
        model = model.module
    state = _load_checkpoint(checkpoint, map_location='cpu')
    state = state.get('state_dict', state)
    state = {k[len('module.') :] if k.startswith('module.') else k: v for k, v in state.items()}
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as error:  # shape mismatches raise even when not strict
        # torch lists one mismatch a line after a heading: one line here.
        details = '; '.join(line.strip() for line in str(error).splitlines()[1:])
        raise ValueError(
            f'{checkpoint} does not fit the model of this config ({type(model).__name__}): '
            f'{details or error}'
        ) from error
    missing = [k for k in result.missing_keys if not k.endswith(BENIGN_MISSING_SUFFIXES)]
    unexpected = list(result.unexpected_keys)
    if not (missing or unexpected):
        return
    problems = []
    if missing:
        problems.append(f'missing {_listing(missing)}')
    if unexpected:
        problems.append(f'unexpected {_listing(unexpected)}')
    hint = ''
    if any(k.startswith(('detector.', 'data_preprocessor.regressor.')) for k in unexpected):
        hint = '; it is an enhancer checkpoint: evaluate it with the enhancer config'
    raise ValueError(
        f'{checkpoint} does not fit the model of this config ({type(model).__name__}): '
        + '; '.join(problems)
        + hint
    )
