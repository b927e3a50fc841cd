"""The fixed-setting baselines and the oracle of one frozen detector, from two sweeps.

Cost: one pass over the validation split and one over the test split, each enhancing every
batch with every setting of the search grid and running the frozen detector on it
(:func:`~.setting_sweep.sweep_fixed_settings`); everything else is scoring of the kept records.

- ``glcae_tuned``: the validation grid search's best setting (:mod:`.fixed_setting_search`),
  evaluated once on test (its test records are those of the test sweep at that setting, the
  same predictions ``configs/demo/baselines/glcae_tuned_synth.py`` gives with that setting).
- ``glcae_per_profile``: the best setting per acquisition profile, chosen on validation.
- ``oracle``: each test slice at its own best setting (:mod:`.oracle`): an upper bound.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping, Sequence
from pathlib import Path

from mmlesion.datasets.synthetic import SIDECAR_NAME
from mmlesion.utils import atomic_write_bytes

from .acquisition_profiles import acquisition_profiles, profile_groups
from .fixed_setting_search import (
    apply_per_profile,
    best_setting,
    per_profile_settings,
    search_grid,
    search_table,
)
from .oracle import oracle_choice, oracle_summary
from .setting_sweep import records_metrics, sweep_fixed_settings

#: File of the baselines' per-slice test records (for the paired bootstrap).
RECORDS_NAME = 'slice_records.pkl'


def fixed_setting_baselines(
    config: str,
    detector_checkpoint: str,
    cfg_options: Mapping,
    data_root: str | Path,
    out_dir: str | Path,
    clips: Sequence[float],
    grids: Sequence[float],
    min_slices: int = 5,
    suffix: str = '',
) -> dict:
    """Run both sweeps and choose and score the three baselines.

    Args:
        config: a fixed-GLCAE ``FrozenDetectorEnhancer`` config (the demo's
            ``glcae_fixed_synth.py``).
        detector_checkpoint: the frozen detector.
        cfg_options: data root, seed, ... overrides of ``config``.
        data_root: the data set (its acquisition sidecar gives the profiles; without one every
            slice is profile ``unknown`` and ``glcae_per_profile`` equals ``glcae_tuned``).
        out_dir: where the per-slice test records are written (:data:`RECORDS_NAME`).
        clips, grids: the search grid.
        min_slices: fewest validation slices a profile's own choice is made on.
        suffix: appended to the method names (``'_noaug'``).

    Returns:
        The stage record: ``test`` (metrics of the three methods, the Runner's keys),
        ``profiles`` (the same per acquisition-profile group, as ``metrics_by_profile``),
        ``search_val`` / ``search_test`` (a row per setting, percent), ``tuned_setting``,
        ``per_profile`` (choice per profile), ``oracle`` (summary), ``records`` (path),
        ``sweep_seconds``.
    """
    grid = search_grid(clips, grids)
    val = sweep_fixed_settings(
        config, detector_checkpoint, grid, cfg_options, 'val', desc=f'grid search{suffix} (val)'
    )
    test = sweep_fixed_settings(
        config, detector_checkpoint, grid, cfg_options, 'test', desc=f'sweep{suffix} (test)'
    )
    table = search_table(val)
    tuned = best_setting(table)
    profiles = acquisition_profiles(data_root)
    choices = per_profile_settings(val, profiles, tuned, min_slices)
    per_profile_records, _ = apply_per_profile(test, profiles, choices, tuned)
    oracle = oracle_choice(test)
    records = {
        'glcae_tuned' + suffix: test.records[tuned],
        'glcae_per_profile' + suffix: per_profile_records,
        'oracle' + suffix: oracle['records'],
    }
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    records_path = out_dir / RECORDS_NAME
    atomic_write_bytes(records_path, pickle.dumps(records))
    sidecar = Path(data_root) / SIDECAR_NAME
    groups = profile_groups(sidecar) if sidecar.is_file() else {}
    by_profile = {
        name: {
            group: {
                **records_metrics([r for r in method_records if r['img_id'] in ids], test.classes),
                'num_images': float(sum(r['img_id'] in ids for r in method_records)),
            }
            for group, ids in groups.items()
            if any(r['img_id'] in ids for r in method_records)
        }
        for name, method_records in records.items()
    }
    return {
        'test': {name: records_metrics(r, test.classes) for name, r in records.items()},
        'profiles': by_profile,
        'search_val': table,
        'search_test': search_table(test),
        'tuned_setting': list(tuned),
        'per_profile': choices,
        'oracle': oracle_summary(test, oracle),
        'records': str(records_path),
        'sweep_seconds': {'val': round(val.seconds, 1), 'test': round(test.seconds, 1)},
        'num_settings': len(grid),
    }
