"""The fixed-setting sweep, the validation grid search, the per-profile choice and the oracle:
on hand-made slice records where the right answer is known, and through the Runner on the tiny
generated data set."""

from __future__ import annotations

import argparse
import pickle

import numpy as np
import pytest
import torch

from projects.enhancement_benchmark.benchmark import train_and_test
from projects.enhancement_benchmark.benchmark.fixed_setting_search import (
    add_search_grid_arguments,
    apply_per_profile,
    best_setting,
    per_profile_settings,
    search_grid,
    search_table,
)
from projects.enhancement_benchmark.benchmark.oracle import oracle_choice, oracle_summary, slice_ap
from projects.enhancement_benchmark.benchmark.setting_sweep import (
    IDENTITY,
    SweepResult,
    configured,
    configured_window,
    is_identity,
    records_metrics,
    setting_label,
    sweep_fixed_settings,
)

from .conftest import DEMO_CONFIGS, enhancer_options

LESION = np.array([[10.0, 10.0, 30.0, 30.0]])
MISS = np.array([[60.0, 60.0, 70.0, 70.0]])


def record(name: str, hit: bool, score: float = 0.9, extra_fp: float | None = None) -> dict:
    """One lesion; the detection hits it (or lies elsewhere); optionally one more false
    positive with score ``extra_fp``."""
    boxes = [LESION if hit else MISS]
    scores = [score]
    if extra_fp is not None:
        boxes.append(MISS + 5)
        scores.append(extra_fp)
    boxes = np.vstack(boxes)
    return {
        'img_path': f'{name}.png',
        'img_id': name,
        'gt_bboxes': LESION.copy(),
        'gt_labels': np.zeros(1, int),
        'gt_ignore': np.zeros(1, bool),
        'pred_bboxes': boxes,
        'pred_scores': np.array(scores),
        'pred_labels': np.zeros(len(boxes), int),
    }


A, B, C = (1.0, 4.0), (4.0, 8.0), (16.0, 16.0)


def two_kinds_sweep() -> tuple[SweepResult, dict[str, str]]:
    """Noisy slices are found only at setting A, clean ones only at B; C finds nothing."""
    names = [f'noisy{i}' for i in range(6)] + [f'clean{i}' for i in range(6)]
    profiles = {n: ('noisy' if n.startswith('noisy') else 'clean') for n in names}
    records = {
        A: [record(n, profiles[n] == 'noisy', score=0.5 + 0.01 * i) for i, n in enumerate(names)],
        B: [record(n, profiles[n] == 'clean', score=0.5 + 0.01 * i) for i, n in enumerate(names)],
        C: [record(n, False) for n in names],
    }
    return SweepResult([A, B, C], records, ('lesion',), 'val', 0.0), profiles


def test_best_setting_takes_the_best_map_then_froc_then_the_first():
    table = [
        {'clip_limit': 1.0, 'grid_size': 4.0, 'map': 5.0, 'froc_avg': 10.0},
        {'clip_limit': 8.0, 'grid_size': 8.0, 'map': 7.0, 'froc_avg': 10.0},
        {'clip_limit': 8.0, 'grid_size': 12.0, 'map': 7.0, 'froc_avg': 12.0},
        {'clip_limit': 16.0, 'grid_size': 12.0, 'map': 7.0, 'froc_avg': 12.0},
        {'clip_limit': 32.0, 'grid_size': 4.0, 'map': float('nan'), 'froc_avg': 50.0},
    ]
    assert best_setting(table) == (8.0, 12.0)
    assert search_grid((1, 2), (4, 8)) == [(1.0, 4.0), (1.0, 8.0), (2.0, 4.0), (2.0, 8.0)]
    with pytest.raises(ValueError, match='non-empty'):
        best_setting([])


def test_per_profile_choice_finds_each_profiles_own_setting():
    sweep, profiles = two_kinds_sweep()
    choices = per_profile_settings(sweep, profiles, fallback=C, min_slices=3)
    assert choices['noisy']['setting'] == list(A) and choices['clean']['setting'] == list(B)
    assert choices['noisy']['chosen_on'] == 'profile' and choices['noisy']['num_slices'] == 6
    assert choices['noisy']['map'] == pytest.approx(100.0)
    # Too few slices of a profile: the global setting instead.
    few = per_profile_settings(sweep, profiles, fallback=C, min_slices=7)
    assert {c['chosen_on'] for c in few.values()} == {'fallback'}
    assert few['clean']['setting'] == list(C)
    # Applied per slice, each gets its profile's setting; every lesion is then found.
    records, chosen = apply_per_profile(sweep, profiles, choices, fallback=C)
    assert chosen == [A] * 6 + [B] * 6
    assert records_metrics(records, ('lesion',))['deeplesion/AP50'] == pytest.approx(1.0)


def test_oracle_is_at_least_every_fixed_setting_on_every_slice():
    sweep, _ = two_kinds_sweep()
    choice = oracle_choice(sweep)
    for setting in sweep.settings:
        per_slice = slice_ap(sweep.records[setting])
        assert (choice['chosen_ap'] >= per_slice).all()
        fixed = records_metrics(sweep.records[setting], ('lesion',))['deeplesion/mAP']
        assert records_metrics(choice['records'], ('lesion',))['deeplesion/mAP'] >= fixed
    assert choice['settings'] == [A] * 6 + [B] * 6
    summary = oracle_summary(sweep, choice)
    assert summary['mean_slice_ap'] == pytest.approx(100.0)
    assert summary['best_fixed_mean_slice_ap'] == pytest.approx(50.0)


def test_oracle_breaks_ties_by_the_false_positive_scores():
    # Both settings find the lesion; B adds a confident false positive, A a timid one.
    records = {
        A: [record('s', True, extra_fp=0.05)],
        B: [record('s', True, extra_fp=0.8)],
    }
    choice = oracle_choice(SweepResult([B, A], records, ('lesion',), 'test', 0.0))
    assert choice['settings'] == [A]


@pytest.mark.parametrize('split', ['test'])
def test_sweep_predicts_as_the_runner_does_with_the_tuned_config(
    split, trained_detector, data_root, tmp_path
):
    # The sweep's shortcut (one model, one data pass, settings swapped per batch) gives the
    # predictions of tools/test.py with the glcae_tuned config at that setting.
    options = enhancer_options(data_root, trained_detector)
    settings = [(2.0, 8.0), (8.0, 12.0)]
    sweep = sweep_fixed_settings(
        str(DEMO_CONFIGS / 'baselines' / 'glcae_fixed_synth.py'),
        trained_detector,
        settings,
        options,
        split=split,
    )
    assert sweep.num_slices > 0 and set(sweep.records) == set(settings)
    dump = tmp_path / 'tuned.pkl'
    metrics = train_and_test.test(
        str(DEMO_CONFIGS / 'baselines' / 'glcae_tuned_synth.py'),
        trained_detector,
        str(tmp_path),
        {
            **options,
            'model.data_preprocessor.regressor': None,
            'model.data_preprocessor.fixed_params': [8.0, 12.0],
        },
        out=str(dump),
    )
    swept = records_metrics(sweep.records[(8.0, 12.0)], sweep.classes)
    assert swept == pytest.approx(metrics, nan_ok=True)
    with dump.open('rb') as f:
        dumped = {p['img_path']: p for p in pickle.load(f)}
    for r in sweep.records[(8.0, 12.0)]:
        boxes = dumped[r['img_path']]['pred_instances']['bboxes'].numpy()
        assert np.allclose(r['pred_bboxes'], boxes)


def test_baselines_stage_on_the_tiny_data(trained_detector, data_root, tmp_path):
    from projects.enhancement_benchmark.benchmark.baselines import fixed_setting_baselines

    record_ = fixed_setting_baselines(
        config=str(DEMO_CONFIGS / 'baselines' / 'glcae_fixed_synth.py'),
        detector_checkpoint=trained_detector,
        cfg_options=enhancer_options(data_root, trained_detector),
        data_root=data_root,
        out_dir=tmp_path,
        clips=(2.0, 16.0),
        grids=(8.0,),
        min_slices=1,
    )
    assert set(record_['test']) == {'glcae_tuned', 'glcae_per_profile', 'oracle'}
    assert len(record_['search_val']) == 2
    assert record_['tuned_setting'] == list(best_setting(record_['search_val']))
    # The tuned setting's test metrics are that row of the test sweep.
    row = next(
        r
        for r in record_['search_test']
        if [r['clip_limit'], r['grid_size']] == record_['tuned_setting']
    )
    assert 100 * record_['test']['glcae_tuned']['deeplesion/mAP'] == pytest.approx(row['map'])
    assert all(c['setting'][1] == 8.0 for c in record_['per_profile'].values())
    with open(record_['records'], 'rb') as f:
        saved = pickle.load(f)
    assert set(saved) == set(record_['test'])


def test_search_grid_arguments_default_to_the_search_grid():
    parser = argparse.ArgumentParser()
    add_search_grid_arguments(parser)
    assert vars(parser.parse_args([])) == {'search_clips': None, 'search_grids': None}
    args = parser.parse_args(['--search-clips', '1', '4', '--search-grids', '8'])
    assert (args.search_clips, args.search_grids) == ([1.0, 4.0], [8.0])
    help_text = ' '.join(parser.format_help().split())
    assert 'clip limits of the validation grid search (default: 1 2 4 8 16 32)' in help_text
    assert 'grid sizes of the validation grid search (default: 4 8 16)' in help_text


def identity_best_sweep() -> tuple[SweepResult, dict[str, str]]:
    """:func:`two_kinds_sweep` plus identity, which finds every lesion of both kinds."""
    sweep, profiles = two_kinds_sweep()
    names = [r['img_id'] for r in sweep.records[A]]
    records = {IDENTITY: [record(n, True, score=0.5) for n in names], **sweep.records}
    return SweepResult([IDENTITY, *sweep.settings], records, ('lesion',), 'val', 0.0), profiles


def test_identity_in_the_grid_is_tuned_when_it_is_best_and_lifts_the_oracle():
    sweep, profiles = identity_best_sweep()
    grid = sweep.settings[1:]
    assert best_setting(search_table(sweep)) == IDENTITY
    assert best_setting(search_table(sweep.subset(grid))) != IDENTITY
    choices = per_profile_settings(sweep, profiles, fallback=C, min_slices=3)
    assert {tuple(c['setting']) for c in choices.values()} == {IDENTITY}
    with_id, without = oracle_choice(sweep), oracle_choice(sweep.subset(grid))
    assert (with_id['chosen_ap'] >= without['chosen_ap']).all()
    # Identity comes first: it wins the ties with A and B.
    assert set(with_id['settings']) == {IDENTITY}
    summary = oracle_summary(sweep, with_id)
    assert summary['chosen_settings'] == [
        {'clip_limit': 0.0, 'grid_size': 0.0, 'num_slices': 12, 'label': 'identity'}
    ]


def test_the_preprocessor_settings_and_blends():
    from mmlesion.models.data_preprocessors import AdaptiveCLAHEPreprocessor

    x = [torch.rand(3, 32, 32) * 255]
    pre = AdaptiveCLAHEPreprocessor(mode='identity', regressor=None)
    before = (pre.mode, pre.fixed_params, pre.fixed_alpha)
    with configured(pre, (2.0, 8.0)):
        full = pre.enhance(x)[0][0]
    with configured(pre, (2.0, 8.0, 0.5)):
        half = pre.enhance(x)[0][0]
    with configured(pre, IDENTITY):
        same = pre.enhance(x)[0][0]
    assert torch.allclose(half, x[0] + 0.5 * (full - x[0]), atol=1e-4)
    assert same is x[0] and not torch.allclose(full, x[0])
    assert (pre.mode, pre.fixed_params, pre.fixed_alpha) == before  # restored
    assert [setting_label(s) for s in (IDENTITY, (2.0, 8.0), (2.0, 8.0, 0.25))] == [
        'identity',
        '(2, 8)',
        '(2, 8) alpha 0.25',
    ]
    assert is_identity((2.0, 8.0, 0.0)) and not is_identity((2.0, 8.0))


def test_baselines_stage_with_every_option_on_the_tiny_data(trained_detector, data_root, tmp_path):
    from projects.enhancement_benchmark.benchmark.baselines import (
        SelectionOptions,
        fixed_setting_baselines,
    )

    common = dict(
        config=str(DEMO_CONFIGS / 'baselines' / 'glcae_fixed_synth.py'),
        detector_checkpoint=trained_detector,
        cfg_options=enhancer_options(data_root, trained_detector),
        data_root=data_root,
        clips=(2.0, 16.0),
        grids=(8.0,),
        min_slices=1,
    )
    plain = fixed_setting_baselines(out_dir=tmp_path / 'plain', **common)
    options = SelectionOptions(
        include_identity=True, alphas=(0.0, 0.5, 1.0), null_copies=3, crossfit_shift=2
    )
    full = fixed_setting_baselines(out_dir=tmp_path / 'full', options=options, **common)
    new = {'glcae_tuned_id', 'glcae_per_profile_id', 'oracle_id', 'oracle_null'}
    assert set(full['test']) == set(plain['test']) | new | {'oracle_crossfit'}
    # Without the option nothing changes: the old methods' numbers are the same.
    for name, metrics in plain['test'].items():
        assert full['test'][name] == pytest.approx(metrics, nan_ok=True)
    assert full['search_val'] == plain['search_val']
    # alpha 0 is the detector alone, alpha 1 the tuned setting.
    rows = {r['alpha']: r for r in full['alpha_sweep']['test']}
    assert rows[0.0]['map'] == pytest.approx(full['identity_test']['map'])
    tuned_row = next(
        r for r in full['search_test'] if [r['clip_limit'], r['grid_size']] == full['tuned_setting']
    )
    assert rows[1.0]['map'] == pytest.approx(tuned_row['map'])
    null = full['null_oracle']
    assert null['margin_slice_ap'] >= 0 and len(null['copies']) == 3
    assert {'pooled_map_std', 'slice_ap_std'} <= set(null['copies_spread'])
    assert 0.0 <= full['crossfit']['agreement_with_oracle'] <= 1.0
    with open(full['records'], 'rb') as f:
        assert set(pickle.load(f)) == set(full['test'])


def test_the_window_family_is_set_to_each_setting_and_restored():
    # Any preprocessor with the CT-native family's mode and fixed_params: a plain module.
    pre = torch.nn.Module()
    pre.mode, pre.fixed_params = 'learned', None
    with configured_window(pre, (-40, 0.8, 0.5)):
        assert pre.mode == 'fixed' and pre.fixed_params == (-40.0, 0.8, 0.5)
    assert (pre.mode, pre.fixed_params) == ('learned', None)
    with pytest.raises(RuntimeError), configured_window(pre, (0, 1, 0)):
        raise RuntimeError('a failing batch')
    assert (pre.mode, pre.fixed_params) == ('learned', None)  # restored on error too
