"""``evaluate_tta``: the tiny trained detector tested with and without test-time augmentation."""

from __future__ import annotations

from mmlesion.datasets import DeepLesionDataset
from mmlesion.utils.run_config import TTA_FLIPS, TTA_SHIFTS_PX
from mmlesion.utils.safe_pickle import load_predictions
from projects.enhancement_benchmark.benchmark.train_and_test import data_options
from projects.enhancement_benchmark.benchmark.tta import evaluate_tta

from .conftest import DEMO_CONFIGS, DEMO_DETECTOR, library_conftest


def test_tta_is_measured_with_its_time_per_image(trained_detector, data_root, tmp_path):
    options = {
        **data_options(str(data_root), seed=0),
        'model': library_conftest.tiny_detector_config().to_dict(),
    }
    config = str(DEMO_CONFIGS / DEMO_DETECTOR)
    runs = {
        tta: evaluate_tta(
            config,
            trained_detector,
            str(data_root),
            str(tmp_path / str(tta)),
            options,
            out=str(tmp_path / f'{tta}.pkl'),
            tta=tta,
        )
        for tta in (True, False)
    }
    num_test = len(
        DeepLesionDataset(
            data_root=str(data_root), ann_file='DL_info.csv', split='test', test_mode=True
        )
    )
    assert num_test > 0
    assert runs[True]['num_views'] == len(TTA_FLIPS) * len(TTA_SHIFTS_PX)
    assert runs[False]['num_views'] == 1
    for tta, run in runs.items():
        assert run['num_images'] == num_test
        assert 0 < run['seconds_per_image'] <= run['wall_seconds_per_image']
        assert 0.0 <= run['metrics']['deeplesion/mAP'] <= 1.0
        predictions = load_predictions(tmp_path / f'{tta}.pkl')
        assert len(predictions) == num_test
        if tta:  # the merged sample is the slice as it is
            assert all(not p['flip'] and p['shift_px'] == (0, 0) for p in predictions)
