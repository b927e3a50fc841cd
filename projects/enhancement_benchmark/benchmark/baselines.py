"""The fixed-setting baselines and the oracle of one frozen detector, from two sweeps.

Cost: one pass over the validation split and one over the test split, each enhancing every
batch with every setting of the search grid and running the frozen detector on it
(:func:`~.setting_sweep.sweep_fixed_settings`); everything else is scoring of the kept records.

- ``glcae_tuned``: the validation grid search's best setting (:mod:`.fixed_setting_search`),
  evaluated once on test (its test records are those of the test sweep at that setting, the
  same predictions ``configs/demo/baselines/glcae_tuned_synth.py`` gives with that setting).
- ``glcae_per_profile``: the best setting per acquisition profile, chosen on validation.
- ``oracle``: each test slice at its own best setting (:mod:`.oracle`): an upper bound.

Optional (:class:`SelectionOptions`; all off, the stage computes exactly the three above):

- ``include_identity``: no enhancement (:data:`~.setting_sweep.IDENTITY`) joins the candidates:
  ``glcae_tuned_id``, ``glcae_per_profile_id`` and ``oracle_id``, beside the three above (which
  stay chosen among the settings only). Identity comes first, so it wins every tie;
- ``alphas``: the blend ``x + alpha·(E(x) − x)`` at ``glcae_tuned``'s setting, every alpha
  scored on validation and test (``alpha_sweep``); one more validation pass;
- ``null_copies``: ``oracle_null``, the oracle over that many nuisance copies of the unenhanced
  test slices (:func:`~.oracle.null_oracle`; the first copy is the original), with the spread
  of the copies beside the spread of the settings;
- ``crossfit_shift``: ``oracle_crossfit``, each test slice's candidate chosen on its copy shifted
  by ``(crossfit_shift, crossfit_shift)`` pixels and scored on the original
  (:func:`~.oracle.crossfit_choice`), over the oracle's candidates (identity included when
  ``include_identity``).

The test copies and blends are evaluated in the test sweep's data pass.
"""

from __future__ import annotations

import pickle
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
from .nuisance import NO_NUISANCE, Nuisance, shift_copies
from .oracle import candidate_spread, crossfit_choice, null_oracle, oracle_choice, oracle_summary
from .setting_sweep import (
    IDENTITY,
    Setting,
    SweepResult,
    records_metrics,
    sweep_fixed_settings,
    sweep_nuisance_copies,
)

#: File of the baselines' per-slice test records (for the paired bootstrap).
RECORDS_NAME = 'slice_records.pkl'
#: The fixed alpha sweep of issue 29: identity, three blends, the setting itself.
ALPHAS: tuple[float, ...] = (0.0, 0.1, 0.25, 0.5, 1.0)


@dataclass(frozen=True)
class SelectionOptions:
    """The baselines stage's optional candidates and measurements (module docstring).

    Attributes:
        include_identity: identity joins the candidates (the ``*_id`` methods).
        alphas: blend alphas in [0, 1] at the tuned setting; empty: no alpha sweep.
        null_copies: copies of the null oracle, the original included; 0: no null oracle.
        null_max_shift: largest shift of a null copy, input pixels per axis.
        null_dither: dither half-width of the null copies, gray levels (0: none).
        crossfit_shift: shift of the cross-fit copy, input pixels per axis; 0: no cross-fit.
        seed: of the null copies' shifts and dither.
    """

    include_identity: bool = False
    alphas: tuple[float, ...] = ()
    null_copies: int = 0
    null_max_shift: int = 3
    null_dither: float = 0.0
    crossfit_shift: int = 0
    seed: int = 0

    def null_nuisances(self) -> list[Nuisance]:
        if not self.null_copies:
            return []
        return shift_copies(self.null_copies, self.null_max_shift, self.null_dither, self.seed)

    def crossfit_nuisance(self) -> Nuisance | None:
        if not self.crossfit_shift:
            return None
        return Nuisance(self.crossfit_shift, self.crossfit_shift)


def metric_row(records: list[dict], classes: Sequence[str]) -> dict:
    """``map``, ``ap50``, ``froc_avg`` in percent."""
    metrics = records_metrics(records, classes)
    return {
        'map': 100 * metrics['deeplesion/mAP'],
        'ap50': 100 * metrics['deeplesion/AP50'],
        'froc_avg': 100 * metrics['deeplesion/avg_sens'],
    }


def _blend_settings(tuned: Setting, alphas: Sequence[float]) -> dict[float, Setting]:
    """alpha -> the sweep's candidate: identity at 0, the setting at 1, else the blend."""
    out = {}
    for alpha in alphas:
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f'alphas must lie in [0, 1], got {alpha}')
        if alpha == 0.0:
            out[alpha] = IDENTITY
        elif alpha == 1.0:
            out[alpha] = tuple(tuned)
        else:
            out[alpha] = (*tuned, float(alpha))
    return out


def _alpha_rows(sweep: SweepResult, blends: Mapping[float, Setting]) -> list[dict]:
    return [
        {'alpha': alpha, **metric_row(sweep.records[setting], sweep.classes)}
        for alpha, setting in blends.items()
    ]


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
    options: SelectionOptions | None = None,
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
        options: the optional candidates and measurements (:class:`SelectionOptions`; default:
            none).

    Returns:
        The stage record: ``test`` (metrics of the three methods, the Runner's keys),
        ``profiles`` (the same per acquisition-profile group, as ``metrics_by_profile``),
        ``search_val`` / ``search_test`` (a row per setting, percent), ``tuned_setting``,
        ``per_profile`` (choice per profile), ``oracle`` (summary), ``records`` (path),
        ``sweep_seconds``; with ``options``, the methods they add in ``test`` and
        ``profiles`` and their records: ``identity_val`` / ``identity_test`` (the identity row
        of the search tables), ``tuned_setting_id``, ``per_profile_id``, ``oracle_id``,
        ``alpha_sweep`` (``setting``; ``val`` and ``test`` rows per alpha, percent),
        ``null_oracle`` (copies and how many slices chose each, the margins over the detector
        alone and both spreads, percent) and ``crossfit``.
    """
    options = options or SelectionOptions()
    grid = search_grid(clips, grids)
    candidates = [IDENTITY, *grid] if options.include_identity else grid
    val = sweep_fixed_settings(
        config,
        detector_checkpoint,
        candidates,
        cfg_options,
        'val',
        desc=f'grid search{suffix} (val)',
    )
    table = search_table(val.subset(grid))
    tuned = best_setting(table)
    blends = _blend_settings(tuned, options.alphas)
    null_copies = options.null_nuisances()
    crossfit = options.crossfit_nuisance()
    plan: dict[Nuisance, list] = {NO_NUISANCE: list(candidates)}
    for setting in [*blends.values(), *([IDENTITY] if null_copies else [])]:
        if setting not in plan[NO_NUISANCE]:
            plan[NO_NUISANCE].append(setting)
    for copy in null_copies[1:]:
        plan.setdefault(copy, []).append(IDENTITY)
    if crossfit is not None:
        plan.setdefault(crossfit, [])
        plan[crossfit] += [s for s in candidates if s not in plan[crossfit]]
    tests = sweep_nuisance_copies(
        config, detector_checkpoint, plan, cfg_options, 'test', desc=f'sweep{suffix} (test)'
    )
    test = tests[NO_NUISANCE]
    profiles = acquisition_profiles(data_root)
    choices = per_profile_settings(val.subset(grid), profiles, tuned, min_slices)
    per_profile_records, _ = apply_per_profile(test, profiles, choices, tuned)
    oracle = oracle_choice(test.subset(grid))
    records = {
        'glcae_tuned' + suffix: test.records[tuned],
        'glcae_per_profile' + suffix: per_profile_records,
        'oracle' + suffix: oracle['records'],
    }
    extra: dict = {}
    if options.include_identity:
        table_id = search_table(val)
        tuned_id = best_setting(table_id)
        choices_id = per_profile_settings(val, profiles, tuned_id, min_slices)
        records['glcae_tuned_id' + suffix] = test.records[tuned_id]
        records['glcae_per_profile_id' + suffix] = apply_per_profile(
            test, profiles, choices_id, tuned_id
        )[0]
        oracle_id = oracle_choice(test.subset(candidates))
        records['oracle_id' + suffix] = oracle_id['records']
        extra['identity_val'] = table_id[0]
        extra['identity_test'] = search_table(test.subset([IDENTITY]))[0]
        extra['tuned_setting_id'] = list(tuned_id)
        extra['per_profile_id'] = choices_id
        extra['oracle_id'] = oracle_summary(test.subset(candidates), oracle_id)
    if blends:
        val_blends = [s for s in blends.values() if s not in val.records]
        val_alpha = val
        if val_blends:
            val_alpha = sweep_fixed_settings(
                config,
                detector_checkpoint,
                val_blends,
                cfg_options,
                'val',
                desc=f'alpha sweep{suffix} (val)',
            )
            val_alpha.records.update(val.records)
        extra['alpha_sweep'] = {
            'setting': list(tuned),
            'val': _alpha_rows(val_alpha, blends),
            'test': _alpha_rows(test, blends),
        }
    if null_copies:
        copies = {NO_NUISANCE: test.records[IDENTITY]}
        copies.update({c: tests[c].records[IDENTITY] for c in null_copies[1:]})
        null = null_oracle(copies, test.classes)
        records['oracle_null' + suffix] = null['records']
        counts = Counter(null['settings'])
        extra['null_oracle'] = {
            'copies': [{**c.as_dict(), 'num_slices': counts[c]} for c in copies],
            'margin_slice_ap': 100 * null['margin_slice_ap'],
            'margin_map': 100 * null['margin_map'],
            'copies_spread': candidate_spread(copies, test.classes, null['slice_ap']),
            'settings_spread': candidate_spread(
                test.subset(grid).records, test.classes, oracle['slice_ap']
            ),
        }
    if crossfit is not None:
        cross = crossfit_choice(tests[crossfit].subset(candidates), test.subset(candidates))
        records['oracle_crossfit' + suffix] = cross['records']
        extra['crossfit'] = {
            'nuisance': crossfit.as_dict(),
            'agreement_with_oracle': cross['agreement'],
            'mean_slice_ap': float(100 * cross['chosen_ap'].mean()),
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
        **extra,
    }
