"""Fixed enhancement settings chosen on the validation split: one for all slices, one per profile.

``glcae_tuned``: the (clip, grid) of the search grid with the best validation mAP (ties: the
better validation average FROC sensitivity, then the earlier setting of the grid), then
evaluated once on test. ``glcae_per_profile``: the same choice made separately on the validation
slices of each acquisition profile of the synthetic data (the generator's ``profile`` label,
e.g. ``noisy+shading``), applied to each test slice by its profile: what a rule-based per-image
choice could reach. A profile with fewer than ``min_slices`` validation slices, or none, gets
the global tuned setting.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence

import numpy as np

from mmlesion.evaluation.functional.weighted_slices import WeightedSliceMetrics

from .setting_sweep import Setting, SweepResult, records_metrics

#: The search grid, both log-spaced: clip limit 1..32 (OpenCV's clipLimit), grid 4..16 tiles
#: a side.
SEARCH_CLIPS: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
SEARCH_GRIDS: tuple[float, ...] = (4.0, 8.0, 16.0)


def add_search_grid_arguments(parser: argparse.ArgumentParser) -> None:
    """``--search-clips`` and ``--search-grids`` of a command line tool; unset, they are ``None``
    and the run keeps :data:`SEARCH_CLIPS` and :data:`SEARCH_GRIDS` (named in the help)."""
    for flag, what, default in (
        ('--search-clips', 'clip limits', SEARCH_CLIPS),
        ('--search-grids', 'grid sizes', SEARCH_GRIDS),
    ):
        values = ' '.join(f'{v:g}' for v in default)
        parser.add_argument(
            flag,
            type=float,
            nargs='+',
            help=f'{what} of the validation grid search (default: {values})',
        )


def search_grid(
    clips: Sequence[float] = SEARCH_CLIPS, grids: Sequence[float] = SEARCH_GRIDS
) -> list[Setting]:
    """Every ``(clip, grid)`` of ``clips × grids``, clip-major."""
    return [(float(c), float(g)) for c in clips for g in grids]


def search_table(sweep: SweepResult) -> list[dict]:
    """One row per setting: ``clip_limit``, ``grid_size`` and the split's ``map``, ``ap50``,
    ``froc_avg`` in percent (the Runner's metric on the sweep's records)."""
    rows = []
    for setting in sweep.settings:
        metrics = records_metrics(sweep.records[setting], sweep.classes)
        rows.append(
            {
                'clip_limit': setting[0],
                'grid_size': setting[1],
                'map': 100 * metrics['deeplesion/mAP'],
                'ap50': 100 * metrics['deeplesion/AP50'],
                'froc_avg': 100 * metrics['deeplesion/avg_sens'],
            }
        )
    return rows


def _rank_key(map_value: float, froc_value: float) -> tuple[float, float]:
    """Sort key of a candidate, larger is better; NaN ranks last."""
    return (
        -np.inf if np.isnan(map_value) else map_value,
        -np.inf if np.isnan(froc_value) else froc_value,
    )


def best_row(table: Sequence[dict]) -> int:
    """The index of the row of ``table`` with the best ``map``, then ``froc_avg`` (any rows
    holding both, e.g. candidates of several families); the first on a tie."""
    if not table:
        raise ValueError('best_row needs a non-empty table')
    return max(
        range(len(table)),
        key=lambda i: (*_rank_key(table[i]['map'], table[i]['froc_avg']), -i),
    )


def best_setting(table: Sequence[dict]) -> Setting:
    """The setting of the row of ``table`` with the best ``map``, then ``froc_avg``; the
    first on a tie (:func:`best_row`)."""
    best = best_row(table)
    return (table[best]['clip_limit'], table[best]['grid_size'])


def per_profile_settings(
    sweep: SweepResult,
    profiles: Mapping[str, str],
    fallback: Setting,
    min_slices: int = 5,
) -> dict[str, dict]:
    """The best setting for the slices of each acquisition profile of the sweep's split.

    Args:
        sweep: the validation sweep.
        profiles: ``img_id`` (``File_name``) -> profile label; slices not in it are ``unknown``.
        fallback: the setting of a profile with fewer than ``min_slices`` slices.
        min_slices: smallest number of slices a profile's own choice is made on.

    Returns:
        ``{profile: {'setting': [clip, grid], 'num_slices', 'map', 'froc_avg', 'chosen_on'}}``
        with the profile's validation mAP and average sensitivity (percent) at that setting;
        ``chosen_on`` is ``'profile'`` or ``'fallback'``.
    """
    first = sweep.records[sweep.settings[0]]
    labels = np.array([profiles.get(r['img_id'], 'unknown') for r in first])
    num_classes = len(sweep.classes) or None
    scorers = {s: WeightedSliceMetrics(sweep.records[s], num_classes) for s in sweep.settings}
    choices = {}
    for profile in sorted(set(labels.tolist())):
        members = (labels == profile).astype(np.int64)
        count = int(members.sum())
        scores = {s: scorer.evaluate(members) for s, scorer in scorers.items()}
        if count >= min_slices:
            best = max(
                range(len(sweep.settings)),
                key=lambda i: (
                    *_rank_key(
                        scores[sweep.settings[i]]['mAP'][0],
                        scores[sweep.settings[i]]['avg_sens'][0],
                    ),
                    -i,
                ),
            )
            setting, chosen_on = sweep.settings[best], 'profile'
        else:
            setting, chosen_on = tuple(fallback), 'fallback'
        chosen = scores.get(setting)
        choices[profile] = {
            'setting': [setting[0], setting[1]],
            'num_slices': count,
            'map': None if chosen is None else float(100 * chosen['mAP'][0]),
            'froc_avg': None if chosen is None else float(100 * chosen['avg_sens'][0]),
            'chosen_on': chosen_on,
        }
    return choices


def apply_per_profile(
    sweep: SweepResult,
    profiles: Mapping[str, str],
    choices: Mapping[str, dict],
    fallback: Setting,
) -> tuple[list[dict], list[Setting]]:
    """Each slice of ``sweep`` (test) with the setting chosen for its profile (``fallback`` for
    a profile not chosen on validation): its records and the setting of each slice."""
    chosen: list[Setting] = []
    records = []
    for index, record in enumerate(sweep.records[sweep.settings[0]]):
        profile = profiles.get(record['img_id'], 'unknown')
        setting = tuple(choices[profile]['setting']) if profile in choices else tuple(fallback)
        if setting not in sweep.records:
            raise ValueError(
                f'setting {setting} of profile {profile!r} is not among the swept settings'
            )
        chosen.append(setting)
        records.append(sweep.records[setting][index])
    return records, chosen
