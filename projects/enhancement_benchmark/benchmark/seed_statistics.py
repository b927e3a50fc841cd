"""A seed's statistics: paired bootstrap intervals of the learned enhancer's margins, and how its
chosen parameters spread over the acquisition profiles.

Pairs (each where both methods ran, :data:`PAIRS`): ``learned - glcae_tuned`` and ``learned -
identity``, issue 29's ``learned_gated - identity`` (also with the gate checked on val,
``learned_gated_checked``), ``policy - glcae_tuned_id`` and ``policy - identity`` (likewise
``policy_ap``), and the per-image-signal measurements against the detector
alone (``glcae_tuned_id``, ``oracle_null``, ``oracle_crossfit``, ``tta``); each also in front
of the detector trained without RandomGLCAE (``learned_noaug - ...``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from mmlesion.evaluation import paired_bootstrap, slice_records
from mmlesion.evaluation.functional import WeightedSliceMetrics
from mmlesion.evaluation.paired_bootstrap import aligned_results
from mmlesion.evaluation.subset_evaluation import dataset_infos
from mmlesion.utils.safe_pickle import load_predictions

from .acquisition_profiles import acquisition_profiles, parameters_by_profile

#: (method, reference) pairs bootstrapped, before the detector suffix.
PAIRS = (
    ('learned', 'glcae_tuned'),
    ('learned', 'identity'),
    ('learned_gated', 'identity'),
    ('learned_gated_checked', 'identity'),
    ('policy', 'glcae_tuned_id'),
    ('policy', 'identity'),
    ('policy_ap', 'glcae_tuned_id'),
    ('policy_ap', 'identity'),
    ('glcae_tuned_id', 'identity'),
    ('oracle_null', 'identity'),
    ('oracle_crossfit', 'identity'),
    ('tta', 'identity'),
)


def _load(path: str | Path) -> list[dict]:
    with open(path, 'rb') as f:
        return load_predictions(f)


def seed_statistics(
    predictions: Mapping[str, str | Path],
    stages: Mapping[str, dict],
    config: str,
    cfg_options: Mapping,
    data_root: str | Path,
    num_resamples: int = 1000,
    seed: int = 0,
) -> dict:
    """Bootstrap every pair of :data:`PAIRS` that the finished stages allow.

    Args:
        predictions: method -> its dumped test predictions (``tools/test.py --out``).
        stages: the main job's stage records; ``baselines`` and ``baselines_noaug``, where
            present, say where their per-slice test records lie.
        config, cfg_options: a config whose test dataset is the evaluated test split.
        data_root: the data set (acquisition sidecar).
        num_resamples, seed: of the bootstrap.

    Returns:
        ``{'bootstrap': {'learned-glcae_tuned': {...}, ...}, 'learned_parameters_by_profile':
        {method: ...}}`` (:func:`~mmlesion.evaluation.paired_bootstrap.paired_bootstrap`,
        :func:`~.acquisition_profiles.parameters_by_profile`).
    """
    infos, classes = dataset_infos(config, cfg_options)
    records: dict[str, list[dict]] = {}
    dumped: dict[str, list[dict]] = {}
    for name, path in predictions.items():
        dumped[name] = _load(path)
        records[name] = slice_records(dumped[name], infos)
    for stage in ('baselines', 'baselines_noaug'):
        if stage in stages:
            records.update(_load(stages[stage]['records']))
    profiles = acquisition_profiles(data_root)
    result: dict = {'bootstrap': {}, 'learned_parameters_by_profile': {}}
    for name in ('learned', 'learned_noaug'):
        if name in dumped:
            result['learned_parameters_by_profile'][name] = parameters_by_profile(
                dumped[name], profiles
            )
    if not records:
        return result
    aligned = aligned_results(records)
    num_classes = len(classes) or None
    scorers: dict[str, WeightedSliceMetrics] = {}
    for suffix in ('', '_noaug'):
        for method, reference in PAIRS:
            a, b = method + suffix, reference + suffix
            if a not in aligned or b not in aligned:
                continue
            for name in (a, b):
                if name not in scorers:
                    scorers[name] = WeightedSliceMetrics(aligned[name], num_classes)
            result['bootstrap'][f'{a}-{b}'] = paired_bootstrap(
                scorers[a], scorers[b], num_resamples=num_resamples, seed=seed
            )
    return result
