"""The demo configs through the mmengine Runner on generated data: the detector trains one epoch
and is evaluated; the enhancer trains one epoch in front of it and is evaluated; baselines load
the bare detector checkpoint. Tiny models, a few 96-pixel slices."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch
from conftest import (
    DEMO_CONFIGS,
    DEMO_DETECTOR,
    DEMO_ENHANCER,
    detector_options,
    enhancer_options,
    evaluate_in_process,
    train_in_process,
)

DEMO = DEMO_CONFIGS
METRIC_KEYS = {'deeplesion/mAP', 'deeplesion/AP50', 'deeplesion/sens@4', 'deeplesion/avg_sens'}


def test_detector_trains_and_evaluates(trained_detector, data_root, tmp_path):
    metrics = evaluate_in_process(
        str(DEMO / DEMO_DETECTOR),
        trained_detector,
        str(tmp_path),
        detector_options(data_root),
    )
    assert METRIC_KEYS <= set(metrics)
    assert 0.0 <= metrics['deeplesion/AP50'] <= 1.0


def test_enhancer_trains_in_front_of_the_frozen_detector(trained_detector, data_root, tmp_path):
    options = enhancer_options(data_root, trained_detector)
    result = train_in_process(str(DEMO / DEMO_ENHANCER), str(tmp_path / 'enhancer'), options)
    state = torch.load(result.best_checkpoint, map_location='cpu', weights_only=False)['state_dict']
    detector_state = torch.load(trained_detector, map_location='cpu', weights_only=False)[
        'state_dict'
    ]
    for key, value in detector_state.items():  # the detector came through training untouched
        assert torch.equal(state[f'detector.{key}'], value), key
    scalars = Path(result.log_dir, 'vis_data', 'scalars.json').read_text()
    assert 'map_delta' in scalars and 'deeplesion/mAP' in scalars

    metrics = evaluate_in_process(
        str(DEMO / DEMO_ENHANCER), result.best_checkpoint, str(tmp_path), options
    )
    assert METRIC_KEYS <= set(metrics)


def load_pickle(path):
    with open(path, 'rb') as f:
        return pickle.load(f)


def test_baselines_through_the_wrapper_are_what_they_claim(trained_detector, data_root, tmp_path):
    # identity: the frozen detector behind the wrapper is the detector itself (same predictions,
    # same metrics); glcae_fixed really enhances (other predictions); an untrained regressor is
    # the fixed GLCAE (2.0, 8) (same metrics through the learned enhancer's config).
    options = enhancer_options(data_root, trained_detector)
    baseline_options = {**options, 'model.data_preprocessor.regressor': None}
    alone = evaluate_in_process(
        str(DEMO / DEMO_DETECTOR),
        trained_detector,
        str(tmp_path / 'alone'),
        detector_options(data_root),
        out=str(tmp_path / 'alone.pkl'),
    )
    metrics, dumps = {}, {}
    for baseline in ('identity', 'glcae_fixed'):
        dumps[baseline] = tmp_path / f'{baseline}.pkl'
        metrics[baseline] = evaluate_in_process(
            str(DEMO / 'baselines' / f'{baseline}_synth.py'),
            trained_detector,
            str(tmp_path / baseline),
            baseline_options,
            out=str(dumps[baseline]),
        )
        assert METRIC_KEYS <= set(metrics[baseline])
    assert metrics['identity'] == pytest.approx(alone, nan_ok=True)
    identity, plain = load_pickle(dumps['identity']), load_pickle(tmp_path / 'alone.pkl')
    for a, b in zip(identity, plain, strict=True):
        assert torch.equal(a['pred_instances']['bboxes'], b['pred_instances']['bboxes'])
    enhanced = load_pickle(dumps['glcae_fixed'])
    assert {p['clahe_clip_limit'] for p in enhanced} == {2.0}
    assert any(
        not torch.equal(a['pred_instances']['scores'], b['pred_instances']['scores'])
        for a, b in zip(identity, enhanced, strict=True)
    )
    untrained = evaluate_in_process(
        str(DEMO / DEMO_ENHANCER), trained_detector, str(tmp_path / 'untrained'), options
    )
    assert untrained['deeplesion/mAP'] == pytest.approx(
        metrics['glcae_fixed']['deeplesion/mAP'], abs=1e-6
    )
    assert untrained['deeplesion/avg_sens'] == pytest.approx(
        metrics['glcae_fixed']['deeplesion/avg_sens'], abs=1e-6, nan_ok=True
    )
