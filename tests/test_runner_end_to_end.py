"""The demo configs through the mmengine Runner on generated data: the detector trains one epoch
and is evaluated; the enhancer trains one epoch in front of it and is evaluated; baselines load
the bare detector checkpoint. Tiny models, a few 96-pixel slices."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import REPO_ROOT, tiny_detector_config

from mmlesion.apis import runs
from mmlesion.datasets.synthetic import SyntheticConfig, generate_dataset

DEMO = REPO_ROOT / 'configs' / 'demo'
METRIC_KEYS = {'deeplesion/mAP', 'deeplesion/AP50', 'deeplesion/sens@4', 'deeplesion/avg_sens'}


@pytest.fixture(scope='module')
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('synthetic')
    generate_dataset(root, SyntheticConfig(num_patients=6, seed=3, image_size=96))
    return root


def data_options(root: Path) -> dict:
    options = {}
    for split in ('train', 'val', 'test'):
        options[f'{split}_dataloader.dataset.data_root'] = str(root)
        options[f'{split}_dataloader.batch_size'] = 2
    return options


def detector_options(root: Path) -> dict:
    return {
        **data_options(root),
        'model': tiny_detector_config().to_dict(),
        'train_cfg.max_epochs': 1,
        'train_cfg.val_interval': 1,
        'randomness.seed': 0,
    }


@pytest.fixture(scope='module')
def trained_detector(data_root, tmp_path_factory) -> str:
    work_dir = tmp_path_factory.mktemp('detector')
    result = runs.train(
        str(DEMO / 'faster_rcnn_r18_synth.py'), str(work_dir), detector_options(data_root)
    )
    assert Path(result.best_checkpoint).is_file()
    assert Path(result.log_dir, 'vis_data', 'scalars.json').is_file()
    return result.best_checkpoint


def test_detector_trains_and_evaluates(trained_detector, data_root, tmp_path):
    metrics = runs.test(
        str(DEMO / 'faster_rcnn_r18_synth.py'),
        trained_detector,
        str(tmp_path),
        detector_options(data_root),
    )
    assert METRIC_KEYS <= set(metrics)
    assert 0.0 <= metrics['deeplesion/AP50'] <= 1.0


def enhancer_options(root: Path, detector_checkpoint: str) -> dict:
    detector = tiny_detector_config().to_dict()
    return {
        **data_options(root),
        'model.detector': detector,
        'model.detector_checkpoint': detector_checkpoint,
        'model.data_preprocessor.regressor.input_size': 64,
        'model.data_preprocessor.regressor.base_channels': 4,
        'model.map_delta_interval': 1,
        'train_cfg.max_epochs': 1,
        'train_cfg.val_interval': 1,
        'randomness.seed': 0,
    }


def test_enhancer_trains_in_front_of_the_frozen_detector(trained_detector, data_root, tmp_path):
    options = enhancer_options(data_root, trained_detector)
    result = runs.train(str(DEMO / 'enhancer_r18_synth.py'), str(tmp_path / 'enhancer'), options)
    state = torch.load(result.best_checkpoint, map_location='cpu', weights_only=False)['state_dict']
    detector_state = torch.load(trained_detector, map_location='cpu', weights_only=False)[
        'state_dict'
    ]
    for key, value in detector_state.items():  # the detector came through training untouched
        assert torch.equal(state[f'detector.{key}'], value), key
    scalars = Path(result.log_dir, 'vis_data', 'scalars.json').read_text()
    assert 'map_delta' in scalars and 'deeplesion/mAP' in scalars

    metrics = runs.test(
        str(DEMO / 'enhancer_r18_synth.py'), result.best_checkpoint, str(tmp_path), options
    )
    assert METRIC_KEYS <= set(metrics)


@pytest.mark.parametrize('baseline', ['identity', 'glcae_fixed'])
def test_baselines_evaluate_from_the_bare_detector_checkpoint(
    baseline, trained_detector, data_root, tmp_path
):
    options = enhancer_options(data_root, trained_detector)
    options['model.data_preprocessor.regressor'] = None
    config = DEMO / 'baselines' / f'{baseline}_synth.py'
    metrics = runs.test(
        str(config), trained_detector, str(tmp_path), options, out=str(tmp_path / 'p.pkl')
    )
    assert METRIC_KEYS <= set(metrics)
    assert (tmp_path / 'p.pkl').is_file()


def test_best_checkpoint_falls_back_to_the_latest_epoch(tmp_path):
    (tmp_path / 'epoch_1.pth').write_bytes(b'')
    assert runs.best_checkpoint(str(tmp_path)).endswith('epoch_1.pth')
    with pytest.raises(FileNotFoundError):
        runs.best_checkpoint(str(tmp_path / 'empty'))
