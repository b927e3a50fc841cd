"""Test metrics per acquisition profile of the synthetic DeepLesion.

Whether learned enhancement helps *per image* shows in the breakdown: on low-contrast slices
local equalisation should pay off, on noisy ones a strong one should hurt, on clean ones any
enhancement has least to gain.
"""

from __future__ import annotations

import pickle
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path

from mmlesion.datasets.synthetic import DEGRADATIONS, SIDECAR_NAME, read_acquisition_sidecar
from mmlesion.evaluation import evaluate_subsets
from mmlesion.utils import load_config

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
    from mmdet.registry import DATASETS
    from mmengine.registry import init_default_scope

    sidecar = Path(data_root) / SIDECAR_NAME
    if not sidecar.is_file():
        return {}
    groups = profile_groups(sidecar)
    cfg = load_config(config, dict(cfg_options))
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    results = {}
    for method, path in predictions.items():
        with open(path, 'rb') as f:
            dumped = pickle.load(f)
        results[method] = evaluate_subsets(
            dumped, infos, groups, classes=dataset.metainfo['classes']
        )
    return results
