"""A seed's statistics stage: bootstrap intervals from dumped predictions, and the learned
parameters' spread by acquisition profile."""

from __future__ import annotations

import math

import pytest

from projects.enhancement_benchmark.benchmark import train_and_test
from projects.enhancement_benchmark.benchmark.acquisition_profiles import parameters_by_profile
from projects.enhancement_benchmark.benchmark.seed_statistics import seed_statistics

from .conftest import DEMO_CONFIGS, enhancer_options


def prediction(img_id: str, clip: float, grid: float) -> dict:
    return {'img_id': img_id, 'clahe_clip_limit': clip, 'clahe_grid_size': grid}


def test_parameter_spread_by_profile_and_its_between_profile_share():
    profiles = {'a': 'noisy', 'b': 'noisy', 'c': 'clean', 'd': 'clean'}
    # The clip follows the profile exactly; the grid varies within the profiles only.
    predictions = [
        prediction('a', 4.0, 8.0),
        prediction('b', 4.0, 10.0),
        prediction('c', 2.0, 8.0),
        prediction('d', 2.0, 10.0),
    ]
    spread = parameters_by_profile(predictions, profiles)
    assert spread['profiles']['noisy']['clip_limit'] == {
        'mean': 4.0,
        'std': 0.0,
        'min': 4.0,
        'max': 4.0,
    }
    assert spread['profiles']['clean']['num_slices'] == 2
    assert spread['between_profile_share']['clip_limit'] == pytest.approx(1.0)
    assert spread['between_profile_share']['grid_size'] == pytest.approx(0.0)
    constant = parameters_by_profile([prediction('a', 2.0, 8.0)] * 2, profiles)
    assert math.isnan(constant['between_profile_share']['clip_limit'])


def test_seed_statistics_from_dumped_predictions(trained_detector, data_root, tmp_path):
    options = {
        **enhancer_options(data_root, trained_detector),
        'model.data_preprocessor.regressor': None,
    }
    dumps = {}
    for name, config in (('identity', 'identity_synth.py'), ('learned', 'glcae_fixed_synth.py')):
        dumps[name] = str(tmp_path / f'{name}.pkl')
        train_and_test.test(
            str(DEMO_CONFIGS / 'baselines' / config),
            trained_detector,
            str(tmp_path / name),
            options,
            out=dumps[name],
        )
    result = seed_statistics(
        dumps,
        {},
        str(DEMO_CONFIGS / 'baselines' / 'identity_synth.py'),
        options,
        data_root,
        num_resamples=200,
        seed=0,
    )
    # Only the pair both of whose methods ran: no glcae_tuned here.
    assert set(result['bootstrap']) == {'learned-identity'}
    interval = result['bootstrap']['learned-identity']
    assert interval['resamples'] == 200
    for key in ('map', 'froc_avg'):
        low, high = interval[key]
        point = interval['point'][key]
        assert math.isnan(point) or low <= point <= high
    spread = result['learned_parameters_by_profile']['learned']
    assert {g['clip_limit']['mean'] for g in spread['profiles'].values()} == {2.0}
    assert sum(g['num_slices'] for g in spread['profiles'].values()) > 0
