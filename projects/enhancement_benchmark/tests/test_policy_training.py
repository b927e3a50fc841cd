"""The setting policy's study: training from a loss table on a toy set with a planted rule (and
without it), the table's file, the choice report, and the whole path on the tiny data set."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from mmlesion.models.regressors import SettingPolicy
from projects.enhancement_benchmark.benchmark.policy_report import (
    policy_choice_report,
    profile_information,
)
from projects.enhancement_benchmark.benchmark.policy_training import (
    evaluate_policy,
    train_policy,
)
from projects.enhancement_benchmark.benchmark.setting_loss_table import LossTable

from .conftest import REPO_ROOT, enhancer_options

SETTINGS = [None, (1.0, 4.0), (2.0, 8.0)]
SIZE = 32


def two_kinds(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` noisy slices then ``n`` low-contrast ones, ``(2n, 3, SIZE, SIZE)`` in [0, 1], and
    their kind (0 noisy, 1 low contrast)."""
    generator = torch.Generator().manual_seed(seed)
    noisy = 0.5 + 0.1 * torch.randn(n, 3, SIZE, SIZE, generator=generator)
    flat = 0.5 + 0.005 * torch.randn(n, 3, SIZE, SIZE, generator=generator)
    yy, xx = torch.meshgrid(torch.arange(SIZE), torch.arange(SIZE), indexing='ij')
    flat[:, :, (yy - 16) ** 2 + (xx - 16) ** 2 < 25] += 0.02
    return torch.cat([noisy, flat]).clamp(0, 1), torch.tensor([0] * n + [1] * n)


def loss_table(kinds: torch.Tensor, planted: bool, seed: int) -> torch.Tensor:
    """``(N, 3)`` losses with per-slice noise. Planted: identity is best on noisy slices and
    (2, 8) on low-contrast ones. Removed: the same losses for both kinds, (1, 4) best."""
    generator = torch.Generator().manual_seed(seed)
    noise = 0.2 * torch.randn(len(kinds), 3, generator=generator)
    if planted:
        by_kind = torch.tensor([[0.4, 1.0, 1.0], [1.0, 1.0, 0.4]])
        return by_kind[kinds] + noise
    return torch.tensor([1.0, 0.6, 1.0]) + noise


def trained_choices(planted: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """The choices of a policy trained on 16 slices of each kind, on 16 fresh slices of each."""
    images, kinds = two_kinds(16, seed=0)
    val_images, val_kinds = two_kinds(8, seed=1)
    torch.manual_seed(0)
    policy = SettingPolicy(SETTINGS, base_channels=4)
    threads = torch.get_num_threads()
    # Many tiny ops: one thread, so that a busy machine cannot stall every op's thread barrier.
    torch.set_num_threads(1)
    try:
        train_policy(
            policy,
            images,
            loss_table(kinds, planted, seed=0),
            val_images,
            loss_table(val_kinds, planted, seed=1),
            epochs=25,
            batch_size=8,
            lr=3e-3,
        )
        test_images, test_kinds = two_kinds(16, seed=2)
        choices = policy.choose(test_images)
    finally:
        torch.set_num_threads(threads)
    return choices, test_kinds


def test_policy_follows_a_planted_per_kind_rule():
    choices, kinds = trained_choices(planted=True)
    assert choices[kinds == 0].tolist() == [0] * 16
    assert choices[kinds == 1].tolist() == [2] * 16


def test_policy_does_not_separate_the_kinds_when_the_losses_ignore_them():
    choices, kinds = trained_choices(planted=False)
    # Every fresh slice of either kind gets the setting best on average: the choice carries
    # no information about the kind.
    assert choices.tolist() == [1] * len(kinds)


def test_evaluation_scores_the_argmax_choice():
    policy = SettingPolicy(SETTINGS, base_channels=4).eval()  # uniform: picks setting 0
    losses = torch.tensor([[0.5, 0.2, 0.9], [0.1, 0.3, 0.2]])
    scores = evaluate_policy(policy, torch.rand(2, 3, SIZE, SIZE), losses)
    assert scores['chosen_loss'] == pytest.approx(0.3)
    assert scores['expected_loss'] == pytest.approx((1.6 / 3 + 0.6 / 3) / 2)
    assert scores['regret'] == pytest.approx(0.15)
    assert scores['share_off_most_common'] == 0.0


def run_with_patience(patience: int | None, epochs: int) -> tuple[dict, dict]:
    """Train a fresh policy (same seed) on a table whose validation loss a single setting
    decides: the choice stops improving after a few epochs."""
    images, kinds = two_kinds(8, seed=0)
    val_images, val_kinds = two_kinds(4, seed=1)
    torch.manual_seed(0)
    policy = SettingPolicy(SETTINGS, base_channels=4)
    result = train_policy(
        policy,
        images,
        loss_table(kinds, planted=False, seed=0),
        val_images,
        loss_table(val_kinds, planted=False, seed=1),
        epochs=epochs,
        batch_size=8,
        lr=3e-3,
        patience=patience,
    )
    return result, policy.state_dict()


def test_patience_stops_early_and_keeps_the_full_runs_best_epoch():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        full, full_state = run_with_patience(None, epochs=12)
        stopped, stopped_state = run_with_patience(2, epochs=12)
    finally:
        torch.set_num_threads(threads)
    # The full run's last improvement leaves more than 2 idle epochs, so the patient run stops.
    assert full['best_epoch'] + 2 < 12
    assert len(full['history']) == 12
    assert len(stopped['history']) == full['best_epoch'] + 2
    # The epochs it ran are the full run's first epochs, and it keeps the same weights.
    assert stopped['history'] == full['history'][: len(stopped['history'])]
    assert stopped['best_epoch'] == full['best_epoch']
    for name, value in full_state.items():
        assert torch.equal(value, stopped_state[name]), name


def test_training_refuses_a_patience_below_one():
    with pytest.raises(ValueError, match='patience must be >= 1'):
        train_policy(
            SettingPolicy(SETTINGS, base_channels=4),
            torch.rand(2, 3, 8, 8),
            torch.rand(2, 3),
            patience=0,
        )


def test_training_refuses_a_table_of_another_width():
    with pytest.raises(ValueError, match=r'losses must be \(N, 3\)'):
        train_policy(
            SettingPolicy(SETTINGS, base_channels=4), torch.rand(2, 3, 8, 8), torch.rand(2, 4)
        )


def test_loss_table_round_trips_through_its_file(tmp_path):
    table = LossTable(
        settings=list(SETTINGS),
        img_ids=['a.png', 'b.png'],
        detector_loss=np.array([[1.0, 2.0], [0.5, 3.0], [0.7, 1.0]]),
        slice_ap=np.array([[0.2, 0.0], [0.5, 0.1], [0.3, 0.4]]),
        fp_score=np.zeros((3, 2)),
        split='val',
    )
    table.save(tmp_path / 't.npz')
    loaded = LossTable.load(tmp_path / 't.npz')
    assert loaded.settings == SETTINGS and loaded.img_ids == ['a.png', 'b.png']
    assert loaded.split == 'val'
    np.testing.assert_allclose(loaded.losses('detector_loss'), table.detector_loss.T)
    np.testing.assert_allclose(loaded.losses('slice_ap'), 1 - table.slice_ap.T)
    with pytest.raises(ValueError, match='loss kind'):
        loaded.losses('map')


def test_choice_report_counts_the_share_off_the_most_common_and_follows_the_profiles():
    def prediction(name, clip, grid):
        return {'img_id': name, 'clahe_clip_limit': clip, 'clahe_grid_size': grid}

    predictions = [prediction(f'n{i}', None, None) for i in range(6)] + [
        prediction(f'c{i}', 2.0, 8.0) for i in range(2)
    ]
    profiles = {**{f'n{i}': 'noisy' for i in range(6)}, **{f'c{i}': 'clean' for i in range(2)}}
    report = policy_choice_report(predictions, profiles)
    assert report['counts'] == {'clip2_grid8': 2, 'identity': 6}
    assert report['most_common'] == 'identity'
    assert report['share_off_most_common'] == pytest.approx(0.25)
    assert report['by_profile']['clean']['most_common'] == 'clip2_grid8'
    assert report['by_profile']['noisy']['share_of_most_common'] == 1.0
    assert report['profile_information'] == pytest.approx(1.0)
    # Choices that do not follow the profile: no information; no variation: undefined.
    assert profile_information(['a', 'b', 'a', 'b'], ['x', 'x', 'y', 'y']) == pytest.approx(0.0)
    assert np.isnan(profile_information(['a', 'a'], ['x', 'y']))


POLICY_CONFIG = 'projects/enhancement_benchmark/configs/policy/enhancer_r18-w16_synth_policy.py'


def test_tables_training_and_evaluation_on_the_tiny_data_set(data_root, trained_detector, tmp_path):
    from mmlesion.utils import load_checkpoint_strictly
    from mmlesion.utils.safe_pickle import load_predictions
    from projects.enhancement_benchmark.benchmark import train_and_test
    from projects.enhancement_benchmark.benchmark.acquisition_profiles import (
        acquisition_profiles,
    )
    from projects.enhancement_benchmark.benchmark.policy_training import (
        train_policy_from_config,
    )
    from projects.enhancement_benchmark.benchmark.setting_loss_table import build_policy_model

    settings = [None, (2.0, 8.0), (4.0, 4.0)]
    options = {
        **enhancer_options(data_root, trained_detector),
        'model.data_preprocessor.regressor.settings': settings,
        'policy_training.epochs': 2,
        'policy_training.batch_size': 4,
    }
    config = str(REPO_ROOT / POLICY_CONFIG)
    summary = train_policy_from_config(config, trained_detector, tmp_path, options)
    tables = {s: LossTable.load(tmp_path / f'loss_table_{s}.npz') for s in ('train', 'val')}
    for split, table in tables.items():
        assert table.settings == settings and table.split == split
        assert (
            table.detector_loss.shape == (3, summary['num_slices'][split]) == table.slice_ap.shape
        )
        assert np.isfinite(table.detector_loss).all() and (table.detector_loss > 0).all()
    assert len(summary['history']) == 2 and 1 <= summary['best_epoch'] <= 2
    # The written checkpoint is a whole enhancer: it loads strictly into the config's model and
    # tools/test.py evaluates it.
    with pytest.warns(UserWarning, match='detector_checkpoint=None'):
        model, _ = build_policy_model(config, {**options, 'model.detector_checkpoint': None})
    load_checkpoint_strictly(model, str(tmp_path / 'policy.pth'))
    out = tmp_path / 'predictions.pkl'
    metrics = train_and_test.test(
        config, str(tmp_path / 'policy.pth'), str(tmp_path), options, str(out)
    )
    assert 'deeplesion/mAP' in metrics
    with open(out, 'rb') as f:
        predictions = load_predictions(f)
    report = policy_choice_report(predictions, acquisition_profiles(data_root))
    assert report['num_slices'] == len(predictions) > 0
    assert set(report['counts']) <= {'identity', 'clip2_grid8', 'clip4_grid4'}
    json.dumps(report)
