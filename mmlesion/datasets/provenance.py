"""Which data a checkpoint's weights were trained on: written at training, read at inference.

:class:`~mmlesion.engine.hooks.DataProvenanceHook` stores ``checkpoint['meta']['training_data']``
(:func:`describe_training_data` of the training dataset's config); the inferencer reads it back
with :func:`training_data_of` and warns when the weights learned from synthetic data only.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from .synthetic import SIDECAR_NAME

#: The key of ``checkpoint['meta']`` that holds the training data's description.
TRAINING_DATA_KEY = 'training_data'


def is_synthetic_data_root(data_root: str | Path | None) -> bool:
    """Whether ``data_root`` holds a data set made by the synthetic generator (it writes the
    ``synthetic_acquisition.csv`` sidecar beside ``DL_info.csv``; the real release has none)."""
    return data_root is not None and (Path(data_root) / SIDECAR_NAME).is_file()


def describe_training_data(dataset_cfg: Mapping) -> dict:
    """What a training dataset config reads, as plain JSON-able values.

    Returns:
        ``{'dataset': type, 'data_root': absolute path or None, 'ann_file': str or None,
        'synthetic': bool}``; a dataset wrapper (``RepeatDataset``, ``ConcatDataset``...) gives
        ``{'dataset': type, 'parts': [...], 'synthetic': any part synthetic}``.
    """
    inner = dataset_cfg.get('datasets') or (
        [dataset_cfg['dataset']] if 'dataset' in dataset_cfg else None
    )
    if inner is not None:
        parts = [describe_training_data(part) for part in inner]
        return {
            'dataset': str(dataset_cfg.get('type')),
            'parts': parts,
            'synthetic': any(part['synthetic'] for part in parts),
        }
    data_root = dataset_cfg.get('data_root')
    ann_file = dataset_cfg.get('ann_file')
    return {
        'dataset': str(dataset_cfg.get('type')),
        'data_root': None if data_root is None else str(Path(data_root).resolve()),
        'ann_file': None if ann_file is None else str(ann_file),
        'synthetic': is_synthetic_data_root(data_root),
    }


def training_data_of(checkpoint: Mapping) -> dict | None:
    """``checkpoint['meta']['training_data']`` of a loaded checkpoint dict; None when it carries
    none (saved before :class:`~mmlesion.engine.hooks.DataProvenanceHook`, or not by a Runner)."""
    meta = checkpoint.get('meta') if isinstance(checkpoint, Mapping) else None
    record = meta.get(TRAINING_DATA_KEY) if isinstance(meta, Mapping) else None
    return dict(record) if isinstance(record, Mapping) else None
