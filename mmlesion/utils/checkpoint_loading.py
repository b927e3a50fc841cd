"""Loading local mmengine checkpoints under torch >= 2.6.

torch 2.6 made ``torch.load(weights_only=True)`` the default. mmengine 0.10 checkpoints carry the
runner's message hub (``HistoryBuffer`` objects holding numpy arrays and scalars), which that
restricted unpickler refuses, so ``--resume`` and every ``load_from`` fail. mmengine's
``CheckpointLoader`` has a scheme registry for exactly this kind of extension: the local-file
scheme is re-registered here to load with ``weights_only=False``.

As with any pickle, only load checkpoints you trust (your own training runs, published
releases).
"""

from __future__ import annotations

import os.path as osp

import torch
from mmengine.runner.checkpoint import CheckpointLoader


def load_local_checkpoint(filename: str, map_location=None):
    """``torch.load`` of a local checkpoint file, including mmengine's runner state."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint not found: {filename}')
    return torch.load(filename, map_location=map_location, weights_only=False)


CheckpointLoader.register_scheme(prefixes='', loader=load_local_checkpoint, force=True)
