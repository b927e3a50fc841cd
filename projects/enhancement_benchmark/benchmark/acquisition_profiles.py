"""Test metrics per acquisition profile of the synthetic DeepLesion.

Whether learned enhancement helps *per image* shows in the breakdown: on low-contrast slices
local equalisation should pay off, on noisy ones a strong one should hurt, on clean ones any
enhancement has least to gain.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from mmlesion.datasets.synthetic import DEGRADATIONS, SIDECAR_NAME, read_acquisition_sidecar
from mmlesion.evaluation import evaluate_subsets
from mmlesion.evaluation.subset_evaluation import dataset_infos
from mmlesion.utils.safe_pickle import load_predictions

CLEAN = 'clean'


def profile_groups(sidecar: str | Path) -> dict[str, set[str]]:
    """Key slices (``File_name``) of each group: ``clean``, and per degradation every slice
    that has it (alone or with others), so the groups of the degradations overlap."""
    groups: dict[str, set[str]] = defaultdict(set)
    for file_name, record in read_acquisition_sidecar(sidecar).items():
        if not record.degradations:
            groups[CLEAN].add(file_name)
        for degradation in record.degradations:
            groups[degradation].add(file_name)
    return {name: groups[name] for name in (CLEAN, *DEGRADATIONS) if groups[name]}


def acquisition_profiles(data_root: str | Path) -> dict[str, str]:
    """``{File_name: profile}`` (e.g. ``'noisy+shading'``) of the data set's key slices; empty
    when it has no acquisition sidecar (real DeepLesion)."""
    sidecar = Path(data_root) / SIDECAR_NAME
    if not sidecar.is_file():
        return {}
    return {name: r.profile for name, r in read_acquisition_sidecar(sidecar).items()}


def _spread(values: np.ndarray) -> dict[str, float]:
    return {
        'mean': float(values.mean()),
        'std': float(values.std()),
        'min': float(values.min()),
        'max': float(values.max()),
    }


def parameters_by_profile(predictions: Sequence[dict], profiles: Mapping[str, str]) -> dict:
    """How the learned (clip, grid) spread over the acquisition profiles of the test slices.

    Args:
        predictions: dumped predictions of the learned enhancer (``clahe_clip_limit``,
            ``clahe_grid_size``, ``img_id``).
        profiles: ``File_name`` -> profile (:func:`acquisition_profiles`).

    Returns:
        ``{'profiles': {profile: {'num_slices', 'clip_limit': {mean, std, min, max},
        'grid_size': {...}}}, 'between_profile_share': {'clip_limit', 'grid_size'}}``; the share
        is the part of the parameter's variance over slices that lies between the profile means
        (η², 0 = the profile says nothing about the choice, 1 = the choice is a function of the
        profile; NaN when the parameter does not vary at all).
    """
    labels = np.array([profiles.get(p.get('img_id'), 'unknown') for p in predictions])
    values = {
        'clip_limit': np.array([p['clahe_clip_limit'] for p in predictions], dtype=np.float64),
        'grid_size': np.array([p['clahe_grid_size'] for p in predictions], dtype=np.float64),
    }
    groups = {}
    for profile in sorted(set(labels.tolist())):
        members = labels == profile
        groups[profile] = {
            'num_slices': int(members.sum()),
            **{name: _spread(v[members]) for name, v in values.items()},
        }
    share = {}
    for name, v in values.items():
        total = ((v - v.mean()) ** 2).sum()
        between = sum((labels == g).sum() * (v[labels == g].mean() - v.mean()) ** 2 for g in groups)
        share[name] = float(between / total) if total > 0 else float('nan')
    return {'profiles': groups, 'between_profile_share': share}


def metrics_by_profile(
    config: str,
    cfg_options: Mapping,
    data_root: str | Path,
    predictions: Mapping[str, str | Path],
) -> dict[str, dict[str, dict[str, float]]]:
    """``{method: {group: metrics}}`` of the dumped test predictions of each method.

    Args:
        config: a config whose ``test_dataloader.dataset`` is the evaluated test split.
        cfg_options: overrides of that config (data root, ...).
        data_root: the synthetic data set (holding ``synthetic_acquisition.csv``).
        predictions: method -> ``.pkl`` written by ``tools/test.py --out``.

    Returns:
        Empty when the data set has no acquisition sidecar (real DeepLesion).
    """
    sidecar = Path(data_root) / SIDECAR_NAME
    if not sidecar.is_file():
        return {}
    groups = profile_groups(sidecar)
    infos, classes = dataset_infos(config, cfg_options)
    results = {}
    for method, path in predictions.items():
        with open(path, 'rb') as f:
            dumped = load_predictions(f)
        results[method] = evaluate_subsets(dumped, infos, groups, classes=classes)
    return results
